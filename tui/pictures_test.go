package tui

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// The goldens show dates and times: they are the same on every machine,
// whatever its time zone.
func init() { time.Local = time.UTC }

// seedPictures makes a catalog whose services show every picture: production
// on two destinations, a day of hourly backups with one failure and one
// size anomaly, its RPO and RTO targets met; shop, whose newest backup is
// anomalous (a warning); staging, whose RPO and RTO targets are missed.
func seedPictures(t *testing.T) *store.Catalog {
	t.Helper()
	ctx := context.Background()
	cat := tempCatalog(t)
	must := fatalOn(t)
	for _, d := range []string{"s3-eu", "local"} {
		must(cat.AddDestination(ctx, &core.Destination{Name: d, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/var/backups/" + d}}))
	}
	services := []core.Service{
		{Name: "production", RPOTargetSeconds: 2 * 3600, RTOTargetSeconds: 30 * 60},
		{Name: "shop"},
		{Name: "staging", RPOTargetSeconds: 12 * 3600, RTOTargetSeconds: 30 * 60},
	}
	for _, s := range services {
		s.DB = core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Database: s.Name + "_db"}
		s.FilestoreDir = "/var/lib/odoo/filestore/" + s.Name + "_db"
		must(cat.AddService(ctx, &s, ""))
	}
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "production", Destination: "s3-eu", Frequency: core.Hourly, Retention: core.Retention{KeepLast: 24}}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "production", Destination: "local", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "shop", Destination: "s3-eu", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "staging", Destination: "local", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}}))

	// add notes a finished backup; they are recorded oldest first below,
	// so their ids grow with time as the engine's do.
	var backups []core.Backup
	add := func(svc, dest string, ago time.Duration, took time.Duration, size int64, failed bool, anomaly string) {
		started := clock.Add(-ago)
		finished := started.Add(took)
		b := core.Backup{Service: svc, Destination: dest, Kind: core.KindScheduled, Status: core.StatusSucceeded,
			StartedAt: started, FinishedAt: &finished, Size: size, Anomaly: anomaly}
		if failed {
			b.Status, b.Size, b.Error = core.StatusFailed, 0, "pg_dump: error: connection to server lost"
		}
		backups = append(backups, b)
	}
	const gb = 1_000_000_000
	// production on s3-eu: 24 hourly backups growing from 1.10 to 1.33 GB,
	// their time from 1:10 to 2:20; one failed, one tripled in size.
	for k := 23; k >= 0; k-- {
		i := int64(23 - k)
		size := 1_100_000_000 + i*10_000_000 + (i%3)*4_000_000
		took := time.Duration(70+3*i+(i%4)*5) * time.Second
		switch k {
		case 9:
			add("production", "s3-eu", time.Duration(k)*time.Hour+30*time.Minute, 12*time.Second, 0, true, "")
		case 5:
			big := int64(3_900_000_000)
			add("production", "s3-eu", time.Duration(k)*time.Hour+30*time.Minute, took+90*time.Second, big, false,
				core.SizeAnomaly(big, []int64{size, size, size, size, size, size, size}))
		default:
			add("production", "s3-eu", time.Duration(k)*time.Hour+30*time.Minute, took, size, false, "")
		}
	}
	for k := 3; k >= 1; k-- {
		add("production", "local", time.Duration(k)*24*time.Hour-time.Hour, 95*time.Second, gb+int64(3-k)*30_000_000, false, "")
	}
	// shop: a week of 1.0 GB, then a backup of a fifth of it.
	for k := 7; k >= 1; k-- {
		add("shop", "s3-eu", time.Duration(k)*24*time.Hour+11*time.Hour, 50*time.Second, gb+int64(k%2)*20_000_000, false, "")
	}
	small := int64(210_000_000)
	add("shop", "s3-eu", 11*time.Hour, 14*time.Second, small, false, core.SizeAnomaly(small, []int64{gb, gb, gb, gb, gb, gb, gb}))
	// staging: good backups until 35h ago, then failures.
	for k := 5; k >= 2; k-- {
		add("staging", "local", time.Duration(k)*24*time.Hour-13*time.Hour, 3*time.Minute+time.Duration(k)*7*time.Second, 2_400_000_000+int64(k)*50_000_000, false, "")
	}
	add("staging", "local", 11*time.Hour, 20*time.Second, 0, true, "")
	slices.SortStableFunc(backups, func(a, b core.Backup) int { return a.StartedAt.Compare(b.StartedAt) })
	for _, b := range backups {
		done := b
		b.Status, b.Size, b.FinishedAt, b.Error, b.Anomaly = core.StatusRunning, 0, nil, "", ""
		must(cat.CreateBackup(ctx, &b))
		done.ID = b.ID
		must(cat.UpdateBackup(ctx, done))
	}

	// Drills: production's restore took 6m12s, staging's 42m.
	drill := func(svc string, finishedAgo time.Duration, seconds float64) {
		t.Helper()
		fin := clock.Add(-finishedAgo)
		must(cat.AddDrill(ctx, &core.Drill{Service: svc, Status: core.DrillOK, StartedAt: fin.Add(-time.Duration(seconds) * time.Second),
			FinishedAt: &fin, Details: core.DrillDetails{RestoreSeconds: seconds}}))
	}
	drill("production", 2*24*time.Hour, 372)
	drill("staging", 4*24*time.Hour, 42*60)
	return cat
}

