package core_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// target is a second Odoo service, "staging", with a primary destination of
// its own: what a restore onto a service replaces.
type target struct {
	odoo    *testbed.OdooDB
	svc     core.Service
	primary core.Destination
}

func (e *env) addTarget(seed int64) *target {
	e.t.Helper()
	pg := servers.Postgres(e.t)
	db := e.odoo.Name + "_stg"
	odoo, err := testbed.GenerateOdoo(e.ctx, pg, db, filepath.Join(e.dir, "staging"), testbed.OdooOptions{Seed: seed})
	if err != nil {
		e.t.Fatal(err)
	}
	tg := &target{odoo: odoo, svc: odoo.Service("staging")}
	if err := e.cat.AddService(e.ctx, &tg.svc, ""); err != nil {
		e.t.Fatal(err)
	}
	tg.primary = core.Destination{Name: "staging-local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(e.dir, "staging-backups")}}
	if err := os.MkdirAll(tg.primary.Local.Dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	if err := e.cat.AddDestination(e.ctx, &tg.primary); err != nil {
		e.t.Fatal(err)
	}
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "staging", Destination: tg.primary.Name, Primary: true}); err != nil {
		e.t.Fatal(err)
	}
	return tg
}

func (e *env) targetPrint(tg *target) testbed.Print {
	e.t.Helper()
	return e.print(tg.odoo.Name, tg.odoo.FilestoreDir)
}

// noLeftovers fails if a restore left a temporary or replaced database or
// filestore directory beside the target.
func (e *env) noLeftovers(tg *target) {
	e.t.Helper()
	for _, p := range []string{tg.odoo.Name + "_restoring", tg.odoo.Name + "_old"} {
		if left := e.databasesLike(p); left != "" {
			e.t.Errorf("databases left behind: %s", left)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(tg.odoo.FilestoreDir))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range entries {
		if en.Name() != filepath.Base(tg.odoo.FilestoreDir) {
			e.t.Errorf("left beside the target's filestore: %s", en.Name())
		}
	}
}

func (e *env) wantUnchanged(tg *target, before testbed.Print) {
	e.t.Helper()
	if diff := before.Diff(e.targetPrint(tg)); len(diff) > 0 {
		e.t.Errorf("the target changed:\n%s", strings.Join(diff, "\n"))
	}
	e.noLeftovers(tg)
	e.noLoaders()
}

// safetyBackups lists the target's succeeded safety backups.
func (e *env) safetyBackups() []core.Backup {
	e.t.Helper()
	bs, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "staging", Kind: core.KindSafety, Status: core.StatusSucceeded})
	if err != nil {
		e.t.Fatal(err)
	}
	return bs
}

