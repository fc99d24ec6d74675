package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

var daemonB = core.Claimer{Holder: "daemon", PID: 4242, Host: "b"}

func submit(t *testing.T, c *Catalog, r core.Request) core.Request {
	t.Helper()
	must(t, c.SubmitRequest(core.WithActor(context.Background(), core.Actor{User: "alice", SSHClient: "10.0.0.9"}), &r))
	return r
}

func backupRequest(service, host string) core.Request {
	return core.Request{Kind: core.RequestBackup, Host: host, Service: service, Params: core.RequestParams{Destinations: []string{"s3"}}}
}

// A request goes pending → running → ended, each step conditional on the
// one before: claimed once, ended once, never pending again.
func TestRequestLifecycle(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	r := submit(t, c, core.Request{Kind: core.RequestRestore, Host: "b", Service: "prod",
		Params: core.RequestParams{BackupID: 7, Target: "prod", Neutralize: true, Confirmed: true}})
	if r.ID == 0 || r.Status != core.RequestPending || r.RequestedBy != "alice from 10.0.0.9" || r.RequestedHost != core.HostName() || !r.Heartbeat.Equal(r.RequestedAt) {
		t.Fatalf("submitted %+v; want an id, pending, alice from 10.0.0.9 on this host, heartbeat at submission", r)
	}
	got, err := c.Request(ctx, r.ID)
	must(t, err)
	if !reflect.DeepEqual(got.Params, r.Params) || got.Kind != core.RequestRestore || got.Status != core.RequestPending || got.ClaimedBy != nil || !got.RequestedAt.Equal(r.RequestedAt) {
		t.Errorf("read back %+v, want %+v", got, r)
	}
	audit, err := c.Audit(ctx, core.AuditFilter{Service: "prod"})
	must(t, err)
	if len(audit) != 1 || audit[0].Action != core.AuditRequest || audit[0].User != "alice" || audit[0].SSHClient != "10.0.0.9" ||
		audit[0].Detail != fmt.Sprintf("request %d: restore of backup 7 onto prod on host b", r.ID) {
		t.Errorf("audit %+v; want who asked what of host b", audit)
	}

	if _, ok, err := c.ClaimRequest(ctx, "a", core.Claimer{Holder: "daemon", PID: 1, Host: "a"}); err != nil || ok {
		t.Fatalf("host a claimed host b's request (ok %v, err %v)", ok, err)
	}
	claimed, ok, err := c.ClaimRequest(ctx, "b", daemonB)
	must(t, err)
	if !ok || claimed.ID != r.ID || claimed.Status != core.RequestRunning || claimed.ClaimedBy == nil || *claimed.ClaimedBy != daemonB || claimed.ClaimedAt == nil {
		t.Fatalf("claimed %+v (ok %v); want request %d running for %+v", claimed, ok, r.ID, daemonB)
	}
	if _, ok, err := c.ClaimRequest(ctx, "b", core.Claimer{Holder: "daemon", PID: 5, Host: "b"}); err != nil || ok {
		t.Fatalf("a running request was claimed again (ok %v, err %v)", ok, err)
	}

	p := core.RequestProgress{Phase: core.PhaseDump, Bytes: 1234, BackupIDs: []int64{9}}
	cancel, err := c.ReportRequest(ctx, r.ID, daemonB, p)
	must(t, err)
	if cancel {
		t.Error("nobody asked to cancel, yet the claimer is told to")
	}
	got, err = c.Request(ctx, r.ID)
	must(t, err)
	if got.Progress.Phase != core.PhaseDump || got.Progress.Bytes != 1234 || len(got.Progress.BackupIDs) != 1 || !got.Heartbeat.After(claimed.Heartbeat) {
		t.Errorf("after a report: progress %+v heartbeat %v; want the report and a later heartbeat than %v", got.Progress, got.Heartbeat, claimed.Heartbeat)
	}
	if _, err := c.ReportRequest(ctx, r.ID, core.Claimer{Holder: "daemon", PID: 5, Host: "b"}, p); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another process reported on the request: %v, want ErrNotFound", err)
	}

	result := json.RawMessage(`{"safety_backup_id":12}`)
	must(t, c.FinishRequest(ctx, r.ID, daemonB, core.RequestSucceeded, result, ""))
	got, err = c.Request(ctx, r.ID)
	must(t, err)
	if got.Status != core.RequestSucceeded || string(got.Result) != string(result) || got.FinishedAt == nil || got.Error != "" {
		t.Errorf("finished %+v; want succeeded with the result", got)
	}
	if err := c.FinishRequest(ctx, r.ID, daemonB, core.RequestFailed, nil, "again"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a request ended twice: %v, want ErrNotFound", err)
	}
	if _, err := c.ReportRequest(ctx, r.ID, daemonB, p); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("an ended request took a report: %v, want ErrNotFound", err)
	}
}

