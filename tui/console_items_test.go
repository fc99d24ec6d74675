package tui

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// consoleHolds makes this test process the console holding the scheduler
// lease, instead of seed's daemon.
func consoleHolds(t *testing.T, cat *store.Catalog) {
	t.Helper()
	ctx := context.Background()
	daemon := core.Lease{Name: core.SchedulerLeaseName(core.HostName()), Holder: "daemon", PID: 4121, Host: "backup-host"}
	if err := cat.ReleaseLease(ctx, daemon); err != nil {
		t.Fatal(err)
	}
	host := core.HostName()
	l := core.Lease{Name: core.SchedulerLeaseName(core.HostName()), Holder: core.ConsoleHolder, PID: os.Getpid(), Host: host, AcquiredAt: clock, Heartbeat: clock}
	if _, ok, err := cat.AcquireLease(ctx, l, nil); err != nil || !ok {
		t.Fatalf("take the lease for the console: %v %v", ok, err)
	}
}

// The header says when this console runs the schedules itself, and when a
// daemon that started is taking them over.
func TestHeaderConsoleRunsSchedules(t *testing.T) {
	cat := seed(t)
	consoleHolds(t, cat)
	tm := start(t, Options{Catalog: cat})
	waitFor(t, tm, "3 services · scheduler: this console (no daemon running)")
	frame := snapshot(t, tm)
	t.Run("console", func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })

	ask := core.Lease{Name: core.SchedulerHandoverLeaseName(core.HostName()), Holder: "daemon", PID: 5150, Host: "elsewhere", AcquiredAt: clock, Heartbeat: clock}
	if _, ok, err := cat.AcquireLease(context.Background(), ask, nil); err != nil || !ok {
		t.Fatalf("ask for the handover: %v %v", ok, err)
	}
	tm.Send(TickMsg(clock))
	waitFor(t, tm, "scheduler: this console, handing over to daemon (pid 5150)")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}

// fakeScheduler is a console's scheduler with scheduled jobs running.
type fakeScheduler struct{ running []string }

func (f fakeScheduler) Running() []string { return f.running }

// Quitting while a scheduled backup of this console runs asks first; n
// keeps the console open, y quits.
func TestQuitAsksWhileScheduledBackupRuns(t *testing.T) {
	cat := seed(t)
	consoleHolds(t, cat)
	sched := &fakeScheduler{running: []string{"production"}}
	tm := start(t, Options{Catalog: cat, Scheduler: sched})
	waitFor(t, tm, "this console (no daemon running)")
	press(tm, "q")
	waitFor(t, tm, "the scheduled backup of production runs in this console: quit and abort it? y / n")
	frame := snapshot(t, tm)
	t.Run("question", func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })
	press(tm, "n")
	waitGone(t, tm, "quit and abort it?")
	sched.running = nil
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}

// A placeholder service (left by a catalog rebuild) has no server yet: the
// console says so instead of ":0", and the header counts "1 service".
func TestPlaceholderServiceAndOneService(t *testing.T) {
	ctx := context.Background()
	cat := tempCatalog(t)
	if err := cat.AddService(ctx, &core.Service{Name: "shop", Placeholder: true, DB: core.DBConn{Database: "shop_db"}}, ""); err != nil {
		t.Fatal(err)
	}
	tm := start(t, Options{Catalog: cat})
	waitFor(t, tm, "1 service ·", "shop")
	press(tm, "enter")
	waitFor(t, tm, "odoo-backup › shop", "no connection yet")
	frame := snapshot(t, tm)
	if strings.Contains(frame, ":0") || strings.Contains(frame, "1 services") {
		t.Errorf("the placeholder's screen shows a server :0 or \"1 services\":\n%s", frame)
	}
	finalView(t, tm)
}

// The history shows each backup's id, and a failed backup's size as "—"
// (it stored nothing), not "0 B".
func TestHistoryIDsAndFailedSize(t *testing.T) {
	tm := start(t, Options{Catalog: seed(t)})
	waitFor(t, tm, "staging")
	press(tm, "down", "down", "enter")
	waitFor(t, tm, "odoo-backup › staging", "History 1", "✗ failed")
	frame := snapshot(t, tm)
	row := ""
	for _, l := range strings.Split(frame, "\n") {
		if strings.Contains(l, "failed") && strings.Contains(l, "scheduled") {
			row = l
		}
	}
	if !strings.Contains(row, " 4 ") || !strings.Contains(row, "—") || strings.Contains(row, "0 B") {
		t.Errorf("the failed backup's row %q should show its id 4 and — for its size", row)
	}
	finalView(t, tm)
}

// A message of one screen is gone on the next screen.
func TestStatusClearedOnScreenChange(t *testing.T) {
	tm := start(t, Options{Catalog: seed(t), ReadOnly: true, Engine: &fakeEngine{}})
	waitFor(t, tm, "production")
	press(tm, "b")
	waitFor(t, tm, "read-only: backing up is off")
	press(tm, "2")
	waitFor(t, tm, "USED BY")
	waitGone(t, tm, "read-only: backing up is off")
	press(tm, "1")
	waitFor(t, tm, "SERVICE")
	press(tm, "b")
	waitFor(t, tm, "read-only: backing up is off")
	press(tm, "down", "enter")
	waitFor(t, tm, "odoo-backup › production")
	waitGone(t, tm, "read-only: backing up is off")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}

// At 80x24 a read-only console's service screen says which keys are off in
// its footer, and its help overlay shows every key, none cut off.
func TestReadOnlyServiceAt80x24(t *testing.T) {
	tm := startSized(t, Options{Catalog: seedMore(t), ReadOnly: true}, 80, 24)
	waitFor(t, tm, "production")
	press(tm, "down", "enter")
	waitFor(t, tm, "History 4")
	frame := snapshot(t, tm)
	checkFits(t, frame, 80, 24)
	lines := strings.Split(frame, "\n")
	if footer := lines[len(lines)-1]; !strings.Contains(footer, "b a e E u off (--read-only) • tab next pane") {
		t.Errorf("the footer should say which keys are off, got %q", footer)
	}
	t.Run("footer", func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })
	press(tm, "?")
	waitFor(t, tm, "? or esc closes")
	frame = snapshot(t, tm)
	checkFits(t, frame, 80, 24)
	for _, want := range []string{"restore (off)", "E edit service (off)", "page down", "download to a file", "off: b u r x a e p E (the console was started with --read-only)"} {
		if !strings.Contains(frame, want) {
			t.Errorf("the help at 80x24 should show %q:\n%s", want, frame)
		}
	}
	if strings.Contains(frame, "… ║") || strings.Contains(frame, "…║") {
		t.Errorf("the help at 80x24 cuts keys off:\n%s", frame)
	}
	t.Run("help", func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })
	press(tm, "esc", "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}
