package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// The catalog speaks SQL that SQLite and PostgreSQL both read, written with
// SQLite's '?' placeholders. db and txn are *sql.DB and *sql.Tx that, on
// PostgreSQL, number the placeholders ($1, $2, ...) and pass booleans as the
// 0 and 1 the schema's INTEGER flags hold, so every query of the package is
// written once for both.
type db struct {
	*sql.DB
	pg bool
	// hide reads the secret columns as hiddenSecret (roles.go): this
	// database user may not read them.
	hide bool
}

type txn struct {
	*sql.Tx
	pg   bool
	hide bool
}

func (d *db) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, bind(d.pg, query), bindArgs(d.pg, args)...)
}

func (d *db) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, bind(d.pg, withoutSecrets(d.hide, query)), bindArgs(d.pg, args)...)
}

func (d *db) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, bind(d.pg, withoutSecrets(d.hide, query)), bindArgs(d.pg, args)...)
}

// BeginTx starts a transaction. On PostgreSQL a read-only one sees one
// snapshot (REPEATABLE READ), as SQLite's deferred transactions do, and a
// writing one takes the catalog's write lock first, so writers follow each
// other as they do on SQLite's IMMEDIATE transactions and every check made
// in a transaction still holds at its commit.
func (d *db) BeginTx(ctx context.Context, opts *sql.TxOptions) (*txn, error) {
	if d.pg && opts != nil && opts.ReadOnly {
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	tx, err := d.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	t := &txn{Tx: tx, pg: d.pg, hide: d.hide}
	if d.pg && (opts == nil || !opts.ReadOnly) {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLockKey); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return t, nil
}

// writeLockKey is the PostgreSQL advisory lock that serialises the
// catalog's writers (an arbitrary constant: "odoobkup" in ASCII).
const writeLockKey int64 = 0x6f646f6f626b7570

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, bind(t.pg, query), bindArgs(t.pg, args)...)
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, bind(t.pg, withoutSecrets(t.hide, query)), bindArgs(t.pg, args)...)
}

func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, bind(t.pg, withoutSecrets(t.hide, query)), bindArgs(t.pg, args)...)
}

// bind numbers the '?' placeholders of query for PostgreSQL. A '?' inside a
// quoted literal or identifier is left alone.
func bind(pg bool, query string) string {
	if !pg || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// bindArgs turns booleans into the integers the schema keeps them as:
// SQLite's driver does that itself, PostgreSQL refuses a boolean for an
// integer column.
func bindArgs(pg bool, args []any) []any {
	if !pg {
		return args
	}
	out := args
	for i, a := range args {
		if v, ok := a.(bool); ok {
			if &out[0] == &args[0] {
				out = append([]any(nil), args...)
			}
			out[i] = 0
			if v {
				out[i] = 1
			}
		}
	}
	return out
}

func (d *db) Exec(query string, args ...any) (sql.Result, error) {
	return d.ExecContext(context.Background(), query, args...)
}

func (d *db) Query(query string, args ...any) (*sql.Rows, error) {
	return d.QueryContext(context.Background(), query, args...)
}

func (d *db) QueryRow(query string, args ...any) *sql.Row {
	return d.QueryRowContext(context.Background(), query, args...)
}
