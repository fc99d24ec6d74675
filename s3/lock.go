package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
)

var _ core.ObjectLocker = (*S3)(nil)

// locking reports whether s writes with a retention.
func (s *S3) locking() bool { return s.cfg.LockMode != core.LockNone }

// retentionMode is minio-go's name of s's mode.
func (s *S3) retentionMode() minio.RetentionMode {
	if s.cfg.LockMode == core.LockCompliance {
		return minio.Compliance
	}
	return minio.Governance
}

// retention is the mode and the date a write under ctx retains its object
// until: LockFor from now, or the date core.WithRetainUntil put in ctx when
// later, rounded up to the second S3 dates have. Nothing when s does not
// lock.
func (s *S3) retention(ctx context.Context) (minio.RetentionMode, time.Time) {
	if !s.locking() || core.RetentionOff(ctx) {
		return "", time.Time{}
	}
	until := time.Now().Add(s.cfg.LockFor)
	if at := core.RetainUntilOf(ctx); at.After(until) {
		until = at
	}
	return s.retentionMode(), ceilSecond(until)
}

func ceilSecond(t time.Time) time.Time {
	r := t.Truncate(time.Second)
	if r.Before(t) {
		r = r.Add(time.Second)
	}
	return r.UTC()
}

// ObjectLock is the lock s puts on what it writes.
func (s *S3) ObjectLock() (core.LockMode, time.Duration) {
	if !s.locking() {
		return core.LockNone, 0
	}
	return s.cfg.LockMode, s.cfg.LockFor
}

// LockedUntil asks for the retention of the current version of key.
func (s *S3) LockedUntil(ctx context.Context, key string) (time.Time, error) {
	if err := validateKey(key); err != nil {
		return time.Time{}, err
	}
	gctx, stop := s.watch.guard(ctx)
	defer stop()
	until, _, err := s.versionRetention(gctx, key, "")
	if err != nil {
		return time.Time{}, s.failGuarded(ctx, gctx, "reading the retention of "+key, err)
	}
	return until, nil
}

// versionRetention is the retention of one version of key ("" the
// current one): zero when it has none.
func (s *S3) versionRetention(ctx context.Context, key, versionID string) (time.Time, core.LockMode, error) {
	mode, until, err := s.client.GetObjectRetention(ctx, s.cfg.Bucket, s.prefix+key, versionID)
	if err != nil {
		if noRetention(err) {
			return time.Time{}, core.LockNone, nil
		}
		return time.Time{}, core.LockNone, err
	}
	if until == nil {
		return time.Time{}, core.LockNone, nil
	}
	var m core.LockMode
	if mode != nil {
		m = core.LockMode(strings.ToLower(string(*mode)))
	}
	return until.UTC(), m, nil
}

// noRetention tells the answer "this object has no retention" from real
// failures: S3 says NoSuchObjectLockConfiguration, MinIO the same or an
// ObjectLockConfigurationNotFoundError.
func noRetention(err error) bool {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	switch resp.Code {
	case "NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError":
		return true
	}
	return false
}

// ExtendLock sets the retention of key to until (rounded up to the second)
// unless it already lasts as long.
func (s *S3) ExtendLock(ctx context.Context, key string, until time.Time) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if !s.locking() {
		return userErr(core.ErrInvalid, nil, "%s puts no Object Lock on what it writes, so %s cannot be locked until %s", s, key, until.UTC().Format(time.RFC3339))
	}
	gctx, stop := s.watch.guard(ctx)
	defer stop()
	until = ceilSecond(until)
	cur, _, err := s.versionRetention(gctx, key, "")
	if err != nil {
		return s.failGuarded(ctx, gctx, "reading the retention of "+key, err)
	}
	if !cur.Before(until) {
		return nil
	}
	mode := s.retentionMode()
	err = s.client.PutObjectRetention(gctx, s.cfg.Bucket, s.prefix+key, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &until})
	if err != nil {
		return s.failGuarded(ctx, gctx, fmt.Sprintf("locking %s until %s", key, until.Format(time.RFC3339)), err)
	}
	return nil
}

// BucketLockEnabled asks for the bucket's Object Lock configuration; a
// bucket without one answers with an error S3 names
// ObjectLockConfigurationNotFoundError.
func (s *S3) BucketLockEnabled(ctx context.Context) (bool, error) {
	gctx, stop := s.watch.guard(ctx)
	defer stop()
	enabled, _, _, _, err := s.client.GetObjectLockConfig(gctx, s.cfg.Bucket)
	if err != nil {
		if noRetention(err) {
			return false, nil
		}
		return false, s.failGuarded(ctx, gctx, "reading the Object Lock configuration of bucket "+s.cfg.Bucket, err)
	}
	return enabled == "Enabled", nil
}

// deleteVersions removes every version of key, delete markers included: in
// a bucket with Object Lock (always versioned) a plain delete only hides
// the object behind a marker. It first asks for the retention of each
// version, and removes nothing while any is retained: it then returns a
// *core.LockedError with the latest lock end. A retention the server
// enforces anyway (a version written meanwhile) is reported the same way.
func (s *S3) deleteVersions(ctx, gctx context.Context, key string) error {
	full := s.prefix + key
	lctx, cancel := context.WithCancel(gctx)
	defer cancel()
	type version struct {
		id     string
		marker bool
	}
	var versions []version
	for obj := range s.client.ListObjectsIter(lctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: full, WithVersions: true, Recursive: true}) {
		if obj.Err != nil {
			return s.failGuarded(ctx, gctx, "listing the versions of "+key, obj.Err)
		}
		if obj.Key == full {
			versions = append(versions, version{obj.VersionID, obj.IsDeleteMarker})
		}
	}
	var locked *core.LockedError
	now := time.Now()
	for _, v := range versions {
		if v.marker {
			continue
		}
		until, mode, err := s.versionRetention(gctx, key, v.id)
		if err != nil {
			return s.failGuarded(ctx, gctx, "reading the retention of "+key, err)
		}
		if until.After(now) && (locked == nil || until.After(locked.Until)) {
			locked = &core.LockedError{Key: key, Until: until, Mode: mode}
		}
	}
	if locked != nil {
		return locked
	}
	for _, v := range versions {
		err := s.client.RemoveObject(gctx, s.cfg.Bucket, full, minio.RemoveObjectOptions{VersionID: v.id})
		if err == nil {
			continue
		}
		if until, mode, rerr := s.versionRetention(gctx, key, v.id); rerr == nil && until.After(time.Now()) {
			return &core.LockedError{Key: key, Until: until, Mode: mode}
		}
		return s.failGuarded(ctx, gctx, "deleting "+key, err)
	}
	return nil
}
