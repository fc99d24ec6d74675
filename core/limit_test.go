package core_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
)

// limitedLocal adds a local destination limited to upload bytes per
// second, configured for prod.
func (e *env) limitedLocal(name string, upload int64) core.Destination {
	e.t.Helper()
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	return e.configure(e.addDest(core.Destination{Name: name, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: dir},
		Limits: core.BandwidthLimits{Upload: upload}}))
}

// A backup to a limited destination and unlimited ones: every one gets the
// same archive, the limited one's bytes all went through its limiter, and
// the spill file that held them back is gone.
func TestBackupLimitedDestination(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 61, FilestoreBytes: 6 << 20})
	spill := t.TempDir()
	t.Setenv("TMPDIR", spill)
	slow := e.limitedLocal("slow", 4<<20)
	taken := core.DestinationLimiters(slow).Up.Taken()
	bs := e.backup("slow", "local", "minio")
	e.wantSucceeded(bs, slow)
	e.wantSucceeded(bs, e.local)
	e.wantSucceeded(bs, e.s3)
	var sums []string
	var size int64
	for _, b := range bs {
		if b.Destination != "minio" {
			sums = append(sums, b.SHA256)
			size = b.Size
		}
	}
	if len(sums) != 2 || sums[0] != sums[1] {
		t.Errorf("archive checksums %q; want the limited and the unlimited local destinations to hold the same archive", sums)
	}
	if got := core.DestinationLimiters(slow).Up.Taken() - taken; got < size {
		t.Errorf("the limiter of %s counted %d bytes; want at least the archive's %d", slow.Name, got, size)
	}
	if entries, _ := os.ReadDir(spill); len(entries) != 0 {
		t.Errorf("the temporary directory holds %d entries after the backup; want none", len(entries))
	}
	e.noneRunning()
}

// While a limited destination still uploads, the others of the backup are
// recorded at once: their rows succeed and their metadata objects are
// stored when their own archive is, not when the slowest is done.
func TestLimitedDestinationHoldsNoOtherRow(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 63, FilestoreBytes: 2 << 20})
	t.Setenv("TMPDIR", t.TempDir())
	// 4 KiB/s: the archive (over 2 MiB) would take minutes to crawl there.
	e.limitedLocal("crawl", 4<<10)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	type result struct {
		bs  []core.Backup
		err error
	}
	done := make(chan result, 1)
	go func() {
		bs, err := e.engine.Backup(ctx, core.BackupRequest{Service: "prod", Destinations: []string{"crawl", "local"}})
		done <- result{bs, err}
	}()
	deadline := time.Now().Add(3 * time.Minute)
	var local core.Backup
	for local.Status != core.StatusSucceeded {
		if time.Now().After(deadline) {
			t.Fatalf("the backup on local is still %s after 3 minutes; want it recorded while crawl uploads", local.Status)
		}
		select {
		case r := <-done:
			t.Fatalf("the backup ended (%v) before its row on local was seen succeeded", r.err)
		case <-time.After(20 * time.Millisecond):
		}
		rows, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "prod"})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range rows {
			switch b.Destination {
			case "local":
				local = b
			case "crawl":
				if b.Status != core.StatusRunning {
					t.Fatalf("the backup on crawl is %s (%q) before local's was recorded; want it still uploading", b.Status, b.Error)
				}
			}
		}
	}
	if local.Phase != "" || local.FinishedAt == nil {
		t.Errorf("local's row reads phase %q, finished %v; want it finished with no live progress", local.Phase, local.FinishedAt)
	}
	// Its metadata object is there already (a rebuild would find it), and
	// the archive is whole.
	if _, err := e.store(e.local).Stat(e.ctx, core.MetadataKey(local.Key)); err != nil {
		t.Errorf("the metadata object of local's backup %d while crawl uploads: %v", local.ID, err)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: local.ID}); err != nil {
		t.Errorf("verify of local's backup %d while crawl uploads: %v", local.ID, err)
	}
	cancel()
	r := <-done
	if r.err == nil {
		t.Fatal("the interrupted backup returned no error")
	}
	e.wantSucceeded(r.bs, e.local)
	for _, b := range r.bs {
		if b.Destination == "crawl" && b.Status != core.StatusFailed {
			t.Errorf("the backup on crawl is %s after the interruption; want failed", b.Status)
		}
	}
	// The progress ticks that went on for crawl left local's row alone.
	got, err := e.cat.Backup(e.ctx, local.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.StatusSucceeded || got.Phase != "" {
		t.Errorf("local's row after the backup: %s, phase %q; want succeeded with no phase", got.Status, got.Phase)
	}
	e.noneRunning()
}

