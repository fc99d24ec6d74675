package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// TestServiceAddNameFirst: a name the catalog cannot hold is said before
// anything tries to connect (no PostgreSQL flags given, none listening).
func TestServiceAddNameFirst(t *testing.T) {
	c := newCLI(t)
	r := c.run("service", "add", "my shop")
	if r.code != 2 || !strings.Contains(r.stderr, `service name "my shop" is not allowed`) || strings.Contains(r.stderr, "PostgreSQL") {
		t.Fatalf("service add \"my shop\": exit %d, stderr %q; want 2 and the name's rule, not a connection error", r.code, r.stderr)
	}
	r = c.run("service", "add", "my shop", "--from-odoo-conf", filepath.Join(c.dir, "missing.conf"))
	if r.code != 2 || !strings.Contains(r.stderr, `"my shop" is not allowed`) {
		t.Fatalf("service add \"my shop\" --from-odoo-conf: exit %d, stderr %q; want the name's rule first", r.code, r.stderr)
	}
}

// TestServicesShareNothing: a second service on the same database (same
// server, however it is spelled) or filestore is refused, naming the other
// service, unless --force; service update applies the same rule.
func TestServicesShareNothing(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	t.Setenv("TEST_PG_PASSWORD", pg.Password)
	conn := []string{"--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port), "--pg-user", pg.User, "--pg-password-env", "TEST_PG_PASSWORD"}
	fsProd := filepath.Join(c.dir, "filestore", "postgres")
	c.ok(append([]string{"service", "add", "prod", "--db", "postgres", "--filestore", fsProd}, conn...)...)

	c.fails(1, "service prod already uses the database postgres on "+pg.Host+fmt.Sprintf(":%d", pg.Port)+", so twin was not added",
		append([]string{"service", "add", "twin", "--db", "postgres", "--filestore", filepath.Join(c.dir, "twin")}, conn...)...)
	if pg.Host == "127.0.0.1" || pg.Host == "localhost" {
		c.fails(1, "service prod already uses the database postgres", "service", "add", "twin", "--db", "postgres", "--pg-host", "localhost",
			"--pg-port", fmt.Sprint(pg.Port), "--filestore", filepath.Join(c.dir, "twin"), "--no-check")
	}
	c.fails(1, "service prod already uses the filestore "+fsProd+", so other was not added",
		"service", "add", "other", "--db", "otherdb", "--filestore", fsProd, "--no-check")
	c.fails(1, "service prod already uses the filestore "+fsProd,
		"service", "add", "other", "--db", "otherdb", "--filestore", filepath.Dir(fsProd), "--no-check")
	if out := c.ok("service", "list"); strings.Contains(out, "twin") || strings.Contains(out, "other") {
		t.Fatalf("refused services were added:\n%s", out)
	}

	// Told so explicitly, it is added (and checked against the real server).
	out := c.ok(append([]string{"service", "add", "twin", "--db", "postgres", "--filestore", filepath.Join(c.dir, "twin"), "--force"}, conn...)...)
	if !strings.Contains(out, "Service twin added") {
		t.Errorf("service add --force: %s", out)
	}

	// Sharing allowed once is not refused again at each change.
	c.ok("service", "update", "twin", "--pg-user", "someone", "--no-check")

	// An update that moves a service onto prod's server is refused too.
	c.ok("service", "add", "far", "--db", "postgres", "--pg-host", "db.invalid", "--pg-port", "1", "--filestore", filepath.Join(c.dir, "far"), "--no-check")
	c.fails(1, "service prod already uses the database postgres", "service", "update", "far", "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port), "--no-check")
	c.ok("service", "update", "far", "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port), "--no-check", "--force")
}

// TestPlaceholderShowsNoConnection: a placeholder service left by a catalog
// rebuild has no server; list and status say so instead of ":0".
func TestPlaceholderShowsNoConnection(t *testing.T) {
	c := newCLI(t)
	cat, err := store.Open(context.Background(), c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	err = cat.AddService(context.Background(), &core.Service{Name: "shop", Placeholder: true, DB: core.DBConn{Database: "shop_db"}}, "")
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := c.ok("service", "list")
	if strings.Contains(out, ":0") || !strings.Contains(out, "no connection yet (give it one with: odoo-backup service add shop --db DB ...)") {
		t.Errorf("service list with a placeholder:\n%s", out)
	}
	out = c.ok("status")
	if strings.Contains(out, ":0") || !strings.Contains(out, "no connection yet: give it one with odoo-backup service add shop --db DB") {
		t.Errorf("status with a placeholder:\n%s", out)
	}
	var rep statusReport
	c.json(&rep, "status")
	if len(rep.Services) != 1 || !rep.Services[0].Placeholder {
		t.Errorf("status --json: %+v, want shop marked placeholder", rep.Services)
	}
}
