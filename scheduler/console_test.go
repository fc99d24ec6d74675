package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// proc is one scheduler of a test (a daemon or a console) with its own log.
type proc struct {
	t    *testing.T
	name string
	s    *Scheduler
	log  chan string
	done chan error
	stop context.CancelFunc
}

func (w *world) proc(name string, runner Runner, o Options) *proc {
	w.t.Helper()
	p := &proc{t: w.t, name: name, log: make(chan string, 256), done: make(chan error, 1)}
	o.Catalog, o.Runner, o.Clock, o.Location = w.cat, runner, w.clock, time.UTC
	o.OnRun = func(r Run) { w.runs <- r }
	o.Log = slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{w.t}, chanWriter(p.log)), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(o)
	if err != nil {
		w.t.Fatal(err)
	}
	p.s = s
	ctx, stop := context.WithCancel(w.ctx)
	p.stop = stop
	go func() { p.done <- s.Run(ctx) }()
	w.t.Cleanup(func() {
		stop()
		if err := <-p.done; err != nil {
			w.t.Errorf("%s stopped with %v", name, err)
		}
	})
	return p
}

// waitLog waits for a log line of this scheduler that contains want.
func (p *proc) waitLog(want string) {
	p.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l := <-p.log:
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			p.t.Fatalf("the %s never logged %q", p.name, want)
		}
	}
}

func (w *world) leaseHolder(name string) string {
	w.t.Helper()
	l, err := w.cat.CurrentLease(w.ctx, name)
	if errors.Is(err, core.ErrNotFound) {
		return "nobody"
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return l.Holder
}

// gatedRunner's backups wait for the gate to open, then succeed.
type gatedRunner struct {
	*fakeRunner
	started chan struct{}
	gate    chan struct{}
}

func (g *gatedRunner) Backup(ctx context.Context, req core.BackupRequest) ([]core.Backup, error) {
	g.started <- struct{}{}
	<-g.gate
	return g.fakeRunner.Backup(ctx, req)
}

// A console with no daemon around takes the lease and runs the schedules as
// the daemon would: the missed slot is caught up as a scheduled backup,
// rotation follows, and the next slot runs on time.
func TestConsoleRunsSchedulesWhenNoDaemon(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Hourly, Retention: core.Retention{KeepLast: 1}})
	w.proc("console", w.runner, Options{Console: true, PollInterval: 7 * 24 * time.Hour, LeaseTTL: 24 * time.Hour})
	if r := w.next(); !r.CatchUp || r.Err != nil || len(r.Backups) != 1 {
		t.Fatalf("got %+v, want the console to catch up on the missed slot", r)
	}
	if got := w.leaseHolder(core.SchedulerLeaseName(core.HostName())); got != core.ConsoleHolder {
		t.Fatalf("the scheduler lease is held by %s, want the console", got)
	}
	w.block(2) // the hourly job and the lease renewal
	w.advanceTo(at(1, 0), 2)
	if r := w.next(); r.CatchUp || !r.Slot.Equal(at(1, 0)) || len(r.Rotated) != 1 {
		t.Fatalf("got %+v, want the 01:00 slot run by the console, rotating the catch-up backup", r)
	}
	for _, c := range w.runner.calls {
		if c.Kind != core.KindScheduled {
			t.Errorf("the console's run asked for kind %s, want scheduled", c.Kind)
		}
	}
}

// A console started while a daemon runs the schedules leaves them to it:
// the slot is backed up once, by the daemon, and the lease stays the
// daemon's. When the daemon stops, the console takes over.
func TestConsoleLeavesSchedulesToDaemon(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Hourly})
	w.seed("s3", at(0, 0))
	o := Options{PollInterval: time.Hour, LeaseTTL: 24 * time.Hour}
	d := w.proc("daemon", w.runner, o)
	d.waitLog("running the schedules")
	o.Console = true
	c := w.proc("console", w.runner, o)
	c.waitLog("another process runs the schedules")
	w.block(3) // the daemon's job and renewal, the console's retry
	w.advanceTo(at(1, 0), 3)
	if r := w.next(); !r.Slot.Equal(at(1, 0)) {
		t.Fatalf("got %+v, want the 01:00 slot", r)
	}
	w.noRun()
	if got := w.leaseHolder(core.SchedulerLeaseName(core.HostName())); got != "daemon" {
		t.Fatalf("the scheduler lease is held by %s, want the daemon", got)
	}
	if len(w.runner.calls) != 1 {
		t.Fatalf("got %d backup runs, want 1 (the daemon's)", len(w.runner.calls))
	}
	d.stop()
	if err := <-d.done; err != nil {
		t.Fatal(err)
	}
	d.done <- nil // for the cleanup
	w.block(1)
	w.advanceTo(at(2, 0), 1)
	c.waitLog("running the schedules")
	if got := w.leaseHolder(core.SchedulerLeaseName(core.HostName())); got != core.ConsoleHolder {
		t.Fatalf("after the daemon stopped the lease is held by %s, want the console", got)
	}
}

