package testbed

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The test bed's Prometheus scrapes a target, answers queries about it, and
// its promtool tells a clean exposition from a faulty one.
func TestPrometheusScrapesAndAnswers(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "# HELP testbed_answer The answer.\n# TYPE testbed_answer gauge\ntestbed_answer 42\n")
	}))
	defer target.Close()
	p := StartPrometheus(t, strings.TrimPrefix(target.URL, "http://"))
	got, err := p.WaitQuery(t.Context(), `testbed_answer{job="odoo-backup"}`, time.Minute, func(s []Sample) bool { return len(s) == 1 })
	if err != nil {
		t.Fatalf("%v; prometheus logged:\n%s", err, p.Log())
	}
	if got[0].Value != 42 {
		t.Errorf("testbed_answer = %v, want 42", got[0].Value)
	}
	if out, err := p.CheckMetrics([]byte("# HELP testbed_answer The answer.\n# TYPE testbed_answer gauge\ntestbed_answer 42\n")); err != nil || out != "" {
		t.Errorf("promtool check metrics on a clean scrape: %q, %v", out, err)
	}
	if out, _ := p.CheckMetrics([]byte("# HELP testbed_requests Requests.\n# TYPE testbed_requests counter\ntestbed_requests 42\n")); !strings.Contains(out, "_total") {
		t.Errorf("promtool check metrics on a counter without _total: %q, want a report", out)
	}
	if _, err := p.Query(t.Context(), "sum("); err == nil {
		t.Error("a malformed query gave no error")
	}
}
