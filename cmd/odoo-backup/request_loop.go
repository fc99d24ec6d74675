package main

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// requestsLease is the lease whose holder runs the requests of this host:
// its scheduler's. It is the one place that names it.
func requestsLease() string { return core.SchedulerLeaseName(core.HostName()) }

// Idle waits between two looks for requests. On PostgreSQL a submission
// or a cancellation wakes the loop at once (LISTEN/NOTIFY), so the look
// without a wake-up is only a fallback; an SQLite catalog has no
// notifications and is looked at more often.
const (
	requestFallbackPG = 30 * time.Second
	requestPollSQLite = 5 * time.Second
	requestPollUnheld = 5 * time.Second // while this process does not hold the lease
)

// requestLoop claims and runs this host's requests while this process's
// scheduler holds the host's scheduler lease.
type requestLoop struct {
	cat             *store.Catalog
	engine          *core.Engine
	holder          string // the scheduler's lease holder: "daemon" or "console"
	maxConcurrent   int
	shutdownTimeout time.Duration
	log             *slog.Logger

	// kicked wakes the loop when a run ends and frees its slot.
	kicked chan struct{}
}

// run claims and runs requests until ctx ends, then lets running requests
// finish within shutdownTimeout and cancels the rest (they end failed as
// interrupted).
func (l *requestLoop) run(ctx context.Context) {
	host := core.HostName()
	self := core.Claimer{Holder: l.holder, PID: os.Getpid(), Host: host}
	slots := make(chan struct{}, max(1, l.maxConcurrent))
	runCtx, stopRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuns()
	var running sync.WaitGroup
	held := false
	for ctx.Err() == nil {
		lease, err := l.cat.CurrentLease(ctx, requestsLease())
		holds := err == nil && lease.Holder == l.holder && lease.PID == self.PID && lease.Host == host
		if holds && !held {
			// The lease is new to this process: what its previous holder
			// ran died with it.
			gone, err := core.InterruptRequests(ctx, l.cat, host, self, time.Now())
			for _, r := range gone {
				l.log.Warn("request interrupted by the end of its daemon recorded as failed; it is not run again", "request", r.ID, "kind", r.Kind, "service", r.Service)
			}
			if err != nil && ctx.Err() == nil {
				l.log.Error("recording interrupted requests failed", "error", err)
			}
		}
		held = holds
		if holds {
			l.claimAll(ctx, runCtx, self, slots, &running)
		}
		wait := requestPollUnheld
		switch {
		case held && l.cat.Postgres():
			wait = requestFallbackPG
		case held:
			wait = requestPollSQLite
		}
		l.sleep(ctx, wait)
	}
	done := make(chan struct{})
	go func() { running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(l.shutdownTimeout):
		l.log.Warn("requests still running after the shutdown timeout are cancelled; they end failed as interrupted")
		stopRuns()
		<-done
	}
}

// claimAll claims pending requests of this host while a slot is free, and
// runs each in the background under runCtx.
func (l *requestLoop) claimAll(ctx, runCtx context.Context, self core.Claimer, slots chan struct{}, running *sync.WaitGroup) {
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		default:
			return // every slot busy: a run that ends kicks the loop
		}
		r, ok, err := l.cat.ClaimRequest(ctx, self.Host, self)
		if err != nil || !ok {
			<-slots
			if err != nil && ctx.Err() == nil {
				l.log.Error("claiming a request failed", "error", err)
			}
			return
		}
		l.log.Info("request claimed", "request", r.ID, "kind", r.Kind, "service", r.Service, "requested_by", r.RequestedBy, "requested_host", r.RequestedHost)
		running.Add(1)
		go func() {
			defer running.Done()
			defer func() { <-slots; l.kick() }()
			if err := l.engine.RunRequest(runCtx, l.cat, r, self); err != nil {
				l.log.Error("ending the request failed", "request", r.ID, "error", err)
			}
		}()
	}
}

// sleep waits for a request (WaitRequests), at most d, or for a kick; a
// kick that came before it returns at once.
func (l *requestLoop) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-l.kicked:
		return
	default:
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-l.kicked:
			cancel()
		case <-wctx.Done():
		}
	}()
	if err := l.cat.WaitRequests(wctx, d); err != nil && wctx.Err() == nil {
		l.log.Warn("waiting for requests failed; looking again later", "error", err)
		select {
		case <-wctx.Done():
		case <-time.After(d):
		}
	}
}

// kick wakes the loop: a slot is free again.
func (l *requestLoop) kick() {
	select {
	case l.kicked <- struct{}{}:
	default:
	}
}

// startRequestLoop runs the request loop of a scheduler with holder in the
// background until ctx ends or the returned function is called; that
// function waits for the loop's end.
func (a *app) startRequestLoop(ctx context.Context, holder string, engine *core.Engine, log *slog.Logger, maxConcurrent int, shutdownTimeout time.Duration) func() {
	l := &requestLoop{cat: a.cat, engine: engine, holder: holder, maxConcurrent: maxConcurrent, shutdownTimeout: shutdownTimeout, log: log,
		kicked: make(chan struct{}, 1)}
	ctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx)
	}()
	return func() {
		stop()
		<-done
	}
}
