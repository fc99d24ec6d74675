package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/odoo-backup/odoo-backup/core"
)

// Roles on a PostgreSQL catalog are three group roles (NOLOGIN) named after
// the catalog's database, since PostgreSQL's roles belong to the whole
// cluster and several catalogs may share one: <db>_viewer, <db>_operator
// and <db>_admin. Their privileges are PostgreSQL grants, so the server
// itself refuses what a role may not do, whatever the client:
//
//   - viewer: SELECT on every table, but on destinations and services only
//     the columns that are not secrets (column privileges); INSERT into the
//     audit trail, so that a refusal is recorded.
//   - operator: SELECT on everything, secrets included (a backup must reach
//     the database and the destination), and the writes of backing up,
//     rotating, verifying and drilling (operatorWrites).
//   - admin: SELECT, INSERT, UPDATE and DELETE on every table, and every
//     role with its ADMIN OPTION, so that an admin grants roles.
//
// No role may UPDATE or DELETE the audit trail, nor change the schema: the
// catalog's owner (who created its tables) migrates it. The owner creates
// the group roles and their grants with its first role grant (SetupRoles,
// which needs CREATEROLE), and grants them again after every schema
// upgrade, so that a new table gets its privileges.

// identity is who this catalog's connections log in as, and what they may do.
type identity struct {
	user   string
	role   core.Role
	prefix string // the group roles' prefix: the database's name
}

// operatorWrites are the privileges an operator has beyond reading: what
// backups, rotations, drills and the scheduler's lease write. A table that
// is not here (nor the audit trail) is written by admins only.
var operatorWrites = map[string]string{
	"backups": "INSERT, UPDATE",
	"drills":  "INSERT, UPDATE",
	"leases":  "INSERT, UPDATE, DELETE",
	// A daemon records its life, and claims and reports the requests
	// for its host; an operator requests backups and drills of another
	// host (a trigger keeps restores and service copies to admins).
	"hosts":    "INSERT, UPDATE",
	"requests": "INSERT, UPDATE",
	// A daemon (or an operator's command) times the restores it runs,
	// and records the notifications it sends and the state they told.
	"restores":          "INSERT",
	"notify_deliveries": "INSERT",
	"notify_state":      "INSERT, UPDATE",
	// A backup to a locking destination records how long its pool's
	// objects are locked. Hooks (service_hooks) run commands on the
	// hosts: admins only.
	"pool_locks": "INSERT, UPDATE",
}

// secretColumns are the columns a viewer may not read.
var secretColumns = map[string][]string{
	"destinations": {"secret_key", "encrypt_passphrase"},
	"services":     {"db_password"},
	// The URL of a ping or a channel is its credential.
	"configurations":  {"ping_url"},
	"notify_channels": {"url"},
}

// hiddenSecret is what a database user who may not read the secret columns
// reads in their place when a secret value is stored: the catalog selects
// the generated columns *_shown instead (a viewer may read them), which
// hold nothing for no secret and a reference as it is, so that listing
// destinations and services still works and says which secrets are set.
const hiddenSecret = "hidden:role"

var (
	hiddenDestinationCols = strings.NewReplacer("secret_key", "secret_key_shown AS secret_key",
		"encrypt_passphrase", "encrypt_passphrase_shown AS encrypt_passphrase").Replace(destinationCols)
	hiddenServiceCols = strings.Replace(serviceCols, "db_password", "db_password_shown AS db_password", 1)
	hiddenChannelCols = strings.Replace(notifyChannelCols, "url", "url_shown AS url", 1)
	hiddenPingURLCol  = strings.Replace(pingURLCol, "c.ping_url", "c.ping_url_shown", 1)
)

