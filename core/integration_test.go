package core_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// One PostgreSQL cluster and one MinIO server serve every test of the
// package, each started by the first test that asks for it
// (servers.Postgres(t), servers.MinIO(t)); each test makes its own
// databases, buckets and catalog. A test that asks for neither starts none.
var servers testbed.Servers

func TestMain(m *testing.M) { testbed.Main(m, &servers) }

// env is one test's world: a catalog, an engine, an Odoo database, and a
// local and an S3 destination both configured for the service "prod".
type env struct {
	t      *testing.T
	ctx    context.Context
	cat    *store.Catalog
	engine *core.Engine
	odoo   *testbed.OdooDB
	svc    core.Service
	local  core.Destination
	s3     core.Destination
	dir    string
}

var dbCounter int

func newEnv(t *testing.T, opt testbed.OdooOptions) *env {
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
	dbCounter++
	db := fmt.Sprintf("%s_%d", strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(t.Name(), "_")), dbCounter)
	if len(db) > 40 {
		db = fmt.Sprintf("t%d_%s", dbCounter, db[len(db)-30:])
	}
	odoo, err := testbed.GenerateOdoo(ctx, pg, db, filepath.Join(dir, "odoo"), opt)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, cat: cat, odoo: odoo, dir: dir}
	e.engine = &core.Engine{Catalog: cat, OpenStore: s3.Open}
	e.svc = odoo.Service("prod")
	if err := cat.AddService(ctx, &e.svc, ""); err != nil {
		t.Fatal(err)
	}
	e.local = core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(dir, "backups")}}
	e.s3 = core.Destination{
		Name: "minio",
		Kind: core.DestinationS3,
		S3:   core.S3Settings{Endpoint: minio.Endpoint, Bucket: minio.NewBucket(t), Prefix: "odoo", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true},
	}
	if err := os.MkdirAll(e.local.Local.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*core.Destination{&e.local, &e.s3} {
		if err := cat.AddDestination(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := cat.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: d.Name, Frequency: core.Daily}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) store(d core.Destination) core.ObjectStore {
	st, err := s3.Open(e.ctx, d)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) backup(dests ...string) []core.Backup {
	e.t.Helper()
	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: dests})
	if err != nil {
		e.t.Fatalf("backup: %v", err)
	}
	return bs
}

func (e *env) print(db, filestore string) testbed.Print {
	e.t.Helper()
	pg := servers.Postgres(e.t)
	p, err := testbed.Fingerprint(e.ctx, pg.Conn(db), filestore)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.WithoutChecklist()
}

