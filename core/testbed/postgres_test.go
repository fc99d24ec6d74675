package testbed

import (
	"context"
	"errors"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/odoo-backup/odoo-backup/core"
)

func TestPostgresBinDir(t *testing.T) {
	dir, err := PostgresBinDir()
	Need(t, "PostgreSQL", err)
	if !hasServerBinaries(dir) {
		t.Fatalf("PostgresBinDir() = %s, which lacks the server binaries", dir)
	}

	t.Run("env override", func(t *testing.T) {
		t.Setenv(PostgresBinEnv, dir)
		if got, err := PostgresBinDir(); err != nil || got != dir {
			t.Errorf("with %s=%s: got %q, %v; want %q", PostgresBinEnv, dir, got, err, dir)
		}
		empty := t.TempDir()
		t.Setenv(PostgresBinEnv, empty)
		if got, err := PostgresBinDir(); err == nil {
			t.Errorf("with %s=%s (empty): got %q, want an error", PostgresBinEnv, empty, got)
		}
		if _, err := EnsurePostgres(t.Context()); err == nil {
			t.Errorf("EnsurePostgres with a wrong %s: want an error, not an install", PostgresBinEnv)
		}
	})
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"15", "9.6", 1},
		{"9.6", "15", -1},
		{"16", "16", 0},
		{"10", "9", 1},
		{"9.6", "9.5", 1},
	}
	for _, tt := range tests {
		got := compareVersions(tt.a, tt.b)
		if (got > 0) != (tt.want > 0) || (got < 0) != (tt.want < 0) {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	ctx := t.Context()

	if pg.Host != "127.0.0.1" || pg.User != "postgres" || pg.Port == 0 || pg.Password == "" {
		t.Errorf("cluster fields: host %q user %q port %d password set %v", pg.Host, pg.User, pg.Port, pg.Password != "")
	}
	if pg.Version < 10 {
		t.Errorf("Version = %d, want a server major version", pg.Version)
	}
	if got, err := pg.QueryInt(ctx, "postgres", "SELECT current_setting('server_version_num')::int / 10000"); err != nil || int(got) != pg.Version {
		t.Errorf("server major = %d, %v; Version says %d", got, err, pg.Version)
	}

	t.Run("runs as the postgres user when root", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(pg.DataDir, "postmaster.pid"))
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
		var st syscall.Stat_t
		if err := syscall.Stat("/proc/"+strconv.Itoa(pid), &st); err != nil {
			t.Fatalf("postmaster %d: %v", pid, err)
		}
		want := uint32(os.Geteuid())
		if want == 0 {
			u, err := user.Lookup("postgres")
			if err != nil {
				t.Fatal(err)
			}
			uid, _ := strconv.Atoi(u.Uid)
			want = uint32(uid)
		}
		if st.Uid != want {
			t.Errorf("postmaster runs as uid %d, want %d", st.Uid, want)
		}
	})

	t.Run("wrong password refused", func(t *testing.T) {
		c := pg.Conn("postgres")
		c.Password = core.Secret("not-" + pg.Password)
		conn, err := Connect(ctx, c)
		if err == nil {
			conn.Close(ctx)
			t.Fatal("connected with a wrong password")
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			t.Errorf("wrong password: got %v, want SQLSTATE 28P01 (invalid_password)", err)
		}
		if method, err := pg.QueryString(ctx, "postgres", "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' LIMIT 1"); err != nil || method != "scram-sha-256" {
			t.Errorf("pg_hba host auth = %q, %v; want scram-sha-256", method, err)
		}
	})

	t.Run("create and drop database", func(t *testing.T) {
		const name = "Weird-Name 1"
		if err := pg.CreateDatabase(ctx, name); err != nil {
			t.Fatal(err)
		}
		enc, err := pg.QueryString(ctx, "postgres", "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate FROM pg_database WHERE datname = $1", name)
		if err != nil || enc != "UTF8 C" {
			t.Errorf("database encoding and collation = %q, %v; want \"UTF8 C\"", enc, err)
		}
		if err := pg.Exec(ctx, name, "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		conn, err := pg.Connect(ctx, name) // an open session must not block the drop
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if err := pg.DropDatabase(ctx, name); err != nil {
			t.Fatal(err)
		}
		if n, err := pg.QueryInt(ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname = $1", name); err != nil || n != 0 {
			t.Errorf("after DropDatabase: %d databases named %q, %v", n, name, err)
		}
		if err := pg.DropDatabase(ctx, name); err != nil {
			t.Errorf("DropDatabase of a missing database: %v", err)
		}
	})

	t.Run("connection string", func(t *testing.T) {
		cs := pg.ConnString("postgres")
		want := "postgres://postgres:" + pg.Password + "@127.0.0.1:" + strconv.Itoa(pg.Port) + "/postgres?sslmode=disable"
		if cs != want {
			t.Errorf("ConnString = %q, want %q", cs, want)
		}
	})
}

func TestPostgresStopStartKill(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	ctx := t.Context()
	port := pg.Port
	if err := pg.CreateDatabase(ctx, "keep"); err != nil {
		t.Fatal(err)
	}
	if err := pg.Exec(ctx, "keep", "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)"); err != nil {
		t.Fatal(err)
	}
	// A session open across Stop must be cut.
	conn, err := pg.Connect(ctx, "keep")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if pg.Running() {
		t.Error("Running() after Stop = true")
	}
	if err := conn.Ping(ctx); err == nil {
		t.Error("a session survived Stop")
	}
	if _, err := pg.QueryInt(ctx, "keep", "SELECT 1"); err == nil {
		t.Error("query succeeded while stopped")
	}
	if err := pg.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if pg.Port != port {
		t.Errorf("port after Start = %d, want %d", pg.Port, port)
	}
	if n, err := pg.QueryInt(ctx, "keep", "SELECT sum(x) FROM t"); err != nil || n != 500500 {
		t.Errorf("after Stop/Start: sum = %d, %v; want 500500", n, err)
	}

	if err := pg.Exec(ctx, "keep", "INSERT INTO t VALUES (1000000)"); err != nil {
		t.Fatal(err)
	}
	if err := pg.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := pg.Start(); err != nil {
		t.Fatalf("Start after Kill: %v", err)
	}
	if n, err := pg.QueryInt(ctx, "keep", "SELECT sum(x) FROM t"); err != nil || n != 1500500 {
		t.Errorf("after Kill/Start: sum = %d, %v; want 1500500", n, err)
	}
	if err := pg.Start(); err != nil {
		t.Errorf("Start while running: %v", err)
	}

	// Someone took the port while the server was down: Start says so (and
	// NewPostgres would try another port).
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)))
	if err != nil {
		t.Fatal(err)
	}
	err = pg.Start()
	l.Close()
	if !errors.Is(err, errPortInUse) {
		t.Errorf("Start on a taken port: %v, want errPortInUse", err)
	}
	if err := pg.Start(); err != nil {
		t.Fatalf("Start once the port is free: %v", err)
	}
	if n, err := pg.QueryInt(ctx, "keep", "SELECT count(*) FROM t"); err != nil || n != 1001 {
		t.Errorf("after the failed start: %d rows, %v; want 1001", n, err)
	}
}

func TestPostgresClose(t *testing.T) {
	t.Parallel()
	pg, err := NewPostgres(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Kill(); err != nil { // a killed cluster must still close cleanly
		t.Fatal(err)
	}
	if err := pg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pg.Dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory after Close: %v, want it gone", err)
	}
	if err := pg.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := pg.Start(); err == nil {
		t.Error("Start after Close succeeded")
	}
}
