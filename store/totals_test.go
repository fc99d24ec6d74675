package store

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// BackupTotals counts only what is held (succeeded) and what failed, per
// service and destination, bytes included; running, rotated and deleted
// backups are not held, and a service with neither has no row.
func TestBackupTotals(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	addLocal(t, c, "x")
	addLocal(t, c, "y")
	addService(t, c, "a")
	addService(t, c, "b")
	addService(t, c, "idle")
	backup := func(svc, dest string, status core.BackupStatus, size int64) {
		t.Helper()
		b := core.Backup{Service: svc, Destination: dest, Kind: core.KindScheduled, Status: status, Size: size}
		must(t, c.CreateBackup(ctx, &b))
	}
	backup("a", "x", core.StatusSucceeded, 100)
	backup("a", "x", core.StatusSucceeded, 250)
	backup("a", "x", core.StatusRotated, 1000)
	backup("a", "x", core.StatusFailed, 0)
	backup("a", "x", core.StatusFailed, 7)
	backup("a", "y", core.StatusDeleted, 1000)
	backup("a", "y", core.StatusRunning, 0)
	backup("a", "y", core.StatusFailed, 0)
	backup("b", "y", core.StatusSucceeded, 1<<40)
	backup("idle", "x", core.StatusRotated, 5)
	got, err := c.BackupTotals(ctx)
	must(t, err)
	want := []core.BackupTotal{
		{Service: "a", Destination: "x", Held: 2, HeldBytes: 350, Failed: 2},
		{Service: "a", Destination: "y", Failed: 1},
		{Service: "b", Destination: "y", Held: 1, HeldBytes: 1 << 40},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BackupTotals:\n got %+v\nwant %+v", got, want)
	}
}

// On SQLite, BackupTotals reads the partial index backups_held alone, in
// its order (BenchmarkFleetExplain checks PostgreSQL's plan on the fleet).
func TestBackupTotalsUsesIndex(t *testing.T) {
	c := openTest(t)
	rows, err := c.db.Query("EXPLAIN QUERY PLAN " + totalsQuery(false))
	must(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		must(t, rows.Scan(&id, &parent, &notused, &detail))
		plan = append(plan, detail)
	}
	must(t, rows.Err())
	text := strings.Join(plan, "; ")
	if !strings.Contains(text, "USING COVERING INDEX backups_held") || strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("plan %q, want a scan of the covering index backups_held without a sort", text)
	}
}
