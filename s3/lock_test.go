package s3

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3/storetest"
)

// lockConfig is a Config for a fresh bucket with Object Lock on the shared
// server, locking what it writes in mode for lockFor.
func lockConfig(t testing.TB, mode core.LockMode, lockFor time.Duration) Config {
	m := sharedMinIO(t)
	return Config{
		S3Settings: core.S3Settings{Endpoint: m.Endpoint, Bucket: m.NewLockBucket(t), AccessKey: m.AccessKey, SecretKey: core.Secret(m.SecretKey), NoTLS: true},
		PartSize:   MinPartSize,
		LockMode:   mode,
		LockFor:    lockFor,
	}
}

// The whole contract holds on a locking store, deletes aside: those are
// refused with the lock's end.
func TestS3ConformanceLocked(t *testing.T) {
	storetest.RunWith(t, storetest.Options{DeletesLocked: true}, func(t *testing.T) core.ObjectStore {
		return newTestS3(t, lockConfig(t, core.LockCompliance, time.Hour))
	})
}

// A store that does not lock behaves on a bucket with Object Lock (so
// versioned) as it always did: the whole suite passes.
func TestS3ConformanceUnlockedOnLockBucket(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.ObjectStore {
		return newTestS3(t, lockConfig(t, core.LockNone, 0))
	})
}

