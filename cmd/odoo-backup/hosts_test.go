package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// onHost runs a command as host does (--host-name host). The name is the
// process's for the commands run in it after, too: the cleanup gives this
// test process its own name back.
func (c *cli) onHost(host string, args ...string) result {
	c.t.Helper()
	c.t.Cleanup(func() { core.SetHostName("") })
	return c.run(append([]string{"--host-name", host}, args...)...)
}

// statusOn is status --json as seen from host.
func (c *cli) statusOn(host string) (statusReport, int, string) {
	c.t.Helper()
	r := c.onHost(host, "status", "--json")
	var st statusReport
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		c.t.Fatalf("status --json on %s: %v\n%s%s", host, err, r.stdout, r.stderr)
	}
	return st, r.code, r.stdout + r.stderr
}

// healthOf maps each service to its health and first configuration's reason.
func healthOf(st statusReport) map[string]string {
	out := map[string]string{}
	for _, s := range st.Services {
		h := s.Host + " " + s.Health
		if len(s.Configurations) > 0 && s.Configurations[0].Reason != "" {
			h += ": " + s.Configurations[0].Reason
		}
		out[s.Name] = h
	}
	return out
}

func daemonsOf(st statusReport) string {
	var out []string
	for _, h := range st.Daemons {
		out = append(out, h.Name+":"+h.Daemon)
	}
	return strings.Join(out, " ")
}

