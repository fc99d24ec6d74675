package testbed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/jackc/pgx/v5"

	"github.com/odoo-backup/odoo-backup/core"
)

// OwnerRole is the PostgreSQL role that owns generated Odoo databases, and
// OSUser the system user that owns their filestores, as on a standard Odoo
// installation (Debian's odoo package, the official images).
const (
	OwnerRole = "odoo"
	OSUser    = "odoo"
)

// EnsureOwner creates the owner role if the cluster lacks it: LOGIN,
// NOSUPERUSER, CREATEDB, with OwnerPassword. Safe to call concurrently.
func (pg *Postgres) EnsureOwner(ctx context.Context) error {
	_, err := pg.EnsureRole(ctx, pg.Owner)
	return err
}

// EnsureRole creates a role like the owner role (LOGIN, NOSUPERUSER,
// CREATEDB) if the cluster lacks it, and returns its password: the owner's
// is OwnerPassword, another's is random and kept for the cluster's life.
func (pg *Postgres) EnsureRole(ctx context.Context, name string) (string, error) {
	pg.ownerMu.Lock()
	defer pg.ownerMu.Unlock()
	if pw, ok := pg.roles[name]; ok {
		return pw, nil
	}
	pw := randomHex(16)
	if name == pg.Owner {
		pw = pg.OwnerPassword
	}
	n, err := pg.QueryInt(ctx, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = $1", name)
	if err != nil {
		return "", err
	}
	// CREATE ROLE takes no parameters: the password goes as a literal.
	sql := fmt.Sprintf("CREATE ROLE %s LOGIN NOSUPERUSER CREATEDB NOCREATEROLE PASSWORD '%s'", pgx.Identifier{name}.Sanitize(), pw)
	if n > 0 {
		sql = fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'", pgx.Identifier{name}.Sanitize(), pw)
	}
	if err := pg.Exec(ctx, "postgres", sql); err != nil {
		return "", fmt.Errorf("create role %s: %w", name, err)
	}
	if pg.roles == nil {
		pg.roles = map[string]string{}
	}
	pg.roles[name] = pw
	return pw, nil
}

// OwnerConn is how to reach database db as the owner role.
func (pg *Postgres) OwnerConn(db string) core.DBConn {
	return core.DBConn{Host: pg.Host, Port: pg.Port, User: pg.Owner, Password: core.Secret(pg.OwnerPassword), Database: db}
}

// osOwner is who owns a filestore tree.
type osOwner struct {
	uid, gid int
	chown    bool // root: hand the tree to uid:gid
}

var odooUserMu sync.Mutex

// EnsureOdooUser creates the odoo system user (no login shell, home
// /var/lib/odoo) when the process runs as root and it does not exist, as
// the odoo package does. Not root, it does nothing.
func EnsureOdooUser(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return nil
	}
	odooUserMu.Lock()
	defer odooUserMu.Unlock()
	if _, err := user.Lookup(OSUser); err == nil {
		return nil
	}
	useradd, err := exec.LookPath("useradd")
	if err != nil {
		return fmt.Errorf("create the %s system user: useradd is not available (%w); create it by hand", OSUser, err)
	}
	out, err := exec.CommandContext(ctx, useradd, "--system", "--home-dir", "/var/lib/odoo", "--no-create-home",
		"--shell", "/usr/sbin/nologin", "--user-group", OSUser).CombinedOutput()
	if err != nil {
		// Another process may have created it in between.
		if _, lerr := user.Lookup(OSUser); lerr == nil {
			return nil
		}
		return fmt.Errorf("useradd %s: %w: %s", OSUser, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// filestoreOwner is the odoo system user when running as root (created if
// missing), else the current user.
func filestoreOwner() (osOwner, error) {
	if os.Geteuid() != 0 {
		return osOwner{uid: os.Getuid(), gid: os.Getgid()}, nil
	}
	if err := EnsureOdooUser(context.Background()); err != nil {
		return osOwner{}, err
	}
	u, err := user.Lookup(OSUser)
	if err != nil {
		return osOwner{}, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return osOwner{}, err
	}
	return osOwner{uid: uid, gid: gid, chown: true}, nil
}

func (o osOwner) cred() *syscall.Credential {
	return &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.gid), Groups: []uint32{}}
}

// makeDataDir makes Odoo's data_dir as Odoo does (0700, its user's), the
// filestore directories under it (0755, umask 022), and opens the test's
// temporary directories above it to the owner, so it can reach its files.
func makeDataDir(dataDir, fsDir string, o osOwner) error {
	if err := os.MkdirAll(fsDir, 0o755); err != nil {
		return err
	}
	if err := o.chownTree(filepath.Join(dataDir, "filestore")); err != nil {
		return err
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return err
	}
	if o.chown {
		if err := os.Lchown(dataDir, o.uid, o.gid); err != nil {
			return err
		}
		return OpenTo(filepath.Dir(dataDir), o.cred())
	}
	return nil
}

// chownTree gives every file and directory under root (root included) to
// the owner with Odoo's modes: 0755 directories, 0644 files.
func (o osOwner) chownTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
		if o.chown {
			return os.Lchown(p, o.uid, o.gid)
		}
		return nil
	})
}

