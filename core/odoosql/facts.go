package odoosql

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what these functions need of a connection: a *pgx.Conn or a
// pgx.Tx (a backup reads in its snapshot's transaction).
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// KeyTables are the tables whose exact row counts a backup records, so a
// restore drill can check the restored database holds the same rows.
var KeyTables = []string{"ir_attachment", "ir_model", "ir_module_module", "ir_ui_view", "mail_message", "res_company", "res_partner", "res_users"}

// RequiredTables must exist in any restored Odoo database; NonEmptyTables
// hold rows in any Odoo database that can start (Odoo's own modules, its
// admin and its company's partner).
var (
	RequiredTables = []string{"ir_attachment", "ir_module_module", "res_partner", "res_users"}
	NonEmptyTables = []string{"ir_module_module", "res_partner", "res_users"}
)

// IsOdoo reports whether the database has the tables every Odoo database
// has: ir_module_module and ir_attachment. Either one being anything but
// a table is an error (see publicTable).
func IsOdoo(ctx context.Context, q Querier) (bool, error) {
	hasModules, err := publicTable(ctx, q, "ir_module_module")
	if err != nil {
		return false, err
	}
	hasAttachments, err := publicTable(ctx, q, "ir_attachment")
	if err != nil {
		return false, err
	}
	return hasModules && hasAttachments, nil
}

// HasAttachments reports whether the database has Odoo's ir_attachment
// table; one that is not a table is an error (see publicTable).
func HasAttachments(ctx context.Context, q Querier) (bool, error) {
	return publicTable(ctx, q, "ir_attachment")
}

// CheckKeyTables returns a NotATableError for the first key table that
// exists but is not a table.
func CheckKeyTables(ctx context.Context, q Querier) error {
	for _, t := range KeyTables {
		if _, err := publicTable(ctx, q, t); err != nil {
			return err
		}
	}
	return nil
}

// NotATableError says that a relation Odoo keeps as a table is something
// else in this database, a view say.
type NotATableError struct {
	Name, Kind string
}

func (e *NotATableError) Error() string {
	return fmt.Sprintf("public.%s is a %s, not a table as in any Odoo database", e.Name, e.Kind)
}

// publicTable reports whether public.name exists, and refuses it when it
// is not a plain (or partitioned) table. A view reads by running the
// functions its definition calls, with the rights of whoever reads it: the
// service's superuser, for a backup. An Odoo database has no view under
// the name of one of its tables, so one there comes from a hostile dump.
func publicTable(ctx context.Context, q Querier, name string) (bool, error) {
	exists, _, err := publicTableEstimate(ctx, q, name)
	return exists, err
}

// publicTableEstimate is publicTable with the planner's estimate of the
// table's rows (nil when it has none), read in the same query.
func publicTableEstimate(ctx context.Context, q Querier, name string) (exists bool, estimate *float64, err error) {
	var kind string
	err = q.QueryRow(ctx, `SELECT c.relkind::text, c.reltuples::float8 FROM pg_catalog.pg_class c
		WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('public.' OPERATOR(pg_catalog.||) $1)`, name).Scan(&kind, &estimate)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	switch kind {
	case "r", "p":
		return true, estimate, nil
	}
	return false, nil, &NotATableError{Name: name, Kind: relkindName(kind)}
}

func relkindName(k string) string {
	switch k {
	case "v":
		return "view"
	case "m":
		return "materialized view"
	case "f":
		return "foreign table"
	case "S":
		return "sequence"
	case "i", "I":
		return "index"
	case "c":
		return "composite type"
	}
	return "relation of kind " + k
}

// InstalledModules maps each installed module to its latest version.
func InstalledModules(ctx context.Context, q Querier) (map[string]string, error) {
	rows, err := q.Query(ctx, "SELECT name, COALESCE(latest_version, '') FROM public.ir_module_module WHERE state = 'installed'")
	if err != nil {
		return nil, err
	}
	modules := map[string]string{}
	for rows.Next() {
		var name, version string
		if err := rows.Scan(&name, &version); err != nil {
			return nil, err
		}
		modules[name] = version
	}
	return modules, rows.Err()
}

// AttachmentFileCount is the number of filestore files the database refers to.
func AttachmentFileCount(ctx context.Context, q Querier) (int64, error) {
	var attachments int64
	err := q.QueryRow(ctx, "SELECT count(DISTINCT store_fname) FROM public.ir_attachment WHERE store_fname IS NOT NULL AND store_fname <> ''").Scan(&attachments)
	return attachments, err
}

// EachAttachmentFile calls fn, in name order, with every filestore file the
// database refers to: what a backup archives and what a restore must find.
func EachAttachmentFile(ctx context.Context, q Querier, fn func(storeFname string) error) error {
	rows, err := q.Query(ctx, "SELECT DISTINCT store_fname FROM public.ir_attachment WHERE store_fname IS NOT NULL AND store_fname <> '' ORDER BY 1")
	if err != nil {
		return fmt.Errorf("list attachment files: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var fname string
		if err := rows.Scan(&fname); err != nil {
			return err
		}
		if err := fn(fname); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list attachment files: %w", err)
	}
	return nil
}

// CountKeyTables counts the rows of the key tables that exist. With limit
// above 0, a table the planner estimates above limit rows is left out:
// count(*) reads the whole table. db names the database in errors. A key
// table that is not a table (a view, say) is an error: counting it would
// run what it calls (see publicTable).
func CountKeyTables(ctx context.Context, q Querier, db string, limit float64) (map[string]int64, error) {
	counts := map[string]int64{}
	for _, t := range KeyTables {
		exists, estimate, err := publicTableEstimate(ctx, q, t)
		if err != nil {
			return nil, fmt.Errorf("inspect table %s of %s: %w", t, db, err)
		}
		if !exists {
			continue
		}
		if limit > 0 && estimate != nil && *estimate > limit {
			continue
		}
		var n int64
		if err := q.QueryRow(ctx, "SELECT count(*) FROM public."+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count the rows of %s in %s: %w", t, db, err)
		}
		counts[t] = n
	}
	return counts, nil
}

// BaseModuleState is ir_module_module's state of module base, "" without a
// row.
func BaseModuleState(ctx context.Context, q Querier) (string, error) {
	var state string
	err := q.QueryRow(ctx, "SELECT COALESCE(max(state), '') FROM public.ir_module_module WHERE name = 'base'").Scan(&state)
	return state, err
}
