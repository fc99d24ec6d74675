package core_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
)

// Servers and disks that fail while a backup runs. Each case checks what a
// sysadmin relies on: the history row says in one sentence what went wrong,
// the destination that failed shows nothing, no row is left running, and the
// destinations that did not fail still get their backup.

// hookedS3 is an S3 store whose Put calls hook, once, when the S3 client
// has read after bytes of the archive, and waits for it: a deterministic
// "in the middle of the upload".
type hookedS3 struct {
	*s3.S3
	after int64
	hook  func()
	once  sync.Once
}

func (h *hookedS3) Put(ctx context.Context, key string, r io.Reader) error {
	if strings.HasSuffix(key, ".json") || h.hook == nil {
		return h.S3.Put(ctx, key, r)
	}
	return h.S3.Put(ctx, key, &hookReader{r: r, h: h})
}

type hookReader struct {
	r io.Reader
	h *hookedS3
	n int64
}

func (r *hookReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.n >= r.h.after {
		r.h.once.Do(r.h.hook)
	}
	return n, err
}

// smallPartsOpener opens S3 destinations with 5 MiB parts, so a few MiB make
// a multipart upload with several parts; hooked, if set, is used for the
// destination of that name.
func smallPartsOpener(hooked map[string]*hookedS3) core.StoreOpener {
	return func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
		if d.Kind != core.DestinationS3 {
			return s3.Open(ctx, d)
		}
		st, err := s3.NewS3(s3.Config{S3Settings: d.S3, PartSize: s3.MinPartSize, MaxRetries: 2})
		if err != nil {
			return nil, err
		}
		if h := hooked[d.Name]; h != nil {
			h.S3 = st
			return h, nil
		}
		return st, nil
	}
}

// addS3On adds an S3 destination on server m, configured for prod.
func (e *env) addS3On(name string, m *testbed.MinIO) core.Destination {
	e.t.Helper()
	d := core.Destination{
		Name: name,
		Kind: core.DestinationS3,
		S3:   core.S3Settings{Endpoint: m.Endpoint, Bucket: m.NewBucket(e.t), Prefix: "odoo", AccessKey: m.AccessKey, SecretKey: core.Secret(m.SecretKey), NoTLS: true},
	}
	return e.configure(e.addDest(d))
}

// configure adds d to prod's configurations, manual only.
func (e *env) configure(d core.Destination) core.Destination {
	e.t.Helper()
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: d.Name}); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// noneRunning checks the catalog holds no backup still marked running.
func (e *env) noneRunning() {
	e.t.Helper()
	running, err := e.cat.Backups(e.ctx, core.BackupFilter{Status: core.StatusRunning})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(running) > 0 {
		e.t.Errorf("backups left running in the catalog: %+v", running)
	}
}

// wantSucceeded checks the backup on dest succeeded and its archive and
// metadata are on the destination.
func (e *env) wantSucceeded(bs []core.Backup, d core.Destination) {
	e.t.Helper()
	found := false
	for _, b := range bs {
		if b.Destination != d.Name {
			continue
		}
		found = true
		if b.Status != core.StatusSucceeded || b.Error != "" {
			e.t.Errorf("backup on %s: %s %q; want succeeded", d.Name, b.Status, b.Error)
			continue
		}
		keys := e.listAll(d)
		if !contains(keys, b.Key) || !contains(keys, core.MetadataKey(b.Key)) {
			e.t.Errorf("%s holds %q; want the archive %s and its metadata", d.Name, keys, b.Key)
		}
	}
	if !found {
		e.t.Errorf("no backup on %s in %+v", d.Name, bs)
	}
}

func contains(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// oneSentence checks a history error is one line naming what failed.
func oneSentence(t *testing.T, msg string, wants ...string) {
	t.Helper()
	t.Logf("history error: %s", msg)
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("error %q; want one sentence on one line", msg)
	}
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q; want it to contain %q", msg, w)
		}
	}
}

