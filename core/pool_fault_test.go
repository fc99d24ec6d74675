package core_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
)

// stopAfterObjects is a store that runs hook, once, when the pool object
// Put number after starts, and waits for it: "in the middle of the pool
// uploads", at a point the test picks.
type stopAfterObjects struct {
	core.ObjectStore
	after int64
	puts  atomic.Int64
	hook  func()
	once  sync.Once
}

func (s *stopAfterObjects) Put(ctx context.Context, key string, r io.Reader) error {
	if strings.Contains(key, "/pool/") && s.hook != nil && s.puts.Add(1) == s.after {
		s.once.Do(s.hook)
	}
	return s.ObjectStore.Put(ctx, key, r)
}

// poolList reads the file list of the pool backup b on d.
func (e *env) poolList(d core.Destination, b core.Backup) []pool.Entry {
	e.t.Helper()
	body, err := e.store(d).Get(e.ctx, pool.ListKey(b.Key), 0, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	defer body.Close()
	_, entries, err := pool.ReadList(body)
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

// wantPoolComplete checks every object the file list of b names is in the
// pool of d, with its recorded size, and holds the file's content.
func (e *env) wantPoolComplete(d core.Destination, b core.Backup) {
	e.t.Helper()
	objects := e.poolObjects(d)
	entries := e.poolList(d, b)
	if len(entries) != b.Pool.Files || len(entries) == 0 {
		e.t.Fatalf("backup %d on %s lists %d files, its facts say %d", b.ID, d.Name, len(entries), b.Pool.Files)
	}
	st := e.store(d)
	for _, en := range entries {
		size, ok := objects[en.Object]
		if !ok || size != en.Stored {
			e.t.Errorf("backup %d on %s: object %s of %s is %v (size %d), want it there with %d bytes", b.ID, d.Name, en.Object, en.Name, ok, size, en.Stored)
			continue
		}
		body, err := st.Get(e.ctx, pool.ObjectKey("prod", en.Object), 0, -1)
		if err != nil {
			e.t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, pool.Open(body, en))
		body.Close()
		if err != nil {
			e.t.Errorf("backup %d on %s: %v", b.ID, d.Name, err)
		}
		if want := e.odoo.Files[en.Name]; want != "" && want != en.SHA256 {
			e.t.Errorf("backup %d on %s: %s recorded with SHA-256 %s, the file has %s", b.ID, d.Name, en.Name, en.SHA256, want)
		}
	}
}

// MinIO stops in the middle of the pool uploads of a backup to it and to
// a local pool: the MinIO backup fails, naming the endpoint, and nothing
// of it is published; the local one succeeds with every object. Once
// MinIO is back the next backup completes the pool (storing only what the
// failed one had not) and succeeds, and every object its list names is
// there and holds its file.
func TestPoolFailureMinIOStopsMidUploads(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 41, Files: 300, FilestoreBytes: 12 << 20, MissingFiles: 2})
	e.usePool()
	m := testbed.StartMinIO(t)
	outage := e.addS3On("outage", m)
	outage.Layout = core.LayoutPool
	if err := e.cat.UpdateDestination(e.ctx, outage); err != nil {
		t.Fatal(err)
	}

	var stopErr error
	stopped := make(chan struct{})
	hooked := &stopAfterObjects{after: 40, hook: func() {
		stopErr = m.Stop()
		close(stopped)
	}}
	e.engine.OpenStore = func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
		if d.Name != outage.Name {
			return s3.Open(ctx, d)
		}
		st, err := s3.NewS3(s3.Config{S3Settings: d.S3, MaxRetries: 2})
		if err != nil {
			return nil, err
		}
		hooked.ObjectStore = st
		return hooked, nil
	}

	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "outage"}})
	select {
	case <-stopped:
	default:
		t.Fatalf("the backup stored fewer than %d pool objects; make the filestore bigger", hooked.after)
	}
	if stopErr != nil {
		t.Fatal(stopErr)
	}
	e.wantFailed(bs, err, "outage", m.Endpoint)
	var failed core.Backup
	for _, b := range bs {
		if b.Destination == "outage" {
			failed = b
			oneSentence(t, b.Error, m.Endpoint)
		}
	}
	e.wantSucceeded(bs, e.local)
	for _, b := range bs {
		if b.Destination == "local" {
			e.wantPoolComplete(e.local, b)
		}
	}
	e.noneRunning()
	if ok, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "prod", Destination: "outage", Status: core.StatusSucceeded}); err != nil || len(ok) > 0 {
		t.Fatalf("succeeded backups on the stopped MinIO: %+v, %v; want none", ok, err)
	}

	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	for _, k := range e.listAll(outage) {
		if !strings.HasPrefix(k, pool.Prefix("prod")) {
			t.Errorf("after the failed backup, %s holds %s; want nothing but pool objects (garbage for the sweep)", outage.Name, k)
		}
	}
	before := len(e.poolObjects(outage))
	if before == 0 {
		t.Fatalf("no pool object reached MinIO before it stopped; the test did not stop it in the middle")
	}

	hooked.hook = nil
	bs, err = e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"outage"}})
	if err != nil {
		t.Fatalf("the backup after MinIO came back: %v", err)
	}
	e.wantSucceeded(bs, outage)
	next := bs[0]
	after := len(e.poolObjects(outage))
	if next.Pool.NewObjects != after-before || next.Pool.NewObjects == 0 {
		t.Errorf("the next backup stored %d objects; the pool went from %d to %d", next.Pool.NewObjects, before, after)
	}
	if next.Pool.Files != 298 || next.MissingCount != 2 {
		t.Errorf("the next backup holds %d files and misses %d; want 298 and 2", next.Pool.Files, next.MissingCount)
	}
	e.wantPoolComplete(outage, next)
	if b, err := e.cat.Backup(e.ctx, failed.ID); err != nil || b.Status != core.StatusFailed {
		t.Errorf("the failed backup became %+v, %v; want it failed", b, err)
	}
	e.noneRunning()
}

