package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServiceFromOdooConfDBFilter: without --db, service add takes odoo.conf's
// db_name, else the one database on the real server its dbfilter matches
// among those Odoo's role owns, else asks for --db naming the candidates.
func TestServiceFromOdooConfDBFilter(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	ctx := context.Background()
	role, password := "odoo_filter", "filter-pass-7c1"
	c.secrets = append(c.secrets, password)
	if err := pg.Exec(ctx, "postgres", fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, role, password)); err != nil {
		t.Fatal(err)
	}
	dbs := []string{"acme_prod", "acme_prod_old", "acme_staging"}
	t.Cleanup(func() {
		for _, db := range dbs {
			pg.DropDatabase(ctx, db)
		}
		pg.Exec(ctx, "postgres", "DROP ROLE IF EXISTS "+role)
	})
	for _, db := range dbs {
		if err := pg.Exec(ctx, "postgres", fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, db, role)); err != nil {
			t.Fatal(err)
		}
	}
	conf := func(name, extra string) string {
		p := filepath.Join(c.dir, name+".conf")
		os.WriteFile(p, []byte(fmt.Sprintf("[options]\ndb_host = %s\ndb_port = %d\ndb_user = %s\ndb_password = %s\ndata_dir = %s\n%s",
			pg.Host, pg.Port, role, password, filepath.Join(c.dir, name), extra)), 0o600)
		return p
	}

	out := c.ok("service", "add", "prod", "--from-odoo-conf", conf("exact", "dbfilter = ^acme_prod$\n"))
	if want := "Service prod added: database acme_prod on " + fmt.Sprintf("%s:%d", pg.Host, pg.Port) + " as " + role; !strings.Contains(out, want) {
		t.Errorf("service add from dbfilter: %q, want %q", out, want)
	}
	out = c.ok("service", "add", "staging", "--from-odoo-conf", conf("named", "db_name = acme_staging\ndbfilter = ^acme_prod$\n"))
	if !strings.Contains(out, "database acme_staging") {
		t.Errorf("db_name should win over dbfilter: %q", out)
	}
	c.fails(2, `names no single database: its dbfilter "acme_prod" matches 2 databases; give the database with --db (candidates: acme_prod, acme_prod_old)`,
		"service", "add", "two", "--from-odoo-conf", conf("two", "dbfilter = acme_prod\n"))
	c.fails(2, `its dbfilter "^shop$" matches none of the databases odoo_filter owns; give the database with --db (candidates: acme_prod, acme_prod_old, acme_staging)`,
		"service", "add", "none", "--from-odoo-conf", conf("none", "dbfilter = ^shop$\n"))
	c.fails(2, `depends on the host name each request comes by (%h, %d); give the database with --db (candidates: acme_prod, acme_prod_old, acme_staging)`,
		"service", "add", "host", "--from-odoo-conf", conf("host", "dbfilter = ^%d$\n"))
	c.fails(2, "it has neither db_name nor dbfilter; give the database with --db (candidates: acme_prod, acme_prod_old, acme_staging)",
		"service", "add", "bare", "--from-odoo-conf", conf("bare", ""))
	// --db still decides when given.
	c.ok("service", "add", "old", "--from-odoo-conf", conf("two", ""), "--db", "acme_prod_old")
}
