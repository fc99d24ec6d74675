package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func lease(holder string, pid int, host string, heartbeat time.Time) core.Lease {
	return core.Lease{Name: core.SchedulerLease, Holder: holder, PID: pid, Host: host, Heartbeat: heartbeat}
}

func never(t *testing.T) func(core.Lease) bool {
	return func(cur core.Lease) bool {
		t.Errorf("takeOver called with %+v, want it not called", cur)
		return true
	}
}

func wantLease(t *testing.T, got, want core.Lease) {
	t.Helper()
	if got != want {
		t.Errorf("got lease %+v, want %+v", got, want)
	}
}

func current(t *testing.T, c *Catalog) core.Lease {
	t.Helper()
	l, err := c.CurrentLease(context.Background(), core.SchedulerLease)
	must(t, err)
	return l
}

func TestAcquireFreeLease(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	_, err := c.CurrentLease(ctx, core.SchedulerLease)
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("CurrentLease of a new catalog: got %v, want ErrNotFound", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "scheduler lease") {
		t.Errorf("got message %q, want it to name the scheduler lease", msg)
	}

	l := lease("daemon", 123, "x", epoch)
	got, held, err := c.AcquireLease(ctx, l, never(t))
	must(t, err)
	if !held {
		t.Fatal("a free lease was not taken")
	}
	want := l
	want.AcquiredAt = epoch
	wantLease(t, got, want)
	wantLease(t, current(t, c), want)
}

func TestAcquireKeepsGivenAcquiredAt(t *testing.T) {
	c := openTest(t)
	l := lease("daemon", 123, "x", epoch.Add(time.Minute))
	l.AcquiredAt = epoch
	got, held, err := c.AcquireLease(context.Background(), l, never(t))
	must(t, err)
	if !held {
		t.Fatal("a free lease was not taken")
	}
	wantLease(t, got, l)
	wantLease(t, current(t, c), l)
}

func TestAcquireZeroHeartbeatMeansNow(t *testing.T) {
	now := epoch.Add(time.Hour)
	c, err := Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"), WithClock(func() time.Time { return now }))
	must(t, err)
	defer c.Close()
	got, held, err := c.AcquireLease(context.Background(), lease("console", 7, "x", time.Time{}), never(t))
	must(t, err)
	if !held {
		t.Fatal("a free lease was not taken")
	}
	if !got.Heartbeat.Equal(now) || !got.AcquiredAt.Equal(now) {
		t.Errorf("got heartbeat %v and acquired at %v, want both %v", got.Heartbeat, got.AcquiredAt, now)
	}
	wantLease(t, current(t, c), got)
}

func TestSameHolderReacquiresAndKeepsAcquiredAt(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	_, _, err := c.AcquireLease(ctx, lease("daemon", 123, "x", epoch), never(t))
	must(t, err)

	again := lease("daemon", 123, "x", epoch.Add(time.Minute))
	again.AcquiredAt = epoch.Add(time.Minute)
	got, held, err := c.AcquireLease(ctx, again, never(t))
	must(t, err)
	if !held {
		t.Fatal("the holder was refused its own lease")
	}
	want := lease("daemon", 123, "x", epoch.Add(time.Minute))
	want.AcquiredAt = epoch
	wantLease(t, got, want)
	wantLease(t, current(t, c), want)
}

func TestOtherHolderRefusedWhileTakeOverSaysNo(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	first, _, err := c.AcquireLease(ctx, lease("daemon", 123, "x", epoch), never(t))
	must(t, err)

	// Each field of the holder counts: same name and pid on another host,
	// or another pid on the same host, are other processes.
	for _, other := range []core.Lease{
		lease("console", 123, "x", epoch.Add(time.Minute)),
		lease("daemon", 124, "x", epoch.Add(time.Minute)),
		lease("daemon", 123, "y", epoch.Add(time.Minute)),
	} {
		var asked []core.Lease
		got, held, err := c.AcquireLease(ctx, other, func(cur core.Lease) bool {
			asked = append(asked, cur)
			return false
		})
		must(t, err)
		if held {
			t.Fatalf("%+v took a held lease although takeOver said no", other)
		}
		wantLease(t, got, first)
		if len(asked) != 1 || asked[0] != first {
			t.Errorf("takeOver was called with %+v, want once with %+v", asked, first)
		}
		wantLease(t, current(t, c), first)
	}

	// A nil takeOver never takes over.
	got, held, err := c.AcquireLease(ctx, lease("console", 9, "x", epoch), nil)
	must(t, err)
	if held {
		t.Fatal("a nil takeOver took a held lease")
	}
	wantLease(t, got, first)
}