// Cancelling a pending request ends it at once; a running one gets the flag
// its claimer reads with its next report; an ended one stays as it was.
// Each is audited.
func TestCancelRequest(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	pending := submit(t, c, backupRequest("prod", "b"))
	got, err := c.CancelRequest(ctx, pending.ID)
	must(t, err)
	if got.Status != core.RequestCancelled || got.FinishedAt == nil {
		t.Fatalf("a pending request cancelled is %+v, want cancelled", got)
	}
	if _, ok, err := c.ClaimRequest(ctx, "b", daemonB); err != nil || ok {
		t.Fatalf("a cancelled request was claimed (ok %v, err %v)", ok, err)
	}

	running := submit(t, c, backupRequest("prod", "b"))
	_, ok, err := c.ClaimRequest(ctx, "b", daemonB)
	must(t, err)
	if !ok {
		t.Fatal("nothing to claim")
	}
	got, err = c.CancelRequest(ctx, running.ID)
	must(t, err)
	if got.Status != core.RequestRunning || !got.CancelRequested {
		t.Errorf("a running request cancelled is %+v, want still running with the flag", got)
	}
	cancel, err := c.ReportRequest(ctx, running.ID, daemonB, core.RequestProgress{})
	must(t, err)
	if !cancel {
		t.Error("the claimer was not told to cancel")
	}
	must(t, c.FinishRequest(ctx, running.ID, daemonB, core.RequestCancelled, nil, "the backup was interrupted"))
	got, err = c.CancelRequest(ctx, running.ID)
	must(t, err)
	if got.Status != core.RequestCancelled || got.Error != "the backup was interrupted" {
		t.Errorf("cancelling an ended request changed it: %+v", got)
	}

	if _, err := c.CancelRequest(ctx, 999); !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), "request 999 does not exist") {
		t.Errorf("cancelling no request: %v, want request 999 does not exist", err)
	}
	audit, err := c.Audit(ctx, core.AuditFilter{Service: "prod"})
	must(t, err)
	cancels := 0
	for _, e := range audit {
		if e.Action == core.AuditRequestCancel {
			cancels++
		}
	}
	if cancels != 3 {
		t.Errorf("%d cancellations audited, want 3: %+v", cancels, audit)
	}
}

// Whoever sees a request's heartbeat stale marks it failed, but only if
// it is still as seen: a claimer that reported meanwhile keeps it. A marked
// request never runs again, and its claimer learns it must stop.
func TestAbandonRequestIsConditional(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	r := submit(t, c, backupRequest("prod", "b"))
	claimed, _, err := c.ClaimRequest(ctx, "b", daemonB)
	must(t, err)
	seen := claimed.Heartbeat
	_, err = c.ReportRequest(ctx, r.ID, daemonB, core.RequestProgress{Phase: core.PhaseDump})
	must(t, err)
	if ok, err := c.AbandonRequest(ctx, r.ID, core.RequestRunning, seen, core.RequestInterrupted("b")); err != nil || ok {
		t.Fatalf("a request whose claimer reported since was marked (ok %v, err %v)", ok, err)
	}
	now, err := c.Request(ctx, r.ID)
	must(t, err)
	if ok, err := c.AbandonRequest(ctx, r.ID, core.RequestRunning, now.Heartbeat, core.RequestInterrupted("b")); err != nil || !ok {
		t.Fatalf("a request still as seen was not marked (ok %v, err %v)", ok, err)
	}
	got, err := c.Request(ctx, r.ID)
	must(t, err)
	if got.Status != core.RequestFailed || !strings.HasPrefix(got.Error, "interrupted") || got.FinishedAt == nil {
		t.Errorf("abandoned request %+v, want failed interrupted", got)
	}
	if _, err := c.ReportRequest(ctx, r.ID, daemonB, core.RequestProgress{}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the claimer of an abandoned request may go on: %v, want ErrNotFound", err)
	}
	if err := c.FinishRequest(ctx, r.ID, daemonB, core.RequestSucceeded, nil, ""); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("an abandoned request ended succeeded: %v, want ErrNotFound", err)
	}
	if _, ok, err := c.ClaimRequest(ctx, "b", daemonB); err != nil || ok {
		t.Errorf("an abandoned request was claimed again (ok %v, err %v)", ok, err)
	}

	// A pending request whose host's daemon died is marked the same way.
	p := submit(t, c, backupRequest("prod", "b"))
	if ok, err := c.AbandonRequest(ctx, p.ID, core.RequestPending, p.Heartbeat, core.RequestNotTaken("b")); err != nil || !ok {
		t.Fatalf("a pending request was not marked (ok %v, err %v)", ok, err)
	}
	if _, ok, err := c.ClaimRequest(ctx, "b", daemonB); err != nil || ok {
		t.Errorf("a request marked not taken was claimed (ok %v, err %v)", ok, err)
	}
}