// withoutSecrets is query as a user who may not read the secret columns
// runs it: every read of a destination, a service, a notification channel
// or a configuration's ping URL goes through destinationCols, serviceCols,
// notifyChannelCols or pingURLCol, which it replaces.
func withoutSecrets(hide bool, query string) string {
	if !hide {
		return query
	}
	query = strings.ReplaceAll(query, destinationCols, hiddenDestinationCols)
	query = strings.ReplaceAll(query, notifyChannelCols, hiddenChannelCols)
	query = strings.ReplaceAll(query, pingURLCol, hiddenPingURLCol)
	return strings.ReplaceAll(query, serviceCols, hiddenServiceCols)
}

// hidden is a secret this database user may not read.
func (c *Catalog) hidden(col secretColumn) core.Secret {
	return core.UnreadableSecret(fmt.Sprintf("%s is hidden from database user %s, who has the %s role", col.what, c.who.user, c.who.role),
		core.Advice{Action: core.ActionAskForRole, Detail: string(core.RoleOperator), User: c.who.user})
}

// groupRole is the name of role r's group role on this catalog. A database
// name too long for the suffix is shortened with a hash, so each catalog's
// roles stay its own within PostgreSQL's 63 bytes.
func groupRole(prefix string, r core.Role) string {
	if len(prefix) > 50 {
		sum := sha256.Sum256([]byte(prefix))
		prefix = prefix[:40] + "_" + hex.EncodeToString(sum[:4])
	}
	return prefix + "_" + string(r)
}

func (c *Catalog) groupRoles() []string {
	out := make([]string, len(core.Roles))
	for i, r := range core.Roles {
		out[i] = groupRole(c.who.prefix, r)
	}
	return out
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// pgSchemaVersion reads the schema version of a PostgreSQL catalog without
// writing (0 for a new one), so that a user who may not change the schema
// can open a current catalog.
func (c *Catalog) pgSchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	if err := c.db.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var current int
	if err := c.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, err
	}
	if current > len(pgMigrations) {
		return 0, core.Userf(core.ErrInvalid, "catalog %s was written by a newer odoo-backup (schema version %d, this one knows %d); upgrade odoo-backup", c.path, current, len(pgMigrations))
	}
	return current, nil
}