func (e *env) dbExists(name string) bool {
	pg := servers.Postgres(e.t)
	n, err := pg.QueryInt(e.ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname = $1", name)
	if err != nil {
		e.t.Fatal(err)
	}
	return n > 0
}

// databasesLike lists databases whose name starts with prefix.
func (e *env) databasesLike(prefix string) string {
	pg := servers.Postgres(e.t)
	s, err := pg.QueryString(e.ctx, "postgres", "SELECT coalesce(string_agg(datname, ','), '') FROM pg_database WHERE datname LIKE $1", prefix+"%")
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

var keyRE = regexp.MustCompile(`^prod/\d{4}/\d{2}/prod_\d{8}-\d{6}_manual\.zip$`)

// The round trip: one dump fanned out to MinIO and a local
// directory; the archive opens with Python's zipfile, restores with Odoo's
// own procedure and with restore --new-db to the same tables, rows and files.
func TestBackupRoundTrip(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 1, OrphanFiles: 2})
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	var progress []core.Progress
	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "minio"},
		Progress: func(p core.Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 {
		t.Fatalf("got %d backups, want 2", len(bs))
	}
	for _, b := range bs {
		if b.Status != core.StatusSucceeded || b.Size == 0 || len(b.SHA256) != 64 || !keyRE.MatchString(b.Key) {
			t.Fatalf("backup %+v: want succeeded with size, sha256 and a readable key", b)
		}
		if b.OdooVersion != "17.0" || b.PGVersion != fmt.Sprint(pg.Version) {
			t.Errorf("versions: got odoo %q pg %q, want 17.0 and %d", b.OdooVersion, b.PGVersion, pg.Version)
		}
		st := e.store(map[string]core.Destination{"local": e.local, "minio": e.s3}[b.Destination])
		rc, err := st.Get(e.ctx, core.MetadataKey(b.Key), 0, -1)
		if err != nil {
			t.Fatalf("metadata object of %s: %v", b.Destination, err)
		}
		raw, _ := io.ReadAll(rc)
		rc.Close()
		m, err := core.ParseMetadata(raw)
		if err != nil {
			t.Fatal(err)
		}
		if m.SHA256 != b.SHA256 || m.Size != b.Size || m.Service != "prod" || m.Database != e.odoo.Name || m.Kind != core.KindManual || m.Archive != b.Key {
			t.Errorf("metadata %+v does not describe backup %+v", m, b)
		}
		if strings.Contains(string(raw), pg.Password) {
			t.Error("metadata object holds the database password")
		}
	}
	if bs[0].SHA256 != bs[1].SHA256 {
		t.Errorf("one dump should give identical archives: %s vs %s", bs[0].SHA256, bs[1].SHA256)
	}
	phases := map[core.Phase]bool{}
	for _, p := range progress {
		phases[p.Phase] = true
	}
	for _, want := range []core.Phase{core.PhaseDump, core.PhaseFilestore} {
		if !phases[want] {
			t.Errorf("progress never reported phase %q (got %v)", want, phases)
		}
	}
	got, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "prod"})
	if err != nil || len(got) != 2 || got[0].Status != core.StatusSucceeded {
		t.Fatalf("catalog holds %+v, %v; want the two succeeded backups", got, err)
	}

	// Download from MinIO, checksum verified.
	zipPath := filepath.Join(e.dir, "download.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: bs[1].ID, Path: zipPath}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: bs[1].ID, Path: zipPath}); !errors.Is(err, core.ErrExists) {
		t.Errorf("download over an existing file: got %v, want ErrExists", err)
	}

	// Python's zipfile opens it and checks every CRC.
	if py, err := exec.LookPath("python3"); err == nil {
		out, err := exec.Command(py, "-c", `import zipfile,sys,json
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = z.namelist()
m = json.loads(z.read("manifest.json"))
assert "dump.sql" in names and m["odoo_dump"] == "1"
assert not [n for n in names if n.endswith("/")], "directory entries"
print(len([n for n in names if n.startswith("filestore/")]))`, zipPath).CombinedOutput()
		if err != nil {
			t.Fatalf("python zipfile: %v\n%s", err, out)
		}
		wantFiles := len(e.odoo.Files) - len(e.odoo.Orphans)
		if strings.TrimSpace(string(out)) != fmt.Sprint(wantFiles) {
			t.Errorf("python counted %s filestore entries, want %d (live files only)", out, wantFiles)
		}
	}

	// Odoo's own restore: create the database, psql -q -f dump.sql, move filestore/.
	odooDB := e.odoo.Name + "_odoo"
	if err := pg.CreateDatabase(e.ctx, odooDB); err != nil {
		t.Fatal(err)
	}
	unzipDir := filepath.Join(e.dir, "unzipped")
	unzip(t, zipPath, unzipDir)
	psql := exec.Command("psql", "-q", "-X", "-h", pg.Host, "-p", fmt.Sprint(pg.Port), "-U", pg.User, "-d", odooDB, "-f", filepath.Join(unzipDir, "dump.sql"))
	psql.Env = append(os.Environ(), "PGPASSWORD="+pg.Password)
	if out, err := psql.CombinedOutput(); err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	odooFS := filepath.Join(e.odoo.DataDir, "filestore", odooDB)
	if err := os.Rename(filepath.Join(unzipDir, "filestore"), odooFS); err != nil {
		t.Fatal(err)
	}
	live := withoutFiles(source, e.odoo.Orphans)
	if diff := live.Diff(e.print(odooDB, odooFS)); len(diff) > 0 {
		t.Errorf("Odoo's procedure restored something else:\n%s", strings.Join(diff, "\n"))
	}

	// The tool's own restore, from each destination.
	for i, b := range bs {
		newDB := fmt.Sprintf("%s_r%d", e.odoo.Name, i)
		res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB})
		if err != nil {
			t.Fatalf("restore %s: %v", b.Destination, err)
		}
		wantFS := filepath.Join(e.odoo.DataDir, "filestore", newDB)
		if res.FilestoreDir != wantFS || res.MissingCount != 0 || res.SQLErrorCount != 0 {
			t.Errorf("restore result %+v: want filestore %s, nothing missing, no SQL error", res, wantFS)
		}
		if diff := live.Diff(e.print(newDB, wantFS)); len(diff) > 0 {
			t.Errorf("restore --new-db from %s differs:\n%s", b.Destination, strings.Join(diff, "\n"))
		}
		if left := e.databasesLike(newDB + "_restoring"); left != "" {
			t.Errorf("temporary databases left behind: %s", left)
		}
		// Loaded as a throwaway role, handed to the source's owner, in
		// files the data dir's owner can use, with Odoo's modes.
		e.wantOwned(e.odoo, newDB, wantFS)
		if modes, err := testbed.TreeModes(wantFS); err != nil || !slices.Equal(modes, modesOf(e.odoo.UID, e.odoo.GID)) {
			t.Errorf("restored filestore modes %q (%v), want %q", modes, err, modesOf(e.odoo.UID, e.odoo.GID))
		}
	}

	// Verify reads it back whole.
	res, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: bs[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.DBName != e.odoo.Name || len(res.Manifest.Modules) != len(e.odoo.Modules) || res.FilestoreFiles != len(e.odoo.Files)-len(e.odoo.Orphans) {
		t.Errorf("verify: got manifest db %q with %d modules and %d files; want %q, %d, %d",
			res.Manifest.DBName, len(res.Manifest.Modules), res.FilestoreFiles, e.odoo.Name, len(e.odoo.Modules), len(e.odoo.Files)-len(e.odoo.Orphans))
	}
}