// Three hosts on one PostgreSQL catalog, each daemon a process of its own:
// each backs up its own host's services only; kill -9 of b's daemon fails
// b's services (and status) from any host, a's and c's stay ok; b's daemon
// back makes status ok again; daemons stopped cleanly leave a warning.
func TestThreeHostsOnOnePostgresCatalog(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	if err := pg.CreateDatabase(t.Context(), "fleet_three_hosts"); err != nil {
		t.Fatal(err)
	}
	c.catalog = pg.ConnString("fleet_three_hosts")
	t.Setenv("TEST_PG_PASSWORD", pg.Password)
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	hosts := []string{"a", "b", "c"}
	for i, h := range hosts {
		odoo, err := testbed.GenerateOdoo(t.Context(), pg, "fleet_"+h, filepath.Join(t.TempDir(), "odoo"), testbed.OdooOptions{Seed: int64(10 + i)})
		if err != nil {
			t.Fatal(err)
		}
		c.ok("service", "add", "svc-"+h, "--host", h, "--db", odoo.Name, "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port),
			"--pg-user", pg.User, "--pg-password-env", "TEST_PG_PASSWORD", "--filestore", odoo.FilestoreDir)
		// Never backed up: overdue, so each daemon catches up at its start.
		c.ok("config", "set", "svc-"+h, "disk", "--frequency", "hourly", "--minute", "0", "--keep", "5")
	}

	daemons := map[string]*daemonProc{}
	for _, h := range hosts {
		daemons[h] = c.startDaemon("--host-name", h)
	}
	for _, h := range hosts {
		d := daemons[h]
		d.waitFor("scheduled run finished", 1)
		for _, m := range d.seen {
			if m["msg"] == "scheduled backup starting" && m["service"] != "svc-"+h {
				t.Errorf("the daemon of %s backed up %v, a service of another host", h, m["service"])
			}
		}
	}
	var bs []struct {
		Service, Host, Status, Kind string
	}
	c.json(&bs, "backups")
	got := map[string]string{}
	for _, b := range bs {
		got[b.Service] += b.Host + ":" + b.Kind + ":" + b.Status + " "
	}
	for _, h := range hosts {
		if want := h + ":scheduled:succeeded "; got["svc-"+h] != want {
			t.Errorf("backups of svc-%s: %q, want one scheduled backup by host %s", h, got["svc-"+h], h)
		}
	}
	st, code, out := c.statusOn("a")
	if code != 0 || !st.Healthy || daemonsOf(st) != "a:alive b:alive c:alive" {
		t.Fatalf("status with three daemons: exit %d, daemons %s\n%s", code, daemonsOf(st), out)
	}
	for _, h := range hosts {
		if got := healthOf(st)["svc-"+h]; got != h+" ok" {
			t.Errorf("svc-%s: %q, want ok on host %s", h, got, h)
		}
	}
	text := c.onHost("a", "status").stdout
	for _, want := range []string{"Daemons:", "SERVICE  HOST", fmt.Sprintf("daemon pid %d", daemons["b"].cmd.Process.Pid)} {
		if !strings.Contains(text, want) {
			t.Errorf("status should contain %q; it says:\n%s", want, text)
		}
	}

	// b's daemon is killed: on b itself its death shows at once (its pid
	// is gone), from a once its lease goes stale (core.LeaseTTL).
	daemons["b"].kill9()
	check := func(st statusReport, code int, out string) {
		t.Helper()
		if code != 1 || st.Healthy || daemonsOf(st) != "a:alive b:dead c:alive" {
			t.Fatalf("status after b's daemon died: exit %d, daemons %s\n%s", code, daemonsOf(st), out)
		}
		h := healthOf(st)
		if !strings.HasPrefix(h["svc-b"], "b failed: no daemon on host b since ") || h["svc-a"] != "a ok" || h["svc-c"] != "c ok" {
			t.Errorf("after b's daemon died: %q, want svc-b failed for want of a daemon, the others ok", h)
		}
	}
	check(c.statusOn("b"))
	deadline := time.Now().Add(core.LeaseTTL + time.Minute)
	for {
		st, code, out := c.statusOn("a")
		if code != 0 {
			check(st, code, out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status on a still healthy %s after b's daemon was killed:\n%s", core.LeaseTTL+time.Minute, out)
		}
		time.Sleep(time.Second) // the lease goes stale with time itself: nothing to await
	}
	if r := c.onHost("a", "status"); !strings.Contains(r.stdout, "failed: no daemon on host b since ") ||
		!strings.Contains(r.stdout, "start odoo-backup --daemon on b") {
		t.Errorf("status on a after b died says:\n%s", r.stdout)
	}

	// b's daemon is back: status is ok again, from any host.
	daemons["b"] = c.startDaemon("--host-name", "b")
	daemons["b"].waitFor("running the schedules", 1)
	for _, h := range hosts {
		if st, code, out := c.statusOn(h); code != 0 || !st.Healthy || daemonsOf(st) != "a:alive b:alive c:alive" {
			t.Errorf("status on %s with b's daemon back: exit %d\n%s", h, code, out)
		}
	}

	// Stopped on purpose: a warning, no failure, and "since when" stays.
	for _, h := range hosts {
		daemons[h].stop()
	}
	st, code, out = c.statusOn("a")
	if code != 0 || daemonsOf(st) != "a:stopped b:stopped c:stopped" || len(st.Warnings) != 3 ||
		!strings.HasPrefix(st.Warnings[0], "daemon on host a stopped at ") {
		t.Errorf("status after clean stops: exit %d, daemons %s, warnings %q\n%s", code, daemonsOf(st), st.Warnings, out)
	}
}

// A service's host: this host by default, another with --host, moved with
// service update --host (audited); bad host names are refused in one
// sentence.
func TestServiceHostFlag(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "host_flag")
	c.addService("prod", odoo)
	var svcs []core.Service
	c.json(&svcs, "service", "list")
	if len(svcs) != 1 || svcs[0].Host != core.HostName() {
		t.Fatalf("service list --json: %+v, want prod on this host %q", svcs, core.HostName())
	}
	out := c.ok("service", "update", "prod", "--host", "odoo-2")
	if !strings.Contains(out, "Service prod moved from host "+core.HostName()+" to host odoo-2") || strings.Contains(out, "updated: database") {
		t.Errorf("service update --host says %q", out)
	}
	if out := c.ok("service", "list"); !strings.Contains(out, "HOST") || !strings.Contains(out, "prod  odoo-2") {
		t.Errorf("service list:\n%s\nwant prod on odoo-2", out)
	}
	if out := c.ok("service", "update", "prod", "--host", "odoo-2"); !strings.Contains(out, "already on host odoo-2") {
		t.Errorf("a move to the same host says %q", out)
	}
	var audit []core.AuditEntry
	c.json(&audit, "audit", "--service", "prod")
	moves := 0
	for _, e := range audit {
		if strings.HasPrefix(e.Detail, "moved from host "+core.HostName()+" to host odoo-2") {
			moves++
		}
	}
	if moves != 1 {
		t.Errorf("audit of prod: %+v, want the move recorded once", audit)
	}

	staging := generateSeed(t, "host_flag_b", 2)
	pg := servers.Postgres(t)
	c.ok("service", "add", "staging", "--host", "odoo-3", "--db", staging.Name, "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port),
		"--pg-user", pg.User, "--pg-password-env", "TEST_PG_PASSWORD", "--filestore", staging.FilestoreDir)
	c.json(&svcs, "service", "list")
	if len(svcs) != 2 || svcs[1].Name != "staging" || svcs[1].Host != "odoo-3" {
		t.Errorf("service list --json: %+v, want staging on odoo-3", svcs)
	}

	for _, bad := range []string{"", "  ", "two words", "bell\a"} {
		c.fails(2, "--host: ", "service", "update", "prod", "--host", bad)
		c.fails(2, "--host: ", "service", "add", "other", "--db", "other", "--no-check", "--host", bad)
	}
	c.fails(2, "--host-name: ", "--host-name", "tab\there", "status")
	c.json(&svcs, "service", "list")
	if len(svcs) != 2 || svcs[0].Host != "odoo-2" {
		t.Errorf("after refused input: %+v, want prod still on odoo-2 and no new service", svcs)
	}
}