// Requests lists newest first, by host and status.
func TestRequestsFilter(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	a1 := submit(t, c, backupRequest("shop", "a"))
	b1 := submit(t, c, backupRequest("prod", "b"))
	b2 := submit(t, c, core.Request{Kind: core.RequestDrill, Host: "b", Service: "prod"})
	_, _, err := c.ClaimRequest(ctx, "b", daemonB)
	must(t, err)
	ids := func(f core.RequestFilter) string {
		rs, err := c.Requests(ctx, f)
		must(t, err)
		var s []string
		for _, r := range rs {
			s = append(s, fmt.Sprint(r.ID))
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		f    core.RequestFilter
		want string
	}{
		{core.RequestFilter{}, fmt.Sprintf("%d,%d,%d", b2.ID, b1.ID, a1.ID)},
		{core.RequestFilter{Host: "b"}, fmt.Sprintf("%d,%d", b2.ID, b1.ID)},
		{core.RequestFilter{Host: "b", Status: core.RequestRunning}, fmt.Sprint(b1.ID)},
		{core.RequestFilter{Status: core.RequestPending}, fmt.Sprintf("%d,%d", b2.ID, a1.ID)},
		{core.RequestFilter{Limit: 1}, fmt.Sprint(b2.ID)},
	} {
		if got := ids(tc.f); got != tc.want {
			t.Errorf("Requests(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

// What the catalog cannot store is refused with a sentence.
func TestRequestRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	for _, tc := range []struct {
		r    core.Request
		want string
	}{
		{core.Request{Kind: "vacuum", Host: "b", Service: "prod"}, `"vacuum" is not work a host can be asked for`},
		{core.Request{Kind: core.RequestBackup, Service: "prod"}, "needs the service it is about and the host"},
		{core.Request{Kind: core.RequestBackup, Host: "b"}, "needs the service it is about and the host"},
	} {
		if err := c.SubmitRequest(ctx, &tc.r); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SubmitRequest(%+v) = %v, want ErrInvalid saying %q", tc.r, err, tc.want)
		}
	}
	if rs, err := c.Requests(ctx, core.RequestFilter{}); err != nil || len(rs) != 0 {
		t.Errorf("refused requests were stored: %v %v", rs, err)
	}
	if _, _, err := c.ClaimRequest(ctx, "b", core.Claimer{PID: 1, Host: "b"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("a claim without a holder: %v, want ErrInvalid", err)
	}
	r := submit(t, c, backupRequest("prod", "b"))
	_, _, err := c.ClaimRequest(ctx, "b", daemonB)
	must(t, err)
	if err := c.FinishRequest(ctx, r.ID, daemonB, core.RequestPending, nil, ""); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("ending a request as pending: %v, want ErrInvalid", err)
	}
	if _, err := c.Request(ctx, 999); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Request(999) = %v, want ErrNotFound", err)
	}
}

// Two claimers racing, on two connections, for one request: exactly one
// gets it, every round.
func TestRacingClaimHasOneWinner(t *testing.T) {
	ctx := context.Background()
	first, second := openTwoHandles(t)
	for round := range 30 {
		r := submit(t, first, backupRequest("prod", "b"))
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			won   [2]core.Request
			ok    [2]bool
			errs  [2]error
		)
		for i, c := range []*Catalog{first, second} {
			wg.Go(func() {
				<-start
				won[i], ok[i], errs[i] = c.ClaimRequest(ctx, "b", core.Claimer{Holder: "daemon", PID: 100 + i, Host: "b"})
			})
		}
		close(start)
		wg.Wait()
		must(t, errors.Join(errs[:]...))
		if ok[0] == ok[1] {
			t.Fatalf("round %d: claims %v and %v; want exactly one winner", round, ok[0], ok[1])
		}
		winner := won[0]
		if ok[1] {
			winner = won[1]
		}
		if winner.ID != r.ID {
			t.Fatalf("round %d: claimed request %d, want %d", round, winner.ID, r.ID)
		}
		got, err := first.Request(ctx, r.ID)
		must(t, err)
		if *got.ClaimedBy != *winner.ClaimedBy {
			t.Fatalf("round %d: the catalog says %+v claimed it, the winner thinks %+v", round, got.ClaimedBy, winner.ClaimedBy)
		}
		must(t, first.FinishRequest(ctx, r.ID, *got.ClaimedBy, core.RequestSucceeded, nil, ""))
	}
}

// A daemon waiting for requests wakes when one is submitted from another
// connection (PostgreSQL's NOTIFY), and otherwise after the time it gave.
func TestWaitRequestsWakesOnSubmit(t *testing.T) {
	ctx := context.Background()
	daemon, requester := openTwoHandles(t)
	must(t, daemon.WaitRequests(ctx, time.Millisecond)) // an idle wait returns after max
	if !daemon.Postgres() {
		return // SQLite has no notifications: its daemons poll
	}
	woke := make(chan error, 1)
	go func() { woke <- daemon.WaitRequests(ctx, time.Minute) }()
	r := backupRequest("prod", "b")
	must(t, requester.SubmitRequest(ctx, &r))
	select {
	case err := <-woke:
		must(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting daemon did not wake within 30s of a submission (its wait was a minute)")
	}
	// Cancelling wakes it too.
	go func() { woke <- daemon.WaitRequests(ctx, time.Minute) }()
	_, err := requester.CancelRequest(ctx, r.ID)
	must(t, err)
	select {
	case err := <-woke:
		must(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting daemon did not wake within 30s of a cancellation")
	}
	// A wait cut short by its context says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := daemon.WaitRequests(cctx, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("a wait whose context ended returned %v, want context.Canceled", err)
	}
}
