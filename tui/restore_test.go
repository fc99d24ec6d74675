package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
)

// The console's other engine calls, for tests that only back up.
var errNotFaked = errors.New("not faked in this test")

func (f *fakeEngine) RestoreToService(context.Context, core.ServiceRestoreRequest) (core.RestoreResult, error) {
	return core.RestoreResult{}, errNotFaked
}
func (f *fakeEngine) RestoreNewDB(context.Context, core.RestoreRequest) (core.RestoreResult, error) {
	return core.RestoreResult{}, errNotFaked
}
func (f *fakeEngine) Verify(context.Context, core.VerifyRequest) (core.VerifyResult, error) {
	return core.VerifyResult{}, errNotFaked
}
func (f *fakeEngine) DeleteBackup(context.Context, core.DeleteRequest) (core.Backup, error) {
	return core.Backup{}, errNotFaked
}
func (f *fakeEngine) InspectUpload(context.Context, string) (core.UploadInfo, error) {
	return core.UploadInfo{}, errNotFaked
}
func (f *fakeEngine) Upload(context.Context, core.UploadRequest) (core.Backup, core.UploadInfo, error) {
	return core.Backup{}, core.UploadInfo{}, errNotFaked
}
func (f *fakeEngine) Download(context.Context, core.DownloadRequest) (core.Backup, error) {
	return core.Backup{}, errNotFaked
}
func (f *fakeEngine) TestHook(context.Context, string, core.HookEvent) (core.HookRun, error) {
	return core.HookRun{}, errNotFaked
}

// flowEngine fakes restores, verifies and uploads: it records each request,
// reports phases as the engine does, and holds in the middle until released
// so a test can see the live phases.
type flowEngine struct {
	*fakeEngine
	release  chan struct{}
	mu       sync.Mutex
	restores []core.ServiceRestoreRequest
	newDBs   []core.RestoreRequest
	verified []int64
	uploads  []core.UploadRequest
}

func newFlowEngine(cat core.Catalog) *flowEngine {
	return &flowEngine{fakeEngine: &fakeEngine{cat: cat}, release: make(chan struct{})}
}

