package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// sweepEnv is an env whose pool sweeps leave no grace: objects written a
// moment ago count as old.
func sweepEnv(t *testing.T, opt testbed.OdooOptions) *env {
	e := newEnv(t, opt)
	e.usePool()
	e.engine.PoolGrace = -1
	return e
}

func (e *env) dest(name string) core.Destination {
	e.t.Helper()
	d, err := e.cat.Destination(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) scheduled(dests ...string) []core.Backup {
	e.t.Helper()
	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: dests, Kind: core.KindScheduled})
	if err != nil {
		e.t.Fatalf("backup: %v", err)
	}
	return bs
}

// removeAttachment deletes an attachment's row and file, as Odoo's garbage
// collector does.
func (e *env) removeAttachment(fname string) {
	e.t.Helper()
	conn, err := testbed.Connect(e.ctx, e.odoo.Conn)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(e.ctx, `DELETE FROM ir_attachment WHERE store_fname = $1`, fname); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(e.odoo.FilestoreDir, filepath.FromSlash(fname))); err != nil {
		e.t.Fatal(err)
	}
}

// listIDs reads the file list of the archive key from the destination.
func (e *env) listIDs(st core.ObjectStore, archive string) ([]pool.Entry, error) {
	body, err := st.Get(e.ctx, pool.ListKey(archive), 0, -1)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	_, entries, err := pool.ReadList(body)
	return entries, err
}

// wantRestorable checks that backup b on d has everything a restore reads:
// its archive, metadata and file list, and every object of its list, whose
// content is what the list says.
func (e *env) wantRestorable(d core.Destination, b core.Backup) {
	e.t.Helper()
	st := e.store(d)
	for _, k := range []string{b.Key, core.MetadataKey(b.Key)} {
		if _, err := st.Stat(e.ctx, k); err != nil {
			e.t.Fatalf("kept backup %d: %s: %v", b.ID, k, err)
		}
	}
	entries, err := e.listIDs(st, b.Key)
	if err != nil {
		e.t.Fatalf("kept backup %d: file list: %v", b.ID, err)
	}
	if len(entries) == 0 {
		e.t.Fatalf("kept backup %d: empty file list", b.ID)
	}
	for _, en := range entries {
		body, err := st.Get(e.ctx, pool.ObjectKey("prod", en.Object), 0, -1)
		if err != nil {
			e.t.Fatalf("kept backup %d: file %s: object %s: %v", b.ID, en.Name, en.Object, err)
		}
		r := pool.Open(body, en)
		_, err = io.Copy(io.Discard, r)
		r.Close()
		body.Close()
		if err != nil {
			e.t.Fatalf("kept backup %d: file %s: %v", b.ID, en.Name, err)
		}
	}
	// A download assembles the whole Odoo zip from the pool, every part
	// checked, as a restore reads it.
	downloads++
	out := filepath.Join(e.dir, fmt.Sprintf("kept-%d-%d.zip", b.ID, downloads))
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: b.ID, Path: out}); err != nil {
		e.t.Fatalf("kept backup %d: download: %v", b.ID, err)
	}
	os.Remove(out)
}

var downloads int

