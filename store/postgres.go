package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/odoo-backup/odoo-backup/core"
)

// IsPostgres tells a PostgreSQL catalog's URL (postgres://… or
// postgresql://…) from an SQLite catalog's file path.
func IsPostgres(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// Redact is a catalog's path or URL as messages show it: a URL without its
// password.
func Redact(target string) string {
	if !IsPostgres(target) {
		return target
	}
	u, err := url.Parse(target)
	if err != nil {
		return "the PostgreSQL catalog"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") {
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// connectTimeout bounds how long opening a PostgreSQL catalog waits for the
// server when the URL does not say.
const connectTimeout = 10 * time.Second

// openPostgres opens the catalog kept in the PostgreSQL database rawURL names
// and brings its schema up to date. Several hosts share it: every writer
// takes the catalog's write lock in its transaction (see db.BeginTx).
func openPostgres(ctx context.Context, rawURL string, opts ...Option) (*Catalog, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return nil, core.Userf(core.ErrInvalid, "catalog URL %s is not usable; give postgres://USER@HOST:PORT/DATABASE", Redact(rawURL))
	}
	q := u.Query()
	if !q.Has("connect_timeout") {
		q.Set("connect_timeout", fmt.Sprint(int(connectTimeout.Seconds())))
	}
	if !q.Has("application_name") {
		q.Set("application_name", "odoo-backup")
	}
	// The catalog's queries are short index lookups; compiling one with
	// JIT (on for a plan of high estimated cost, such as a fleet's health
	// snapshot) took half a second of a 20 ms query.
	if !q.Has("jit") {
		q.Set("jit", "off")
	}
	u.RawQuery = q.Encode()
	c := &Catalog{path: Redact(rawURL), clock: time.Now}
	for _, o := range opts {
		o(c)
	}
	if c.keys.path != "" {
		if err := checkKeyFile(c.keys.path); err != nil {
			return nil, err
		}
	}
	sqlDB, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", c.path, err)
	}
	// A handful of connections serve a daemon or a console; a fleet of them
	// must not exhaust the server's max_connections.
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(2)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	c.db = &db{DB: sqlDB, pg: true}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, pgOpenError(c.path, err)
	}
	if err := c.migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, pgOpenError(c.path, openRefusal(u, c.path, err))
	}
	if err := c.identify(ctx); err != nil {
		sqlDB.Close()
		return nil, pgOpenError(c.path, err)
	}
	if err := c.afterMigrate(ctx); err != nil {
		sqlDB.Close()
		return nil, pgOpenError(c.path, err)
	}
	if err := c.encryptPlaintext(ctx); err != nil {
		sqlDB.Close()
		return nil, pgOpenError(c.path, err)
	}
	return c, nil
}

// Postgres reports whether the catalog is kept in PostgreSQL.
func (c *Catalog) Postgres() bool { return c.db.pg }

// CatalogUnreachableError: the PostgreSQL server of a catalog did not
// answer, or refused the connection. It wraps core.ErrUnreachable.
type CatalogUnreachableError struct {
	URL   string
	Cause error
}

func (e *CatalogUnreachableError) Error() string {
	return fmt.Sprintf("the catalog %s is unreachable (%v)", e.URL, e.Cause)
}

func (e *CatalogUnreachableError) Unwrap() []error {
	return []error{core.ErrCatalogUnreachable, e.Cause}
}

func pgOpenError(target string, err error) error {
	var ue *core.UserError
	if errors.As(err, &ue) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return core.Userf(core.ErrUnreachable, "the catalog %s refused the login (%s); check the user and password in the catalog URL", target, pe.Message)
		case "3D000":
			return core.Userf(core.ErrUnreachable, "the catalog database of %s does not exist (%s); create it (createdb) and try again", target, pe.Message)
		}
		if strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") {
			// Starting up, shutting down, or cutting connections: it will
			// answer again.
			return &CatalogUnreachableError{URL: target, Cause: err}
		}
		return fmt.Errorf("open catalog %s: %w", target, err)
	}
	if unreachable(err) {
		return &CatalogUnreachableError{URL: target, Cause: err}
	}
	return fmt.Errorf("open catalog %s: %w", target, err)
}

// unreachable tells a server that cannot be reached (refused, timed out,
// connection lost) from one that answered with an error.
func unreachable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || errors.As(err, &oe) || errors.As(err, &ne) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err) || connectionLost(err) ||
		errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// connectionLost tells the ways a connection the server dropped (stopped,
// restarted, killed) shows: database/sql's bad or finished connection, a
// read cut short, pgx's closed connection.
func connectionLost(err error) bool {
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "conn closed")
}

// pgError classifies a PostgreSQL error as dbError does SQLite's: a
// serialization failure or a lock timeout is worth a retry, a broken
// constraint or a trigger's refusal is invalid input, a server out of reach
// is unreachable.
func pgError(op string, err error) (error, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "55P03":
			return fmt.Errorf("%s: the catalog is busy: %w: %w", op, core.ErrTransient, err), true
		case strings.HasPrefix(pe.Code, "23"):
			return fmt.Errorf("%s: %w: %w", op, core.ErrInvalid, err), true
		case pe.Code == "42501":
			return &refusal{op: op, pe: pe}, true
		case strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P"):
			return fmt.Errorf("%s: %w: %w", op, core.ErrCatalogUnreachable, err), true
		}
		return nil, false
	}
	if unreachable(err) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w: %w", op, core.ErrCatalogUnreachable, err), true
	}
	return nil, false
}
