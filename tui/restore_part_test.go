package tui

import (
	"context"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// HoldsFilestore: the fake's backups all hold one.
func (f *fakeEngine) HoldsFilestore(context.Context, core.Backup) (bool, error) { return true, nil }

// bareEngine is a flow engine whose backups hold no filestore.
type bareEngine struct{ *flowEngine }

func (bareEngine) HoldsFilestore(context.Context, core.Backup) (bool, error) { return false, nil }

// The part to restore is a field of the options step, cycled with space or
// the arrows, whole by default; the summary says what is replaced and what
// stays untouched, and the engine gets the part.
func TestRestoreFlowPart(t *testing.T) {
	cat := seed(t)
	eng := newFlowEngine(cat)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	openHistory(t, tm)
	press(tm, "r")
	view(t, tm, "Restore onto")
	press(tm, "down", "down")
	view(t, tm, "(•) staging")
	press(tm, "enter")
	view(t, tm, "▸ [x] neutralize", "restore ‹ whole backup ›  database and filestore")
	press(tm, "down", "down")
	view(t, tm, "▸ restore ‹ whole backup ›")
	press(tm, "space")
	view(t, tm, "▸ restore ‹ database only ›  the filestore is left untouched")
	press(tm, "right")
	snap(t, tm, "part-options", "▸ restore ‹ filestore only ›  the database is left untouched", "[-] neutralize", "not for the filestore alone")
	// Neutralize cannot be ticked for the filestore alone.
	press(tm, "up", "up", "space")
	view(t, tm, "▸ [-] neutralize")
	press(tm, "enter")
	snap(t, tm, "part-summary", "This replaces the filestore of staging", `Its database "staging_db" is left untouched, its sessions too.`,
		"a safety backup of the whole of staging", "No database is restored, so none is neutralized or checked.")
	press(tm, "enter", "staging", "enter")
	view(t, tm, "✓ safety backup", "· swap")
	close(eng.release)
	view(t, tm, "✓ The filestore of backup 3 restored onto staging in /var/lib/odoo/filestore/staging_db (8 files); its database was left untouched.")
	press(tm, "enter")
	view(t, tm, "[History 3]")

	// Left goes back; the database alone onto a new database.
	press(tm, "r")
	view(t, tm, "Restore onto")
	press(tm, "down", "down", "down", "prod_db2", "enter")
	view(t, tm, "▸ [x] neutralize")
	press(tm, "down", "down", "left", "left")
	view(t, tm, "▸ restore ‹ database only ›")
	press(tm, "enter")
	view(t, tm, `This creates database "prod_db2" on`, "without a filestore: /var/lib/odoo/filestore/prod_db2 is not made.")
	press(tm, "enter", "prod_db2", "enter")
	view(t, tm, "✓ The database of backup 3 restored into new database prod_db2; no filestore was restored.")
	quit(t, tm)

	eng.mu.Lock()
	defer eng.mu.Unlock()
	if len(eng.restores) != 1 || eng.restores[0].Only != core.RestoreFilestoreOnly || eng.restores[0].Neutralize || eng.restores[0].Service != "staging" {
		t.Errorf("engine got %+v, want the filestore alone onto staging, not neutralized", eng.restores)
	}
	if len(eng.newDBs) != 1 || eng.newDBs[0].Only != core.RestoreDatabaseOnly || eng.newDBs[0].NewDB != "prod_db2" || !eng.newDBs[0].Neutralize {
		t.Errorf("engine got %+v, want the database alone into prod_db2, neutralized", eng.newDBs)
	}
}

// A backup without a filestore offers the whole backup and its database
// only.
func TestRestoreFlowPartWithoutFilestore(t *testing.T) {
	cat := seed(t)
	eng := bareEngine{newFlowEngine(cat)}
	close(eng.release)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	openHistory(t, tm)
	press(tm, "r")
	view(t, tm, "Restore onto")
	press(tm, "enter")
	view(t, tm, "restore ‹ whole backup ›  database and filestore (the backup holds no filestore)")
	press(tm, "down", "down", "space")
	view(t, tm, "▸ restore ‹ database only ›")
	press(tm, "space")
	view(t, tm, "▸ restore ‹ whole backup ›")
	press(tm, "left")
	view(t, tm, "▸ restore ‹ database only ›")
	press(tm, "enter")
	snap(t, tm, "part-database-summary", "This replaces the database of production", "Its filestore", "is left untouched.")
	press(tm, "enter", "production", "enter")
	view(t, tm, "✓ The database of backup 3 restored onto production as production_db; its filestore was left untouched.")
	quit(t, tm)
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if len(eng.restores) != 1 || eng.restores[0].Only != core.RestoreDatabaseOnly {
		t.Errorf("engine got %+v, want the database alone", eng.restores)
	}
}
