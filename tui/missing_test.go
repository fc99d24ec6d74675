package tui

import (
	"context"
	"fmt"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// A backup that lacks attachment files is marked in the history (and its
// configuration and service show the warning, which is no failure); its
// details name the files.
func TestHistoryMarksMissingFiles(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	b := newestProduction(t, cat)
	b.MissingCount, b.MissingFiles = 5, []string{"0a/0a1b2c", "3d/3d4e5f", "6a/6a7b8c", "9d/9d0e1f", "ab/ab2c3d"}
	if err := cat.UpdateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	tm := start80(t, Options{Catalog: cat, Engine: newFlowEngine(cat)})
	view(t, tm, "production", "△ warning")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › production", "1.2 GB")
	press(tm, "tab")
	snap(t, tm, "history", "[History 3]", "△ lacks 5 files", "△ warning")
	press(tm, "enter")
	snap(t, tm, "details", "Backup 3", "lacks", "0a/0a1b2c, 3d/3d4e5f, 6a/6a7b8c and 2 more")
	quit(t, tm)
}

// checksEngine refuses a restore whose database fails its checks, as the
// engine does, unless AcceptErrors.
type checksEngine struct{ *flowEngine }

func (f checksEngine) RestoreNewDB(ctx context.Context, req core.RestoreRequest) (core.RestoreResult, error) {
	f.mu.Lock()
	f.newDBs = append(f.newDBs, req)
	f.mu.Unlock()
	checks := core.RestoreChecks{Ran: []string{core.CheckKeyTables, core.CheckRowCounts, core.CheckBase}, Problems: []string{"table ir_module_module is empty", "module base is not installed"}}
	if !req.AcceptErrors {
		return core.RestoreResult{Checks: checks}, core.Userf(fmt.Errorf("%w", core.ErrChecksFailed),
			"backup %d was not restored because the restored database failed its checks (%s); nothing was created", req.BackupID, checks.Summary())
	}
	checks.Accepted = true
	return core.RestoreResult{Database: req.NewDB, FilestoreDir: "/var/lib/odoo/filestore/" + req.NewDB, Checks: checks}, nil
}

// The restore flow's options offer, off by default, to put a database that
// fails its checks in place; a refusal says what failed and where that
// option is; ticked, the engine is asked for it and the outcome warns.
func TestRestoreAcceptErrorsOption(t *testing.T) {
	cat := seed(t)
	eng := checksEngine{newFlowEngine(cat)}
	close(eng.release)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	openHistory(t, tm)
	newDB := func() {
		press(tm, "r")
		view(t, tm, "Restore onto")
		press(tm, "down", "down", "down", "prod_copy", "enter")
		view(t, tm, "▸ [x] neutralize", "  [ ] restore even if the checks fail")
	}
	newDB()
	press(tm, "enter")
	view(t, tm, "if the checks fail nothing is replaced")
	press(tm, "enter", "prod_copy", "enter")
	view(t, tm, "table ir_module_module is empty", `tick "restore even if the checks fail"`)
	press(tm, "esc")

	newDB()
	press(tm, "down", "space")
	view(t, tm, "  [x] neutralize", "▸ [x] restore even if the checks fail")
	press(tm, "enter")
	view(t, tm, "Put in place even if it fails its checks")
	press(tm, "enter", "prod_copy", "enter")
	view(t, tm, "Warning: the restored database failed its checks (table ir_module_module is empty")
	quit(t, tm)
	if len(eng.newDBs) != 2 || eng.newDBs[0].AcceptErrors || !eng.newDBs[1].AcceptErrors {
		t.Errorf("engine got %+v, want a first restore without AcceptErrors and a second with it", eng.newDBs)
	}
}