func (f *flowEngine) hold(ctx context.Context) error {
	select {
	case <-f.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *flowEngine) RestoreToService(ctx context.Context, req core.ServiceRestoreRequest) (core.RestoreResult, error) {
	f.mu.Lock()
	f.restores = append(f.restores, req)
	f.mu.Unlock()
	req.Progress(core.Progress{BackupID: 77, Phase: core.PhaseSafety, Bytes: 4_000_000})
	req.Progress(core.Progress{Phase: core.PhaseVerify, Bytes: 1_200_000_000, Total: 1_200_000_000})
	req.Progress(core.Progress{Phase: core.PhaseRestoreDB, Bytes: 600_000_000, Total: 1_200_000_000})
	if err := f.hold(ctx); err != nil {
		return core.RestoreResult{SafetyBackupID: 77}, err
	}
	req.Progress(core.Progress{Phase: core.PhaseSwap, Bytes: 1_200_000_000, Total: 1_200_000_000})
	return core.RestoreResult{Database: req.Service + "_db", FilestoreDir: "/var/lib/odoo/filestore/" + req.Service + "_db",
		FilestoreFiles: 8, SafetyBackupID: 77, Neutralized: []string{"2 mail servers off", "5 crons off"}}, nil
}

func (f *flowEngine) RestoreNewDB(ctx context.Context, req core.RestoreRequest) (core.RestoreResult, error) {
	f.mu.Lock()
	f.newDBs = append(f.newDBs, req)
	f.mu.Unlock()
	req.Progress(core.Progress{Phase: core.PhaseVerify, Bytes: 1_200_000_000, Total: 1_200_000_000})
	return core.RestoreResult{Database: req.NewDB, FilestoreDir: "/var/lib/odoo/filestore/" + req.NewDB, FilestoreFiles: 8}, nil
}

func (f *flowEngine) Verify(ctx context.Context, req core.VerifyRequest) (core.VerifyResult, error) {
	id, progress := req.BackupID, req.Progress
	f.mu.Lock()
	f.verified = append(f.verified, id)
	f.mu.Unlock()
	progress(core.Progress{Phase: core.PhaseVerify, Bytes: 300_000_000, Total: 1_200_000_000})
	if err := f.hold(ctx); err != nil {
		return core.VerifyResult{}, err
	}
	return core.VerifyResult{DumpBytes: 90_000_000, FilestoreFiles: 8}, nil
}

func (f *flowEngine) InspectUpload(ctx context.Context, path string) (core.UploadInfo, error) {
	if !strings.HasSuffix(path, ".zip") {
		return core.UploadInfo{Path: path}, core.Userf(core.ErrInvalid, "%s is not a backup: it is neither an Odoo backup zip, a plain or gzip-compressed pg_dump, nor a pg_dump custom-format file", path)
	}
	return core.UploadInfo{Path: path, Format: core.FormatOdooZip, Size: 52_000_000, Database: "acme", OdooVersion: "17.0",
		Modules: 112, WithFilestore: true, FilestoreFiles: 340, FilestoreBytes: 40_000_000}, nil
}

func (f *flowEngine) Upload(ctx context.Context, req core.UploadRequest) (core.Backup, core.UploadInfo, error) {
	f.mu.Lock()
	f.uploads = append(f.uploads, req)
	f.mu.Unlock()
	req.Progress(core.Progress{Phase: core.PhaseUpload, Bytes: 26_000_000, Total: 52_000_000})
	if err := f.hold(ctx); err != nil {
		return core.Backup{}, core.UploadInfo{}, err
	}
	done := clock.Add(9 * time.Second)
	b := core.Backup{Service: req.Service, Destination: "s3-eu", Kind: core.KindUpload, Status: core.StatusSucceeded, StartedAt: clock,
		FinishedAt: &done, Size: 52_000_000, Key: "production/upload-20261122-123000.zip", SHA256: strings.Repeat("ab", 32), Format: core.FormatOdooZip}
	if err := f.cat.CreateBackup(ctx, &b); err != nil {
		return b, core.UploadInfo{}, err
	}
	return b, core.UploadInfo{}, nil
}

// start80 starts the console in the smallest terminal it supports.
func start80(t *testing.T, o Options) *teatest.TestModel {
	t.Helper()
	o.Now, o.NoColor = fixedNow, true
	o = withStorage(o)
	if o.RefreshEvery == 0 {
		o.RefreshEvery = time.Hour
	}
	return teatest.NewTestModel(t, snapModel{New(o)}, teatest.WithInitialTermSize(80, 24))
}

// openHistory opens production and puts the cursor on its newest backup.
func openHistory(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	view(t, tm, "production")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › production", "1.2 GB")
	press(tm, "tab")
	view(t, tm, "[History 3]")
}

// snap compares the current frame, once it shows want, with a golden file
// named after the subtest.
func snap(t *testing.T, tm *teatest.TestModel, name string, want ...string) {
	t.Helper()
	frame := view(t, tm, want...)
	t.Run(name, func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })
}

// newestProduction is the newest backup of the seed's production service,
// for a test to give it more to say.
func newestProduction(t *testing.T, cat Catalog) core.Backup {
	t.Helper()
	bs, err := cat.Backups(context.Background(), core.BackupFilter{Service: "production", Limit: 1})
	if err != nil || len(bs) == 0 {
		t.Fatalf("the seed's newest backup of production: %v (%d found)", err, len(bs))
	}
	return bs[0]
}

func clearField(tm *teatest.TestModel) { tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU}) }

func TestBackupDetails(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	// The newest backup carries everything a backup can say.
	b := newestProduction(t, cat)
	b.SHA256, b.Key, b.Database, b.Format = strings.Repeat("9f2c", 16), "production/2026/11/22/production-20261122-120000-scheduled.zip", "production_db", core.FormatOdooZip
	b.OdooVersion, b.PGVersion = "17.0", "16.4"
	if err := cat.UpdateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	tm := start80(t, Options{Catalog: cat, Engine: newFlowEngine(cat)})
	openHistory(t, tm)
	press(tm, "enter")
	snap(t, tm, "details", "Backup 3", "9f2c9f2c", "PostgreSQL 16.4", "scheduled.zip")
	press(tm, "esc")
	view(t, tm, "[History 3]")

	// A failure shows its whole error.
	press(tm, "1")
	view(t, tm, "staging")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › staging", "✗ failed")
	press(tm, "tab")
	view(t, tm, "[History 1]")
	press(tm, "enter")
	snap(t, tm, "failed", "Backup 4", "connect: connection refused")
	press(tm, "r")
	view(t, tm, "backup 4 failed and has no archive")
	quit(t, tm)
}