// Every way of writing retains the object in the store's mode until the
// lock's duration from the write, or the later date asked for; ExtendLock
// never shortens.
func TestS3LockRetention(t *testing.T) {
	ctx := t.Context()
	cfg := lockConfig(t, core.LockGovernance, time.Hour)
	s := newTestS3(t, cfg)
	start := time.Now()
	big := bytes.Repeat([]byte("b"), int(2*MinPartSize)+7)
	if err := s.Put(ctx, "small", strings.NewReader("small")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "big", bytes.NewReader(big)); err != nil {
		t.Fatalf("multipart Put with a retention: %v", err)
	}
	for _, key := range []string{"small", "big"} {
		until, err := s.LockedUntil(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if until.Before(start.Add(time.Hour)) || until.After(time.Now().Add(time.Hour+time.Second)) {
			t.Errorf("%s is locked until %s; want an hour after the write (%s)", key, until, start.Add(time.Hour))
		}
		mode, _, err := s.Client().GetObjectRetention(ctx, cfg.Bucket, key, "")
		if err != nil || mode == nil || *mode != minio.Governance {
			t.Errorf("%s: retention mode %v, %v; want GOVERNANCE", key, mode, err)
		}
	}
	later := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	if err := s.Put(core.WithRetainUntil(ctx, later), "renewed", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if until, err := s.LockedUntil(ctx, "renewed"); err != nil || !until.Equal(later) {
		t.Errorf("Put under WithRetainUntil(%s): locked until %s, %v; want that date", later, until, err)
	}
	if err := s.Put(core.WithoutRetention(ctx), "probe", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if until, err := s.LockedUntil(ctx, "probe"); err != nil || !until.IsZero() {
		t.Errorf("Put under WithoutRetention: locked until %s, %v; want no retention", until, err)
	}
	if err := s.Delete(ctx, "probe"); err != nil {
		t.Errorf("Delete of an object written without retention: %v", err)
	}

	// CopyFrom retains the copy as Put does.
	src := newTestS3(t, lockConfig(t, core.LockNone, 0))
	if err := src.Put(ctx, "orig", strings.NewReader("copied")); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CopyFrom(ctx, src, "orig", "copy"); !ok || err != nil {
		t.Fatalf("CopyFrom = %v, %v; want a server-side copy", ok, err)
	}
	if until, err := s.LockedUntil(ctx, "copy"); err != nil || until.Before(start.Add(time.Hour)) {
		t.Errorf("a copy is locked until %s, %v; want an hour from the copy", until, err)
	}

	// Extend to a later date, then ask for an earlier one: it stays.
	if err := s.ExtendLock(ctx, "small", later); err != nil {
		t.Fatal(err)
	}
	if err := s.ExtendLock(ctx, "small", start.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if until, err := s.LockedUntil(ctx, "small"); err != nil || !until.Equal(later) {
		t.Errorf("after ExtendLock to %s then to an earlier date: locked until %s, %v; want %s", later, until, err, later)
	}
	if err := s.ExtendLock(ctx, "missing", later); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("ExtendLock of a missing key = %v; want ErrNotFound", err)
	}
	if _, err := s.LockedUntil(ctx, "missing"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("LockedUntil of a missing key = %v; want ErrNotFound", err)
	}

	if on, err := s.BucketLockEnabled(ctx); err != nil || !on {
		t.Errorf("BucketLockEnabled on a bucket made with Object Lock = %v, %v; want true", on, err)
	}
	plain := newTestS3(t, testConfig(t))
	if on, err := plain.BucketLockEnabled(ctx); err != nil || on {
		t.Errorf("BucketLockEnabled on a plain bucket = %v, %v; want false and no error", on, err)
	}
}

// In compliance mode the server itself refuses to delete a locked version,
// to the root credentials, with or without the governance bypass; the
// store says until when. Once the lock has ended, Delete removes every
// version, and the key is gone for good.
func TestS3LockComplianceDelete(t *testing.T) {
	ctx := t.Context()
	cfg := lockConfig(t, core.LockCompliance, 3*time.Second)
	s := newTestS3(t, cfg)
	if err := s.Put(ctx, "a/archive.zip", strings.NewReader("first")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a/archive.zip", strings.NewReader("second")); err != nil {
		t.Fatal(err)
	}
	raw := s.Client() // the server's root credentials
	versions := objectVersions(t, raw, cfg.Bucket, "a/archive.zip")
	if len(versions) != 2 {
		t.Fatalf("versions of a key put twice: %d; want 2", len(versions))
	}
	for _, bypass := range []bool{false, true} {
		err := raw.RemoveObject(ctx, cfg.Bucket, "a/archive.zip", minio.RemoveObjectOptions{VersionID: versions[0].VersionID, GovernanceBypass: bypass})
		if err == nil {
			t.Fatalf("the server deleted a version under compliance retention (bypass %v)", bypass)
		}
	}
	err := s.Delete(ctx, "a/archive.zip")
	le, ok := errors.AsType[*core.LockedError](err)
	if !ok || le.Mode != core.LockCompliance || !le.Until.After(time.Now()) {
		t.Fatalf("Delete of a locked object = %v; want a *core.LockedError in compliance mode with a future end", err)
	}
	if n := len(objectVersions(t, raw, cfg.Bucket, "a/archive.zip")); n != 2 {
		t.Fatalf("a refused Delete left %d versions; want the 2 there were", n)
	}
	awaitLockEnd(t, le.Until)
	if err := s.Delete(ctx, "a/archive.zip"); err != nil {
		t.Fatalf("Delete after the lock ended: %v", err)
	}
	if left := objectVersions(t, raw, cfg.Bucket, "a/archive.zip"); len(left) != 0 {
		t.Fatalf("Delete after the lock ended left %d versions (delete markers included); want none", len(left))
	}
}

// objectVersions lists every version of key, delete markers included.
func objectVersions(t *testing.T, c *minio.Client, bucket, key string) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for o := range c.ListObjectsIter(t.Context(), bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if o.Key == key {
			out = append(out, o)
		}
	}
	return out
}

// awaitLockEnd waits until the wall clock is past until, which only time
// can bring; it gives up a minute later.
func awaitLockEnd(t *testing.T, until time.Time) {
	t.Helper()
	deadline := until.Add(time.Minute)
	for !time.Now().After(until) {
		if time.Now().After(deadline) {
			t.Fatalf("the clock never passed %s", until)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(time.Until(until) + 10*time.Millisecond):
		}
	}
}

// A store that does not lock deletes on a versioned bucket as before: the
// object disappears from view (a delete marker hides it).
func TestS3UnlockedDeleteOnVersionedBucket(t *testing.T) {
	ctx := t.Context()
	cfg := lockConfig(t, core.LockNone, 0)
	s := newTestS3(t, cfg)
	if err := s.Put(ctx, "k", strings.NewReader("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "k"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Stat after Delete = %v; want ErrNotFound", err)
	}
	vs := objectVersions(t, s.Client(), cfg.Bucket, "k")
	if len(vs) != 2 || !vs[0].IsDeleteMarker && !vs[1].IsDeleteMarker {
		t.Errorf("versions after a plain Delete: %+v; want the object and a delete marker, as a plain RemoveObject leaves", vs)
	}
}
