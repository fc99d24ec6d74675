package core_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
)

// lockEnv is an env with a third destination, "vault": a MinIO bucket made
// with Object Lock, whose stores lock what they write in mode for lockFor
// (seconds in tests, where a destination says days), with the pool layout
// and a configuration of "prod" that keeps the last backup.
func lockEnv(t *testing.T, mode core.LockMode, lockFor time.Duration) (*env, core.Destination) {
	t.Helper()
	e := newEnv(t, testbed.OdooOptions{Seed: 71})
	e.engine.OpenStore = s3.OpenLockingFor(lockFor)
	e.engine.PoolGrace = -1
	mio := servers.MinIO(t)
	d := e.addDest(core.Destination{
		Name: "vault", Kind: core.DestinationS3, Layout: core.LayoutPool,
		S3:   core.S3Settings{Endpoint: mio.Endpoint, Bucket: mio.NewLockBucket(t), Prefix: "odoo", AccessKey: mio.AccessKey, SecretKey: core.Secret(mio.SecretKey), NoTLS: true},
		Lock: core.ObjectLock{Mode: mode, Days: 1},
	})
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: d.Name, Frequency: core.Daily, Retention: core.Retention{KeepLast: 1}}); err != nil {
		t.Fatal(err)
	}
	return e, d
}

// locker is the engine's store of d, as a locker.
func (e *env) locker(d core.Destination) core.ObjectLocker {
	e.t.Helper()
	st, err := e.engine.OpenStore(e.ctx, d)
	if err != nil {
		e.t.Fatal(err)
	}
	l, ok := st.(core.ObjectLocker)
	if !ok {
		e.t.Fatalf("the store of %s is no ObjectLocker", d.Name)
	}
	return l
}

// ownKeys are the objects of backup b.
func ownKeys(b core.Backup) []string {
	return []string{b.Key, core.MetadataKey(b.Key), pool.ListKey(b.Key)}
}

// lastLockEnd is the latest lock end of the objects of backups on d.
func (e *env) lastLockEnd(d core.Destination, backups ...core.Backup) time.Time {
	e.t.Helper()
	l := e.locker(d)
	var last time.Time
	for _, b := range backups {
		for _, k := range ownKeys(b) {
			until, err := l.LockedUntil(e.ctx, k)
			if err != nil {
				e.t.Fatal(err)
			}
			if until.After(last) {
				last = until
			}
		}
	}
	return last
}

// awaitClock waits until the wall clock is past t: a lock ends only then.
// It gives up a minute later.
func awaitClock(t *testing.T, at time.Time) {
	t.Helper()
	deadline := at.Add(time.Minute)
	for !time.Now().After(at) {
		if time.Now().After(deadline) {
			t.Fatalf("the clock never passed %s", at)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(time.Until(at) + 10*time.Millisecond):
		}
	}
}

