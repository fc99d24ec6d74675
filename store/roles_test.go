package store

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// openAsRole opens the catalog at target as a new login role (made by the
// test bed, LOGIN with a password, no superuser) that the owner catalog
// grants role to.
func openAsRole(t *testing.T, owner *Catalog, target, login string, role core.Role) (*Catalog, string) {
	t.Helper()
	ctx := context.Background()
	pg := servers.Postgres(t)
	u, err := url.Parse(target)
	must(t, err)
	db := strings.TrimPrefix(u.Path, "/")
	name := db + "_" + login
	pw, err := pg.EnsureRole(ctx, name)
	must(t, err)
	must(t, owner.GrantRole(ctx, name, role))
	c, err := Open(ctx, testbed.ConnString(core.DBConn{Host: pg.Host, Port: pg.Port, User: name, Password: core.Secret(pw), Database: db}),
		WithClock(tickingClock()), WithKeyFile(owner.keys.path))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c, name
}

// forbidden wants err to be the server's refusal, named with role.
func forbidden(t *testing.T, err error, role core.Role, need core.Role) {
	t.Helper()
	if !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("got error %v, want one wrapping core.ErrForbidden", err)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Errorf("got error %v, want the server's insufficient_privilege (42501) inside it", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "the "+string(role)+" role") || !strings.Contains(msg, "needs the "+string(need)+" role") {
		t.Errorf("got message %q, want it to name the %s role the user has and the %s role it needs", msg, role, need)
	}
	if a, ok := core.AdviceOf(err); !ok || a.Action != core.ActionAskForRole || a.Detail != string(need) {
		t.Errorf("got advice %+v, want to ask for the %s role", a, need)
	}
}