// Production restored into staging: staging ends up with production's data
// at backup time, a session open on it is ended, a safety backup of staging
// went to staging's primary first, and that safety backup brings staging's
// old content back.
func TestRestoreToService(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 20})
	b := e.backup("minio")[0]
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	// Production moves on after the backup; staging must get the backup's state.
	if err := pg.Exec(e.ctx, e.odoo.Name, "DELETE FROM mail_message WHERE id IN (SELECT min(id) FROM mail_message)"); err != nil {
		t.Fatal(err)
	}
	tg := e.addTarget(21)
	stagingBefore := e.targetPrint(tg)
	if len(source.Diff(stagingBefore)) == 0 {
		t.Fatal("production and staging hold the same data; the test could not tell them apart")
	}

	// Someone is connected to staging, as Odoo's workers are.
	session, err := pg.Connect(e.ctx, tg.odoo.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close(e.ctx)

	phases := map[core.Phase]bool{}
	res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging",
		Progress: func(p core.Progress) { phases[p.Phase] = true }})
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.Diff(e.targetPrint(tg)); len(diff) > 0 {
		t.Errorf("staging differs from production at backup time:\n%s", strings.Join(diff, "\n"))
	}
	e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
	if res.Database != tg.odoo.Name || res.FilestoreDir != tg.odoo.FilestoreDir || res.SQLErrorCount != 0 || len(res.Warnings) != 0 {
		t.Errorf("result %+v: want database %s, filestore %s, no SQL error, no warning", res, tg.odoo.Name, tg.odoo.FilestoreDir)
	}
	for _, want := range []core.Phase{core.PhaseSafety, core.PhaseVerify, core.PhaseRestoreDB, core.PhaseRestoreFS, core.PhaseSwap} {
		if !phases[want] {
			t.Errorf("progress never reported phase %q (got %v)", want, phases)
		}
	}
	if _, err := session.Exec(e.ctx, "SELECT 1"); err == nil {
		t.Error("the session open on staging survived the swap; it should have been ended")
	}
	e.noLeftovers(tg)

	safety, err := e.cat.Backup(e.ctx, res.SafetyBackupID)
	if err != nil {
		t.Fatalf("safety backup %d: %v", res.SafetyBackupID, err)
	}
	if safety.Kind != core.KindSafety || safety.Service != "staging" || safety.Destination != tg.primary.Name || safety.Status != core.StatusSucceeded {
		t.Errorf("safety backup %+v: want a succeeded safety backup of staging on %s", safety, tg.primary.Name)
	}

	// The safety backup puts staging back as it was.
	if _, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: safety.ID, Service: "staging"}); err != nil {
		t.Fatal(err)
	}
	if diff := stagingBefore.Diff(e.targetPrint(tg)); len(diff) > 0 {
		t.Errorf("the safety backup did not bring staging back:\n%s", strings.Join(diff, "\n"))
	}
	e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
	if n := len(e.safetyBackups()); n != 2 {
		t.Errorf("%d safety backups of staging, want 2 (one per restore)", n)
	}
	e.noLeftovers(tg)

	// Refusals before anything happens.
	if _, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "nope"}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown service: got %v, want ErrNotFound", err)
	}
	bare := core.Service{Name: "bare", DB: pg.Conn(e.odoo.Name + "_bare"), FilestoreDir: filepath.Join(e.dir, "bare")}
	if err := e.cat.AddService(e.ctx, &bare, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "bare"})
	if a, _ := core.AdviceOf(err); !errors.Is(err, core.ErrInvalid) || a.Action != core.ActionSetPrimary || a.Service != "bare" {
		t.Errorf("service without a primary: got %v (advice %+v), want ErrInvalid advising a primary for bare", err, a)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// wantNeutralized checks every table neutralization touches in db, against
// the rows testbed.GenerateOdoo writes.
func (e *env) wantNeutralized(db string) {
	e.t.Helper()
	pg := servers.Postgres(e.t)
	q := func(sql string) string {
		e.t.Helper()
		s, err := pg.QueryString(e.ctx, db, sql)
		if err != nil {
			e.t.Fatalf("%s: %v", sql, err)
		}
		return s
	}
	checks := []struct{ what, sql, want string }{
		{"active outgoing mail servers", "SELECT string_agg(name || ' ' || smtp_host || ':' || smtp_port, ',') FROM ir_mail_server WHERE active", "neutralization - disable emails invalid:1025"},
		{"active incoming mail servers", "SELECT count(*)::text FROM fetchmail_server WHERE active", "0"},
		{"active crons", "SELECT string_agg(cron_name, ',' ORDER BY id) FROM ir_cron WHERE active", "Base: Auto-vacuum internal data"},
		{"payment providers", "SELECT string_agg(code || '=' || state, ',' ORDER BY id) FROM payment_provider", "stripe=disabled,paypal=disabled,custom=disabled,adyen=test"},
		{"database.is_neutralized", "SELECT coalesce(max(value), 'unset') FROM ir_config_parameter WHERE key = 'database.is_neutralized'", "true"},
		{"database.enterprise_code", "SELECT count(*)::text FROM ir_config_parameter WHERE key = 'database.enterprise_code'", "0"},
	}
	for _, c := range checks {
		if got := q(c.sql); got != c.want {
			e.t.Errorf("%s in %s: got %q, want %q", c.what, db, got, c.want)
		}
	}
	uuid := q("SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'")
	secret := q("SELECT value FROM ir_config_parameter WHERE key = 'database.secret'")
	prodSecret, err := pg.QueryString(e.ctx, e.odoo.Name, "SELECT value FROM ir_config_parameter WHERE key = 'database.secret'")
	if err != nil {
		e.t.Fatal(err)
	}
	if uuid == e.odoo.UUID || !uuidRE.MatchString(uuid) {
		e.t.Errorf("database.uuid of %s is %q; want a new UUID, not production's %q", db, uuid, e.odoo.UUID)
	}
	if secret == prodSecret || !uuidRE.MatchString(secret) || secret == uuid {
		e.t.Errorf("database.secret of %s is %q; want a new one, not production's %q", db, secret, prodSecret)
	}
}

// Production restored into staging with --neutralize, and into a new
// database: both copies are neutralized, production is not.
func TestRestoreNeutralized(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 22})
	b := e.backup("local")[0]
	prod := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	tg := e.addTarget(23)

	res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Neutralize: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Neutralized) == 0 || !res.IsNeutralized || !res.NewIdentity {
		t.Errorf("the result does not say that and what neutralization did: %+v", res)
	}
	e.wantNeutralized(tg.odoo.Name)
	e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
	// Everything but the neutralized tables is production's.
	got := e.targetPrint(tg)
	for _, table := range []string{"ir_mail_server", "fetchmail_server", "ir_cron", "payment_provider", "ir_config_parameter"} {
		delete(got.Tables, table)
		delete(got.Sequences, table+"_id_seq")
	}
	want := prod
	want.Tables = map[string]testbed.TablePrint{}
	for k, v := range prod.Tables {
		want.Tables[k] = v
	}
	want.Sequences = map[string]int64{}
	for k, v := range prod.Sequences {
		want.Sequences[k] = v
	}
	for _, table := range []string{"ir_mail_server", "fetchmail_server", "ir_cron", "payment_provider", "ir_config_parameter"} {
		delete(want.Tables, table)
		delete(want.Sequences, table+"_id_seq")
	}
	if diff := want.Diff(got); len(diff) > 0 {
		t.Errorf("staging differs from production beyond neutralization:\n%s", strings.Join(diff, "\n"))
	}
	e.noLeftovers(tg)

	newDB := e.odoo.Name + "_neutral"
	if _, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, Neutralize: true}); err != nil {
		t.Fatal(err)
	}
	e.wantNeutralized(newDB)
	e.wantOwned(e.odoo, newDB, filepath.Join(e.odoo.DataDir, "filestore", newDB))

	if diff := prod.Diff(e.print(e.odoo.Name, e.odoo.FilestoreDir)); len(diff) > 0 {
		t.Errorf("production changed:\n%s", strings.Join(diff, "\n"))
	}
}

