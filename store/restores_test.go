package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// Restores are recorded with their times and outcome, listed newest first
// by service, and the daemon's catalog (Journaled) passes them through; a
// record that is neither succeeded nor failed is refused.
func TestRestoresRecorded(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	addService(t, c, "crm")
	w := NewJournaled(c, JournaledOptions{Journal: testJournal(t)})
	start := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	recs := []core.RestoreRecord{
		{Service: "crm", BackupID: 7, Target: "crm", Status: core.RestoreSucceeded, Host: "host-a", StartedAt: start, FinishedAt: start.Add(90 * time.Second)},
		{Service: "crm", BackupID: 8, Target: "staging", Status: core.RestoreFailed, Error: "the archive's checksum does not match", Host: "host-a", StartedAt: start.Add(time.Hour), FinishedAt: start.Add(time.Hour + time.Second)},
		{Service: "shop", BackupID: 9, Target: "shop_copy", Status: core.RestoreSucceeded, StartedAt: start, FinishedAt: start.Add(time.Second)},
	}
	for i := range recs {
		var rh core.RestoreHistory = c
		if i == 1 {
			rh = w
		}
		must(t, rh.AddRestore(ctx, &recs[i]))
		if recs[i].ID <= 0 {
			t.Fatalf("restore %d recorded without an id", i)
		}
	}
	got, err := w.Restores(ctx, "crm", 0)
	must(t, err)
	if len(got) != 2 || got[0].ID != recs[1].ID || got[1].ID != recs[0].ID {
		t.Fatalf("restores of crm = %+v, want the two of crm, newest first", got)
	}
	if r := got[1]; r.Duration() != 90*time.Second || r.Target != "crm" || r.BackupID != 7 || r.Host != "host-a" || r.Status != core.RestoreSucceeded {
		t.Errorf("first restore read back as %+v, want it as recorded (90s onto crm from backup 7)", r)
	}
	if r := got[0]; r.Status != core.RestoreFailed || r.Error != recs[1].Error || r.Target != "staging" {
		t.Errorf("failed restore read back as %+v, want failed with its error", r)
	}
	if all, err := c.Restores(ctx, "", 1); err != nil || len(all) != 1 || all[0].ID != recs[2].ID {
		t.Errorf("newest restore of any service = %+v (%v), want the one of shop", all, err)
	}
	bad := core.RestoreRecord{Service: "crm", BackupID: 7, Status: "running", StartedAt: start, FinishedAt: start}
	if err := w.AddRestore(ctx, &bad); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("a restore recorded %q = %v, want ErrInvalid", bad.Status, err)
	}
}
