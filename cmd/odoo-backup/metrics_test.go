package main

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core/metrics"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// await reads the daemon's log, the lines already read included, until
// one whose message contains want, and returns it.
func (d *daemonProc) await(want string) map[string]any {
	d.t.Helper()
	for _, m := range d.seen {
		if s, _ := m["msg"].(string); strings.Contains(s, want) {
			return m
		}
	}
	return d.waitMatching(fmt.Sprintf("containing %q", want), func(s string) bool { return strings.Contains(s, want) }, 1)[0]
}

// get fetches url and returns its body; anything but 200 fails the test.
func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v\n%s", url, resp.Status, err, body)
	}
	return body
}

// A real daemon serves its metrics, a real Prometheus scrapes them, and what
// Prometheus answers is what the catalog says: the last success's time, the
// failed backup, the RPO, the drill, the bytes held, the scheduler's lease.
// promtool finds nothing to say about the scrape, and no secret is in it.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "metrics_prod")
	disk := filepath.Join(c.dir, "disk")
	c.ok("destination", "add", "disk", "--dir", disk)
	c.addService("prod", odoo)
	// Its next slot is half an hour away: only the catch-up runs while
	// the test compares the catalog with what Prometheus says.
	c.ok("config", "set", "prod", "disk", "--frequency", "hourly", "--minute", fmt.Sprint((time.Now().Minute()+30)%60))
	addr := testbed.ClosedPort(t)
	d := c.startDaemon("--metrics-listen", addr)
	d.await("serving metrics")
	// The catch-up backup succeeds; then one by hand fails (the disk is
	// gone), and a drill restores the good one.
	d.waitFor("scheduled run finished", 1)
	if err := os.Rename(disk, disk+".away"); err != nil {
		t.Fatal(err)
	}
	if r := c.run("backup", "prod"); r.code == 0 {
		t.Fatalf("a backup to a missing disk succeeded: %s", r.stdout)
	}
	if err := os.Rename(disk+".away", disk); err != nil {
		t.Fatal(err)
	}
	c.ok("drill", "prod")
	st, _ := c.status()
	if len(st.Services) != 1 || len(st.Services[0].Configurations) != 1 || st.Services[0].Configurations[0].LastSuccess == nil {
		t.Fatalf("status: %+v", st)
	}
	lastSuccess := *st.Services[0].Configurations[0].LastSuccess

	prom := testbed.StartPrometheus(t, addr)
	ctx := t.Context()
	one := func(expr string) float64 {
		t.Helper()
		got, err := prom.WaitQuery(ctx, expr, time.Minute, func(s []testbed.Sample) bool { return len(s) == 1 })
		if err != nil {
			t.Fatalf("%v; prometheus logged:\n%s", err, prom.Log())
		}
		return got[0].Value
	}
	cfg := `{job="odoo-backup",service="prod",destination="disk"}`
	svc := `{job="odoo-backup",service="prod"}`
	if v := one(`odoo_backup_catalog_up{job="odoo-backup"}`); v != 1 {
		t.Errorf("odoo_backup_catalog_up = %v, want 1", v)
	}
	if v := one("odoo_backup_last_success_timestamp_seconds" + cfg); math.Abs(v-float64(lastSuccess.UnixNano())/1e9) > 0.001 {
		t.Errorf("last success %v, the catalog says %v", v, lastSuccess)
	}
	if v := one("odoo_backup_failed_backups_total" + cfg); v != 1 {
		t.Errorf("failed backups %v, want 1", v)
	}
	if v := one(`odoo_backup_configuration_state{job="odoo-backup",service="prod",destination="disk",state="failed"}`); v != 1 {
		t.Errorf("state failed = %v, want 1", v)
	}
	if v := one("odoo_backup_configuration_rpo_seconds" + cfg); v < 0 || v > 3600 {
		t.Errorf("configuration RPO %v s, want the age of a backup of minutes ago", v)
	}
	if v := one("odoo_backup_service_rpo_seconds" + svc); v < 0 || v > 3600 {
		t.Errorf("service RPO %v s", v)
	}
	if v := one("odoo_backup_configuration_period_seconds" + cfg); v != 3600 {
		t.Errorf("period %v, want 3600", v)
	}
	if v := one("odoo_backup_last_size_bytes" + cfg); v <= 0 {
		t.Errorf("last size %v", v)
	}
	if v := one(`odoo_backup_destination_held_backups{job="odoo-backup",destination="disk"}`); v != 1 {
		t.Errorf("backups held on disk %v, want 1", v)
	}
	if v := one(`odoo_backup_destination_held_bytes{job="odoo-backup",destination="disk"}`); v != one("odoo_backup_last_size_bytes"+cfg) {
		t.Errorf("bytes held on disk %v, want the one backup's size", v)
	}
	if v := one("odoo_backup_last_drill_success" + svc); v != 1 {
		t.Errorf("last drill success %v, want 1", v)
	}
	if v := one("odoo_backup_last_drill_restore_seconds" + svc); v <= 0 {
		t.Errorf("last drill restore time %v", v)
	}
	if v := one("odoo_backup_service_rto_seconds" + svc); v != one("odoo_backup_last_drill_restore_seconds"+svc) {
		t.Errorf("RTO %v, want the drill's restore time", v)
	}
	if v := one(`odoo_backup_scheduler_lease_held{job="odoo-backup",holder="daemon"}`); v != 1 {
		t.Errorf("scheduler lease held by the daemon: %v, want 1", v)
	}
	// The alert rules of the README fire on this catalog as they should: the
	// configuration fails, the RPO is within twice the period.
	if got, err := prom.Query(ctx, `odoo_backup_configuration_state{state=~"failed|stale|stalled"} == 1`); err != nil || len(got) != 1 {
		t.Errorf("failing configurations: %v %v", got, err)
	}
	if got, err := prom.Query(ctx, `odoo_backup_configuration_rpo_seconds > on(service, destination, host, instance, job) 2 * odoo_backup_configuration_period_seconds`); err != nil || len(got) != 0 {
		t.Errorf("RPO above twice the period: %v %v", got, err)
	}
	// Every query of the Grafana dashboard runs on this Prometheus.
	queries, err := metrics.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		if strings.HasPrefix(q, "label_values(") {
			continue // Grafana's, not PromQL
		}
		if _, err := prom.Query(ctx, metrics.Variables(q)); err != nil {
			t.Errorf("the dashboard's query: %v", err)
		}
	}

	scrape := get(t, "http://"+addr+"/metrics")
	if out, err := prom.CheckMetrics(scrape); err != nil || out != "" {
		t.Errorf("promtool check metrics: %q %v", out, err)
	}
	for _, s := range c.secrets {
		if s != "" && strings.Contains(string(scrape), s) {
			t.Errorf("the metrics hold a secret")
		}
	}
	d.stop()
}

