package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// realEnv is two Odoo services on the test PostgreSQL, production backed
// up to MinIO and staging to a local directory, driven through the real
// engine.
type realEnv struct {
	t          *testing.T
	ctx        context.Context
	dir        string
	cat        *store.Catalog
	eng        *core.Engine
	prod, stg  *testbed.OdooDB
	prodBackup core.Backup
}

var realDBs int

func newRealEnv(t *testing.T) *realEnv {
	t.Helper()
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	ctx := context.Background()
	dir := t.TempDir()
	cat, err := store.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	e := &realEnv{t: t, ctx: ctx, dir: dir, cat: cat, eng: &core.Engine{Catalog: cat, OpenStore: s3.Open}}
	realDBs++
	base := fmt.Sprintf("tui_%d_%d", os.Getpid(), realDBs)
	if e.prod, err = testbed.GenerateOdoo(ctx, pg, base+"_prod", filepath.Join(dir, "prod"), testbed.OdooOptions{Seed: 41}); err != nil {
		t.Fatal(err)
	}
	if e.stg, err = testbed.GenerateOdoo(ctx, pg, base+"_stg", filepath.Join(dir, "stg"), testbed.OdooOptions{Seed: 42}); err != nil {
		t.Fatal(err)
	}
	s3dest := core.Destination{
		Name: "minio",
		Kind: core.DestinationS3,
		S3:   core.S3Settings{Endpoint: minio.Endpoint, Bucket: minio.NewBucket(t), Prefix: "odoo", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true},
	}
	local := core.Destination{Name: "stg-disk", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(dir, "stg-backups")}}
	if err := os.MkdirAll(local.Local.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*core.Destination{&s3dest, &local} {
		if err := cat.AddDestination(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []struct {
		svc  core.Service
		dest string
	}{{e.prod.Service("production"), s3dest.Name}, {e.stg.Service("staging"), local.Name}} {
		if err := cat.AddService(ctx, &s.svc, ""); err != nil {
			t.Fatal(err)
		}
		if err := cat.SetConfiguration(ctx, core.Configuration{Service: s.svc.Name, Destination: s.dest, Frequency: core.Daily, Primary: true}); err != nil {
			t.Fatal(err)
		}
	}
	bs, err := e.eng.Backup(ctx, core.BackupRequest{Service: "production", Destinations: []string{s3dest.Name}, Kind: core.KindManual})
	if err != nil {
		t.Fatal(err)
	}
	e.prodBackup = bs[0]
	return e
}

func (e *realEnv) print(o *testbed.OdooDB) testbed.Print {
	e.t.Helper()
	pg := servers.Postgres(e.t)
	p, err := testbed.Fingerprint(e.ctx, pg.Conn(o.Name), o.FilestoreDir)
	if err != nil {
		e.t.Fatal(err)
	}
	// Odoo's garbage-collection markers are not part of a backup.
	return p.WithoutChecklist()
}

func (e *realEnv) start() *teatest.TestModel {
	// The real clock: the engine stamps backups with it and the screens
	// show them relative to it.
	tm := teatest.NewTestModel(e.t, snapModel{New(Options{Catalog: e.cat, Engine: e.eng, NoColor: true, RefreshEvery: time.Hour})},
		teatest.WithInitialTermSize(100, 30))
	return tm
}

// slowView waits for a real restore or upload, which takes seconds, and
// stops at once when the job failed.
func slowView(t *testing.T, tm *teatest.TestModel, want ...string) string {
	t.Helper()
	return awaitFrame(t, tm, 2*time.Minute, []string{"✗ restore failed", "failed:"}, want...)
}

// toStagingOptions drives the console from the start to the options of
// restoring production's backup onto staging.
func (e *realEnv) toStagingOptions(tm *teatest.TestModel) {
	t := e.t
	t.Helper()
	view(t, tm, "production", "staging")
	press(tm, "enter")
	view(t, tm, "odoo-backup › production", "✓ succeeded")
	press(tm, "tab")
	view(t, tm, "[History 1]")
	press(tm, "r")
	view(t, tm, "Restore onto", "safety backup to stg-disk")
	press(tm, "down", "enter")
	view(t, tm, "▸ [x] neutralize", "restore ‹ whole backup ›")
}

// toStagingConfirm drives the console from the start to the confirmation
// of restoring production's backup onto staging.
func (e *realEnv) toStagingConfirm(tm *teatest.TestModel) {
	t := e.t
	t.Helper()
	e.toStagingOptions(tm)
	press(tm, "enter")
	view(t, tm, `a safety backup of staging goes first to its primary, "stg-disk"`, "This replaces ALL data of staging: database \""+e.stg.Name+"\"")
	press(tm, "enter")
	view(t, tm, "Type staging to confirm")
}

// backupToLocal adds a local destination named name under the test's
// directory (encrypting to recipient when one is given), configures
// production on it, manual only, and takes one backup of production there.
func (e *realEnv) backupToLocal(name, recipient string) (core.Destination, core.Backup) {
	e.t.Helper()
	d := core.Destination{Name: name, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(e.dir, name)}, Encrypt: core.EncryptionSettings{Recipient: recipient}}
	if err := os.MkdirAll(d.Local.Dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	if err := e.cat.AddDestination(e.ctx, &d); err != nil {
		e.t.Fatal(err)
	}
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "production", Destination: d.Name, Frequency: core.Manual}); err != nil {
		e.t.Fatal(err)
	}
	bs, err := e.eng.Backup(e.ctx, core.BackupRequest{Service: "production", Destinations: []string{d.Name}, Kind: core.KindManual})
	if err != nil {
		e.t.Fatal(err)
	}
	return d, bs[0]
}

