package core

// Actions the catalog advises with its refusals (store returns them): what
// the person can do, with the facts in Advice; the front ends phrase them.
const (
	// ActionListServices: the service named does not exist; the list shows
	// which do.
	ActionListServices Action = "list-services"
	// ActionListDestinations: the destination named does not exist.
	ActionListDestinations Action = "list-destinations"
	// ActionListTemplates: the template named does not exist.
	ActionListTemplates Action = "list-templates"
	// ActionListBackups: the backup asked for does not exist.
	ActionListBackups Action = "list-backups"
	// ActionListDrills: the drill asked for does not exist.
	ActionListDrills Action = "list-drills"
	// ActionListConfigurations: Service has no configuration on the
	// destination named; its configurations are listed elsewhere.
	ActionListConfigurations Action = "list-configurations"
	// ActionListTemplateConfigurations: the template (Detail) has no
	// configuration on the destination named.
	ActionListTemplateConfigurations Action = "list-template-configurations"
	// ActionAddConfiguration: Service has no configuration yet.
	ActionAddConfiguration Action = "add-configuration"
	// ActionRemoveConfiguration: Destination is still used by Service (the
	// first of its users); remove those configurations first.
	ActionRemoveConfiguration Action = "remove-configuration"
	// ActionRemoveTemplateConfiguration: Destination is still used by the
	// template in Detail (the first of its users).
	ActionRemoveTemplateConfiguration Action = "remove-template-configuration"
	// ActionForgetBackups: Destination still has backups in the catalog;
	// removing it anyway forgets them (their files stay).
	ActionForgetBackups Action = "forget-backups"
	// ActionGiveDirectory: local Destination has no directory.
	ActionGiveDirectory Action = "give-directory"
	// ActionGiveEndpoint: S3 Destination lacks its endpoint or bucket.
	ActionGiveEndpoint Action = "give-endpoint"
	// ActionGiveDatabase: Service has no database name.
	ActionGiveDatabase Action = "give-database"
	// ActionAddWithoutTemplate: Service, recreated from backups, already has
	// configurations, so the template in Detail cannot be applied.
	ActionAddWithoutTemplate Action = "add-without-template"
	// ActionEnterSecretKey: the S3 secret key of Destination cannot be read
	// from the catalog; enter it again.
	ActionEnterSecretKey Action = "enter-secret-key"
	// ActionReAddDestination: the encryption passphrase of Destination
	// cannot be read; it can only be given again by adding the destination
	// again.
	ActionReAddDestination Action = "re-add-destination"
	// ActionEnterPassword: the PostgreSQL password of Service cannot be read
	// from the catalog; enter it again.
	ActionEnterPassword Action = "enter-password"
	// ActionRepairCatalog: the catalog file in Detail is damaged; put back
	// a copy of it, or move it away and rebuild the history from the
	// destinations.
	ActionRepairCatalog Action = "repair-catalog"
	// ActionFixCatalogDirectory: the catalog's directory (Detail) does not
	// exist, cannot be made, or cannot be written by this user.
	ActionFixCatalogDirectory Action = "fix-catalog-directory"
)