// TestPictures draws the home screen and the service screens with their
// sparklines and recovery targets, at the smallest terminal and a larger
// one, without colour: the goldens are plain text.
func TestPictures(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {100, 30}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			tm := startSized(t, Options{Catalog: seedPictures(t)}, size.w, size.h)
			home := view(t, tm, "production", "shop", "staging", "RPO")
			checkFits(t, home, size.w, size.h)
			t.Run("home", func(t *testing.T) { golden.RequireEqual(t, []byte(home)) })

			press(tm, "enter")
			prod := view(t, tm, "odoo-backup › production", "RTO 6m12s by drill 2026-11-20", "size ")
			checkFits(t, prod, size.w, size.h)
			t.Run("production", func(t *testing.T) { golden.RequireEqual(t, []byte(prod)) })

			press(tm, "esc")
			view(t, tm, "Services")
			press(tm, "down", "down", "enter")
			staging := view(t, tm, "odoo-backup › staging", "RPO target 12h missed")
			checkFits(t, staging, size.w, size.h)
			t.Run("staging", func(t *testing.T) { golden.RequireEqual(t, []byte(staging)) })
			quit(t, tm)
		})
	}
}

// TestPicturesReadWithoutColour: under NO_COLOR the missed targets, the
// anomalies and the failures are characters, not only colours.
func TestPicturesReadWithoutColour(t *testing.T) {
	tm := startSized(t, Options{Catalog: seedPictures(t)}, 100, 30)
	home := view(t, tm, "production", "shop", "staging")
	rows := map[string]string{}
	for _, l := range strings.Split(home, "\n") {
		for _, svc := range []string{"production", "shop", "staging"} {
			if strings.Contains(l, " "+svc+" ") {
				rows[svc] = l
			}
		}
	}
	for svc, want := range map[string][]string{
		"production": {"/2h", "✓ ok"},
		"shop":       {"! anomaly", "△ warning"},
		"staging":    {"✗ 34h/12h", "✗ failed"},
	} {
		for _, w := range want {
			if !strings.Contains(rows[svc], w) {
				t.Errorf("%s's row %q should show %q", svc, rows[svc], w)
			}
		}
	}
	if strings.Contains(rows["production"], "✗") {
		t.Errorf("production meets its RPO target, yet its row %q shows a miss", rows["production"])
	}

	press(tm, "enter")
	prod := view(t, tm, "odoo-backup › production", "size ", "by drill")
	spark := regexp.MustCompile(`size ([▁▂▃▄▅▆▇█×!]+) `).FindStringSubmatch(prod)
	if spark == nil || !strings.Contains(spark[1], "!") || !strings.Contains(spark[1], "×") {
		t.Errorf("production's size sparkline should mark its anomaly with ! and its failure with ×:\n%s", prod)
	}
	for _, w := range []string{"(target 2h)", "✓ RTO 6m12s by drill 2026-11-20 (target 30m)"} {
		if !strings.Contains(prod, w) {
			t.Errorf("production's screen should show %q:\n%s", w, prod)
		}
	}
	// The anomalous backup in the history, and its sentence in its details.
	press(tm, "tab")
	for range 5 {
		press(tm, "down")
	}
	hist := view(t, tm, "[History")
	selected := regexp.MustCompile(`▸ [^\n]*`).FindString(hist[strings.Index(hist, "[History"):])
	if !strings.Contains(selected, "! anomaly") || !strings.Contains(selected, "3.9 GB") {
		t.Fatalf("the sixth backup of the history should be the anomalous one, marked ! anomaly; the selected row is %q:\n%s", selected, hist)
	}
	press(tm, "enter")
	view(t, tm, "anomaly", "! its size 3.9 GB is above three times the median")
	press(tm, "esc", "esc")
	view(t, tm, "Services")

	// Each sentence waited for: the frame shows them once the service is read.
	press(tm, "down", "down", "enter")
	view(t, tm, "odoo-backup › staging",
		"✗ RPO 34h (target 12h)", "✗ RTO 42m by drill 2026-11-18 (target 30m)",
		"✗ RPO target 12h missed: the newest good backup is 34h",
		"△ RTO target 30m missed: the last drill took 42m to restore")
	quit(t, tm)
}