func TestRestoreFlowOntoAnotherService(t *testing.T) {
	cat := seed(t)
	eng := newFlowEngine(cat)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	openHistory(t, tm)
	press(tm, "r")
	snap(t, tm, "target", "Restore onto", "(•) this service: production", "safety backup to local")
	press(tm, "down", "down")
	view(t, tm, "(•) staging")
	press(tm, "enter")
	// Another service than the backup's own: neutralize comes preselected,
	// as core's rule says.
	if r := core.DefaultNeutralize(core.Backup{ID: 3, Service: "production", Kind: core.KindScheduled}, core.RestoreOnto{Service: "staging"}); !r.Neutralize || r.MustChoose {
		t.Fatalf("core's rule for production onto staging: %+v", r)
	}
	snap(t, tm, "options", "▸ [x] neutralize", "onto     staging (database staging_db", "the default: backup 3 is of production, not of staging")
	press(tm, "enter")
	snap(t, tm, "summary", `This replaces ALL data of staging: database "staging_db"`, `a safety backup of staging goes first to its primary, "local"`)
	press(tm, "enter")
	view(t, tm, "Type staging to confirm")
	press(tm, "enter")
	view(t, tm, "type staging to confirm, or esc to go back")
	press(tm, "stagin", "enter")
	snap(t, tm, "wrong-name", `"stagin" is not "staging"`)
	eng.mu.Lock()
	if len(eng.restores) != 0 {
		t.Fatalf("the engine was asked to restore before the name was typed: %+v", eng.restores)
	}
	eng.mu.Unlock()
	press(tm, "g", "enter")
	snap(t, tm, "running", "✓ safety backup", "✓ verify", "restore database  ▓▓▓▓▓▓▓▓░░░░░░░░ 50%", "· restore filestore", "· swap")
	close(eng.release)
	snap(t, tm, "outcome", "✓ Backup 3 restored onto staging", "restore safety backup 77 onto staging", "Neutralized: 2 mail servers off")
	press(tm, "enter")
	view(t, tm, "[History 3]")
	quit(t, tm)
	if len(eng.restores) != 1 || eng.restores[0].BackupID != 3 || eng.restores[0].Service != "staging" || !eng.restores[0].Neutralize {
		t.Errorf("engine got %+v, want one restore of backup 3 onto staging, neutralized", eng.restores)
	}
}

func TestRestoreFlowOwnServiceAndNewDatabase(t *testing.T) {
	cat := seed(t)
	eng := newFlowEngine(cat)
	close(eng.release)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	openHistory(t, tm)

	// Its own service: not neutralized unless asked.
	press(tm, "r")
	view(t, tm, "Restore onto")
	press(tm, "enter")
	view(t, tm, "▸ [ ] neutralize", "onto     production", "the default: backup 3 is production's own")
	press(tm, "esc")
	view(t, tm, "step 1 of 5")
	press(tm, "esc")
	view(t, tm, "[History 3]")

	// A service without a primary is refused at the target step.
	press(tm, "r")
	view(t, tm, "Restore onto")
	press(tm, "down", "enter")
	view(t, tm, `service "demo" has no primary destination`)
	press(tm, "esc")

	// A new database: its name is typed, the filestore shown.
	view(t, tm, "[History 3]")
	press(tm, "r")
	view(t, tm, "Restore onto")
	press(tm, "down", "down", "down", "bad name!", "enter")
	view(t, tm, `database name "bad name!" is not allowed`)
	clearField(tm)
	press(tm, "prod_copy")
	snap(t, tm, "new-database", "(•) a new database: [prod_copy▏", "filestore /var/lib/odoo/filestore/prod_copy")
	press(tm, "enter")
	view(t, tm, "▸ [x] neutralize", "the default: a new database runs beside production's")
	press(tm, "enter")
	snap(t, tm, "new-database-summary", `This creates database "prod_copy"`, "no safety backup is taken")
	press(tm, "enter", "prod_copy", "enter")
	view(t, tm, "✓ Backup 3 restored into new database prod_copy")
	quit(t, tm)
	if len(eng.restores) != 0 || len(eng.newDBs) != 1 || eng.newDBs[0].NewDB != "prod_copy" || !eng.newDBs[0].Neutralize || eng.newDBs[0].BackupID != 3 {
		t.Errorf("engine got restores %+v and new databases %+v, want one neutralized new database prod_copy", eng.restores, eng.newDBs)
	}
}

