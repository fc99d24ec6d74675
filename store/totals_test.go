package store

import (
	"context"
	"reflect"
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
