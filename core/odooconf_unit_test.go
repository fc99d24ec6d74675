package core

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// debianConf is the shared odoo.conf of an Odoo installed from the Debian
// package (the repository's top-level testdata/, see its README): comments,
// a continuation line, and a later section whose db_password must be
// ignored. The command line's tests feed the same file to service add.
var debianConf = filepath.Join("..", "testdata", "odoo.conf", "debian.conf")

// readFixture is the content of a shared fixture.
func readFixture(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestParseOdooConf(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want OdooConf
	}{
		{"debian package", readFixture(t, debianConf), OdooConf{DBPort: 5432, DBUser: "odoo", DBPassword: "secret", DataDir: "/var/lib/odoo"}},
		{"colon syntax", "[options]\ndb_host: db.internal\ndb_port: 6432\ndb_user : odoo17\ndb_name:prod\n",
			OdooConf{DBHost: "db.internal", DBPort: 6432, DBUser: "odoo17", DBName: "prod"}},
		{"first delimiter wins", "[options]\ndb_password = a:b=c\ndata_dir: /srv/odoo=data\n",
			OdooConf{DBPassword: "a:b=c", DataDir: "/srv/odoo=data"}},
		{"inline comment characters are part of the value", "[options]\ndb_password = pa;ss#word ; not a comment\n",
			OdooConf{DBPassword: "pa;ss#word ; not a comment"}},
		{"False, None and empty mean unset", "[options]\ndb_host = None\ndb_port = False\ndb_user =\ndb_password = False\ndata_dir = \n",
			OdooConf{}},
		{"CRLF", "[options]\r\ndb_host = localhost\r\ndb_port = 5433\r\n", OdooConf{DBHost: "localhost", DBPort: 5433}},
		{"other sections ignored, options after them", "[other]\ndb_host = wrong\n[options]\ndb_host = right\n[after]\ndb_host = wrong again\n",
			OdooConf{DBHost: "right"}},
		{"indented comment and section", "  [options]  \n  ; db_host = commented\n\t# db_port = 1\ndb_host = h\n", OdooConf{DBHost: "h"}},
		{"unknown keys ignored", "[options]\nwithout_demo = all\nproxy_mode = True\nlimit_time_real = 120\n", OdooConf{}},
		{"last value wins", "[options]\ndb_host = a\ndb_host = b\n", OdooConf{DBHost: "b"}},
		{"unix socket host", "[options]\ndb_host = /var/run/postgresql\n", OdooConf{DBHost: "/var/run/postgresql"}},
		{"empty options", "[options]\n", OdooConf{}},
		{"no trailing newline", "[options]\ndb_name = prod", OdooConf{DBName: "prod"}},
		{"dbfilter", "[options]\ndbfilter = ^prod$\n", OdooConf{DBFilter: "^prod$"}},
		{"dbfilter False", "[options]\ndbfilter = False\n", OdooConf{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOdooConf(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("ParseOdooConf: %v", err)
			}
			if got != tc.want {
				t.Errorf("ParseOdooConf\n got %+v (password %q)\nwant %+v (password %q)", got, got.DBPassword.Reveal(), tc.want, tc.want.DBPassword.Reveal())
			}
		})
	}
}

func TestParseOdooConfRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"no options section", "[other]\ndb_host = x\n", "no [options] section"},
		{"empty file", "", "no [options] section"},
		{"keys before any section", "db_host = x\n", "no [options] section"},
		{"bad port", "[options]\ndb_port = abc\n", `line 2: db_port "abc" is not a port number`},
		{"port zero", "[options]\ndb_port = 0\n", `db_port "0"`},
		{"port too large", "[options]\n\ndb_port = 65536\n", `line 3: db_port "65536"`},
		{"negative port", "[options]\ndb_port = -5432\n", `db_port "-5432"`},
		{"unclosed section", "[options\ndb_host = x\n", "line 1: section header without ']'"},
		{"line without delimiter", "[options]\njust some words\n", "line 2: expected key = value"},
		{"empty key", "[options]\n= value\n", "line 2: expected key = value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOdooConf(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("ParseOdooConf(%q) = nil error, want one saying %q", tc.in, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseOdooConf(%q) error %q, want it to contain %q", tc.in, err, tc.want)
			}
		})
	}
}

