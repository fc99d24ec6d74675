package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// ErrLocked: the storage refuses to delete the object because an S3 Object
// Lock retention holds it until a date (LockedError says which). It is not
// a failure of the caller: the object stays, whole and readable, and can be
// removed once the date has passed.
var ErrLocked = errors.New("locked")

// LockedError says that Key cannot be deleted before Until, and by which
// retention Mode (empty when the storage did not say).
type LockedError struct {
	Key   string
	Until time.Time
	Mode  LockMode
}

func (e *LockedError) Error() string {
	if e.Mode == "" {
		return fmt.Sprintf("%s is locked until %s", e.Key, e.Until.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%s is locked until %s (%s mode)", e.Key, e.Until.UTC().Format(time.RFC3339), e.Mode)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// LockedUntilOf is the lock end err carries, when it is an ErrLocked.
func LockedUntilOf(err error) (time.Time, bool) {
	if le, ok := errors.AsType[*LockedError](err); ok {
		return le.Until, true
	}
	return time.Time{}, false
}

// ObjectLocker is an ObjectStore in a bucket with S3 Object Lock. Stores
// of a destination with a lock (Destination.Lock) put a retention on
// every object they write, by Put or by CopyFrom: the lock's mode, until
// the lock's duration from now, or until RetainUntilOf(ctx) when that is
// later. Their Delete removes every version of the key and fails with a
// *LockedError, changing nothing, when any version is still retained.
type ObjectLocker interface {
	// ObjectLock is the lock this store puts on what it writes: mode
	// LockNone (and duration 0) when it writes without a retention.
	ObjectLock() (LockMode, time.Duration)

	// LockedUntil is when the retention of key ends: the zero time when
	// it has none. A missing key wraps ErrNotFound.
	LockedUntil(ctx context.Context, key string) (time.Time, error)

	// ExtendLock makes key retained at least until until, in the store's
	// mode: it sets the retention when it ends earlier, and leaves it as
	// it is otherwise. It never shortens one. A missing key wraps
	// ErrNotFound.
	ExtendLock(ctx context.Context, key string, until time.Time) error

	// BucketLockEnabled reports whether the bucket has Object Lock
	// enabled, which only a bucket's creation can do.
	BucketLockEnabled(ctx context.Context) (bool, error)
}

// StoreUnwrapper is an ObjectStore that wraps another one (to limit its
// bandwidth, say): Unwrap returns the wrapped store, so what the wrapper
// does not offer (ObjectLocker) is still found.
type StoreUnwrapper interface {
	Unwrap() ObjectStore
}

// lockerOf is st's ObjectLocker when st writes with a retention.
func lockerOf(st ObjectStore) (ObjectLocker, bool) {
	for st != nil {
		if l, ok := st.(ObjectLocker); ok {
			mode, _ := l.ObjectLock()
			return l, mode != LockNone
		}
		u, ok := st.(StoreUnwrapper)
		if !ok {
			break
		}
		st = u.Unwrap()
	}
	return nil, false
}

type retainUntilKey struct{}

// WithRetainUntil asks the locking store's writes under ctx to retain what
// they write at least until until (the pool's renewal date, see
// lock_pool.go).
func WithRetainUntil(ctx context.Context, until time.Time) context.Context {
	if until.IsZero() {
		return ctx
	}
	return context.WithValue(ctx, retainUntilKey{}, until)
}

type noRetentionKey struct{}

// WithoutRetention asks the locking store's writes under ctx to put no
// retention on what they write: the probe's test object, which it deletes
// at once.
func WithoutRetention(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetentionKey{}, true)
}

// RetentionOff reports whether ctx came from WithoutRetention.
func RetentionOff(ctx context.Context) bool {
	off, _ := ctx.Value(noRetentionKey{}).(bool)
	return off
}

// RetainUntilOf is the date WithRetainUntil put in ctx, zero when none.
func RetainUntilOf(ctx context.Context) time.Time {
	t, _ := ctx.Value(retainUntilKey{}).(time.Time)
	return t
}

// Duration is how long the lock l keeps what is written: its days.
func (l ObjectLock) Duration() time.Duration { return time.Duration(l.Days) * 24 * time.Hour }

// backupObjectKeys are the objects b stored on its destination: its
// archive, its metadata object and, for a pool backup, its file list.
func backupObjectKeys(b Backup) []string {
	keys := []string{b.Key, MetadataKey(b.Key)}
	if b.Format == FormatOdooPool {
		keys = append(keys, pool.ListKey(b.Key))
	}
	return keys
}

// backupLockEnds are the earliest and the latest lock end of b's own
// objects on st; both zero when st does not lock or none of them is
// retained. An object that cannot be asked about makes it an error.
func backupLockEnds(ctx context.Context, st ObjectStore, b Backup) (first, last time.Time, err error) {
	l, ok := lockerOf(st)
	if !ok || b.Key == "" {
		return first, last, nil
	}
	for _, key := range backupObjectKeys(b) {
		until, err := l.LockedUntil(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return first, last, err
		}
		if until.IsZero() {
			continue
		}
		if first.IsZero() || until.Before(first) {
			first = until
		}
		if until.After(last) {
			last = until
		}
	}
	return first, last, nil
}

// recordLock sets b.LockedUntil to the earliest lock end of its objects on
// st, when st locks them; a lock end that cannot be read leaves it as it
// was (a rotation then learns it from the storage's refusal).
func (e *Engine) recordLock(ctx context.Context, st ObjectStore, b *Backup) {
	if _, ok := lockerOf(st); !ok {
		return
	}
	first, _, err := backupLockEnds(ctx, st, *b)
	if err != nil {
		e.log().Warn("cannot read the lock end of the backup's objects", "backup", b.ID, "destination", b.Destination, "error", err)
		return
	}
	if !first.IsZero() {
		first = first.UTC()
		b.LockedUntil = &first
	}
}

// checkRemovable says whether b's objects on st can be removed now: a
// *LockedError with the latest lock end of them when any is still
// retained, so that a removal never takes away part of a backup.
func (e *Engine) checkRemovable(ctx context.Context, st ObjectStore, b Backup) error {
	l, ok := lockerOf(st)
	if !ok {
		// A destination whose lock was turned off may still hold
		// retained objects: the storage's refusal then says so.
		return nil
	}
	_, last, err := backupLockEnds(ctx, st, b)
	if err != nil {
		return fmt.Errorf("read the lock of backup %d on %s: %w", b.ID, b.Destination, err)
	}
	if last.After(e.now()) {
		mode, _ := l.ObjectLock()
		return &LockedError{Key: b.Key, Until: last, Mode: mode}
	}
	return nil
}

// PoolLockCatalog keeps, for each pool (a service on a destination), the
// date W every object of that pool is locked until at least (see
// lock_pool.go). The engine reaches it with a type assertion on
// Engine.Catalog; a catalog without it makes every backup renew the locks.
type PoolLockCatalog interface {
	// PoolLockedUntil is W for the pool of service on the destination
	// destinationID; the zero time when none is recorded.
	PoolLockedUntil(ctx context.Context, destinationID int64, service string) (time.Time, error)
	// RaisePoolLock records until as W unless a later date is recorded.
	RaisePoolLock(ctx context.Context, destinationID int64, service string, until time.Time) error
}
