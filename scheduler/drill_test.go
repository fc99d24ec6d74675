package scheduler

import (
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// A configuration with a weekly drill gets a drill job on its weekday at its
// time, which calls the runner's Drill for its service and destination; the
// configuration being manual-only does not stop it.
func TestScheduledDrill(t *testing.T) {
	sunday := start.Weekday()
	w := newWorld(t, core.Configuration{Destination: "nas", Frequency: core.Manual, Drill: core.Weekly,
		Schedule: core.Schedule{Hour: 2, Minute: 30, Weekday: sunday, MonthDay: 1}})
	drilled := make(chan core.DrillResult, 4)
	s, err := New(Options{Catalog: w.cat, Runner: w.runner, Clock: w.clock, Location: time.UTC, PollInterval: 30 * 24 * time.Hour, Log: testLog(t),
		OnDrill: func(r core.DrillResult, err error) {
			if err != nil {
				t.Errorf("drill: %v", err)
			}
			drilled <- r
		}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- s.Run(w.ctx) }()
	t.Cleanup(func() {
		w.cancel()
		if err := <-w.done; err != nil {
			t.Errorf("scheduler stopped with %v", err)
		}
	})
	w.block(2) // the poll ticker and the drill job

	w.advanceTo(at(2, 30), 2)
	var r core.DrillResult
	select {
	case r = <-drilled:
	case <-time.After(30 * time.Second):
		t.Fatal("the weekly drill never ran at its time")
	}
	if r.Drill.Service != "prod" || r.Drill.Destination != "nas" || !r.Drill.StartedAt.Equal(at(2, 30)) {
		t.Errorf("drill %+v: want prod on nas at 02:30", r.Drill)
	}
	w.runner.mu.Lock()
	reqs := append([]core.DrillRequest(nil), w.runner.drills...)
	w.runner.mu.Unlock()
	if len(reqs) != 1 || reqs[0].Service != "prod" || reqs[0].Destination != "nas" {
		t.Errorf("runner got drills %+v, want one of prod on nas", reqs)
	}
	if got, err := w.cat.Drills(w.ctx, "prod", 0); err != nil || len(got) != 1 {
		t.Errorf("history holds %+v, %v; want the one drill", got, err)
	}

	// Next week, same time, again: the job's next run is a week later.
	w.block(2)
	next := at(2, 30).Add(7 * 24 * time.Hour)
	w.advanceTo(next, 2)
	select {
	case r = <-drilled:
	case <-time.After(30 * time.Second):
		t.Fatal("the weekly drill did not run the next week")
	}
	if !r.Drill.StartedAt.Equal(next) {
		t.Errorf("second drill ran at %s, want %s (a week later, nothing in between)", r.Drill.StartedAt, next)
	}
}
