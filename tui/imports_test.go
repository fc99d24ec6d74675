package tui

import (
	"os/exec"
	"strings"
	"testing"
)

// TestConsoleOpensNoStorageItself: the console reaches storage and the
// catalog only through core (the use cases, the engine, the opener cmd
// hands in), so neither the s3 nor the store package (nor one beneath
// them, such as store/localdir) is among what its non-test code is built
// from, directly or not.
func TestConsoleOpensNoStorageItself(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test lists the console's imports with the go command, which is not on PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/odoo-backup/odoo-backup/tui" {
		t.Fatalf("go list -deps did not list the tui package last: %q", deps)
	}
	sawCore := false
	for _, d := range deps {
		for _, storage := range []string{"github.com/odoo-backup/odoo-backup/s3", "github.com/odoo-backup/odoo-backup/store"} {
			if d == storage || strings.HasPrefix(d, storage+"/") {
				t.Errorf("the console's non-test code depends on %s; reach it through core instead", d)
			}
		}
		sawCore = sawCore || d == "github.com/odoo-backup/odoo-backup/core"
	}
	if !sawCore {
		t.Errorf("go list -deps did not list core among the console's dependencies: %q", deps)
	}
}