// The disk holding the spill file fills up: the limited destination alone
// fails, saying so in one sentence; the others get their backup.
func TestBackupSpillDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	e := newEnv(t, testbed.OdooOptions{Seed: 62, FilestoreBytes: 8 << 20})
	spill := filepath.Join(e.dir, "small-tmp")
	if err := os.MkdirAll(spill, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", spill).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a 1 MiB tmpfs on %s (%v: %s); this test needs a system that allows mount", spill, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", spill).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", spill, err, out)
		}
	})
	t.Setenv("TMPDIR", spill)
	slow := e.limitedLocal("slow", 512<<10)
	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"slow", "local"}})
	e.wantFailed(bs, err, "slow", "full")
	if !errors.Is(err, core.ErrNoSpace) {
		t.Errorf("error %v; want it to wrap ErrNoSpace", err)
	}
	for _, b := range bs {
		if b.Destination == "slow" {
			oneSentence(t, b.Error, spill, `destination "slow"`)
		}
	}
	e.wantSucceeded(bs, e.local)
	if keys := e.listAll(slow); len(keys) > 0 {
		t.Errorf("the limited destination lists %q; want nothing", keys)
	}
	if entries, _ := os.ReadDir(spill); len(entries) != 0 {
		t.Errorf("the temporary directory holds %d entries; want none", len(entries))
	}
	e.noneRunning()
}

// A pool backup to a limited pool destination and an unlimited one: the
// limited one stores its objects from a line of its own, reading the files
// again, and both end with complete pools and file lists; the next backup
// finds everything there.
func TestPoolBackupLimitedDestination(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 63, Files: 40, FilestoreBytes: 6 << 20})
	e.usePool()
	e.local.Limits.Upload = 4 << 20
	if err := e.cat.UpdateDestination(e.ctx, e.local); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", t.TempDir())
	taken := core.DestinationLimiters(e.local).Up.Taken()
	bs := e.backup("local", "minio")
	var stored int64
	for _, b := range bs {
		d := map[string]core.Destination{"local": e.local, "minio": e.s3}[b.Destination]
		if b.Status != core.StatusSucceeded || b.Pool == nil || b.Pool.NewObjects == 0 {
			t.Fatalf("backup on %s: %s %q, pool %+v; want a succeeded pool backup that stored objects", b.Destination, b.Status, b.Error, b.Pool)
		}
		e.wantPoolComplete(d, b)
		if b.Destination == "local" {
			stored = b.Pool.NewBytes + b.Size + b.Pool.ListSize
		}
	}
	if bs[0].Pool.Files != bs[1].Pool.Files || bs[0].Pool.NewObjects != bs[1].Pool.NewObjects {
		t.Errorf("the two pools got %+v and %+v; want the same files and objects", bs[0].Pool, bs[1].Pool)
	}
	if got := core.DestinationLimiters(e.local).Up.Taken() - taken; got < stored {
		t.Errorf("the limiter counted %d bytes; want at least the %d stored", got, stored)
	}
	for _, b := range e.backup("local", "minio") {
		if b.Status != core.StatusSucceeded || b.Pool == nil || b.Pool.NewObjects != 0 {
			t.Errorf("second backup on %s: %s %q, pool %+v; want every object found in the pool", b.Destination, b.Status, b.Error, b.Pool)
		}
	}
	e.noneRunning()
}

// hookStore calls before, once, ahead of the first Put whose key starts
// with prefix, and after once a Put of a key ending in suffix returned.
type hookStore struct {
	core.ObjectStore
	prefix, suffix string
	before, after  func()
}

func (h hookStore) Put(ctx context.Context, key string, r io.Reader) error {
	if h.before != nil && strings.HasPrefix(key, h.prefix) {
		h.before()
	}
	err := h.ObjectStore.Put(ctx, key, r)
	if h.after != nil && strings.HasSuffix(key, h.suffix) {
		h.after()
	}
	return err
}

// The limited pool destination reads the files again from its own line,
// after the other destination is done with them; files gone by then fail
// it alone, in one sentence, and the other keeps its backup.
func TestPoolLimitedDestinationFilesGone(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 64, Files: 40, FilestoreBytes: 2 << 20})
	e.usePool()
	e.local.Limits.Upload = 4 << 20
	if err := e.cat.UpdateDestination(e.ctx, e.local); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", t.TempDir())
	othersDone := make(chan struct{})
	var doneOnce, goneOnce sync.Once
	engine := *e.engine
	engine.OpenStore = func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
		st, err := s3.Open(ctx, d)
		if err != nil {
			return nil, err
		}
		switch d.Name {
		case "minio":
			return hookStore{ObjectStore: st, suffix: ".zip", after: func() { doneOnce.Do(func() { close(othersDone) }) }}, nil
		case "local":
			return hookStore{ObjectStore: st, prefix: pool.Prefix("prod"), before: func() {
				goneOnce.Do(func() {
					<-othersDone
					if err := os.RemoveAll(e.odoo.FilestoreDir); err != nil {
						t.Error(err)
					}
				})
			}}, nil
		}
		return st, nil
	}
	bs, err := engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "minio"}})
	e.wantFailed(bs, err, "local", "changed while it was being backed up")
	for _, b := range bs {
		if b.Destination == "local" {
			oneSentence(t, b.Error, "could not be opened again")
		}
	}
	e.wantSucceeded(bs, e.s3)
	for _, b := range bs {
		if b.Destination == "minio" {
			e.wantPoolComplete(e.s3, b)
		}
	}
	if keys := e.listAll(e.local); len(keys) > 0 {
		var archives []string
		for _, k := range keys {
			if !strings.HasPrefix(k, pool.Prefix("prod")) {
				archives = append(archives, k)
			}
		}
		if len(archives) > 0 {
			t.Errorf("the failed destination shows %q besides pool objects; want no archive, list or metadata", archives)
		}
	}
	e.noneRunning()
}
