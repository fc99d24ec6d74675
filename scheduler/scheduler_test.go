package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// memStore is an in-memory ObjectStore for scheduling tests.
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *memStore) Put(_ context.Context, key string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[key] = b
	return nil
}

func (m *memStore) Get(_ context.Context, key string, off, n int64) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return nil, core.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b[off:])), nil
}

func (m *memStore) Stat(_ context.Context, key string) (core.ObjectInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return core.ObjectInfo{}, core.ErrNotFound
	}
	return core.ObjectInfo{Key: key, Size: int64(len(b))}, nil
}

func (m *memStore) List(_ context.Context, prefix string) ([]core.ObjectInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []core.ObjectInfo
	for k, b := range m.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, core.ObjectInfo{Key: k, Size: int64(len(b))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (m *memStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	return nil
}

func (m *memStore) String() string { return "mem" }

// fakeRunner records backups instead of dumping a database, and writes
// them to the catalog and the in-memory stores as the engine would; rotation
// and recovery are the real engine's.
type fakeRunner struct {
	*core.Engine
	clock  clockwork.Clock
	stores map[string]*memStore
	mu     sync.Mutex
	calls  []core.BackupRequest
	drills []core.DrillRequest
	fail   map[string]bool // destinations whose backups fail
}

// Drill records the request and the drill, as ok, in the catalog.
func (f *fakeRunner) Drill(ctx context.Context, req core.DrillRequest) (core.DrillResult, error) {
	f.mu.Lock()
	f.drills = append(f.drills, req)
	f.mu.Unlock()
	now := f.clock.Now().UTC()
	d := core.Drill{Service: req.Service, Destination: req.Destination, Status: core.DrillOK, StartedAt: now, FinishedAt: &now}
	err := f.Catalog.AddDrill(ctx, &d)
	return core.DrillResult{Drill: d}, err
}

func (f *fakeRunner) Backup(ctx context.Context, req core.BackupRequest) ([]core.Backup, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	var out []core.Backup
	var errs []error
	for _, d := range req.Destinations {
		now := f.clock.Now().UTC()
		b := core.Backup{Service: req.Service, Destination: d, Kind: req.Kind, Status: core.StatusSucceeded, StartedAt: now, FinishedAt: &now,
			Key: fmt.Sprintf("%s/%s_%s.zip", req.Service, now.Format("20060102-150405"), d), Size: 10, SHA256: "x"}
		if f.fail[d] {
			b.Status, b.Error, b.Key, b.Size = core.StatusFailed, "destination down", "", 0
			errs = append(errs, errors.New(b.Error))
		} else {
			f.stores[d].Put(ctx, b.Key, strings.NewReader("zip"))
			f.stores[d].Put(ctx, core.MetadataKey(b.Key), strings.NewReader("{}"))
		}
		if err := f.Catalog.CreateBackup(ctx, &b); err != nil {
			return out, err
		}
		out = append(out, b)
	}
	return out, errors.Join(errs...)
}

type world struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	clock  *clockwork.FakeClock
	cat    *store.Catalog
	runner *fakeRunner
	runs   chan Run
	done   chan error
	// logged receives every log line of the scheduler.
	logged chan string
	// started are the runs OnStart was told of, in order.
	startedMu sync.Mutex
	started   []Run
}

var start = time.Date(2026, 11, 22, 0, 30, 0, 0, time.UTC)

func newWorld(t *testing.T, configs ...core.Configuration) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cat, err := store.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	clock := clockwork.NewFakeClockAt(start)
	stores := map[string]*memStore{}
	svc := core.Service{Name: "prod", DB: core.DBConn{Host: "h", Port: 5432, User: "u", Database: "prod"}, FilestoreDir: "/x"}
	if err := cat.AddService(ctx, &svc, ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range configs {
		if _, ok := stores[c.Destination]; !ok {
			stores[c.Destination] = &memStore{objs: map[string][]byte{}}
			d := core.Destination{Name: c.Destination, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/" + c.Destination}}
			if err := cat.AddDestination(ctx, &d); err != nil {
				t.Fatal(err)
			}
		}
		c.Service = "prod"
		if c.Schedule == (core.Schedule{}) {
			c.Schedule = core.DefaultSchedule
		}
		if err := cat.SetConfiguration(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	engine := &core.Engine{Catalog: cat, Now: clock.Now, OpenStore: func(_ context.Context, d core.Destination) (core.ObjectStore, error) {
		return stores[d.Name], nil
	}}
	w := &world{t: t, ctx: ctx, cancel: cancel, clock: clock, cat: cat,
		runner: &fakeRunner{Engine: engine, clock: clock, stores: stores, fail: map[string]bool{}},
		runs:   make(chan Run, 16), done: make(chan error, 1), logged: make(chan string, 256)}
	return w
}

// seed records a succeeded scheduled backup, so no catch-up runs for it.
func (w *world) seed(dest string, at time.Time) {
	w.t.Helper()
	b := core.Backup{Service: "prod", Destination: dest, Kind: core.KindScheduled, Status: core.StatusSucceeded, StartedAt: at, FinishedAt: &at,
		Key: fmt.Sprintf("prod/seed_%s_%d.zip", dest, at.Unix()), Size: 1, SHA256: "s"}
	if err := w.cat.CreateBackup(w.ctx, &b); err != nil {
		w.t.Fatal(err)
	}
	w.runner.stores[dest].Put(w.ctx, b.Key, strings.NewReader("zip"))
}

// start runs the scheduler and waits until it has armed its timers.
func (w *world) start(waiters int) {
	w.t.Helper()
	log := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{w.t}, chanWriter(w.logged)), &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(Options{Catalog: w.cat, Runner: w.runner, Clock: w.clock, Location: time.UTC, PollInterval: 7 * 24 * time.Hour, Log: log,
		OnRun: func(r Run) { w.runs <- r },
		OnStart: func(r Run) {
			w.startedMu.Lock()
			w.started = append(w.started, r)
			w.startedMu.Unlock()
		}})
	if err != nil {
		w.t.Fatal(err)
	}
	go func() { w.done <- s.Run(w.ctx) }()
	w.t.Cleanup(func() {
		w.cancel()
		if err := <-w.done; err != nil {
			w.t.Errorf("scheduler stopped with %v", err)
		}
	})
	w.block(waiters)
}

func (w *world) block(waiters int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	defer cancel()
	if err := w.clock.BlockUntilContext(ctx, waiters); err != nil {
		w.t.Fatalf("the scheduler never armed %d timers: %v", waiters, err)
	}
}

// next waits for the next finished run.
func (w *world) next() Run {
	w.t.Helper()
	select {
	case r := <-w.runs:
		return r
	case <-time.After(30 * time.Second):
		w.t.Fatal("no run happened")
	}
	return Run{}
}

func (w *world) noRun() {
	w.t.Helper()
	select {
	case r := <-w.runs:
		w.t.Fatalf("unexpected run %+v", r)
	default:
	}
}

// advanceTo moves the fake clock to t and waits for the scheduler to arm
// its timers again.
func (w *world) advanceTo(t time.Time, waiters int) {
	w.t.Helper()
	w.clock.Advance(t.Sub(w.clock.Now()))
}

func (w *world) backups(dest string, status core.BackupStatus) []core.Backup {
	w.t.Helper()
	bs, err := w.cat.Backups(w.ctx, core.BackupFilter{Service: "prod", Destination: dest, Status: status})
	if err != nil {
		w.t.Fatal(err)
	}
	return bs
}

func at(h, m int) time.Time { return time.Date(2026, 11, 22, h, m, 0, 0, time.UTC) }

// An hourly configuration on one destination and a daily one on another get
// their own backups at their own times; when both fall due at 01:00 the
// database is dumped once for both; a manual-only configuration never gets a
// scheduled backup; each retention removes only its own destination's
// scheduled backups.
func TestIndependentSchedules(t *testing.T) {
	w := newWorld(t,
		core.Configuration{Destination: "s3", Frequency: core.Hourly, Retention: core.Retention{KeepLast: 2}},
		core.Configuration{Destination: "nas", Frequency: core.Daily, Schedule: core.Schedule{Hour: 1, MonthDay: 1}, Retention: core.Retention{KeepLast: 1}},
		core.Configuration{Destination: "local", Frequency: core.Manual},
	)
	w.seed("s3", at(0, 0))
	w.seed("nas", at(1, 0).Add(-24*time.Hour))
	w.seed("nas", at(1, 0).Add(-48*time.Hour))
	manual := core.Backup{Service: "prod", Destination: "s3", Kind: core.KindManual, Status: core.StatusSucceeded, StartedAt: at(0, 10), Key: "prod/manual.zip"}
	if err := w.cat.CreateBackup(w.ctx, &manual); err != nil {
		t.Fatal(err)
	}
	w.start(3)

	w.advanceTo(at(1, 0), 3)
	r := w.next()
	if r.Service != "prod" || strings.Join(r.Destinations, ",") != "nas,s3" || r.Err != nil {
		t.Fatalf("01:00: got run %+v, want one dump for nas and s3", r)
	}
	if len(r.Backups) != 2 {
		t.Fatalf("01:00: got %d backups, want one per destination", len(r.Backups))
	}
	w.noRun()

	for _, h := range []int{2, 3} {
		w.block(3)
		w.advanceTo(at(h, 0), 3)
		r = w.next()
		if strings.Join(r.Destinations, ",") != "s3" {
			t.Fatalf("%02d:00: got %v, want only the hourly s3", h, r.Destinations)
		}
	}
	w.block(3)
	w.noRun()

	// s3 keeps its last 2 scheduled backups; the manual one is untouched.
	s3 := w.backups("s3", core.StatusSucceeded)
	var times []string
	for _, b := range s3 {
		times = append(times, fmt.Sprintf("%s@%s", b.Kind, b.StartedAt.Format("15:04")))
	}
	if got := strings.Join(times, " "); got != "scheduled@03:00 scheduled@02:00 manual@00:10" {
		t.Errorf("s3 holds %s; want the last two scheduled and the manual one", got)
	}
	if n := len(w.backups("s3", core.StatusRotated)); n != 2 {
		t.Errorf("s3 rotated %d backups, want 2 (00:00 and 01:00)", n)
	}
	// nas keeps 1: its two older ones were rotated at 01:00, none since.
	if nas := w.backups("nas", core.StatusSucceeded); len(nas) != 1 || !nas[0].StartedAt.Equal(at(1, 0)) {
		t.Errorf("nas holds %+v, want only 01:00", nas)
	}
	if n := len(w.backups("nas", core.StatusRotated)); n != 2 {
		t.Errorf("nas rotated %d, want 2", n)
	}
	// The manual-only destination never got anything.
	if n := len(w.backups("local", "")); n != 0 {
		t.Errorf("manual-only destination got %d backups", n)
	}
	if objs, _ := w.runner.stores["s3"].List(w.ctx, "prod/seed"); len(objs) != 0 {
		t.Errorf("rotated archives are still stored: %v", objs)
	}
	for _, c := range w.runner.calls {
		if c.Kind != core.KindScheduled {
			t.Errorf("scheduled run asked for kind %s", c.Kind)
		}
	}
}

// After downtime a configuration whose last slot passed without a
// successful backup runs once at start-up, not once per missed slot.
func TestCatchUpOnceAfterDowntime(t *testing.T) {
	w := newWorld(t,
		core.Configuration{Destination: "s3", Frequency: core.Hourly},
		core.Configuration{Destination: "nas", Frequency: core.Daily, Schedule: core.Schedule{Hour: 0, Minute: 15, MonthDay: 1}},
		core.Configuration{Destination: "ok", Frequency: core.Daily},
	)
	// s3 last ran 5 hours ago (5 slots missed); nas yesterday (today's 00:15
	// missed); ok ran at yesterday's 01:00, its latest slot.
	w.seed("s3", at(0, 0).Add(-5*time.Hour))
	w.seed("nas", at(0, 15).Add(-24*time.Hour))
	w.seed("ok", at(1, 0).Add(-24*time.Hour))
	w.start(3)
	r := w.next()
	if !r.CatchUp || strings.Join(r.Destinations, ",") != "nas,s3" {
		t.Fatalf("got %+v, want one catch-up run of nas and s3", r)
	}
	w.block(3)
	w.noRun()
	if len(w.runner.calls) != 1 {
		t.Errorf("got %d backups runs, want exactly 1", len(w.runner.calls))
	}
}

// OnStart is told of each run before it runs, the catch-up included, with
// the run's service and destinations: what the daemon pings "start" on.
func TestOnStartBeforeEachRun(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Hourly})
	w.seed("s3", at(0, 0).Add(-5*time.Hour))
	w.start(2)
	catchUp := w.next()
	w.block(2)
	w.advanceTo(at(1, 0), 2)
	slot := w.next()
	w.startedMu.Lock()
	defer w.startedMu.Unlock()
	if len(w.started) != 2 || !w.started[0].CatchUp || w.started[1].CatchUp ||
		strings.Join(w.started[0].Destinations, ",") != strings.Join(catchUp.Destinations, ",") ||
		strings.Join(w.started[1].Destinations, ",") != "s3" || w.started[1].Backups != nil || len(slot.Backups) != 1 {
		t.Errorf("OnStart was told %+v, want the catch-up then the 01:00 run, each before its backups", w.started)
	}
}

// A failed scheduled backup rotates nothing, and the other destination of
// the same dump still gets its backup.
func TestFailureRotatesNothing(t *testing.T) {
	w := newWorld(t,
		core.Configuration{Destination: "s3", Frequency: core.Hourly, Retention: core.Retention{KeepLast: 1}},
		core.Configuration{Destination: "nas", Frequency: core.Hourly, Retention: core.Retention{KeepLast: 1}},
	)
	w.seed("s3", at(0, 0))
	w.seed("nas", at(0, 0))
	w.runner.fail["s3"] = true
	w.start(3)
	w.advanceTo(at(1, 0), 3)
	r := w.next()
	if r.Err == nil || len(r.Backups) != 2 {
		t.Fatalf("got %+v, want a run with one failure", r)
	}
	if got := w.backups("s3", core.StatusSucceeded); len(got) != 1 || !got[0].StartedAt.Equal(at(0, 0)) {
		t.Errorf("s3 after a failure holds %+v; want the 00:00 backup kept", got)
	}
	if got := w.backups("nas", core.StatusSucceeded); len(got) != 1 || !got[0].StartedAt.Equal(at(1, 0)) {
		t.Errorf("nas holds %+v, want its new backup only", got)
	}
}

// While a restore onto the service runs (in any process), its slot is left
// to the restore, whose safety backup was just taken; the next slot runs.
func TestRestoreTakesTheSlot(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Hourly})
	w.seed("s3", at(0, 0))
	host, _ := os.Hostname()
	restore := core.Lease{Name: core.RestoreLease("prod"), Holder: "restore elsewhere", PID: os.Getpid(), Host: host,
		AcquiredAt: at(0, 55), Heartbeat: at(1, 0)}
	if _, ok, err := w.cat.AcquireLease(w.ctx, restore, nil); err != nil || !ok {
		t.Fatalf("take the restore lease: %v %v", ok, err)
	}
	w.start(2)
	w.advanceTo(at(1, 0), 2)
	w.waitLog("a restore onto the service is running")
	w.block(2) // the job armed its next run before the clock moves again
	w.noRun()
	if err := w.cat.ReleaseLease(w.ctx, restore); err != nil {
		t.Fatal(err)
	}
	w.advanceTo(at(2, 0), 2)
	if r := w.next(); !r.Slot.Equal(at(2, 0)) {
		t.Fatalf("got the run of slot %v, want 02:00's (01:00 was the restore's)", r.Slot)
	}
	if len(w.runner.calls) != 1 {
		t.Errorf("got %d backup runs, want 1", len(w.runner.calls))
	}
}

