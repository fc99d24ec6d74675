package core_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// usePool turns both destinations of the env to the pool layout.
func (e *env) usePool() {
	e.t.Helper()
	for _, d := range []*core.Destination{&e.local, &e.s3} {
		d.Layout = core.LayoutPool
		if err := e.cat.UpdateDestination(e.ctx, *d); err != nil {
			e.t.Fatal(err)
		}
	}
}

// poolObjects lists the object ids of the service's pool on d.
func (e *env) poolObjects(d core.Destination) map[string]int64 {
	e.t.Helper()
	list, err := e.store(d).List(e.ctx, pool.Prefix("prod"))
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, o := range list {
		if id, ok := pool.ParseObjectKey("prod", o.Key); ok {
			out[id] = o.Size
		}
	}
	return out
}

// syncBuffer is a buffer the engine's workers may log to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPoolBackupStoresWhatChanged: a backup to a pool destination stores
// each file once, a second one stores nothing it already has, a new file
// is the only thing a third one stores, and a file whose content does not
// match its name is reported, both on a local directory and on MinIO.
func TestPoolBackupStoresWhatChanged(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 12, FilestoreBytes: 600 << 10, MissingFiles: 1})
	e.usePool()
	first := e.backup("local", "minio")
	for _, b := range first {
		if b.Format != core.FormatOdooPool || b.Pool == nil {
			t.Fatalf("backup on %s: format %q, pool %+v; want a pool backup", b.Destination, b.Format, b.Pool)
		}
		if b.Pool.Files != 11 || b.MissingCount != 1 {
			t.Errorf("backup on %s holds %d files, misses %d; want 11 and 1", b.Destination, b.Pool.Files, b.MissingCount)
		}
		d := e.local
		if b.Destination == "minio" {
			d = e.s3
		}
		objects := e.poolObjects(d)
		if len(objects) != b.Pool.NewObjects || b.Pool.NewObjects == 0 {
			t.Errorf("%s: pool holds %d objects, backup says it stored %d", b.Destination, len(objects), b.Pool.NewObjects)
		}
		var stored int64
		for _, n := range objects {
			stored += n
		}
		if stored != b.Pool.NewBytes {
			t.Errorf("%s: pool holds %d bytes, backup says %d", b.Destination, stored, b.Pool.NewBytes)
		}
		if _, err := e.store(d).Stat(e.ctx, pool.ListKey(b.Key)); err != nil {
			t.Errorf("%s: file list: %v", b.Destination, err)
		}
	}

	second := e.backup("local", "minio")
	for _, b := range second {
		if b.Pool.NewObjects != 0 || b.Pool.Files != 11 {
			t.Errorf("unchanged filestore: backup on %s stored %d objects for %d files; want 0 for 11", b.Destination, b.Pool.NewObjects, b.Pool.Files)
		}
	}

	added, err := e.odoo.AddAttachment(e.ctx, []byte(strings.Repeat("a new invoice ", 5000)), "")
	if err != nil {
		t.Fatal(err)
	}
	// A file whose content is not what its name says (bit rot, a
	// tampered filestore): backed up as it is, and reported.
	odd, err := e.odoo.AddAttachment(e.ctx, []byte("not what the name says"), "00/00112233445566778899aabbccddeeff00112233")
	if err != nil {
		t.Fatal(err)
	}
	var logged syncBuffer
	e.engine.Log = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
	third := e.backup("local", "minio")
	e.engine.Log = nil
	if warns := strings.Count(logged.String(), "file="+odd); warns != 1 || !strings.Contains(logged.String(), "level=WARN msg=\"a filestore file's content does not match its name") {
		t.Errorf("engine log says %d times that %s does not match its name, want once, as a warning:\n%s", warns, odd, logged.String())
	}
	for _, b := range third {
		if b.Pool.NewObjects != 2 || b.Pool.Files != 13 {
			t.Errorf("after two new files: backup on %s stored %d objects for %d files; want 2 for 13", b.Destination, b.Pool.NewObjects, b.Pool.Files)
		}
		if b.Pool.MismatchCount != 1 || len(b.Pool.Mismatched) != 1 || b.Pool.Mismatched[0] != odd {
			t.Errorf("backup on %s: mismatches %d %v; want %s", b.Destination, b.Pool.MismatchCount, b.Pool.Mismatched, odd)
		}
		got, err := e.cat.Backup(e.ctx, b.ID)
		if err != nil || got.Pool == nil || got.Pool.ListSHA256 != b.Pool.ListSHA256 || got.Pool.MismatchCount != 1 {
			t.Errorf("catalog row of backup %d: %+v, %v", b.ID, got.Pool, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.odoo.FilestoreDir, added)); err != nil {
		t.Fatal(err)
	}
}

// TestPoolDownloadIsAStandardZip: a pool backup downloads as one Odoo zip
// that Python's zipfile reads back (every CRC checked) with the database
// and every filestore file as they were.
func TestPoolDownloadIsAStandardZip(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Files: 10, FilestoreBytes: 400 << 10})
	e.usePool()
	b := e.backup("minio")[0]
	out := filepath.Join(t.TempDir(), "prod.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: b.ID, Path: out}); err != nil {
		t.Fatal(err)
	}
	script := `import zipfile, hashlib, json, sys
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
if bad: sys.exit("bad entry " + bad)
out = {n[len("filestore/"):]: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist() if n.startswith("filestore/")}
print(json.dumps({"names": sorted(z.namelist())[:2], "files": out}))`
	raw, err := exec.Command("python3", "-c", script, out).CombinedOutput()
	if err != nil {
		t.Fatalf("python zipfile: %v: %s", err, raw)
	}
	var got struct {
		Names []string          `json:"names"`
		Files map[string]string `json:"files"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if len(got.Files) != len(e.odoo.Files) {
		t.Errorf("zip holds %d filestore files, the filestore %d", len(got.Files), len(e.odoo.Files))
	}
	for name, sum := range e.odoo.Files {
		if got.Files[name] != sum {
			t.Errorf("file %s: zip has sha256 %q, filestore %q", name, got.Files[name], sum)
		}
	}
	if len(got.Names) != 2 || got.Names[0] != "dump.sql" || !strings.HasPrefix(got.Names[1], "filestore/") {
		t.Errorf("entries start %v", got.Names)
	}

	// An object altered behind the tool's back: the download fails, names
	// the file, and leaves no file.
	list := e.poolObjects(e.s3)
	for id := range list {
		if err := e.store(e.s3).Put(e.ctx, pool.ObjectKey("prod", id), strings.NewReader("garbage")); err != nil {
			t.Fatal(err)
		}
		break
	}
	again := filepath.Join(t.TempDir(), "again.zip")
	_, err = e.engine.Download(e.ctx, core.DownloadRequest{BackupID: b.ID, Path: again})
	if !errors.Is(err, core.ErrCorrupt) || !strings.Contains(err.Error(), "filestore file") {
		t.Errorf("download of an altered pool: %v; want corrupt naming the file", err)
	}
	if _, serr := os.Stat(again); serr == nil {
		t.Errorf("a failed download left %s", again)
	}
}
