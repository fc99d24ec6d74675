package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// Production's filestore alone restored onto staging from the console, on
// the real test bed: staging gets production's files, its database (and a
// session on it) is left as it was, a whole safety backup went first, and
// staging's role and system user still use all of it.
func TestRealRestoreFilestoreOnly(t *testing.T) {
	pg := servers.Postgres(t)
	e := newRealEnv(t)
	source := e.print(e.prod)
	before := e.print(e.stg)
	session, err := pg.Connect(e.ctx, e.stg.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close(e.ctx)
	tm := e.start()
	e.toStagingOptions(tm)
	press(tm, "down", "down", "right", "right")
	view(t, tm, "▸ restore ‹ filestore only ›")
	press(tm, "enter")
	view(t, tm, "This replaces the filestore of staging", fmt.Sprintf("Its database %q is left untouched", e.stg.Name))
	press(tm, "enter", "staging", "enter")
	slowView(t, tm, fmt.Sprintf("✓ The filestore of backup %d restored onto staging", e.prodBackup.ID), "its database was left untouched", "✓ safety backup", "✓ swap")
	quit(t, tm)

	now := e.print(e.stg)
	if diff := (testbed.Print{Files: source.Files}).Diff(testbed.Print{Files: now.Files}); len(diff) > 0 {
		t.Errorf("staging's filestore differs from production's:\n%s", strings.Join(diff, "\n"))
	}
	before.Files, now.Files = nil, nil
	if diff := before.Diff(now); len(diff) > 0 {
		t.Errorf("staging's database changed:\n%s", strings.Join(diff, "\n"))
	}
	if _, err := session.Exec(e.ctx, "SELECT 1"); err != nil {
		t.Errorf("the session on staging's database was ended: %v", err)
	}
	if err := e.stg.CheckAsOwner(e.ctx, pg, e.stg.Name, e.stg.FilestoreDir); err != nil {
		t.Errorf("after the restore from the console: %v", err)
	}
	if safety := e.stagingBackups(core.KindSafety); len(safety) != 1 || safety[0].Status != core.StatusSucceeded {
		t.Errorf("safety backups of staging: %+v, want one succeeded", safety)
	}
}