func unzip(t *testing.T, path, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, rc); err != nil {
			t.Fatal(err)
		}
		out.Close()
		rc.Close()
	}
}

// corrupt flips one byte in the middle of the local archive of b.
func (e *env) corrupt(b core.Backup) {
	e.t.Helper()
	p := filepath.Join(e.local.Local.Dir, filepath.FromSlash(b.Key))
	data, err := os.ReadFile(p)
	if err != nil {
		e.t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(p, data, 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// A backup whose bytes were altered is refused by verify, download and
// restore before anything is created.
func TestAlteredBackupRefused(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 2})
	b := e.backup("local")[0]
	e.corrupt(b)
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID}); !errors.Is(err, core.ErrCorrupt) {
		t.Errorf("verify: got %v, want ErrCorrupt", err)
	}
	out := filepath.Join(e.dir, "x.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: b.ID, Path: out}); !errors.Is(err, core.ErrCorrupt) {
		t.Errorf("download: got %v, want ErrCorrupt", err)
	}
	if entries, _ := os.ReadDir(e.dir); len(entries) > 0 {
		for _, en := range entries {
			if strings.Contains(en.Name(), "x.zip") {
				t.Errorf("download left %s behind", en.Name())
			}
		}
	}
	newDB := e.odoo.Name + "_new"
	_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB})
	if !errors.Is(err, core.ErrCorrupt) {
		t.Fatalf("restore: got %v, want ErrCorrupt", err)
	}
	if !strings.Contains(err.Error(), "checksum") {
		t.Errorf("restore error %q should say the checksum does not match", err)
	}
	if e.dbExists(newDB) || e.databasesLike(newDB) != "" {
		t.Errorf("restore of a corrupt backup created a database: %s", e.databasesLike(newDB))
	}
	if _, err := os.Stat(filepath.Join(e.odoo.DataDir, "filestore", newDB)); !os.IsNotExist(err) {
		t.Errorf("restore of a corrupt backup created a filestore: %v", err)
	}
}