// Interrupted in the middle of its pool uploads (here: when the 30th
// object's Put starts, while pg_dump may still run), a pool backup stops
// its workers, says it was interrupted, is recorded failed, and publishes
// nothing: no archive, list or metadata, only pool objects left for the
// sweep.
func TestPoolBackupInterruptedMidUploads(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 42, Files: 200, FilestoreBytes: 4 << 20})
	e.usePool()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	hooked := &stopAfterObjects{after: 30, hook: cancel}
	e.engine.OpenStore = func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
		st, err := s3.Open(ctx, d)
		if err != nil {
			return nil, err
		}
		hooked.ObjectStore = st
		return hooked, nil
	}
	bs, err := e.engine.Backup(ctx, core.BackupRequest{Service: "prod", Destinations: []string{"minio"}})
	if hooked.puts.Load() < hooked.after {
		t.Fatalf("only %d pool objects were stored; make the filestore bigger", hooked.puts.Load())
	}
	wantInterrupted(t, err, "the backup of prod was interrupted")
	if len(bs) != 1 || bs[0].Status != core.StatusFailed || !strings.Contains(bs[0].Error, "interrupted") {
		t.Errorf("interrupted backup recorded as %+v; want failed, interrupted", bs)
	}
	// The workers stopped: far fewer Puts than files began.
	if n := hooked.puts.Load(); n > hooked.after+2*16 {
		t.Errorf("%d pool object Puts began after the interruption at the %dth; want the workers to stop", n, hooked.after)
	}
	for _, k := range e.listAll(e.s3) {
		if !strings.HasPrefix(k, pool.Prefix("prod")) {
			t.Errorf("the interrupted backup left %s; want nothing but pool objects", k)
		}
	}
	e.noneRunning()
}

// One backup fanned out to a zip destination and a pool destination: both
// succeed, hold the same files and record the same missing one, and the
// pool's objects hold the files' contents.
func TestPoolAndZipInOneBackup(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 43, Files: 40, FilestoreBytes: 3 << 20, MissingFiles: 1})
	e.s3.Layout = core.LayoutPool
	if err := e.cat.UpdateDestination(e.ctx, e.s3); err != nil {
		t.Fatal(err)
	}
	bs := e.backup("local", "minio")
	if len(bs) != 2 {
		t.Fatalf("backups %+v; want two", bs)
	}
	var zipped, pooled core.Backup
	for _, b := range bs {
		if b.Destination == "local" {
			zipped = b
		} else {
			pooled = b
		}
	}
	if zipped.Format != core.FormatOdooZip || pooled.Format != core.FormatOdooPool || pooled.Pool == nil {
		t.Fatalf("formats %q and %q (pool %+v); want a zip and a pool backup", zipped.Format, pooled.Format, pooled.Pool)
	}
	if pooled.Pool.Files != 39 || zipped.MissingCount != 1 || pooled.MissingCount != 1 || pooled.MissingFiles[0] != e.odoo.Missing[0] {
		t.Errorf("pool backup holds %d files and misses %v, the zip misses %v; want 39 files and %s missing from both",
			pooled.Pool.Files, pooled.MissingFiles, zipped.MissingFiles, e.odoo.Missing[0])
	}
	e.wantPoolComplete(e.s3, pooled)
}