// A change made in the catalog reaches a running scheduler without restart.
func TestReloadOnChange(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Daily})
	w.seed("s3", at(1, 0).Add(-24*time.Hour))
	s, polled := w.startPolling(testLog(t))
	if err := w.cat.SetConfiguration(w.ctx, core.Configuration{Service: "prod", Destination: "s3", Frequency: core.Hourly, Schedule: core.Schedule{Minute: 45, MonthDay: 1}}); err != nil {
		t.Fatal(err)
	}
	w.advanceTo(at(0, 31), 2) // the poll notices the change
	<-polled
	w.block(2)
	if got := s.NextRuns(); len(got) != 1 || !got[0].Next.Equal(at(0, 45)) {
		t.Fatalf("after the change the next run is %+v, want 00:45", got)
	}
	w.advanceTo(at(0, 45), 2)
	if r := w.next(); strings.Join(r.Destinations, ",") != "s3" {
		t.Errorf("got %+v", r)
	}
}

// startPolling runs a scheduler that looks at the catalog every minute and
// waits until it has armed its timers; each look sends on polled.
func (w *world) startPolling(log *slog.Logger) (s *Scheduler, polled <-chan struct{}) {
	w.t.Helper()
	s, err := New(Options{Catalog: w.cat, Runner: w.runner, Clock: w.clock, Location: time.UTC, PollInterval: time.Minute, Log: log,
		OnRun: func(r Run) { w.runs <- r }})
	if err != nil {
		w.t.Fatal(err)
	}
	looked := make(chan struct{}, 1)
	s.afterPoll = func() {
		select {
		case looked <- struct{}{}:
		default:
		}
	}
	go func() { w.done <- s.Run(w.ctx) }()
	w.t.Cleanup(func() { w.cancel(); <-w.done })
	w.block(2)
	return s, looked
}