// OpenTo lets cred traverse every directory from / down to dir, adding the
// search bit to the test's own temporary directories (those under
// os.TempDir() or /tmp) that lack it. A directory elsewhere that is closed
// to cred is an error: the test cannot run on that layout.
func OpenTo(dir string, cred *syscall.Credential) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := dir; ; d = filepath.Dir(d) {
		var st syscall.Stat_t
		if err := syscall.Stat(d, &st); err != nil {
			return err
		}
		if !searchable(&st, cred) {
			if !underTemp(d) {
				return fmt.Errorf("%s is closed to uid %d and is not a temporary directory a test may open; run the tests from a directory others can traverse", d, cred.Uid)
			}
			if err := os.Chmod(d, fs.FileMode(st.Mode&0o777)|0o011); err != nil {
				return err
			}
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

// searchable reports whether cred may traverse the directory st describes.
func searchable(st *syscall.Stat_t, cred *syscall.Credential) bool {
	var bit uint32 = 0o001
	switch {
	case st.Uid == cred.Uid:
		bit = 0o100
	case st.Gid == cred.Gid:
		bit = 0o010
	}
	return st.Mode&bit != 0
}

func underTemp(d string) bool {
	for _, base := range []string{os.TempDir(), "/tmp"} {
		if rel, err := filepath.Rel(base, d); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return true
		}
	}
	return false
}

// CheckAsOwner checks database db and filestore dir as the Odoo service of
// o would use them after a restore: logged in as the owner role it reads
// every table and view of every schema and every large object, and finds
// every object of the database owned by itself (extension members and the
// schema public of PostgreSQL 15, owned by pg_database_owner, aside), and
// the trigram and unaccent functions work; as the owner system user it
// reads every file of the filestore and creates and removes a file in
// every directory, and every entry of the tree belongs to it.
func (o *OdooDB) CheckAsOwner(ctx context.Context, pg *Postgres, db, dir string) error {
	c := pg.OwnerConn(db)
	c.User, c.Password = o.Owner, core.Secret(o.OwnerPassword)
	if err := checkDBAsOwner(ctx, c); err != nil {
		return fmt.Errorf("database %s as %s: %w", db, o.Owner, err)
	}
	return o.CheckFilestoreAsOwner(ctx, dir)
}

// CheckFilestoreAsOwner is the filestore half of CheckAsOwner, for a
// filestore restored without a database.
func (o *OdooDB) CheckFilestoreAsOwner(ctx context.Context, dir string) error {
	if err := checkTreeAs(ctx, dir, osOwner{uid: o.UID, gid: o.GID, chown: os.Geteuid() == 0}); err != nil {
		return fmt.Errorf("filestore %s as uid %d: %w", dir, o.UID, err)
	}
	return nil
}

// foreignOwnedSQL lists the objects of the current database whose owner is
// not $1.
const foreignOwnedSQL = `
SELECT kind || ' ' || name || ' is owned by ' || owner FROM (
	SELECT 'relation' AS kind, c.oid::regclass::text AS name, pg_get_userbyid(c.relowner) AS owner, 'pg_class'::regclass AS cls, c.oid
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
	UNION ALL
	SELECT 'function', p.oid::regprocedure::text, pg_get_userbyid(p.proowner), 'pg_proc'::regclass, p.oid
	FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
	UNION ALL
	SELECT 'type', t.oid::regtype::text, pg_get_userbyid(t.typowner), 'pg_type'::regclass, t.oid
	FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
	WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
	UNION ALL
	SELECT 'schema', n.nspname, pg_get_userbyid(n.nspowner), 'pg_namespace'::regclass, n.oid
	FROM pg_namespace n
	WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
		AND NOT (n.nspname = 'public' AND pg_get_userbyid(n.nspowner) = 'pg_database_owner')
	UNION ALL
	SELECT 'extension', e.extname, pg_get_userbyid(e.extowner), 'pg_extension'::regclass, e.oid
	FROM pg_extension e WHERE e.extname <> 'plpgsql'
	UNION ALL
	SELECT 'large object', l.oid::text, pg_get_userbyid(l.lomowner), 'pg_largeobject'::regclass, l.oid
	FROM pg_largeobject_metadata l
	UNION ALL
	SELECT 'operator', o.oid::regoperator::text, pg_get_userbyid(o.oprowner), 'pg_operator'::regclass, o.oid
	FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
	WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
	UNION ALL
	SELECT 'collation', c.collname, pg_get_userbyid(c.collowner), 'pg_collation'::regclass, c.oid
	FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
	WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
	UNION ALL
	SELECT 'text search configuration', c.cfgname, pg_get_userbyid(c.cfgowner), 'pg_ts_config'::regclass, c.oid
	FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
	WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
	UNION ALL
	SELECT 'text search dictionary', d.dictname, pg_get_userbyid(d.dictowner), 'pg_ts_dict'::regclass, d.oid
	FROM pg_ts_dict d JOIN pg_namespace n ON n.oid = d.dictnamespace
	WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
	UNION ALL
	SELECT 'statistics object', s.stxname, pg_get_userbyid(s.stxowner), 'pg_statistic_ext'::regclass, s.oid
	FROM pg_statistic_ext s
	UNION ALL
	SELECT 'publication', p.pubname, pg_get_userbyid(p.pubowner), 'pg_publication'::regclass, p.oid
	FROM pg_publication p
	UNION ALL
	SELECT 'database', d.datname, pg_get_userbyid(d.datdba), 'pg_database'::regclass, d.oid
	FROM pg_database d WHERE d.datname = current_database()
) o
WHERE owner <> $1
	-- Extension members belong to the bootstrap superuser; row and array
	-- types follow the relation or type they were made for.
	AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.cls AND d.objid = o.oid AND d.deptype IN ('e', 'i'))
ORDER BY 1`

func checkDBAsOwner(ctx context.Context, c core.DBConn) error {
	conn, err := Connect(ctx, c)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// Every table, view and materialized view of every schema.
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
		ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Schema, Name string }])
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(tables, func(t struct{ Schema, Name string }) bool { return t.Schema == "public" }) {
		return errors.New("the schema public has no table")
	}
	for _, t := range tables {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t.Schema, t.Name}.Sanitize()).Scan(&n); err != nil {
			return fmt.Errorf("read %s.%s: %w", t.Schema, t.Name, err)
		}
	}
	// Every large object, to its last byte.
	var los int64
	if err := conn.QueryRow(ctx, "SELECT count(length(lo_get(oid))) FROM pg_largeobject_metadata").Scan(&los); err != nil {
		return fmt.Errorf("read the large objects: %w", err)
	}
	rows, err = conn.Query(ctx, foreignOwnedSQL, c.User)
	if err != nil {
		return fmt.Errorf("list owners: %w", err)
	}
	foreign, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list owners: %w", err)
	}
	if len(foreign) > 0 {
		if len(foreign) > 10 {
			foreign = append(foreign[:10], fmt.Sprintf("and %d more", len(foreign)-10))
		}
		return fmt.Errorf("not owned by %s: %s", c.User, strings.Join(foreign, "; "))
	}
	var sim float64
	var plain string
	if err := conn.QueryRow(ctx, "SELECT similarity('Müller', 'Muller'), unaccent('Müller')").Scan(&sim, &plain); err != nil {
		return fmt.Errorf("the pg_trgm and unaccent extensions: %w", err)
	}
	if plain != "Muller" {
		return fmt.Errorf("unaccent('Müller') = %q", plain)
	}
	return nil
}

