package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// RequestReportInterval is how often a claimer writes a running request's
// progress and heartbeat, and so reads its cancel flag: at most one write a
// second per running request.
const RequestReportInterval = time.Second

// RunRequest runs request r, claimed by cl, with the use case its kind
// names, as the command line would run it on this host: the progress goes
// into the request every RequestReportInterval (the heartbeat that tells
// the requester the work is alive), a cancellation asked for from anywhere
// cancels the work within about that interval, and the request ends with
// the use case's result and error. When ctx ends (the daemon stops) the
// work is cancelled and the request ends failed as interrupted: it is
// never run again without a person asking.
//
// The error it returns is about the bookkeeping, not the work (whose error
// is in the request): a request ended meanwhile by someone who took its
// claimer for dead, or a catalog that could not record the end.
func (e *Engine) RunRequest(ctx context.Context, q RequestQueue, r Request, cl Claimer) error {
	work, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	who := fmt.Sprintf("%s on %s (request %d)", r.RequestedBy, r.RequestedHost, r.ID)
	work = WithActor(work, Actor{User: who})

	rep := &requestReport{}
	var (
		cancelled, lost, stopped bool
		flags                    sync.Mutex
	)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(RequestReportInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				flags.Lock()
				stopped = true
				flags.Unlock()
				cancel(errors.New("the daemon is stopping"))
				return
			case <-t.C:
			}
			asked, err := q.ReportRequest(context.WithoutCancel(ctx), r.ID, cl, rep.snapshot())
			switch {
			case errors.Is(err, ErrNotFound):
				flags.Lock()
				lost = true
				flags.Unlock()
				cancel(errors.New("the request was ended meanwhile"))
				return
			case err != nil:
				// The next report tries again; a catalog silent for longer
				// than LeaseTTL makes the requester take this for dead.
				e.log().Warn("reporting a request's progress failed", "request", r.ID, "error", err)
			case asked:
				flags.Lock()
				cancelled = true
				flags.Unlock()
				cancel(errors.New("cancelled by the requester"))
				return
			}
		}
	}()

	result, err := e.runRequest(work, r, rep.progress)
	close(stop)
	<-done

	flags.Lock()
	defer flags.Unlock()
	if !lost {
		// The last progress (the backups a quick run made) goes with the
		// end: the requester reads both.
		_, rerr := q.ReportRequest(context.WithoutCancel(ctx), r.ID, cl, rep.snapshot())
		lost = errors.Is(rerr, ErrNotFound)
	}
	if lost {
		e.log().Warn("the request was ended by another process meanwhile (it took this one for dead); its outcome is not recorded",
			"request", r.ID, "error", errString(err))
		return notEnded(r)
	}
	status, msg := RequestSucceeded, ""
	switch {
	case err == nil:
	case cancelled:
		status, msg = RequestCancelled, err.Error()
	case stopped:
		status, msg = RequestFailed, RequestInterrupted(r.Host)
	default:
		status, msg = RequestFailed, err.Error()
	}
	var raw json.RawMessage
	if result != nil {
		raw, _ = json.Marshal(result)
	}
	if ferr := q.FinishRequest(context.WithoutCancel(ctx), r.ID, cl, status, raw, msg); ferr != nil {
		return ferr
	}
	e.log().Info("request ended", "request", r.ID, "kind", r.Kind, "service", r.Service, "status", status, "error", msg)
	return nil
}

