package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// connConfig builds a pgx configuration without going through a connection
// string, so that no value needs quoting and the password never sits in one.
func connConfig(c DBConn) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host = c.Host
	cfg.Port = uint16(c.Port)
	cfg.User = c.User
	pw, err := c.Password.Resolve(fmt.Sprintf("the PostgreSQL password of user %q at %s", c.User, c.Address()))
	if err != nil {
		return nil, err
	}
	cfg.Password = pw.Reveal()
	cfg.Database = c.Database
	cfg.ConnectTimeout = 15 * time.Second
	cfg.RuntimeParams["application_name"] = "odoo-backup"
	// Local servers commonly run without TLS; prefer it but do not require it.
	cfg.TLSConfig = nil
	cfg.Fallbacks = nil
	return cfg, nil
}

// ConnectDB opens a connection to c, with errors a user can act on.
func ConnectDB(ctx context.Context, c DBConn) (*pgx.Conn, error) {
	return connect(ctx, c, false)
}

// connectPinned is ConnectDB for a session of the service's (super)user
// that reads an Odoo database whose content may come from an untrusted
// dump: its search_path is pg_catalog alone, set at login (ahead of any
// setting the database carries), so no function or operator the database
// holds, such as a public.= for character varying, stands in for a
// built-in one and runs with that user's rights. Its queries name Odoo's
// tables with their schema.
func connectPinned(ctx context.Context, c DBConn) (*pgx.Conn, error) {
	return connect(ctx, c, true)
}

func connect(ctx context.Context, c DBConn, pinned bool) (*pgx.Conn, error) {
	cfg, err := connConfig(c)
	if err != nil {
		return nil, err
	}
	if pinned {
		cfg.RuntimeParams["search_path"] = "pg_catalog"
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, classifyPGError(c, err)
	}
	return conn, nil
}

// classifyPGError turns a connection failure into one sentence that says what
// to check.
func classifyPGError(c DBConn, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000":
			return Userf(fmt.Errorf("%w: %w", ErrAccessDenied, err),
				"PostgreSQL at %s refused the login of user %q (%s); check the service's user and password",
				c.Address(), c.User, pgErr.Message)
		case "3D000":
			return Userf(fmt.Errorf("%w: %w", ErrNotFound, err),
				"database %q does not exist on PostgreSQL at %s; check the service's database name",
				c.Database, c.Address())
		case "53300":
			return Userf(fmt.Errorf("%w: %w", ErrTransient, err),
				"PostgreSQL at %s has too many connections; try again later or raise max_connections", c.Address())
		}
		return Userf(err, "PostgreSQL at %s said: %s", c.Address(), pgErr.Message)
	}
	var netErr net.Error
	var opErr *net.OpError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &opErr) || errors.As(err, &netErr) {
		why := "no answer"
		if errors.Is(err, syscall.ECONNREFUSED) {
			why = "connection refused"
		} else if netErr != nil && netErr.Timeout() {
			why = "timed out"
		}
		return Userf(fmt.Errorf("%w: %w", ErrUnreachable, err),
			"cannot connect to PostgreSQL at %s (%s); check that the server is running and the service's host and port",
			c.Address(), why)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return Userf(fmt.Errorf("%w: %w", ErrUnreachable, err),
		"cannot connect to PostgreSQL at %s: %v", c.Address(), err)
}

// pgEnv is the environment for PostgreSQL's command-line tools: the password
// goes through PGPASSWORD so it never shows in a process list.
func pgEnv(c DBConn) []string {
	env := os.Environ()
	out := env[:0:0]
	for _, e := range env {
		if strings.HasPrefix(e, "PGPASSWORD=") || strings.HasPrefix(e, "PGSERVICE=") || strings.HasPrefix(e, "PGOPTIONS=") {
			continue
		}
		out = append(out, e)
	}
	out = append(out, "PGAPPNAME=odoo-backup", "PGCONNECT_TIMEOUT=15")
	// A reference that does not resolve already failed the connection made
	// before any tool runs, with the sentence that says why.
	if pw, err := c.Password.Resolve("the PostgreSQL password"); err == nil && pw.IsSet() {
		out = append(out, "PGPASSWORD="+pw.Reveal())
	}
	return out
}

// pgArgs are the connection arguments of PostgreSQL's tools, with the
// database given as a name (validated names contain no '=').
func pgArgs(c DBConn, db string) []string {
	return []string{"--host", c.Host, "--port", strconv.Itoa(c.Port), "--username", c.User, "--no-password", "--dbname", db}
}

