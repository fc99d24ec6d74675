package core_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

func requestCatalog(t *testing.T) *store.Catalog {
	t.Helper()
	cat, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

func submitted(t *testing.T, cat *store.Catalog, r core.Request) core.Request {
	t.Helper()
	if err := cat.SubmitRequest(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func claimed(t *testing.T, cat *store.Catalog, host string, cl core.Claimer) core.Request {
	t.Helper()
	r, ok, err := cat.ClaimRequest(context.Background(), host, cl)
	if err != nil || !ok {
		t.Fatalf("claim: ok %v, err %v", ok, err)
	}
	return r
}

// deadPID is the pid of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// A requester whose request's claimer has been silent for longer than
// LeaseTTL marks it failed as interrupted and returns it ended.
func TestFollowRequestEndsASilentClaimersRequest(t *testing.T) {
	ctx := context.Background()
	cat := requestCatalog(t)
	r := submitted(t, cat, core.Request{Kind: core.RequestBackup, Host: "b", Service: "prod"})
	claimed(t, cat, "b", core.Claimer{Holder: "daemon", PID: 7, Host: "b"})
	later := func() time.Time { return time.Now().Add(core.LeaseTTL + time.Second) }
	var seen []core.RequestStatus
	got, err := core.FollowRequest(ctx, cat, cat, r.ID, time.Millisecond, later, func(r core.Request) { seen = append(seen, r.Status) })
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.RequestFailed || got.Error != core.RequestInterrupted("b") {
		t.Errorf("followed to %+v, want failed: %s", got, core.RequestInterrupted("b"))
	}
	if len(seen) != 2 || seen[0] != core.RequestRunning || seen[1] != core.RequestFailed {
		t.Errorf("seen %v, want running then failed", seen)
	}
}

// A pending request whose host has had no live daemon for LeaseTTL ends
// failed, and is then never claimed.
func TestFollowRequestEndsAPendingRequestWithoutDaemon(t *testing.T) {
	ctx := context.Background()
	cat := requestCatalog(t)
	r := submitted(t, cat, core.Request{Kind: core.RequestRestore, Host: "b", Service: "prod", Params: core.RequestParams{BackupID: 1, Target: "prod", Confirmed: true}})
	later := func() time.Time { return time.Now().Add(core.LeaseTTL + time.Second) }
	got, err := core.FollowRequest(ctx, cat, cat, r.ID, time.Millisecond, later, func(core.Request) {})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.RequestFailed || got.Error != core.RequestNotTaken("b") {
		t.Errorf("followed to %+v, want failed: %s", got, core.RequestNotTaken("b"))
	}
	if _, ok, err := cat.ClaimRequest(ctx, "b", core.Claimer{Holder: "daemon", PID: 9, Host: "b"}); ok || err != nil {
		t.Errorf("a daemon starting later claimed the restore nobody waits for any more (ok %v, err %v)", ok, err)
	}
}

// Ctrl-C while following asks to cancel; a pending request ends cancelled.
func TestFollowRequestCancelsWhenInterrupted(t *testing.T) {
	cat := requestCatalog(t)
	r := submitted(t, cat, core.Request{Kind: core.RequestDrill, Host: "b", Service: "prod"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := core.FollowRequest(ctx, cat, cat, r.ID, time.Millisecond, time.Now, func(core.Request) {})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.RequestCancelled || !got.CancelRequested {
		t.Errorf("followed to %+v, want cancelled", got)
	}
}

// A host's scheduler taking its lease ends the requests a dead claimer
// left running, and only those.
func TestInterruptRequestsOnlyEndsTheDeads(t *testing.T) {
	ctx := context.Background()
	cat := requestCatalog(t)
	host := core.HostName()
	self := core.Claimer{Holder: "daemon", PID: 1000001, Host: host}
	dead := core.Claimer{Holder: "daemon", PID: deadPID(t), Host: host}
	elsewhere := core.Claimer{Holder: "console", PID: 1, Host: "other-machine"}
	var ids []int64
	for _, cl := range []core.Claimer{dead, self, elsewhere} {
		ids = append(ids, submitted(t, cat, core.Request{Kind: core.RequestBackup, Host: host, Service: "prod"}).ID)
		claimed(t, cat, host, cl)
	}
	gone, err := core.InterruptRequests(ctx, cat, host, self, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != 1 || gone[0].ID != ids[0] {
		t.Fatalf("interrupted %+v, want only request %d of the dead process", gone, ids[0])
	}
	for i, want := range []core.RequestStatus{core.RequestFailed, core.RequestRunning, core.RequestRunning} {
		r, err := cat.Request(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != want {
			t.Errorf("request %d claimed by %+v is %s, want %s", r.ID, r.ClaimedBy, r.Status, want)
		}
	}
	// Silent for LeaseTTL, the other machine's claimer is gone too.
	gone, err = core.InterruptRequests(ctx, cat, host, self, time.Now().Add(core.LeaseTTL+time.Second))
	if err != nil || len(gone) != 1 || gone[0].ID != ids[2] {
		t.Errorf("later: interrupted %+v (%v), want request %d", gone, err, ids[2])
	}
}

// A restore onto a service that carries no confirmation is refused by the
// host that would run it, whatever wrote the request.
func TestRunRequestRefusesAnUnconfirmedRestore(t *testing.T) {
	ctx := context.Background()
	cat := requestCatalog(t)
	r := submitted(t, cat, core.Request{Kind: core.RequestRestore, Host: core.HostName(), Service: "prod", Params: core.RequestParams{BackupID: 1, Target: "prod"}})
	cl := core.Claimer{Holder: "daemon", PID: 1, Host: core.HostName()}
	r = claimed(t, cat, r.Host, cl)
	e := &core.Engine{Catalog: cat}
	if err := e.RunRequest(ctx, cat, r, cl); err != nil {
		t.Fatal(err)
	}
	got, err := cat.Request(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.RequestFailed || !strings.Contains(got.Error, "without the confirmation that it may; nothing was done") {
		t.Errorf("unconfirmed restore ended %+v, want failed and refused", got)
	}
}