// TestPicturesUseTheRoom: on a wide terminal the RPO column has room for
// its gauge, and every screen still fits.
func TestPicturesUseTheRoom(t *testing.T) {
	tm := startSized(t, Options{Catalog: seedPictures(t)}, 132, 40)
	home := view(t, tm, "production", "shop", "staging", "RPO")
	checkFits(t, home, 132, 40)
	for _, w := range []string{"▰▱▱▱ 27m/2h", "▰▰▰▰ ✗ 34h/12h"} {
		if !strings.Contains(home, w) {
			t.Errorf("the home screen at 132 columns should show %q:\n%s", w, home)
		}
	}
	press(tm, "enter")
	prod := view(t, tm, "odoo-backup › production", "size ", "by drill", "! size anomaly")
	checkFits(t, prod, 132, 40)
	quit(t, tm)
}

// countingCatalog counts the backup listings asked of the catalog.
type countingCatalog struct {
	*store.Catalog
	listings int
}

func (c *countingCatalog) Backups(ctx context.Context, f core.BackupFilter) ([]core.Backup, error) {
	c.listings++
	return c.Catalog.Backups(ctx, f)
}

// TestSparklinesCostNoListing: a service's sparklines are drawn from the
// backups its health is judged on; opening it lists backups once per
// configuration (its health) and once for the history, as before them.
func TestSparklinesCostNoListing(t *testing.T) {
	cat := &countingCatalog{Catalog: seedPictures(t)}
	ctx := &Context{Catalog: cat, Now: fixedNow, PageSize: 100}
	msg := loadService(ctx, "production")().(ServiceLoadedMsg)
	if msg.Err != nil {
		t.Fatal(msg.Err)
	}
	if want := len(msg.Configs) + 1; cat.listings != want {
		t.Errorf("opening production listed backups %d times, want %d (one per configuration, one for the history)", cat.listings, want)
	}
	for _, dest := range []string{"s3-eu", "local"} {
		if len(msg.Trends[dest]) == 0 {
			t.Errorf("no backups kept for %s's sparklines", dest)
		}
	}
}