// TestRolesEnforcedByTheServer: a viewer and an operator, logged in as
// themselves, call the store directly (no client check in between): the
// server refuses what their grants do not allow, the catalog is unchanged,
// the refusal of a change is audited with the database user, and a viewer
// never reads a secret, not even with raw SQL. On SQLite there are no
// roles: the file's owner can do everything.
func TestRolesEnforcedByTheServer(t *testing.T) {
	ctx := context.Background()
	target := catalogTarget(t)
	owner, err := Open(ctx, target, WithClock(tickingClock()), WithKeyFile(filepath.Join(t.TempDir(), "catalog.key")))
	must(t, err)
	t.Cleanup(func() { owner.Close() })
	if !onPostgres(t) {
		if r := owner.Role(); r.Role != core.RoleOwner {
			t.Errorf("got role %q on SQLite, want owner", r.Role)
		}
		err := owner.GrantRole(ctx, "alice", core.RoleViewer)
		if err == nil || !strings.Contains(err.Error(), "roles need a catalog kept in PostgreSQL") {
			t.Errorf("got %v, want the sentence that roles need PostgreSQL", err)
		}
		must(t, owner.Permit(ctx, core.ActionRestore, core.RoleAdmin))
		return
	}
	s3 := core.Destination{Name: "s3", Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: "minio:9000", Bucket: "b", AccessKey: "AK", SecretKey: "top-secret"}}
	must(t, owner.AddDestination(ctx, &s3))
	svc := core.Service{Name: "prod", DB: core.DBConn{Host: "localhost", Port: 5432, User: "odoo", Password: "db-secret", Database: "prod"}}
	must(t, owner.AddService(ctx, &svc, ""))
	setConfig(t, owner, "prod", "s3", true)
	done := addBackup(t, owner, "prod", "s3", core.KindManual, core.StatusSucceeded)

	viewer, viewerName := openAsRole(t, owner, target, "vera", core.RoleViewer)
	operator, operatorName := openAsRole(t, owner, target, "otto", core.RoleOperator)
	if r := viewer.Role(); r.Role != core.RoleViewer || r.User != viewerName {
		t.Errorf("got %+v, want %s as viewer", r, viewerName)
	}
	if r := operator.Role(); r.Role != core.RoleOperator {
		t.Errorf("got %+v, want operator", r)
	}

	// A viewer lists everything but reads no secret.
	dests, err := viewer.Destinations(ctx)
	must(t, err)
	if len(dests) != 1 || dests[0].S3.AccessKey != "AK" {
		t.Fatalf("viewer listed %+v, want destination s3 with its access key", dests)
	}
	if _, err := dests[0].S3.SecretKey.Resolve("the secret key"); !errors.Is(err, core.ErrForbidden) || !strings.Contains(err.Error(), "viewer role") {
		t.Errorf("viewer resolved the secret key: %v, want a refusal naming the viewer role", err)
	}
	// It sees which secrets are set, and references, which are not secret.
	ref, err := core.SecretRef("env:S3_SECRET")
	must(t, err)
	byRef := core.Destination{Name: "s3-ref", Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: "minio:9000", Bucket: "c", SecretKey: ref}}
	must(t, owner.AddDestination(ctx, &byRef))
	addLocal(t, owner, "disk")
	for name, want := range map[string]func(d core.Destination) bool{
		"s3": func(d core.Destination) bool {
			return d.S3.SecretKey.IsSet() && !d.S3.SecretKey.IsValue() && !d.Encrypt.Passphrase.IsSet()
		},
		"s3-ref": func(d core.Destination) bool { return d.S3.SecretKey.Ref() == "env:S3_SECRET" },
		"disk":   func(d core.Destination) bool { return !d.S3.SecretKey.IsSet() && !d.Encrypt.Passphrase.IsSet() },
	} {
		d, err := viewer.Destination(ctx, name)
		must(t, err)
		if !want(d) {
			t.Errorf("viewer read destination %s as %+v: wrong secrets", name, d)
		}
	}
	svcs, err := viewer.Services(ctx)
	must(t, err)
	if len(svcs) != 1 || svcs[0].DB.Password.IsValue() {
		t.Errorf("viewer listed %+v, want service prod without its password", svcs)
	}
	for _, q := range []string{`SELECT secret_key FROM destinations`, `SELECT encrypt_passphrase FROM destinations`,
		`SELECT db_password FROM services`, `SELECT * FROM services`} {
		if _, err := viewer.db.DB.ExecContext(ctx, q); !isPgCode(err, "42501") {
			t.Errorf("viewer ran %s: %v, want permission denied", q, err)
		}
	}

	// The viewer's writes, straight to the store.
	viewerWrites := map[string]func() error{
		"add destination": func() error {
			d := core.Destination{Name: "other", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/x"}}
			return viewer.AddDestination(ctx, &d)
		},
		"record a backup": func() error {
			b := core.Backup{Service: "prod", Destination: "s3", Kind: core.KindManual}
			return viewer.CreateBackup(ctx, &b)
		},
		"update a backup": func() error {
			b := done
			b.Error = "changed"
			return viewer.UpdateBackup(ctx, b)
		},
		"set configuration": func() error {
			return viewer.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "s3", Frequency: core.Hourly, Primary: true})
		},
		"remove service": func() error { return viewer.RemoveService(ctx, "prod") },
	}
	for what, op := range viewerWrites {
		t.Run("viewer "+what, func(t *testing.T) {
			before := dump(t, owner)
			forbidden(t, op(), core.RoleViewer, map[bool]core.Role{true: core.RoleOperator, false: core.RoleAdmin}[strings.Contains(what, "backup")])
			if after := dump(t, owner); after != before {
				t.Errorf("catalog changed by a refused %s", what)
			}
		})
	}
	forbidden(t, viewer.Permit(ctx, core.ActionBackup, core.RoleOperator), core.RoleViewer, core.RoleOperator)
	forbidden(t, viewer.Permit(ctx, core.ActionDownload, core.RoleOperator), core.RoleViewer, core.RoleOperator)

	// The refused change is in the trail, as failed, under the viewer's name,
	// written by the server.
	entries, err := owner.Audit(ctx, core.AuditFilter{Service: "prod", Limit: 1})
	must(t, err)
	if len(entries) != 1 || entries[0].Outcome != core.AuditFailed || entries[0].DBUser != viewerName || !strings.Contains(entries[0].Error, "viewer role") {
		t.Errorf("last audit entry of prod is %+v, want a failed one by %s naming the viewer role", entries, viewerName)
	}

	// An operator reads secrets and records backups, but neither deletes
	// one nor changes a configuration.
	od, err := operator.Destination(ctx, "s3")
	must(t, err)
	if v, err := od.S3.SecretKey.Resolve("the secret key"); err != nil || v != "top-secret" {
		t.Errorf("operator resolved the secret key to %q, %v; want it", v, err)
	}
	b := core.Backup{Service: "prod", Destination: "s3", Kind: core.KindManual}
	must(t, operator.CreateBackup(ctx, &b))
	b.Status = core.StatusSucceeded
	must(t, operator.UpdateBackup(ctx, b))
	must(t, operator.Permit(ctx, core.ActionBackup, core.RoleOperator))
	// An id given by a rebuild moves the sequence on (catalog_fill_id's
	// setval), which the operator's grants allow; so are drills.
	given := core.Backup{ID: b.ID + 1000, Service: "prod", Destination: "s3", Kind: core.KindManual, Status: core.StatusSucceeded}
	must(t, operator.CreateBackup(ctx, &given))
	next := core.Backup{Service: "prod", Destination: "s3", Kind: core.KindManual, Status: core.StatusSucceeded}
	must(t, operator.CreateBackup(ctx, &next))
	if next.ID <= given.ID {
		t.Errorf("after id %d was given, the operator's next backup got id %d", given.ID, next.ID)
	}
	// It asks another host for a backup; a viewer may not.
	must(t, operator.SubmitRequest(ctx, &core.Request{Kind: core.RequestBackup, Host: "b", Service: "prod"}))
	forbidden(t, viewer.SubmitRequest(ctx, &core.Request{Kind: core.RequestBackup, Host: "b", Service: "prod"}), core.RoleViewer, core.RoleOperator)
	drill := core.Drill{Service: "prod", BackupID: b.ID, Destination: "s3"}
	must(t, operator.AddDrill(ctx, &drill))
	if drill.ID == 0 {
		t.Error("the operator's drill got no id")
	}
	operatorWrites := map[string]func() error{
		"delete a backup": func() error {
			d := b
			d.Status = core.StatusDeleted
			return operator.UpdateBackup(ctx, d)
		},
		"set configuration": func() error {
			return operator.SetConfiguration(ctx, core.Configuration{Service: "prod", Destination: "s3", Frequency: core.Hourly, Primary: true})
		},
		"update destination": func() error {
			d := od
			d.S3.Bucket = "elsewhere"
			return operator.UpdateDestination(ctx, d)
		},
		"restore": func() error { return operator.Permit(ctx, core.ActionRestore, core.RoleAdmin) },
		"request a restore": func() error {
			return operator.SubmitRequest(ctx, &core.Request{Kind: core.RequestRestore, Host: "b", Service: "prod",
				Params: core.RequestParams{BackupID: b.ID, Target: "prod", Confirmed: true}})
		},
		"request a service copy": func() error {
			return operator.SubmitRequest(ctx, &core.Request{Kind: core.RequestServiceCopy, Host: "b", Service: "prod"})
		},
		"grant a role":     func() error { return operator.GrantRole(ctx, operatorName, core.RoleAdmin) },
		"remove a service": func() error { return operator.RemoveService(ctx, "prod") },
	}
	// A refused request still took a number from its sequence (the id's
	// default comes before the trigger that refuses it): a gap, no change.
	rows := func() string {
		var keep []string
		for _, l := range strings.Split(dump(t, owner), "\n") {
			if !strings.Contains(l, "requests_id_seq") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	for what, op := range operatorWrites {
		t.Run("operator "+what, func(t *testing.T) {
			before := rows()
			forbidden(t, op(), core.RoleOperator, core.RoleAdmin)
			if after := rows(); after != before {
				t.Errorf("catalog changed by a refused %s", what)
			}
		})
	}

	// Nobody rewrites the trail, and nobody forges its database user.
	for _, q := range []string{`UPDATE audit SET error = ''`, `DELETE FROM audit`} {
		for _, c := range []*Catalog{viewer, operator} {
			if _, err := c.db.DB.ExecContext(ctx, q); !isPgCode(err, "42501") {
				t.Errorf("%s ran %s: %v, want permission denied", c.who.user, q, err)
			}
		}
	}
	var forged string
	must(t, viewer.db.DB.QueryRowContext(ctx, `INSERT INTO audit (at, action, db_user) VALUES (1, 'forged', 'mallory') RETURNING db_user`).Scan(&forged))
	if forged != viewerName {
		t.Errorf("an audit entry written with db_user mallory was stored as %q, want %q", forged, viewerName)
	}
}

func isPgCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// TestRoleGrantListRevoke: roles are granted to existing users only, a
// user moved to another role loses the old one, an admin grants roles in
// turn, and a revoked user can no longer open the catalog.
func TestRoleGrantListRevoke(t *testing.T) {
	ctx := context.Background()
	target := catalogTarget(t)
	owner, err := Open(ctx, target, WithClock(tickingClock()), WithKeyFile(filepath.Join(t.TempDir(), "catalog.key")))
	must(t, err)
	t.Cleanup(func() { owner.Close() })
	if !onPostgres(t) {
		if _, err := owner.Roles(ctx); err == nil || !strings.Contains(err.Error(), "on an SQLite catalog the file's owner can do everything") {
			t.Errorf("got %v, want the SQLite sentence", err)
		}
		return
	}
	err = owner.GrantRole(ctx, "nobody_at_all", core.RoleViewer)
	if !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), "CREATE ROLE") {
		t.Errorf("granting to a missing user: %v, want a sentence saying to create it", err)
	}
	admin, adminName := openAsRole(t, owner, target, "boss", core.RoleAdmin)
	pg := servers.Postgres(t)
	u, _ := url.Parse(target)
	bobName := strings.TrimPrefix(u.Path, "/") + "_bob"
	pw, err := pg.EnsureRole(ctx, bobName)
	must(t, err)
	if err := admin.GrantRole(ctx, strings.TrimPrefix(u.Path, "/")+"_viewer", core.RoleAdmin); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("granting a role to one of the catalog's own roles: %v, want it refused as invalid", err)
	}
	// The admin grants, then moves bob.
	must(t, admin.GrantRole(ctx, bobName, core.RoleOperator))
	must(t, admin.GrantRole(ctx, bobName, core.RoleViewer))
	list, err := owner.Roles(ctx)
	must(t, err)
	got := map[string]core.Role{}
	for _, m := range list {
		got[m.User] = m.Role
	}
	if got[adminName] != core.RoleAdmin || got[bobName] != core.RoleViewer || got["postgres"] != core.RoleOwner || len(got) != 3 {
		t.Errorf("got roles %v, want %s admin, %s viewer (moved from operator) and the owner", got, adminName, bobName)
	}
	entries, err := owner.Audit(ctx, core.AuditFilter{Limit: 1})
	must(t, err)
	if len(entries) != 1 || entries[0].Action != core.ActionRoleGrant || entries[0].DBUser != adminName || entries[0].Detail != "viewer" {
		t.Errorf("last audit entry %+v, want the admin's grant of viewer", entries)
	}
	must(t, admin.RevokeRole(ctx, bobName))
	_, err = Open(ctx, testbed.ConnString(core.DBConn{Host: pg.Host, Port: pg.Port, User: bobName, Password: core.Secret(pw), Database: strings.TrimPrefix(u.Path, "/")}),
		WithKeyFile(owner.keys.path))
	if !errors.Is(err, core.ErrForbidden) || !strings.Contains(err.Error(), "has no role on the catalog") {
		t.Errorf("a user without a role opened the catalog: %v, want a refusal saying it has no role", err)
	}
	if err := admin.RevokeRole(ctx, bobName); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("revoking again: %v, want not found", err)
	}

	if err := owner.GrantRole(ctx, "postgres", core.RoleViewer); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "can already do everything") {
		t.Errorf("the owner granting itself a role: %v, want a sentence saying it needs none", err)
	}

	// A catalog whose owner may not create roles (a plain user, owner of
	// its database) says what it needs.
	must(t, pg.EnsureOwner(ctx))
	plainDB := strings.TrimPrefix(u.Path, "/") + "_plain"
	must(t, pg.CreateDatabase(ctx, plainDB))
	t.Cleanup(func() { pg.DropDatabase(context.Background(), plainDB) })
	must(t, pg.Exec(ctx, "postgres", "ALTER DATABASE "+plainDB+" OWNER TO "+pg.Owner))
	plain, err := Open(ctx, testbed.ConnString(pg.OwnerConn(plainDB)), WithKeyFile(owner.keys.path))
	must(t, err)
	t.Cleanup(func() { plain.Close() })
	if r := plain.Role(); r.Role != core.RoleOwner || r.User != pg.Owner {
		t.Errorf("the plain owner of its catalog is %+v, want %s as owner", r, pg.Owner)
	}
	if err := plain.GrantRole(ctx, adminName, core.RoleViewer); !errors.Is(err, core.ErrForbidden) || !strings.Contains(err.Error(), "may not create roles") {
		t.Errorf("granting on a catalog whose owner cannot create roles: %v, want a sentence saying so", err)
	}

	// A schema upgrade by the owner grants the roles their privileges on
	// what it adds: a viewer reads a new table at once.
	viewer, _ := openAsRole(t, owner, target, "vic", core.RoleViewer)
	saved := pgMigrations
	t.Cleanup(func() { pgMigrations = saved })
	pgMigrations = append(append([]string(nil), saved...), `CREATE TABLE role_probe (id BIGINT)`)
	upgraded, err := Open(ctx, target, WithKeyFile(owner.keys.path))
	must(t, err)
	must(t, upgraded.Close())
	if _, err := viewer.db.DB.ExecContext(ctx, `SELECT * FROM role_probe`); err != nil {
		t.Errorf("a viewer reading a table a schema upgrade added: %v", err)
	}
}
