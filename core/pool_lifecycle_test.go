package core_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
)

// zipContent is what an Odoo zip holds: the SHA-256 of its dump.sql and of
// each filestore file, by store_fname.
type zipContent struct {
	dump  string
	files map[string]string
}

// readZip reads every entry of the zip at path (the zip reader checks each
// CRC) and hashes it.
func readZip(t *testing.T, path string) zipContent {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := zipContent{files: map[string]string{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			t.Fatalf("entry %s: %v", f.Name, err)
		}
		rc.Close()
		sum := hex.EncodeToString(h.Sum(nil))
		switch {
		case f.Name == "dump.sql":
			out.dump = sum
		case strings.HasPrefix(f.Name, "filestore/"):
			out.files[strings.TrimPrefix(f.Name, "filestore/")] = sum
		}
	}
	return out
}

// download downloads backup id and reads the zip.
func (e *env) download(id int64) zipContent {
	e.t.Helper()
	out := filepath.Join(e.t.TempDir(), "download.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: id, Path: out}); err != nil {
		e.t.Fatalf("download backup %d: %v", id, err)
	}
	return readZip(e.t, out)
}

// wantFiles fails unless got holds exactly the files of want.
func wantFiles(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s holds files %v, want %v", what, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

// wantRestores restores backup id into a new database with engine and
// fails unless it is source (less the files without attachment named in
// extra).
func (e *env) wantRestores(engine *core.Engine, id int64, suffix string, source testbed.Print, extra ...string) {
	e.t.Helper()
	newDB := e.odoo.Name + suffix
	r, err := engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: id, NewDB: newDB})
	if err != nil {
		e.t.Fatalf("restore backup %d: %v", id, err)
	}
	if diff := source.Diff(withoutFiles(e.print(newDB, r.FilestoreDir), extra)); len(diff) > 0 {
		e.t.Errorf("backup %d restored differs from the source: %v", id, diff)
	}
}

// poolDest adds a destination that keeps a pool, configured for no service.
func (e *env) poolDest(d core.Destination) core.Destination {
	e.t.Helper()
	d.Layout = core.LayoutPool
	return e.addDest(d)
}

func (e *env) secondPoolS3() core.Destination {
	minio := servers.MinIO(e.t)
	return e.poolDest(core.Destination{
		Name: "minio2", Kind: core.DestinationS3,
		S3: core.S3Settings{Endpoint: minio.Endpoint, Bucket: minio.NewBucket(e.t), Prefix: "copies", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true},
	})
}

func (e *env) localDest(name string, layout core.Layout) core.Destination {
	e.t.Helper()
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	return e.addDest(core.Destination{Name: name, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: dir}, Layout: layout})
}

// wantPoolBackup checks that b is a pool backup on d whose row, metadata
// object and file list agree, holding files files of which newObjects
// were stored by it.
func (e *env) wantPoolBackup(b core.Backup, d core.Destination, files, newObjects int) {
	e.t.Helper()
	if b.Status != core.StatusSucceeded || b.Format != core.FormatOdooPool || b.Pool == nil {
		e.t.Fatalf("backup %d on %s: status %s, format %q, pool %+v; want a succeeded pool backup (%s)", b.ID, d.Name, b.Status, b.Format, b.Pool, b.Error)
	}
	if b.Pool.Files != files || b.Pool.NewObjects != newObjects {
		e.t.Errorf("backup %d on %s: %d files, %d new objects; want %d and %d", b.ID, d.Name, b.Pool.Files, b.Pool.NewObjects, files, newObjects)
	}
	row, err := e.cat.Backup(e.ctx, b.ID)
	if err != nil || row.Format != core.FormatOdooPool || !reflect.DeepEqual(row.Pool, b.Pool) {
		e.t.Errorf("catalog row of backup %d: format %q, pool %+v (%v); want %+v", b.ID, row.Format, row.Pool, err, b.Pool)
	}
	st := e.store(d)
	m, err := readMeta(e, st, b.Key)
	if err != nil || m.Format != core.FormatOdooPool || m.Pool == nil || m.Pool.ListSHA256 != b.Pool.ListSHA256 || m.Pool.NewObjects != newObjects {
		e.t.Errorf("metadata of backup %d: %+v (%v); want its format and pool facts", b.ID, m, err)
	}
	info, err := st.Stat(e.ctx, pool.ListKey(b.Key))
	if err != nil || info.Size != b.Pool.ListSize {
		e.t.Errorf("file list of backup %d: %+v, %v; want %d bytes", b.ID, info, err, b.Pool.ListSize)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID}); err != nil {
		e.t.Errorf("verify backup %d: %v", b.ID, err)
	}
}