func (e *env) row(id int64) core.Backup {
	e.t.Helper()
	b, err := e.cat.Backup(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// TestLockComplianceBackupImmutable: in compliance mode every object of a
// backup (archive, metadata, file list, pool objects) is retained; the
// server refuses to delete the archive even to the root credentials with
// the governance bypass; delete changes nothing and is not an error; the
// backup still verifies, every byte read, and the catalog still says
// succeeded, with the lock's end.
func TestLockComplianceBackupImmutable(t *testing.T) {
	e, d := lockEnv(t, core.LockCompliance, time.Hour)
	start := time.Now()
	b := e.backup("vault")[0]
	if b.Status != core.StatusSucceeded || b.LockedUntil == nil {
		t.Fatalf("backup on a locking destination: %+v; want it succeeded with its lock end", b)
	}
	if b.LockedUntil.Before(start.Add(time.Hour)) || b.LockedUntil.After(time.Now().Add(time.Hour+time.Second)) {
		t.Errorf("LockedUntil = %s; want an hour after the backup (%s)", b.LockedUntil, start.Add(time.Hour))
	}
	l := e.locker(d)
	for _, k := range ownKeys(b) {
		if until, err := l.LockedUntil(e.ctx, k); err != nil || until.Before(*b.LockedUntil) {
			t.Errorf("%s: locked until %s, %v; want at least the backup's lock end %s", k, until, err, b.LockedUntil)
		}
	}
	objects := e.poolObjects(d)
	if len(objects) == 0 {
		t.Fatal("the backup stored no pool object")
	}
	for id := range objects {
		if until, err := l.LockedUntil(e.ctx, pool.ObjectKey("prod", id)); err != nil || until.Before(*b.LockedUntil) {
			t.Errorf("pool object %s: locked until %s, %v; want at least %s", id, until, err, b.LockedUntil)
		}
	}

	root, err := servers.MinIO(t).Client()
	if err != nil {
		t.Fatal(err)
	}
	full := d.S3.Prefix + "/" + b.Key
	var versions []string
	for o := range root.ListObjectsIter(e.ctx, d.S3.Bucket, minio.ListObjectsOptions{Prefix: full, WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if o.Key == full {
			versions = append(versions, o.VersionID)
		}
	}
	if len(versions) != 1 {
		t.Fatalf("versions of the archive: %q; want one", versions)
	}
	for _, bypass := range []bool{false, true} {
		if err := root.RemoveObject(e.ctx, d.S3.Bucket, full, minio.RemoveObjectOptions{VersionID: versions[0], GovernanceBypass: bypass}); err == nil {
			t.Fatalf("the server let the root credentials delete the archive under compliance retention (bypass %v)", bypass)
		}
	}

	res, err := e.engine.Delete(e.ctx, core.DeleteRequest{BackupID: b.ID, Force: true})
	if err != nil {
		t.Fatalf("delete of a locked backup: %v; want no error", err)
	}
	if res.Locked == nil || res.Locked.Mode != core.LockCompliance || res.Locked.Until.Before(*b.LockedUntil) {
		t.Errorf("delete of a locked backup: Locked = %+v; want the compliance lock until at least %s", res.Locked, b.LockedUntil)
	}
	row := e.row(b.ID)
	if row.Status != core.StatusSucceeded || row.LockedUntil == nil {
		t.Errorf("catalog after the refused delete: status %s, locked until %v; want succeeded and locked", row.Status, row.LockedUntil)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID, ReadData: true}); err != nil {
		t.Errorf("verify after the deletion attempts: %v; want the backup whole", err)
	}
	// A catalog rebuilt from the destination learns the lock end again.
	cat := openCatalog(t, filepath.Join(t.TempDir(), "catalog.db"))
	vault := d
	vault.ID, vault.CreatedAt = 0, time.Time{}
	if err := cat.AddDestination(e.ctx, &vault); err != nil {
		t.Fatal(err)
	}
	rebuilt := &core.Engine{Catalog: cat, OpenStore: e.engine.OpenStore}
	if _, err := rebuilt.RebuildCatalog(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := cat.Backup(e.ctx, b.ID); err != nil || got.LockedUntil == nil || !got.LockedUntil.Equal(*b.LockedUntil) {
		t.Errorf("the rebuilt row of backup %d: locked until %v, %v; want %s", b.ID, got.LockedUntil, err, b.LockedUntil)
	}

	entries, err := e.engine.Catalog.Audit(e.ctx, core.AuditFilter{Service: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(entries, func(a core.AuditEntry) bool {
		return a.Action == core.ActionDelete && strings.Contains(a.Detail, "nothing deleted: locked until")
	}) {
		t.Errorf("the audit does not say the delete changed nothing: %+v", entries)
	}
}

// TestLockRotationAndDelete: a rotation keeps the surplus backups whose
// lock has not ended, as kept because locked until a date, not as an error
// and with their rows as they were; delete of a locked backup says until
// when and changes nothing; once the locks have ended, the next rotation
// removes them and delete deletes.
func TestLockRotationAndDelete(t *testing.T) {
	e, d := lockEnv(t, core.LockGovernance, 20*time.Second)
	var scheduled []core.Backup
	for range 3 {
		bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"vault"}, Kind: core.KindScheduled})
		if err != nil {
			t.Fatal(err)
		}
		scheduled = append(scheduled, bs[0])
	}
	manual := e.backup("vault")[0]
	// A row that does not know its lock (a catalog rebuilt from another
	// destination, say) learns it from the storage's refusal.
	forgot := scheduled[0]
	forgot.LockedUntil = nil
	if err := e.cat.UpdateBackup(e.ctx, forgot); err != nil {
		t.Fatal(err)
	}

	res, err := e.engine.RotateWithSweep(e.ctx, core.RotateRequest{Service: "prod", Destination: "vault"})
	if err != nil {
		t.Fatalf("rotation with locked backups: %v; want no error", err)
	}
	locked := 0
	for _, dec := range res.Decisions {
		if dec.Backup.ID == scheduled[2].ID {
			continue
		}
		if !dec.Keep || dec.LockedUntil == nil || !strings.Contains(strings.Join(dec.Reasons, "; "), "locked until ") {
			t.Errorf("surplus backup %d: keep %v, locked until %v, reasons %q; want kept because locked until a date", dec.Backup.ID, dec.Keep, dec.LockedUntil, dec.Reasons)
			continue
		}
		locked++
	}
	if locked != 2 {
		t.Fatalf("rotation kept %d locked backups; want the 2 surplus ones", locked)
	}
	for _, b := range scheduled[:2] {
		if row := e.row(b.ID); row.Status != core.StatusSucceeded || row.LockedUntil == nil {
			t.Errorf("locked backup %d after the rotation: %s, locked until %v; want succeeded, with its lock end", b.ID, row.Status, row.LockedUntil)
		}
		for _, k := range ownKeys(b) {
			if _, err := e.locker(d).(core.ObjectStore).Stat(e.ctx, k); err != nil {
				t.Errorf("%s of locked backup %d after the rotation: %v; want it whole", k, b.ID, err)
			}
		}
	}
	del, err := e.engine.Delete(e.ctx, core.DeleteRequest{BackupID: manual.ID})
	if err != nil || del.Locked == nil || del.Backup.Status != core.StatusSucceeded {
		t.Fatalf("delete of a locked backup: %+v, %v; want it kept, locked, not an error", del, err)
	}

	awaitClock(t, e.lastLockEnd(d, append(scheduled[:2:2], manual)...))
	res, err = e.engine.RotateWithSweep(e.ctx, core.RotateRequest{Service: "prod", Destination: "vault"})
	if err != nil {
		t.Fatalf("rotation after the locks ended: %v", err)
	}
	var removed []int64
	for _, dec := range res.Decisions {
		if !dec.Keep {
			removed = append(removed, dec.Backup.ID)
		}
	}
	if len(removed) != 2 {
		t.Fatalf("rotation after the locks ended removed %v; want the 2 surplus backups", removed)
	}
	st := e.locker(d).(core.ObjectStore)
	for _, b := range scheduled[:2] {
		if row := e.row(b.ID); row.Status != core.StatusRotated {
			t.Errorf("backup %d after the second rotation: %s; want rotated", b.ID, row.Status)
		}
		for _, k := range ownKeys(b) {
			if _, err := st.Stat(e.ctx, k); !errors.Is(err, core.ErrNotFound) {
				t.Errorf("%s of rotated backup %d: %v; want it gone", k, b.ID, err)
			}
		}
	}
	del, err = e.engine.Delete(e.ctx, core.DeleteRequest{BackupID: manual.ID})
	if err != nil || del.Locked != nil || del.Backup.Status != core.StatusDeleted {
		t.Fatalf("delete after the lock ended: %+v, %v; want it deleted", del, err)
	}
	e.wantRestorable(d, scheduled[2])
}

// TestLockPoolRenewal: the objects a backup reuses from the pool are
// extended to twice the lock once per lock period, and the pool's date
// spares the next backups that work; objects those write are locked until
// that date.
func TestLockPoolRenewal(t *testing.T) {
	e, d := lockEnv(t, core.LockGovernance, 10*time.Minute)
	pc := core.PoolLockCatalog(e.cat)
	first := e.backup("vault")[0]
	w1, err := pc.PoolLockedUntil(e.ctx, d.ID, "prod")
	if err != nil || w1.Before(first.StartedAt.Add(20*time.Minute)) {
		t.Fatalf("the pool's date after the first backup: %s, %v; want twice the lock after it", w1, err)
	}
	l := e.locker(d)
	reused := e.poolObjects(d)
	lockOf := func(id string) time.Time {
		t.Helper()
		until, err := l.LockedUntil(e.ctx, pool.ObjectKey("prod", id))
		if err != nil {
			t.Fatal(err)
		}
		return until
	}

	// A longer lock: the pool's date no longer covers it, so the next
	// backup renews every object it reuses.
	e.engine.OpenStore = s3.OpenLockingFor(time.Hour)
	before := time.Now()
	e.backup("vault")
	w2, err := pc.PoolLockedUntil(e.ctx, d.ID, "prod")
	if err != nil || w2.Before(before.Add(2*time.Hour)) {
		t.Fatalf("the pool's date after the renewal: %s, %v; want twice the hour after the backup", w2, err)
	}
	renewed := map[string]time.Time{}
	for id := range reused {
		until := lockOf(id)
		if until.Before(before.Add(2 * time.Hour)) {
			t.Errorf("reused pool object %s: locked until %s; want it extended to two hours after %s", id, until, before)
		}
		renewed[id] = until
	}

	// Within the period: nothing is extended, and a new object is locked
	// until the pool's date.
	awaitClock(t, time.Now().Add(time.Second))
	fname, err := e.odoo.AddAttachment(e.ctx, []byte("written after the renewal"), "")
	if err != nil {
		t.Fatal(err)
	}
	e.backup("vault")
	if w3, err := pc.PoolLockedUntil(e.ctx, d.ID, "prod"); err != nil || !w3.Equal(w2) {
		t.Errorf("the pool's date after a backup within the period: %s, %v; want it unchanged at %s", w3, err, w2)
	}
	for id, was := range renewed {
		if until := lockOf(id); !until.Equal(was) {
			t.Errorf("pool object %s: locked until %s after a backup within the period; want it untouched at %s", id, until, was)
		}
	}
	newID := sha256hex("written after the renewal")
	if _, ok := e.poolObjects(d)[newID]; !ok {
		t.Fatalf("the new file %s is not in the pool", fname)
	}
	if until := lockOf(newID); !until.Equal(w2.Truncate(time.Second)) && !until.Equal(w2.Add(time.Second).Truncate(time.Second)) {
		t.Errorf("new pool object: locked until %s; want the pool's date %s", until, w2)
	}
}

// TestLockCopy: a copy to a locking destination, made by the storage
// server from a pool on the same endpoint, locks what it writes (archive,
// metadata, file list, pool objects) and records its lock end.
func TestLockCopy(t *testing.T) {
	e, d := lockEnv(t, core.LockGovernance, time.Hour)
	e.usePool()
	src := e.backup("minio")[0]
	start := time.Now()
	res, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: src.ID, Destination: "vault"})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Backup
	if !res.ServerSide {
		t.Errorf("the copy between pools on one endpoint was not made by the server")
	}
	if b.LockedUntil == nil || b.LockedUntil.Before(start.Add(time.Hour)) {
		t.Fatalf("the copy's lock end: %v; want an hour after the copy", b.LockedUntil)
	}
	l := e.locker(d)
	for _, k := range ownKeys(b) {
		if until, err := l.LockedUntil(e.ctx, k); err != nil || until.Before(*b.LockedUntil) {
			t.Errorf("%s of the copy: locked until %s, %v; want at least %s", k, until, err, b.LockedUntil)
		}
	}
	for id := range e.poolObjects(d) {
		if until, err := l.LockedUntil(e.ctx, pool.ObjectKey("prod", id)); err != nil || until.Before(*b.LockedUntil) {
			t.Errorf("pool object %s of the copy: locked until %s, %v; want at least %s", id, until, err, b.LockedUntil)
		}
	}
}