// identify reads who this catalog's connections are and what they may do,
// once the schema is current: the owner of its tables (or a superuser) can
// do everything; anyone else has the strongest of the catalog's group roles
// they are a member of, or none.
func (c *Catalog) identify(ctx context.Context) error {
	var (
		owner, canSeeSecrets bool
		db                   string
	)
	err := c.db.QueryRowContext(ctx, `SELECT session_user::text, current_database()::text,
		COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)
			OR COALESCE((SELECT pg_has_role(session_user, relowner, 'USAGE') FROM pg_class WHERE oid = to_regclass('destinations')), false),
		COALESCE((SELECT has_column_privilege(oid, 'secret_key', 'SELECT') FROM pg_class WHERE oid = to_regclass('destinations')), true)`).
		Scan(&c.who.user, &db, &owner, &canSeeSecrets)
	if err != nil {
		return c.dbError("read the database user's role", err)
	}
	c.who.prefix = db
	c.who.role = core.RoleNone
	if owner {
		c.who.role = core.RoleOwner
	} else {
		rows, err := c.db.QueryContext(ctx, `SELECT r.rolname FROM pg_roles r
			WHERE r.rolname IN (?, ?, ?) AND pg_has_role(session_user, r.oid, 'MEMBER')`, anys(c.groupRoles())...)
		if err != nil {
			return c.dbError("read the database user's role", err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return c.dbError("read the database user's role", err)
			}
			for _, r := range core.Roles {
				if name == groupRole(c.who.prefix, r) && r.Allows(c.who.role) {
					c.who.role = r
				}
			}
		}
		if err := rows.Err(); err != nil {
			return c.dbError("read the database user's role", err)
		}
	}
	c.db.hide = !canSeeSecrets
	return nil
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// afterMigrate follows a schema upgrade by the owner with the grants of the
// group roles, when someone set them up: a new table gets its privileges.
func (c *Catalog) afterMigrate(ctx context.Context) error {
	if !c.schemaChanged || c.who.role != core.RoleOwner {
		return nil
	}
	exist, err := c.groupRolesExist(ctx)
	if err != nil || !exist {
		return err
	}
	return c.SetupRoles(ctx)
}

func (c *Catalog) groupRolesExist(ctx context.Context) (bool, error) {
	var n int
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_roles WHERE rolname IN (?, ?, ?)`, anys(c.groupRoles())...).Scan(&n); err != nil {
		return false, c.dbError("read the catalog's roles", err)
	}
	return n == len(core.Roles), nil
}

// errNoRoles is what every role operation says on SQLite.
func errNoRoles() error {
	return core.Userf(core.ErrInvalid, "roles need a catalog kept in PostgreSQL; on an SQLite catalog the file's owner can do everything, and nothing changes")
}

// Role is the database user this catalog logs in as and its role: on SQLite
// the operating-system user, who owns the file and can do everything.
func (c *Catalog) Role() core.RoleMember {
	if !c.db.pg {
		return core.RoleMember{User: core.CurrentActor().User, Role: core.RoleOwner}
	}
	return core.RoleMember{User: c.who.user, Role: c.who.role}
}

// SetupRoles creates the catalog's three group roles if missing and grants
// each its privileges, again, from nothing: it is idempotent, and what a
// role may do is exactly what this says after it. Only the owner of the
// catalog's tables can grant on them, and creating the roles needs
// CREATEROLE (or a superuser).
func (c *Catalog) SetupRoles(ctx context.Context) error {
	if !c.db.pg {
		return errNoRoles()
	}
	if c.who.role != core.RoleOwner {
		return core.Userf(core.ErrForbidden, "database user %s does not own the catalog %s, and only its owner sets up its roles", c.who.user, c.path)
	}
	groups := c.groupRoles()
	viewer, operator, admin := ident(groups[0]), ident(groups[1]), ident(groups[2])
	all := viewer + ", " + operator + ", " + admin
	return c.write(ctx, "set up the catalog's roles", func(tx *txn) error {
		for _, g := range groups {
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?)`, g).Scan(&exists); err != nil {
				return err
			}
			if exists {
				continue
			}
			if _, err := tx.ExecContext(ctx, `CREATE ROLE `+ident(g)+` NOLOGIN`); err != nil {
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "42501" {
					return core.Userf(core.ErrForbidden, "database user %s may not create roles, so the roles of the catalog %s were not set up; give it CREATEROLE, or grant the first role as a superuser", c.who.user, c.path)
				}
				return err
			}
		}
		tables, err := schemaTables(ctx, tx)
		if err != nil {
			return err
		}
		// PUBLIC may connect and use the schema unless an administrator
		// revoked it; the owner of the database and of the schema grant
		// them again to the roles.
		var ownsDatabase, ownsSchema bool
		if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT pg_has_role(datdba, 'USAGE') FROM pg_database WHERE datname = current_database()),
			(SELECT pg_has_role(nspowner, 'USAGE') FROM pg_namespace WHERE nspname = ?)`, currentSchema).Scan(&ownsDatabase, &ownsSchema); err != nil {
			return err
		}
		var stmts []string
		if ownsDatabase {
			stmts = append(stmts, `GRANT CONNECT ON DATABASE `+ident(c.who.prefix)+` TO `+all)
		}
		if ownsSchema {
			stmts = append(stmts, `GRANT USAGE ON SCHEMA `+ident(currentSchema)+` TO `+all)
		}
		stmts = append(stmts,
			`REVOKE ALL ON ALL TABLES IN SCHEMA `+ident(currentSchema)+` FROM `+all,
			`REVOKE ALL ON ALL SEQUENCES IN SCHEMA `+ident(currentSchema)+` FROM `+all,
			`GRANT SELECT ON ALL TABLES IN SCHEMA `+ident(currentSchema)+` TO `+operator,
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA `+ident(currentSchema)+` TO `+admin,
			`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA `+ident(currentSchema)+` TO `+admin,
			// The trail is appended to, never rewritten; the schema is the
			// owner's.
			`REVOKE UPDATE, DELETE ON audit FROM `+admin,
			`REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM `+admin,
			`GRANT INSERT ON audit TO `+all,
			`GRANT USAGE ON SEQUENCE audit_id_seq TO `+viewer+`, `+operator,
		)
		for _, t := range tables {
			if privs, ok := operatorWrites[t]; ok {
				stmts = append(stmts, `GRANT `+privs+` ON `+ident(t)+` TO `+operator)
				// A table without an id column (leases) has no sequence.
				var seq sql.NullString
				err := tx.QueryRowContext(ctx, `SELECT pg_get_serial_sequence(?, 'id') FROM pg_attribute
					WHERE attrelid = to_regclass(?) AND attname = 'id' AND NOT attisdropped`, currentSchema+"."+t, currentSchema+"."+t).Scan(&seq)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				if seq.Valid {
					stmts = append(stmts, `GRANT USAGE, UPDATE ON SEQUENCE `+seq.String+` TO `+operator)
				}
			}
			hidden, ok := secretColumns[t]
			if !ok {
				stmts = append(stmts, `GRANT SELECT ON `+ident(t)+` TO `+viewer)
				continue
			}
			cols, err := tableColumns(ctx, tx, t)
			if err != nil {
				return err
			}
			var visible []string
			for _, col := range cols {
				if !slices.Contains(hidden, col) {
					visible = append(visible, ident(col))
				}
			}
			stmts = append(stmts, `GRANT SELECT (`+strings.Join(visible, ", ")+`) ON `+ident(t)+` TO `+viewer)
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
}