// PGTools finds PostgreSQL's command-line tools. A pg_dump must be at least as
// new as the server it dumps, and psql/pg_restore at least as new as the dump.
type PGTools struct {
	// Dirs are searched before PATH, highest version first; empty means the
	// Debian/Ubuntu layout /usr/lib/postgresql/*/bin.
	Dirs []string
	// NoPath leaves PATH out of the search (tests).
	NoPath bool
}

// Tool is one found binary.
type Tool struct {
	Path    string
	Major   int
	Minor   int
	Version string // as printed, e.g. "15.18"
}

var toolVersionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(?:\.(\d+))?`)

// toolVersions remembers, by path, the version each tool file said it is,
// with the file's identity: asking costs a process per candidate at every
// backup and restore (up to a second on a busy machine), and the answer
// only changes with the file.
var toolVersions sync.Map // path -> toolVersionMemo

type toolVersionMemo struct {
	file os.FileInfo
	tool Tool
}

func toolVersion(path string) (Tool, error) {
	fi, statErr := os.Stat(path)
	if m, ok := toolVersions.Load(path); ok && statErr == nil {
		memo := m.(toolVersionMemo)
		if os.SameFile(memo.file, fi) && memo.file.ModTime().Equal(fi.ModTime()) && memo.file.Size() == fi.Size() {
			return memo.tool, nil
		}
	}
	tool, err := askToolVersion(path)
	if err == nil && statErr == nil {
		toolVersions.Store(path, toolVersionMemo{file: fi, tool: tool})
	}
	return tool, err
}

func askToolVersion(path string) (Tool, error) {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return Tool{}, err
	}
	m := toolVersionRE.FindSubmatch(out)
	if m == nil {
		return Tool{}, fmt.Errorf("%s --version printed %q", path, strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	v := string(m[1])
	if len(m[2]) > 0 {
		v += "." + string(m[2])
	}
	return Tool{Path: path, Major: major, Minor: minor, Version: v}, nil
}

func (t PGTools) candidates(name string) []string {
	dirs := t.Dirs
	if len(dirs) == 0 {
		dirs, _ = filepath.Glob("/usr/lib/postgresql/*/bin")
	}
	var paths []string
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			paths = append(paths, p)
		}
	}
	if !t.NoPath {
		if p, err := exec.LookPath(name); err == nil {
			paths = append(paths, p)
		}
	}
	return paths
}

// Find returns the tool `name` that fits a server of major version
// serverMajor: the same major if there is one, else the oldest newer one.
// With only older ones, it explains which package to install.
func (t PGTools) Find(name string, serverMajor int) (Tool, error) {
	var found []Tool
	for _, p := range t.candidates(name) {
		tool, err := toolVersion(p)
		if err == nil {
			found = append(found, tool)
		}
	}
	if len(found) == 0 {
		return Tool{}, Userf(ErrNotFound,
			"%s was not found in /usr/lib/postgresql/*/bin or on PATH; install the PostgreSQL %d client (e.g. apt-get install postgresql-client-%d)",
			name, serverMajor, serverMajor)
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].Major != found[j].Major {
			return found[i].Major < found[j].Major
		}
		return found[i].Minor > found[j].Minor
	})
	for _, tool := range found {
		if tool.Major >= serverMajor {
			return tool, nil
		}
	}
	newest := found[0]
	for _, tool := range found {
		if tool.Major > newest.Major || (tool.Major == newest.Major && tool.Minor > newest.Minor) {
			newest = tool
		}
	}
	return Tool{}, Userf(ErrNotFound,
		"the server runs PostgreSQL %d but the newest %s here is version %s, which cannot handle it; install the PostgreSQL %d client (e.g. apt-get install postgresql-client-%d)",
		serverMajor, name, newest.Version, serverMajor, serverMajor)
}

// SupportsRestrict reports whether this psql understands the \restrict and
// \unrestrict meta-commands that pg_dump writes since the August 2025 minor
// releases (17.6, 16.10, 15.14, 14.19, 13.22).
func (t Tool) SupportsRestrict() bool {
	switch {
	case t.Major >= 18:
		return true
	case t.Major == 17:
		return t.Minor >= 6
	case t.Major == 16:
		return t.Minor >= 10
	case t.Major == 15:
		return t.Minor >= 14
	case t.Major == 14:
		return t.Minor >= 19
	case t.Major == 13:
		return t.Minor >= 22
	}
	return false
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }
