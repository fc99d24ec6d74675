package main

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A host's catalog moves into a shared PostgreSQL catalog, and a backup made
// before is restored through it: on this host, with the key the migration
// sealed its secrets with, and on a second host once the fleet's key is
// installed there (before, one sentence says what is missing).
func TestCatalogMigrateThenRestoreOnAnotherHost(t *testing.T) {
	ctx := context.Background()
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	c := newCLI(t)
	prod := generate(t, "cli_mig_prod")
	t.Setenv("TEST_S3_SECRET", minio.SecretKey)
	t.Setenv("TEST_PASSPHRASE", "migrate-passphrase")
	c.secrets = append(c.secrets, "migrate-passphrase")
	c.ok("destination", "add", "s3", "--endpoint", minio.Endpoint, "--bucket", minio.NewBucket(t), "--prefix", "odoo",
		"--access-key", minio.AccessKey, "--secret-key-env", "TEST_S3_SECRET", "--no-tls", "--encrypt-passphrase-env", "TEST_PASSPHRASE")
	c.addService("prod", prod)
	c.ok("config", "set", "prod", "s3")
	c.ok("backup", "prod")
	c.ok("backup", "prod")
	var before []backupJSON
	c.json(&before, "backups", "prod")
	if len(before) != 2 {
		t.Fatalf("backups before: %+v", before)
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(pg.CreateDatabase(ctx, "cli_mig_catalog"))
	t.Cleanup(func() { pg.DropDatabase(context.Background(), "cli_mig_catalog") })
	shared := pg.ConnString("cli_mig_catalog")
	out := c.ok("catalog", "migrate", "--to", shared)
	for _, want := range []string{"1 destinations added", "1 services", "2 backups under the same ids", "3 secrets sealed with the key",
		"ODOO_BACKUP_CATALOG=", "odoo-backup key install-catalog FILE"} {
		if !strings.Contains(out, want) {
			t.Errorf("catalog migrate printed:\n%s\nwant %q in it", out, want)
		}
	}
	c.fails(1, `the service "prod" is already in`, "catalog", "migrate", "--to", shared)

	// This host, on the shared catalog: the same ids, and a restore.
	hostA := c.dataDirEnv()
	onShared := &cli{t: t, dir: c.dir, catalog: shared, secrets: c.secrets}
	var after []backupJSON
	onShared.json(&after, "backups", "prod")
	if len(after) != 2 || after[0].ID != before[0].ID || after[1].ID != before[1].ID || after[0].SHA256 != before[0].SHA256 {
		t.Fatalf("backups on the shared catalog: %+v, want %+v", after, before)
	}
	id := itoa(before[0].ID)
	if out := onShared.ok("restore", id, "--new-db", "cli_mig_restored_a", "--filestore", filepath.Join(c.dir, "fs-a")); !strings.Contains(out, "restored into database cli_mig_restored_a") {
		t.Errorf("restore through the shared catalog: %s", out)
	}
	onShared.ok("key", "export-catalog", "-o", filepath.Join(c.dir, "fleet.key"))

	// Host b: its own data directory, no key yet.
	hostB := filepath.Join(c.dir, "host-b")
	t.Setenv("XDG_DATA_HOME", hostB)
	keyB := filepath.Join(hostB, "odoo-backup", "catalog.key")
	onShared.fails(1, "this host has no key for the catalog's secrets at "+keyB+"; install the fleet's key with: odoo-backup key install-catalog FILE",
		"restore", id, "--new-db", "cli_mig_restored_b", "--filestore", filepath.Join(c.dir, "fs-b"))
	if n, err := pg.QueryInt(ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'cli_mig_restored_b'"); err != nil || n != 0 {
		t.Errorf("the refused restore left a database (%d, %v)", n, err)
	}
	// Another fleet's key is refused, and not installed.
	other := filepath.Join(c.dir, "other.key")
	junk := make([]byte, 32)
	rand.Read(junk)
	must(os.WriteFile(other, junk, 0o600))
	onShared.fails(1, "is not the key of the catalog", "key", "install-catalog", other)
	if _, err := os.Stat(keyB); !os.IsNotExist(err) {
		t.Errorf("a refused key was installed at %s (%v)", keyB, err)
	}
	if out := onShared.ok("key", "install-catalog", filepath.Join(c.dir, "fleet.key")); !strings.Contains(out, "Installed the catalog key at "+keyB) {
		t.Errorf("key install-catalog: %s", out)
	}
	if fi, err := os.Stat(keyB); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("installed key: %v, %v; want owner-only", fi, err)
	}
	if out := onShared.ok("restore", id, "--new-db", "cli_mig_restored_b", "--filestore", filepath.Join(c.dir, "fs-b")); !strings.Contains(out, "restored into database cli_mig_restored_b") {
		t.Errorf("restore on host b after installing the key: %s", out)
	}
	if n, err := pg.QueryInt(ctx, "cli_mig_restored_b", "SELECT count(*) FROM ir_attachment"); err != nil || n != int64(prod.Attachments) {
		t.Errorf("restored database has %d attachments (%v), want %d", n, err, prod.Attachments)
	}
	onShared.fails(1, "already exists", "key", "export-catalog", "-o", filepath.Join(c.dir, "fleet.key"))

	// Host c has a catalog of its own, at the default place: its key lies
	// where the shared catalog's would, and its backup ids are the ones the
	// shared catalog gives already.
	hostC := filepath.Join(c.dir, "host-c")
	t.Setenv("XDG_DATA_HOME", hostC)
	onC := &cli{t: t, dir: c.dir, catalog: filepath.Join(hostC, "odoo-backup", "catalog.db"), secrets: c.secrets}
	onC.ok("destination", "add", "c-disk", "--dir", filepath.Join(c.dir, "c-disk"))
	onC.addService("erp-c", prod)
	onC.ok("config", "set", "erp-c", "c-disk")
	onC.ok("backup", "erp-c")
	onC.fails(1, "give the fleet's key with --key FILE", "catalog", "migrate", "--to", shared)
	onC.fails(1, "the backup id 1 already names other backups", "catalog", "migrate", "--to", shared, "--key", filepath.Join(c.dir, "fleet.key"))
	out = onC.ok("catalog", "migrate", "--to", shared, "--key", filepath.Join(c.dir, "fleet.key"), "--renumber-backups")
	if !strings.Contains(out, "backup 1 is now backup 3") || !strings.Contains(out, "ODOO_BACKUP_CATALOG_KEY="+filepath.Join(c.dir, "fleet.key")) {
		t.Errorf("catalog migrate --renumber-backups printed:\n%s", out)
	}
	t.Setenv("ODOO_BACKUP_CATALOG_KEY", filepath.Join(c.dir, "fleet.key"))
	var onCShared []backupJSON
	onShared.json(&onCShared, "backups", "erp-c")
	if len(onCShared) != 1 || onCShared[0].ID != 3 {
		t.Fatalf("erp-c's backups on the shared catalog: %+v, want backup 3", onCShared)
	}
	if out := onShared.ok("verify", "3"); !strings.Contains(out, "is sound") {
		t.Errorf("verify 3: %s", out)
	}
	t.Setenv("XDG_DATA_HOME", hostA)
}