// A pool backup copied to another pool destination stores there only the
// objects that pool lacks (by the storage server on one MinIO, streamed to a
// local directory); copied to a zip destination it is the standard zip; a
// zip backup copied to a pool destination becomes a pool backup. Every copy
// downloads to the same files.
func TestPoolCopy(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 10, FilestoreBytes: 400 << 10})
	e.usePool()
	other := e.secondPoolS3()
	zipDest := e.localDest("zips", core.LayoutZip)
	files := maps.Clone(e.odoo.Files)

	src := e.backup("minio")[0]
	e.wantPoolBackup(src, e.s3, 10, 10)
	res, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: src.ID, Destination: other.Name})
	if err != nil {
		t.Fatal(err)
	}
	e.wantPoolBackup(res.Backup, other, 10, 10)
	if !res.ServerSide || res.Backup.SHA256 != src.SHA256 || res.Backup.Kind != core.KindCopy {
		t.Errorf("copy on one endpoint: %+v (server side %v); want a server-side copy of kind copy with the archive's checksum", res.Backup, res.ServerSide)
	}
	if got := e.poolObjects(other); !maps.Equal(got, e.poolObjects(e.s3)) {
		t.Errorf("target pool %v, source pool %v", got, e.poolObjects(e.s3))
	}
	wantFiles(t, "the server-side copy", e.download(res.Backup.ID).files, files)

	// The local pool has the first ten files from a backup of its own; a
	// newer backup with one file more costs the copy one object.
	e.backup("local")
	added, err := e.odoo.AddAttachment(e.ctx, []byte(strings.Repeat("one more invoice ", 4000)), "")
	if err != nil {
		t.Fatal(err)
	}
	files[added] = sha256hex(strings.Repeat("one more invoice ", 4000))
	newer := e.backup("minio")[0]
	toLocal, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: newer.ID, Destination: "local"})
	if err != nil {
		t.Fatal(err)
	}
	e.wantPoolBackup(toLocal.Backup, e.local, 11, 1)
	if toLocal.ServerSide {
		t.Error("a copy to a local directory says the storage server copied it")
	}
	if n := len(e.poolObjects(e.local)); n != 11 {
		t.Errorf("local pool holds %d objects, want 11", n)
	}
	wantFiles(t, "the streamed copy", e.download(toLocal.Backup.ID).files, files)

	// To a zip destination: the standard zip, checked like any zip backup.
	asZip, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: newer.ID, Destination: zipDest.Name})
	if err != nil {
		t.Fatal(err)
	}
	if b := asZip.Backup; b.Format != core.FormatOdooZip || b.Pool != nil || b.SHA256 == newer.SHA256 {
		t.Errorf("copy to a zip destination: format %q, pool %+v; want a self-contained zip with its own checksum", b.Format, b.Pool)
	}
	if m, err := readMeta(e, e.store(zipDest), asZip.Backup.Key); err != nil || m.Format != core.FormatOdooZip || m.Pool != nil || m.SHA256 != asZip.Backup.SHA256 {
		t.Errorf("metadata of the zip copy: %+v, %v", m, err)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: asZip.Backup.ID}); err != nil {
		t.Errorf("verify the zip copy: %v", err)
	}
	zipped := filepath.Join(zipDest.Local.Dir, filepath.FromSlash(asZip.Backup.Key))
	wantFiles(t, "the zip copy as stored", readZip(t, zipped).files, files)

	// And back into a pool: only the one object minio2 lacks is stored,
	// every file read as a file too large to hold is (hashed, then
	// deflated straight into the store).
	defer func(n int64) { *core.MaxBufferedFile = n }(*core.MaxBufferedFile)
	*core.MaxBufferedFile = 1 << 10
	back, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: asZip.Backup.ID, Destination: other.Name})
	if err != nil {
		t.Fatal(err)
	}
	e.wantPoolBackup(back.Backup, other, 11, 1)
	got := e.download(back.Backup.ID)
	wantFiles(t, "the zip copied into a pool", got.files, files)
	if want := readZip(t, zipped).dump; got.dump != want {
		t.Errorf("dump.sql of the zip copied into a pool: sha256 %s, want %s", got.dump, want)
	}
	e.wantRestores(e.engine, back.Backup.ID, "_cp", e.print(e.odoo.Name, e.odoo.FilestoreDir))
}