// Python's ConfigParser, which Odoo uses, lower-cases option names.
func TestParseOdooConfKeyCase(t *testing.T) {
	got, err := ParseOdooConf(strings.NewReader("[options]\nDB_HOST = db.internal\nDb_Port = 6432\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.DBHost == "" && got.DBPort == 0 {
		t.Fatal("ParseOdooConf ignores DB_HOST / Db_Port; Odoo's ConfigParser lower-cases option names and reads them. Fix: key = strings.ToLower(key)")
	}
	if got.DBHost != "db.internal" || got.DBPort != 6432 {
		t.Errorf("ParseOdooConf = host %q port %d, want db.internal 6432", got.DBHost, got.DBPort)
	}
}

// A long line (an addons_path with many directories) must not stop the parse.
func TestParseOdooConfLongLine(t *testing.T) {
	long := "addons_path = " + strings.Repeat("/opt/odoo/custom/addons/module_collection,", 20000)
	in := "[options]\n" + long + "\ndb_name = prod\n"
	got, err := ParseOdooConf(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParseOdooConf with a %d-byte line: %v", len(long), err)
	}
	if got.DBName != "prod" {
		t.Errorf("DBName = %q, want prod", got.DBName)
	}
}

func TestReadOdooConf(t *testing.T) {
	dir := t.TempDir()
	path := debianConf
	c, err := ReadOdooConf(path)
	if err != nil || c.Path != path || c.DataDir != "/var/lib/odoo" {
		t.Errorf("ReadOdooConf(%s) = %+v, %v; want its settings and Path", path, c, err)
	}

	_, err = ReadOdooConf(filepath.Join(dir, "missing.conf"))
	if err == nil || !strings.Contains(err.Error(), "missing.conf") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadOdooConf(missing) = %v, want an error naming the file and wrapping ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("[options]\ndb_port = x\n"), 0o600)
	_, err = ReadOdooConf(bad)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "bad.conf") {
		t.Errorf("ReadOdooConf(bad port) = %v, want an ErrInvalid error naming the file", err)
	}
}

func TestFilestoreFor(t *testing.T) {
	if got, want := FilestoreFor("/var/lib/odoo", "prod"), "/var/lib/odoo/filestore/prod"; got != want {
		t.Errorf("FilestoreFor(/var/lib/odoo, prod) = %q, want %q", got, want)
	}
	if got, want := FilestoreFor("/srv/odoo/", "prod"), "/srv/odoo/filestore/prod"; got != want {
		t.Errorf("FilestoreFor(/srv/odoo/, prod) = %q, want %q", got, want)
	}

	home := t.TempDir()
	t.Setenv("HOME", home)
	db := "unit_test_db_that_exists_nowhere_else"
	want := filepath.Join(home, ".local", "share", "Odoo", "filestore", db)
	if got := FilestoreFor("", db); got != want {
		t.Errorf("FilestoreFor(\"\", %s) with nothing on disk = %q, want the user's %q", db, got, want)
	}
	if err := os.MkdirAll(want, 0o700); err != nil {
		t.Fatal(err)
	}
	if got := FilestoreFor("", db); got != want {
		t.Errorf("FilestoreFor(\"\", %s) with the user's filestore present = %q, want %q", db, got, want)
	}
}

func FuzzParseOdooConf(f *testing.F) {
	f.Add(readFixture(f, debianConf))
	f.Add("[options]\ndb_host: h\ndb_port: 5432\n")
	f.Add("[options\n")
	f.Add("")
	f.Add("[options]\n  continuation\n= x\n")
	f.Add("[options]\ndb_port = 99999999999999999999\n")
	f.Add("\ufeff[options]\r\ndb_password = False\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseOdooConf(strings.NewReader(s))
		if err != nil {
			return
		}
		if c.DBPort < 0 || c.DBPort > 65535 {
			t.Fatalf("ParseOdooConf(%q) accepted port %d", s, c.DBPort)
		}
		for _, v := range []string{c.DBHost, c.DBUser, c.DBName, c.DataDir, c.DBPassword.Reveal()} {
			if v != strings.TrimSpace(v) || strings.Contains(v, "\n") {
				t.Fatalf("ParseOdooConf(%q) kept a value with surrounding space or a newline: %q", s, v)
			}
		}
	})
}