// currentSchema is where the catalog's tables are: the schema the catalog's
// connections create them in.
const currentSchema = "public"

func schemaTables(ctx context.Context, tx *txn) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT tablename::text FROM pg_tables WHERE schemaname = ? ORDER BY tablename`, currentSchema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func tableColumns(ctx context.Context, tx *txn, table string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT attname::text FROM pg_attribute
		WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, currentSchema+"."+table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			return nil, err
		}
		out = append(out, col)
	}
	return out, rows.Err()
}

// GrantRole makes the database user a member of role's group role on this
// catalog, and of no other: moving a user from one role to another revokes
// the old one. An admin gets each role WITH ADMIN OPTION, to grant it in
// turn. The user must exist: the catalog creates no login, since its
// password is the server administrator's business. The owner sets up the
// roles first (SetupRoles); anyone else needs an admin's ADMIN OPTION,
// which the server checks.
func (c *Catalog) GrantRole(ctx context.Context, user string, role core.Role) error {
	if !c.db.pg {
		return errNoRoles()
	}
	if _, err := core.ParseRole(string(role)); err != nil {
		return err
	}
	if err := c.prepareRoles(ctx); err != nil {
		return err
	}
	a := &core.AuditEntry{Action: core.ActionRoleGrant, Target: "database user " + user, Detail: string(role)}
	return c.change(ctx, fmt.Sprintf("grant the %s role to database user %s", role, user), a, func(tx *txn) error {
		if err := loginExists(ctx, tx, user); err != nil {
			return err
		}
		if slices.Contains(c.groupRoles(), user) {
			return core.Userf(core.ErrInvalid, "%s is one of the catalog's own group roles; grant roles to database users that log in", user)
		}
		if user == c.who.user && c.who.role == core.RoleOwner {
			return core.Userf(core.ErrInvalid, "database user %s owns the catalog %s and can already do everything; grant roles to other users", user, c.path)
		}
		groups := c.groupRoles()
		if err := c.revokeAll(ctx, tx, user); err != nil {
			return err
		}
		grant := `GRANT ` + ident(groupRole(c.who.prefix, role)) + ` TO ` + ident(user)
		if role == core.RoleAdmin {
			grant = `GRANT ` + identList(groups) + ` TO ` + ident(user) + ` WITH ADMIN OPTION`
		}
		_, err := tx.ExecContext(ctx, grant)
		return err
	})
}

// RevokeRole takes every role of this catalog from the database user.
func (c *Catalog) RevokeRole(ctx context.Context, user string) error {
	if !c.db.pg {
		return errNoRoles()
	}
	if err := c.prepareRoles(ctx); err != nil {
		return err
	}
	a := &core.AuditEntry{Action: core.ActionRoleRevoke, Target: "database user " + user}
	return c.change(ctx, fmt.Sprintf("revoke the roles of database user %s", user), a, func(tx *txn) error {
		if err := loginExists(ctx, tx, user); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
			JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = ? AND g.rolname IN (?, ?, ?)`,
			append([]any{user}, anys(c.groupRoles())...)...).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return core.Userf(core.ErrNotFound, "database user %s has no role on the catalog %s", user, c.path)
		}
		return c.revokeAll(ctx, tx, user)
	})
}

