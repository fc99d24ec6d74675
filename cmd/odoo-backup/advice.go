package main

import (
	"fmt"

	"github.com/odoo-backup/odoo-backup/core"
)

// withAdvice is msg followed by what to do, when core advises an action on
// err: the command line phrases it with the command and flag that do it.
func withAdvice(msg string, err error) string { return core.WithAdvice(msg, err, cliAdvice) }

// cliAdvice phrases an action core advises as the command that does it.
func cliAdvice(a core.Advice) string {
	switch a.Action {
	case core.ActionListServices:
		return "list services with: odoo-backup service list"
	case core.ActionListDestinations:
		return "list destinations with: odoo-backup destination list"
	case core.ActionListTemplates:
		return "list templates with: odoo-backup template list"
	case core.ActionListBackups:
		return "list backups with: odoo-backup backups"
	case core.ActionListDrills:
		return "list drills with: odoo-backup drills"
	case core.ActionListConfigurations:
		return "see its configurations with: odoo-backup config list " + a.Service
	case core.ActionListTemplateConfigurations:
		return "see its configurations with: odoo-backup template list"
	case core.ActionAddConfiguration:
		return fmt.Sprintf("add one with: odoo-backup config set %s DESTINATION", a.Service)
	case core.ActionSetConfiguration:
		return fmt.Sprintf("add it with: odoo-backup config set %s %s", a.Service, a.Destination)
	case core.ActionRemoveConfiguration:
		return fmt.Sprintf("remove those configurations first, e.g. with: odoo-backup config remove %s %s", a.Service, a.Destination)
	case core.ActionRemoveTemplateConfiguration:
		return fmt.Sprintf("remove those configurations first, e.g. with: odoo-backup template unset %s %s", a.Detail, a.Destination)
	case core.ActionForgetBackups:
		return "to remove it anyway and forget them (their files stay where they are), run: odoo-backup destination remove " + a.Destination + " --forget-backups"
	case core.ActionGiveDirectory:
		return "give one with --dir"
	case core.ActionGiveEndpoint:
		return "give them with --endpoint and --bucket"
	case core.ActionGiveDatabase:
		return "give its name with --db"
	case core.ActionAddWithoutTemplate:
		return "add it without --template"
	case core.ActionInstallCatalogKey:
		return "install the fleet's key with: odoo-backup key install-catalog FILE (copy it from a host that has it: odoo-backup key export-catalog -o FILE)"
	case core.ActionReplaceCatalogKey:
		return "move it away and install the fleet's key with: odoo-backup key install-catalog FILE (copy it from a host that reads these secrets: odoo-backup key export-catalog -o FILE)"
	case core.ActionRenumberBackups:
		return "to give those backups new ids instead (each listed), run it again with --renumber-backups"
	case core.ActionListNotifyChannels:
		return "list them with: odoo-backup notify list"
	case core.ActionUpdateNotifyChannel:
		return fmt.Sprintf("change it with: odoo-backup notify update %s, or choose another name", a.Detail)
	case core.ActionEnterNotifyURL:
		return fmt.Sprintf("to enter it again: odoo-backup notify update %s --url-env VARIABLE", a.Detail)
	case core.ActionEnterPingURL:
		return fmt.Sprintf("to enter it again: odoo-backup config set %s %s --ping-url-env VARIABLE", a.Service, a.Destination)
	case core.ActionEnterSecretKey:
		return fmt.Sprintf("to enter it again: odoo-backup destination update %s --secret-key-env VARIABLE", a.Destination)
	case core.ActionReAddDestination:
		return fmt.Sprintf("to enter it again: odoo-backup destination remove %s, then add it again with its passphrase", a.Destination)
	case core.ActionEnterPassword:
		return fmt.Sprintf("to enter it again: odoo-backup service update %s --pg-password-env VARIABLE", a.Service)
	case core.ActionFixCatalogDirectory:
		return "create it, or choose another catalog with --catalog PATH or ODOO_BACKUP_CATALOG"
	case core.ActionRepairCatalog:
		return "put back a copy of that file, or move it away and rebuild the history from the destinations (add them again, then run: odoo-backup catalog rebuild)"
	case core.ActionRebuildAgain:
		return rebuildAgain(a)
	case core.ActionSetConnection:
		return "set one with odoo-backup service add before " + a.Detail
	case core.ActionSetFilestore:
		return "set it with odoo-backup service add --filestore before " + a.Detail
	case core.ActionAddService:
		return "add it with: odoo-backup service add " + a.Service
	case core.ActionGiveRecipient:
		return "give the public key printed by odoo-backup key generate"
	case core.ActionGiveKeyFile:
		return "give the file written by odoo-backup key generate"
	case core.ActionGenerateKey:
		return "generate one with: odoo-backup key generate -o FILE"
	case core.ActionGiveIdentity:
		return "pass --identity FILE with the age identity file of that recipient"
	case core.ActionChooseFilestore:
		return "choose another --filestore or another database name"
	case core.ActionChooseDatabase:
		return "choose another name, or restore onto its service with --service"
	case core.ActionRestoreWhole:
		return "restore it whole (without --only), or only its " + a.Detail + " with --only " + a.Detail
	case core.ActionPickBackup:
		return "pick a succeeded backup from: odoo-backup backups " + a.Service
	case core.ActionTakeBackup:
		return "take one with: odoo-backup backup " + a.Service
	case core.ActionStartDaemon:
		return "start odoo-backup --daemon there"
	case core.ActionForceDelete:
		return "take another backup first, or add --force to delete it anyway"
	case core.ActionPlainHTTP:
		return "use --no-tls for plain HTTP"
	case core.ActionCreateLockBucket:
		return "create a bucket with Object Lock enabled (mc mb --with-lock, or the provider's console) and pass it with --bucket, or drop --object-lock"
	case core.ActionAllowShortLock:
		return fmt.Sprintf("lock for %s days or more (odoo-backup destination update %s --lock-days %s), keep backups for less, or add --allow-short-lock to accept it", a.Detail, a.Destination, a.Detail)
	case core.ActionEditConfiguration:
		return "change it with: odoo-backup " + ownerCommand(a) + " " + a.Service + " " + a.Destination
	case core.ActionSetPrimary:
		return "add one with: odoo-backup config set " + a.Service + " DESTINATION --primary"
	case core.ActionAskForRole:
		user := a.User
		if user == "" {
			user = "USER"
		}
		return fmt.Sprintf("ask an admin of the catalog to grant you the %s role (odoo-backup role grant %s %s)", a.Detail, user, a.Detail)
	case core.ActionMovePrimary:
		return "to move the flag, run: odoo-backup " + ownerCommand(a) + " " + a.Service + " DESTINATION --primary with another of its destinations"
	}
	return ""
}

// rebuildAgain asks to rebuild again once the destination (or the several
// in Detail) that could not be read is fixed.
func rebuildAgain(a core.Advice) string {
	if a.Destination != "" {
		return "fix it and run odoo-backup catalog rebuild again"
	}
	return "fix them and run odoo-backup catalog rebuild again"
}

// ownerCommand is the command that sets the configurations of the service
// or template a configuration advice is about.
func ownerCommand(a core.Advice) string {
	if a.Detail == "template" {
		return "template set"
	}
	return "config set"
}
