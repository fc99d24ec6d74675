package core_test

import (
	"bytes"
	"log/slog"
	"os"
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