// MinIO stops after the upload has sent its first parts: the S3 backup
// fails with a sentence naming the endpoint, the local one of the same run
// succeeds, the bucket shows nothing once MinIO is back, no part is left
// stored, and the next run succeeds.
func TestFailureMinIOStopsMidUpload(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 31, FilestoreBytes: 24 << 20})
	m := testbed.StartMinIO(t)
	outage := e.addS3On("outage", m)

	var stopErr error
	stopped := make(chan struct{})
	h := &hookedS3{after: 2*s3.MinPartSize + 1, hook: func() {
		stopErr = m.Stop()
		close(stopped)
	}}
	e.engine.OpenStore = smallPartsOpener(map[string]*hookedS3{"outage": h})

	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "outage"}})
	select {
	case <-stopped:
	default:
		t.Fatalf("the archive ended before %d bytes were uploaded; make the service bigger", h.after)
	}
	if stopErr != nil {
		t.Fatal(stopErr)
	}
	e.wantFailed(bs, err, "outage", m.Endpoint)
	for _, b := range bs {
		if b.Destination == "outage" {
			oneSentence(t, b.Error, "cannot reach "+m.Endpoint)
		}
	}
	if !errors.Is(err, core.ErrUnreachable) {
		t.Errorf("error %v; want it to wrap ErrUnreachable", err)
	}
	e.wantSucceeded(bs, e.local)
	e.noneRunning()

	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if keys := e.listAll(outage); len(keys) > 0 {
		t.Errorf("after MinIO came back, the bucket shows %q; want nothing of the failed backup", keys)
	}
	// The upload's first parts reached the server before it stopped, and
	// the abort could not: the failed backup still holds them, invisible,
	// and a daemon restart (RecoverInterrupted, for rows left running)
	// does not see a row that is failed.
	var failed core.Backup
	for _, b := range bs {
		if b.Destination == "outage" {
			failed = b
		}
	}
	if n := incompleteUploads(t, m, outage, failed.Key); n != 1 {
		t.Fatalf("%d incomplete uploads of %s after the outage; want the 1 whose abort could not reach the server", n, failed.Key)
	}
	if rec, err := e.engine.RecoverInterrupted(e.ctx, time.Hour); err != nil || len(rec) > 0 {
		t.Errorf("RecoverInterrupted = %+v, %v; want nothing to recover", rec, err)
	}

	// The next run succeeds, and aborts what the failed one left.
	h.hook = nil
	bs, err = e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"outage"}})
	if err != nil {
		t.Fatalf("the backup after MinIO came back: %v", err)
	}
	e.wantSucceeded(bs, outage)
	if n := incompleteUploads(t, m, outage, failed.Key); n != 0 {
		t.Errorf("%d incomplete uploads of %s after the next successful backup; want none", n, failed.Key)
	}
	if b, err := e.cat.Backup(e.ctx, failed.ID); err != nil || b.Status != core.StatusFailed || b.Error != failed.Error {
		t.Errorf("the failed backup became %+v, %v; want it unchanged", b, err)
	}
	e.noneRunning()
}

// incompleteUploads counts the multipart uploads of key on d. (A restarted
// MinIO lists the uploads of an exact key only, not of the whole bucket.)
func incompleteUploads(t *testing.T, m *testbed.MinIO, d core.Destination, key string) int {
	t.Helper()
	c, err := m.Client()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for up := range c.ListIncompleteUploads(t.Context(), d.S3.Bucket, d.S3.Prefix+"/"+key, false) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		if up.Key == d.S3.Prefix+"/"+key {
			n++
		}
	}
	return n
}

// In the fan-out, one destination that cannot take the backup does not stop
// the other.
func TestFailureOneDestinationDown(t *testing.T) {
	t.Run("local directory gone, S3 up", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 32})
		if err := os.RemoveAll(e.local.Local.Dir); err != nil {
			t.Fatal(err)
		}
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "minio"}})
		e.wantFailed(bs, err, "local", e.local.Local.Dir)
		for _, b := range bs {
			if b.Destination == "local" {
				oneSentence(t, b.Error, e.local.Local.Dir)
			}
		}
		e.wantSucceeded(bs, e.s3)
		if _, err := os.Stat(e.local.Local.Dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the missing local directory was created (%v); an unmounted disk must stay empty", err)
		}
		e.noneRunning()
	})
	t.Run("MinIO stopped, local up", func(t *testing.T) {
		e := newEnv(t, testbed.OdooOptions{Seed: 33})
		m := testbed.StartMinIO(t)
		down := e.addS3On("down", m)
		if err := m.Stop(); err != nil {
			t.Fatal(err)
		}
		e.engine.OpenStore = smallPartsOpener(nil)
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "down"}})
		e.wantFailed(bs, err, "down", m.Endpoint)
		for _, b := range bs {
			if b.Destination == "down" {
				oneSentence(t, b.Error, "cannot reach "+m.Endpoint+" (connection refused)")
			}
		}
		e.wantSucceeded(bs, e.local)
		e.noneRunning()
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		if keys := e.listAll(down); len(keys) > 0 {
			t.Errorf("the bucket shows %q; want nothing", keys)
		}
	})
}