// dataDirEnv is the XDG_DATA_HOME the test set for this cli.
func (c *cli) dataDirEnv() string { return os.Getenv("XDG_DATA_HOME") }

// Each bad input is one sentence, and nothing is written anywhere.
func TestCatalogMigrateBadInput(t *testing.T) {
	ctx := context.Background()
	pg := servers.Postgres(t)
	c := newCLI(t)
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	if err := pg.CreateDatabase(ctx, "cli_mig_bad"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.DropDatabase(context.Background(), "cli_mig_bad") })
	good := pg.ConnString("cli_mig_bad")
	u, _ := url.Parse(good)
	u.User = url.UserPassword(pg.User, "wrong-password")
	wrongPassword := u.String()
	u, _ = url.Parse(good)
	u.Path = "/cli_mig_no_such_db"
	noDB := u.String()

	c.fails(1, "/x?sslmode=disable&connect_timeout=2 is unreachable", "catalog", "migrate", "--to", "postgres://"+pg.User+"@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	c.fails(1, "refused the login", "catalog", "migrate", "--to", wrongPassword)
	c.fails(1, "does not exist (database \"cli_mig_no_such_db\" does not exist); create it (createdb)", "catalog", "migrate", "--to", noDB)
	c.fails(2, "is not a PostgreSQL URL", "catalog", "migrate", "--to", filepath.Join(c.dir, "other.db"))
	c.fails(2, "say which PostgreSQL catalog", "catalog", "migrate")
	// This host's daemon still runs the schedules of the old catalog.
	d := c.startDaemon()
	d.waitFor("no missed backup to catch up on", 1)
	c.fails(1, "would go on writing to it; stop it first", "catalog", "migrate", "--to", good)
	d.stop()
	missing := &cli{t: t, dir: c.dir, catalog: filepath.Join(c.dir, "nope", "catalog.db"), secrets: c.secrets}
	missing.fails(1, "there is no catalog at "+filepath.Join(c.dir, "nope", "catalog.db")+" to migrate", "catalog", "migrate", "--to", good)
	if _, err := os.Stat(filepath.Join(c.dir, "nope")); !os.IsNotExist(err) {
		t.Errorf("migrating a missing catalog created it (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "xdg", "odoo-backup", "catalog.key")); !os.IsNotExist(err) {
		t.Errorf("a failed migration created the shared catalog's key (%v)", err)
	}
	if n, err := pg.QueryInt(ctx, "cli_mig_bad", "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"); err != nil || n != 0 {
		t.Errorf("a failed migration wrote %d tables into the target (%v)", n, err)
	}
	if n, err := pg.QueryInt(ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'cli_mig_no_such_db'"); err != nil || n != 0 {
		t.Errorf("the missing database was created (%d, %v)", n, err)
	}
	// The shared catalog is migrated into from SQLite only.
	onShared := &cli{t: t, dir: c.dir, catalog: good, secrets: c.secrets}
	onShared.fails(2, "is already in PostgreSQL", "catalog", "migrate", "--to", good)
}
