package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"
)

// RestoreLease is the name of the lease a restore onto service holds from
// its start to its end, in whatever process it runs: a second restore onto
// the same service is refused meanwhile, and the scheduler leaves the
// service's slots to the restore (whose safety backup was just taken).
func RestoreLease(service string) string { return "restore:" + service }

// RestoreRunning returns the lease of a restore running onto service, if a
// live one holds it.
func RestoreRunning(ctx context.Context, cat LeaseReader, service string, now time.Time) (Lease, bool) {
	l, err := cat.CurrentLease(ctx, RestoreLease(service))
	if err != nil || !LeaseAlive(l, now) {
		return Lease{}, false
	}
	return l, true
}

// holdLease takes the lease name for this call (not only this process:
// two calls in one process exclude each other too) and renews it until
// release is called. A holder that died is taken over. what names the work
// in the refusal when someone else holds it.
func (e *Engine) holdLease(ctx context.Context, name, what string) (release func(), err error) {
	release, cur, ok, err := e.takeLease(ctx, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, Userf(ErrInvalid, "%s is already running (pid %d on %s, since %s); wait for it to finish",
			what, cur.PID, cur.Host, cur.AcquiredAt.Local().Format("15:04:05"))
	}
	return release, nil
}

// takeLease is holdLease that reports a live holder (cur, held false)
// instead of refusing.
func (e *Engine) takeLease(ctx context.Context, name string) (release func(), cur Lease, held bool, err error) {
	host := HostName()
	var token [4]byte
	_, _ = rand.Read(token[:])
	l := Lease{Name: name, Holder: name + " " + hex.EncodeToString(token[:]), PID: os.Getpid(), Host: host}
	cur, ok, err := e.Catalog.AcquireLease(ctx, l, func(cur Lease) bool { return !LeaseAlive(cur, e.now()) })
	if err != nil || !ok {
		return nil, cur, false, err
	}
	l = cur
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(e.heartbeatInterval())
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				l.Heartbeat = e.now()
				if err := e.Catalog.RenewLease(context.WithoutCancel(ctx), l); err != nil {
					e.log().Warn("renewing the lease failed", "lease", name, "error", err)
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		if err := e.Catalog.ReleaseLease(context.WithoutCancel(ctx), l); err != nil {
			e.log().Warn("releasing the lease failed", "lease", name, "error", err)
		}
	}, cur, true, nil
}