// Copying a pool backup whose pool lacks one of its objects fails in one
// sentence naming the object and the file, and writes nothing on the
// target.
func TestPoolCopyMissingObject(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 6, FilestoreBytes: 200 << 10})
	e.usePool()
	other := e.secondPoolS3()
	src := e.backup("minio")[0]
	var gone string
	for id := range e.poolObjects(e.s3) {
		gone = id
		break
	}
	if err := e.store(e.s3).Delete(e.ctx, pool.ObjectKey("prod", gone)); err != nil {
		t.Fatal(err)
	}
	for _, d := range []core.Destination{other, e.local} {
		res, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: src.ID, Destination: d.Name})
		if !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), gone) || !strings.Contains(err.Error(), "filestore file") ||
			strings.Count(err.Error(), ". ") > 0 || strings.Contains(err.Error(), "\n") {
			t.Errorf("copy to %s of a backup missing object %s: %v; want one sentence naming it", d.Name, gone, err)
		}
		if res.Backup.Status != core.StatusFailed {
			t.Errorf("the failed copy is recorded as %s", res.Backup.Status)
		}
		if keys := e.listAll(d); len(keys) != 0 {
			t.Errorf("a refused copy left %v on %s", keys, d.Name)
		}
	}
}

// A catalog rebuilt from pool destinations alone gets their backups back
// with their format and pool facts, and they download; a pool backup whose
// file list is gone is skipped as one whose archive is.
func TestPoolRebuild(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 8, FilestoreBytes: 300 << 10})
	e.usePool()
	files := maps.Clone(e.odoo.Files)
	first := e.backup("local", "minio")
	second := e.backup("local", "minio")
	taken := append(first, second...)
	if first[0].Destination != "local" {
		t.Fatalf("first backup is on %s, want local", first[0].Destination)
	}
	if err := e.store(e.local).Delete(e.ctx, pool.ListKey(first[0].Key)); err != nil {
		t.Fatal(err)
	}

	cat := openCatalog(t, filepath.Join(t.TempDir(), "catalog.db"))
	engine := &core.Engine{Catalog: cat, OpenStore: s3.Open}
	for _, d := range []core.Destination{e.local, e.s3} {
		d.ID, d.CreatedAt = 0, time.Time{}
		if err := cat.AddDestination(e.ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	prod := e.odoo.Service("prod")
	if err := cat.AddService(e.ctx, &prod, ""); err != nil {
		t.Fatal(err)
	}
	res, err := engine.RebuildCatalog(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added() != 3 {
		t.Errorf("rebuilt %d backups, want 3", res.Added())
	}
	var skipped []core.SkippedObject
	for _, d := range res.Destinations {
		skipped = append(skipped, d.Skipped...)
	}
	if len(skipped) != 1 || skipped[0].Key != core.MetadataKey(first[0].Key) || !strings.Contains(skipped[0].Reason, "file list") || !strings.Contains(skipped[0].Reason, "is missing") {
		t.Errorf("skipped %+v; want the backup whose file list is missing", skipped)
	}
	for _, b := range taken[1:] {
		got, err := cat.Backup(e.ctx, b.ID)
		if err != nil {
			t.Fatalf("backup %d not rebuilt: %v", b.ID, err)
		}
		if got.Format != core.FormatOdooPool || !reflect.DeepEqual(got.Pool, b.Pool) || got.Key != b.Key || got.SHA256 != b.SHA256 {
			t.Errorf("rebuilt backup %d: format %q, pool %+v; want %+v", b.ID, got.Format, got.Pool, b.Pool)
		}
	}
	e.engine = engine
	wantFiles(t, "a rebuilt pool backup", e.download(second[1].ID).files, files)
	e.wantRestores(engine, second[0].ID, "_rb", e.print(e.odoo.Name, e.odoo.FilestoreDir))
}

// An uploaded Odoo zip with a filestore goes into the pool of the service's
// primary when it keeps one: only the files that pool lacks are stored, a
// file whose content does not match its name is recorded, and the stored
// backup downloads to the uploaded files and dump. A zip with a hostile
// filestore name is refused as before, storing nothing.
func TestPoolUpload(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 8, FilestoreBytes: 300 << 10})
	files := maps.Clone(e.odoo.Files)
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	zb := e.backup("local")[0]
	external := filepath.Join(e.dir, "external.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: zb.ID, Path: external}); err != nil {
		t.Fatal(err)
	}
	// One file more, whose content is not what its name says.
	odd := "00/00112233445566778899aabbccddeeff00112233"
	upload := filepath.Join(e.dir, "upload.zip")
	{
		zr, err := zip.OpenReader(external)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, f := range zr.File {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
		}
		w, _ := zw.Create("filestore/" + odd)
		w.Write([]byte("not what the name says"))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		zr.Close()
		if err := os.WriteFile(upload, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files[odd] = sha256hex("not what the name says")

	e.usePool()
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: "minio", Frequency: core.Daily, Primary: true}); err != nil {
		t.Fatal(err)
	}
	e.backup("minio")
	b, info, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: upload, Service: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if !info.WithFilestore || info.FilestoreFiles != 9 {
		t.Errorf("inspected %+v; want 9 filestore files", info)
	}
	e.wantPoolBackup(b, e.s3, 9, 1)
	if b.Kind != core.KindUpload || b.Destination != "minio" || b.Pool.MismatchCount != 1 || !slices.Equal(b.Pool.Mismatched, []string{odd}) {
		t.Errorf("upload %+v, pool %+v; want an upload on minio with %s reported as not matching its name", b, b.Pool, odd)
	}
	if n := len(e.poolObjects(e.s3)); n != 9 {
		t.Errorf("pool holds %d objects after the upload, want 9", n)
	}
	got := e.download(b.ID)
	wantFiles(t, "the uploaded pool backup", got.files, files)
	if want := readZip(t, external).dump; got.dump != want {
		t.Errorf("dump.sql of the uploaded backup: sha256 %s, want %s", got.dump, want)
	}
	// The file no attachment names comes back too: it was uploaded.
	e.wantRestores(e.engine, b.ID, "_up", source, odd)

	// Hostile: refused before anything is stored.
	before := e.listAll(e.s3)
	hostile := e.writeFile("hostile.zip", zipOf(t, "dump.sql", string(pgDumpFile(t, e.odoo.Name)), "filestore/../../evil", "x"))
	if _, _, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: hostile, Service: "prod"}); !errors.Is(err, core.ErrCorrupt) && !errors.Is(err, core.ErrInvalid) {
		t.Errorf("upload of a zip with a hostile filestore name: %v; want it refused", err)
	}
	if after := e.listAll(e.s3); !slices.Equal(after, before) {
		t.Errorf("a refused upload changed the destination: %v, was %v", after, before)
	}
}

