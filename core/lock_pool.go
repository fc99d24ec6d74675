package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// A backup on a locking destination is immutable only if the pool objects
// it reuses stay locked as long as its own objects. Extending each reused
// object at each backup would cost a request per file per backup, so the
// catalog keeps, for each pool, a date W (PoolLockCatalog) with the
// invariant: every object of the pool is locked until at least W. A backup
// that needs its objects locked until T = now + the lock's duration then
// does one of two things:
//
//   - W >= T: it writes its new objects locked until W and reuses any
//     object freely;
//   - otherwise it renews: its new objects are locked until R = now + twice
//     the duration, every object of the pool is extended to R (a bounded
//     number at once), and once all are, W becomes R.
//
// So the pool is renewed once per lock period, not at every backup. A
// renewal that fails leaves W as it was (the next backup renews again) and
// the backup records a warning; the backup itself is kept.

// poolRenewers bounds the retention extensions in flight at once.
const poolRenewers = 16

// poolLockPlan is what a backup does with the locks of its pool.
type poolLockPlan struct {
	// until is the date new objects are locked until (zero: the store
	// does not lock, or its own duration is enough).
	until time.Time
	// renew: every object of the pool is to be extended to until, then
	// the pool's W raised to it.
	renew bool
}

// retain is ctx for the writes of pool objects under the plan.
func (p poolLockPlan) retain(ctx context.Context) context.Context {
	return WithRetainUntil(ctx, p.until)
}

// planPoolLock decides, before a backup writes to the pool of service on
// d through st, how it locks the pool's objects.
func (e *Engine) planPoolLock(ctx context.Context, st ObjectStore, d Destination, service string) poolLockPlan {
	l, ok := lockerOf(st)
	if !ok {
		return poolLockPlan{}
	}
	_, dur := l.ObjectLock()
	now := time.Now()
	var w time.Time
	if pc, ok := e.Catalog.(PoolLockCatalog); ok {
		var err error
		if w, err = pc.PoolLockedUntil(ctx, d.ID, service); err != nil {
			e.log().Warn("cannot read how long the pool is locked; its locks are renewed", "service", service, "destination", d.Name, "error", err)
			w = time.Time{}
		}
	}
	if !w.Before(now.Add(dur)) {
		return poolLockPlan{until: w}
	}
	return poolLockPlan{until: now.Add(2 * dur), renew: true}
}

// renewPoolLocks carries out a renewing plan before the backup's file list
// is written: every object of the pool of service on st (its name keys
// included) is extended to
// plan.until, then the pool's W raised to it. An object removed meanwhile
// is no longer anyone's to lock.
func (e *Engine) renewPoolLocks(ctx context.Context, st ObjectStore, d Destination, service string, plan poolLockPlan) error {
	if !plan.renew {
		return nil
	}
	l, ok := lockerOf(st)
	if !ok {
		return nil
	}
	objects, err := st.List(ctx, pool.Prefix(service))
	if err != nil {
		return fmt.Errorf("list the pool of %s on %s to lock it: %w", service, d.Name, err)
	}
	keys := make(chan string)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(poolRenewers, max(len(objects), 1)) {
		wg.Go(func() {
			for key := range keys {
				err := l.ExtendLock(rctx, key, plan.until)
				if err == nil || errors.Is(err, ErrNotFound) {
					continue
				}
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("lock the pool object %s on %s until %s: %w", key, d.Name, plan.until.UTC().Format(time.RFC3339), err)
					cancel()
				}
				mu.Unlock()
			}
		})
	}
feed:
	// Everything under the pool's prefix: its objects and, on an
	// encrypting destination, the name keys that open its lists.
	for _, o := range objects {
		select {
		case keys <- o.Key:
		case <-rctx.Done():
			break feed
		}
	}
	close(keys)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if pc, ok := e.Catalog.(PoolLockCatalog); ok {
		if err := pc.RaisePoolLock(ctx, d.ID, service, plan.until); err != nil {
			return err
		}
	}
	e.log().Info("pool locks renewed", "service", service, "destination", d.Name, "objects", len(objects), "until", plan.until.UTC())
	return nil
}

// poolLockWarning is the warning a backup records when its pool's locks
// could not be renewed.
func poolLockWarning(until time.Time, err error) string {
	return fmt.Sprintf("the pool objects this backup reuses could not all be locked until %s (%v), so some may be deleted before the backup's own lock ends; the next backup renews them", until.UTC().Format("2006-01-02 15:04 UTC"), err)
}
