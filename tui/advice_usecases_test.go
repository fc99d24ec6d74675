package tui

import (
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// TestUseCaseAdviceNamesKeys: the console phrases what the use cases in
// core advise with its own keys and fields, never a command to type.
func TestUseCaseAdviceNamesKeys(t *testing.T) {
	for a, want := range map[core.Action]string{
		core.ActionPlainHTTP:         "No TLS",
		core.ActionSetPrimary:        "p makes the selected one primary",
		core.ActionEditConfiguration: "(e)",
		core.ActionMovePrimary:       "press p",
	} {
		got := consoleAdvice(core.Advice{Action: a, Service: "prod", Destination: "s3"})
		if !strings.Contains(got, want) || strings.Contains(got, "odoo-backup") || strings.Contains(got, "--") {
			t.Errorf("consoleAdvice(%s) = %q, want it to name %q and no command or flag", a, got, want)
		}
	}
}