// Neutralize on schemas other than the generated Odoo 17 one: a database
// without any of the optional tables, and an Odoo 14-like one
// (payment_acquirer, the auto-vacuum cron known by its external id).
func TestNeutralizeOtherSchemas(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 24})
	empty := e.odoo.Name + "_empty"
	if err := pg.CreateDatabase(e.ctx, empty); err != nil {
		t.Fatal(err)
	}
	done, err := core.Neutralize(e.ctx, pg.Conn(empty))
	if err != nil || len(done) != 0 {
		t.Errorf("neutralize a database without Odoo tables: got %v, %v; want nothing done and no error", done, err)
	}

	old := e.odoo.Name + "_v14"
	if err := pg.CreateDatabase(e.ctx, old); err != nil {
		t.Fatal(err)
	}
	schema := `
CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar NOT NULL UNIQUE, value text NOT NULL);
INSERT INTO ir_config_parameter (key, value) VALUES ('database.uuid', 'old-uuid'), ('database.enterprise_code', 'M123');
CREATE TABLE ir_model_data (id serial PRIMARY KEY, module varchar, name varchar, model varchar, res_id integer);
CREATE TABLE ir_cron (id serial PRIMARY KEY, cron_name varchar, active boolean);
INSERT INTO ir_cron (id, cron_name, active) VALUES (1, 'Mail: Email Queue Manager', true), (7, 'Auto-vacuum (renamed)', true), (8, NULL, NULL);
INSERT INTO ir_model_data (module, name, model, res_id) VALUES ('base', 'autovacuum_job', 'ir.cron', 7), ('mail', 'ir_cron_mail_scheduler_action', 'ir.cron', NULL);
CREATE TABLE ir_mail_server (id serial PRIMARY KEY, name varchar NOT NULL, smtp_host varchar NOT NULL, smtp_port integer NOT NULL, smtp_encryption varchar NOT NULL, active boolean);
INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, active) VALUES ('smtp', 'smtp.example.com', 587, 'starttls', true);
CREATE TABLE payment_acquirer (id serial PRIMARY KEY, provider varchar, state varchar);
INSERT INTO payment_acquirer (provider, state) VALUES ('stripe', 'enabled'), ('transfer', 'test');`
	if err := pg.Exec(e.ctx, old, schema); err != nil {
		t.Fatal(err)
	}
	if _, err := core.Neutralize(e.ctx, pg.Conn(old)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sql, want string }{
		{"SELECT string_agg(id::text, ',' ORDER BY id) FROM ir_cron WHERE active IS NOT false", "7"},
		{"SELECT string_agg(provider || '=' || state, ',' ORDER BY id) FROM payment_acquirer", "stripe=disabled,transfer=test"},
		{"SELECT string_agg(name || '@' || smtp_host, ',' ORDER BY id) FROM ir_mail_server WHERE active", "neutralization - disable emails@invalid"},
		{"SELECT string_agg(key, ',' ORDER BY key) FROM ir_config_parameter", "database.is_neutralized,database.secret,database.uuid"},
		{"SELECT count(*)::text FROM ir_config_parameter WHERE key = 'database.uuid' AND value = 'old-uuid'", "0"},
	} {
		got, err := pg.QueryString(e.ctx, old, c.sql)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.sql, got, err, c.want)
		}
	}
	// Twice is the same as once: no second dummy mail server.
	if _, err := core.Neutralize(e.ctx, pg.Conn(old)); err != nil {
		t.Fatal(err)
	}
	if n, err := pg.QueryInt(e.ctx, old, "SELECT count(*) FROM ir_mail_server WHERE active"); err != nil || n != 1 {
		t.Errorf("after neutralizing twice: %d active mail servers (%v), want the one dummy", n, err)
	}
}