// A pool backup of a service that lost its configuration on the
// destination is an orphan, and still downloads with every file.
func TestPoolOrphanDownloads(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 6, FilestoreBytes: 200 << 10})
	e.usePool()
	files := maps.Clone(e.odoo.Files)
	b := e.backup("minio")[0]
	if err := e.cat.RemoveConfiguration(e.ctx, "prod", "minio"); err != nil {
		t.Fatal(err)
	}
	got, err := e.cat.Backup(e.ctx, b.ID)
	if err != nil || !got.Orphaned {
		t.Fatalf("backup %d after its configuration was removed: orphaned %v (%v); want an orphan", b.ID, got.Orphaned, err)
	}
	wantFiles(t, "an orphaned pool backup", e.download(b.ID).files, files)
	e.wantRestores(e.engine, b.ID, "_or", e.print(e.odoo.Name, e.odoo.FilestoreDir))
}

// An object altered behind the tool's back (same size, other bytes) is
// caught as it is streamed: the copy fails naming it, the altered object
// is not stored on the target and no backup is published there.
func TestPoolCopyAlteredObject(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 6, FilestoreBytes: 200 << 10})
	e.usePool()
	src := e.backup("local")[0]
	var altered string
	for id := range e.poolObjects(e.local) {
		altered = id
		break
	}
	p := filepath.Join(e.local.Local.Dir, filepath.FromSlash(pool.ObjectKey("prod", altered)))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: src.ID, Destination: "minio"})
	if !errors.Is(err, core.ErrCorrupt) || !strings.Contains(err.Error(), altered) {
		t.Fatalf("copy of a backup with an altered object: %v; want corrupt naming object %s", err, altered)
	}
	if res.Backup.Status != core.StatusFailed {
		t.Errorf("the failed copy is recorded as %s", res.Backup.Status)
	}
	if _, ok := e.poolObjects(e.s3)[altered]; ok {
		t.Errorf("the altered object %s was stored on the target", altered)
	}
	for _, k := range e.listAll(e.s3) {
		if !strings.HasPrefix(k, pool.Prefix("prod")) {
			t.Errorf("a failed copy left %s on the target", k)
		}
	}
}

