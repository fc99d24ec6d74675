package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// restoreError is a failed restore's error as pg_restore reports it: on
// several lines, the last one the one that says what to do.
const restoreError = `pg_restore: error: could not execute query: ERROR:  role "odoo_prod" does not exist
Command was: ALTER TABLE public.res_partner OWNER TO odoo_prod;
pg_restore: warning: errors ignored on restore: 1
the restore stopped before the database was swapped in: staging is as it was; create the role or restore without owners`

// activityCatalog is a catalog whose every record has a fixed time and
// actor, so the activity screen's goldens hold on any machine: two
// services, backups (one running, one failed), a rotation, a passed drill,
// a failed restore and configuration changes, by three people.
func activityCatalog(t *testing.T) *store.Catalog {
	t.Helper()
	at := clock.Add(-72 * time.Hour)
	cat, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"),
		store.WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	must := fatalOn(t)
	alice := core.WithActor(context.Background(), core.Actor{User: "alice", SSHClient: "203.0.113.7"})
	daemon := core.WithActor(context.Background(), core.Actor{User: "odoo"})
	bob := core.WithActor(context.Background(), core.Actor{User: "bob", SSHClient: "198.51.100.23"})
	must(cat.AddDestination(alice, &core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/var/backups/odoo"}}))
	for _, s := range []string{"production", "staging"} {
		must(cat.AddService(alice, &core.Service{Name: s, DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Database: s + "_db"},
			FilestoreDir: "/var/lib/odoo/filestore/" + s + "_db"}, ""))
	}
	must(cat.SetConfiguration(alice, core.Configuration{Service: "production", Destination: "local", Frequency: core.Daily,
		Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}, Primary: true}))
	backup := func(svc string, kind core.BackupKind, status core.BackupStatus, ago time.Duration, msg string) core.Backup {
		t.Helper()
		at = clock.Add(-ago)
		finished := at.Add(41 * time.Second)
		b := core.Backup{Service: svc, Destination: "local", Kind: kind, StartedAt: at}
		must(cat.CreateBackup(context.Background(), &b))
		b.Status, b.Size, b.FinishedAt, b.Error = status, 1_100_000_000, &finished, msg
		must(cat.UpdateBackup(context.Background(), b))
		return b
	}
	backup("production", core.KindScheduled, core.StatusRotated, 50*time.Hour, "")
	daily := backup("production", core.KindScheduled, core.StatusSucceeded, 26*time.Hour, "")
	at = clock.Add(-26*time.Hour + time.Minute)
	must(cat.AddAudit(daemon, &core.AuditEntry{Action: core.ActionRotate, Service: "production", Target: "production on local",
		Detail: "backups 1"}))
	backup("staging", core.KindScheduled, core.StatusFailed, 8*time.Hour, "connect: connection refused")
	// A drill that passed, and its audit entry written as it ended.
	at = clock.Add(-5 * time.Hour)
	ended := at.Add(2 * time.Minute)
	must(cat.AddDrill(daemon, &core.Drill{Service: "production", BackupID: daily.ID, Destination: "local", Status: core.DrillOK,
		StartedAt: at, FinishedAt: &ended, Details: core.DrillDetails{FilestoreFiles: 120,
			Tables: map[string]int64{"res_partner": 42, "res_users": 3, "ir_attachment": 120, "ir_module_module": 80}}}))
	at = ended.Add(time.Second)
	must(cat.AddAudit(daemon, &core.AuditEntry{Action: core.ActionDrill, Service: "production", Target: "production",
		Detail: fmt.Sprintf("backup %d on local", daily.ID)}))
	manual := backup("production", core.KindManual, core.StatusSucceeded, 90*time.Minute, "")
	at = manual.FinishedAt.Add(time.Second)
	must(cat.AddAudit(alice, &core.AuditEntry{Action: core.ActionBackup, Service: "production", Target: "production",
		Detail: fmt.Sprintf("manual: backup %d on local", manual.ID)}))
	// bob restored production's manual backup onto staging; it failed.
	at = clock.Add(-time.Hour)
	must(cat.AddAudit(bob, &core.AuditEntry{Action: core.ActionRestore, Service: "staging",
		Target: fmt.Sprintf("backup %d of production on local", manual.ID), Detail: "onto service staging, safety backup 9",
		Outcome: core.AuditFailed, Error: restoreError}))
	// alice changed staging's configuration.
	at = clock.Add(-30 * time.Minute)
	must(cat.SetConfiguration(alice, core.Configuration{Service: "staging", Destination: "local", Frequency: core.Hourly,
		Retention: core.Retention{KeepLast: 24}}))
	// A backup running now in the daemon.
	at = clock.Add(-2 * time.Minute)
	running := core.Backup{Service: "production", Destination: "local", Kind: core.KindScheduled, StartedAt: at}
	must(cat.CreateBackup(context.Background(), &running))
	// Its last progress is now: it is moving, not stalled.
	at = clock
	must(cat.UpdateProgress(context.Background(), running.ID, core.BackupProgress{Phase: core.PhaseFilestore, Bytes: 48_000_000}))
	return cat
}

