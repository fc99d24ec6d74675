package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// servers are the PostgreSQL and MinIO the tests share, each started by the
// first test that asks for it (servers.Postgres(t), servers.MinIO(t)).
var servers testbed.Servers

func TestMain(m *testing.M) {
	// The test binary doubles as odoo-backup, so tests can run the daemon
	// as a process of its own and kill it.
	if os.Getenv("ODOO_BACKUP_TEST_AS_MAIN") == "1" {
		main()
	}
	testbed.Main(m, &servers)
}

// cli runs commands against one catalog, the way a person types them.
type cli struct {
	t       *testing.T
	catalog string
	dir     string
	// secrets must never appear in any output.
	secrets []string
}

func newCLI(t *testing.T) *cli {
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "xdg"))
	return &cli{t: t, dir: dir, catalog: filepath.Join(dir, "catalog.db"), secrets: []string{pg.Password, minio.SecretKey}}
}

type result struct {
	stdout, stderr string
	code           int
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"--catalog", c.catalog}, args...), &out, &errOut)
	r := result{out.String(), errOut.String(), code}
	for _, s := range c.secrets {
		if s != "" && strings.Contains(r.stdout+r.stderr, s) {
			c.t.Fatalf("odoo-backup %s printed a secret:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
		}
	}
	return r
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("odoo-backup %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with code and one line on stderr
// containing want.
func (c *cli) fails(code int, want string, args ...string) {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("odoo-backup %s: exit %d, want %d\n%s%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	msg := strings.TrimSpace(r.stderr)
	if !strings.Contains(msg, want) {
		c.t.Errorf("odoo-backup %s: stderr %q, want it to contain %q", strings.Join(args, " "), msg, want)
	}
	if strings.Count(msg, "\n") > 0 {
		c.t.Errorf("odoo-backup %s: error should be one line, got %q", strings.Join(args, " "), msg)
	}
}

func (c *cli) json(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("odoo-backup %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (c *cli) addS3(name, bucket string) {
	c.t.Helper()
	minio := servers.MinIO(c.t)
	c.t.Setenv("TEST_S3_SECRET", minio.SecretKey)
	c.ok("destination", "add", name, "--endpoint", minio.Endpoint, "--bucket", bucket, "--prefix", "backups/odoo",
		"--access-key", minio.AccessKey, "--secret-key-env", "TEST_S3_SECRET", "--no-tls")
}

func (c *cli) addService(name string, odoo *testbed.OdooDB) {
	c.t.Helper()
	pg := servers.Postgres(c.t)
	c.t.Setenv("TEST_PG_PASSWORD", pg.Password)
	c.ok("service", "add", name, "--db", odoo.Name, "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port),
		"--pg-user", pg.User, "--pg-password-env", "TEST_PG_PASSWORD", "--filestore", odoo.FilestoreDir)
}

func generate(t *testing.T, db string) *testbed.OdooDB {
	t.Helper()
	return generateSeed(t, db, 42)
}

// generateSeed is generate with another seed, for a second service whose
// data must differ from the first's.
func generateSeed(t *testing.T, db string, seed int64) *testbed.OdooDB {
	t.Helper()
	pg := servers.Postgres(t)
	odoo, err := testbed.GenerateOdoo(context.Background(), pg, db, filepath.Join(t.TempDir(), "odoo"), testbed.OdooOptions{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return odoo
}

// onOneDisk adds the services "production" and "staging" with one local
// destination "disk" configured for both, backs production up there and
// returns that backup's id.
func (c *cli) onOneDisk(prod, staging *testbed.OdooDB) string {
	c.t.Helper()
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("production", prod)
	c.addService("staging", staging)
	c.ok("config", "set", "production", "disk")
	c.ok("config", "set", "staging", "disk")
	var bs []backupJSON
	c.json(&bs, "backup", "production")
	if len(bs) != 1 {
		c.t.Fatalf("backup production gave %d backups, want 1", len(bs))
	}
	return itoa(bs[0].ID)
}

func TestFreshMachineHome(t *testing.T) {
	c := newCLI(t)
	out := c.ok()
	if !strings.Contains(out, `local destination "local"`) || !strings.Contains(out, "odoo-backup service add") {
		t.Errorf("first run should create the local destination and say what to do next, got:\n%s", out)
	}
	if fi, err := os.Stat(c.catalog); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("catalog %v mode %v, want 0600", err, fi.Mode().Perm())
	}
	var dests []map[string]any
	c.json(&dests, "destination", "list")
	if len(dests) != 1 || dests[0]["name"] != "local" || dests[0]["kind"] != "local" {
		t.Errorf("destinations %v, want the one local destination", dests)
	}
	if out := c.ok(); strings.Contains(out, "Created") {
		t.Errorf("a second run must not create anything again:\n%s", out)
	}
}

func TestDestinations(t *testing.T) {
	minio := servers.MinIO(t)
	c := newCLI(t)
	bucket := minio.NewBucket(t)
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addS3("s3", bucket)

	c.fails(1, "already exists", "destination", "add", "disk", "--dir", c.dir)
	c.fails(2, "not allowed", "destination", "add", "../x", "--dir", c.dir)
	c.fails(2, "--bucket", "destination", "add", "nob", "--endpoint", minio.Endpoint)
	c.fails(2, "either --dir or --endpoint", "destination", "add", "both", "--dir", c.dir, "--endpoint", minio.Endpoint)
	t.Setenv("WRONG_SECRET", "definitely-wrong-secret")
	c.secrets = append(c.secrets, "definitely-wrong-secret")
	c.fails(1, "was not saved", "destination", "add", "bad", "--endpoint", minio.Endpoint, "--bucket", bucket,
		"--access-key", minio.AccessKey, "--secret-key-env", "WRONG_SECRET", "--no-tls")
	c.fails(1, "cannot reach", "destination", "add", "down", "--endpoint", "127.0.0.1:1", "--bucket", bucket,
		"--access-key", minio.AccessKey, "--secret-key-env", "WRONG_SECRET", "--no-tls")
	c.fails(1, "does not exist", "destination", "add", "nobucket", "--endpoint", minio.Endpoint, "--bucket", "no-such-bucket",
		"--access-key", minio.AccessKey, "--secret-key-env", "TEST_S3_SECRET", "--no-tls")
	c.fails(2, "MISSING_VAR", "destination", "add", "novar", "--endpoint", minio.Endpoint, "--bucket", bucket, "--secret-key-env", "MISSING_VAR")

	var dests []map[string]any
	c.json(&dests, "destination", "list")
	var names []string
	for _, d := range dests {
		names = append(names, d["name"].(string))
	}
	if strings.Join(names, ",") != "disk,s3" {
		t.Errorf("destinations %v, want only the two that work", names)
	}
}

// writeOdooConf writes to path the odoo.conf of a Debian installation that
// core's parser tests read too (the repository's top-level testdata/, see
// its README), with the [options] settings in set: comments, a continuation
// line and another section's db_password included, as on a real host.
func writeOdooConf(t *testing.T, path string, set map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "odoo.conf", "debian.conf"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	section, done := "", map[string]bool{}
	for i, line := range lines {
		if strings.HasPrefix(line, "[") {
			section = strings.TrimSpace(line)
			continue
		}
		key, _, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if v, want := set[key]; ok && want && section == "[options]" && !done[key] {
			lines[i], done[key] = key+" = "+v, true
		}
	}
	for key := range set {
		if !done[key] {
			t.Fatalf("debian.conf has no %s in [options] to set", key)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestServices(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	odoo := generate(t, "svc_conf")
	conf := filepath.Join(c.dir, "odoo.conf")
	writeOdooConf(t, conf, map[string]string{"db_host": pg.Host, "db_port": fmt.Sprint(pg.Port), "db_user": pg.User,
		"db_password": pg.Password, "data_dir": odoo.DataDir})
	c.ok("service", "add", "prod", "--from-odoo-conf", conf, "--db", odoo.Name)
	var svcs []map[string]any
	c.json(&svcs, "service", "list")
	if len(svcs) != 1 || svcs[0]["filestore"] != odoo.FilestoreDir || svcs[0]["odoo_conf"] != conf {
		t.Errorf("service from odoo.conf: %v; want filestore %s", svcs, odoo.FilestoreDir)
	}
	db := svcs[0]["db"].(map[string]any)
	if db["host"] != pg.Host || db["port"] != float64(pg.Port) || db["user"] != pg.User || db["database"] != odoo.Name {
		t.Errorf("connection from odoo.conf: %v", db)
	}

	t.Setenv("TEST_PG_PASSWORD", pg.Password)
	t.Setenv("BAD_PASSWORD", "Xy7-bad-password")
	c.secrets = append(c.secrets, "Xy7-bad-password")
	// Another database than prod's: a second service on prod's is refused before any login.
	c.fails(1, "refused the login", "service", "add", "bad", "--db", "postgres", "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port),
		"--pg-user", pg.User, "--pg-password-env", "BAD_PASSWORD")
	c.fails(1, "does not exist", "service", "add", "nodb", "--db", "no_such_db", "--pg-host", pg.Host, "--pg-port", fmt.Sprint(pg.Port),
		"--pg-user", pg.User, "--pg-password-env", "TEST_PG_PASSWORD")
	c.fails(1, "cannot read", "service", "add", "noconf", "--from-odoo-conf", filepath.Join(c.dir, "missing.conf"), "--db", "x")
	c.ok("service", "add", "later", "--db", "not_yet", "--pg-port", "1", "--no-check")
	c.fails(1, "already exists", "service", "add", "prod", "--db", "x", "--no-check")
	c.json(&svcs, "service", "list")
	if len(svcs) != 2 {
		t.Errorf("got %d services, want prod and later only", len(svcs))
	}
}

type configJSON struct {
	Service     string `json:"service"`
	Destination string `json:"destination"`
	Frequency   string `json:"frequency"`
	Primary     bool   `json:"primary"`
}

func (c *cli) configs(service string) string {
	var cs []configJSON
	c.json(&cs, "config", "list", service)
	var parts []string
	for _, x := range cs {
		s := x.Destination + ":" + x.Frequency
		if x.Primary {
			s += "*"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// Every rule of SPEC.md about configurations, the primary and templates,
// through the command line.
func TestConfigurationRules(t *testing.T) {
	c := newCLI(t)
	for _, d := range []string{"a", "b", "c"} {
		c.ok("destination", "add", d, "--dir", filepath.Join(c.dir, d))
	}
	c.ok("service", "add", "prod", "--db", "prod", "--no-check")

	c.ok("config", "set", "prod", "a", "--frequency", "hourly", "--keep", "24")
	if got := c.configs("prod"); got != "a:hourly*" {
		t.Errorf("first configuration: got %q, want it primary", got)
	}
	c.ok("config", "set", "prod", "b", "--frequency", "daily", "--keep-gfs", "7d,4w,2m")
	c.ok("config", "set", "prod", "c")
	if got := c.configs("prod"); got != "a:hourly* b:daily c:" {
		t.Errorf("got %q, want a primary, b daily, c manual", got)
	}
	c.ok("config", "set", "prod", "c", "--primary")
	if got := c.configs("prod"); got != "c:* a:hourly b:daily" {
		t.Errorf("moving the primary: got %q", got)
	}
	// Changing the primary's frequency keeps it primary.
	c.ok("config", "set", "prod", "c", "--frequency", "weekly")
	if got := c.configs("prod"); got != "c:weekly* a:hourly b:daily" {
		t.Errorf("updating the primary: got %q", got)
	}
	// Setting a destination again updates it: a destination appears once per service.
	c.ok("config", "set", "prod", "a", "--frequency", "monthly")
	if got := c.configs("prod"); got != "c:weekly* a:monthly b:daily" {
		t.Errorf("setting a destination twice: got %q", got)
	}
	c.fails(1, "primary", "config", "remove", "prod", "c")
	c.ok("config", "remove", "prod", "a")
	c.ok("config", "remove", "prod", "b")
	c.ok("config", "remove", "prod", "c")
	if got := c.configs("prod"); got != "" {
		t.Errorf("after removing all: got %q", got)
	}

	c.fails(1, "does not exist", "config", "set", "prod", "nowhere")
	c.fails(1, "does not exist", "config", "set", "nobody", "a")
	c.fails(2, "frequency", "config", "set", "prod", "a", "--frequency", "sometimes")
	c.fails(2, "unit", "config", "set", "prod", "a", "--keep-gfs", "7x")
	c.fails(2, "not both", "config", "set", "prod", "a", "--keep", "3", "--keep-gfs", "7d")
	c.fails(1, "has no destination", "backup", "prod")

	// Templates: a service made from one starts with exactly its set.
	c.ok("template", "add", "standard")
	c.ok("template", "set", "standard", "a", "--frequency", "hourly", "--keep", "24")
	c.ok("template", "set", "standard", "b", "--frequency", "daily", "--keep-gfs", "7d,4w,2m", "--primary")
	c.ok("template", "set", "standard", "c")
	c.fails(1, "primary", "template", "unset", "standard", "b")
	c.ok("service", "add", "shop", "--db", "shop", "--no-check", "--template", "standard")
	if got := c.configs("shop"); got != "b:daily* a:hourly c:" {
		t.Errorf("service from template: got %q, want b primary daily, a hourly, c manual", got)
	}
	c.fails(1, "does not exist", "service", "add", "ghost", "--db", "ghost", "--no-check", "--template", "nope")
	var svcs []map[string]any
	c.json(&svcs, "service", "list")
	if len(svcs) != 2 {
		t.Errorf("a failed service add left a service: %v", svcs)
	}
	c.fails(1, "shop", "destination", "remove", "b")
	c.ok("template", "add", "copy", "--from-service", "shop")
	var ts []struct {
		Name           string       `json:"name"`
		Configurations []configJSON `json:"configurations"`
	}
	c.json(&ts, "template", "list")
	if len(ts) != 2 || len(ts[0].Configurations) != 3 {
		t.Errorf("templates: %+v", ts)
	}
}
