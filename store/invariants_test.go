package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// world is the catalog every refusal starts from: service prod on s3-eu
// (primary) and local, staging on local only, template std on s3-eu
// (primary) and local, and an unused destination spare. It is built once and
// copied, because dozens of tests start from it.
func world(t *testing.T) *Catalog {
	t.Helper()
	worldOnce.Do(func() { worldBytes, worldErr = buildWorld() })
	if worldErr != nil {
		t.Fatalf("build the test catalog: %v", worldErr)
	}
	path := filepath.Join(t.TempDir(), "catalog.db")
	must(t, os.WriteFile(path, worldBytes, 0o600))
	c, err := Open(context.Background(), path, WithClock(tickingClock()))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

var (
	worldOnce  sync.Once
	worldBytes []byte
	worldErr   error
)

func buildWorld() ([]byte, error) {
	dir, err := os.MkdirTemp("", "store-world-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "catalog.db")
	ctx := context.Background()
	c, err := Open(ctx, path, WithClock(tickingClock()))
	if err != nil {
		return nil, err
	}
	steps := []func() error{
		func() error {
			return c.AddDestination(ctx, &core.Destination{Name: "s3-eu", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/b/s3-eu"}})
		},
		func() error {
			return c.AddDestination(ctx, &core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/b/local"}})
		},
		func() error {
			return c.AddDestination(ctx, &core.Destination{Name: "spare", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/b/spare"}})
		},
		func() error {
			return c.AddService(ctx, &core.Service{Name: "prod", DB: core.DBConn{Database: "prod"}}, "")
		},
		func() error {
			return c.AddService(ctx, &core.Service{Name: "staging", DB: core.DBConn{Database: "staging"}}, "")
		},
		func() error {
			return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "s3-eu", Frequency: core.Daily, Schedule: core.DefaultSchedule})
		},
		func() error {
			return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "local", Frequency: core.Hourly})
		},
		func() error {
			return c.SetConfiguration(ctx, core.Configuration{Service: "staging", Destination: "local"})
		},
		func() error {
			return c.AddTemplate(ctx, &core.Template{Name: "std", Configurations: []core.TemplateConfiguration{
				{Destination: "s3-eu", Frequency: core.Daily, Schedule: core.DefaultSchedule, Primary: true},
				{Destination: "local", Frequency: core.Hourly},
			}})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			c.Close()
			return nil, err
		}
	}
	// Closing checkpoints the WAL into the file, so the file alone is the catalog.
	if err := c.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// Each refused operation leaves the catalog exactly as it was.
func TestRefusedOperations(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		setup     func(t *testing.T, c *Catalog)
		op        func(c *Catalog) error
		want      error
		fragments []string
		// advice is what the refusal advises, phrased by each front end.
		advice core.Advice
	}{
		{
			name: "destination name taken",
			op: func(c *Catalog) error {
				return c.AddDestination(ctx, &core.Destination{Name: "s3-eu", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/x"}})
			},
			want: core.ErrExists, fragments: []string{`"s3-eu"`, "choose another name"},
		},
		{
			name: "destination name invalid",
			op: func(c *Catalog) error {
				return c.AddDestination(ctx, &core.Destination{Name: "../etc", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/x"}})
			},
			want: core.ErrInvalid, fragments: []string{`"../etc"`},
		},
		{
			name: "destination kind unknown",
			op: func(c *Catalog) error {
				return c.AddDestination(ctx, &core.Destination{Name: "ftp", Kind: "ftp"})
			},
			want: core.ErrInvalid, fragments: []string{`"ftp"`, "s3", "local"},
		},
		{
			name: "local destination without directory",
			op: func(c *Catalog) error {
				return c.AddDestination(ctx, &core.Destination{Name: "nodir", Kind: core.DestinationLocal})
			},
			want: core.ErrInvalid, fragments: []string{`destination "nodir" has no directory`}, advice: core.Advice{Action: core.ActionGiveDirectory, Destination: "nodir"},
		},
		{
			name: "s3 destination without bucket",
			op: func(c *Catalog) error {
				return c.AddDestination(ctx, &core.Destination{Name: "nob", Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: "s3:9000"}})
			},
			want: core.ErrInvalid, fragments: []string{"needs an endpoint and a bucket"}, advice: core.Advice{Action: core.ActionGiveEndpoint, Destination: "nob"},
		},
		{
			name: "rename destination onto another",
			op: func(c *Catalog) error {
				d, err := c.Destination(ctx, "spare")
				must(t, err)
				d.Name = "local"
				return c.UpdateDestination(ctx, d)
			},
			want: core.ErrExists, fragments: []string{`"local"`},
		},
		{
			name: "update unknown destination",
			op: func(c *Catalog) error {
				return c.UpdateDestination(ctx, core.Destination{Name: "nowhere", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/x"}})
			},
			want: core.ErrNotFound, fragments: []string{`"nowhere"`}, advice: core.Advice{Action: core.ActionListDestinations, Destination: "nowhere"},
		},
		{
			name: "service name taken",
			op: func(c *Catalog) error {
				return c.AddService(ctx, &core.Service{Name: "prod", DB: core.DBConn{Database: "x"}}, "")
			},
			want: core.ErrExists, fragments: []string{`"prod"`},
		},
		{
			name: "service name invalid",
			op: func(c *Catalog) error {
				return c.AddService(ctx, &core.Service{Name: "pro d", DB: core.DBConn{Database: "x"}}, "")
			},
			want: core.ErrInvalid, fragments: []string{`"pro d"`},
		},
		{
			name: "database name invalid",
			op: func(c *Catalog) error {
				return c.AddService(ctx, &core.Service{Name: "new", DB: core.DBConn{Database: `x"; DROP`}}, "")
			},
			want: core.ErrInvalid, fragments: []string{"database name"},
		},
		{
			name: "database name missing",
			op:   func(c *Catalog) error { return c.AddService(ctx, &core.Service{Name: "new"}, "") },
			want: core.ErrInvalid, fragments: []string{`service "new" has no database`}, advice: core.Advice{Action: core.ActionGiveDatabase, Service: "new"},
		},
		{
			name: "port out of range",
			op: func(c *Catalog) error {
				return c.AddService(ctx, &core.Service{Name: "new", DB: core.DBConn{Database: "x", Port: 70000}}, "")
			},
			want: core.ErrInvalid, fragments: []string{"70000"},
		},
		{
			name: "service from unknown template",
			op: func(c *Catalog) error {
				return c.AddService(ctx, &core.Service{Name: "new", DB: core.DBConn{Database: "x"}}, "nope")
			},
			want: core.ErrNotFound, fragments: []string{`template "nope"`},
		},
		{
			name: "rename service onto another",
			op: func(c *Catalog) error {
				s, err := c.Service(ctx, "staging")
				must(t, err)
				s.Name = "prod"
				return c.UpdateService(ctx, s)
			},
			want: core.ErrExists, fragments: []string{`"prod"`},
		},
		{
			name: "template name taken",
			op:   func(c *Catalog) error { return c.AddTemplate(ctx, &core.Template{Name: "std"}) },
			want: core.ErrExists, fragments: []string{`"std"`},
		},
		{
			name: "template name invalid",
			op:   func(c *Catalog) error { return c.AddTemplate(ctx, &core.Template{Name: "-std"}) },
			want: core.ErrInvalid, fragments: []string{`"-std"`},
		},
		{
			name: "template with two primaries",
			op: func(c *Catalog) error {
				return c.AddTemplate(ctx, &core.Template{Name: "two", Configurations: []core.TemplateConfiguration{
					{Destination: "s3-eu", Primary: true}, {Destination: "local", Primary: true}}})
			},
			want: core.ErrInvalid, fragments: []string{"exactly one"},
		},
		{
			name: "template with a destination twice",
			op: func(c *Catalog) error {
				return c.AddTemplate(ctx, &core.Template{Name: "twice", Configurations: []core.TemplateConfiguration{
					{Destination: "local"}, {Destination: "local"}}})
			},
			want: core.ErrInvalid, fragments: []string{`"local" twice`},
		},
		{
			name: "template on unknown destination",
			op: func(c *Catalog) error {
				return c.AddTemplate(ctx, &core.Template{Name: "lost", Configurations: []core.TemplateConfiguration{
					{Destination: "local"}, {Destination: "nowhere"}}})
			},
			want: core.ErrNotFound, fragments: []string{`destination "nowhere"`},
		},
		{
			name: "configuration of unknown service",
			op: func(c *Catalog) error {
				return c.SetConfiguration(ctx, core.Configuration{Service: "nope", Destination: "local"})
			},
			want: core.ErrNotFound, fragments: []string{`service "nope"`}, advice: core.Advice{Action: core.ActionListServices, Service: "nope"},
		},
		{
			name: "configuration on unknown destination",
			op: func(c *Catalog) error {
				return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "nope"})
			},
			want: core.ErrNotFound, fragments: []string{`destination "nope"`},
		},
		{
			name: "configuration with unknown frequency",
			op: func(c *Catalog) error {
				return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "spare", Frequency: "yearly"})
			},
			want: core.ErrInvalid, fragments: []string{`"yearly"`},
		},
		{
			name: "configuration at hour 24",
			op: func(c *Catalog) error {
				return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "spare", Frequency: core.Daily, Schedule: core.Schedule{Hour: 24}})
			},
			want: core.ErrInvalid, fragments: []string{"hour 24"},
		},
		{
			name: "monthly configuration without a day",
			op: func(c *Catalog) error {
				return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "spare", Frequency: core.Monthly})
			},
			want: core.ErrInvalid, fragments: []string{"day 0"},
		},
		{
			name: "configuration keeping a negative count",
			op: func(c *Catalog) error {
				return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "spare", Retention: core.Retention{KeepLast: -1}})
			},
			want: core.ErrInvalid, fragments: []string{"-1"},
		},
		{
			name: "configuration with keep count and GFS",
			op: func(c *Catalog) error {
				return c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "spare",
					Retention: core.Retention{KeepLast: 3, GFS: &core.DefaultGFS}})
			},
			want: core.ErrInvalid, fragments: []string{"choose one"},
		},
		{
			name:      "remove the primary while others remain",
			op:        func(c *Catalog) error { return c.RemoveConfiguration(ctx, "prod", "s3-eu") },
			want:      core.ErrInvalid,
			fragments: []string{`cannot remove the primary destination "s3-eu" of service "prod" while it has other destinations`},
			advice:    core.Advice{Action: core.ActionMovePrimary, Service: "prod"},
		},
		{
			name: "remove an unknown configuration",
			op:   func(c *Catalog) error { return c.RemoveConfiguration(ctx, "staging", "s3-eu") },
			want: core.ErrNotFound, fragments: []string{`service "staging" has no configuration on destination "s3-eu"`}, advice: core.Advice{Action: core.ActionListConfigurations, Service: "staging"},
		},
		{
			name: "remove the template's primary while others remain",
			op:   func(c *Catalog) error { return c.RemoveTemplateConfiguration(ctx, "std", "s3-eu") },
			want: core.ErrInvalid, fragments: []string{`primary destination "s3-eu" of template "std"`}, advice: core.Advice{Action: core.ActionMovePrimary, Service: "std", Detail: "template"},
		},
		{
			name: "configure unknown template",
			op: func(c *Catalog) error {
				return c.SetTemplateConfiguration(ctx, "nope", core.TemplateConfiguration{Destination: "local"})
			},
			want: core.ErrNotFound, fragments: []string{`template "nope"`},
		},
		{
			name: "remove unknown template",
			op:   func(c *Catalog) error { return c.RemoveTemplate(ctx, "nope") },
			want: core.ErrNotFound, fragments: []string{`template "nope"`},
		},
		{
			name:      "remove a destination services and templates use",
			op:        func(c *Catalog) error { return c.RemoveDestination(ctx, "local", true) },
			want:      core.ErrInvalid,
			fragments: []string{`destination "local" is still used by service "prod", service "staging" and template "std"`},
			advice:    core.Advice{Action: core.ActionRemoveConfiguration, Service: "prod", Destination: "local"},
		},
		{
			name: "remove a destination only a template uses",
			setup: func(t *testing.T, c *Catalog) {
				must(t, c.SetTemplateConfiguration(ctx, "std", core.TemplateConfiguration{Destination: "spare"}))
			},
			op:   func(c *Catalog) error { return c.RemoveDestination(ctx, "spare", false) },
			want: core.ErrInvalid, fragments: []string{`used by template "std"`}, advice: core.Advice{Action: core.ActionRemoveTemplateConfiguration, Detail: "std", Destination: "spare"},
		},
		{
			name: "remove a destination that holds backups",
			setup: func(t *testing.T, c *Catalog) {
				addBackup(t, c, "prod", "spare", core.KindManual, core.StatusSucceeded)
				addBackup(t, c, "prod", "spare", core.KindManual, core.StatusFailed)
				addBackup(t, c, "prod", "spare", core.KindScheduled, core.StatusRotated)
			},
			op:   func(c *Catalog) error { return c.RemoveDestination(ctx, "spare", false) },
			want: core.ErrInvalid, fragments: []string{`destination "spare" still has 2 backups`}, advice: core.Advice{Action: core.ActionForgetBackups, Destination: "spare"},
		},
		{
			name: "remove a destination while a backup runs on it",
			setup: func(t *testing.T, c *Catalog) {
				addBackup(t, c, "prod", "spare", core.KindManual, core.StatusRunning)
			},
			op:   func(c *Catalog) error { return c.RemoveDestination(ctx, "spare", true) },
			want: core.ErrInvalid, fragments: []string{"running", "wait"},
		},
		{
			name: "remove an unknown destination",
			op:   func(c *Catalog) error { return c.RemoveDestination(ctx, "nope", true) },
			want: core.ErrNotFound, fragments: []string{`destination "nope" does not exist`},
		},
		{
			name: "remove a service while its backup runs",
			setup: func(t *testing.T, c *Catalog) {
				addBackup(t, c, "staging", "local", core.KindManual, core.StatusRunning)
			},
			op:   func(c *Catalog) error { return c.RemoveService(ctx, "staging") },
			want: core.ErrInvalid, fragments: []string{"running"},
		},
		{
			name: "remove an unknown service",
			op:   func(c *Catalog) error { return c.RemoveService(ctx, "nope") },
			want: core.ErrNotFound, fragments: []string{`service "nope" does not exist`},
		},
		{
			name: "unknown backup",
			op:   func(c *Catalog) error { _, err := c.Backup(ctx, 42); return err },
			want: core.ErrNotFound, fragments: []string{"backup 42 does not exist"}, advice: core.Advice{Action: core.ActionListBackups, Backup: 42},
		},
		{
			name: "update an unknown backup",
			op: func(c *Catalog) error {
				return c.UpdateBackup(ctx, core.Backup{ID: 42, Status: core.StatusSucceeded})
			},
			want: core.ErrNotFound, fragments: []string{"backup 42"},
		},
		{
			name: "progress of an unknown backup",
			op:   func(c *Catalog) error { return c.UpdateProgress(ctx, 42, core.BackupProgress{Phase: "dump", Bytes: 1}) },
			want: core.ErrNotFound, fragments: []string{"backup 42"},
		},
		{
			name: "backup of unknown service",
			op: func(c *Catalog) error {
				return c.CreateBackup(ctx, &core.Backup{Service: "nope", Destination: "local", Kind: core.KindManual})
			},
			want: core.ErrNotFound, fragments: []string{`service "nope"`},
		},
		{
			name: "backup of unknown kind",
			op: func(c *Catalog) error {
				return c.CreateBackup(ctx, &core.Backup{Service: "prod", Destination: "local", Kind: "weird"})
			},
			want: core.ErrInvalid, fragments: []string{`"weird"`},
		},
		{
			name: "backup updated to unknown status",
			setup: func(t *testing.T, c *Catalog) {
				addBackup(t, c, "prod", "local", core.KindManual, core.StatusRunning)
			},
			op: func(c *Catalog) error {
				return c.UpdateBackup(ctx, core.Backup{ID: 1, Status: "done"})
			},
			want: core.ErrInvalid, fragments: []string{`"done"`},
		},
		{
			name: "primary of a service without configurations",
			setup: func(t *testing.T, c *Catalog) {
				addService(t, c, "bare")
			},
			op:   func(c *Catalog) error { _, err := c.Primary(ctx, "bare"); return err },
			want: core.ErrNotFound, fragments: []string{`service "bare" has no backup configuration yet`}, advice: core.Advice{Action: core.ActionAddConfiguration, Service: "bare"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := world(t)
			if tt.setup != nil {
				tt.setup(t, c)
			}
			var err error
			refuse(t, c, tt.want, func() error { err = tt.op(c); return err }, tt.fragments...)
			if a, _ := core.AdviceOf(err); tt.advice.Action != "" && a != tt.advice {
				t.Errorf("advice %+v, want %+v", a, tt.advice)
			}
		})
	}
}

