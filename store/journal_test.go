package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

func testJournal(t *testing.T) *Journal {
	t.Helper()
	j, warnings, err := OpenJournal(JournalPath(filepath.Join(t.TempDir(), "journal"), "host-a"))
	must(t, err)
	if len(warnings) > 0 {
		t.Fatalf("a new journal warns: %q", warnings)
	}
	return j
}

func auditEntry(action string) *core.AuditEntry {
	return &core.AuditEntry{Action: action, User: "daemon:test", Target: "crm", At: time.Unix(1_700_000_000, 0).UTC()}
}

// TestJournalDropsTornLastLine: a crash while appending leaves half a line
// at the end; reading the journal drops it with a warning, keeps every
// whole entry, and later appends start on a line of their own.
func TestJournalDropsTornLastLine(t *testing.T) {
	j := testJournal(t)
	for _, a := range []string{"one", "two"} {
		if _, err := j.Append(JournalEntry{Origin: "host-a/" + a, Audit: auditEntry(a)}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(j.Path(), os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString(`{"seq":3,"origin":"host-a/three","audit":{"act`)
	must(t, err)
	f.Close()

	j2, warnings, err := OpenJournal(j.Path())
	must(t, err)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "last line") || !strings.Contains(warnings[0], "incomplete") {
		t.Fatalf("warnings = %q, want one about the incomplete last line", warnings)
	}
	if got := j2.Len(); got != 2 {
		t.Fatalf("entries after a torn line = %d, want 2", got)
	}
	e, err := j2.Append(JournalEntry{Origin: "host-a/four", Audit: auditEntry("four")})
	must(t, err)
	if e.Seq != 3 {
		t.Errorf("next sequence = %d, want 3", e.Seq)
	}
	j3, warnings, err := OpenJournal(j.Path())
	must(t, err)
	if len(warnings) != 0 || j3.Len() != 3 {
		t.Fatalf("reopened: %d entries, warnings %q; want 3 and none", j3.Len(), warnings)
	}
	if info, err := os.Stat(j.Path()); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("journal mode = %v (%v), want 0600: it holds what the catalog would", info.Mode().Perm(), err)
	}
}

// TestJournalInUnusableDirectory: a journal directory that cannot be made
// or written is refused at once with one sentence, not at the first outage.
func TestJournalInUnusableDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, nil, 0o600))
	_, _, err := OpenJournal(JournalPath(filepath.Join(file, "journal"), "host-a"))
	if err == nil || !strings.Contains(err.Error(), "cannot be created") || !strings.Contains(err.Error(), "this user can write to") {
		t.Errorf("journal under a file: %v, want the sentence saying the directory cannot be created", err)
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		must(t, os.Mkdir(ro, 0o500))
		_, _, err = OpenJournal(JournalPath(ro, "host-a"))
		if err == nil || !strings.Contains(err.Error(), "is not writable") {
			t.Errorf("journal in a read-only directory: %v, want the sentence saying it is not writable", err)
		}
	}
}

// TestJournalKeepsCopyOfDamagedJournal: a damaged line inside the file
// (not a torn end) is dropped with a warning, and the file as it was is
// kept beside it for a person.
func TestJournalKeepsCopyOfDamagedJournal(t *testing.T) {
	j := testJournal(t)
	_, err := j.Append(JournalEntry{Origin: "host-a/one", Audit: auditEntry("one")})
	must(t, err)
	f, err := os.OpenFile(j.Path(), os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	f.WriteString("garbage\n")
	f.Close()
	_, err = j.Append(JournalEntry{Origin: "host-a/two", Audit: auditEntry("two")})
	must(t, err)

	j2, warnings, err := OpenJournal(j.Path())
	must(t, err)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "line 2") || !strings.Contains(warnings[0], ".damaged") {
		t.Fatalf("warnings = %q, want one naming line 2 and the copy", warnings)
	}
	if j2.Len() != 2 {
		t.Errorf("entries = %d, want 2", j2.Len())
	}
	raw, err := os.ReadFile(j.Path() + ".damaged")
	must(t, err)
	if !strings.Contains(string(raw), "garbage") {
		t.Errorf("the copy of the damaged journal lacks the damaged line: %q", raw)
	}
}