// esc goes back a step at a time and closes the flow from the first; nothing
// is asked of the engine.
func TestRestoreCancelAtEveryStep(t *testing.T) {
	cat := seed(t)
	eng := newFlowEngine(cat)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	openHistory(t, tm)
	for steps := 0; steps < 4; steps++ {
		press(tm, "r")
		view(t, tm, "Restore onto")
		press(tm, "down", "down")
		for range steps {
			press(tm, "enter")
		}
		if steps == 3 {
			press(tm, "staging")
		}
		view(t, tm, fmt.Sprintf("step %d of 5", steps+1))
		for back := steps; back > 0; back-- {
			press(tm, "esc")
			view(t, tm, fmt.Sprintf("step %d of 5", back))
		}
		press(tm, "esc")
		view(t, tm, "[History 3]")
		if frame := snapshot(t, tm); strings.Contains(frame, "Restore backup") {
			t.Fatalf("after esc at step %d the restore dialog is still open:\n%s", steps+1, frame)
		}
	}
	quit(t, tm)
	if len(eng.restores)+len(eng.newDBs) != 0 {
		t.Errorf("the engine restored after a cancel: %+v %+v", eng.restores, eng.newDBs)
	}
}

func TestReadOnlyHistory(t *testing.T) {
	cat := seed(t)
	eng := newFlowEngine(cat)
	tm := start80(t, Options{Catalog: cat, Engine: eng, ReadOnly: true})
	openHistory(t, tm)
	view(t, tm, "r x b u off (--read-only)")
	press(tm, "r")
	view(t, tm, "read-only: restoring is off")
	press(tm, "x")
	view(t, tm, "read-only: deleting is off")
	press(tm, "u")
	view(t, tm, "read-only: upload & restore is off")
	press(tm, "enter", "x")
	view(t, tm, "Backup 3", "read-only: deleting is off")
	// Verifying changes nothing: allowed.
	press(tm, "v")
	snap(t, tm, "verify", "verify  ▓▓▓▓░░░░░░░░░░░░ 25%")
	close(eng.release)
	view(t, tm, "✓ backup 3 is sound")
	quit(t, tm)
	if len(eng.verified) != 1 || eng.verified[0] != 3 {
		t.Errorf("verified %v, want backup 3", eng.verified)
	}
}