// The schema refuses what the Go code would, for anyone writing raw SQL.
func TestSchemaRefusesRawSQL(t *testing.T) {
	tests := []struct {
		name string
		sql  string
	}{
		{"second configuration of a service on one destination",
			`INSERT INTO configurations (service_id, destination_id) SELECT s.id, d.id FROM services s, destinations d WHERE s.name = 'prod' AND d.name = 'local'`},
		{"second primary of a service",
			`UPDATE configurations SET is_primary = 1 WHERE destination_id = (SELECT id FROM destinations WHERE name = 'local') AND service_id = (SELECT id FROM services WHERE name = 'prod')`},
		{"deleting the primary while others remain",
			`DELETE FROM configurations WHERE is_primary AND service_id = (SELECT id FROM services WHERE name = 'prod')`},
		{"second configuration of a template on one destination",
			`INSERT INTO template_configurations (template_id, destination_id) SELECT t.id, d.id FROM templates t, destinations d WHERE t.name = 'std' AND d.name = 'local'`},
		{"second primary of a template",
			`UPDATE template_configurations SET is_primary = 1`},
		{"deleting the template's primary while others remain",
			`DELETE FROM template_configurations WHERE is_primary`},
		{"deleting a destination in use",
			`DELETE FROM destinations WHERE name = 'local'`},
		{"a GFS rule half set",
			`UPDATE configurations SET gfs_daily = 7`},
		{"an unknown frequency",
			`UPDATE configurations SET frequency = 'yearly'`},
		{"an unknown backup status",
			`INSERT INTO backups (service_name, destination_name, kind, status, started_at) VALUES ('a', 'b', 'manual', 'done', 0)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := world(t)
			before := dump(t, c)
			if err := exec(t, c.db, tt.sql); err == nil {
				t.Fatalf("got no error, want the schema to refuse: %s", tt.sql)
			}
			if after := dump(t, c); after != before {
				t.Errorf("catalog changed by a refused statement:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// checkPrimaries is the last guard: a service left without a primary by raw
// SQL makes every later configuration change roll back instead of adding to
// the damage.
func TestCheckPrimariesRollsBack(t *testing.T) {
	c := world(t)
	must(t, exec(t, c.db, `UPDATE configurations SET is_primary = 0 WHERE service_id = (SELECT id FROM services WHERE name = 'staging')`))
	refuse(t, c, core.ErrInvalid, func() error {
		return c.SetConfiguration(context.Background(), core.Configuration{Service: "prod", Destination: "spare"})
	}, `service "staging"`, "0 primary destinations", "not saved")
}

func TestFirstConfigurationBecomesPrimary(t *testing.T) {
	c := openTest(t)
	addLocal(t, c, "a")
	addLocal(t, c, "b")
	addService(t, c, "prod")
	setConfig(t, c, "prod", "b", false)
	setConfig(t, c, "prod", "a", false)
	want := map[string]bool{"a": false, "b": true}
	if got := primaries(t, c, "prod"); !equalFlags(got, want) {
		t.Errorf("got primaries %v, want %v", got, want)
	}
}

func TestPrimaryMoves(t *testing.T) {
	c := world(t)
	setConfig(t, c, "prod", "local", true)
	want := map[string]bool{"s3-eu": false, "local": true}
	if got := primaries(t, c, "prod"); !equalFlags(got, want) {
		t.Errorf("got primaries %v, want %v", got, want)
	}
	// A new configuration can take the flag as it is created.
	setConfig(t, c, "prod", "spare", true)
	want = map[string]bool{"s3-eu": false, "local": false, "spare": true}
	if got := primaries(t, c, "prod"); !equalFlags(got, want) {
		t.Errorf("got primaries %v, want %v", got, want)
	}
	p, err := c.Primary(context.Background(), "prod")
	must(t, err)
	if p.Destination != "spare" || !p.Primary {
		t.Errorf("got primary %s (flag %v), want spare", p.Destination, p.Primary)
	}
}

// Primary=false means "do not move the flag here": updating the primary's
// frequency keeps it primary.
func TestPrimaryFalseKeepsThePrimary(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	must(t, c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "s3-eu", Frequency: core.Hourly, Primary: false}))
	p, err := c.Primary(ctx, "prod")
	must(t, err)
	if p.Destination != "s3-eu" || p.Frequency != core.Hourly {
		t.Errorf("got primary %s at %s, want s3-eu at hourly", p.Destination, p.Frequency)
	}
}

// UNIQUE(service_id, destination_id): setting again updates the one row.
func TestSetConfigurationUpdatesInPlace(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	must(t, c.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "local", Frequency: core.Weekly, Schedule: core.DefaultSchedule}))
	cfgs, err := c.Configurations(ctx, "prod")
	must(t, err)
	if len(cfgs) != 2 {
		t.Fatalf("got %d configurations, want 2", len(cfgs))
	}
	if cfgs[1].Destination != "local" || cfgs[1].Frequency != core.Weekly {
		t.Errorf("got %s at %s, want local at weekly", cfgs[1].Destination, cfgs[1].Frequency)
	}
}

func TestRemoveConfigurations(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	// A non-primary goes at once, the primary once it is the last one.
	must(t, c.RemoveConfiguration(ctx, "prod", "local"))
	must(t, c.RemoveConfiguration(ctx, "prod", "s3-eu"))
	cfgs, err := c.Configurations(ctx, "prod")
	must(t, err)
	if len(cfgs) != 0 {
		t.Errorf("got %d configurations, want none", len(cfgs))
	}
	// Then the next one added becomes primary again.
	setConfig(t, c, "prod", "spare", false)
	if got := primaries(t, c, "prod"); !got["spare"] {
		t.Errorf("got primaries %v, want spare primary", got)
	}
}

func TestTemplatePrimaryRules(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	templatePrimaries := func() map[string]bool {
		tpl, err := c.Template(ctx, "std")
		must(t, err)
		out := map[string]bool{}
		for _, tc := range tpl.Configurations {
			out[tc.Destination] = tc.Primary
		}
		return out
	}
	must(t, c.SetTemplateConfiguration(ctx, "std", core.TemplateConfiguration{Destination: "spare"}))
	if got, want := templatePrimaries(), map[string]bool{"s3-eu": true, "local": false, "spare": false}; !equalFlags(got, want) {
		t.Errorf("after adding spare: got %v, want %v", got, want)
	}
	must(t, c.SetTemplateConfiguration(ctx, "std", core.TemplateConfiguration{Destination: "local", Primary: true}))
	if got, want := templatePrimaries(), map[string]bool{"s3-eu": false, "local": true, "spare": false}; !equalFlags(got, want) {
		t.Errorf("after moving to local: got %v, want %v", got, want)
	}
	must(t, c.SetTemplateConfiguration(ctx, "std", core.TemplateConfiguration{Destination: "local", Frequency: core.Weekly, Schedule: core.DefaultSchedule}))
	if got := templatePrimaries(); !got["local"] {
		t.Errorf("after updating local with Primary=false: got %v, want local still primary", got)
	}
	must(t, c.RemoveTemplateConfiguration(ctx, "std", "s3-eu"))
	must(t, c.RemoveTemplateConfiguration(ctx, "std", "spare"))
	must(t, c.RemoveTemplateConfiguration(ctx, "std", "local"))
	if got := templatePrimaries(); len(got) != 0 {
		t.Errorf("after removing all: got %v, want none", got)
	}

	// Without a primary mark, a new template's first configuration is primary.
	must(t, c.AddTemplate(ctx, &core.Template{Name: "plain", Configurations: []core.TemplateConfiguration{
		{Destination: "spare"}, {Destination: "local"}}}))
	tpl, err := c.Template(ctx, "plain")
	must(t, err)
	if len(tpl.Configurations) != 2 || tpl.Configurations[0].Destination != "spare" || !tpl.Configurations[0].Primary {
		t.Errorf("got %+v, want spare primary first", tpl.Configurations)
	}
}

func TestAddServiceFromTemplateCopiesExactly(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	tpl, err := c.Template(ctx, "std")
	must(t, err)
	s := core.Service{Name: "new", DB: core.DBConn{Database: "new"}}
	must(t, c.AddService(ctx, &s, "std"))
	cfgs, err := c.Configurations(ctx, "new")
	must(t, err)
	if len(cfgs) != len(tpl.Configurations) {
		t.Fatalf("got %d configurations, want the template's %d", len(cfgs), len(tpl.Configurations))
	}
	for i, cfg := range cfgs {
		want := tpl.Configurations[i]
		got := core.TemplateConfiguration{Destination: cfg.Destination, Frequency: cfg.Frequency,
			Schedule: cfg.Schedule, Retention: cfg.Retention, Primary: cfg.Primary}
		if !equalTemplateConfiguration(got, want) {
			t.Errorf("configuration %d: got %+v, want %+v", i, got, want)
		}
		if cfg.ServiceID != s.ID || cfg.Service != "new" {
			t.Errorf("configuration %d: got service %d %q, want %d %q", i, cfg.ServiceID, cfg.Service, s.ID, "new")
		}
	}
	// The service's configurations are its own: changing the template later
	// leaves them alone, and removing the template too.
	must(t, c.SetTemplateConfiguration(ctx, "std", core.TemplateConfiguration{Destination: "spare"}))
	must(t, c.RemoveTemplate(ctx, "std"))
	after, err := c.Configurations(ctx, "new")
	must(t, err)
	if len(after) != len(cfgs) {
		t.Errorf("got %d configurations after the template changed, want %d", len(after), len(cfgs))
	}
}

func TestRemoveServiceKeepsItsBackups(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	b := addBackup(t, c, "prod", "s3-eu", core.KindScheduled, core.StatusSucceeded)
	must(t, c.RemoveService(ctx, "prod"))
	if _, err := c.Service(ctx, "prod"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("service still there: got %v, want ErrNotFound", err)
	}
	var n int
	must(t, c.db.QueryRow(`SELECT COUNT(*) FROM configurations c JOIN destinations d ON d.id = c.destination_id WHERE d.name = 's3-eu'`).Scan(&n))
	if n != 0 {
		t.Errorf("got %d configurations left on s3-eu, want 0 (prod's went with it)", n)
	}
	got, err := c.Backup(ctx, b.ID)
	must(t, err)
	if got.ServiceID != 0 || got.Service != "prod" || !got.Orphaned {
		t.Errorf("got service id %d, name %q, orphaned %v; want 0, prod, true", got.ServiceID, got.Service, got.Orphaned)
	}
	list, err := c.Backups(ctx, core.BackupFilter{Service: "prod"})
	must(t, err)
	if len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("got %d backups listed for prod, want backup %d", len(list), b.ID)
	}
}

func TestRemoveDestinationForgettingBackups(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	rotated := addBackup(t, c, "prod", "spare", core.KindScheduled, core.StatusRotated)
	deleted := addBackup(t, c, "prod", "spare", core.KindManual, core.StatusDeleted)
	live := addBackup(t, c, "prod", "spare", core.KindManual, core.StatusSucceeded)
	failed := addBackup(t, c, "prod", "spare", core.KindManual, core.StatusFailed)
	must(t, c.RemoveDestination(ctx, "spare", true))
	for _, id := range []int64{live.ID, failed.ID} {
		if _, err := c.Backup(ctx, id); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("backup %d: got %v, want it forgotten", id, err)
		}
	}
	for _, id := range []int64{rotated.ID, deleted.ID} {
		b, err := c.Backup(ctx, id)
		if err != nil {
			t.Errorf("backup %d: got %v, want it kept in the history", id, err)
			continue
		}
		if b.DestinationID != 0 || b.Destination != "spare" {
			t.Errorf("backup %d: got destination %d %q, want 0 %q", id, b.DestinationID, b.Destination, "spare")
		}
	}
	// Ids are never reused, even after the newest rows were forgotten.
	next := addBackup(t, c, "prod", "local", core.KindManual, core.StatusRunning)
	if next.ID <= failed.ID {
		t.Errorf("got new backup id %d, want more than %d", next.ID, failed.ID)
	}
}

func TestRemoveUnusedDestination(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	must(t, c.RemoveDestination(ctx, "spare", false))
	if _, err := c.Destination(ctx, "spare"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestRenameKeepsHistory(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	b := addBackup(t, c, "prod", "s3-eu", core.KindManual, core.StatusSucceeded)
	s, err := c.Service(ctx, "prod")
	must(t, err)
	s.Name = "production"
	must(t, c.UpdateService(ctx, s))
	d, err := c.Destination(ctx, "s3-eu")
	must(t, err)
	d.Name = "s3-fr"
	must(t, c.UpdateDestination(ctx, d))
	got, err := c.Backup(ctx, b.ID)
	must(t, err)
	if got.Service != "production" || got.Destination != "s3-fr" || got.Orphaned {
		t.Errorf("got %q on %q (orphaned %v), want production on s3-fr, not orphaned", got.Service, got.Destination, got.Orphaned)
	}
	p, err := c.Primary(ctx, "production")
	must(t, err)
	if p.Destination != "s3-fr" {
		t.Errorf("got primary %q, want s3-fr", p.Destination)
	}
}

func TestConfigurationsOrder(t *testing.T) {
	c := openTest(t)
	for _, d := range []string{"b", "a", "c"} {
		addLocal(t, c, d)
	}
	for _, s := range []string{"zeta", "alpha"} {
		addService(t, c, s)
		setConfig(t, c, s, "c", false) // first, so primary
		setConfig(t, c, s, "b", false)
		setConfig(t, c, s, "a", false)
	}
	all, err := c.AllConfigurations(context.Background())
	must(t, err)
	var got []string
	for _, cfg := range all {
		got = append(got, cfg.Service+"/"+cfg.Destination)
	}
	want := "alpha/c alpha/a alpha/b zeta/c zeta/a zeta/b"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func equalFlags(got, want map[string]bool) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

func equalTemplateConfiguration(a, b core.TemplateConfiguration) bool {
	if (a.Retention.GFS == nil) != (b.Retention.GFS == nil) {
		return false
	}
	if a.Retention.GFS != nil && *a.Retention.GFS != *b.Retention.GFS {
		return false
	}
	a.Retention.GFS, b.Retention.GFS = nil, nil
	return a == b
}
