package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func scheduleVersion(t testing.TB, c *Catalog) int64 {
	t.Helper()
	v, err := c.ScheduleVersion(context.Background())
	must(t, err)
	return v
}

// changes runs op and reports whether the schedule version moved.
func changes(t *testing.T, c *Catalog, op func() error) bool {
	t.Helper()
	before := scheduleVersion(t, c)
	must(t, op())
	return scheduleVersion(t, c) != before
}

func TestScheduleVersionFollowsScheduleChanges(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	daily := core.TemplateConfiguration{Destination: "local", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}}
	weekly := core.TemplateConfiguration{Destination: "offsite", Frequency: core.Weekly, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 4}}

	steps := []struct {
		name string
		op   func() error
	}{
		{"add destination", func() error {
			return c.AddDestination(ctx, &core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/var/backups/local"}})
		}},
		{"add second destination", func() error {
			return c.AddDestination(ctx, &core.Destination{Name: "offsite", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/mnt/offsite"}})
		}},
		{"update destination", func() error {
			d, err := c.Destination(ctx, "offsite")
			if err != nil {
				return err
			}
			d.Local.Dir = "/mnt/elsewhere"
			return c.UpdateDestination(ctx, d)
		}},
		{"rename destination", func() error {
			d, err := c.Destination(ctx, "offsite")
			if err != nil {
				return err
			}
			d.Name = "remote"
			if err := c.UpdateDestination(ctx, d); err != nil {
				return err
			}
			d.Name = "offsite"
			return c.UpdateDestination(ctx, d)
		}},
		{"add service", func() error {
			return c.AddService(ctx, &core.Service{Name: "prod", DB: core.DBConn{Database: "prod_db"}}, "")
		}},
		{"update service", func() error {
			s, err := c.Service(ctx, "prod")
			if err != nil {
				return err
			}
			s.DB.Host = "db.internal"
			return c.UpdateService(ctx, s)
		}},
		{"add configuration", func() error {
			return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "local", Frequency: core.Daily, Schedule: core.DefaultSchedule})
		}},
		{"update configuration", func() error {
			return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "local", Frequency: core.Hourly, Schedule: core.DefaultSchedule})
		}},
		{"add second configuration", func() error {
			return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "offsite", Frequency: core.Weekly, Schedule: core.DefaultSchedule})
		}},
		{"move primary", func() error {
			return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "offsite", Frequency: core.Weekly, Schedule: core.DefaultSchedule, Primary: true})
		}},
		{"remove configuration", func() error {
			return c.RemoveConfiguration(ctx, "prod", "local")
		}},
		{"add template", func() error {
			return c.AddTemplate(ctx, &core.Template{Name: "std", Configurations: []core.TemplateConfiguration{daily}})
		}},
		{"add empty template", func() error {
			return c.AddTemplate(ctx, &core.Template{Name: "empty"})
		}},
		{"add template configuration", func() error {
			return c.SetTemplateConfiguration(ctx, "std", weekly)
		}},
		{"update template configuration", func() error {
			w := weekly
			w.Retention.KeepLast = 8
			return c.SetTemplateConfiguration(ctx, "std", w)
		}},
		{"remove template configuration", func() error {
			return c.RemoveTemplateConfiguration(ctx, "std", "offsite")
		}},
		{"add service from template", func() error {
			return c.AddService(ctx, &core.Service{Name: "staging", DB: core.DBConn{Database: "staging_db"}}, "std")
		}},
		{"remove template", func() error { return c.RemoveTemplate(ctx, "empty") }},
		{"remove service", func() error { return c.RemoveService(ctx, "staging") }},
		{"remove template with configurations", func() error { return c.RemoveTemplate(ctx, "std") }},
		{"add third destination", func() error {
			return c.AddDestination(ctx, &core.Destination{Name: "spare", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/mnt/spare"}})
		}},
		{"remove destination", func() error { return c.RemoveDestination(ctx, "spare", false) }},
	}
	for _, s := range steps {
		if !changes(t, c, s.op) {
			t.Errorf("%s: schedule version did not change", s.name)
		}
	}
}