// A local destination on a full disk: the backup there fails saying the
// disk is full, leaves no temporary file, and MinIO still gets its backup.
func TestFailureLocalDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	e := newEnv(t, testbed.OdooOptions{Seed: 34, FilestoreBytes: 4 << 20})
	dir := filepath.Join(e.dir, "small-disk")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a 2 MiB tmpfs on %s (%v: %s); this test needs a system that allows mount", dir, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	small := e.configure(e.addDest(core.Destination{Name: "small", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: dir}}))

	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"small", "minio"}})
	e.wantFailed(bs, err, "small", "full")
	for _, b := range bs {
		if b.Destination == "small" {
			oneSentence(t, b.Error, dir)
		}
	}
	if !errors.Is(err, core.ErrNoSpace) {
		t.Errorf("error %v; want it to wrap ErrNoSpace", err)
	}
	e.wantSucceeded(bs, e.s3)
	var left []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("files left on the full disk: %q; want none (no temporary file either)", left)
	}
	if keys := e.listAll(small); len(keys) > 0 {
		t.Errorf("the full destination lists %q; want nothing", keys)
	}
	e.noneRunning()
}

// PostgreSQL stops while pg_dump is halfway through the database: the
// backup fails with pg_dump's own reason, no destination shows anything, and
// the catalog holds one failed row per destination.
func TestFailurePostgresStopsMidDump(t *testing.T) {
	ctx := context.Background()
	own, err := testbed.NewPostgres(ctx)
	testbed.Need(t, "PostgreSQL", err)
	defer own.Close()
	e := newEnv(t, testbed.OdooOptions{Seed: 35})
	odoo, err := testbed.GenerateOdoo(ctx, own, "middump", filepath.Join(e.dir, "own"), testbed.OdooOptions{Seed: 35, DumpBytes: 12 << 20})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.DB, e.svc.FilestoreDir = odoo.Service("prod").DB, odoo.FilestoreDir
	if err := e.cat.UpdateService(e.ctx, e.svc); err != nil {
		t.Fatal(err)
	}

	// pg_dump runs behind a gate: after its first MiB of output it waits
	// until the test has stopped the server, then goes on.
	tools := t.TempDir()
	gate := filepath.Join(tools, "gate")
	if err := syscall.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	realDump, err := core.PGTools{}.Find("pg_dump", own.Version)
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`#!/bin/bash
if [ "$1" = --version ]; then exec %q --version; fi
set -o pipefail
%q "$@" | { head -c 1048576; read -r _ < %q; cat; }
`, realDump.Path, realDump.Path, gate)
	if err := os.WriteFile(filepath.Join(tools, "pg_dump"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.engine.Tools = core.PGTools{Dirs: []string{tools}, NoPath: true}

	stopped := make(chan error, 1)
	go func() {
		// Opening the gate for writing waits for pg_dump to reach it.
		f, err := os.OpenFile(gate, os.O_WRONLY, 0)
		if err != nil {
			stopped <- err
			return
		}
		err = own.Stop()
		fmt.Fprintln(f)
		f.Close()
		stopped <- err
	}()
	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "minio"}})
	select {
	case serr := <-stopped:
		if serr != nil {
			t.Fatal(serr)
		}
	default:
		t.Fatal("the backup ended before pg_dump reached the gate")
	}
	for _, d := range []string{"local", "minio"} {
		e.wantFailed(bs, err, d, fmt.Sprintf("pg_dump of database %q failed", odoo.Name))
	}
	for _, b := range bs {
		oneSentence(t, b.Error, "server closed the connection unexpectedly")
	}
	if keys := append(e.listAll(e.local), e.listAll(e.s3)...); len(keys) > 0 {
		t.Errorf("objects left: %q", keys)
	}
	e.noneRunning()
	if rec, err := e.engine.RecoverInterrupted(e.ctx, time.Hour); err != nil || len(rec) > 0 {
		t.Errorf("RecoverInterrupted found %+v, %v; want nothing to recover", rec, err)
	}
}