// listAll lists every object of a destination.
func (e *env) listAll(d core.Destination) []string {
	e.t.Helper()
	objs, err := e.store(d).List(e.ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

func (e *env) wantFailed(bs []core.Backup, err error, dest, sentence string) {
	e.t.Helper()
	if err == nil {
		e.t.Fatalf("backup succeeded, want a failure containing %q", sentence)
	}
	for _, b := range bs {
		if b.Destination != dest {
			continue
		}
		if b.Status != core.StatusFailed || !strings.Contains(b.Error, sentence) {
			e.t.Errorf("backup on %s: status %s error %q; want failed with %q", dest, b.Status, b.Error, sentence)
		}
		stored, gerr := e.cat.Backup(e.ctx, b.ID)
		if gerr != nil || stored.Status != core.StatusFailed || stored.Error != b.Error {
			e.t.Errorf("catalog row %+v (%v) does not record the failure", stored, gerr)
		}
		if strings.Contains(b.Error, "\n") {
			e.t.Errorf("error %q should be one sentence on one line", b.Error)
		}
	}
}

// Every failure leaves a failed row whose error says what went wrong, and no
// archive visible on any destination.
func TestBackupFailuresLeaveNothing(t *testing.T) {
	pg := servers.Postgres(t)
	t.Run("wrong password", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 3})
		e.svc.DB.Password = "Zq9-not-it"
		if err := e.cat.UpdateService(e.ctx, e.svc); err != nil {
			t.Fatal(err)
		}
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "minio"}})
		e.wantFailed(bs, err, "local", "refused the login")
		e.wantFailed(bs, err, "minio", "refused the login")
		if !errors.Is(err, core.ErrAccessDenied) {
			t.Errorf("got %v, want ErrAccessDenied", err)
		}
		if keys := append(e.listAll(e.local), e.listAll(e.s3)...); len(keys) > 0 {
			t.Errorf("objects left: %v", keys)
		}
		if strings.Contains(fmt.Sprint(bs, err), "Zq9-not-it") {
			t.Error("the password appears in the error")
		}
	})
	t.Run("PostgreSQL unreachable", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 4})
		e.svc.DB.Port = freePort(t)
		if err := e.cat.UpdateService(e.ctx, e.svc); err != nil {
			t.Fatal(err)
		}
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod"})
		e.wantFailed(bs, err, "local", "cannot connect to PostgreSQL")
	})
	t.Run("S3 endpoint unreachable, local still succeeds", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 5})
		e.s3.S3.Endpoint = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		if err := e.cat.UpdateDestination(e.ctx, e.s3); err != nil {
			t.Fatal(err)
		}
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "minio"}})
		e.wantFailed(bs, err, "minio", "127.0.0.1")
		var ok bool
		for _, b := range bs {
			ok = ok || (b.Destination == "local" && b.Status == core.StatusSucceeded)
		}
		if !ok {
			t.Errorf("the local destination should still get its backup: %+v", bs)
		}
		if keys := e.listAll(e.local); len(keys) != 2 {
			t.Errorf("local holds %v, want the archive and its metadata", keys)
		}
	})
	t.Run("wrong S3 secret", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 6})
		e.s3.S3.SecretKey = "not-the-secret"
		if err := e.cat.UpdateDestination(e.ctx, e.s3); err != nil {
			t.Fatal(err)
		}
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"minio"}})
		e.wantFailed(bs, err, "minio", "access key")
		if !errors.Is(err, core.ErrAccessDenied) {
			t.Errorf("got %v, want ErrAccessDenied", err)
		}
		if strings.Contains(fmt.Sprint(bs, err), "not-the-secret") {
			t.Error("the secret appears in the error")
		}
	})
	t.Run("missing filestore", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 7})
		if err := os.RemoveAll(e.odoo.FilestoreDir); err != nil {
			t.Fatal(err)
		}
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod"})
		e.wantFailed(bs, err, "local", "filestore directory")
		if keys := e.listAll(e.local); len(keys) > 0 {
			t.Errorf("objects left: %v", keys)
		}
	})
	t.Run("pg_dump fails midway", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 8})
		// A pg_dump that writes part of a dump, then dies.
		dir := t.TempDir()
		script := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) %d.99'; exit 0; fi\nhead -c 300000 /dev/urandom | base64\necho 'pg_dump: error: query failed: server closed the connection unexpectedly' >&2\nexit 1\n", pg.Version)
		if err := os.WriteFile(filepath.Join(dir, "pg_dump"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		e.engine.Tools = core.PGTools{Dirs: []string{dir}, NoPath: true}
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "minio"}})
		e.wantFailed(bs, err, "local", "server closed the connection unexpectedly")
		e.wantFailed(bs, err, "minio", "pg_dump")
		if keys := append(e.listAll(e.local), e.listAll(e.s3)...); len(keys) > 0 {
			t.Errorf("objects left: %v", keys)
		}
	})
	t.Run("only an older pg_dump", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 9})
		dir := t.TempDir()
		script := "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"
		if err := os.WriteFile(filepath.Join(dir, "pg_dump"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		e.engine.Tools = core.PGTools{Dirs: []string{dir}, NoPath: true}
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod"})
		e.wantFailed(bs, err, "local", fmt.Sprintf("install the PostgreSQL %d client", pg.Version))
	})
	t.Run("destination not configured", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 10})
		other := core.Destination{Name: "other", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}
		if err := e.cat.AddDestination(e.ctx, &other); err != nil {
			t.Fatal(err)
		}
		_, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"other"}})
		if a, _ := core.AdviceOf(err); !errors.Is(err, core.ErrInvalid) || a != (core.Advice{Action: core.ActionSetConfiguration, Service: "prod", Destination: "other"}) {
			t.Errorf("got %v, want ErrInvalid telling how to configure it", err)
		}
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Attachment files missing from the live filestore do not stop the backup;
// the metadata counts them and the restore reports them.
func TestMissingFilesReported(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 11, MissingFiles: 2})
	b := e.backup("local")[0]
	res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: e.odoo.Name + "_m"})
	if err != nil {
		t.Fatal(err)
	}
	if res.MissingCount != len(e.odoo.Missing) {
		t.Errorf("restore reported %d missing files, want %d", res.MissingCount, len(e.odoo.Missing))
	}
	raw, err := os.ReadFile(filepath.Join(e.local.Local.Dir, filepath.FromSlash(core.MetadataKey(b.Key))))
	if err != nil {
		t.Fatal(err)
	}
	var m core.BackupMetadata
	if err := json.Unmarshal(raw, &m); err != nil || m.MissingFiles != len(e.odoo.Missing) {
		t.Errorf("metadata says %d missing files (%v), want %d", m.MissingFiles, err, len(e.odoo.Missing))
	}
}