func TestScheduleVersionIgnoresBackupsAndLeases(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	addLocal(t, c, "local")
	addService(t, c, "prod")
	setConfig(t, c, "prod", "local", false)

	var b core.Backup
	steps := []struct {
		name string
		op   func() error
	}{
		{"create backup", func() error {
			b = core.Backup{Service: "prod", Destination: "local", Kind: core.KindScheduled}
			return c.CreateBackup(ctx, &b)
		}},
		{"update progress", func() error { return c.UpdateProgress(ctx, b.ID, core.BackupProgress{Phase: "dump", Bytes: 1 << 20}) }},
		{"update backup", func() error {
			finished := epoch.Add(time.Hour)
			b.Status, b.Size, b.FinishedAt, b.Key = core.StatusSucceeded, 1<<20, &finished, "prod/backup.zip"
			return c.UpdateBackup(ctx, b)
		}},
		{"create manual backup", func() error {
			return c.CreateBackup(ctx, &core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual, Status: core.StatusFailed})
		}},
		{"acquire lease", func() error {
			_, _, err := c.AcquireLease(ctx, lease("daemon", 1, "x", epoch), nil)
			return err
		}},
		{"renew lease", func() error { return c.RenewLease(ctx, lease("daemon", 1, "x", epoch.Add(time.Second))) }},
		{"take over lease", func() error {
			_, _, err := c.AcquireLease(ctx, lease("console", 2, "x", epoch), func(core.Lease) bool { return true })
			return err
		}},
		{"release lease", func() error { return c.ReleaseLease(ctx, lease("console", 2, "x", epoch)) }},
		{"reads", func() error {
			if _, err := c.Services(ctx); err != nil {
				return err
			}
			if _, err := c.AllConfigurations(ctx); err != nil {
				return err
			}
			_, err := c.Backups(ctx, core.BackupFilter{})
			return err
		}},
		{"refused changes", func() error {
			if err := c.AddService(ctx, &core.Service{Name: "prod", DB: core.DBConn{Database: "x"}}, ""); !errors.Is(err, core.ErrExists) {
				return fmt.Errorf("adding a duplicate service: got %v, want ErrExists", err)
			}
			err := c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "nowhere", Frequency: core.Daily, Schedule: core.DefaultSchedule})
			if !errors.Is(err, core.ErrNotFound) {
				return fmt.Errorf("configuring an unknown destination: got %v, want ErrNotFound", err)
			}
			return nil
		}},
	}
	for _, s := range steps {
		if changes(t, c, s.op) {
			t.Errorf("%s: schedule version changed; it must not wake schedulers", s.name)
		}
	}
}

// A scheduler in one process sees the console's change made in another.
func TestScheduleVersionSeenAcrossHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	scheduler, err := Open(ctx, path)
	must(t, err)
	defer scheduler.Close()
	console, err := Open(ctx, path)
	must(t, err)
	defer console.Close()

	seen := scheduleVersion(t, scheduler)
	for i, op := range []func(){
		func() { addLocal(t, console, "local") },
		func() { addService(t, console, "prod") },
		func() { setConfig(t, console, "prod", "local", false) },
		func() { must(t, console.RemoveService(ctx, "prod")) },
	} {
		op()
		v := scheduleVersion(t, scheduler)
		if v == seen {
			t.Errorf("change %d through the other handle: schedule version stayed %d", i, v)
		}
		if w := scheduleVersion(t, console); w != v {
			t.Errorf("change %d: the handles disagree on the schedule version: %d and %d", i, v, w)
		}
		seen = v
	}
}

// A catalog made before the schedule version existed gets it on upgrade, and
// its data changes bump it from then on.
func TestScheduleVersionAfterUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	saved := migrations
	migrations = saved[:1]
	c, err := Open(ctx, path)
	if err != nil {
		migrations = saved
		t.Fatal(err)
	}
	// Written as a version-1 catalog would: the code of today knows newer columns.
	_, err = c.db.ExecContext(ctx, `INSERT INTO destinations (name, kind, dir, created_at) VALUES ('local', 'local', ?, 1)`, t.TempDir())
	must(t, err)
	migrations = saved
	must(t, c.Close())
	c, err = Open(ctx, path)
	must(t, err)
	addService(t, c, "prod")
	must(t, c.Close())

	c, err = Open(ctx, path)
	must(t, err)
	defer c.Close()
	if !changes(t, c, func() error {
		setConfig(t, c, "prod", "local", false)
		return nil
	}) {
		t.Error("schedule version did not change after the upgrade")
	}
	if _, _, err := c.AcquireLease(ctx, lease("daemon", 1, "x", epoch), nil); err != nil {
		t.Errorf("lease after the upgrade: %v", err)
	}
}
