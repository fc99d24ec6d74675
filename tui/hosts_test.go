package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// seedFleet makes a catalog of three hosts, one service each, backed up
// 20 minutes ago: the daemons of odoo-a and odoo-c run, odoo-b's fell
// silent two hours ago.
func seedFleet(t *testing.T) *store.Catalog {
	t.Helper()
	ctx := context.Background()
	cat := tempCatalog(t)
	must := fatalOn(t)
	must(cat.AddDestination(ctx, &core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}))
	for _, s := range []struct{ name, host string }{{"shop", "odoo-a"}, {"crm", "odoo-b"}, {"blog", "odoo-c"}} {
		must(cat.AddService(ctx, &core.Service{Name: s.name, Host: s.host, DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Database: s.name + "_db"},
			FilestoreDir: "/var/lib/odoo/filestore/" + s.name + "_db"}, ""))
		must(cat.SetConfiguration(ctx, core.Configuration{Service: s.name, Destination: "local", Frequency: core.Hourly,
			Retention: core.Retention{KeepLast: 24}}))
		started := clock.Add(-20 * time.Minute)
		finished := started.Add(time.Minute)
		b := core.Backup{Service: s.name, Destination: "local", Kind: core.KindScheduled, Status: core.StatusRunning, StartedAt: started}
		must(cat.CreateBackup(ctx, &b))
		b.Status, b.Size, b.FinishedAt = core.StatusSucceeded, 52_000_000, &finished
		must(cat.UpdateBackup(ctx, b))
		beat := clock
		if s.host == "odoo-b" {
			beat = clock.Add(-2 * time.Hour)
		}
		_, ok, err := cat.AcquireLease(ctx, core.Lease{Name: core.SchedulerLeaseName(s.host), Holder: "daemon", PID: 4100, Host: s.host,
			AcquiredAt: clock.Add(-3 * time.Hour), Heartbeat: beat}, nil)
		must(err)
		if !ok {
			t.Fatal("lease not acquired")
		}
	}
	return cat
}

// The home screen of a fleet at 80x24: each service's host, and a line
// that says which daemons run and since when odoo-b's is silent; crm, on
// odoo-b, fails for it. crm's screen names its host and the silence.
func TestHomeShowsHostsAt80x24(t *testing.T) {
	tm := startSized(t, Options{Catalog: seedFleet(t)}, 80, 24)
	waitFor(t, tm, "crm")
	frame := view(t, tm, "daemons: 2 alive (odoo-a, odoo-c) · ✗ odoo-b silent since 10:30")
	checkFits(t, frame, 80, 24)
	if !strings.Contains(frame, "SERVICE       HOST") {
		t.Errorf("the home screen should have a HOST column:\n%s", frame)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(frame, "\n") {
		for _, svc := range []string{"shop", "crm", "blog"} {
			if strings.Contains(l, " "+svc+" ") {
				rows[svc] = l
			}
		}
	}
	for svc, want := range map[string][]string{"shop": {"odoo-a", "✓ ok"}, "crm": {"odoo-b", "✗ failed"}, "blog": {"odoo-c", "✓ ok"}} {
		for _, w := range want {
			if !strings.Contains(rows[svc], w) {
				t.Errorf("%s's row %q should show %q", svc, rows[svc], w)
			}
		}
	}
	t.Run("home", func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })

	press(tm, "down", "enter")
	frame = view(t, tm, "host odoo-b (no daemon since 10:30) · crm_db")
	checkFits(t, frame, 80, 24)
	t.Run("service", func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })
	quit(t, tm)
}
