package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// A backup's details say until when its objects are locked, and once the
// lock has ended, that it has.
func TestDetailsShowTheLock(t *testing.T) {
	m := New(Options{})
	now := time.Now()
	m.ctx.Now = func() time.Time { return now }
	until := now.Add(30 * 24 * time.Hour)
	d := newDetailsDialog(m.ctx, core.Backup{ID: 3, Status: core.StatusSucceeded, Service: "prod", Destination: "vault", LockedUntil: &until})
	if view := d.View(); !strings.Contains(view, "until "+until.Local().Format("2006-01-02 15:04")+" (S3 Object Lock)") {
		t.Errorf("details of a locked backup:\n%s\nwant its lock end", view)
	}
	ended := now.Add(-time.Hour)
	d = newDetailsDialog(m.ctx, core.Backup{ID: 3, Status: core.StatusSucceeded, Service: "prod", Destination: "vault", LockedUntil: &ended})
	if view := d.View(); !strings.Contains(view, "the lock ended "+ended.Local().Format("2006-01-02 15:04")) {
		t.Errorf("details of a backup whose lock ended:\n%s\nwant it said", view)
	}
	if got := lockedDeleteText(core.Backup{ID: 3, Destination: "vault", LockedUntil: &until}); !strings.HasPrefix(got, lockedDeletePrefix) {
		t.Errorf("a delete a lock refused says %q; want it to start with %q", got, lockedDeletePrefix)
	}
}
