package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func hostRecords(t *testing.T, c *Catalog) map[string]core.HostRecord {
	t.Helper()
	rs, err := c.Hosts(context.Background())
	must(t, err)
	out := map[string]core.HostRecord{}
	for _, r := range rs {
		out[r.Name] = r
	}
	return out
}

// A daemon's record follows its host's scheduler lease: taken (started,
// seen), renewed (seen), released (stopped, and the record stays while
// the lease row goes), taken again (running again), taken over by another
// daemon (its pid). A console's turn at the schedules, other leases and a
// release by a process that does not hold the lease write nothing.
func TestDaemonRecordFollowsItsLease(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	if rs := hostRecords(t, c); len(rs) != 0 {
		t.Fatalf("a new catalog has host records %+v", rs)
	}
	b := core.Lease{Name: core.SchedulerLeaseName("b"), Holder: "daemon", PID: 10, Host: "b", Heartbeat: epoch}
	got, held, err := c.AcquireLease(ctx, b, never(t))
	must(t, err)
	if !held {
		t.Fatal("the free lease was not taken")
	}
	r := hostRecords(t, c)["b"]
	if r.Holder != "daemon" || r.PID != 10 || !r.StartedAt.Equal(epoch) || !r.SeenAt.Equal(epoch) || r.StoppedAt != nil {
		t.Fatalf("after acquiring: record %+v, want daemon 10 started and seen at %v", r, epoch)
	}

	got.Heartbeat = epoch.Add(time.Minute)
	must(t, c.RenewLease(ctx, got))
	if r := hostRecords(t, c)["b"]; !r.SeenAt.Equal(epoch.Add(time.Minute)) || !r.StartedAt.Equal(epoch) {
		t.Errorf("after renewing: record %+v, want seen a minute later, started unchanged", r)
	}
	got.Heartbeat = epoch.Add(2 * time.Minute)
	if _, _, err := c.AcquireLease(ctx, got, never(t)); err != nil {
		t.Fatal(err)
	}
	if r := hostRecords(t, c)["b"]; !r.SeenAt.Equal(epoch.Add(2 * time.Minute)) {
		t.Errorf("after the holder acquired again: record %+v, want seen 2 minutes later", r)
	}

	// Others touch nothing: a console of host c, another lease, a release
	// by a process that does not hold b's lease.
	for _, l := range []core.Lease{
		{Name: core.SchedulerLeaseName("c"), Holder: core.ConsoleHolder, PID: 11, Host: "c"},
		{Name: core.RestoreLease("prod"), Holder: "restore", PID: 12, Host: "b"},
		{Name: core.SchedulerHandoverLeaseName("b"), Holder: "daemon", PID: 13, Host: "b"},
	} {
		if _, _, err := c.AcquireLease(ctx, l, never(t)); err != nil {
			t.Fatal(err)
		}
	}
	must(t, c.ReleaseLease(ctx, core.Lease{Name: core.SchedulerLeaseName("b"), Holder: "daemon", PID: 99, Host: "b"}))
	rs := hostRecords(t, c)
	if len(rs) != 1 || rs["b"].StoppedAt != nil {
		t.Fatalf("records %+v, want only b's, still running", rs)
	}

	must(t, c.ReleaseLease(ctx, got))
	if _, err := c.CurrentLease(ctx, b.Name); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("the lease is still there after release: %v", err)
	}
	r = hostRecords(t, c)["b"]
	if r.StoppedAt == nil || r.StoppedAt.Before(epoch) || !r.SeenAt.Equal(*r.StoppedAt) || r.PID != 10 {
		t.Fatalf("after release: record %+v, want daemon 10 stopped", r)
	}
	stopped := *r.StoppedAt
	must(t, c.ReleaseLease(ctx, got)) // a second release changes nothing
	if r := hostRecords(t, c)["b"]; r.StoppedAt == nil || !r.StoppedAt.Equal(stopped) {
		t.Errorf("a second release moved the stop: %+v, want %v", r, stopped)
	}

	// The next daemon runs: the record is its own, running.
	next := core.Lease{Name: b.Name, Holder: "daemon", PID: 20, Host: "b", Heartbeat: epoch.Add(time.Hour)}
	if _, held, err := c.AcquireLease(ctx, next, never(t)); err != nil || !held {
		t.Fatalf("acquire after release: held %v, %v", held, err)
	}
	r = hostRecords(t, c)["b"]
	if r.PID != 20 || r.StoppedAt != nil || !r.StartedAt.Equal(epoch.Add(time.Hour)) {
		t.Errorf("after a new daemon took the lease: %+v, want pid 20 running since %v", r, epoch.Add(time.Hour))
	}
	// It dies; a third takes over: the record says so.
	third := core.Lease{Name: b.Name, Holder: "daemon", PID: 30, Host: "b", Heartbeat: epoch.Add(2 * time.Hour)}
	if _, held, err := c.AcquireLease(ctx, third, func(core.Lease) bool { return true }); err != nil || !held {
		t.Fatalf("take over: held %v, %v", held, err)
	}
	if r := hostRecords(t, c)["b"]; r.PID != 30 || !r.SeenAt.Equal(epoch.Add(2*time.Hour)) {
		t.Errorf("after a take-over: %+v, want pid 30", r)
	}
}

// Moving a service to another host is stored and audited; an update that
// names no host keeps it; a bad host name is refused in one sentence and
// changes nothing.
func TestServiceMoveIsAudited(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	s := addService(t, c, "prod")
	if s.Host != core.HostName() {
		t.Fatalf("a service added without a host belongs to %q, want this host %q", s.Host, core.HostName())
	}
	s.Host = "b"
	must(t, c.UpdateService(ctx, s))
	got, err := c.Service(ctx, "prod")
	must(t, err)
	if got.Host != "b" {
		t.Fatalf("after the move the service is on %q, want b", got.Host)
	}
	entries, err := c.Audit(ctx, core.AuditFilter{Service: "prod", Limit: 1})
	must(t, err)
	if len(entries) != 1 || entries[0].Action != core.ActionServiceUpdate ||
		!strings.HasPrefix(entries[0].Detail, "moved from host "+core.HostName()+" to host b, ") {
		t.Errorf("audit of the move: %+v, want it to say the service moved from this host to b", entries)
	}

	got.Host = ""
	got.DB.Port = 5433
	must(t, c.UpdateService(ctx, got))
	if got, _ := c.Service(ctx, "prod"); got.Host != "b" {
		t.Errorf("an update without a host moved the service to %q, want it kept on b", got.Host)
	}
	entries, err = c.Audit(ctx, core.AuditFilter{Service: "prod", Limit: 1})
	must(t, err)
	if len(entries) != 1 || strings.Contains(entries[0].Detail, "moved") {
		t.Errorf("an update that moved nothing is audited as %+v", entries)
	}

	for _, bad := range []string{" ", "two words", "tab\there", "bell\a", strings.Repeat("h", core.MaxHostName+1)} {
		got.Host = bad
		err := c.UpdateService(ctx, got)
		if !errors.Is(err, core.ErrInvalid) || strings.Count(err.Error(), ". ") > 0 || !strings.Contains(err.Error(), "give") {
			t.Errorf("host %q: got %v, want one sentence that says what to give", bad, err)
		}
	}
	if got, _ := c.Service(ctx, "prod"); got.Host != "b" {
		t.Errorf("refused moves left the service on %q, want b", got.Host)
	}
}