// A daemon started while a console runs the schedules asks for them; the
// console starts nothing new, lets its running backup finish, releases the
// lease, and the daemon takes over without running that slot again. The
// console then waits, leaving the schedules to the daemon.
func TestConsoleHandsOverToDaemon(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Hourly})
	gated := &gatedRunner{fakeRunner: w.runner, started: make(chan struct{}, 1), gate: make(chan struct{})}
	o := Options{PollInterval: time.Minute, LeaseTTL: 24 * time.Hour, ShutdownTimeout: 10 * time.Minute}
	o.Console = true
	c := w.proc("console", gated, o)
	<-gated.started // the console's catch-up backup runs
	gateOpen := false
	t.Cleanup(func() {
		if !gateOpen {
			close(gated.gate)
		}
	})
	o.Console = false
	d := w.proc("daemon", w.runner, o)
	d.waitLog("asking it to hand them over")
	if got := w.leaseHolder(core.SchedulerHandoverLeaseName(core.HostName())); got != "daemon" {
		t.Fatalf("the handover request is held by %s, want the daemon", got)
	}
	w.block(3) // the console's job and renewal, the daemon's retry
	w.clock.Advance(time.Minute)
	c.waitLog("handing them over once running jobs end")
	d.waitLog("trying again later")
	if got := w.leaseHolder(core.SchedulerLeaseName(core.HostName())); got != core.ConsoleHolder {
		t.Fatalf("while its backup runs the lease is held by %s, want the console", got)
	}
	if got := c.s.Running(); strings.Join(got, ",") != "prod" {
		t.Fatalf("the console runs %v, want prod", got)
	}
	close(gated.gate)
	gateOpen = true
	if r := w.next(); !r.CatchUp || r.Err != nil {
		t.Fatalf("got %+v, want the console's catch-up to finish", r)
	}
	c.waitLog("another process runs the schedules") // released, and waiting again
	w.clock.Advance(time.Minute)
	d.waitLog("running the schedules")
	d.waitLog("no missed backup to catch up on")
	if got := w.leaseHolder(core.SchedulerLeaseName(core.HostName())); got != "daemon" {
		t.Fatalf("after the handover the lease is held by %s, want the daemon", got)
	}
	if got := w.leaseHolder(core.SchedulerHandoverLeaseName(core.HostName())); got != "nobody" {
		t.Errorf("after the handover the request is still held by %s", got)
	}
	if n := len(w.runner.calls); n != 1 {
		t.Errorf("got %d backup runs, want 1: the daemon must not run the console's slot again", n)
	}
}

// A console that does not let go (hung, or its backup never ends) keeps a
// daemon waiting HandoverWait at most; then the daemon takes the lease.
func TestDaemonTakesOverAfterHandoverWait(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Hourly})
	w.seed("s3", at(0, 0))
	host, _ := os.Hostname()
	stuck := core.Lease{Name: core.SchedulerLeaseName(core.HostName()), Holder: core.ConsoleHolder, PID: os.Getpid(), Host: host, AcquiredAt: start, Heartbeat: start}
	if _, ok, err := w.cat.AcquireLease(w.ctx, stuck, nil); err != nil || !ok {
		t.Fatalf("seed the console's lease: %v %v", ok, err)
	}
	d := w.proc("daemon", w.runner, Options{PollInterval: 5 * time.Minute, LeaseTTL: 24 * time.Hour, HandoverWait: 10 * time.Minute})
	d.waitLog("asking it to hand them over")
	w.block(1)
	w.clock.Advance(5 * time.Minute)
	d.waitLog("trying again later")
	if got := w.leaseHolder(core.SchedulerLeaseName(core.HostName())); got != core.ConsoleHolder {
		t.Fatalf("before HandoverWait the lease is held by %s, want the console still", got)
	}
	w.block(1)
	w.clock.Advance(5 * time.Minute)
	d.waitLog("running the schedules")
	d.waitLog("no missed backup to catch up on")
	if got := w.leaseHolder(core.SchedulerLeaseName(core.HostName())); got != "daemon" {
		t.Fatalf("after HandoverWait the lease is held by %s, want the daemon", got)
	}
}

// Abort cancels a stopping console's running backup at once instead of
// waiting ShutdownTimeout; the backup's context ends.
func TestAbortCancelsRunningJobs(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Hourly})
	runner := &blockingRunner{fakeRunner: w.runner, started: make(chan struct{}, 1)}
	c := w.proc("console", runner, Options{Console: true, PollInterval: time.Hour, ShutdownTimeout: time.Hour})
	<-runner.started
	if got := c.s.Running(); len(got) != 1 {
		t.Fatalf("running %v, want the catch-up of prod", got)
	}
	c.stop()
	c.s.Abort()
	if err := <-c.done; err != nil {
		t.Fatalf("Run returned %v after Abort, want nil", err)
	}
	c.done <- nil
	if got := w.leaseHolder(core.SchedulerLeaseName(core.HostName())); got != "nobody" {
		t.Errorf("after quitting the lease is held by %s, want released", got)
	}
}