func notEnded(r Request) error {
	return Userf(ErrNotFound, "request %d was ended by another process meanwhile; its outcome is not recorded", r.ID)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// runRequest calls the use case of r's kind and returns its result (nil
// when there is none to show).
func (e *Engine) runRequest(ctx context.Context, r Request, progress ProgressFunc) (any, error) {
	ctx = context.WithValue(ctx, requestedKey{}, r.ID)
	p := r.Params
	switch r.Kind {
	case RequestBackup:
		out, err := e.Backup(ctx, BackupRequest{Service: r.Service, Destinations: p.Destinations, Kind: KindManual, Progress: progress})
		if len(out) == 0 {
			return nil, err
		}
		return out, err
	case RequestRestore, RequestUploadRestore:
		if p.Target == "" {
			res, err := e.RestoreNewDB(ctx, RestoreRequest{BackupID: p.BackupID, NewDB: p.NewDB, FilestoreDir: p.FilestoreDir,
				Owner: p.Owner, Neutralize: p.Neutralize, AcceptErrors: p.AcceptErrors, Only: p.Only, Progress: progress})
			return resultOrNil(res, err)
		}
		if !p.Confirmed {
			// The requester checks this too; a request written by anything
			// else must not replace a service's data unconfirmed.
			return nil, Userf(ErrInvalid, "request %d asks to replace the data of %s without the confirmation that it may; nothing was done", r.ID, p.Target)
		}
		res, err := e.RestoreToService(ctx, ServiceRestoreRequest{BackupID: p.BackupID, Service: p.Target, Neutralize: p.Neutralize,
			AcceptErrors: p.AcceptErrors, Only: p.Only, Progress: progress})
		return resultOrNil(res, err)
	case RequestDrill:
		res, err := e.Drill(ctx, DrillRequest{Service: r.Service, Destination: p.Destination, Progress: progress})
		if res.Drill.ID == 0 {
			return nil, err
		}
		return res, err
	case RequestServiceCopy:
		res, err := e.CopyService(ctx, CopyServiceRequest{Source: r.Service, NewName: p.NewName, NewDB: p.NewDB, FilestoreDir: p.FilestoreDir,
			Neutralize: p.Neutralize, Owner: p.Owner, AcceptErrors: p.AcceptErrors, Progress: progress})
		return resultOrNil(res, err)
	}
	return nil, Userf(ErrInvalid, "request %d asks for %q, which this version cannot do; nothing was done", r.ID, r.Kind)
}

func resultOrNil[T any](res T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return res, nil
}

// requestReport is the latest progress of a running request.
type requestReport struct {
	mu sync.Mutex
	p  RequestProgress
}

func (r *requestReport) progress(p Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.Phase, r.p.Bytes, r.p.Total = p.Phase, p.Bytes, p.Total
	if p.BackupID != 0 && !slices.Contains(r.p.BackupIDs, p.BackupID) {
		r.p.BackupIDs = append(r.p.BackupIDs, p.BackupID)
	}
}

func (r *requestReport) snapshot() RequestProgress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.p
	p.BackupIDs = slices.Clone(p.BackupIDs)
	return p
}

// InterruptRequests ends failed, as interrupted, every request of host left
// running by a claimer that is gone: silent for LeaseTTL, or a process of
// this host that no longer exists. self's own are left alone. A host's
// scheduler calls it when it takes the host's lease: whatever the previous
// holder was running died with it, and is never run again by itself.
func InterruptRequests(ctx context.Context, q RequestQueue, host string, self Claimer, now time.Time) ([]Request, error) {
	running, err := q.Requests(ctx, RequestFilter{Host: host, Status: RequestRunning})
	if err != nil {
		return nil, err
	}
	var out []Request
	var errs []error
	for _, r := range running {
		if r.ClaimedBy != nil && *r.ClaimedBy == self || !claimerGone(r, now) {
			continue
		}
		ok, err := q.AbandonRequest(ctx, r.ID, RequestRunning, r.Heartbeat, RequestInterrupted(host))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

// claimerGone says whether the process running r is dead.
func claimerGone(r Request, now time.Time) bool {
	if now.Sub(r.Heartbeat) > LeaseTTL {
		return true
	}
	c := r.ClaimedBy
	return c != nil && c.Host == HostName() && c.PID != os.Getpid() && !ProcessAlive(c.PID)
}

// FollowRequest reads request id every poll until it ends, calling seen
// with each new state, and returns it ended. When ctx ends (Ctrl-C) it asks
// to cancel the request and follows it to its end. A running request whose
// heartbeat is older than LeaseTTL, or a pending one whose host has no live
// daemon any more, it marks failed as interrupted (if still so) and returns:
// the work is not run again without a person.
func FollowRequest(ctx context.Context, q RequestQueue, leases LeaseReader, id int64, poll time.Duration, now Clock, seen func(Request)) (Request, error) {
	bg := context.WithoutCancel(ctx)
	asked := false
	var last Request
	for {
		r, err := q.Request(bg, id)
		if err != nil {
			return r, err
		}
		if r.Status != last.Status || r.Progress.Phase != last.Progress.Phase || r.Progress.Bytes != last.Progress.Bytes || r.CancelRequested != last.CancelRequested {
			seen(r)
		}
		last = r
		if r.Status.Final() {
			return r, nil
		}
		if ctx.Err() != nil && !asked {
			asked = true
			if _, err := q.CancelRequest(bg, id); err != nil {
				return r, err
			}
			continue
		}
		t := now()
		switch {
		case r.Status == RequestRunning && t.Sub(r.Heartbeat) > LeaseTTL:
			if _, err := q.AbandonRequest(bg, id, RequestRunning, r.Heartbeat, RequestInterrupted(r.Host)); err != nil {
				return r, err
			}
			continue
		case r.Status == RequestPending && t.Sub(r.RequestedAt) > LeaseTTL:
			// A daemon claims within a second or so of a submission; one
			// that has not after LeaseTTL may have died.
			if _, alive, err := HostDaemon(bg, leases, r.Host, t); err == nil && !alive {
				if _, err := q.AbandonRequest(bg, id, RequestPending, r.Heartbeat, RequestNotTaken(r.Host)); err != nil {
					return r, err
				}
				continue
			}
		}
		timer := time.NewTimer(poll)
		select {
		case <-timer.C:
		case <-ctx.Done():
			if asked {
				<-timer.C
			}
		}
		timer.Stop()
	}
}
