package metrics

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// scrape gathers c's metrics as "name{label="value",...}" → value, labels
// sorted by name.
func scrape(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			key := f.GetName() + "{" + strings.Join(ls, ",") + "}"
			if m.Counter != nil {
				out[key] = m.Counter.GetValue()
			} else {
				out[key] = m.Gauge.GetValue()
			}
		}
	}
	return out
}

func openCatalog(t *testing.T) *store.Catalog {
	t.Helper()
	dir := t.TempDir()
	cat, err := store.Open(context.Background(), filepath.Join(dir, "catalog.db"), store.WithKeyFile(filepath.Join(dir, "catalog.key")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The collector on a real catalog: every family of metrics with the values
// the catalog implies, and nothing that lint refuses.
func TestCollectorValues(t *testing.T) {
	ctx := context.Background()
	cat := openCatalog(t)
	for _, d := range []string{"disk", "nas"} {
		must(t, cat.AddDestination(ctx, &core.Destination{Name: d, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/srv/" + d}}))
	}
	svc := core.Service{Name: "prod", Host: "alpha", RPOTargetSeconds: 7200, DB: core.DBConn{Host: "db", Port: 5432, User: "odoo", Database: "prod",
		Password: core.Secret("hunter2-db-password")}}
	must(t, cat.AddService(ctx, &svc, ""))
	must(t, cat.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "disk", Frequency: core.Hourly, Schedule: core.DefaultSchedule, Primary: true}))
	must(t, cat.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "nas", Frequency: core.Manual}))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	backup := func(dest string, status core.BackupStatus, size int64, start time.Time, took time.Duration, anomaly string) {
		t.Helper()
		fin := start.Add(took)
		b := core.Backup{Service: "prod", Destination: dest, Kind: core.KindScheduled, Status: status, Size: size, StartedAt: start, FinishedAt: &fin, Anomaly: anomaly}
		if status == core.StatusFailed {
			b.Error = "pg_dump failed"
		}
		must(t, cat.CreateBackup(ctx, &b))
	}
	backup("disk", core.StatusSucceeded, 1000, now.Add(-3*time.Hour), time.Minute, "")
	backup("disk", core.StatusSucceeded, 5000, now.Add(-2*time.Hour), 90*time.Second, "the size is 5 times the median")
	backup("disk", core.StatusFailed, 0, now.Add(-time.Hour), 10*time.Second, "")
	backup("nas", core.StatusSucceeded, 4000, now.Add(-30*time.Minute), 2*time.Minute, "")
	fin := now.Add(-20 * time.Minute)
	must(t, cat.AddDrill(ctx, &core.Drill{Service: "prod", Destination: "nas", Status: core.DrillOK, StartedAt: now.Add(-25 * time.Minute), FinishedAt: &fin,
		Details: core.DrillDetails{RestoreSeconds: 42.5}}))

	var errs []error
	c := New(cat, Options{Now: func() time.Time { return now }, OnError: func(err error) { errs = append(errs, err) }})
	got := scrape(t, c)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	disk := `destination="disk",host="alpha",service="prod"`
	nas := `destination="nas",host="alpha",service="prod"`
	want := map[string]float64{
		`odoo_backup_catalog_up{}`: 1,
		`odoo_backup_configuration_info{destination="disk",frequency="hourly",host="alpha",primary="true",service="prod"}`: 1,
		`odoo_backup_configuration_period_seconds{` + disk + `}`:                                                           3600,
		`odoo_backup_configuration_state{` + disk + `,state="failed"}`:                                                     1,
		`odoo_backup_configuration_state{` + disk + `,state="ok"}`:                                                         0,
		`odoo_backup_configuration_state{` + nas + `,state="manual"}`:                                                      1,
		`odoo_backup_last_success_timestamp_seconds{` + disk + `}`:                                                         float64(now.Add(-2*time.Hour + 90*time.Second).Unix()),
		`odoo_backup_configuration_rpo_seconds{` + disk + `}`:                                                              (2*time.Hour - 90*time.Second).Seconds(),
		`odoo_backup_configuration_rpo_seconds{` + nas + `}`:                                                               (28 * time.Minute).Seconds(),
		`odoo_backup_last_duration_seconds{` + disk + `}`:                                                                  10,
		`odoo_backup_last_size_bytes{` + disk + `}`:                                                                        5000,
		`odoo_backup_size_anomaly{` + disk + `}`:                                                                           1,
		`odoo_backup_size_anomaly{` + nas + `}`:                                                                            0,
		`odoo_backup_running{` + disk + `}`:                                                                                0,
		`odoo_backup_failed_backups_total{` + disk + `}`:                                                                   1,
		`odoo_backup_failed_backups_total{` + nas + `}`:                                                                    0,
		`odoo_backup_service_healthy{host="alpha",service="prod"}`:                                                         0,
		`odoo_backup_service_rpo_seconds{host="alpha",service="prod"}`:                                                     (28 * time.Minute).Seconds(),
		`odoo_backup_service_rpo_target_seconds{host="alpha",service="prod"}`:                                              7200,
		`odoo_backup_service_rto_seconds{host="alpha",service="prod"}`:                                                     42.5,
		`odoo_backup_last_drill_success{destination="nas",host="alpha",service="prod"}`:                                    1,
		`odoo_backup_last_drill_restore_seconds{destination="nas",host="alpha",service="prod"}`:                            42.5,
		`odoo_backup_last_drill_timestamp_seconds{destination="nas",host="alpha",service="prod"}`:                          float64(fin.Unix()),
		`odoo_backup_destination_held_bytes{destination="disk"}`:                                                           6000,
		`odoo_backup_destination_held_backups{destination="disk"}`:                                                         2,
		`odoo_backup_destination_held_bytes{destination="nas"}`:                                                            4000,
		`odoo_backup_scheduler_lease_held{holder="",host="alpha"}`:                                                         0,
		`odoo_backup_host_daemon_state{host="alpha",state="none"}`:                                                         1,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("no %s; got:\n%s", k, dumpKeys(got))
			continue
		}
		if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "odoo_backup_service_rto_target_seconds") {
			t.Errorf("%s exported with no RTO target set", k)
		}
		if strings.Contains(k, "hunter2") {
			t.Errorf("a secret in a label: %s", k)
		}
	}
	problems, err := testutil.CollectAndLint(c)
	must(t, err)
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	// Every exported name is one Names lists.
	for k := range got {
		name := k[:strings.Index(k, "{")]
		if !slices.Contains(Names(), name) {
			t.Errorf("%s is not in Names", name)
		}
	}
}

type failing struct{ Catalog }

func (failing) Services(context.Context) ([]core.Service, error) {
	return nil, errors.New("the catalog's server does not answer")
}

// A catalog that cannot be read makes a scrape that says so
// (odoo_backup_catalog_up 0), and the error reaches OnError.
func TestCollectorCatalogDown(t *testing.T) {
	var errs []error
	c := New(failing{openCatalog(t)}, Options{OnError: func(err error) { errs = append(errs, err) }})
	got := scrape(t, c)
	if got["odoo_backup_catalog_up{}"] != 0 || len(got) != 2 {
		t.Errorf("scrape of a catalog that is down: %v", got)
	}
	if len(errs) != 1 {
		t.Errorf("OnError heard %v", errs)
	}
}

func dumpKeys(m map[string]float64) string {
	var ks []string
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s %v", k, v))
	}
	sort.Strings(ks)
	return strings.Join(ks, "\n")
}