func (e *realEnv) stagingBackups(kind core.BackupKind) []core.Backup {
	e.t.Helper()
	bs, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "staging", Kind: kind})
	if err != nil {
		e.t.Fatal(err)
	}
	return bs
}

func TestRealRestoreCancelledAtConfirmation(t *testing.T) {
	pg := servers.Postgres(t)
	e := newRealEnv(t)
	full := func() testbed.Print {
		p, err := testbed.Fingerprint(e.ctx, pg.Conn(e.stg.Name), e.stg.FilestoreDir)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := full()
	tm := e.start()
	e.toStagingConfirm(tm)
	press(tm, "stag", "enter")
	view(t, tm, `"stag" is not "staging": type it exactly`)
	press(tm, "esc", "esc", "esc", "esc")
	view(t, tm, "[History 1]")
	quit(t, tm)
	if diff := before.Diff(full()); len(diff) > 0 {
		t.Errorf("staging changed after a cancelled restore:\n%s", strings.Join(diff, "\n"))
	}
	if bs := e.stagingBackups(""); len(bs) != 0 {
		t.Errorf("staging has backups after a cancelled restore (a safety backup was taken?): %+v", bs)
	}
}

// neutralizedTables are what neutralization changes; everything else of a
// neutralized copy is the source's.
var neutralizedTables = []string{"ir_mail_server", "fetchmail_server", "ir_cron", "payment_provider", "ir_config_parameter"}

func withoutNeutralized(p testbed.Print) testbed.Print {
	q := p
	q.Tables = map[string]testbed.TablePrint{}
	for k, v := range p.Tables {
		q.Tables[k] = v
	}
	q.Sequences = map[string]int64{}
	for k, v := range p.Sequences {
		q.Sequences[k] = v
	}
	for _, table := range neutralizedTables {
		delete(q.Tables, table)
		delete(q.Sequences, table+"_id_seq")
	}
	return q
}

func TestRealRestoreOntoStagingNeutralized(t *testing.T) {
	pg := servers.Postgres(t)
	e := newRealEnv(t)
	source := e.print(e.prod)
	stagingBefore := e.print(e.stg)
	if len(source.Diff(stagingBefore)) == 0 {
		t.Fatal("production and staging hold the same data; the test could not tell them apart")
	}
	tm := e.start()
	e.toStagingConfirm(tm)
	press(tm, "staging", "enter")
	frame := slowView(t, tm, fmt.Sprintf("✓ Backup %d restored onto staging", e.prodBackup.ID), "✓ safety backup", "✓ swap", "Neutralized:")

	if diff := withoutNeutralized(source).Diff(withoutNeutralized(e.print(e.stg))); len(diff) > 0 {
		t.Errorf("staging differs from production beyond neutralization:\n%s", strings.Join(diff, "\n"))
	}
	// Staging's role and system user still use every table and file.
	if err := e.stg.CheckAsOwner(e.ctx, pg, e.stg.Name, e.stg.FilestoreDir); err != nil {
		t.Errorf("after the restore from the console: %v", err)
	}
	if v, err := pg.QueryString(e.ctx, e.stg.Name, "SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'"); err != nil || v != "true" {
		t.Errorf("database.is_neutralized of staging is %q (%v), want true", v, err)
	}
	safety := e.stagingBackups(core.KindSafety)
	if len(safety) != 1 || safety[0].Status != core.StatusSucceeded || safety[0].Destination != "stg-disk" {
		t.Fatalf("safety backups of staging: %+v, want one succeeded on stg-disk", safety)
	}
	if want := fmt.Sprintf("restore safety backup %d onto staging", safety[0].ID); !strings.Contains(frame, want) || strings.Contains(frame, "odoo-backup restore") {
		t.Errorf("the outcome does not say, in the console's words, how to put the old data back (%s):\n%s", want, frame)
	}
	// The safety backup shows in staging's history.
	press(tm, "enter", "1")
	view(t, tm, "Services")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › staging", "safety", "stg-disk")
	quit(t, tm)
	if diff := source.Diff(e.print(e.prod)); len(diff) > 0 {
		t.Errorf("production changed:\n%s", strings.Join(diff, "\n"))
	}
}

func TestRealUploadAndRestore(t *testing.T) {
	pg := servers.Postgres(t)
	e := newRealEnv(t)
	source := e.print(e.prod)
	// An Odoo backup file from elsewhere: production's archive, copied out
	// of a local destination.
	disk, b := e.backupToLocal("prod-disk", "")
	data, err := os.ReadFile(filepath.Join(disk.Local.Dir, filepath.FromSlash(b.Key)))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "from-elsewhere", "acme.zip")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}

	tm := e.start()
	view(t, tm, "production", "staging")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › staging")
	press(tm, "u")
	view(t, tm, "Upload & restore onto staging")
	press(tm, file+".nope", "enter")
	view(t, tm, "cannot open "+file+".nope")
	clearField(tm)
	press(tm, file, "enter")
	slowView(t, tm, "Found: Odoo backup zip", "database:     "+e.prod.Name, "Odoo version: 17.0", "It goes to stg-disk")
	press(tm, "enter")
	slowView(t, tm, "✓ Uploaded as backup", "Restore it onto staging now?")
	uploads := e.stagingBackups(core.KindUpload)
	if len(uploads) != 1 || uploads[0].Status != core.StatusSucceeded || uploads[0].Destination != "stg-disk" {
		t.Fatalf("upload backups of staging: %+v, want one succeeded on stg-disk", uploads)
	}
	press(tm, "enter")
	view(t, tm, fmt.Sprintf("Restore backup %d", uploads[0].ID), "(•) this service: staging")
	press(tm, "enter")
	// The file's origin is unknown: the person chooses; here, keep it.
	view(t, tm, "▸ [?] neutralize", "origin is unknown")
	press(tm, " ", " ")
	view(t, tm, "▸ [ ] neutralize")
	press(tm, "enter")
	view(t, tm, "step 3 of 5")
	press(tm, "enter")
	view(t, tm, "Type staging to confirm")
	press(tm, "staging", "enter")
	slowView(t, tm, fmt.Sprintf("✓ Backup %d restored onto staging", uploads[0].ID))
	quit(t, tm)
	if diff := source.Diff(e.print(e.stg)); len(diff) > 0 {
		t.Errorf("staging differs from the uploaded file's production:\n%s", strings.Join(diff, "\n"))
	}
	if err := e.stg.CheckAsOwner(e.ctx, pg, e.stg.Name, e.stg.FilestoreDir); err != nil {
		t.Errorf("after the upload and restore from the console: %v", err)
	}
	if n := len(e.stagingBackups(core.KindSafety)); n != 1 {
		t.Errorf("%d safety backups of staging, want 1", n)
	}
}