// testLog sends the scheduler's log to the test's log.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

// chanWriter passes each log line on, dropping lines nobody waits for.
type chanWriter chan string

func (c chanWriter) Write(p []byte) (int, error) {
	select {
	case c <- string(p):
	default:
	}
	return len(p), nil
}

// waitLog waits for a log line that contains want.
func (w *world) waitLog(want string) {
	w.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l := <-w.logged:
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			w.t.Fatalf("the scheduler never logged %q", want)
		}
	}
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// blockingRunner's backups run until their context ends.
type blockingRunner struct {
	*fakeRunner
	started chan struct{}
}

func (b *blockingRunner) Backup(ctx context.Context, req core.BackupRequest) ([]core.Backup, error) {
	b.started <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// On shutdown a running backup gets ShutdownTimeout to finish, then its
// context is cancelled, and Run returns.
func TestShutdownAbortsAfterTimeout(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Hourly})
	runner := &blockingRunner{fakeRunner: w.runner, started: make(chan struct{}, 1)}
	s, err := New(Options{Catalog: w.cat, Runner: runner, Clock: w.clock, Location: time.UTC, PollInterval: 7 * 24 * time.Hour,
		ShutdownTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	s.shutdownWaiting = func() { close(waiting) }
	done := make(chan error, 1)
	go func() { done <- s.Run(w.ctx) }()
	<-runner.started // the catch-up backup is running
	w.cancel()
	<-waiting // the scheduler now waits on its shutdown timer
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before the shutdown timeout", err)
	default:
	}
	w.clock.Advance(10 * time.Minute)
	if err := <-done; err != nil {
		t.Errorf("Run returned %v after aborting, want nil", err)
	}
	if _, err := w.cat.CurrentLease(context.Background(), core.SchedulerLeaseName(core.HostName())); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("lease after shutdown: %v, want released", err)
	}
}

