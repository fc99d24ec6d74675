package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// Every action core advises has its command-line phrase.
func TestEveryActionHasACommandLinePhrase(t *testing.T) {
	for _, a := range testbed.CoreActions(t) {
		if cliAdvice(core.Advice{Action: a, Service: "prod", Destination: "s3"}) == "" {
			t.Errorf("action %q has no phrase on the command line", a)
		}
	}
}

// The engine's refusal of an identity file that holds another recipient's
// identity names, on the command line, the flag that gives the right one.
func TestIdentityAdviceNamesTheFlag(t *testing.T) {
	dir := t.TempDir()
	mine, other := filepath.Join(dir, "mine.key"), filepath.Join(dir, "other.key")
	recipient, err := core.GenerateIdentityFile(mine)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.GenerateIdentityFile(other); err != nil {
		t.Fatal(err)
	}
	msg := message(core.CheckIdentityFile(other, recipient))
	want := other + " holds the identity of "
	if !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "so nothing was read; pass --identity FILE with the age identity file of that recipient") {
		t.Errorf("the command line says %q; want what happened, then the --identity flag", msg)
	}
	if strings.Contains(msg, "field") {
		t.Errorf("the command line speaks of the console: %q", msg)
	}
}

// A message that already quotes its cause's advice does not repeat it.
func TestAdviceIsNotRepeated(t *testing.T) {
	inner := core.Advise(core.Advice{Action: core.ActionListServices}, core.ErrNotFound, "service %q does not exist", "nope")
	outer := core.Userf(inner, "cannot copy it: %s", message(inner))
	if got, want := message(outer), "cannot copy it: service \"nope\" does not exist; list services with: odoo-backup service list"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