// makeUnwritable stops anyone, root included, from creating entries in dir
// until the test ends. chmod does not stop root, so as root the directory is
// made immutable (chattr +i, which ext4, xfs, btrfs and tmpfs support and
// which binds root too); a filesystem without that flag skips the test
// rather than pass it without injecting anything.
func makeUnwritable(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot make %s immutable (%v: %s); no way to make a directory unwritable for root here", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", dir).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", dir, err, out)
		}
	})
	if err := os.Mkdir(filepath.Join(dir, "probe"), 0o700); err == nil {
		t.Fatalf("%s is still writable after chattr +i", dir)
	}
}

// Every failure before the swap leaves the target exactly as it was (tables,
// row counts, sequences and filestore hashes), with no temporary database or
// directory left, and the safety backup (when it could be taken) recorded.
func TestRestoreToServiceFailuresLeaveTarget(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 25})
	good := e.backup("minio")[0]
	tg := e.addTarget(26)
	before := e.targetPrint(tg)

	t.Run("safety backup fails", func(t *testing.T) {
		hidden := tg.primary.Local.Dir + ".away"
		if err := os.Rename(tg.primary.Local.Dir, hidden); err != nil {
			t.Fatal(err)
		}
		safetyBefore := len(e.safetyBackups())
		_, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: good.ID, Service: "staging"})
		if err := os.Rename(hidden, tg.primary.Local.Dir); err != nil {
			t.Fatal(err)
		}
		if err == nil || !strings.Contains(err.Error(), "safety backup") || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("got %v, want an error saying the safety backup failed and why", err)
		}
		if n := len(e.safetyBackups()); n != safetyBefore {
			t.Errorf("%d succeeded safety backups, want still %d", n, safetyBefore)
		}
		e.wantUnchanged(tg, before)
	})

	t.Run("another restore onto it runs", func(t *testing.T) {
		// As another process would hold it: alive, not this call's.
		host, _ := os.Hostname()
		other := core.Lease{Name: core.RestoreLease("staging"), Holder: "restore elsewhere", PID: os.Getpid(), Host: host}
		if _, ok, err := e.cat.AcquireLease(e.ctx, other, nil); err != nil || !ok {
			t.Fatalf("take the restore lease: %v %v", ok, err)
		}
		safetyBefore := len(e.safetyBackups())
		_, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: good.ID, Service: "staging"})
		if err := e.cat.ReleaseLease(e.ctx, other); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), `a restore onto service "staging" is already running`) {
			t.Fatalf("got %v, want a refusal saying a restore onto staging runs", err)
		}
		if n := len(e.safetyBackups()); n != safetyBefore {
			t.Errorf("%d succeeded safety backups, want still %d: nothing may start", n, safetyBefore)
		}
		e.wantUnchanged(tg, before)
		if _, running := core.RestoreRunning(e.ctx, e.cat, "staging", time.Now()); running {
			t.Error("the restore lease is still held")
		}
	})

	t.Run("corrupt archive", func(t *testing.T) {
		bad := e.backup("local")[0]
		e.corrupt(bad)
		safetyBefore := len(e.safetyBackups())
		_, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: bad.ID, Service: "staging"})
		if !errors.Is(err, core.ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("got %v, want ErrCorrupt about the checksum", err)
		}
		if n := len(e.safetyBackups()); n != safetyBefore+1 {
			t.Errorf("%d safety backups, want %d: one is taken before the archive is read", n, safetyBefore+1)
		}
		e.wantUnchanged(tg, before)
	})

	t.Run("psql killed", func(t *testing.T) {
		// The real pg_dump (the safety backup needs it) beside a psql that
		// reads a little of the dump and dies.
		realDump, err := core.PGTools{}.Find("pg_dump", pg.Version)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.Symlink(realDump.Path, filepath.Join(dir, "pg_dump")); err != nil {
			t.Fatal(err)
		}
		script := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'psql (PostgreSQL) %d.99'; exit 0; fi\nhead -c 1000 >/dev/null\necho 'psql: error: connection to server was lost' >&2\nkill -9 $$\n", pg.Version)
		if err := os.WriteFile(filepath.Join(dir, "psql"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		e.engine.Tools = core.PGTools{Dirs: []string{dir}, NoPath: true}
		defer func() { e.engine.Tools = core.PGTools{} }()
		_, err = e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: good.ID, Service: "staging"})
		if err == nil || !strings.Contains(err.Error(), "psql stopped") {
			t.Fatalf("got %v, want psql's failure", err)
		}
		e.wantUnchanged(tg, before)
	})

	t.Run("filestore not writable", func(t *testing.T) {
		makeUnwritable(t, filepath.Dir(tg.odoo.FilestoreDir))
		_, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: good.ID, Service: "staging"})
		if err == nil || !strings.Contains(err.Error(), "filestore") {
			t.Fatalf("got %v, want an error about the filestore directory", err)
		}
		e.wantUnchanged(tg, before)
	})

	t.Run("swap undone when the filestore cannot be moved aside", func(t *testing.T) {
		// The restore is complete and the databases are already swapped
		// when the target's filestore directory refuses to move: the
		// databases must be swapped back.
		makeUnwritable(t, tg.odoo.FilestoreDir)
		session, err := pg.Connect(e.ctx, tg.odoo.Name)
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close(e.ctx)
		_, err = e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: good.ID, Service: "staging"})
		t.Logf("restore failed with: %v", err)
		if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
			t.Fatalf("got %v, want a failure that changed nothing", err)
		}
		e.wantUnchanged(tg, before)
	})

	// After all that, a good restore still goes through.
	if _, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: good.ID, Service: "staging"}); err != nil {
		t.Fatal(err)
	}
	e.noLeftovers(tg)
	e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
}