// A restore into a database or filestore that exists is refused, and one
// that fails while loading leaves nothing behind.
func TestRestoreNewDBSafety(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 12})
	b := e.backup("minio")[0]
	before := e.print(e.odoo.Name, e.odoo.FilestoreDir)

	_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: e.odoo.Name})
	if !errors.Is(err, core.ErrExists) {
		t.Errorf("restore onto the live database: got %v, want ErrExists", err)
	}
	busyFS := filepath.Join(e.dir, "busy")
	if err := os.MkdirAll(filepath.Join(busyFS, "ab"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: "fresh_db", FilestoreDir: busyFS})
	if !errors.Is(err, core.ErrExists) {
		t.Errorf("restore into a non-empty filestore: got %v, want ErrExists", err)
	}
	if _, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: 9999, NewDB: "x"}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown backup id: got %v, want ErrNotFound", err)
	}

	// psql dies in the middle of the load.
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'psql (PostgreSQL) %d.99'; exit 0; fi\nhead -c 1000 >/dev/null\necho 'psql: error: connection to server was lost' >&2\nexit 2\n", pg.Version)
	if err := os.WriteFile(filepath.Join(dir, "psql"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.engine.Tools = core.PGTools{Dirs: []string{dir}, NoPath: true}
	newDB := e.odoo.Name + "_killed"
	_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB})
	if err == nil || !strings.Contains(err.Error(), "connection to server was lost") {
		t.Fatalf("restore with psql dying: got %v, want its error", err)
	}
	if left := e.databasesLike(newDB); left != "" {
		t.Errorf("databases left behind: %s", left)
	}
	entries, _ := os.ReadDir(filepath.Join(e.odoo.DataDir, "filestore"))
	for _, en := range entries {
		if strings.Contains(en.Name(), newDB) {
			t.Errorf("filestore left behind: %s", en.Name())
		}
	}
	if diff := before.Diff(e.print(e.odoo.Name, e.odoo.FilestoreDir)); len(diff) > 0 {
		t.Errorf("the source changed:\n%s", strings.Join(diff, "\n"))
	}
}

