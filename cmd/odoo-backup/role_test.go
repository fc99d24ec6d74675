package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// pgCatalog makes a new PostgreSQL database for a catalog and returns its
// name; the CLI's catalog is then that database, as the superuser.
func pgCatalog(t *testing.T, c *cli, name string) string {
	t.Helper()
	pg := servers.Postgres(t)
	ctx := context.Background()
	if err := pg.CreateDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.DropDatabase(context.Background(), name) })
	c.catalog = pg.ConnString(name)
	return name
}

// loggedInAs is the same catalog, logged in as a new database user with a
// password (LOGIN, not a superuser).
func (c *cli) loggedInAs(db, login string) (*cli, string) {
	c.t.Helper()
	pg := servers.Postgres(c.t)
	name := db + "_" + login
	pw, err := pg.EnsureRole(context.Background(), name)
	if err != nil {
		c.t.Fatal(err)
	}
	other := *c
	other.catalog = testbed.ConnString(core.DBConn{Host: pg.Host, Port: pg.Port, User: name, Password: core.Secret(pw), Database: db})
	other.secrets = append(append([]string(nil), c.secrets...), pw)
	return &other, name
}

// catalogRows is every row of the catalog but the audit trail, read as the
// superuser, so a refused command can be shown to have changed nothing.
func catalogRows(t *testing.T, db string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := servers.Postgres(t).Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var b strings.Builder
	for _, table := range []string{"destinations", "services", "configurations", "templates", "template_configurations",
		"backups", "drills", "leases", "schedule_version"} {
		rows, err := conn.Query(ctx, "SELECT * FROM "+table+" ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		rows.Close()
	}
	return b.String()
}

type auditJSON struct {
	Action  string `json:"action"`
	DBUser  string `json:"db_user"`
	Outcome string `json:"outcome"`
	Error   string `json:"error"`
}

// TestRolesOnAPostgresCatalog: every forbidden command tried as a viewer
// and as an operator is refused by the server (the catalog unchanged, the
// refusal audited under the database user), while the operator backs up,
// verifies and downloads for real.
func TestRolesOnAPostgresCatalog(t *testing.T) {
	c := newCLI(t)
	db := pgCatalog(t, c, "roles_cli")
	prod := generate(t, "roles_cli_prod")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("production", prod)
	c.ok("config", "set", "production", "disk")
	var bs []backupJSON
	c.json(&bs, "backup", "production")
	id := itoa(bs[0].ID)

	viewer, viewerName := c.loggedInAs(db, "vera")
	operator, operatorName := c.loggedInAs(db, "otto")
	c.ok("role", "grant", viewerName, "viewer")
	c.ok("role", "grant", operatorName, "operator")
	var members []core.RoleMember
	c.json(&members, "role", "list")
	got := map[string]core.Role{}
	for _, m := range members {
		got[m.User] = m.Role
	}
	if got[viewerName] != core.RoleViewer || got[operatorName] != core.RoleOperator || got["postgres"] != core.RoleOwner {
		t.Errorf("role list gave %v, want %s viewer, %s operator and postgres owner", got, viewerName, operatorName)
	}

	// A viewer sees everything but secrets.
	viewer.ok("service", "list")
	viewer.ok("destination", "list")
	viewer.ok("backups")
	viewer.ok("audit")
	// Neither prints the viewer's password from the catalog URL (run
	// fails the test on any secret).
	for _, args := range [][]string{{"status"}, {"status", "--json"}} {
		if r := viewer.run(args...); r.code > 1 {
			t.Errorf("%s as a viewer: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	download := filepath.Join(c.dir, "got.zip")
	refusals := []struct {
		who  *cli
		user string
		want string
		args []string
	}{
		{viewer, viewerName, "has the viewer role, and backing up needs the operator role", []string{"backup", "production"}},
		{viewer, viewerName, "has the viewer role, and downloading a backup needs the operator role", []string{"download", id, "-o", download}},
		{viewer, viewerName, "has the viewer role, and verifying a backup needs the operator role", []string{"verify", id}},
		{viewer, viewerName, "has the viewer role, and restoring needs the admin role", []string{"restore", id, "--new-db", "roles_cli_copy", "--yes"}},
		{viewer, viewerName, "has the viewer role, and deleting a backup needs the admin role", []string{"delete", id, "--yes"}},
		{viewer, viewerName, "has the viewer role, and the catalog refused to", []string{"config", "set", "production", "disk", "--frequency", "hourly"}},
		{viewer, viewerName, "has the viewer role, and the catalog refused to", []string{"destination", "add", "other", "--dir", c.dir}},
		{viewer, viewerName, "has the viewer role, and the catalog refused to", []string{"role", "grant", viewerName, "admin"}},
		{viewer, viewerName, "has the viewer role, and running a drill needs the operator role", []string{"drill", "production"}},
		{viewer, viewerName, "has the viewer role, and rotating backups needs the operator role", []string{"rotate", "production"}},
		{viewer, viewerName, "has the viewer role, and copying needs the operator role", []string{"copy", id, "--to", "disk"}},
		{viewer, viewerName, "has the viewer role, and the catalog refused to", []string{"template", "add", "standard"}},
		{viewer, viewerName, "has the viewer role, and the catalog refused to", []string{"service", "remove", "production"}},
		{operator, operatorName, "has the operator role, and restoring needs the admin role", []string{"restore", id, "--service", "production", "--yes"}},
		{operator, operatorName, "has the operator role, and copying a service needs the admin role", []string{"service", "copy", "production", "staging", "--db", "roles_cli_staging"}},
		{operator, operatorName, "has the operator role, and the catalog refused to", []string{"template", "add", "standard"}},
		{operator, operatorName, "has the operator role, and the catalog refused to", []string{"destination", "add", "other", "--dir", c.dir}},
		{operator, operatorName, "has the operator role, and the catalog refused to", []string{"config", "remove", "production", "disk"}},
		{operator, operatorName, "has the operator role, and deleting a backup needs the admin role", []string{"delete", id, "--force", "--yes"}},
		{operator, operatorName, "has the operator role, and the catalog refused to", []string{"config", "set", "production", "disk", "--frequency", "hourly"}},
		{operator, operatorName, "has the operator role, and the catalog refused to", []string{"service", "remove", "production"}},
		{operator, operatorName, "has the operator role, and the catalog refused to", []string{"role", "grant", operatorName, "admin"}},
	}
	for _, r := range refusals {
		before := catalogRows(t, db)
		r.who.fails(1, r.want, r.args...)
		if after := catalogRows(t, db); after != before {
			t.Errorf("odoo-backup %s as %s changed the catalog:\nbefore:\n%s\nafter:\n%s", strings.Join(r.args, " "), r.user, before, after)
		}
		var trail []auditJSON
		c.json(&trail, "audit", "--limit", "1")
		if len(trail) != 1 || trail[0].Outcome != "failed" || trail[0].DBUser != r.user || !strings.Contains(trail[0].Error, "role") {
			t.Errorf("odoo-backup %s as %s: last audit entry %+v, want its refusal under %s", strings.Join(r.args, " "), r.user, trail, r.user)
		}
	}
	if _, err := os.Stat(download); err == nil {
		t.Errorf("a viewer's refused download wrote %s", download)
	}
	// The advice names the role to ask for.
	viewer.fails(1, "ask an admin of the catalog to grant you the operator role (odoo-backup role grant "+viewerName+" operator)", "backup", "production")

	// An operator backs up, verifies and downloads.
	operator.json(&bs, "backup", "production")
	if len(bs) != 1 || bs[0].Status != "succeeded" {
		t.Fatalf("operator's backup: %+v, want one succeeded", bs)
	}
	operator.ok("verify", itoa(bs[0].ID))
	operator.ok("download", itoa(bs[0].ID), "-o", download)
	before := catalogRows(t, db)
	operator.fails(1, "has the operator role, and uploading a backup needs the admin role", "upload", download, "--service", "production", "--restore", "--yes", "--neutralize")
	if after := catalogRows(t, db); after != before {
		t.Errorf("a refused upload changed the catalog")
	}

	// The trail names the database users, in text too.
	out := c.ok("audit", "--limit", "3")
	if !strings.Contains(out, "DB USER") || !strings.Contains(out, operatorName) {
		t.Errorf("audit text lacks the database user column or %s:\n%s", operatorName, out)
	}
	c.ok("role", "grant", operatorName, "viewer")
	operator.fails(1, "has the viewer role", "backup", "production")
	c.ok("role", "revoke", operatorName)
	operator.fails(1, "has no role on the catalog", "service", "list")
	c.fails(1, "does not exist", "role", "grant", "nobody_here", "viewer")
	c.fails(2, "not a role", "role", "grant", viewerName, "superuser")
}

// On SQLite there are no roles: one sentence says so, and nothing changes.
func TestRolesNeedPostgres(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"role", "list"}, {"role", "grant", "alice", "viewer"}, {"role", "revoke", "alice"}} {
		c.fails(1, "roles need a catalog kept in PostgreSQL; on an SQLite catalog the file's owner can do everything, and nothing changes", args...)
	}
}

// An operator's daemon runs the schedules: it takes the scheduler's lease,
// catches up on a missed hourly backup, records it and rotates, all with
// the operator's grants.
func TestOperatorDaemonRunsSchedules(t *testing.T) {
	c := newCLI(t)
	db := pgCatalog(t, c, "roles_daemon")
	prod := generate(t, "roles_daemon_prod")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	// On a host of its own: the daemon runs that host's schedules.
	c.addServiceOn("roles-host", "production", prod)
	c.ok("config", "set", "production", "disk", "--frequency", "hourly", "--minute", "0", "--keep", "1")
	// A scheduled backup from two hours ago: the last slot was missed.
	cat, err := store.Open(t.Context(), c.catalog, store.WithKeyFile(filepath.Join(c.dir, "xdg", "odoo-backup", "catalog.key")))
	if err != nil {
		t.Fatal(err)
	}
	e := &core.Engine{Catalog: cat, OpenStore: s3.Open, Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}
	old, err := e.Backup(t.Context(), core.BackupRequest{Service: "production", Kind: core.KindScheduled})
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	operator, operatorName := c.loggedInAs(db, "otto")
	c.ok("role", "grant", operatorName, "operator")
	d := operator.startDaemon("--host-name", "roles-host")
	d.waitFor("scheduled run finished", 1)
	d.stop()
	var bs []backupJSON
	c.json(&bs, "backups", "production")
	if len(bs) != 2 || bs[0].Kind != "scheduled" || bs[0].Status != "succeeded" || bs[1].ID != old[0].ID || bs[1].Status != "rotated" {
		t.Errorf("after the operator's daemon: %+v, want a new scheduled backup and the old one rotated (keep 1)", bs)
	}
	var trail []auditJSON
	c.json(&trail, "audit", "--limit", "5")
	found := false
	for _, a := range trail {
		found = found || a.Action == "backup" && a.Outcome == "ok" && a.DBUser == operatorName
	}
	if !found {
		t.Errorf("no successful backup by %s in the trail: %+v\n%s", operatorName, trail, d.history())
	}
}
