package metrics

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// AlertRules is the Prometheus rule file of the README (alerts.yml): RPO
// above twice a configuration's period or above its service's target, a
// failing configuration, a failed drill, a size anomaly, a missed RTO
// target, a catalog the daemon cannot read, a dead daemon.
//
//go:embed alerts.yml
var AlertRules []byte

// Dashboard is the Grafana dashboard of the metrics (grafana-dashboard.json),
// importable as it is.
//
//go:embed grafana-dashboard.json
var Dashboard []byte

// DashboardQueries returns every PromQL expression of the dashboard: its
// panels' targets, then its variables' queries.
func DashboardQueries() ([]string, error) {
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(Dashboard, &d); err != nil {
		return nil, fmt.Errorf("the Grafana dashboard is not JSON: %w", err)
	}
	var out []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			return nil, fmt.Errorf("the dashboard's panel %q has no query", p.Title)
		}
		for _, t := range p.Targets {
			out = append(out, t.Expr)
		}
	}
	for _, v := range d.Templating.List {
		out = append(out, v.Definition)
	}
	return out, nil
}

var metricName = regexp.MustCompile(`\bodoo_backup_[a-z_]+`)

// UsedNames returns the odoo_backup_ metric names text uses, once each.
func UsedNames(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range metricName.FindAllString(text, -1) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// Variables replaces the dashboard's variables in a query with what they
// are when every service is chosen, so that Prometheus itself can run it.
func Variables(expr string) string {
	return strings.NewReplacer("$service", ".*", "$__rate_interval", "5m", "$__interval", "1m").Replace(expr)
}
