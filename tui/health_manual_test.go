package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// Manual backups alone keep two scheduled configurations ok, as status
// judges them: the home screen's row and each configuration's row agree,
// and both say when the last backup was.
func TestConsoleCountsManualBackups(t *testing.T) {
	ctx := context.Background()
	cat := tempCatalog(t)
	must := fatalOn(t)
	for _, d := range []string{"s3-eu", "local"} {
		must(cat.AddDestination(ctx, &core.Destination{Name: d, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}))
	}
	must(cat.AddService(ctx, &core.Service{Name: "shop", DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Database: "shop_db"},
		FilestoreDir: "/var/lib/odoo/filestore/shop_db"}, ""))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "shop", Destination: "s3-eu", Frequency: core.Daily,
		Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 3}}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "shop", Destination: "local", Frequency: core.Hourly,
		Retention: core.Retention{KeepLast: 3}}))
	// Four manual backups, two on each destination, the newest 14 minutes
	// ago on s3-eu and 10 on local.
	for i, a := range []struct {
		dest string
		ago  time.Duration
	}{{"s3-eu", 20 * time.Minute}, {"local", 16 * time.Minute}, {"s3-eu", 14 * time.Minute}, {"local", 10 * time.Minute}} {
		started := clock.Add(-a.ago)
		finished := started.Add(30 * time.Second)
		b := core.Backup{Service: "shop", Destination: a.dest, Kind: core.KindManual, StartedAt: started}
		must(cat.CreateBackup(ctx, &b))
		b.Status, b.Size, b.FinishedAt = core.StatusSucceeded, int64(100_000_000+i), &finished
		must(cat.UpdateBackup(ctx, b))
	}

	tm := start(t, Options{Catalog: cat})
	view(t, tm, "shop", "10m ago")
	home := snapshot(t, tm)
	if row := lineWith(home, "shop "); !strings.Contains(row, "10m ago ✓") || !strings.Contains(row, "✓ ok") || strings.Contains(row, "stale") {
		t.Errorf("shop's row should say its last backup was 10m ago and that it is ok:\n%s", home)
	}
	press(tm, "enter")
	view(t, tm, "odoo-backup › shop", "[Destinations]")
	frame := snapshot(t, tm)
	for dest, last := range map[string]string{"s3-eu": "last 14m ago ✓", "local": "last 10m ago ✓"} {
		if row := lineWith(frame, dest); !strings.Contains(row, last) || !strings.HasSuffix(strings.TrimRight(row, " │"), "✓ ok") {
			t.Errorf("the %s configuration should say %q and be ok:\n%s", dest, last, frame)
		}
	}
	if strings.Contains(frame, "stale") {
		t.Errorf("nothing of shop is stale:\n%s", frame)
	}
	quit(t, tm)
}
