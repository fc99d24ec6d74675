package store

import (
	"context"
	"testing"
	"time"
)

// A pool's lock date is raised, never lowered, per service and
// destination, and goes with its destination.
func TestPoolLocks(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	d := addLocal(t, c, "nas")
	other := addLocal(t, c, "usb")
	got, err := c.PoolLockedUntil(ctx, d.ID, "prod")
	must(t, err)
	if !got.IsZero() {
		t.Fatalf("a pool never locked: %s; want the zero time", got)
	}
	w := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, c.RaisePoolLock(ctx, d.ID, "prod", w))
	must(t, c.RaisePoolLock(ctx, d.ID, "prod", w.Add(-time.Hour)))
	if got, err := c.PoolLockedUntil(ctx, d.ID, "prod"); err != nil || !got.Equal(w) {
		t.Fatalf("after raising to %s then asking for an earlier date: %s, %v; want %s", w, got, err, w)
	}
	must(t, c.RaisePoolLock(ctx, d.ID, "prod", w.Add(time.Hour)))
	if got, err := c.PoolLockedUntil(ctx, d.ID, "prod"); err != nil || !got.Equal(w.Add(time.Hour)) {
		t.Fatalf("after raising to a later date: %s, %v; want %s", got, err, w.Add(time.Hour))
	}
	for _, k := range []struct {
		dest    int64
		service string
	}{{d.ID, "staging"}, {other.ID, "prod"}} {
		if got, err := c.PoolLockedUntil(ctx, k.dest, k.service); err != nil || !got.IsZero() {
			t.Errorf("pool of %s on destination %d: %s, %v; want none (each pool has its own date)", k.service, k.dest, got, err)
		}
	}
	must(t, c.RemoveDestination(ctx, "nas", false))
	if got, err := c.PoolLockedUntil(ctx, d.ID, "prod"); err != nil || !got.IsZero() {
		t.Errorf("after the destination was removed: %s, %v; want none", got, err)
	}
}
