package scheduler

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// A backup of this host whose process dies while the scheduler runs (a
// command-line backup killed under cron, beside the daemon) is recorded as
// interrupted, and what it left removed, at the scheduler's next look at
// the catalog, not only when the next command or daemon starts.
func TestRecoversCrashedBackupWhileRunning(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Daily})
	w.seed("s3", at(1, 0).Add(-24*time.Hour))
	s, polled := w.startPolling(testLog(t))

	// A process of this host that ran a backup and died.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	key := "prod/prod_20261122-003000_manual.zip"
	w.runner.stores["s3"].Put(w.ctx, key, strings.NewReader("part"))
	b := core.Backup{Service: "prod", Destination: "s3", Kind: core.KindManual, StartedAt: w.clock.Now(), Key: key,
		Host: core.HostName(), PID: dead.Process.Pid}
	if err := w.cat.CreateBackup(w.ctx, &b); err != nil {
		t.Fatal(err)
	}

	w.advanceTo(at(0, 31), 2)
	<-polled
	s.recovered.Wait() // the look for dead backups runs beside the poll
	got, err := w.cat.Backup(w.ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.StatusFailed || got.Error != core.InterruptedMessage {
		t.Errorf("after the poll the dead backup %d is %s (%q), want failed with %q", b.ID, got.Status, got.Error, core.InterruptedMessage)
	}
	if _, err := w.runner.stores["s3"].Stat(w.ctx, key); err == nil {
		t.Errorf("what the dead backup left, %s, is still there", key)
	}
}
