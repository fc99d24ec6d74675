package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

// TestUseCasesPhrasedForTheCommandLine: the refusals the use cases in core
// advise on are phrased here with the command and flag that help, as the
// command line printed them before they moved into core.
func TestUseCasesPhrasedForTheCommandLine(t *testing.T) {
	c := newCLI(t)
	c.ok("service", "add", "bare", "--db", "bare_db", "--no-check", "--filestore", filepath.Join(c.dir, "bare"))
	file := filepath.Join(c.dir, "dump.sql")
	dump := odoozip.DumpHeader + "\nSET statement_timeout = 0;\n\n-- PostgreSQL database dump complete\n\n"
	if err := os.WriteFile(file, []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fails(1, `service "bare" has no primary destination to upload to; add one with: odoo-backup config set bare DESTINATION --primary`,
		"upload", file, "--service", "bare")

	for _, tc := range []struct {
		advice core.Advice
		want   string
	}{
		{core.Advice{Action: core.ActionPlainHTTP}, "use --no-tls for plain HTTP"},
		{core.Advice{Action: core.ActionSetPrimary, Service: "prod"}, "add one with: odoo-backup config set prod DESTINATION --primary"},
		{core.Advice{Action: core.ActionEditConfiguration, Service: "standard", Destination: "s3", Detail: "template"}, "change it with: odoo-backup template set standard s3"},
		{core.Advice{Action: core.ActionMovePrimary, Service: "prod"}, "odoo-backup config set prod DESTINATION --primary"},
	} {
		if got := cliAdvice(tc.advice); !strings.Contains(got, tc.want) {
			t.Errorf("cliAdvice(%+v) = %q, want it to contain %q", tc.advice, got, tc.want)
		}
	}
}