// TestJournalReplayIsIdempotent: a backup and an audit entry journaled
// while the catalog was away are written once each, with the final state
// and the real id in the audit detail, even when the process died after
// the commit and before the journal entries were removed (replayed again
// from the same file by the next process).
func TestJournalReplayIsIdempotent(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	d := addLocal(t, c, "nas")
	s := addService(t, c, "crm")
	setConfig(t, c, "crm", "nas", true)
	j := testJournal(t)

	started := time.Unix(1_700_000_000, 0).UTC()
	b := core.Backup{ID: -1, ServiceID: s.ID, Service: "crm", DestinationID: d.ID, Destination: "nas", Kind: core.KindScheduled,
		Status: core.StatusRunning, StartedAt: started, Host: "host-a", PID: 42}
	_, err := j.Append(JournalEntry{Origin: "host-a/b1", Backup: journalBackup(b)})
	must(t, err)
	finished := started.Add(time.Minute)
	b.Status, b.Key, b.Size, b.SHA256, b.FinishedAt = core.StatusSucceeded, "crm/2023/11/crm_scheduled.zip", 1234, strings.Repeat("ab", 32), &finished
	b.MissingCount, b.MissingFiles = 1, []string{"ab/abcdef"}
	_, err = j.Append(JournalEntry{Origin: "host-a/b1", Backup: journalBackup(b)})
	must(t, err)
	a := auditEntry(core.ActionBackup)
	a.Detail = "scheduled: backup -1 on nas"
	_, err = j.Append(JournalEntry{Origin: "host-a/a1", Audit: a})
	must(t, err)
	saved, err := os.ReadFile(j.Path())
	must(t, err)

	var replayedIDs []int64
	w := NewJournaled(c, JournaledOptions{Journal: j, OnReplayed: func(_ context.Context, b core.Backup) { replayedIDs = append(replayedIDs, b.ID) }})
	must(t, w.Replay(ctx))
	if j.Len() != 0 {
		t.Fatalf("journal holds %d entries after a replay, want 0", j.Len())
	}
	check := func(when string) int64 {
		t.Helper()
		got, err := c.Backups(ctx, core.BackupFilter{Service: "crm", Kind: core.KindScheduled})
		must(t, err)
		if len(got) != 1 {
			t.Fatalf("%s: %d backups in the catalog, want exactly 1: %+v", when, len(got), got)
		}
		g := got[0]
		if g.ID <= 0 || g.Status != core.StatusSucceeded || g.Key != b.Key || g.Size != 1234 || g.SHA256 != b.SHA256 ||
			!g.StartedAt.Equal(started) || g.FinishedAt == nil || !g.FinishedAt.Equal(finished) || g.MissingCount != 1 || g.Host != "host-a" {
			t.Errorf("%s: backup = %+v, want the journal's final state", when, g)
		}
		audit, err := c.Audit(ctx, core.AuditFilter{})
		must(t, err)
		n := 0
		for _, e := range audit {
			if e.Action == core.ActionBackup {
				n++
				if want := "scheduled: backup " + itoa(g.ID) + " on nas"; e.Detail != want {
					t.Errorf("%s: audit detail = %q, want %q", when, e.Detail, want)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d backup audit entries, want 1", when, n)
		}
		return g.ID
	}
	id := check("after the replay")
	if len(replayedIDs) != 1 || replayedIDs[0] != id {
		t.Errorf("OnReplayed got %v, want [%d]", replayedIDs, id)
	}

	// The process died after the commits and before the removal: the next
	// one finds the same journal.
	must(t, os.WriteFile(j.Path(), saved, 0o600))
	j2, _, err := OpenJournal(j.Path())
	must(t, err)
	w2 := NewJournaled(c, JournaledOptions{Journal: j2})
	must(t, w2.Replay(ctx))
	if again := check("after replaying the same journal again"); again != id {
		t.Errorf("the second replay moved the backup from id %d to %d", id, again)
	}

	// A row the daemon created while the catalog answered carries an
	// origin too: when its commit reached the catalog but the answer was
	// lost, the daemon journals it, and the replay finds it.
	lost := core.Backup{ServiceID: s.ID, Service: "crm", DestinationID: d.ID, Destination: "nas", Kind: core.KindManual, StartedAt: started}
	must(t, w2.CreateBackup(ctx, &lost))
	var origin string
	must(t, c.db.QueryRowContext(ctx, `SELECT origin FROM backups WHERE id = ?`, lost.ID).Scan(&origin))
	if !strings.HasPrefix(origin, core.HostName()+"/") {
		t.Fatalf("a backup the daemon created has origin %q, want %s/<uuid>", origin, core.HostName())
	}
	lost.ID, lost.Status, lost.Key, lost.Size, lost.SHA256, lost.FinishedAt = -7, core.StatusSucceeded, "crm/lost.zip", 9, strings.Repeat("ef", 32), &finished
	_, err = j2.Append(JournalEntry{Origin: origin, Backup: journalBackup(lost)})
	must(t, err)
	must(t, w2.Replay(ctx))
	manual, err := c.Backups(ctx, core.BackupFilter{Service: "crm", Kind: core.KindManual})
	must(t, err)
	if len(manual) != 1 || manual[0].Status != core.StatusSucceeded || manual[0].Key != "crm/lost.zip" {
		t.Errorf("after replaying a create whose answer was lost: %+v, want the one row, succeeded", manual)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestJournaledWhileCatalogIsDown: with the catalog's server stopped, the
// daemon's catalog answers the schedules from what it last read, journals
// the engine's rows under provisional ids at once (no call hangs), and when
// the server is back the next lease renewal replays them: the backup
// appears once with its real id and final state, updates made after the
// replay follow it.
func TestJournaledWhileCatalogIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster of its own")
	}
	ctx := context.Background()
	pg, err := testbed.NewPostgres(ctx)
	testbed.Need(t, "PostgreSQL", err)
	t.Cleanup(func() { pg.Close() })
	must(t, pg.CreateDatabase(ctx, "catalog"))
	c, err := Open(ctx, pg.ConnString("catalog"), WithKeyFile(filepath.Join(t.TempDir(), "catalog.key")))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	addLocal(t, c, "nas")
	addService(t, c, "crm")
	setConfig(t, c, "crm", "nas", true)
	lease := core.Lease{Name: core.SchedulerLease, Holder: "daemon", PID: os.Getpid(), Host: "host-a", AcquiredAt: time.Now(), Heartbeat: time.Now()}
	if _, ok, err := c.AcquireLease(ctx, lease, func(core.Lease) bool { return false }); err != nil || !ok {
		t.Fatalf("AcquireLease: %v %v", ok, err)
	}

	// A backup the catalog recorded before it went away, whose end is
	// journaled.
	inflight := addBackup(t, c, "crm", "nas", core.KindManual, core.StatusRunning)

	j := testJournal(t)
	var replayed []core.Backup
	w := NewJournaled(c, JournaledOptions{Journal: j, CallTimeout: 5 * time.Second,
		OnReplayed: func(_ context.Context, b core.Backup) { replayed = append(replayed, b) }})
	v, err := w.ScheduleVersion(ctx)
	must(t, err)
	if _, err := w.AllConfigurations(ctx); err != nil {
		t.Fatal(err)
	}

	must(t, pg.Stop())
	began := time.Now()
	if err := w.RenewLease(ctx, lease); !errors.Is(err, core.ErrCatalogUnreachable) {
		t.Fatalf("RenewLease with the server stopped = %v, want an error wrapping ErrCatalogUnreachable", err)
	}
	if v2, err := w.ScheduleVersion(ctx); err != nil || v2 != v {
		t.Errorf("ScheduleVersion while away = %d, %v; want the last one (%d) and no error", v2, err, v)
	}
	svc, err := w.Service(ctx, "crm")
	must(t, err)
	if all, err := w.Services(ctx); err != nil || len(all) != 1 {
		t.Errorf("Services while away = %d services, %v; want the last answer", len(all), err)
	}
	cfgs, err := w.Configurations(ctx, "crm")
	must(t, err)
	dest, err := w.Destination(ctx, "nas")
	must(t, err)
	if svc.Name != "crm" || len(cfgs) != 1 || dest.Name != "nas" {
		t.Fatalf("while away: service %q, %d configurations, destination %q; want what the catalog last said", svc.Name, len(cfgs), dest.Name)
	}
	b := core.Backup{ServiceID: svc.ID, Service: "crm", DestinationID: dest.ID, Destination: "nas", Kind: core.KindScheduled,
		StartedAt: time.Now().UTC().Truncate(time.Millisecond), Host: "host-a", PID: os.Getpid()}
	must(t, w.CreateBackup(ctx, &b))
	if b.ID >= 0 {
		t.Fatalf("a backup recorded while the catalog is away has id %d, want a provisional (negative) one", b.ID)
	}
	must(t, w.UpdateProgress(ctx, b.ID, core.BackupProgress{Phase: core.PhaseDump, Bytes: 10}))
	b.Key = "crm/key.zip"
	must(t, w.UpdateBackup(ctx, b))
	fin := time.Now().UTC().Truncate(time.Millisecond)
	b.Status, b.Size, b.SHA256, b.FinishedAt = core.StatusSucceeded, 99, strings.Repeat("cd", 32), &fin
	must(t, w.UpdateBackup(ctx, b))
	dr := core.Drill{ServiceID: svc.ID, Service: "crm", BackupID: b.ID, Destination: "nas"}
	must(t, w.AddDrill(ctx, &dr))
	if dr.ID >= 0 {
		t.Fatalf("a drill recorded while the catalog is away has id %d, want a provisional one", dr.ID)
	}
	dr.Status, dr.FinishedAt = core.DrillOK, &fin
	must(t, w.UpdateDrill(ctx, dr))
	inflight.Status, inflight.Error = core.StatusFailed, "the destination is full"
	must(t, w.UpdateBackup(ctx, inflight))
	a := core.AuditEntry{Action: core.ActionBackup, Target: "crm", Detail: "scheduled: backup " + itoa(b.ID) + " on nas"}
	must(t, w.AddAudit(ctx, &a))
	// A restore's record is not journaled (no restore begins without the
	// catalog): it fails as unreachable, within the call's bound.
	rr := core.RestoreRecord{Service: "crm", BackupID: inflight.ID, Target: "crm", Status: core.RestoreSucceeded, StartedAt: fin.Add(-time.Minute), FinishedAt: fin}
	if err := w.AddRestore(ctx, &rr); !errors.Is(err, core.ErrCatalogUnreachable) {
		t.Errorf("AddRestore with the server stopped = %v, want an error wrapping ErrCatalogUnreachable", err)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Errorf("working with the server stopped took %s; every call must fail fast", took)
	}
	if j.Len() != 7 {
		t.Fatalf("journal holds %d entries, want 7 (created, key, final state, drill, its end, the other backup's end, audit)", j.Len())
	}

	must(t, pg.Start())
	lease.Heartbeat = time.Now()
	must(t, w.RenewLease(ctx, lease))
	if j.Len() != 0 {
		t.Fatalf("journal holds %d entries after the catalog answered, want 0", j.Len())
	}
	if b, err := c.Backup(ctx, inflight.ID); err != nil || b.Status != core.StatusFailed || b.Error != "the destination is full" {
		t.Errorf("the backup that ended while the catalog was away: %+v (%v), want failed with its error", b, err)
	}
	got, err := c.Backups(ctx, core.BackupFilter{Service: "crm", Kind: core.KindScheduled})
	must(t, err)
	if len(got) != 1 || got[0].ID <= 0 || got[0].Status != core.StatusSucceeded || got[0].Key != "crm/key.zip" || got[0].Size != 99 {
		t.Fatalf("backups after the replay = %+v, want one succeeded with key and size", got)
	}
	if len(replayed) != 1 || replayed[0].ID != got[0].ID {
		t.Errorf("OnReplayed got %+v, want backup %d", replayed, got[0].ID)
	}
	drills, err := c.Drills(ctx, "crm", 0)
	must(t, err)
	if len(drills) != 1 || drills[0].ID <= 0 || drills[0].BackupID != got[0].ID || drills[0].Status != core.DrillOK {
		t.Errorf("drills after the replay = %+v, want one ok drill of backup %d", drills, got[0].ID)
	}
	// The engine still holds the provisional id: its later writes follow
	// the real row.
	must(t, w.UpdateProgress(ctx, b.ID, core.BackupProgress{Phase: core.PhaseFinish, Bytes: 5}))
	if again, _ := c.Backup(ctx, got[0].ID); again.Bytes != 5 {
		t.Errorf("progress of the provisional id after the replay went to bytes=%d, want 5 on backup %d", again.Bytes, got[0].ID)
	}
}

// TestJournaledWhileCatalogHangs: a catalog server that hangs (its
// processes stopped with SIGSTOP, as a frozen VM or a network that drops
// packets looks) answers nothing at all. Every call of the daemon's
// catalog gives up within its timeout and counts as unreachable: the row
// goes to the journal, and reaches the catalog once the server runs again.
func TestJournaledWhileCatalogHangs(t *testing.T) {
	ctx := context.Background()
	pg, err := testbed.NewPostgres(ctx)
	testbed.Need(t, "PostgreSQL", err)
	t.Cleanup(func() { pg.Close() })
	must(t, pg.CreateDatabase(ctx, "catalog"))
	c, err := Open(ctx, pg.ConnString("catalog"), WithKeyFile(filepath.Join(t.TempDir(), "catalog.key")))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	addLocal(t, c, "nas")
	addService(t, c, "crm")
	setConfig(t, c, "crm", "nas", true)
	lease := core.Lease{Name: core.SchedulerLease, Holder: "daemon", PID: os.Getpid(), Host: "host-a", AcquiredAt: time.Now(), Heartbeat: time.Now()}
	if _, ok, err := c.AcquireLease(ctx, lease, nil); err != nil || !ok {
		t.Fatalf("AcquireLease: %v %v", ok, err)
	}
	j := testJournal(t)
	w := NewJournaled(c, JournaledOptions{Journal: j, CallTimeout: time.Second})
	_, err = w.AllConfigurations(ctx)
	must(t, err)

	raw, err := os.ReadFile(filepath.Join(pg.DataDir, "postmaster.pid"))
	must(t, err)
	pid, err := strconv.Atoi(strings.SplitN(string(raw), "\n", 2)[0])
	must(t, err)
	// Every server process: the postmaster and its children (each backend
	// is a session of its own, so not one process group).
	procs := []int{pid}
	entries, err := os.ReadDir("/proc")
	must(t, err)
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after
		// its closing parenthesis.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(e.Name())
			procs = append(procs, child)
		}
	}
	signal := func(sig syscall.Signal) {
		for _, p := range procs {
			syscall.Kill(p, sig)
		}
	}
	signal(syscall.SIGSTOP)
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)

	began := time.Now()
	if err := w.RenewLease(ctx, lease); !errors.Is(err, core.ErrCatalogUnreachable) {
		t.Fatalf("RenewLease on a hung server = %v, want an error wrapping ErrCatalogUnreachable", err)
	}
	svc, err := w.Service(ctx, "crm")
	must(t, err)
	dest, err := w.Destination(ctx, "nas")
	must(t, err)
	b := core.Backup{ServiceID: svc.ID, Service: "crm", DestinationID: dest.ID, Destination: "nas", Kind: core.KindScheduled}
	must(t, w.CreateBackup(ctx, &b))
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("three calls to a hung server took %s, want each to give up after its 1s timeout", took)
	}
	if b.ID >= 0 || j.Len() != 1 {
		t.Fatalf("backup id %d, journal entries %d; want a provisional id and one entry", b.ID, j.Len())
	}

	resume()
	lease.Heartbeat = time.Now()
	must(t, w.RenewLease(ctx, lease))
	if j.Len() != 0 {
		t.Fatalf("the journal holds %d entries once the server runs again, want 0", j.Len())
	}
	got, err := c.Backups(ctx, core.BackupFilter{Service: "crm"})
	must(t, err)
	if len(got) != 1 || got[0].ID <= 0 {
		t.Errorf("backups after the server ran again: %+v, want the journaled one", got)
	}
}