// ownerProbe reads every file under $1 and creates and removes a file in
// every directory, and a directory in $1, failing at the first refusal.
const ownerProbe = `set -e
find "$1" -type f -exec cat {} + >/dev/null
find "$1" -type d -exec sh -c 'set -e; for d; do : > "$d/.owner-probe"; rm "$d/.owner-probe"; done' sh {} +
mkdir "$1/.owner-probe.d"
rmdir "$1/.owner-probe.d"`

// checkTreeAs runs ownerProbe as the owner (when root) and checks that every
// entry of the tree belongs to it.
func checkTreeAs(ctx context.Context, dir string, o osOwner) error {
	var wrong []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if o.chown && (int(st.Uid) != o.uid || int(st.Gid) != o.gid) && len(wrong) < 5 {
			wrong = append(wrong, fmt.Sprintf("%s is %d:%d", p, st.Uid, st.Gid))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(wrong) > 0 {
		return fmt.Errorf("not owned by %d:%d: %s", o.uid, o.gid, strings.Join(wrong, ", "))
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", ownerProbe, "sh", dir)
	if o.chown {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.cred()}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("read and write as its owner: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// TreeModes summarises the owners and permission bits of a directory
// tree: one line per distinct "kind uid:gid mode" (kind "root", "dir" or
// "file"), sorted, so a test compares a restored filestore with the one it
// replaced.
func TreeModes(dir string) ([]string, error) {
	set := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		kind := "file"
		switch {
		case p == dir:
			kind = "root"
		case d.IsDir():
			kind = "dir"
		}
		set[fmt.Sprintf("%s %d:%d %04o", kind, st.Uid, st.Gid, fi.Mode().Perm())] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// Roles lists every role of the cluster with its attributes and
// memberships, one line each, sorted: what a hostile restore must not
// change.
func (pg *Postgres) Roles(ctx context.Context) (string, error) {
	return pg.QueryString(ctx, "postgres", `SELECT string_agg(format('%s super=%s createrole=%s createdb=%s login=%s repl=%s bypassrls=%s in=%s',
		r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls,
		(SELECT coalesce(string_agg(g.rolname, ',' ORDER BY g.rolname), '') FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid)),
		E'\n' ORDER BY r.rolname) FROM pg_roles r`)
}

// Databases lists every database of the cluster with its owner, whether it
// takes connections, its connection limit and its settings (ALTER
// DATABASE ... SET), one line each, sorted: what a hostile restore must not
// change.
func (pg *Postgres) Databases(ctx context.Context) (string, error) {
	return pg.QueryString(ctx, "postgres", `SELECT string_agg(format('%s owner=%s connect=%s limit=%s template=%s settings=%s',
		d.datname, pg_get_userbyid(d.datdba), d.datallowconn, d.datconnlimit, d.datistemplate,
		(SELECT coalesce(string_agg(array_to_string(s.setconfig, ','), ';' ORDER BY s.setrole), '') FROM pg_db_role_setting s WHERE s.setdatabase = d.oid)),
		E'\n' ORDER BY d.datname) FROM pg_database d`)
}
