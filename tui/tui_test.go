package tui

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

func init() { lipgloss.SetColorProfile(termenv.Ascii) }

// clock is the fixed now of every test: ages and times in goldens depend on it.
var clock = time.Date(2026, 11, 22, 12, 30, 0, 0, time.UTC)

func fixedNow() time.Time { return clock }

// tempCatalog opens a new SQLite catalog in the test's directory.
func tempCatalog(t *testing.T) *store.Catalog {
	t.Helper()
	cat, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// fatalOn is a check that ends the test at the first error it is given.
func fatalOn(t *testing.T) func(error) {
	return func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// seed makes a catalog with three services in three states: production
// healthy on two destinations, staging failed, demo without configuration.
func seed(t *testing.T) *store.Catalog {
	t.Helper()
	ctx := context.Background()
	cat := tempCatalog(t)
	must := fatalOn(t)
	for _, d := range []string{"s3-eu", "local"} {
		must(cat.AddDestination(ctx, &core.Destination{Name: d, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}))
	}
	for _, s := range []string{"production", "staging", "demo"} {
		must(cat.AddService(ctx, &core.Service{Name: s, DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Database: s + "_db"},
			FilestoreDir: "/var/lib/odoo/filestore/" + s + "_db"}, ""))
	}
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "production", Destination: "s3-eu", Frequency: core.Hourly,
		Retention: core.Retention{KeepLast: 24}}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "production", Destination: "local", Frequency: core.Manual}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "staging", Destination: "local", Frequency: core.Daily,
		Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}}))
	add := func(svc, dest string, kind core.BackupKind, status core.BackupStatus, startedAgo time.Duration, size int64, msg string) {
		t.Helper()
		started := clock.Add(-startedAgo)
		finished := started.Add(41 * time.Second)
		b := core.Backup{Service: svc, Destination: dest, Kind: kind, Status: core.StatusRunning, StartedAt: started}
		must(cat.CreateBackup(ctx, &b))
		b.Status, b.Size, b.FinishedAt, b.Error = status, size, &finished, msg
		must(cat.UpdateBackup(ctx, b))
	}
	add("production", "local", core.KindManual, core.StatusSucceeded, 50*time.Hour, 1_100_000_000, "")
	add("production", "s3-eu", core.KindScheduled, core.StatusSucceeded, 90*time.Minute, 1_180_000_000, "")
	add("production", "s3-eu", core.KindScheduled, core.StatusSucceeded, 30*time.Minute, 1_200_000_000, "")
	add("staging", "local", core.KindScheduled, core.StatusFailed, 35*time.Hour, 0, "connect: connection refused")
	// A daemon on another host holds the schedules.
	_, ok, err := cat.AcquireLease(ctx, core.Lease{Name: core.SchedulerLeaseName(core.HostName()), Holder: "daemon", PID: 4121, Host: "backup-host",
		AcquiredAt: clock.Add(-time.Hour), Heartbeat: clock}, nil)
	must(err)
	if !ok {
		t.Fatal("lease not acquired")
	}
	return cat
}

func start(t *testing.T, o Options) *teatest.TestModel {
	t.Helper()
	o.Now, o.NoColor = fixedNow, true
	o = withStorage(o)
	if o.RefreshEvery == 0 {
		o.RefreshEvery = time.Hour
	}
	return teatest.NewTestModel(t, snapModel{New(o)}, teatest.WithInitialTermSize(100, 30))
}

// withStorage gives the console the real store opener, as cmd does, when
// the test gave none.
func withStorage(o Options) Options {
	if o.OpenStore == nil {
		o.OpenStore = s3.Open
	}
	return o
}

// snapModel lets a test read the frame at any point: it answers snapshotMsg
// from inside the program's loop, after every message sent before it.
type snapModel struct{ *Model }

func (s snapModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m, ok := msg.(snapshotMsg); ok {
		m.reply <- s.View()
		return s, nil
	}
	_, cmd := s.Model.Update(msg)
	return s, cmd
}