// TestActivityJobs: the jobs pane lists the running backup first, then
// every job newest first — backups, the failed restore, the drill, the
// rotation — each with who ran it; the failed restore's whole error shows
// when it is selected.
func TestActivityJobs(t *testing.T) {
	for _, size := range []struct{ w, h int }{{100, 30}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			tm := startSized(t, Options{Catalog: activityCatalog(t)}, size.w, size.h)
			waitFor(t, tm, "production")
			press(tm, "4")
			waitFor(t, tm, "1 running · 2 failed of the last 7 jobs")
			frame := snapshot(t, tm)
			for _, want := range []string{"drill", "rotate", "restore", "bob", "alice", "✓ passed", "◐ filestore 48.0 MB"} {
				if !strings.Contains(frame, want) {
					t.Errorf("the jobs pane should show %q:\n%s", want, frame)
				}
			}
			// Running first, then newest first.
			order := []string{"12:28 production", "11:30 staging", "11:00 production", "07:30 production", "04:30 staging", "2026-11-21 10:30"}
			last := -1
			for _, o := range order {
				i := strings.Index(frame, o)
				if i <= last {
					t.Errorf("%q should come after the row before it:\n%s", o, frame)
				}
				last = i
			}
			press(tm, "down")
			waitFor(t, tm, "restore without owners")
			frame = snapshot(t, tm)
			if !strings.Contains(frame, "by bob from 198.51.100.23") {
				t.Errorf("the selected restore should say who ran it and from where:\n%s", frame)
			}
			checkFits(t, frame, size.w, size.h)
			// The error is wrapped to the box: compare the words.
			words := strings.Join(strings.Fields(strings.ReplaceAll(frame, "│", " ")), " ")
			for _, line := range strings.Split(restoreError, "\n") {
				if !strings.Contains(words, strings.Join(strings.Fields(line), " ")) {
					t.Errorf("the restore's error line %q should show whole:\n%s", line, frame)
				}
			}
			golden.RequireEqual(t, []byte(frame))
		})
	}
}

// TestActivityAudit: the audit pane lists every entry newest first with
// who did it from where, and the selected entry's detail and error.
func TestActivityAudit(t *testing.T) {
	for _, size := range []struct{ w, h int }{{100, 30}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			tm := startSized(t, Options{Catalog: activityCatalog(t)}, size.w, size.h)
			waitFor(t, tm, "production")
			press(tm, "4")
			waitFor(t, tm, "of the last 7 jobs")
			press(tm, "tab")
			waitFor(t, tm, "[Audit]", "9 entries")
			frame := snapshot(t, tm)
			wants := []string{"config set", "service add", "alice", "odoo", "✗ failed", "by alice from"}
			if size.w >= 100 {
				wants = append(wants, "destination add", "bob from 198.51.100.23 restore")
			}
			for _, want := range wants {
				if !strings.Contains(frame, want) {
					t.Errorf("the audit pane should show %q:\n%s", want, frame)
				}
			}
			press(tm, "down")
			waitFor(t, tm, "onto service staging, safety backup 9", "restore without owners")
			frame = snapshot(t, tm)
			checkFits(t, frame, size.w, size.h)
			golden.RequireEqual(t, []byte(frame))
		})
	}
}

// TestActivityFilter: / narrows both panes to one service; the catalog is
// asked for that service only.
func TestActivityFilter(t *testing.T) {
	tm := startSized(t, Options{Catalog: activityCatalog(t)}, 100, 30)
	waitFor(t, tm, "production")
	press(tm, "4")
	waitFor(t, tm, "of the last 7 jobs")
	press(tm, "/", "stag")
	waitFor(t, tm, "filter /stag")
	press(tm, "enter")
	waitFor(t, tm, "filter: stag")
	frame := snapshot(t, tm)
	if strings.Contains(frame, "12:28 production") || strings.Contains(frame, "11:00 production") || !strings.Contains(frame, "04:30 staging") {
		t.Errorf("the filter should leave staging's jobs only:\n%s", frame)
	}
	t.Run("jobs", func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })
	press(tm, "tab")
	waitFor(t, tm, "[Audit]")
	frame = snapshot(t, tm)
	if strings.Contains(frame, "destination add") || !strings.Contains(frame, "config set") {
		t.Errorf("the filter should leave staging's audit entries only:\n%s", frame)
	}
	t.Run("audit", func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })
	press(tm, "/", "esc", "/", "nothing-like-this", "enter")
	waitFor(t, tm, "nothing recorded for a service matching nothing-like-this")
	press(tm, "/", "esc")
	waitFor(t, tm, "destination add")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}

