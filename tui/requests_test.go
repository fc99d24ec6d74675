package tui

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// onHostB moves production to host b.
func onHostB(t *testing.T, cat *store.Catalog) { moveToB(t, cat, "production") }

// moveToB moves service to host b.
func moveToB(t *testing.T, cat *store.Catalog, service string) {
	t.Helper()
	ctx := context.Background()
	s, err := cat.Service(ctx, service)
	if err != nil {
		t.Fatal(err)
	}
	s.Host = "b"
	if err := cat.UpdateService(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// A backup of a service of a host without a live daemon is refused at
// once with the sentence that says so, and nothing is asked.
func TestBackupOfAnotherHostWithoutDaemonIsRefused(t *testing.T) {
	cat := seed(t)
	onHostB(t, cat)
	eng := &fakeEngine{cat: cat}
	tm := start(t, Options{Catalog: cat, Engine: eng, Requests: cat})
	waitFor(t, tm, "production")
	press(tm, "down", "enter")
	waitFor(t, tm, "odoo-backup › production")
	press(tm, "b")
	waitFor(t, tm, "Back up production now")
	press(tm, "enter")
	waitFor(t, tm, "failed: no daemon is running on host b, so it cannot back up")
	if rs, err := cat.Requests(context.Background(), core.RequestFilter{}); err != nil || len(rs) != 0 {
		t.Errorf("requests %+v (%v), want none", rs, err)
	}
	if len(eng.reqs) != 0 {
		t.Errorf("the console backed up here: %+v", eng.reqs)
	}
}

// A backup of a service of host b, started with its key, is a request b's
// daemon runs: its progress shows as this console's job, its result when
// it ends, and the engine of this console does nothing.
func TestBackupOfAnotherHostIsARequest(t *testing.T) {
	ctx := context.Background()
	cat := seed(t)
	onHostB(t, cat)
	daemon := core.Claimer{Holder: "daemon", PID: 77, Host: "b"}
	if _, ok, err := cat.AcquireLease(ctx, core.Lease{Name: core.SchedulerLeaseName("b"), Holder: "daemon", PID: 77, Host: "b",
		AcquiredAt: clock, Heartbeat: clock}, nil); err != nil || !ok {
		t.Fatalf("b's daemon lease: %v %v", ok, err)
	}
	eng := &fakeEngine{cat: cat}
	tm := start(t, Options{Catalog: cat, Engine: eng, Requests: cat})
	waitFor(t, tm, "production")
	press(tm, "down", "enter")
	waitFor(t, tm, "odoo-backup › production")
	press(tm, "b")
	waitFor(t, tm, "Back up production now")
	press(tm, "enter")

	// b's daemon, played here: it claims the request, reports, and ends it.
	var r core.Request
	deadline := time.Now().Add(time.Minute)
	for {
		var ok bool
		var err error
		if r, ok, err = cat.ClaimRequest(ctx, "b", daemon); err != nil {
			t.Fatal(err)
		} else if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the console asked b for nothing within a minute")
		}
		cat.WaitRequests(ctx, 10*time.Millisecond)
	}
	if r.Kind != core.RequestBackup || r.Service != "production" || strings.Join(r.Params.Destinations, ",") != "s3-eu" {
		t.Fatalf("the console asked %+v, want a backup of production to s3-eu", r)
	}
	if _, err := cat.ReportRequest(ctx, r.ID, daemon, core.RequestProgress{Phase: core.PhaseDump, Bytes: 12_300_000}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, "backing up production → s3-eu: dump · 12.3 MB")
	result, _ := json.Marshal([]core.Backup{{ID: 99, Service: "production", Destination: "s3-eu", Status: core.StatusSucceeded, Size: 1_250_000_000}})
	if err := cat.FinishRequest(ctx, r.ID, daemon, core.RequestSucceeded, result, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, "backup of production succeeded on host b (request 1): s3-eu (1.2 GB)")
	if len(eng.reqs) != 0 {
		t.Errorf("the console backed up here too: %+v", eng.reqs)
	}
}

// liveDaemonB gives host b a live daemon, as the console's clock sees it.
func liveDaemonB(t *testing.T, cat *store.Catalog) core.Claimer {
	t.Helper()
	if _, ok, err := cat.AcquireLease(context.Background(), core.Lease{Name: core.SchedulerLeaseName("b"), Holder: "daemon", PID: 77, Host: "b",
		AcquiredAt: clock, Heartbeat: clock}, nil); err != nil || !ok {
		t.Fatalf("b's daemon lease: %v %v", ok, err)
	}
	return core.Claimer{Holder: "daemon", PID: 77, Host: "b"}
}

// claimAsB claims, as b's daemon, the request the console asked.
func claimAsB(t *testing.T, cat *store.Catalog, daemon core.Claimer) core.Request {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		r, ok, err := cat.ClaimRequest(ctx, "b", daemon)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatal("the console asked b for nothing within a minute")
		}
		cat.WaitRequests(ctx, 10*time.Millisecond)
	}
}

// A restore onto a service of host b, confirmed by typing its name, is a
// request b's daemon runs, carrying that confirmation; the outcome shows as
// a local one does, and this console's engine restores nothing.
func TestRestoreOntoAnotherHostIsARequest(t *testing.T) {
	cat := seed(t)
	moveToB(t, cat, "staging")
	daemon := liveDaemonB(t, cat)
	eng := newFlowEngine(cat)
	tm := start80(t, Options{Catalog: cat, Engine: eng, Requests: cat})
	openHistory(t, tm)
	press(tm, "r")
	view(t, tm, "Restore onto", "(•) this service: production")
	press(tm, "down", "down")
	view(t, tm, "(•) staging")
	press(tm, "enter")
	view(t, tm, "▸ [x] neutralize")
	press(tm, "enter")
	view(t, tm, "This replaces ALL data of staging")
	press(tm, "enter")
	view(t, tm, "Type staging to confirm")
	press(tm, "staging", "enter")

	r := claimAsB(t, cat, daemon)
	if r.Kind != core.RequestRestore || r.Service != "staging" || r.Params.BackupID != 3 || r.Params.Target != "staging" || !r.Params.Neutralize || !r.Params.Confirmed {
		t.Fatalf("the console asked %+v, want a confirmed, neutralized restore of backup 3 onto staging", r)
	}
	result, _ := json.Marshal(core.RestoreResult{Database: "staging_db", SafetyBackupID: 77, IsNeutralized: true})
	if err := cat.FinishRequest(context.Background(), r.ID, daemon, core.RequestSucceeded, result, ""); err != nil {
		t.Fatal(err)
	}
	view(t, tm, "✓ Backup 3 restored onto staging", "restore safety backup 77 onto staging")
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if len(eng.restores) != 0 {
		t.Errorf("the console restored here too: %+v", eng.restores)
	}
}