func TestTakeOver(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		acquiredAt time.Time
		want       time.Time
	}{
		{"acquired at the heartbeat", time.Time{}, epoch.Add(time.Hour)},
		{"acquired at a given time", epoch.Add(30 * time.Minute), epoch.Add(30 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openTest(t)
			old := lease("daemon", 123, "x", epoch)
			_, _, err := c.AcquireLease(ctx, old, never(t))
			must(t, err)

			l := lease("console", 456, "y", epoch.Add(time.Hour))
			l.AcquiredAt = tc.acquiredAt
			got, held, err := c.AcquireLease(ctx, l, func(cur core.Lease) bool { return cur.PID == 123 })
			must(t, err)
			if !held {
				t.Fatal("takeOver said yes but the lease was not taken")
			}
			want := l
			want.AcquiredAt = tc.want
			wantLease(t, got, want)
			wantLease(t, current(t, c), want)
		})
	}
}

func TestRenewLease(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	l := lease("daemon", 123, "x", epoch)
	_, _, err := c.AcquireLease(ctx, l, never(t))
	must(t, err)

	l.Heartbeat = epoch.Add(10 * time.Second)
	must(t, c.RenewLease(ctx, l))
	want := l
	want.AcquiredAt = epoch
	wantLease(t, current(t, c), want)
}

func TestRenewAfterTakeOverFails(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	mine := lease("console", 456, "y", epoch)
	_, _, err := c.AcquireLease(ctx, mine, never(t))
	must(t, err)
	theirs := lease("daemon", 123, "x", epoch.Add(time.Minute))
	_, held, err := c.AcquireLease(ctx, theirs, func(core.Lease) bool { return true })
	must(t, err)
	if !held {
		t.Fatal("take over failed")
	}

	mine.Heartbeat = epoch.Add(2 * time.Minute)
	before := current(t, c)
	err = c.RenewLease(ctx, mine)
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("renew of a lease taken over: got %v, want ErrNotFound", err)
	}
	want := "the scheduler lease was taken over by daemon pid 123 on host x; this process stops running schedules"
	if err.Error() != want {
		t.Errorf("got message %q, want %q", err.Error(), want)
	}
	wantLease(t, current(t, c), before)

	// Once released, renewing fails too: the caller must acquire again.
	must(t, c.ReleaseLease(ctx, theirs))
	err = c.RenewLease(ctx, mine)
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("renew of a released lease: got %v, want ErrNotFound", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "stops running schedules") || strings.Contains(msg, "\n") {
		t.Errorf("got message %q, want one sentence saying schedules stop", msg)
	}
	if _, err := c.CurrentLease(ctx, core.SchedulerLease); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a failed renewal took the lease: CurrentLease got %v, want ErrNotFound", err)
	}
}

func TestReleaseLease(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	l := lease("daemon", 123, "x", epoch)
	got, _, err := c.AcquireLease(ctx, l, never(t))
	must(t, err)

	for _, other := range []core.Lease{
		lease("console", 123, "x", epoch),
		lease("daemon", 124, "x", epoch),
		lease("daemon", 123, "y", epoch),
		{Name: "other", Holder: "daemon", PID: 123, Host: "x"},
	} {
		must(t, c.ReleaseLease(ctx, other))
		wantLease(t, current(t, c), got)
	}

	must(t, c.ReleaseLease(ctx, l))
	if _, err := c.CurrentLease(ctx, core.SchedulerLease); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("after release: got %v, want ErrNotFound", err)
	}
	must(t, c.ReleaseLease(ctx, l)) // releasing a free lease does nothing

	// A released lease is free for anyone, without asking takeOver.
	_, held, err := c.AcquireLease(ctx, lease("console", 9, "z", epoch.Add(time.Hour)), never(t))
	must(t, err)
	if !held {
		t.Fatal("a released lease was not free")
	}
}

