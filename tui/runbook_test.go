package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"
)

// R on a service's screen shows its runbook, the page the command line
// writes, in a view that scrolls; w writes it to runbook-SERVICE.md in the
// current directory and says where, even in a read-only console (it writes
// a file on this host, not the catalog); esc closes it.
func TestRunbookKey(t *testing.T) {
	for _, ro := range []bool{false, true} {
		dir := t.TempDir()
		t.Chdir(dir)
		tm := start(t, Options{Catalog: seed(t), CatalogName: "/srv/odoo-backup/catalog.db", Engine: &fakeEngine{}, ReadOnly: ro})
		waitFor(t, tm, "production")
		press(tm, "down", "enter")
		waitFor(t, tm, "odoo-backup › production")
		press(tm, "R")
		waitShown(t, tm, "Runbook of production")
		waitShown(t, tm, "# Disaster-recovery runbook: production")
		waitShown(t, tm, "## The service")
		press(tm, "G")
		waitShown(t, tm, "odoo-backup restore")
		waitGone(t, tm, "## The service")
		press(tm, "w")
		path := filepath.Join(dir, "runbook-production.md")
		waitShown(t, tm, "✓ written to "+path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		for _, want := range []string{"# Disaster-recovery runbook: production", "### s3-eu (primary)", "/srv/odoo-backup/catalog.db",
			"odoo-backup catalog rebuild", "odoo-backup config set production s3-eu --frequency hourly --minute 0 --keep 24 --primary"} {
			if !strings.Contains(page, want) {
				t.Errorf("the runbook written lacks %q:\n%s", want, page)
			}
		}
		press(tm, "esc")
		waitGone(t, tm, "Runbook of production")
		waitShown(t, tm, "odoo-backup › production")
		press(tm, "q")
		tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
	}
}
