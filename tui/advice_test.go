package tui

import (
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// notInTheConsole are the actions the console cannot do itself, so its
// phrase may send the user to the command line, with the reason.
var notInTheConsole = map[core.Action]string{
	core.ActionRebuildAgain:  "the console has no catalog rebuild",
	core.ActionRepairCatalog: "the console has no catalog rebuild, and cannot mend the catalog it has open",
	core.ActionForgetBackups: "the console removes a destination only once it holds no backups",
	core.ActionGiveRecipient: "the console does not generate keys",
	core.ActionGiveKeyFile:   "the console does not generate keys",
	core.ActionGenerateKey:   "the console does not generate keys",

	// A fleet's catalog: keys and migrations are the command line's.
	core.ActionInstallCatalogKey: "the console does not install the fleet's catalog key",
	core.ActionReplaceCatalogKey: "the console does not install the fleet's catalog key",
	core.ActionRenumberBackups:   "the console does not migrate catalogs",
}

// Every action core advises has its console phrase, which names a key, a
// screen or a field: never a flag, and a command only for what the console
// cannot do.
func TestEveryActionHasAConsolePhrase(t *testing.T) {
	for _, a := range testbed.CoreActions(t) {
		how := consoleAdvice(core.Advice{Action: a, Service: "prod", Destination: "s3", Recipient: "age1x", Detail: "std"})
		switch {
		case how == "":
			t.Errorf("action %q has no phrase in the console", a)
		case strings.Contains(how, "odoo-backup ") && notInTheConsole[a] == "":
			t.Errorf("action %q sends the console's user to a command: %q", a, how)
		case strings.Contains(how, " --") && notInTheConsole[a] == "":
			t.Errorf("action %q names a flag in the console: %q", a, how)
		}
	}
}

// A backup encrypted to a recipient whose identity this host does not keep:
// the engine's refusal, shown in the console, names the field to fill in,
// not the command line's flag.
func TestIdentityAdviceNamesTheField(t *testing.T) {
	err := core.Advise(core.Advice{Action: core.ActionGiveIdentity, Backup: 5, Recipient: offRecipient}, core.ErrAccessDenied,
		"backup 5 is encrypted to %s and this host keeps no key for it", offRecipient)
	got := errorText(err)
	want := "backup 5 is encrypted to " + offRecipient + " and this host keeps no key for it; give the age identity file of " + offRecipient + " in the Identity file field"
	if got != want {
		t.Errorf("the console says %q, want %q", got, want)
	}
}