// An address already in use: one sentence that says what to do, the
// backups run all the same, and once the port is free the metrics are
// served. An address that is not this machine's says so too.
func TestMetricsAddressInUse(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "metrics_busy")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk", "--frequency", "hourly")
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := holder.Addr().String()
	d := c.startDaemon("--metrics-listen", addr)
	m := d.await("cannot serve metrics")
	want := fmt.Sprintf("cannot serve metrics: %s is already in use by another process; stop it or give --metrics-listen another port; the backups run meanwhile, and binding is retried with backoff", addr)
	if m["msg"] != want || m["level"] != "WARN" {
		t.Errorf("log line %v, want the warning %q", m, want)
	}
	// The schedules do not wait for the metrics.
	d.await("scheduled run finished")
	var bs []backupJSON
	c.json(&bs, "backups", "prod")
	if len(bs) != 1 || bs[0].Status != "succeeded" {
		t.Errorf("backups while the metrics address is taken: %+v", bs)
	}
	holder.Close()
	d.await("serving metrics")
	if body := get(t, "http://"+addr+"/metrics"); !strings.Contains(string(body), "odoo_backup_catalog_up 1") {
		t.Errorf("metrics once the port is free:\n%.2000s", body)
	}
	d.stop()

	d = c.startDaemon("--metrics-listen", "192.0.2.1:9860")
	m = d.await("cannot serve metrics")
	if s, _ := m["msg"].(string); !strings.Contains(s, "192.0.2.1:9860 is not an address of this machine; give --metrics-listen one of its addresses") {
		t.Errorf("log line %v", m)
	}
	d.stop()
}

// A --metrics-listen value that is no address at all is a usage error, said
// before anything starts.
func TestMetricsListenMalformed(t *testing.T) {
	c := newCLI(t)
	for _, bad := range []string{"9860", "localhost", "127.0.0.1:99999", ":0", ":metrics", "[::1:9860"} {
		c.fails(2, fmt.Sprintf("--metrics-listen %q is not an address to listen on: give HOST:PORT or :PORT", bad), "--daemon", "--metrics-listen", bad)
	}
}

// Each reason an address cannot be had gets its own sentence with what to
// do (a port below 1024 as another user, and a host name that does not
// resolve, cannot be caused by a test running as root on a loopback).
func TestMetricsBindProblem(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EACCES)}, "cannot serve metrics on :80: this user may not listen on that port; give --metrics-listen a port above 1023"},
		{&net.OpError{Op: "listen", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}}, "cannot serve metrics: the host of :80 cannot be resolved; give --metrics-listen an IP address of this machine, or :PORT for all of them"},
		{&net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}, "cannot serve metrics on :80: "},
	} {
		got := metricsBindProblem(":80", tt.err)
		if !strings.HasPrefix(got, tt.want) || !strings.HasSuffix(got, "; the backups run meanwhile, and binding is retried with backoff") || strings.Count(got, ". ") > 0 {
			t.Errorf("metricsBindProblem(%v) = %q, want it to start %q", tt.err, got, tt.want)
		}
	}
}