func waitFor(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool {
		for _, w := range want {
			if !bytes.Contains(out, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// namedKeys are the keys tests press by name; anything else is typed.
var namedKeys = map[string]tea.KeyType{
	"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab,
	"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
	"backspace": tea.KeyBackspace, "ctrl+u": tea.KeyCtrlU,
}

func press(tm *teatest.TestModel, keys ...string) {
	for _, k := range keys {
		switch t, named := namedKeys[k]; {
		case named:
			tm.Send(tea.KeyMsg{Type: t})
		case k == "space":
			tm.Send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune(" ")})
		default:
			tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		}
	}
}

// finalView quits and compares the last frame with the golden file.
func finalView(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	press(tm, "q")
	m := tm.FinalModel(t, teatest.WithFinalTimeout(15*time.Second)).(snapModel)
	golden.RequireEqual(t, []byte(m.View()))
}

func TestHomeScreen(t *testing.T) {
	tm := start(t, Options{Catalog: seed(t)})
	waitFor(t, tm, "production", "staging", "demo", "scheduler: daemon (pid 4121)")
	finalView(t, tm)
}

func TestOpenServiceTabAndBack(t *testing.T) {
	tm := start(t, Options{Catalog: seed(t)})
	waitFor(t, tm, "production")
	press(tm, "down", "enter")
	waitFor(t, tm, "odoo-backup › production", "keep 24", "1.2 GB")
	press(tm, "tab", "down")
	finalViewAfter(t, tm, "esc")
}

// finalViewAfter checks the service screen with the history pane focused,
// then goes back and checks the home screen came back.
func finalViewAfter(t *testing.T, tm *teatest.TestModel, back string) {
	t.Helper()
	waitFor(t, tm, "[History 3]")
	m := snapshot(t, tm)
	golden.RequireEqual(t, []byte(m))
	press(tm, back)
	waitFor(t, tm, "Services")
	press(tm, "q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(15*time.Second)).(snapModel)
	if top := final.top(); top != screen(final.home) {
		t.Errorf("after esc the screen is %q, want the services screen", top.Title())
	}
}

// waitGone waits until the current frame no longer shows unwanted.
func waitGone(t *testing.T, tm *teatest.TestModel, unwanted string) {
	t.Helper()
	waitFrame(t, tm, "still shows "+strconv.Quote(unwanted), func(f string) bool { return !strings.Contains(f, unwanted) })
}

// waitShown waits until the current frame shows want. Unlike waitFor, which
// reads the output stream once, it sees text drawn before it was called.
func waitShown(t *testing.T, tm *teatest.TestModel, want string) {
	t.Helper()
	waitFrame(t, tm, "does not show "+strconv.Quote(want), func(f string) bool { return strings.Contains(f, want) })
}

// waitFrame polls the current frame until ok says it is the one wanted.
func waitFrame(t *testing.T, tm *teatest.TestModel, failure string, ok func(frame string) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		frame := snapshot(t, tm)
		if ok(frame) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the frame %s after 15s:\n%s", failure, frame)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// snapshotMsg asks the test's model wrapper for its current frame.
type snapshotMsg struct{ reply chan string }

func snapshot(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	reply := make(chan string, 1)
	tm.Send(snapshotMsg{reply: reply})
	select {
	case v := <-reply:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no snapshot")
	}
	return ""
}

// fakeEngine records a backup the way the engine does, and holds it at the
// dump phase until released so the test can see the live progress.
type fakeEngine struct {
	cat     core.Catalog
	release chan struct{}
	mu      sync.Mutex
	reqs    []core.BackupRequest
}

func (f *fakeEngine) Backup(ctx context.Context, req core.BackupRequest) ([]core.Backup, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	var out []core.Backup
	for _, d := range req.Destinations {
		b := core.Backup{Service: req.Service, Destination: d, Kind: req.Kind, Status: core.StatusRunning, StartedAt: clock, BackupProgress: core.BackupProgress{Phase: core.PhaseDump}}
		if err := f.cat.CreateBackup(ctx, &b); err != nil {
			return out, err
		}
		req.Progress(core.Progress{BackupID: b.ID, Phase: core.PhaseDump, Bytes: 12_300_000})
		select {
		case <-f.release:
		case <-ctx.Done():
			return out, ctx.Err()
		}
		done := clock.Add(72 * time.Second)
		b.Status, b.Size, b.FinishedAt, b.Phase = core.StatusSucceeded, 1_250_000_000, &done, ""
		if err := f.cat.UpdateBackup(ctx, b); err != nil {
			return out, err
		}
		out = append(out, b)
	}
	return out, nil
}

func TestBackupNow(t *testing.T) {
	cat := seed(t)
	eng := &fakeEngine{cat: cat, release: make(chan struct{})}
	tm := start(t, Options{Catalog: cat, Engine: eng})
	waitFor(t, tm, "production")
	press(tm, "down", "enter")
	waitFor(t, tm, "odoo-backup › production")
	press(tm, "b")
	waitFor(t, tm, "Back up production now", "[x] ★ s3-eu", "[ ]   local")
	dialog := snapshot(t, tm)
	t.Run("dialog", func(t *testing.T) { golden.RequireEqual(t, []byte(dialog)) })
	press(tm, "enter")
	waitFor(t, tm, "backing up production → s3-eu: dump · 12.3 MB")
	close(eng.release)
	// The new row finished (took 1:12) shows once the history reloaded.
	waitFor(t, tm, "backup of production succeeded: s3-eu (1.2 GB)", "1:12    ✓ succeeded")
	// The header's count comes from its own read, which may land a moment
	// after the history's.
	waitGone(t, tm, "1 running")
	// The final view (golden) shows the manual backup as the
	// configuration's last backup too (SPEC rule 11), as it is the
	// service's: "last just now". The configurations come from a read of
	// their own, which may land after the history's.
	waitShown(t, tm, "last just now")
	finalView(t, tm)
	if len(eng.reqs) != 1 || len(eng.reqs[0].Destinations) != 1 || eng.reqs[0].Destinations[0] != "s3-eu" {
		t.Errorf("engine got %+v, want one backup to the primary s3-eu", eng.reqs)
	}
}

func TestReadOnlyRefusesBackup(t *testing.T) {
	tm := start(t, Options{Catalog: seed(t), ReadOnly: true, Engine: &fakeEngine{}})
	waitFor(t, tm, "production", "b r u a off (--read-only)")
	press(tm, "b")
	waitFor(t, tm, "read-only: backing up is off")
	finalView(t, tm)
}

func TestHelpOverlay(t *testing.T) {
	tm := start(t, Options{Catalog: seed(t)})
	waitFor(t, tm, "production")
	press(tm, "?")
	waitFor(t, tm, "? or esc closes")
	finalView(t, tm)
}

// TestLiveRefresh shows a backup another process runs, with its phase,
// bytes, throughput and a bar estimated from the previous backup's size,
// once the periodic refresh reads it.
func TestLiveRefresh(t *testing.T) {
	cat := seed(t)
	var now atomic.Int64
	now.Store(clock.UnixNano())
	tm := teatest.NewTestModel(t, snapModel{New(Options{Catalog: cat, NoColor: true, RefreshEvery: 20 * time.Millisecond,
		Now: func() time.Time { return time.Unix(0, now.Load()).UTC() }})}, teatest.WithInitialTermSize(100, 30))
	waitFor(t, tm, "production")
	ctx := context.Background()
	// Created with its first reading in one write: a refresh between two
	// writes would read 0 bytes at the same instant of the test's clock,
	// and the throughput would then count from 0.
	b := core.Backup{Service: "production", Destination: "s3-eu", Kind: core.KindScheduled, StartedAt: clock, BackupProgress: core.BackupProgress{Phase: core.PhaseFilestore, Bytes: 48_000_000}}
	if err := cat.CreateBackup(ctx, &b); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, "◐ ░░░░░░ 4%~ filestore", "1 running")
	// Two seconds and 100 MB later: 50 MB/s, and 12% of the 1.2 GB the
	// previous backup on s3-eu weighed.
	now.Add(int64(2 * time.Second))
	if err := cat.UpdateProgress(ctx, b.ID, core.BackupProgress{Phase: core.PhaseFilestore, Bytes: 148_000_000}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, "◐ ░░░░░░ 12%~ 50.0 MB/s")
	// The service's history says more.
	press(tm, "down", "enter")
	waitFor(t, tm, "148.0 MB  0:02    ◐ ░░░░░░ 12%~ filestore 50.0 MB/s")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}
