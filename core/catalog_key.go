package core

// A fleet of hosts shares one catalog, and one key seals its secrets: each
// host needs a copy of that key to read them.
const (
	// ActionInstallCatalogKey: this host has no key for the catalog's
	// sealed secrets; install the fleet's key, copied from a host that
	// has it.
	ActionInstallCatalogKey Action = "install-catalog-key"
	// ActionReplaceCatalogKey: this host's catalog key is not the one the
	// catalog's secrets were sealed with (another fleet's); move it away
	// and install the fleet's key.
	ActionReplaceCatalogKey Action = "replace-catalog-key"
	// ActionRenumberBackups: moving a catalog into a shared one was refused
	// because backup ids clash with the shared catalog's; the backups can
	// get new ids instead.
	ActionRenumberBackups Action = "renumber-backups"
)

// ActionCatalogMigrate is the audited move of a host's catalog into a
// shared one.
const ActionCatalogMigrate = "catalog migrate"
