package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// awayCatalog is a catalog whose server can be made unreachable: the
// scheduler's own calls (leases, the schedule version) fail as a stopped
// PostgreSQL server's do.
type awayCatalog struct {
	Catalog
	away atomic.Bool
}

func (a *awayCatalog) err(op string) error {
	if a.away.Load() {
		return fmt.Errorf("%s: %w: dial tcp: connection refused", op, core.ErrCatalogUnreachable)
	}
	return nil
}

func (a *awayCatalog) AcquireLease(ctx context.Context, l core.Lease, takeOver func(core.Lease) bool) (core.Lease, bool, error) {
	if err := a.err("acquire the lease"); err != nil {
		return core.Lease{}, false, err
	}
	return a.Catalog.AcquireLease(ctx, l, takeOver)
}

func (a *awayCatalog) RenewLease(ctx context.Context, l core.Lease) error {
	if err := a.err("renew the lease"); err != nil {
		return err
	}
	return a.Catalog.RenewLease(ctx, l)
}

func (a *awayCatalog) ScheduleVersion(ctx context.Context) (int64, error) {
	if err := a.err("read the schedule version"); err != nil {
		return 0, err
	}
	return a.Catalog.ScheduleVersion(ctx)
}

// TestUnreachableCatalogIsNotALostLease: a daemon whose catalog does not
// answer when it starts waits for it instead of stopping, and one whose
// catalog goes away later keeps its lease and its schedules: the next
// hourly slot still fires, and the scheduler says once that the catalog is
// away and once that it is back.
func TestUnreachableCatalogIsNotALostLease(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "nas", Frequency: core.Hourly, Retention: core.Retention{KeepLast: 5}})
	w.seed("nas", start.Add(-30*time.Minute)) // covers the 00:00 slot: no catch-up
	cat := &awayCatalog{Catalog: w.cat}
	cat.away.Store(true)
	log := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{w.t}, chanWriter(w.logged)), nil))
	s, err := New(Options{Catalog: cat, Runner: w.runner, Clock: w.clock, Location: time.UTC, PollInterval: time.Minute, Log: log,
		OnRun: func(r Run) { w.runs <- r }})
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- s.Run(w.ctx) }()

	w.waitLog("the catalog is unreachable")
	w.block(1)
	cat.away.Store(false)
	w.clock.Advance(time.Minute)
	w.waitLog("the catalog answers again")
	w.waitLog("running the schedules")

	// Gone again while the schedules run: the lease renewal fails, the
	// scheduler goes on.
	w.block(2) // the poll ticker and the 01:00 job
	cat.away.Store(true)
	w.clock.Advance(time.Minute)
	w.waitLog("the catalog is unreachable")
	w.advanceTo(time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC), 2)
	if r := w.next(); r.Service != "prod" || len(r.Backups) != 1 || r.Err != nil {
		t.Errorf("the 01:00 slot with the catalog away ran %+v, want one backup of prod", r)
	}
	select {
	case err := <-w.done:
		t.Fatalf("the scheduler stopped while the catalog was away: %v", err)
	default:
	}
	cat.away.Store(false)
	w.clock.Advance(time.Minute)
	w.waitLog("the catalog answers again")
	w.cancel()
	if err := <-w.done; err != nil {
		t.Errorf("scheduler stopped with %v", err)
	}
}