// revokeAll takes the catalog's roles from user. PostgreSQL 16 and later
// revoke only the grants this user made (others stay, with a warning):
// what is left is said, not passed over.
func (c *Catalog) revokeAll(ctx context.Context, tx *txn, user string) error {
	if _, err := tx.ExecContext(ctx, `REVOKE `+identList(c.groupRoles())+` FROM `+ident(user)); err != nil {
		return err
	}
	var left []string
	rows, err := tx.QueryContext(ctx, `SELECT g.rolname::text || ' (granted by ' || pg_get_userbyid(m.grantor)::text || ')'
		FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
		WHERE u.rolname = ? AND g.rolname IN (?, ?, ?) ORDER BY 1`, append([]any{user}, anys(c.groupRoles())...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return err
		}
		left = append(left, l)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(left) > 0 {
		return core.Userf(core.ErrForbidden, "database user %s keeps %s, which only whoever granted it or the catalog's owner can revoke", user, joinList(left))
	}
	return nil
}

// prepareRoles makes sure the group roles exist: the owner sets them up
// (again: it is cheap, and repairs grants a hand changed); anyone else finds
// them or is told who can.
func (c *Catalog) prepareRoles(ctx context.Context) error {
	if c.who.role == core.RoleOwner {
		return c.SetupRoles(ctx)
	}
	exist, err := c.groupRolesExist(ctx)
	if err != nil {
		return err
	}
	if !exist {
		return core.Userf(core.ErrNotFound, "the catalog %s has no roles yet; its owner creates them by granting the first role", c.path)
	}
	return nil
}

func identList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ident(n)
	}
	return strings.Join(out, ", ")
}

