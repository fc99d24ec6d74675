// Package store is the SQLite catalog of odoo-backup: destinations, services,
// their configurations, templates and backup history, in one file (core.Catalog).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/odoo-backup/odoo-backup/core"
)

var _ core.Catalog = (*Catalog)(nil)

// Catalog is a core.Catalog kept in one SQLite file. It is safe for
// concurrent use, and several processes may open the same file.
type Catalog struct {
	db    *db
	path  string
	clock core.Clock
	keys  keyring
	// who is the database user of a PostgreSQL catalog and its role
	// (roles.go); schemaChanged says that opening it ran a migration.
	who           identity
	schemaChanged bool
	// listener is the connection WaitRequests listens on (PostgreSQL).
	listener requestListener
	// file is the SQLite catalog file, open for the catalog's life (Open
	// says why).
	file *os.File
}

// Option changes how Open sets up a Catalog.
type Option func(*Catalog)

// WithClock makes the catalog stamp CreatedAt and StartedAt from clock
// instead of time.Now, so tests get exact times.
func WithClock(clock core.Clock) Option {
	return func(c *Catalog) { c.clock = clock }
}

// The console and the daemon share the file from two processes: WAL lets
// readers go on while one writes, busy_timeout makes a writer wait for the
// other instead of failing, and IMMEDIATE transactions take the write lock at
// BEGIN, because a deferred transaction that upgrades to a write fails with
// SQLITE_BUSY at once when the other process wrote meanwhile. NORMAL
// synchronous is safe in WAL mode; at worst the last commits before a power
// loss are lost, which a catalog rebuild from the destinations recovers.
// secure_delete zeroes what a change frees, so a secret once stored in plain
// text by an older version does not linger in the file after it is encrypted.
const dsnParams = "_pragma=busy_timeout(10000)" +
	"&_pragma=secure_delete(1)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_txlock=immediate"

// Open opens the catalog at path, creating it (and its directory) if needed,
// and brings its schema up to date. The secrets it stores are encrypted with
// the key in KeyPath(path) (see WithKeyFile), created when first needed; a
// key file that group or others can read is refused.
//
// A PostgreSQL URL (postgres://… or postgresql://…) opens a catalog kept in
// that database instead, shared by every host that opens it (openPostgres).
func Open(ctx context.Context, path string, opts ...Option) (*Catalog, error) {
	if IsPostgres(path) {
		return openPostgres(ctx, path, opts...)
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, core.Userf(core.ErrInvalid, "catalog path %q is not usable; give a file path without '?' or '#'", path)
	}
	c := &Catalog{path: path, clock: time.Now, keys: keyring{path: KeyPath(path)}}
	for _, o := range opts {
		o(c)
	}
	if err := checkDirectory(path); err != nil {
		return nil, err
	}
	if err := checkKeyFile(c.keys.path); err != nil {
		return nil, err
	}
	lock, err := prepareFile(path)
	if err != nil {
		return nil, err
	}
	// Held until the schema is current: SQLite answers SQLITE_BUSY at once,
	// without waiting, to a connection that opens a new file while another
	// switches it to WAL, so the console and the daemon starting together on
	// a new catalog take turns here. flock is separate from SQLite's own
	// fcntl locks on the same file, but closing any descriptor of the file
	// drops every fcntl lock this process holds on it (they belong to the
	// process, not the descriptor): SQLite's shared lock among them, which
	// tells another process's last connection not to checkpoint and delete
	// the WAL this one still writes to. So the file stays open as long as
	// the catalog, and is closed after SQLite's connections (Close).
	kept := false
	defer func() {
		if !kept {
			lock.Close()
		}
	}()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("lock catalog %s while opening it: %w", path, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks it too
	sqlDB, err := sql.Open("sqlite", path+"?"+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	c.db = &db{DB: sqlDB}
	if err := c.migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, classifyOpen(path, err)
	}
	if err := c.encryptPlaintext(ctx); err != nil {
		sqlDB.Close()
		return nil, classifyOpen(path, err)
	}
	c.file, kept = lock, true
	return c, nil
}

// KeyFile is the file holding the key that encrypts the catalog's secrets.
func (c *Catalog) KeyFile() string { return c.keys.path }

// prepareFile makes sure the catalog, which holds credentials, is readable by
// its owner only before SQLite ever writes to it. It returns the file, open,
// for Open to lock.
func prepareFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create catalog directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	if err := restrictModes(path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func restrictModes(path string) error {
	// SQLite gives the -wal and -shm files the mode of the database, but ones
	// left by an older, wider file keep theirs.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check catalog file mode: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("restrict catalog file %s to its owner: %w", p, err)
			}
		}
	}
	return nil
}

// Close releases the file.
func (c *Catalog) Close() error {
	c.listener.close()
	err := c.db.Close()
	if c.file != nil {
		c.file.Close()
	}
	return err
}

// Path is the catalog file, for messages.
func (c *Catalog) Path() string { return c.path }

// now is nanosecond-exact and in UTC, exactly as it will read back.
func (c *Catalog) now() time.Time { return fromNanos(c.clock().UnixNano()) }

// write runs fn in one IMMEDIATE transaction. Errors that already are the
// user's sentence pass through; anything else is prefixed with op.
func (c *Catalog) write(ctx context.Context, op string, fn func(tx *txn) error) error {
	return c.inTx(ctx, op, nil, fn)
}

// read runs fn in a deferred read transaction, so multi-query reads see one
// snapshot without taking the write lock.
func (c *Catalog) read(ctx context.Context, op string, fn func(tx *txn) error) error {
	return c.inTx(ctx, op, &sql.TxOptions{ReadOnly: true}, fn)
}

func (c *Catalog) inTx(ctx context.Context, op string, opts *sql.TxOptions, fn func(tx *txn) error) error {
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return c.dbError(op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return c.refused(c.dbError(op, err))
	}
	if err := tx.Commit(); err != nil {
		return c.refused(c.dbError(op, err))
	}
	return nil
}

// classifyDBError leaves user errors and the core validators' errors alone
// (their message is the sentence to show) and classifies the rest: a lock
// still held after busy_timeout is worth a retry. Code of the package calls
// Catalog.dbError, which first says a damaged or unreachable SQLite file as
// such; this one is named apart so that a call cannot skip that by mistake.
func classifyDBError(op string, err error) error {
	var ue *core.UserError
	if errors.As(err, &ue) || errors.Is(err, core.ErrInvalid) || errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrExists) {
		return err
	}
	if pe, ok := pgError(op, err); ok {
		return pe
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%s: the catalog is busy: %w: %w", op, core.ErrTransient, err)
		case sqlite3.SQLITE_CONSTRAINT:
			return fmt.Errorf("%s: %w: %w", op, core.ErrInvalid, err)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Times are stored as Unix nanoseconds: exact, compact, and ordered.
func toNanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// Unix nanoseconds in an int64 span the years 1678 to 2262.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func checkTime(what string, t time.Time) error {
	if t.Before(minTime) || t.After(maxTime) {
		return core.Userf(core.ErrInvalid, "%s %s is out of range; give a time between the years 1678 and 2262", what, t.Format(time.RFC3339))
	}
	return nil
}

func nullNanos(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toNanos(*t), Valid: true}
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

// queryer is what reads need from a *sql.DB or a *txn.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// joinList reads as a sentence: a; a and b; a, b and c.
func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// queryColumn runs a query of one column and returns its values in order.
func queryColumn[T any](ctx context.Context, q queryer, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
