package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func TestDestinationRoundTrip(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	tests := []core.Destination{
		{
			Name:      "s3-eu",
			Kind:      core.DestinationS3,
			S3:        core.S3Settings{Endpoint: "s3.eu.example:9000", Region: "eu-west-1", Bucket: "odoo", Prefix: "hosts/a", AccessKey: "AKIA123", SecretKey: "s3cr3t/+=", NoTLS: true, SSE: "SSE-S3"},
			Layout:    core.LayoutPool,
			Lock:      core.ObjectLock{Mode: core.LockCompliance, Days: 30},
			Limits:    core.BandwidthLimits{Upload: 20 << 20, Download: 50 << 20},
			CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		},
		{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/var/backups/odoo"}, Layout: core.LayoutZip},
	}
	for _, want := range tests {
		t.Run(want.Name, func(t *testing.T) {
			d := want
			must(t, c.AddDestination(ctx, &d))
			if d.ID == 0 || d.CreatedAt.IsZero() {
				t.Fatalf("got id %d, created %v; want both set", d.ID, d.CreatedAt)
			}
			if !want.CreatedAt.IsZero() && !d.CreatedAt.Equal(want.CreatedAt) {
				t.Errorf("got created %v, want the given %v kept", d.CreatedAt, want.CreatedAt)
			}
			byName, err := c.Destination(ctx, want.Name)
			must(t, err)
			byID, err := c.DestinationByID(ctx, d.ID)
			must(t, err)
			for _, got := range []core.Destination{byName, byID} {
				if !reflect.DeepEqual(got, d) {
					t.Errorf("got  %#v\nwant %#v\n(secret %q vs %q)", got, d, got.S3.SecretKey.Reveal(), d.S3.SecretKey.Reveal())
				}
			}
		})
	}
	// Update changes every field but the creation time.
	d, err := c.Destination(ctx, "s3-eu")
	must(t, err)
	d.S3.Endpoint, d.S3.Region, d.S3.Bucket, d.S3.Prefix, d.S3.AccessKey, d.S3.SecretKey, d.S3.NoTLS, d.S3.SSE = "s3.fr:443", "fr", "b2", "p2", "AK2", "new-secret", false, ""
	d.Layout = core.LayoutZip
	d.Lock, d.Limits = core.ObjectLock{Mode: core.LockGovernance, Days: 7}, core.BandwidthLimits{Upload: 1000}
	must(t, c.UpdateDestination(ctx, d))
	got, err := c.Destination(ctx, "s3-eu")
	must(t, err)
	if !reflect.DeepEqual(got, d) {
		t.Errorf("after update got %#v, want %#v", got, d)
	}
	list, err := c.Destinations(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Name != "local" || list[1].Name != "s3-eu" {
		t.Errorf("got %d destinations %v, want local and s3-eu by name", len(list), list)
	}
}

func TestServiceRoundTrip(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	tests := []core.Service{
		{Name: "prod", DB: core.DBConn{Host: "db.internal", Port: 5433, User: "odoo", Password: "pa ss'\"", Database: "prod_17"},
			FilestoreDir: "/var/lib/odoo/filestore/prod_17", OdooConf: "/etc/odoo/odoo.conf"},
		{Name: "found", Placeholder: true, CreatedAt: time.Date(2024, 6, 1, 0, 0, 0, 999, time.UTC)},
	}
	for _, want := range tests {
		t.Run(want.Name, func(t *testing.T) {
			s := want
			must(t, c.AddService(ctx, &s, ""))
			if s.ID == 0 || s.CreatedAt.IsZero() {
				t.Fatalf("got id %d, created %v; want both set", s.ID, s.CreatedAt)
			}
			byName, err := c.Service(ctx, want.Name)
			must(t, err)
			byID, err := c.ServiceByID(ctx, s.ID)
			must(t, err)
			for _, got := range []core.Service{byName, byID} {
				if !reflect.DeepEqual(got, s) {
					t.Errorf("got  %#v\nwant %#v", got, s)
				}
			}
		})
	}
	// A placeholder becomes a real service by an update.
	s, err := c.Service(ctx, "found")
	must(t, err)
	s.Placeholder = false
	s.DB = core.DBConn{Host: "h", Port: 1, User: "u", Password: "p", Database: "found"}
	s.FilestoreDir, s.OdooConf = "/f", "/c"
	must(t, c.UpdateService(ctx, s))
	got, err := c.ServiceByID(ctx, s.ID)
	must(t, err)
	if !reflect.DeepEqual(got, s) {
		t.Errorf("after update got %#v, want %#v", got, s)
	}
	list, err := c.Services(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Name != "found" || list[1].Name != "prod" {
		t.Errorf("got services %v, want found and prod by name", list)
	}
}

func TestConfigurationRoundTrip(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	dests := []string{"a", "b", "c", "d"}
	for _, d := range dests {
		addLocal(t, c, d)
	}
	s := addService(t, c, "prod")
	tests := []core.Configuration{
		{Destination: "a", Frequency: core.Monthly, Schedule: core.Schedule{Minute: 59, Hour: 23, Weekday: time.Saturday, MonthDay: 31},
			Retention: core.Retention{GFS: &core.GFS{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 3}}, Primary: true},
		{Destination: "b", Frequency: core.Hourly, Schedule: core.Schedule{Minute: 15}, Retention: core.Retention{KeepLast: 48}},
		{Destination: "c", Frequency: core.Manual},
		// A GFS rule of all zeros is not the same as no rule.
		{Destination: "d", Frequency: core.Weekly, Schedule: core.Schedule{Hour: 2, Weekday: time.Wednesday}, Retention: core.Retention{GFS: &core.GFS{}}},
	}
	for _, cfg := range tests {
		cfg.Service = "prod"
		must(t, c.SetConfiguration(ctx, cfg))
	}
	got, err := c.Configurations(ctx, "prod")
	must(t, err)
	if len(got) != len(tests) {
		t.Fatalf("got %d configurations, want %d", len(got), len(tests))
	}
	for i, want := range tests {
		d, err := c.Destination(ctx, want.Destination)
		must(t, err)
		want.Service, want.ServiceID, want.DestinationID = "prod", s.ID, d.ID
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("configuration %d:\ngot  %+v (gfs %+v)\nwant %+v (gfs %+v)", i, got[i], got[i].Retention.GFS, want, want.Retention.GFS)
		}
	}
}

func TestTemplateRoundTrip(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	addLocal(t, c, "a")
	addLocal(t, c, "b")
	want := core.Template{Name: "std", Configurations: []core.TemplateConfiguration{
		{Destination: "b", Frequency: core.Daily, Schedule: core.Schedule{Minute: 30, Hour: 3, Weekday: time.Monday, MonthDay: 2},
			Retention: core.Retention{GFS: &core.DefaultGFS}, Primary: true},
		{Destination: "a", Frequency: core.Hourly, Schedule: core.Schedule{Minute: 5}, Retention: core.Retention{KeepLast: 3}},
	}}
	tpl := want
	must(t, c.AddTemplate(ctx, &tpl))
	if tpl.ID == 0 {
		t.Fatal("got template id 0, want it set")
	}
	want.ID = tpl.ID
	got, err := c.Template(ctx, "std")
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	must(t, c.AddTemplate(ctx, &core.Template{Name: "empty"}))
	all, err := c.Templates(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "empty" || len(all[0].Configurations) != 0 || !reflect.DeepEqual(all[1], want) {
		t.Errorf("got templates %+v, want empty then %+v", all, want)
	}
}

func TestBackupRoundTrip(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	d := addLocal(t, c, "local")
	s := addService(t, c, "prod")
	setConfig(t, c, "prod", "local", false)

	finished := time.Date(2026, 11, 22, 12, 3, 4, 987654321, time.UTC)
	tests := []core.Backup{
		{Service: "prod", Destination: "local", Kind: core.KindScheduled, Status: core.StatusSucceeded, Size: 1 << 40,
			SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", StartedAt: time.Date(2026, 11, 22, 12, 0, 0, 1, time.UTC),
			FinishedAt: &finished, Error: "", Key: "prod/2026/11/prod_20261122-120000_scheduled.zip", Database: "prod_db",
			Format: core.FormatOdooZip, OdooVersion: "17.0", PGVersion: "16.0", BackupProgress: core.BackupProgress{Phase: "done", Bytes: 1 << 40},
			Host: "db1.example.org", PID: 4121, Warning: "the post-backup hook failed", LockedUntil: &finished},
		// By ids, running by default, started now, not finished.
		{ServiceID: s.ID, DestinationID: d.ID, Kind: core.KindSafety, BackupProgress: core.BackupProgress{Phase: "dump", Bytes: 12}},
		{Service: "prod", Destination: "local", Kind: core.KindUpload, Status: core.StatusFailed, Error: "pg_dump: connection refused",
			StartedAt: epoch, FinishedAt: &epoch},
	}
	for i, in := range tests {
		b := in
		must(t, c.CreateBackup(ctx, &b))
		want := in
		want.ID, want.ServiceID, want.Service, want.DestinationID, want.Destination = b.ID, s.ID, "prod", d.ID, "local"
		if want.Status == "" {
			want.Status = core.StatusRunning
		}
		if want.StartedAt.IsZero() {
			want.StartedAt = b.StartedAt
			if b.StartedAt.IsZero() || b.StartedAt.Location() != time.UTC {
				t.Errorf("backup %d: got started %v, want now in UTC", i, b.StartedAt)
			}
		}
		// UpdatedAt is the catalog's: set on every write.
		if b.UpdatedAt.IsZero() {
			t.Errorf("backup %d: UpdatedAt not set on creation", i)
		}
		want.UpdatedAt = b.UpdatedAt
		// A running backup starts with progress: its creation.
		if want.Status == core.StatusRunning && want.ProgressAt.IsZero() {
			want.ProgressAt = b.UpdatedAt
		}
		if !reflect.DeepEqual(b, want) {
			t.Errorf("backup %d as created:\ngot  %+v\nwant %+v", i, b, want)
		}
		got, err := c.Backup(ctx, b.ID)
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("backup %d as read:\ngot  %+v\nwant %+v", i, got, want)
		}
	}

	// UpdateBackup stores every mutable field, and none of the fixed ones.
	b, err := c.Backup(ctx, 2)
	must(t, err)
	want := b
	b.Status, b.Size, b.SHA256, b.FinishedAt, b.Error = core.StatusSucceeded, 77, "abc", &finished, "none"
	b.Key, b.Database, b.Format, b.OdooVersion, b.PGVersion, b.Phase, b.Bytes = "k", "db", "native", "18.0", "17.0", "upload", 76
	want.Status, want.Size, want.SHA256, want.FinishedAt, want.Error = b.Status, b.Size, b.SHA256, b.FinishedAt, b.Error
	want.Key, want.Database, want.Format, want.OdooVersion, want.PGVersion, want.Phase, want.Bytes = b.Key, b.Database, b.Format, b.OdooVersion, b.PGVersion, b.Phase, b.Bytes
	b.Warning, b.LockedUntil = "warned", &epoch
	want.Warning, want.LockedUntil = b.Warning, b.LockedUntil
	b.Kind, b.StartedAt, b.Service = core.KindCopy, epoch.Add(time.Hour), "other"
	must(t, c.UpdateBackup(ctx, b))
	got, err := c.Backup(ctx, 2)
	must(t, err)
	if !got.UpdatedAt.After(want.UpdatedAt) {
		t.Errorf("UpdateBackup left UpdatedAt at %v, want later than %v", got.UpdatedAt, want.UpdatedAt)
	}
	want.UpdatedAt = got.UpdatedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after update:\ngot  %+v\nwant %+v", got, want)
	}
	must(t, c.UpdateProgress(ctx, 2, core.BackupProgress{Phase: "upload", Bytes: 80}))
	if p, err := c.Backup(ctx, 2); err != nil || !p.UpdatedAt.After(got.UpdatedAt) {
		t.Errorf("UpdateProgress left UpdatedAt at %v (%v), want later than %v", p.UpdatedAt, err, got.UpdatedAt)
	}

	// Back to unfinished: a nil FinishedAt is stored as such.
	got.FinishedAt = nil
	must(t, c.UpdateBackup(ctx, got))
	again, err := c.Backup(ctx, 2)
	must(t, err)
	if again.FinishedAt != nil {
		t.Errorf("got finished %v, want nil", again.FinishedAt)
	}
}
