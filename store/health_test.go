package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// TestHealthSnapshotJudgesAsEvaluateService: the snapshot status and the
// console read of every service at once judges each service exactly as
// EvaluateService over the catalog does: failed, running, stalled, stale,
// warning, manual, a failed drill, a service without configuration, a
// removed configuration, deleted and orphaned backups.
func TestHealthSnapshotJudgesAsEvaluateService(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	for _, d := range []string{"x", "y", "gone"} {
		addLocal(t, c, d)
	}
	for _, s := range []string{"failing", "running", "stale", "drilled", "bare", "warned", "manual"} {
		addService(t, c, s)
	}
	for _, s := range []string{"failing", "running", "stale", "drilled", "warned"} {
		setConfig(t, c, s, "x", true)
		setConfig(t, c, s, "y", false)
	}
	must(t, c.SetConfiguration(ctx, core.Configuration{Service: "manual", Destination: "x", Frequency: core.Manual, Primary: true}))
	setConfig(t, c, "stale", "gone", false)
	at := epoch
	backup := func(svc, dest string, status core.BackupStatus, size int64, mut ...func(*core.Backup)) {
		t.Helper()
		at = at.Add(time.Minute)
		b := core.Backup{Service: svc, Destination: dest, Kind: core.KindScheduled, Status: status, StartedAt: at, Size: size}
		if status != core.StatusRunning {
			fin := at.Add(30 * time.Second)
			b.FinishedAt = &fin
		}
		if status == core.StatusFailed {
			b.Error = "pg_dump failed"
		}
		for _, m := range mut {
			m(&b)
		}
		must(t, c.CreateBackup(ctx, &b))
	}
	backup("failing", "x", core.StatusSucceeded, 10)
	backup("failing", "x", core.StatusFailed, 0)
	backup("failing", "y", core.StatusRotated, 10)
	backup("failing", "y", core.StatusSucceeded, 0)
	backup("failing", "y", core.StatusDeleted, 10)
	backup("running", "x", core.StatusSucceeded, 12)
	backup("running", "x", core.StatusRunning, 0)
	backup("running", "y", core.StatusSucceeded, 12)
	backup("running", "y", core.StatusRunning, 0, func(b *core.Backup) { b.StartedAt = epoch.Add(-time.Hour) })
	backup("stale", "gone", core.StatusSucceeded, 10)
	backup("warned", "x", core.StatusSucceeded, 10, func(b *core.Backup) { b.MissingCount, b.MissingFiles = 1, []string{"ab/abc"} })
	backup("warned", "y", core.StatusSucceeded, 10)
	backup("manual", "x", core.StatusSucceeded, 10)
	backup("drilled", "x", core.StatusSucceeded, 10)
	backup("drilled", "y", core.StatusSucceeded, 10)
	backup("bare", "x", core.StatusSucceeded, 10) // no configuration: orphaned
	must(t, c.RemoveConfiguration(ctx, "stale", "gone"))
	for _, st := range []core.DrillStatus{core.DrillOK, core.DrillFailed, core.DrillRunning} {
		at = at.Add(time.Minute)
		d := core.Drill{Service: "drilled", Destination: "x", Status: st, StartedAt: at}
		if st != core.DrillRunning {
			fin := at.Add(time.Minute)
			d.FinishedAt = &fin
		}
		must(t, c.AddDrill(ctx, &d))
	}

	snap, err := core.FleetHealthSource(ctx, c)
	must(t, err)
	if _, ok := snap.(*Catalog); ok {
		t.Fatal("the catalog took no snapshot")
	}
	svcs, err := c.Services(ctx)
	must(t, err)
	states := map[string]string{}
	for _, now := range []time.Time{at.Add(time.Minute), at.Add(72 * time.Hour)} {
		for _, s := range svcs {
			want, err := core.EvaluateService(ctx, c, s, now)
			must(t, err)
			got, err := core.EvaluateService(ctx, snap, s, now)
			must(t, err)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("service %s at %s: the snapshot judges\n%+v\nthe catalog\n%+v", s.Name, now, got, want)
			}
			states[s.Name] += want.State + " "
		}
	}
	// The cases above are the ones meant.
	for svc, want := range map[string]string{"failing": "failed failed", "running": "stalled stalled", "stale": "stale stale",
		"drilled": "failed failed", "bare": "none none", "warned": "warning stale", "manual": "ok ok"} {
		if got := strings.TrimSpace(states[svc]); got != want {
			t.Errorf("service %s: states %q, want %q", svc, got, want)
		}
	}
}

// TestHealthSnapshotFindsSuccessBeyondFifty: when none of a configuration's
// newest 50 backups succeeded, EvaluateService over the catalog sees no
// success at all; the snapshot sees the real one, and the state is the same.
func TestHealthSnapshotFindsSuccessBeyondFifty(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	addLocal(t, c, "x")
	addService(t, c, "prod")
	setConfig(t, c, "prod", "x", true)
	fin := epoch.Add(time.Minute)
	good := core.Backup{Service: "prod", Destination: "x", Kind: core.KindScheduled, Status: core.StatusSucceeded, StartedAt: epoch, FinishedAt: &fin, Size: 5}
	must(t, c.CreateBackup(ctx, &good))
	for i := range 50 {
		b := core.Backup{Service: "prod", Destination: "x", Kind: core.KindScheduled, Status: core.StatusFailed,
			StartedAt: epoch.Add(time.Duration(i+1) * time.Hour), FinishedAt: &fin, Error: "pg_dump failed"}
		must(t, c.CreateBackup(ctx, &b))
	}
	s, err := c.Service(ctx, "prod")
	must(t, err)
	snap, err := core.FleetHealthSource(ctx, c)
	must(t, err)
	now := epoch.Add(60 * time.Hour)
	want, err := core.EvaluateService(ctx, c, s, now)
	must(t, err)
	got, err := core.EvaluateService(ctx, snap, s, now)
	must(t, err)
	if got.State != core.HealthFailed || want.State != core.HealthFailed {
		t.Fatalf("states %s (snapshot) and %s (catalog), want failed", got.State, want.State)
	}
	if ls := got.Configurations[0].LastSuccess; ls == nil || !ls.Equal(fin) {
		t.Errorf("the snapshot's last success is %v, want %s", ls, fin)
	}
	if want.Configurations[0].LastSuccess != nil {
		t.Errorf("the catalog's newest 50 hold no success, yet EvaluateService found %v", want.Configurations[0].LastSuccess)
	}
}