// The console's new-database target, through the real engine: the database
// belongs to production's owner role and its filestore, in production's
// data dir, to the data dir's owner, who can use every table and file.
func TestRealRestoreIntoNewDatabase(t *testing.T) {
	pg := servers.Postgres(t)
	e := newRealEnv(t)
	newDB := e.prod.Name + "_new"
	tm := e.start()
	view(t, tm, "production", "staging")
	press(tm, "enter")
	view(t, tm, "odoo-backup › production", "✓ succeeded")
	press(tm, "tab")
	view(t, tm, "[History 1]")
	press(tm, "r")
	view(t, tm, "Restore onto")
	press(tm, "down", "down", newDB)
	view(t, tm, "(•) a new database: ["+newDB)
	press(tm, "enter")
	view(t, tm, "▸ [x] neutralize")
	press(tm, "enter")
	view(t, tm, `This creates database "`+newDB+`"`)
	press(tm, "enter", newDB, "enter")
	slowView(t, tm, fmt.Sprintf("✓ Backup %d restored into new database %s", e.prodBackup.ID, newDB))
	quit(t, tm)
	if err := e.prod.CheckAsOwner(e.ctx, pg, newDB, filepath.Join(e.prod.DataDir, "filestore", newDB)); err != nil {
		t.Errorf("the console's new database: %v", err)
	}
}
