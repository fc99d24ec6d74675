package testbed

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/odoo-backup/odoo-backup/core"
)

// PostgresBinEnv names the environment variable that points at the directory
// holding initdb, pg_ctl and postgres, overriding the search.
const PostgresBinEnv = "ODOO_BACKUP_PG_BIN"

// startTimeout bounds Start and the start-up inside StartPostgres: a cluster
// that is not ready by then is broken, not slow.
const startTimeout = 2 * time.Minute

var serverBinaries = []string{"initdb", "pg_ctl", "postgres"}

// PostgresBinDir finds PostgreSQL's server binaries: $ODOO_BACKUP_PG_BIN if
// set, else the highest /usr/lib/postgresql/<N>/bin holding initdb and pg_ctl,
// else the directory of an initdb found on PATH.
func PostgresBinDir() (string, error) {
	if dir := os.Getenv(PostgresBinEnv); dir != "" {
		if !hasServerBinaries(dir) {
			return "", fmt.Errorf("%s=%s: directory lacks one of %s", PostgresBinEnv, dir, strings.Join(serverBinaries, ", "))
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // highest version first
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if dir := filepath.Dir(initdb); hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", errNoPostgres
}

var errNoPostgres = markUnavailable(errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in /usr/lib/postgresql/*/bin or on PATH: " +
	"install the postgresql package (e.g. sudo apt-get install postgresql) or set " + PostgresBinEnv + " to the directory holding them"))

func hasServerBinaries(dir string) bool {
	for _, name := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// compareVersions orders dotted numeric versions ("9.6" < "15"); parts that
// are not numbers compare as zero.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

var installMu sync.Mutex

// EnsurePostgres is PostgresBinDir, except that when nothing is found and the
// process runs as root it installs Debian's postgresql package with apt-get
// and looks again. Concurrent installs (parallel test processes) wait for
// dpkg's lock instead of failing.
func EnsurePostgres(ctx context.Context) (string, error) {
	dir, err := PostgresBinDir()
	if err == nil || os.Getenv(PostgresBinEnv) != "" {
		return dir, err
	}
	if os.Geteuid() != 0 {
		return "", err
	}
	installMu.Lock()
	defer installMu.Unlock()
	if dir, err := PostgresBinDir(); err == nil {
		return dir, nil
	}
	aptGet, lerr := exec.LookPath("apt-get")
	if lerr != nil {
		return "", fmt.Errorf("%w (apt-get is not available to install it)", err)
	}
	for _, args := range [][]string{
		{"-o", "DPkg::Lock::Timeout=600", "update"},
		{"-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends", "postgresql"},
	} {
		cmd := exec.CommandContext(ctx, aptGet, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 20))
		}
	}
	return PostgresBinDir()
}

// Postgres is a throwaway PostgreSQL cluster listening on a loopback port,
// with one superuser that authenticates with SCRAM. Close removes everything.
//
// The server is this process's child, in its own process group, and dies with
// the process if the test binary is killed, so nothing outlives a crashed
// test run.
type Postgres struct {
	Host     string // always 127.0.0.1
	Port     int
	User     string // the superuser, "postgres", as the tool connects on a real host
	Password string // random, per cluster
	// Owner is the role that owns the Odoo databases GenerateOdoo makes, as
	// on a standard Odoo installation: "odoo", LOGIN, NOSUPERUSER, CREATEDB,
	// created on first use. OwnerPassword logs it in over SCRAM.
	Owner         string
	OwnerPassword string
	BinDir        string
	Version       int // server major version, e.g. 15

	Dir       string // the cluster's temporary directory, removed by Close
	DataDir   string // Dir/data
	SocketDir string // Dir/sock, the Unix socket directory
	LogFile   string // the server's log

	// cred runs initdb and postgres as the postgres user when we are root:
	// PostgreSQL refuses to run as root.
	cred *syscall.Credential

	ownerMu sync.Mutex        // serialises the creation of roles
	roles   map[string]string // role name → password, of the roles EnsureRole made

	mu     sync.Mutex // serialises Start, Stop, Kill and Close
	run    *serverRun // nil while stopped
	closed bool
}

// serverRun is one life of the postmaster.
type serverRun struct {
	cmd       *exec.Cmd
	exited    chan struct{} // closed once the postmaster has been reaped
	logDone   chan struct{} // closed when every server process has closed its stderr
	ready     chan struct{} // closed when the server accepts connections
	err       error         // the postmaster's exit, valid once exited is closed
	portInUse bool          // valid once logDone is closed
}

// StartPostgres starts a cluster of the test's own and closes it when the
// test ends; a test that may share one uses Servers.Postgres. Where
// PostgreSQL is not installed the test skips (fails under CI=true), as Need
// says.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	pg, err := NewPostgres(ctx)
	Need(tb, "PostgreSQL", err)
	tb.Cleanup(func() {
		if err := pg.Close(); err != nil {
			tb.Errorf("close PostgreSQL: %v", err)
		}
	})
	return pg
}

// NewPostgres creates and starts a cluster in a new temporary directory on a
// free loopback port. The caller must Close it. It never installs
// PostgreSQL (that is EnsurePostgres, for the setup command): where the
// binaries are missing the error is ErrUnavailable.
func NewPostgres(ctx context.Context) (pg *Postgres, err error) {
	binDir, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	base, err := tempBase(cred)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, "odoo-backup-pg-")
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	pg = &Postgres{
		Host:          "127.0.0.1",
		User:          "postgres",
		Password:      randomHex(16),
		Owner:         OwnerRole,
		OwnerPassword: randomHex(16),
		BinDir:        binDir,
		Dir:           dir,
		DataDir:       filepath.Join(dir, "data"),
		SocketDir:     filepath.Join(dir, "sock"),
		LogFile:       filepath.Join(dir, "postgres.log"),
		cred:          cred,
	}
	if err := os.Mkdir(pg.SocketDir, 0o755); err != nil {
		return nil, err
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(pg.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		// The postgres user must own what it writes and reach it through a
		// directory MkdirTemp made root-only.
		for _, p := range []string{dir, pg.SocketDir, pwfile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("hand %s to the postgres user: %w", p, err)
			}
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
	}

	initdb := pg.command(ctx, "initdb", "-D", pg.DataDir,
		"--username="+pg.User, "--pwfile="+pwfile, "--auth=scram-sha-256",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	out, err := initdb.CombinedOutput()
	os.Remove(pwfile)
	if err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, tail(string(out), 20))
	}
	v, err := os.ReadFile(filepath.Join(pg.DataDir, "PG_VERSION"))
	if err != nil {
		return nil, fmt.Errorf("read server version: %w", err)
	}
	if pg.Version, err = strconv.Atoi(strings.TrimSpace(string(v))); err != nil {
		return nil, fmt.Errorf("read server version: %q: %w", v, err)
	}

	// Another process may take the port between our probe and the server's
	// bind: try a few more.
	for attempt := 1; ; attempt++ {
		if pg.Port, err = freePort(); err != nil {
			return nil, err
		}
		err = pg.startServer(ctx)
		if err == nil {
			return pg, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == 5 {
			return nil, err
		}
	}
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the postgres system user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// tempBase picks where the cluster directory goes: os.TempDir, unless the
// postgres user cannot reach it or the socket path would be too long.
func tempBase(cred *syscall.Credential) (string, error) {
	const maxBase = 60 // sun_path is 108 bytes; leave room for the rest
	for _, base := range []string{os.TempDir(), "/tmp"} {
		if len(base) > maxBase {
			continue
		}
		if cred == nil || traversable(base, cred) {
			return base, nil
		}
	}
	return "", fmt.Errorf("no temporary directory the postgres user can reach (tried %s and /tmp)", os.TempDir())
}

// traversable reports whether every directory from / down to dir lets cred
// through.
func traversable(dir string, cred *syscall.Credential) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err != nil {
			return false
		}
		var bit uint32 = 0o001
		switch {
		case st.Uid == cred.Uid:
			bit = 0o100
		case st.Gid == cred.Gid:
			bit = 0o010
		}
		if st.Mode&bit == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// command prepares one of the server binaries, as the postgres user when
// needed, with an environment that cannot redirect it elsewhere.
func (pg *Postgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(pg.BinDir, name), args...)
	cmd.Dir = pg.Dir
	cmd.Env = serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	return cmd
}

func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

var errPortInUse = errors.New("port already in use")

// startServer runs the postmaster on pg.Port and returns once it accepts
// connections. The caller holds pg.mu or owns pg exclusively.
func (pg *Postgres) startServer(ctx context.Context) error {
	logf, err := os.OpenFile(pg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		logf.Close()
		return err
	}
	cmd := exec.Command(filepath.Join(pg.BinDir, "postgres"), "-D", pg.DataDir,
		"-p", strconv.Itoa(pg.Port),
		"-c", "listen_addresses="+pg.Host,
		"-c", "unix_socket_directories="+pg.SocketDir,
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		// Not synchronous_commit=off: its commits sit in shared memory for up
		// to 200ms, and Stop or Kill would lose them. With fsync off, a
		// synchronous commit costs one write(2) anyway.
		"-c", "lc_messages=C",
		"-c", "max_wal_size=4GB",
		"-c", "checkpoint_timeout=30min",
	)
	cmd.Dir = pg.Dir
	cmd.Env = serverEnv()
	// Every server process inherits w: the pipe reaches EOF only when all of
	// them are gone, which is how Stop and Kill know the cluster is down.
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: pg.cred,
		Setpgid:    true,            // Kill takes the backends down with the postmaster
		Pdeathsig:  syscall.SIGKILL, // a killed test binary leaves no server behind
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	run := &serverRun{
		cmd:     cmd,
		exited:  make(chan struct{}),
		logDone: make(chan struct{}),
		ready:   make(chan struct{}),
	}
	go run.copyLog(r, logf)
	go func() {
		run.err = cmd.Wait()
		close(run.exited)
	}()

	select {
	case <-run.ready:
		pg.run = run
		return nil
	case <-run.exited:
		<-run.logDone
		if run.portInUse {
			return fmt.Errorf("postgres on port %d: %w", pg.Port, errPortInUse)
		}
		return fmt.Errorf("postgres exited during start-up (%v); log %s ends:\n%s", run.err, pg.LogFile, pg.LogTail(20))
	case <-ctx.Done():
		run.halt(syscall.SIGKILL)
		pg.removeStaleShm()
		return fmt.Errorf("postgres not ready on port %d: %w; log %s ends:\n%s", pg.Port, ctx.Err(), pg.LogFile, pg.LogTail(20))
	}
}

// copyLog appends the server's output to the log file, watching for the
// lines that say it is ready or could not bind its port.
func (run *serverRun) copyLog(r *os.File, logf *os.File) {
	defer close(run.logDone)
	defer logf.Close()
	defer r.Close()
	br := bufio.NewReader(r)
	ready := false
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			logf.WriteString(line)
			if !ready && strings.Contains(line, "database system is ready to accept connections") {
				ready = true
				close(run.ready)
			}
			if strings.Contains(line, "Address already in use") {
				run.portInUse = true
			}
		}
		if err != nil {
			return
		}
	}
}

// halt signals the postmaster (SIGKILL: its whole process group) and returns
// once every server process is gone.
func (run *serverRun) halt(sig syscall.Signal) {
	if sig == syscall.SIGKILL {
		syscall.Kill(-run.cmd.Process.Pid, sig)
	} else {
		run.cmd.Process.Signal(sig)
	}
	<-run.exited
	<-run.logDone
}

// Start restarts a stopped or killed cluster on the same port with the same
// data, running crash recovery if needed. It does nothing if the server is
// running.
func (pg *Postgres) Start() error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.closed {
		return errors.New("start postgres: cluster is closed")
	}
	if pg.run != nil {
		select {
		case <-pg.run.exited: // died on its own: start again
			<-pg.run.logDone
			pg.run = nil
		default:
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	return pg.startServer(ctx)
}

// Stop shuts the server down at once, like pg_ctl stop -m immediate: open
// sessions are cut and the next Start runs crash recovery. It returns once
// every server process is gone.
func (pg *Postgres) Stop() error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	pg.halt(syscall.SIGQUIT)
	return nil
}

// Kill ends every server process with SIGKILL, as the OOM killer would, and
// returns once they are gone.
func (pg *Postgres) Kill() error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	pg.halt(syscall.SIGKILL)
	return nil
}

func (pg *Postgres) halt(sig syscall.Signal) {
	if pg.run == nil {
		return
	}
	pg.run.halt(sig)
	pg.run = nil
}

// Running reports whether the server is up (started and not stopped, killed
// or crashed).
func (pg *Postgres) Running() bool {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.run == nil {
		return false
	}
	select {
	case <-pg.run.exited:
		return false
	default:
		return true
	}
}

// Close stops the server and removes its directory. It may be called more
// than once.
func (pg *Postgres) Close() error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.closed {
		return nil
	}
	pg.closed = true
	pg.halt(syscall.SIGQUIT)
	pg.removeStaleShm()
	if err := os.RemoveAll(pg.Dir); err != nil {
		return fmt.Errorf("remove cluster directory: %w", err)
	}
	return nil
}

// removeStaleShm deletes the System V segment a killed postmaster leaves
// behind (a clean or immediate shutdown removes it itself, a restart reuses
// it); without this every Kill then Close would leak one kernel segment.
func (pg *Postgres) removeStaleShm() {
	b, err := os.ReadFile(filepath.Join(pg.DataDir, "postmaster.pid"))
	if err != nil {
		return
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		return
	}
	f := strings.Fields(lines[6]) // "key shmid"
	if len(f) != 2 {
		return
	}
	if id, err := strconv.Atoi(f[1]); err == nil && id >= 0 {
		const ipcRMID = 0
		syscall.Syscall(syscall.SYS_SHMCTL, uintptr(id), ipcRMID, 0)
	}
}

// LogTail returns the last n lines of the server log.
func (pg *Postgres) LogTail(n int) string {
	b, err := os.ReadFile(pg.LogFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(string(b), n)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Conn is how to reach database db on this cluster as the superuser.
func (pg *Postgres) Conn(db string) core.DBConn {
	return core.DBConn{Host: pg.Host, Port: pg.Port, User: pg.User, Password: core.Secret(pg.Password), Database: db}
}

// ConnString is a postgres:// URL for database db, password included.
func (pg *Postgres) ConnString(db string) string { return ConnString(pg.Conn(db)) }

// ConnString is a postgres:// URL for c, password included, TLS off.
func ConnString(c core.DBConn) string {
	u := url.URL{
		Scheme:   "postgres",
		Host:     net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		Path:     "/" + c.Database,
		RawQuery: "sslmode=disable",
	}
	if c.Password.IsSet() {
		u.User = url.UserPassword(c.User, c.Password.Reveal())
	} else {
		u.User = url.User(c.User)
	}
	return u.String()
}

// Connect opens one connection to c.
func Connect(ctx context.Context, c core.DBConn) (*pgx.Conn, error) {
	cfg, err := connConfig(c)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s/%s: %w", c.Address(), c.Database, err)
	}
	return conn, nil
}

func connConfig(c core.DBConn) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(ConnString(c))
	if err != nil {
		return nil, fmt.Errorf("connection to %s/%s: %w", c.Address(), c.Database, err)
	}
	return cfg, nil
}

// Connect opens one connection to database db as the superuser.
func (pg *Postgres) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	return Connect(ctx, pg.Conn(db))
}

// CreateDatabase creates db the way Odoo does.
func (pg *Postgres) CreateDatabase(ctx context.Context, name string) error {
	return pg.Exec(ctx, "postgres", createDatabaseSQL(name))
}

func createDatabaseSQL(name string) string {
	return "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " ENCODING 'unicode' LC_COLLATE 'C' TEMPLATE template0"
}

// DropDatabase drops db if it exists, ending its sessions.
func (pg *Postgres) DropDatabase(ctx context.Context, name string) error {
	return pg.Exec(ctx, "postgres", "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// Exec runs one statement (or, without args, several) in database db.
func (pg *Postgres) Exec(ctx context.Context, db, sql string, args ...any) error {
	conn, err := pg.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("%s: %w", abbreviate(sql), err)
	}
	return nil
}

// QueryInt runs a query returning one integer (count(*), a sum, an id) in
// database db.
func (pg *Postgres) QueryInt(ctx context.Context, db, sql string, args ...any) (int64, error) {
	var n int64
	err := pg.queryRow(ctx, db, sql, args, &n)
	return n, err
}

// QueryString runs a query returning one text value in database db.
func (pg *Postgres) QueryString(ctx context.Context, db, sql string, args ...any) (string, error) {
	var s string
	err := pg.queryRow(ctx, db, sql, args, &s)
	return s, err
}

func (pg *Postgres) queryRow(ctx context.Context, db, sql string, args []any, dest any) error {
	conn, err := pg.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest); err != nil {
		return fmt.Errorf("%s: %w", abbreviate(sql), err)
	}
	return nil
}

func abbreviate(sql string) string {
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 80 {
		sql = sql[:77] + "..."
	}
	return sql
}

var _ io.Closer = (*Postgres)(nil)
