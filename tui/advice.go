package tui

import "github.com/odoo-backup/odoo-backup/core"

// errorText is the sentence the console shows for err: what happened and,
// when core advises an action, the key or screen that does it here.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return withConsoleAdvice(err.Error(), err)
}

// adviceIs reports whether core advises action on err.
func adviceIs(err error, action core.Action) bool {
	a, ok := core.AdviceOf(err)
	return ok && a.Action == action
}

// withConsoleAdvice is msg followed by the console's phrase for the action
// core advises on err, if any.
func withConsoleAdvice(msg string, err error) string {
	return core.WithAdvice(msg, err, consoleAdvice)
}

// consoleAdvice phrases an action core advises as the key or screen that
// does it in the console.
func consoleAdvice(a core.Advice) string {
	switch a.Action {
	case core.ActionListServices:
		return "the services screen (1) lists them"
	case core.ActionListDestinations:
		return "the destinations screen (2) lists them"
	case core.ActionListTemplates:
		return "the templates screen (3) lists them"
	case core.ActionListBackups:
		return "each service's history lists its backups"
	case core.ActionListDrills:
		return "the activity screen (4) lists them"
	case core.ActionListConfigurations:
		return "the screen of service " + a.Service + " lists its configurations"
	case core.ActionListTemplateConfigurations:
		return "the templates screen (3) lists its configurations"
	case core.ActionAddConfiguration:
		return "add one with a on the screen of service " + a.Service
	case core.ActionSetConfiguration:
		return "add it with a on the screen of service " + a.Service
	case core.ActionRemoveConfiguration:
		return "remove those configurations first: select " + a.Destination + " on the screen of service " + a.Service + " and press x"
	case core.ActionRemoveTemplateConfiguration:
		return "remove those configurations first: select " + a.Destination + " under " + a.Detail + " on the templates screen (3) and press x"
	case core.ActionForgetBackups:
		return forgetBackups(a)
	case core.ActionGiveDirectory:
		return "fill in its directory"
	case core.ActionGiveEndpoint:
		return "fill in its endpoint and bucket"
	case core.ActionGiveDatabase:
		return "fill in its database"
	case core.ActionAddWithoutTemplate:
		return "add it with a on the services screen (1) instead of from the template"
	case core.ActionInstallCatalogKey, core.ActionReplaceCatalogKey:
		return catalogKeyAdvice(a)
	case core.ActionRenumberBackups:
		// The console does not migrate catalogs.
		return "to give those backups new ids instead, migrate from a shell with: odoo-backup catalog migrate --renumber-backups"
	case core.ActionListNotifyChannels:
		return "the notifications screen (5) lists them"
	case core.ActionUpdateNotifyChannel:
		return "select it on the notifications screen (5) and press e, or choose another name"
	case core.ActionEnterNotifyURL:
		return "to enter it again: select " + a.Detail + " on the notifications screen (5) and press e"
	case core.ActionEnterPingURL:
		return "to enter it again: open service " + a.Service + ", select destination " + a.Destination + ", press e and fill in the Ping URL field"
	case core.ActionEnterSecretKey:
		return "to enter it again: select " + a.Destination + " on the destinations screen (2) and press e"
	case core.ActionReAddDestination:
		return "to enter it again: remove " + a.Destination + " on the destinations screen (2) with x, then add it again with a and its passphrase"
	case core.ActionEnterPassword:
		return "to enter it again: press E on the screen of service " + a.Service
	case core.ActionFixCatalogDirectory:
		return "quit, then create that directory or make it writable by this user"
	case core.ActionRepairCatalog:
		// The console cannot mend its own catalog: that is done with it closed.
		return "quit, then put back a copy of that file, or move it away and rebuild the history from the destinations from a shell with: odoo-backup catalog rebuild"
	case core.ActionRebuildAgain:
		// The console has no rebuild: it is the command line's.
		return "fix it, then rebuild from a shell with: odoo-backup catalog rebuild"
	case core.ActionSetConnection:
		// Adding a service under a placeholder's name turns it into that
		// service; editing keeps it a placeholder.
		return "give it one by adding " + a.Service + " again with a on the services screen (1) before " + a.Detail
	case core.ActionSetFilestore:
		return "set it with E on its screen before " + a.Detail
	case core.ActionAddService:
		return "add it again with a on the services screen (1)"
	case core.ActionGiveRecipient, core.ActionGiveKeyFile, core.ActionGenerateKey:
		return keyAdvice(a)
	case core.ActionGiveIdentity:
		return "give the age identity file of " + a.Recipient + " in the Identity file field"
	case core.ActionChooseFilestore:
		return "choose another filestore directory or another database name"
	case core.ActionChooseDatabase:
		return "choose another name, or restore onto its service (step 1)"
	case core.ActionRestoreWhole:
		return "restore it whole, or its " + a.Detail + " only (the part, in the options)"
	case core.ActionPickBackup:
		return "pick a succeeded backup in the history of " + a.Service
	case core.ActionTakeBackup:
		return "take one with b"
	case core.ActionStartDaemon:
		return "start the daemon of host " + a.Detail + " (its systemd service)"
	case core.ActionForceDelete:
		return "take another backup first, or press F to delete it anyway"
	case core.ActionPlainHTTP:
		return "turn on No TLS for plain HTTP"
	case core.ActionCreateLockBucket:
		return "create a bucket with Object Lock enabled (with the provider's console, or mc mb with its lock option) and use it, or set the lock to none"
	case core.ActionAllowShortLock:
		return "give the lock at least " + a.Detail + " days, or a shorter retention"
	case core.ActionEditConfiguration:
		return "edit that one instead (e)"
	case core.ActionSetPrimary:
		return "give it one on its screen: a adds a destination, p makes the selected one primary"
	case core.ActionMovePrimary:
		return "to move the flag, press p on another of its destinations"
	case core.ActionAskForRole:
		return "ask an admin of the catalog to grant you the " + a.Detail + " role"
	}
	return ""
}

// forgetBackups: the console removes a destination only once the catalog
// holds none of its backups; forgetting them is the command line's.
func forgetBackups(a core.Advice) string {
	return "delete them from each service's history (x), or forget them from a shell with: odoo-backup destination remove " + a.Destination + " --forget-backups"
}

// keyAdvice: the console reads key files but does not write them; a new key
// comes from the command line.
func keyAdvice(a core.Advice) string {
	switch a.Action {
	case core.ActionGiveRecipient:
		return "give the public key printed by odoo-backup key generate"
	case core.ActionGiveKeyFile:
		return "give the file written by odoo-backup key generate"
	}
	return "generate one from a shell with: odoo-backup key generate -o FILE"
}

// catalogKeyAdvice: the console does not install keys; a host of a fleet
// gets the fleet's catalog key from the command line.
func catalogKeyAdvice(a core.Advice) string {
	install := "install the fleet's key from a shell with: odoo-backup key install-catalog FILE (copy it from a host that has it)"
	if a.Action == core.ActionReplaceCatalogKey {
		return "move it away and " + install
	}
	return install
}
