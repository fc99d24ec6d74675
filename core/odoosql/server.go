package odoosql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// DatabaseExists reports whether the server has a database called name.
func DatabaseExists(ctx context.Context, q Querier, name string) (bool, error) {
	var exists bool
	err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	return exists, err
}

// DatabaseOwner is the owner of database db, "" if there is no such
// database.
func DatabaseOwner(ctx context.Context, q Querier, db string) (string, error) {
	var owner string
	err := q.QueryRow(ctx, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", db).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return owner, err
}

// RoleIsSuperuser reports whether role exists and whether it is a
// superuser.
func RoleIsSuperuser(ctx context.Context, q Querier, role string) (super, exists bool, err error) {
	err = q.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = $1", role).Scan(&super)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	return super, err == nil, err
}

// OwnedDatabases lists, as Odoo's database manager does, the databases that
// owner (the connecting user when empty) owns, leaving out templates,
// databases that refuse connections and "postgres".
func OwnedDatabases(ctx context.Context, q Querier, owner string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT datname FROM pg_database
			WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = coalesce(nullif($1, ''), current_user))
			  AND NOT datistemplate AND datallowconn AND datname <> 'postgres'
			ORDER BY datname`, owner)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}