// Copies between an encrypting zip destination and a pool: an encrypted
// zip backup is decrypted into the pool, and a pool backup is sealed for
// the encrypting destination as one zip; both download to the same files.
func TestPoolCopyEncrypted(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 6, FilestoreBytes: 200 << 10})
	files := maps.Clone(e.odoo.Files)
	vault := core.Destination{Name: "vault", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(e.dir, "vault")}, Encrypt: core.EncryptionSettings{Passphrase: "correct horse battery staple"}}
	os.MkdirAll(vault.Local.Dir, 0o700)
	e.addDestination(&vault)
	e.usePool()

	sealed := e.backup("vault")[0]
	if sealed.Encryption == "" || sealed.Format != core.FormatOdooZip {
		t.Fatalf("backup on vault: format %q, encryption %q; want an encrypted zip", sealed.Format, sealed.Encryption)
	}
	in, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: sealed.ID, Destination: "minio"})
	if err != nil {
		t.Fatal(err)
	}
	e.wantPoolBackup(in.Backup, e.s3, 6, 6)
	if in.Backup.Encryption != "" {
		t.Errorf("the pool copy says it is encrypted (%q)", in.Backup.Encryption)
	}
	wantFiles(t, "an encrypted zip copied into a pool", e.download(in.Backup.ID).files, files)

	out, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: in.Backup.ID, Destination: "vault"})
	if err != nil {
		t.Fatal(err)
	}
	if b := out.Backup; b.Format != core.FormatOdooZip || b.Pool != nil || b.Encryption != core.EncryptionPassphrase || !strings.HasSuffix(b.Key, ".zip.age") {
		t.Errorf("pool backup copied to an encrypting destination: %+v; want an encrypted zip", b)
	}
	raw, err := os.ReadFile(filepath.Join(vault.Local.Dir, filepath.FromSlash(out.Backup.Key)))
	if err != nil || !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n")) {
		t.Errorf("the copy on vault is not an age file (%v)", err)
	}
	wantFiles(t, "a pool backup copied to an encrypting destination", e.download(out.Backup.ID).files, files)
}

// A copy into a pool that a sweep holds waits for the sweep before it
// looks at the pool (it would otherwise count objects as present that the
// sweep is removing), with its running row there for later sweeps to see.
func TestPoolCopyWaitsForSweep(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 4, FilestoreBytes: 100 << 10})
	e.usePool()
	src := e.backup("minio")[0]
	host, _ := os.Hostname()
	lease := core.Lease{Name: core.PoolLease("prod", e.local.ID), Holder: "test sweep", PID: os.Getpid(), Host: host, Heartbeat: time.Now().Add(time.Hour)}
	if _, ok, err := e.cat.AcquireLease(e.ctx, lease, nil); err != nil || !ok {
		t.Fatalf("take the pool lease: %v %v", ok, err)
	}
	waiting := make(chan string, 100)
	defer core.SetPoolWaiting(func(l string) { waiting <- l })()
	done := make(chan error, 1)
	go func() {
		_, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: src.ID, Destination: "local"})
		done <- err
	}()
	if l := <-waiting; l != lease.Name {
		t.Fatalf("the copy waited for %s; want %s", l, lease.Name)
	}
	rows, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "prod", Destination: "local", Status: core.StatusRunning})
	if err != nil || len(rows) != 1 || rows[0].Kind != core.KindCopy {
		t.Fatalf("running rows while the copy waits: %+v, %v; want the copy's", rows, err)
	}
	if n := len(e.poolObjects(e.local)); n != 0 {
		t.Errorf("the copy stored %d objects while a sweep held the pool", n)
	}
	select {
	case err := <-done:
		t.Fatalf("the copy ended (%v) while a sweep held its pool's lease", err)
	default:
	}
	if err := e.cat.ReleaseLease(e.ctx, lease); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the copy after the sweep: %v", err)
	}
}
