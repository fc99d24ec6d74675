package scheduler

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func nextServices(s *Scheduler) string {
	var out []string
	for _, n := range s.NextRuns() {
		out = append(out, n.Service)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Two hosts on one catalog: each scheduler holds its own host's lease at
// the same time as the other, and runs the schedules of its own host's
// services only: the catch-up of host b's overdue service is b's alone,
// the next slot is backed up once per service, each by its host. A
// service moved from b to this host follows: this host's scheduler takes
// its schedule on its next look, b's gives it up.
func TestSchedulersOfTwoHostsShareTheCatalog(t *testing.T) {
	w := newWorld(t, core.Configuration{Destination: "s3", Frequency: core.Daily, Schedule: core.Schedule{Hour: 1, MonthDay: 1}})
	w.seed("s3", at(1, 0).Add(-24*time.Hour)) // prod (this host's) is up to date
	far := core.Service{Name: "far", Host: "b", DB: core.DBConn{Host: "h", Port: 5432, User: "u", Database: "far"}, FilestoreDir: "/far"}
	if err := w.cat.AddService(w.ctx, &far, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.cat.SetConfiguration(w.ctx, core.Configuration{Service: "far", Destination: "s3", Frequency: core.Daily,
		Schedule: core.Schedule{Hour: 1, MonthDay: 1}}); err != nil {
		t.Fatal(err)
	}
	here := core.HostName()
	if here == "b" {
		t.Skip("this machine is named b, the other host of the test")
	}

	o := Options{Holder: "daemon", PollInterval: time.Minute, LeaseTTL: 24 * time.Hour}
	a := w.proc("daemon of this host", w.runner, o)
	a.waitLog("no missed backup to catch up on") // far is overdue, but not this host's
	o.Host = "b"
	b := w.proc("daemon of b", w.runner, o)
	b.waitLog("catching up on a missed backup")
	if r := w.next(); r.Service != "far" || !r.CatchUp || r.Err != nil {
		t.Fatalf("b's first run is %+v, want its catch-up of far", r)
	}
	w.noRun()
	for host, want := range map[string]string{here: "prod", "b": "far"} {
		l, err := w.cat.CurrentLease(w.ctx, core.SchedulerLeaseName(host))
		if err != nil || l.Holder != "daemon" || l.Host != host {
			t.Errorf("the scheduler lease of %s is %+v (%v), want its daemon's", host, l, err)
		}
		s := a.s
		if host == "b" {
			s = b.s
		}
		if got := nextServices(s); got != want {
			t.Errorf("the scheduler of %s schedules %q, want %q", host, got, want)
		}
	}

	w.block(4) // each scheduler's daily job and lease renewal
	w.advanceTo(at(1, 0), 4)
	got := []string{w.next().Service, w.next().Service}
	sort.Strings(got)
	if strings.Join(got, ",") != "far,prod" {
		t.Fatalf("the 01:00 slot ran %v, want far and prod once each", got)
	}
	w.noRun()
	byService := map[string]int{}
	for _, c := range w.runner.calls {
		byService[c.Service]++
	}
	if byService["prod"] != 1 || byService["far"] != 2 {
		t.Errorf("backups asked: %v, want prod once (01:00) and far twice (catch-up, 01:00)", byService)
	}

	// far moves to this host: the schedulers follow on their next look.
	far.Host = here
	if err := w.cat.UpdateService(w.ctx, far); err != nil {
		t.Fatal(err)
	}
	w.block(4)
	w.clock.Advance(time.Minute)
	a.waitLog(`msg="schedule added" service=far`)
	b.waitLog(`msg="schedule removed" service=far`)
	if got := nextServices(a.s); got != "far,prod" {
		t.Errorf("after the move this host schedules %q, want far and prod", got)
	}
	if got := nextServices(b.s); got != "" {
		t.Errorf("after the move b schedules %q, want nothing", got)
	}
}