// TestActivityAuditPaging: a long trail loads a page at a time as the
// cursor reaches the end, down to the first entry.
func TestActivityAuditPaging(t *testing.T) {
	cat := activityCatalog(t)
	ctx := core.WithActor(context.Background(), core.Actor{User: "carol"})
	for i := range 250 {
		if err := cat.AddAudit(ctx, &core.AuditEntry{At: clock.Add(-29*time.Minute + time.Duration(i)*5*time.Second), Action: core.ActionDownload,
			Service: "production", Target: fmt.Sprintf("backup %d of production on local", 1000+i), Detail: "to /tmp/x.zip"}); err != nil {
			t.Fatal(err)
		}
	}
	tm := startSized(t, Options{Catalog: cat, PageSize: 100}, 80, 24)
	waitFor(t, tm, "production")
	press(tm, "4", "tab")
	waitFor(t, tm, "[Audit]", "100+ entries")
	checkFits(t, snapshot(t, tm), 80, 24)
	press(tm, "G")
	waitFor(t, tm, "200+ entries")
	press(tm, "G")
	waitFor(t, tm, "259 entries")
	press(tm, "G")
	waitFor(t, tm, "destination add")
	frame := snapshot(t, tm)
	checkFits(t, frame, 80, 24)
	if !strings.Contains(frame, "▸ 2026-11-19 12:30 alice") || !strings.Contains(frame, "#1 destination add") {
		t.Errorf("the cursor should be on the first entry of the trail:\n%s", frame)
	}
	golden.RequireEqual(t, []byte(frame))
	// Under a filter the pages are asked for that service only, and a
	// refresh keeps the pages loaded.
	press(tm, "/", "production", "enter")
	waitFor(t, tm, "filter: production", "100+ entries")
	press(tm, "G")
	waitFor(t, tm, "200+ entries")
	press(tm, "G")
	waitFor(t, tm, "255 entries")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}

// TestRealActivityShowsRestores runs restores through the real engine on a
// real service — one that works and one the engine refuses — and the
// activity screen shows both, by the operating-system user who ran them,
// the refusal with its whole error.
func TestRealActivityShowsRestores(t *testing.T) {
	e := newRealEnv(t)
	newDB := e.prod.Name + "_copy"
	if _, err := e.eng.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: e.prodBackup.ID, NewDB: newDB,
		FilestoreDir: filepath.Join(e.dir, "copy-filestore")}); err != nil {
		t.Fatal(err)
	}
	// Restoring over an existing database is refused.
	_, refused := e.eng.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: e.prodBackup.ID, NewDB: e.stg.Name,
		FilestoreDir: filepath.Join(e.dir, "copy2-filestore")})
	if refused == nil {
		t.Fatal("restoring over the existing staging database should be refused")
	}
	user := core.CurrentActor().User
	tm := e.start()
	waitFor(t, tm, "production")
	press(tm, "4")
	waitFor(t, tm, "of the last 3 jobs")
	frame := snapshot(t, tm)
	for _, want := range []string{"restore", user, "✓ succeeded", "✗ failed"} {
		if !strings.Contains(frame, want) {
			t.Errorf("the jobs pane should show %q:\n%s", want, frame)
		}
	}
	// The newest first: the refused restore, selected, with its error.
	words := strings.Join(strings.Fields(strings.ReplaceAll(frame, "│", " ")), " ")
	if !strings.Contains(words, strings.Join(strings.Fields(refused.Error()), " ")) {
		t.Errorf("the refused restore's error %q should show whole:\n%s", refused, frame)
	}
	press(tm, "down")
	waitFor(t, tm, "into new database "+newDB)
	press(tm, "tab")
	waitFor(t, tm, "[Audit]")
	frame = snapshot(t, tm)
	if !strings.Contains(frame, "by "+core.CurrentActor().String()) {
		t.Errorf("the audit pane should say the restore was by %s:\n%s", core.CurrentActor(), frame)
	}
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}