// wantSwept checks that the pool of prod on d holds exactly the objects the
// file lists on d refer to, and that every list has its archive.
func (e *env) wantSwept(d core.Destination) {
	e.t.Helper()
	st := e.store(d)
	all, err := st.List(e.ctx, "prod/")
	if err != nil {
		e.t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, o := range all {
		keys[o.Key] = true
	}
	want := map[string]bool{}
	for _, o := range all {
		archive, ok := strings.CutSuffix(o.Key, ".files")
		if !ok || strings.HasPrefix(o.Key, pool.Prefix("prod")) {
			continue
		}
		if !keys[archive] && !keys[core.MetadataKey(archive)] {
			e.t.Errorf("%s: file list %s is left without its archive", d.Name, o.Key)
		}
		entries, err := e.listIDs(st, archive)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, en := range entries {
			want[en.Object] = true
		}
	}
	have := e.poolObjects(d)
	for id := range have {
		if !want[id] {
			e.t.Errorf("%s: pool object %s is referred to by no file list but stayed", d.Name, id)
		}
	}
	for id := range want {
		if _, ok := have[id]; !ok {
			e.t.Errorf("%s: pool object %s is referred to but gone", d.Name, id)
		}
	}
}

// usage sums the sizes of everything under prod/ on d.
func (e *env) usage(d core.Destination) int64 {
	e.t.Helper()
	all, err := e.store(d).List(e.ctx, "prod/")
	if err != nil {
		e.t.Fatal(err)
	}
	var n int64
	for _, o := range all {
		n += o.Size
	}
	return n
}

// putGarbage stores an object no list refers to, as a backup that failed
// after storing it leaves, and returns its id.
func (e *env) putGarbage(d core.Destination, content string) string {
	e.t.Helper()
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, 2)
	fw.Write([]byte(content))
	fw.Close()
	id := sha256hex(content)
	if err := e.store(d).Put(e.ctx, pool.ObjectKey("prod", id), &buf); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func backupOn(bs []core.Backup, dest string) core.Backup {
	for _, b := range bs {
		if b.Destination == dest {
			return b
		}
	}
	return core.Backup{}
}

// TestPoolSweepRotation: rotating pool backups removes their archives,
// metadata and file lists and the objects only they referred to, plus what
// failed backups and crashes left; every kept backup keeps all its
// objects; the bytes a dry run announces are the bytes the rotation frees,
// in total and for the removal whose objects no one else refers to, on a
// local directory and on MinIO.
func TestPoolSweepRotation(t *testing.T) {
	e := sweepEnv(t, testbed.OdooOptions{Files: 8, FilestoreBytes: 300 << 10})
	for _, name := range []string{"local", "minio"} {
		if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: name, Frequency: core.Daily, Retention: core.Retention{KeepLast: 2}}); err != nil {
			t.Fatal(err)
		}
	}
	first := e.scheduled("local", "minio")
	gone, err := e.odoo.AddAttachment(e.ctx, []byte(strings.Repeat("only the second backup holds this ", 3000)), "")
	if err != nil {
		t.Fatal(err)
	}
	second := e.scheduled("local", "minio")
	e.removeAttachment(gone)
	if _, err := e.odoo.AddAttachment(e.ctx, []byte(strings.Repeat("kept backups hold this ", 3000)), ""); err != nil {
		t.Fatal(err)
	}
	third := e.scheduled("local", "minio")
	fourth := e.scheduled("local", "minio")
	goneID := sha256hex(strings.Repeat("only the second backup holds this ", 3000))

	for _, d := range []core.Destination{e.dest("local"), e.dest("minio")} {
		garbage := e.putGarbage(d, "left by a backup that failed")
		// The list of a backup whose archive and metadata were removed
		// by a rotation that crashed before it removed the list.
		st := e.store(d)
		b1 := backupOn(first, d.Name)
		debris := "prod/2001/01/prod_20010101-000000_scheduled.zip"
		body, err := st.Get(e.ctx, pool.ListKey(b1.Key), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(body)
		body.Close()
		if err := st.Put(e.ctx, pool.ListKey(debris), bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}

		dry, err := e.engine.RotateWithSweep(e.ctx, core.RotateRequest{Service: "prod", Destination: d.Name, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		objects := e.poolObjects(d)
		own := func(b core.Backup) int64 {
			var n int64
			for _, k := range []string{b.Key, core.MetadataKey(b.Key), pool.ListKey(b.Key)} {
				info, err := st.Stat(e.ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				n += info.Size
			}
			return n
		}
		b2 := backupOn(second, d.Name)
		// b1's objects are all in the kept backups; b2 alone holds one.
		wantEach := map[int64]int64{b2.ID: own(b2) + objects[goneID], b1.ID: own(b1)}
		var removed []int64
		var each int64
		for _, dec := range dry.Decisions {
			if !dec.Keep {
				removed = append(removed, dec.Backup.ID)
				if dec.Frees != wantEach[dec.Backup.ID] {
					t.Errorf("%s: dry run: backup %d frees %d bytes; want %d (archive, metadata, list and the objects only it holds)", d.Name, dec.Backup.ID, dec.Frees, wantEach[dec.Backup.ID])
				}
				each += dec.Frees
			}
		}
		if len(removed) != 2 || removed[0] != b2.ID || removed[1] != b1.ID {
			t.Fatalf("%s: dry run removes %v; want %d and %d", d.Name, removed, b2.ID, b1.ID)
		}
		garbageBytes := objects[garbage] + int64(len(raw))
		if dry.Frees != each+garbageBytes {
			t.Errorf("%s: dry run frees %d in all; want the removals' %d plus the garbage's %d", d.Name, dry.Frees, each, garbageBytes)
		}
		if dry.Note != "" {
			t.Errorf("%s: dry run note: %s", d.Name, dry.Note)
		}
		if _, err := st.Stat(e.ctx, b2.Key); err != nil {
			t.Fatalf("a dry run removed something: %v", err)
		}

		before := e.usage(d)
		res, err := e.engine.RotateWithSweep(e.ctx, core.RotateRequest{Service: "prod", Destination: d.Name})
		if err != nil {
			t.Fatal(err)
		}
		freed := before - e.usage(d)
		if res.Frees != dry.Frees || freed != dry.Frees {
			t.Errorf("%s: dry run said %d bytes, the rotation says it freed %d, the destination shrank by %d", d.Name, dry.Frees, res.Frees, freed)
		}
		if res.Sweep == nil || res.Sweep.Postponed != "" || res.SweepError != "" || res.Sweep.Removed != 2 || res.Sweep.DebrisLists != 1 {
			t.Errorf("%s: sweep %+v (%s); want 2 objects and 1 debris list removed", d.Name, res.Sweep, res.SweepError)
		}
		after := e.poolObjects(d)
		if _, ok := after[goneID]; ok {
			t.Errorf("%s: the object only a rotated backup referred to stayed", d.Name)
		}
		if _, ok := after[garbage]; ok {
			t.Errorf("%s: the unreferenced object stayed", d.Name)
		}
		for _, b := range []core.Backup{b1, b2} {
			for _, k := range []string{b.Key, core.MetadataKey(b.Key), pool.ListKey(b.Key)} {
				if _, err := st.Stat(e.ctx, k); !errors.Is(err, core.ErrNotFound) {
					t.Errorf("%s: %s of rotated backup %d: %v; want it gone", d.Name, k, b.ID, err)
				}
			}
		}
		e.wantRestorable(d, backupOn(third, d.Name))
		e.wantRestorable(d, backupOn(fourth, d.Name))
		e.wantSwept(d)
	}
}

// TestPoolSweepDeleteAndOrphans: deleting a pool backup by hand removes
// its list and the objects only it referred to; an orphaned backup is
// deleted the same way; a backup the catalog does not know (only on the
// destination) still protects its objects.
func TestPoolSweepDeleteAndOrphans(t *testing.T) {
	e := sweepEnv(t, testbed.OdooOptions{Files: 6, FilestoreBytes: 200 << 10})
	content := strings.Repeat("held by the first two backups only ", 2000)
	held, err := e.odoo.AddAttachment(e.ctx, []byte(content), "")
	if err != nil {
		t.Fatal(err)
	}
	heldID := sha256hex(content)
	a := e.backup("local")[0]
	b := e.backup("local")[0]
	e.removeAttachment(held)
	c := e.backup("local")[0]
	d := e.dest("local")
	st := e.store(d)

	// a is copied under another key with no catalog row, as a backup the
	// catalog lost: its objects must stay when a and b go.
	lost := "prod/2002/02/prod_20020202-000000_manual.zip"
	for _, k := range []string{a.Key, pool.ListKey(a.Key)} {
		body, err := st.Get(e.ctx, k, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(body)
		body.Close()
		if err := st.Put(e.ctx, strings.Replace(k, a.Key, lost, 1), bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.engine.Delete(e.ctx, core.DeleteRequest{BackupID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sweep == nil || res.SweepError != "" || res.Sweep.Removed != 0 {
		t.Errorf("delete of %d: sweep %+v %s; want nothing removed (b and the lost backup refer to everything)", a.ID, res.Sweep, res.SweepError)
	}
	if _, ok := e.poolObjects(d)[heldID]; !ok {
		t.Fatal("an object b and the lost backup refer to was removed")
	}
	// b is orphaned: its configuration removed (the primary flag moved
	// away first), then it is deleted.
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: "minio", Frequency: core.Daily, Primary: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.cat.RemoveConfiguration(e.ctx, "prod", "local"); err != nil {
		t.Fatal(err)
	}
	if res, err = e.engine.Delete(e.ctx, core.DeleteRequest{BackupID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.poolObjects(d)[heldID]; !ok || res.Sweep.Removed != 0 {
		t.Fatalf("the lost backup's object was removed (sweep %+v)", res.Sweep)
	}
	if _, err := st.Stat(e.ctx, pool.ListKey(b.Key)); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("deleted backup %d's file list: %v; want it gone", b.ID, err)
	}
	e.wantRestorable(d, c)
	// The lost backup goes too (by hand): now the object is garbage.
	for _, k := range []string{lost, pool.ListKey(lost)} {
		if err := st.Delete(e.ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	sw, err := e.engine.SweepPool(e.ctx, "prod", "local")
	if err != nil || sw.Removed != 1 || sw.RemovedBytes == 0 {
		t.Fatalf("sweep: %+v, %v; want the one object only removed backups held", sw, err)
	}
	if _, ok := e.poolObjects(d)[heldID]; ok {
		t.Error("the object no backup refers to any more stayed")
	}
	e.wantRestorable(d, c)
	e.wantSwept(d)
}

// TestPoolSweepRefusesUnreadableList: a file list that cannot be read
// stops the sweep before anything is removed, with an error that names it.
func TestPoolSweepRefusesUnreadableList(t *testing.T) {
	e := sweepEnv(t, testbed.OdooOptions{Files: 3, FilestoreBytes: 50 << 10})
	b := e.backup("local")[0]
	d := e.dest("local")
	garbage := e.putGarbage(d, "no list refers to this")
	if err := e.store(d).Put(e.ctx, pool.ListKey(b.Key), strings.NewReader("not a gzip file list")); err != nil {
		t.Fatal(err)
	}
	_, err := e.engine.SweepPool(e.ctx, "prod", "local")
	if err == nil || !strings.Contains(err.Error(), pool.ListKey(b.Key)) || !strings.Contains(err.Error(), "not swept") {
		t.Fatalf("sweep with an unreadable list: %v; want a refusal naming %s", err, pool.ListKey(b.Key))
	}
	if _, ok := e.poolObjects(d)[garbage]; !ok {
		t.Fatal("a sweep that could not read every list removed an object")
	}
}

// TestPoolSweepWaitsForBackups: a sweep that finds a live running backup
// of the service on the destination removes nothing and says so; a backup
// that finds a live sweep holding its pool's lease waits before it looks at
// the pool, and goes on once the sweep ends. Both shown with the rows and
// the lease themselves, no timing.
func TestPoolSweepWaitsForBackups(t *testing.T) {
	e := sweepEnv(t, testbed.OdooOptions{Files: 3, FilestoreBytes: 50 << 10})
	e.backup("local")
	d := e.dest("local")
	garbage := e.putGarbage(d, "a running backup may count this as present")
	host, _ := os.Hostname()
	running := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual, Key: "prod/running.zip", Host: host, PID: os.Getpid(), Format: core.FormatOdooPool}
	if err := e.cat.CreateBackup(e.ctx, &running); err != nil {
		t.Fatal(err)
	}
	sw, err := e.engine.SweepPool(e.ctx, "prod", "local")
	if err != nil || sw.Postponed != fmt.Sprintf("backup %d is running", running.ID) || sw.Removed != 0 {
		t.Fatalf("sweep while backup %d runs: %+v, %v; want it postponed", running.ID, sw, err)
	}
	if _, ok := e.poolObjects(d)[garbage]; !ok {
		t.Fatal("a postponed sweep removed an object")
	}
	fin := time.Now().UTC()
	running.Status, running.Error, running.FinishedAt = core.StatusFailed, "test", &fin
	if err := e.cat.UpdateBackup(e.ctx, running); err != nil {
		t.Fatal(err)
	}

	// A sweep (this test) holds the lease: the backup waits for it.
	// Its heartbeat is ahead, so it stays alive however slow the machine.
	lease := core.Lease{Name: core.PoolLease("prod", d.ID), Holder: "test sweep", PID: os.Getpid(), Host: host, Heartbeat: time.Now().Add(time.Hour)}
	if _, ok, err := e.cat.AcquireLease(e.ctx, lease, nil); err != nil || !ok {
		t.Fatalf("take the pool lease: %v %v", ok, err)
	}
	waiting := make(chan string, 100)
	defer core.SetPoolWaiting(func(l string) { waiting <- l })()
	done := make(chan error, 1)
	go func() {
		_, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local"}})
		done <- err
	}()
	if l := <-waiting; l != lease.Name {
		t.Fatalf("the backup waited for %s; want %s", l, lease.Name)
	}
	// It waits with its row running and nothing of its own in the pool.
	rows, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "prod", Destination: "local", Status: core.StatusRunning})
	if err != nil || len(rows) != 1 {
		t.Fatalf("running rows while the backup waits: %v, %v", rows, err)
	}
	sw, err = e.engine.SweepPool(e.ctx, "prod", "local")
	if err != nil || !strings.Contains(sw.Postponed, "another sweep") {
		t.Fatalf("second sweep while one holds the lease: %+v, %v; want it postponed", sw, err)
	}
	select {
	case err := <-done:
		t.Fatalf("the backup ended (%v) while a sweep held its pool's lease", err)
	default:
	}
	if err := e.cat.ReleaseLease(e.ctx, lease); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the backup after the sweep: %v", err)
	}
	sw, err = e.engine.SweepPool(e.ctx, "prod", "local")
	if err != nil || sw.Postponed != "" || sw.Removed != 1 {
		t.Fatalf("sweep once nothing runs: %+v, %v; want the garbage removed", sw, err)
	}
	e.wantSwept(d)
}

// TestPoolSweepConcurrentServices: backups of two services to one
// destination and sweeps of both pools, all at the same time, over
// several rounds: afterwards every backup's objects are there.
func TestPoolSweepConcurrentServices(t *testing.T) {
	e := sweepEnv(t, testbed.OdooOptions{Files: 10, FilestoreBytes: 200 << 10})
	pg := servers.Postgres(t)
	odoo2, err := testbed.GenerateOdoo(e.ctx, pg, strings.ToLower(t.Name())+"_2", filepath.Join(e.dir, "odoo2"), testbed.OdooOptions{Files: 10, FilestoreBytes: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	svc2 := odoo2.Service("acct")
	if err := e.cat.AddService(e.ctx, &svc2, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "acct", Destination: "minio", Frequency: core.Daily}); err != nil {
		t.Fatal(err)
	}
	d := e.dest("minio")
	var mu sync.Mutex
	var postponed, swept int
	var waited atomic.Int64
	defer core.SetPoolWaiting(func(string) { waited.Add(1) })()
	for round := 0; round < 4; round++ {
		// Each round leaves garbage for the sweeps, and adds a file.
		e.putGarbage(d, fmt.Sprintf("garbage %d", round))
		if _, err := e.odoo.AddAttachment(e.ctx, []byte(fmt.Sprintf("prod round %d ", round)+strings.Repeat("x", 5000)), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := odoo2.AddAttachment(e.ctx, []byte(fmt.Sprintf("acct round %d ", round)+strings.Repeat("y", 5000)), ""); err != nil {
			t.Fatal(err)
		}
		// Both services back up while both pools are swept over and over
		// until the backups end.
		var backups, sweeps sync.WaitGroup
		errs := make(chan error, 2)
		stop := make(chan struct{})
		for _, svc := range []string{"prod", "acct"} {
			backups.Add(1)
			go func() {
				defer backups.Done()
				_, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: svc, Destinations: []string{"minio"}})
				errs <- err
			}()
			sweeps.Add(1)
			go func() {
				defer sweeps.Done()
				for {
					sw, err := e.engine.SweepPool(e.ctx, svc, "minio")
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if sw.Postponed != "" {
						postponed++
					} else {
						swept++
					}
					mu.Unlock()
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
		}
		backups.Wait()
		close(stop)
		sweeps.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d sweeps postponed by a running backup or another sweep, %d ran, backups waited %d times", postponed, swept, waited.Load())
	bs, err := e.cat.Backups(e.ctx, core.BackupFilter{Destination: "minio", Status: core.StatusSucceeded})
	if err != nil || len(bs) != 8 {
		t.Fatalf("succeeded backups: %d, %v; want 8", len(bs), err)
	}
	st := e.store(d)
	for _, b := range bs {
		entries, err := e.listIDs(st, b.Key)
		if err != nil {
			t.Fatalf("backup %d: %v", b.ID, err)
		}
		for _, en := range entries {
			if _, err := st.Stat(e.ctx, pool.ObjectKey(b.Service, en.Object)); err != nil {
				t.Errorf("backup %d of %s: object of %s: %v", b.ID, b.Service, en.Name, err)
			}
		}
	}
	// Once nothing runs, a sweep removes every garbage object.
	if sw, err := e.engine.SweepPool(e.ctx, "prod", "minio"); err != nil || sw.Postponed != "" {
		t.Fatalf("final sweep: %+v %v", sw, err)
	}
	e.wantSwept(d)
}

const (
	sweepChildCatalogEnv = "ODOO_BACKUP_SWEEP_CHILD_CATALOG"
	sweepChildBackupEnv  = "ODOO_BACKUP_SWEEP_CHILD_BACKUP"
	sweepChildKillEnv    = "ODOO_BACKUP_SWEEP_CHILD_KILL_AT"
)

// TestPoolSweepChild is the child of TestPoolSweepKilledAtEveryStep: it
// deletes one backup and sweeps, and kills itself with SIGKILL before
// step N. It does nothing in a normal run.
func TestPoolSweepChild(t *testing.T) {
	path := os.Getenv(sweepChildCatalogEnv)
	if path == "" {
		t.Skip("run by TestPoolSweepKilledAtEveryStep")
	}
	ctx := context.Background()
	id, _ := strconv.ParseInt(os.Getenv(sweepChildBackupEnv), 10, 64)
	killAt, _ := strconv.Atoi(os.Getenv(sweepChildKillEnv))
	cat, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	step := 0
	defer core.SetSweepStep(func(string) {
		if step++; step == killAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	})()
	eng := &core.Engine{Catalog: cat, OpenStore: s3.Open, PoolGrace: -1}
	res, err := eng.Delete(ctx, core.DeleteRequest{BackupID: id, Force: true})
	if err != nil || res.SweepError != "" {
		t.Fatalf("delete: %v %s", err, res.SweepError)
	}
	fmt.Printf("steps=%d\n", step)
}

// TestPoolSweepKilledAtEveryStep: a deletion and its sweep killed with -9
// before each of its steps in turn (removing the archive, the metadata,
// the list, taking the lease, each object, the debris list, ...) leaves
// every kept backup restorable, and the next attempt finishes the job:
// the pool then holds exactly what the remaining lists refer to.
func TestPoolSweepKilledAtEveryStep(t *testing.T) {
	for _, name := range []string{"local", "minio"} {
		t.Run(name, func(t *testing.T) {
			e := sweepEnv(t, testbed.OdooOptions{Files: 4, FilestoreBytes: 60 << 10})
			d := e.dest(name)
			kept := e.backup(name)[0]
			for n := 1; ; n++ {
				// Each round's victim holds two objects no other backup
				// refers to, and a failed backup left one more.
				var fnames []string
				for i := range 2 {
					f, err := e.odoo.AddAttachment(e.ctx, []byte(fmt.Sprintf("round %d file %d ", n, i)+strings.Repeat("z", 3000)), "")
					if err != nil {
						t.Fatal(err)
					}
					fnames = append(fnames, f)
				}
				victim := e.backup(name)[0]
				for _, f := range fnames {
					e.removeAttachment(f)
				}
				e.putGarbage(d, fmt.Sprintf("garbage of round %d", n))
				cmd := exec.CommandContext(e.ctx, os.Args[0], "-test.run=^TestPoolSweepChild$", "-test.count=1")
				cmd.Env = append(os.Environ(),
					sweepChildCatalogEnv+"="+filepath.Join(e.dir, "catalog.db"),
					sweepChildBackupEnv+"="+strconv.FormatInt(victim.ID, 10),
					sweepChildKillEnv+"="+strconv.Itoa(n))
				out, err := cmd.CombinedOutput()
				var exit *exec.ExitError
				killed := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled()
				if err != nil && !killed {
					t.Fatalf("child: %v\n%s", err, out)
				}
				e.wantRestorable(d, kept)
				// The next attempt finishes: the deletion if it was not
				// recorded, else a sweep.
				got, err := e.cat.Backup(e.ctx, victim.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status == core.StatusSucceeded {
					if _, err := e.engine.Delete(e.ctx, core.DeleteRequest{BackupID: victim.ID, Force: true}); err != nil {
						t.Fatalf("step %d: delete again: %v", n, err)
					}
				} else if sw, err := e.engine.SweepPool(e.ctx, "prod", name); err != nil || sw.Postponed != "" {
					t.Fatalf("step %d: next sweep: %+v, %v", n, sw, err)
				}
				e.wantRestorable(d, kept)
				e.wantSwept(d)
				if !killed {
					t.Logf("killed before each of %d steps, then ran to the end: %s", n-1, strings.TrimSpace(string(out)))
					if n < 8 {
						t.Fatalf("only %d steps; want at least the removal's 4 and the sweep's", n-1)
					}
					return
				}
			}
		})
	}
}