func loginExists(ctx context.Context, tx *txn, user string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_roles WHERE rolname = ?`, user).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return core.Userf(core.ErrNotFound, "database user %s does not exist; a PostgreSQL superuser creates it first (CREATE ROLE %s LOGIN PASSWORD '…'), then it can be granted a role", user, ident(user))
	}
	return nil
}

// Roles lists the database users with a role on this catalog, by name, and
// the owner of the catalog's tables. A user who holds several of the
// catalog's group roles (an admin holds all three) has the strongest.
func (c *Catalog) Roles(ctx context.Context) ([]core.RoleMember, error) {
	if !c.db.pg {
		return nil, errNoRoles()
	}
	var out []core.RoleMember
	err := c.read(ctx, "list the catalog's roles", func(tx *txn) error {
		var owner string
		if err := tx.QueryRowContext(ctx, `SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = to_regclass('destinations')`).Scan(&owner); err != nil {
			return err
		}
		out = append(out, core.RoleMember{User: owner, Role: core.RoleOwner})
		rows, err := tx.QueryContext(ctx, `SELECT u.rolname::text, g.rolname::text FROM pg_auth_members m
			JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
			WHERE g.rolname IN (?, ?, ?) ORDER BY u.rolname`, anys(c.groupRoles())...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var user, group string
			if err := rows.Scan(&user, &group); err != nil {
				return err
			}
			var role core.Role
			for _, r := range core.Roles {
				if group == groupRole(c.who.prefix, r) {
					role = r
				}
			}
			if n := len(out); out[n-1].User == user {
				if role.Allows(out[n-1].Role) {
					out[n-1].Role = role
				}
				continue
			}
			out = append(out, core.RoleMember{User: user, Role: role})
		}
		return rows.Err()
	})
	return out, err
}

// Permit asks the server whether this database user may do action, which
// needs role need, before anything is done (see core.Gate): it runs a
// statement that only that role's grants allow, on no row, and the server
// answers. On SQLite everything is permitted.
func (c *Catalog) Permit(ctx context.Context, action string, need core.Role) error {
	if !c.db.pg || c.who.role == core.RoleOwner {
		return nil
	}
	probe := `UPDATE backups SET phase = phase WHERE 1 = 0`
	if need == core.RoleAdmin {
		probe = `DELETE FROM backups WHERE 1 = 0`
	}
	_, err := c.db.DB.ExecContext(ctx, probe)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		return core.Advise(core.Advice{Action: core.ActionAskForRole, Detail: string(need), User: c.who.user}, &refusal{op: core.Doing(action), pe: pe},
			"%s", core.RoleRefusal(c.who.user, c.who.role, core.Doing(action), need))
	}
	if err != nil {
		return c.dbError("check the role of database user "+c.who.user, err)
	}
	return nil
}

// refusal is the server's insufficient_privilege answer to op, before the
// catalog says who was refused and what role it needs (Catalog.refused).
type refusal struct {
	op string
	pe *pgconn.PgError
}

func (r *refusal) Error() string {
	return fmt.Sprintf("%s: the catalog refused it (%s)", r.op, r.pe.Message)
}

func (r *refusal) Unwrap() []error { return []error{core.ErrForbidden, r.pe} }

// refused turns the server's refusal in err into the sentence that names
// this user's role and the role the operation needs; any other error passes.
func (c *Catalog) refused(err error) error {
	var r *refusal
	if !errors.As(err, &r) {
		return err
	}
	var ue *core.UserError
	if errors.As(err, &ue) && ue.Advice.Action == core.ActionAskForRole {
		return err // already said
	}
	need := core.RoleAdmin
	table := strings.TrimPrefix(r.pe.Message, "permission denied for table ")
	if _, ok := operatorWrites[table]; ok && !c.who.role.Allows(core.RoleOperator) {
		need = core.RoleOperator
	}
	if _, ok := secretColumns[table]; ok && !c.who.role.Allows(core.RoleOperator) && strings.HasPrefix(r.op, "read") {
		need = core.RoleOperator
	}
	who := fmt.Sprintf("database user %s has the %s role", c.who.user, c.who.role)
	if c.who.role == core.RoleNone || c.who.role == "" {
		who = fmt.Sprintf("database user %s has no role on this catalog", c.who.user)
	}
	return core.Advise(core.Advice{Action: core.ActionAskForRole, Detail: string(need), User: c.who.user}, r,
		"%s, and the catalog refused to %s: that needs the %s role", who, r.op, need)
}

// openRefusal says why opening the catalog was refused: a user with no role
// cannot read it, and only the owner upgrades its schema.
func openRefusal(u *url.URL, path string, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		return err
	}
	user := u.User.Username()
	if strings.Contains(pe.Message, "schema_migrations") {
		return core.Advise(core.Advice{Action: core.ActionAskForRole, Detail: string(core.RoleViewer), User: user}, &refusal{op: "open the catalog", pe: pe},
			"database user %s has no role on the catalog %s, so it may not read it", user, path)
	}
	return core.Userf(&refusal{op: "upgrade the catalog's schema", pe: pe},
		"the catalog %s needs a schema upgrade that only its owner may make, and database user %s does not own it; open it once as its owner with this version", path, user)
}