// Deleting against the real engine over a local destination: the last good
// backup of a service is refused as the engine says, then deleted only
// after the explicit force key and a second yes.
func TestDeleteLastGoodBackup(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	dir := t.TempDir()
	dest := core.Destination{Name: "demo-disk", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: dir}}
	if err := cat.AddDestination(ctx, &dest); err != nil {
		t.Fatal(err)
	}
	if err := cat.SetConfiguration(ctx, core.Configuration{Service: "demo", Destination: dest.Name, Primary: true}); err != nil {
		t.Fatal(err)
	}
	key := "demo/demo-20261122-120000-manual.zip"
	if err := os.MkdirAll(filepath.Join(dir, "demo"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, key), []byte("archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	fin := clock.Add(-time.Hour)
	b := core.Backup{Service: "demo", Destination: dest.Name, Kind: core.KindManual, Status: core.StatusRunning, StartedAt: fin.Add(-time.Minute), Key: key}
	if err := cat.CreateBackup(ctx, &b); err != nil {
		t.Fatal(err)
	}
	b.Status, b.Size, b.FinishedAt = core.StatusSucceeded, 7, &fin
	if err := cat.UpdateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	eng := &core.Engine{Catalog: cat, OpenStore: s3.Open}
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	view(t, tm, "demo")
	press(tm, "enter")
	view(t, tm, "odoo-backup › demo", "✓ succeeded")
	press(tm, "tab")
	view(t, tm, "[History 1]")
	press(tm, "x")
	snap(t, tm, "ask", fmt.Sprintf("Delete backup %d? Its archive is removed from demo-disk", b.ID))
	press(tm, "n")
	view(t, tm, "r restore")
	press(tm, "x", "y")
	snap(t, tm, "refused", "is the last successful backup of service \"demo\"", "F delete it anyway")
	press(tm, "F")
	view(t, tm, "It is the last good backup of demo: nothing will")
	press(tm, "y")
	view(t, tm, "✓ backup 5 of demo deleted from demo-disk", "– deleted")
	quit(t, tm)
	got, err := cat.Backup(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.StatusDeleted {
		t.Errorf("backup status %s, want deleted", got.Status)
	}
	if _, err := os.Stat(filepath.Join(dir, key)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the archive is still there (%v)", err)
	}
}

func TestUploadFlow(t *testing.T) {
	cat := seed(t)
	eng := newFlowEngine(cat)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	openHistory(t, tm)
	press(tm, "u")
	view(t, tm, "Upload & restore onto production")
	press(tm, "/tmp/notes.txt", "enter")
	snap(t, tm, "refused", "/tmp/notes.txt is not a backup")
	clearField(tm)
	press(tm, "/tmp/acme.zip", "enter")
	snap(t, tm, "found", "Found: Odoo backup zip, 52.0 MB", "database:     acme", "filestore:    340 files", "It goes to s3-eu, the primary destination of production")
	press(tm, "enter")
	snap(t, tm, "uploading", "upload  ▓▓▓▓▓▓▓▓░░░░░░░░ 50%")
	close(eng.release)
	snap(t, tm, "uploaded", "✓ Uploaded as backup 5 to s3-eu", "Restore it onto production now?", "found    Odoo backup zip · 52.0 MB · database acme · Odoo 17.0")
	press(tm, "enter")
	view(t, tm, "Restore backup 5", "(•) this service: production")
	press(tm, "enter")
	// Nobody knows where an uploaded file came from: nothing is
	// preselected, and the flow does not go on until the person chooses.
	if r := core.DefaultNeutralize(core.Backup{ID: 5, Kind: core.KindUpload}, core.RestoreOnto{Service: "production"}); !r.MustChoose {
		t.Fatalf("core's rule gives an upload a default: %+v", r)
	}
	snap(t, tm, "choose", "▸ [?] neutralize", "backup 5 was uploaded from a file whose origin is unknown: choose with space")
	press(tm, "enter")
	view(t, tm, "choose first: space ticks neutralize if this is another service's data")
	view(t, tm, "step 2 of 5")
	press(tm, " ")
	view(t, tm, "▸ [x] neutralize")
	press(tm, " ")
	view(t, tm, "▸ [ ] neutralize")
	press(tm, "enter")
	view(t, tm, "Not neutralized")
	press(tm, "enter", "production", "enter")
	view(t, tm, "✓ Backup 5 restored onto production")
	quit(t, tm)
	if len(eng.uploads) != 1 || eng.uploads[0].Path != "/tmp/acme.zip" || eng.uploads[0].Service != "production" {
		t.Errorf("uploads %+v, want /tmp/acme.zip to production", eng.uploads)
	}
	if len(eng.restores) != 1 || eng.restores[0].BackupID != 5 || eng.restores[0].Service != "production" || eng.restores[0].Neutralize {
		t.Errorf("restores %+v, want backup 5 onto production, not neutralized", eng.restores)
	}
}

// From the home screen, r restores the selected service's newest succeeded
// backup and u uploads onto it; a service without one says what to do.
func TestRestoreAndUploadFromHome(t *testing.T) {
	cat := seed(t)
	eng := newFlowEngine(cat)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	view(t, tm, "production", "staging")
	// demo (the first row) has none.
	press(tm, "r")
	view(t, tm, "demo has no succeeded backup to restore; press b to back it up")
	// production's newest succeeded backup is backup 3, on s3-eu.
	press(tm, "down", "r")
	view(t, tm, "Restore backup 3", "step 1 of 5")
	press(tm, "esc")
	view(t, tm, "r restore")
	press(tm, "u")
	view(t, tm, "Upload & restore onto production")
	press(tm, "esc")
	quit(t, tm)
	if len(eng.restores)+len(eng.newDBs) != 0 {
		t.Errorf("the engine restored: %+v %+v", eng.restores, eng.newDBs)
	}
}

// With no other service to restore onto, the target step says which key
// adds one, not a command to type elsewhere.
func TestRestoreTargetNamesTheAddKey(t *testing.T) {
	cat := seed(t)
	for _, name := range []string{"staging", "demo"} {
		if err := cat.RemoveService(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	tm := start80(t, Options{Catalog: cat, Engine: newFlowEngine(cat)})
	openHistory(t, tm)
	press(tm, "r")
	frame := view(t, tm, "another service:", "none: a on the services screen (1) adds one")
	if strings.Contains(frame, "odoo-backup service add") {
		t.Errorf("the console names a command instead of its key:\n%s", frame)
	}
	quit(t, tm)
}