// TestLockSweep: the pool's sweep leaves an unreferenced object whose lock
// has not ended, counts it with its lock end, and removes it in the first
// sweep after that.
func TestLockSweep(t *testing.T) {
	e, d := lockEnv(t, core.LockGovernance, 3*time.Second)
	st := e.locker(d).(core.ObjectStore)
	id := sha256hex("left by a backup that failed")
	if err := st.Put(e.ctx, pool.ObjectKey("prod", id), strings.NewReader("left by a backup that failed")); err != nil {
		t.Fatal(err)
	}
	sw, err := e.engine.SweepPool(e.ctx, "prod", "vault")
	if err != nil {
		t.Fatalf("sweep with a locked object: %v; want no error", err)
	}
	if sw.Removed != 0 || sw.Locked != 1 || sw.LockedUntil == nil {
		t.Fatalf("sweep with a locked object: %+v; want it left and counted as locked, with its lock end", sw)
	}
	if _, ok := e.poolObjects(d)[id]; !ok {
		t.Fatal("the locked object is gone")
	}
	awaitClock(t, *sw.LockedUntil)
	sw, err = e.engine.SweepPool(e.ctx, "prod", "vault")
	if err != nil || sw.Removed != 1 || sw.Locked != 0 {
		t.Fatalf("sweep after the lock ended: %+v, %v; want the object removed", sw, err)
	}
	if _, ok := e.poolObjects(d)[id]; ok {
		t.Error("the object stayed after its lock ended")
	}
}
