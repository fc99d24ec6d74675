package metrics

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// The dashboard is JSON Grafana imports (a Prometheus data source asked
// for on import), and every metric its queries use is one the collector
// exports; so do the alert rules.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	queries, err := DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 10 {
		t.Fatalf("the dashboard has %d queries", len(queries))
	}
	used := map[string]bool{}
	for _, q := range queries {
		names := UsedNames(q)
		if len(names) == 0 {
			t.Errorf("query %q uses no odoo_backup_ metric", q)
		}
		for _, n := range names {
			used[n] = true
			if !slices.Contains(Names(), n) {
				t.Errorf("the dashboard's query %q uses %s, which the collector does not export", q, n)
			}
		}
	}
	for _, want := range []string{"odoo_backup_service_rpo_seconds", "odoo_backup_service_rpo_target_seconds", "odoo_backup_last_success_timestamp_seconds",
		"odoo_backup_last_size_bytes", "odoo_backup_last_duration_seconds", "odoo_backup_failed_backups_total", "odoo_backup_last_drill_success",
		"odoo_backup_last_drill_restore_seconds", "odoo_backup_destination_held_bytes"} {
		if !used[want] {
			t.Errorf("the dashboard shows no %s", want)
		}
	}
	if !strings.Contains(string(Dashboard), `"${DS_PROMETHEUS}"`) || !strings.Contains(string(Dashboard), `"__inputs"`) {
		t.Error("the dashboard does not ask for its Prometheus data source on import")
	}
	for _, n := range UsedNames(string(AlertRules)) {
		if !slices.Contains(Names(), n) {
			t.Errorf("the alert rules use %s, which the collector does not export", n)
		}
	}
}

// promtool finds the alert rules valid, and their unit tests
// (alerts_test.yml) pass: each fires on what it is for and on nothing else.
func TestAlertRules(t *testing.T) {
	_, promtool, err := testbed.PrometheusBinaries()
	testbed.Need(t, "promtool", err)
	if out, err := testbed.Promtool(promtool, nil, "check", "rules", "alerts.yml"); err != nil || !strings.Contains(out, "SUCCESS: 8 rules found") {
		t.Errorf("promtool check rules: %s %v", out, err)
	}
	if out, err := testbed.Promtool(promtool, nil, "test", "rules", "alerts_test.yml"); err != nil {
		t.Errorf("promtool test rules: %s %v", out, err)
	}
	// The README's rules are the file's.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), string(AlertRules)) {
		t.Error("README.md does not give the alert rules of core/metrics/alerts.yml as they are")
	}
}
