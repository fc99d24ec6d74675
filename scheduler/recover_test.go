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
	s, err := New(Options{Catalog: w.cat, Runner: w.runner, Clock: w.clock, Location: time.UTC, PollInterval: time.Minute, Log: testLog(t),
		OnRun: func(r Run) { w.runs <- r }})
	if err != nil {
		t.Fatal(err)
	}
	polled := make(chan struct{}, 1)
	s.afterPoll = func() {
		select {
		case polled <- struct{}{}:
		default:
		}
	}
	go func() { w.done <- s.Run(w.ctx) }()
	t.Cleanup(func() { w.cancel(); <-w.done })
	w.block(2)

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
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := w.cat.Backup(w.ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == core.StatusFailed {
			if got.Error != core.InterruptedMessage {
				t.Errorf("the dead backup failed with %q, want %q", got.Error, core.InterruptedMessage)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backup %d is still %s 30 s after the poll, want it recorded as interrupted", b.ID, got.Status)
		}
		time.Sleep(5 * time.Millisecond) // the look runs beside the poll
	}
	if _, err := w.runner.stores["s3"].Stat(w.ctx, key); err == nil {
		t.Errorf("what the dead backup left, %s, is still there", key)
	}
}