func TestLeasesAreIndependent(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	a := core.Lease{Name: "a", Holder: "daemon", PID: 1, Host: "x", Heartbeat: epoch}
	b := core.Lease{Name: "b", Holder: "console", PID: 2, Host: "y", Heartbeat: epoch}
	for _, l := range []core.Lease{a, b} {
		_, held, err := c.AcquireLease(ctx, l, never(t))
		must(t, err)
		if !held {
			t.Fatalf("lease %s not taken", l.Name)
		}
	}
	must(t, c.ReleaseLease(ctx, a))
	if _, err := c.CurrentLease(ctx, "b"); err != nil {
		t.Errorf("releasing lease a freed lease b: %v", err)
	}
}

func TestAcquireLeaseRefusesIncompleteLease(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	for _, l := range []core.Lease{
		{Holder: "daemon", PID: 1, Host: "x", Heartbeat: epoch},
		{Name: core.SchedulerLease, PID: 1, Host: "x", Heartbeat: epoch},
		{Name: core.SchedulerLease, Holder: "daemon", PID: 1, Host: "x", Heartbeat: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, _, err := c.AcquireLease(ctx, l, never(t)); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("AcquireLease(%+v): got %v, want ErrInvalid", l, err)
		}
		if err := c.RenewLease(ctx, l); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("RenewLease(%+v): got %v, want ErrInvalid", l, err)
		}
	}
	if _, err := c.CurrentLease(ctx, core.SchedulerLease); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a refused lease was stored: CurrentLease got %v", err)
	}
}

// Two handles on one file stand for the daemon and the console in two
// processes; several contenders from each race every round. Whether the lease
// is free or held by a dead process that every contender would take over,
// exactly one of them may end up holding it.
func TestRacingAcquireHasOneWinner(t *testing.T) {
	ctx := context.Background()
	first, second := openTwoHandles(t)

	const (
		rounds    = 60
		perHandle = 3
	)
	handles := []*Catalog{first, second}
	for round := range rounds {
		name := fmt.Sprintf("round-%d", round)
		// Odd rounds start from a lease held by pid 1, which every
		// contender considers dead.
		stale := round%2 == 1
		if stale {
			_, _, err := first.AcquireLease(ctx, core.Lease{Name: name, Holder: "daemon", PID: 1, Host: "gone", Heartbeat: epoch}, nil)
			must(t, err)
		}
		type result struct {
			mine, got core.Lease
			held      bool
			err       error
		}
		results := make([]result, len(handles)*perHandle)
		var (
			start      = make(chan struct{})
			wg         sync.WaitGroup
			takeOvers  atomic.Int32
			pid        = 100
			contenders = 0
		)
		for _, c := range handles {
			for range perHandle {
				i := contenders
				mine := core.Lease{Name: name, Holder: "daemon", PID: pid + i, Host: "h", Heartbeat: epoch.Add(time.Duration(i) * time.Second)}
				contenders++
				wg.Go(func() {
					<-start
					got, held, err := c.AcquireLease(ctx, mine, func(cur core.Lease) bool {
						takeOvers.Add(1)
						return cur.PID == 1
					})
					results[i] = result{mine, got, held, err}
				})
			}
		}
		close(start)
		wg.Wait()

		var winner *result
		for i := range results {
			r := &results[i]
			if r.err != nil {
				t.Fatalf("round %d, contender %d: %v", round, i, r.err)
			}
			if !r.held {
				continue
			}
			if winner != nil {
				t.Fatalf("round %d: both pid %d and pid %d hold the lease", round, winner.mine.PID, r.mine.PID)
			}
			winner = r
		}
		if winner == nil {
			t.Fatalf("round %d: nobody got the lease", round)
		}
		holder, err := second.CurrentLease(ctx, name)
		must(t, err)
		if !holder.SameHolder(winner.mine) {
			t.Fatalf("round %d: pid %d won but the catalog says %+v holds it", round, winner.mine.PID, holder)
		}
		for i, r := range results {
			if !r.held && r.got != holder {
				t.Errorf("round %d, contender %d: got back %+v, want the winner's lease %+v", round, i, r.got, holder)
			}
		}
		// Every contender but the winner of a free lease asked about the
		// holder it found.
		wantAsked := int32(len(results) - 1)
		if stale {
			wantAsked = int32(len(results))
		}
		if got := takeOvers.Load(); got != wantAsked {
			t.Errorf("round %d: takeOver called %d times, want %d", round, got, wantAsked)
		}
	}
}