// A hostile archive recorded as a backup (its checksum matches) is refused
// before any database or file is created.
func TestHostileArchiveRefused(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 13})
	good := e.backup("local")[0]
	cases := map[string]func(*zip.Writer){
		"path traversal": func(zw *zip.Writer) {
			w, _ := zw.Create("dump.sql")
			io.WriteString(w, "--\n-- PostgreSQL database dump\n")
			w, _ = zw.Create("filestore/../../../etc/evil")
			io.WriteString(w, "x")
		},
		"symbolic link": func(zw *zip.Writer) {
			w, _ := zw.Create("dump.sql")
			io.WriteString(w, "--\n-- PostgreSQL database dump\n")
			h := &zip.FileHeader{Name: "filestore/ab/link"}
			h.SetMode(os.ModeSymlink | 0o777)
			w, _ = zw.CreateHeader(h)
			io.WriteString(w, "/etc/passwd")
		},
		"not a backup": func(zw *zip.Writer) {
			w, _ := zw.Create("readme.txt")
			io.WriteString(w, "hello")
		},
	}
	st := e.store(e.local)
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			var buf strings.Builder
			zw := zip.NewWriter(&buf)
			build(zw)
			zw.Close()
			key := fmt.Sprintf("prod/hostile-%d.zip", len(name))
			if err := st.Put(e.ctx, key, strings.NewReader(buf.String())); err != nil {
				t.Fatal(err)
			}
			b := good
			b.ID, b.Key = 0, key
			b.Size = int64(buf.Len())
			b.SHA256 = sha256hex(buf.String())
			if err := e.cat.CreateBackup(e.ctx, &b); err != nil {
				t.Fatal(err)
			}
			newDB := fmt.Sprintf("%s_h%d", e.odoo.Name, len(name))
			_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB})
			if !errors.Is(err, core.ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
			if left := e.databasesLike(newDB); left != "" {
				t.Errorf("databases created: %s", left)
			}
			if _, err := os.Stat("/etc/evil"); err == nil {
				t.Fatal("path traversal wrote /etc/evil")
			}
			if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID}); !errors.Is(err, core.ErrCorrupt) {
				t.Errorf("verify: got %v, want ErrCorrupt", err)
			}
		})
	}
}

// A backup left running by a process that died is recorded as failed and
// what it left on the destination is removed; one still running in a live
// process is left alone.
func TestRecoverInterrupted(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 14})
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	key := "prod/2026/11/prod_20261122-010000_scheduled.zip"
	crashed := core.Backup{Service: "prod", Destination: "local", Kind: core.KindScheduled, Key: key, Host: host, PID: dead.Process.Pid}
	alive := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual, Key: "prod/other.zip", Host: host, PID: os.Getppid()}
	for _, b := range []*core.Backup{&crashed, &alive} {
		if err := e.cat.CreateBackup(e.ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// What a killed Put leaves: a temporary file beside the key.
	tmp := filepath.Join(e.local.Local.Dir, "prod", "2026", "11", ".prod_20261122-010000_scheduled.zip.tmp-424242")
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := e.engine.RecoverInterrupted(e.ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != crashed.ID {
		t.Fatalf("recovered %+v, want only backup %d", got, crashed.ID)
	}
	b, _ := e.cat.Backup(e.ctx, crashed.ID)
	if b.Status != core.StatusFailed || !strings.HasPrefix(b.Error, "interrupted") || b.FinishedAt == nil {
		t.Errorf("crashed backup is %s %q, want failed: interrupted", b.Status, b.Error)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the partial file is still there: %v", err)
	}
	if b, _ := e.cat.Backup(e.ctx, alive.ID); b.Status != core.StatusRunning {
		t.Errorf("a backup of a live process became %s", b.Status)
	}
}
