package core_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// addDest adds a destination not configured for any service.
func (e *env) addDest(d core.Destination) core.Destination {
	e.t.Helper()
	if err := e.cat.AddDestination(e.ctx, &d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) secondS3() core.Destination {
	minio := servers.MinIO(e.t)
	return e.addDest(core.Destination{
		Name: "minio2",
		Kind: core.DestinationS3,
		S3:   core.S3Settings{Endpoint: minio.Endpoint, Bucket: minio.NewBucket(e.t), Prefix: "copies", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true},
	})
}

func (e *env) wantCopy(res core.CopyResult, src core.Backup, dest string, serverSide bool) {
	e.t.Helper()
	b := res.Backup
	if b.Status != core.StatusSucceeded || b.Kind != core.KindCopy || b.Destination != dest || b.SHA256 != src.SHA256 || b.Size != src.Size ||
		b.OdooVersion != src.OdooVersion || b.PGVersion != src.PGVersion || b.ID == src.ID {
		e.t.Fatalf("copy %+v of %+v to %s: want a succeeded copy with the same checksum and versions", b, src, dest)
	}
	if !strings.HasSuffix(b.Key, "_copy.zip") {
		e.t.Errorf("copy key %q: want the backup naming with kind copy", b.Key)
	}
	if res.ServerSide != serverSide {
		e.t.Errorf("copy to %s: server side %v, want %v", dest, res.ServerSide, serverSide)
	}
	d, err := e.cat.Destination(e.ctx, dest)
	if err != nil {
		e.t.Fatal(err)
	}
	st := e.store(d)
	m, err := readMeta(e, st, b.Key)
	if err != nil {
		e.t.Fatalf("metadata of the copy: %v", err)
	}
	if m.Kind != core.KindCopy || m.Archive != b.Key || m.SHA256 != src.SHA256 || len(m.Tables) == 0 {
		e.t.Errorf("metadata of the copy %+v: want kind copy, its own key, the source's checksum and table counts", m)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID}); err != nil {
		e.t.Errorf("verify the copy: %v", err)
	}
}

func readMeta(e *env, st core.ObjectStore, key string) (core.BackupMetadata, error) {
	rc, err := st.Get(e.ctx, core.MetadataKey(key), 0, -1)
	if err != nil {
		return core.BackupMetadata{}, err
	}
	defer rc.Close()
	buf := new(strings.Builder)
	if _, err := io.Copy(buf, rc); err != nil {
		return core.BackupMetadata{}, err
	}
	return core.ParseMetadata([]byte(buf.String()))
}

// Copies between two buckets of one MinIO are made by the server; MinIO to
// local and local to MinIO are streamed; every copy has the source's
// checksum, is recorded as kind copy, and restores to the same database.
func TestCopyBackup(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 11})
	other := e.secondS3()
	if err := os.MkdirAll(filepath.Join(e.dir, "archive"), 0o700); err != nil {
		t.Fatal(err)
	}
	elsewhere := e.addDest(core.Destination{Name: "archive", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(e.dir, "archive")}})
	src := e.backup("minio")[0]

	var phases []core.Phase
	res, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: src.ID, Destination: other.Name, Progress: func(p core.Progress) { phases = append(phases, p.Phase) }})
	if err != nil {
		t.Fatal(err)
	}
	e.wantCopy(res, src, other.Name, true)
	for _, p := range phases {
		if p == core.PhaseCopy {
			t.Errorf("a copy on the same endpoint streamed the archive (phases %v)", phases)
		}
	}
	if !res.Backup.Orphaned {
		t.Error("a copy to a destination not configured for the service should be an orphan")
	}

	toLocal, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: src.ID, Destination: "local"})
	if err != nil {
		t.Fatal(err)
	}
	e.wantCopy(toLocal, src, "local", false)
	if toLocal.Backup.Orphaned {
		t.Error("a copy to a configured destination is not an orphan")
	}

	back, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: toLocal.Backup.ID, Destination: elsewhere.Name})
	if err != nil {
		t.Fatal(err)
	}
	e.wantCopy(back, src, elsewhere.Name, false)
	up, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: back.Backup.ID, Destination: "minio"})
	if err != nil {
		t.Fatal(err)
	}
	e.wantCopy(up, src, "minio", false)

	if _, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: src.ID, Destination: "minio"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("copy onto its own destination: got %v, want ErrInvalid", err)
	}
	if _, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: src.ID, Destination: "nowhere"}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("copy to an unknown destination: got %v, want ErrNotFound", err)
	}

	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	newDB := e.odoo.Name + "_cp"
	r, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: res.Backup.ID, NewDB: newDB})
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.Diff(e.print(newDB, r.FilestoreDir)); len(diff) > 0 {
		t.Errorf("the restored copy differs from the source database: %v", diff)
	}
}

// A source that no longer matches its checksum is not copied, streamed or
// server-side, and nothing is left on the target.
func TestCopyCorruptSourceRefused(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 12})
	other := e.secondS3()
	b := e.backup("local")[0]
	e.corrupt(b)
	res, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: b.ID, Destination: "minio"})
	if !errors.Is(err, core.ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("streamed copy of a corrupt backup: got %v, want ErrCorrupt saying the checksum does not match", err)
	}
	if res.Backup.Status != core.StatusFailed || res.Backup.Kind != core.KindCopy {
		t.Errorf("failed copy recorded as %+v, want a failed copy", res.Backup)
	}
	if keys := e.listAll(e.s3); len(keys) != 0 {
		t.Errorf("a refused copy left %v on the target", keys)
	}

	// Server-side: corrupt the MinIO archive by overwriting it.
	sb := e.backup("minio")[0]
	st := e.store(e.s3)
	rc, err := st.Get(e.ctx, sb.Key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	buf := new(strings.Builder)
	_, _ = io.Copy(buf, rc)
	rc.Close()
	data := []byte(buf.String())
	data[len(data)/2] ^= 0xff
	if err := st.Put(e.ctx, sb.Key, strings.NewReader(string(data))); err != nil {
		t.Fatal(err)
	}
	res, err = e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: sb.ID, Destination: other.Name})
	if !errors.Is(err, core.ErrCorrupt) || !strings.Contains(err.Error(), "checksum") || !res.ServerSide {
		t.Fatalf("server-side copy of a corrupt backup: got %v (server side %v), want ErrCorrupt saying the checksum does not match", err, res.ServerSide)
	}
	if keys := e.listAll(other); len(keys) != 0 {
		t.Errorf("a refused server-side copy left %v on the target", keys)
	}
}