// Only one scheduler runs a catalog's schedules; another waits, and takes
// over when the holder stops or stops heartbeating.
func TestLease(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Daily})
	w.seed("s3", at(1, 0).Add(-24*time.Hour))
	ctxA, stopA := context.WithCancel(w.ctx)
	a, _ := New(Options{Catalog: w.cat, Runner: w.runner, Clock: w.clock, Location: time.UTC, PollInterval: time.Minute, Holder: "daemon"})
	doneA := make(chan error, 1)
	go func() { doneA <- a.Run(ctxA) }()
	w.block(2) // A holds the lease: its job and its poll ticker wait

	b, _ := New(Options{Catalog: w.cat, Runner: w.runner, Clock: w.clock, Location: time.UTC, PollInterval: time.Minute, Holder: "console"})
	doneB := make(chan error, 1)
	go func() { doneB <- b.Run(w.ctx) }()
	w.block(3) // B waits to retry
	if l, err := w.cat.CurrentLease(w.ctx, core.SchedulerLeaseName(core.HostName())); err != nil || l.Holder != "daemon" {
		t.Fatalf("lease %+v, %v; want the daemon's", l, err)
	}
	stopA()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	// B retries after its poll interval and gets the free lease.
	w.block(1)
	w.clock.Advance(time.Minute)
	w.block(2)
	if l, err := w.cat.CurrentLease(w.ctx, core.SchedulerLeaseName(core.HostName())); err != nil || l.Holder != "console" {
		t.Errorf("after the daemon stopped the lease is %+v, %v; want the console's", l, err)
	}
	w.cancel()
	<-doneB

	// A holder that stopped heartbeating is taken over after LeaseTTL.
	stale := core.Lease{Name: core.SchedulerLeaseName(core.HostName()), Holder: "daemon", PID: 1, Host: "elsewhere", AcquiredAt: w.clock.Now(), Heartbeat: w.clock.Now()}
	if _, ok, err := w.cat.AcquireLease(context.Background(), stale, nil); err != nil || !ok {
		t.Fatalf("seed stale lease: %v %v", ok, err)
	}
	s := &Scheduler{o: Options{Clock: w.clock, LeaseTTL: 30 * time.Second}}
	if s.holderGone(stale) {
		t.Error("a fresh lease of another host was taken for gone")
	}
	w.clock.Advance(31 * time.Second)
	if !s.holderGone(stale) {
		t.Error("a lease silent for longer than its TTL was not taken for gone")
	}
}
