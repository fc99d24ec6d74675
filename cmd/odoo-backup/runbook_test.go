package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
	"github.com/odoo-backup/odoo-backup/tui/runbook"
)

// The runbook is tried as a person would on the worst day: a service backed
// up to a local directory and to an encrypted S3 bucket loses its host (the
// catalog, its key, the database and the filestore); on a fresh catalog the
// runbook's commands, read out of its command block one by one with the
// secrets it names exported, bring the service back: the same database and
// filestore, owned by Odoo's role and user again.
func TestRunbookBringsTheServiceBackOnAFreshCatalog(t *testing.T) {
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	ctx := context.Background()
	c := newCLI(t)
	odoo := generate(t, "cli_runbook")
	source, err := testbed.Fingerprint(ctx, pg.Conn(odoo.Name), odoo.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	const passphrase = "runbook-passphrase-never-printed"
	t.Setenv("TEST_PASSPHRASE", passphrase)
	c.secrets = append(c.secrets, passphrase)

	bucket := minio.NewBucket(t)
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.t.Setenv("TEST_S3_SECRET", minio.SecretKey)
	c.ok("destination", "add", "s3-eu", "--endpoint", minio.Endpoint, "--bucket", bucket, "--prefix", "backups/odoo",
		"--region", "eu-west-1", "--access-key", minio.AccessKey, "--secret-key-env", "TEST_S3_SECRET", "--no-tls",
		"--encrypt-passphrase-env", "TEST_PASSPHRASE", "--layout", "zip")
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk", "--frequency", "daily", "--at", "02:30", "--keep-gfs", "7d,4w")
	c.ok("config", "set", "prod", "s3-eu", "--frequency", "weekly", "--weekday", "mon", "--at", "03:15", "--keep", "3", "--drill", "weekly")
	c.ok("backup", "prod", "--all-destinations")
	var bs []backupJSON
	c.json(&bs, "backup", "prod", "--destination", "s3-eu")
	newest := itoa(bs[0].ID)
	c.ok("drill", "prod", "--destination", "s3-eu")

	file := filepath.Join(c.dir, "runbook-prod.md")
	if out := c.ok("runbook", "prod", "-o", file); !strings.Contains(out, file) {
		t.Errorf("runbook -o should say where it wrote the page: %q", out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if printed := c.ok("runbook", "prod"); !strings.HasPrefix(printed, "# Disaster-recovery runbook: prod\n") || !strings.Contains(printed, runbook.CommandsHeading) {
		t.Errorf("runbook without -o should print the page:\n%s", printed)
	}
	for _, s := range c.secrets {
		if strings.Contains(page, s) {
			t.Fatalf("the runbook holds a secret:\n%s", page)
		}
	}
	for _, want := range []string{
		"# Disaster-recovery runbook: prod", "Database: " + odoo.Name, "Filestore: " + odoo.FilestoreDir,
		"### disk (primary)", "### s3-eu", "bucket " + bucket + ", prefix backups/odoo", "region eu-west-1",
		"Access key: " + minio.AccessKey, "secret key: sealed in the catalog", "age, with a passphrase",
		"Where its key is kept: not noted", "weekly Mon 03:15; retention: keep 3; drill: weekly",
		"Newest good backup: " + newest, "- RPO: ", "- RTO: ", "measured by drill", "- Last drill: ", ", ok, backup " + newest,
		"Whoever can read the catalog file " + c.catalog, "odoo-backup restore " + newest + " --service prod --yes",
		"If s3-eu is lost too",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the runbook lacks %q:\n%s", want, page)
		}
	}

	// The worst day: the host is gone, with its catalog, its key, the
	// database and the filestore. On the new host PostgreSQL has Odoo's
	// role, and Odoo's data directory is there, empty.
	if err := pg.DropDatabase(ctx, odoo.Name); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(odoo.FilestoreDir); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"TEST_PASSPHRASE", "TEST_S3_SECRET", "TEST_PG_PASSWORD"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	fresh := &cli{t: t, dir: t.TempDir(), secrets: c.secrets}
	fresh.catalog = filepath.Join(fresh.dir, "catalog.db")
	t.Setenv("XDG_DATA_HOME", filepath.Join(fresh.dir, "xdg"))

	// The secrets, exported as the page asks.
	section := page[strings.Index(page, runbook.CommandsHeading):]
	named := regexp.MustCompile("(?m)^- `([A-Z0-9_]+)`: (.*)$").FindAllStringSubmatch(section, -1)
	if len(named) != 3 {
		t.Fatalf("the runbook names %d secrets, want the S3 secret key, the passphrase and the PostgreSQL password:\n%s", len(named), section)
	}
	for _, m := range named {
		switch what := m[2]; {
		case strings.Contains(what, "S3 secret key"):
			t.Setenv(m[1], minio.SecretKey)
		case strings.Contains(what, "passphrase"):
			t.Setenv(m[1], passphrase)
		case strings.Contains(what, "PostgreSQL password"):
			t.Setenv(m[1], pg.Password)
		default:
			t.Fatalf("the runbook names a secret the test does not know: %s", m[0])
		}
	}
	block := section[strings.Index(section, "```sh\n")+len("```sh\n"):]
	block = block[:strings.Index(block, "```")]
	ran := 0
	for _, line := range strings.Split(block, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case line == "go install ./cmd/odoo-backup":
			continue // this test binary is odoo-backup
		case !strings.HasPrefix(line, "odoo-backup "):
			t.Fatalf("the runbook's command block holds a line that is not odoo-backup's: %q", line)
		}
		words := shellWords(t, os.ExpandEnv(line))
		fresh.ok(words[1:]...)
		ran++
	}
	if ran < 8 {
		t.Fatalf("ran %d commands of the runbook, want its destinations, rebuild, service, configurations, restore, verify and drill:\n%s", ran, block)
	}

	got, err := testbed.Fingerprint(ctx, pg.Conn(odoo.Name), odoo.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.WithoutChecklist().Diff(got.WithoutChecklist()); len(diff) > 0 {
		t.Fatalf("the service brought back differs from what was backed up:\n%s", diff)
	}
	if owner, err := pg.QueryString(ctx, "postgres", "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1", odoo.Name); err != nil || owner != odoo.Owner {
		t.Errorf("the database brought back belongs to %q (%v), want Odoo's role %q", owner, err, odoo.Owner)
	}
	if fi, err := os.Stat(odoo.FilestoreDir); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(odoo.UID) {
		t.Errorf("the filestore brought back: %v; want it owned by uid %d", err, odoo.UID)
	}

	// The other destination's line, for when the newest one's is lost too,
	// brings the same service back from the pool on disk.
	alt := regexp.MustCompile("(?m)^- from disk, backup [0-9]+ .*: `(odoo-backup restore [^`]+)`$").FindStringSubmatch(section)
	if alt == nil {
		t.Fatalf("the runbook gives no restore from disk for when s3-eu is lost:\n%s", section)
	}
	if err := pg.DropDatabase(ctx, odoo.Name); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(odoo.FilestoreDir); err != nil {
		t.Fatal(err)
	}
	fresh.ok(shellWords(t, os.ExpandEnv(alt[1]))[1:]...)
	if got, err = testbed.Fingerprint(ctx, pg.Conn(odoo.Name), odoo.FilestoreDir); err != nil {
		t.Fatal(err)
	}
	if diff := source.WithoutChecklist().Diff(got.WithoutChecklist()); len(diff) > 0 {
		t.Fatalf("the service brought back from disk differs from what was backed up:\n%s", diff)
	}

	var cfgs []struct {
		Destination string `json:"destination"`
		Frequency   string `json:"frequency"`
		Primary     bool   `json:"primary"`
	}
	fresh.json(&cfgs, "config", "list", "prod")
	if len(cfgs) != 2 || cfgs[0].Destination != "disk" || !cfgs[0].Primary || cfgs[0].Frequency != "daily" || cfgs[1].Frequency != "weekly" {
		t.Errorf("the configurations brought back: %+v, want disk (primary, daily) and s3-eu (weekly)", cfgs)
	}
}

// shellWords splits a command line as sh does for the words the runbook
// writes: blanks separate, single and double quotes group, and a backslash
// outside quotes takes the next character as it is (how a quote is written
// inside a single-quoted word: close the quotes, a backslash and the quote,
// open them again).
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote != 0 && ch == quote:
			quote = 0
		case quote != 0:
			w.WriteByte(ch)
		case ch == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			in = true
		case ch == '\'' || ch == '"':
			quote, in = ch, true
		case ch == ' ' || ch == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(ch)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// Every command line of a runbook is one the command line accepts: each
// names a command that exists, with flags it has and the arguments it
// takes, whatever kinds of destination, encryption, secret and schedule
// the service has. No secret stored in the catalog is on the page.
func TestRunbookCommandsAreTheCommandLines(t *testing.T) {
	ctx := context.Background()
	c := newCLI(t)
	cat, err := store.Open(ctx, c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const s3Secret, passphrase, pgPassword = "runbook-s3-secret-4411", "runbook-passphrase-9921", "runbook-pg-password-1777"
	c.secrets = append(c.secrets, s3Secret, passphrase, pgPassword)
	ref, err := core.SecretRef("file:/etc/odoo-backup/minio.secret")
	must(err)
	must(cat.AddDestination(ctx, &core.Destination{Name: "offsite", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/mnt/off site"}, Layout: core.LayoutPool,
		Encrypt: core.EncryptionSettings{Recipient: "age1recipientexample", KeyNote: "the admin's YubiKey"}}))
	must(cat.AddDestination(ctx, &core.Destination{Name: "s3-eu", Kind: core.DestinationS3, Layout: core.LayoutZip,
		Lock: core.ObjectLock{Mode: core.LockGovernance, Days: 400}, Limits: core.BandwidthLimits{Upload: 100_000_000 / 8, Download: 3 << 20},
		S3:      core.S3Settings{Endpoint: "s3.example.com:443", Region: "eu-west-1", Bucket: "acme", Prefix: "prod", AccessKey: "AKIAEXAMPLE", SecretKey: core.Secret(s3Secret), SSE: core.SSEKMS, SSEKMSKeyID: "alias/odoo", CAFile: "/etc/ssl/private-ca.pem"},
		Encrypt: core.EncryptionSettings{Passphrase: core.Secret(passphrase)}}))
	must(cat.AddDestination(ctx, &core.Destination{Name: "minio", Kind: core.DestinationS3,
		S3:      core.S3Settings{Endpoint: "minio.lan:9000", Bucket: "b", NoTLS: true, SecretKey: ref, SSE: core.SSES3},
		Encrypt: core.EncryptionSettings{Recipient: "age1keyfileexample", KeyFile: "/etc/odoo-backup/minio.key"}}))
	must(cat.AddService(ctx, &core.Service{Name: "shop", DB: core.DBConn{Host: "127.0.0.1", Port: 1, User: "postgres", Password: core.Secret(pgPassword), Database: "shop"},
		FilestoreDir: "/var/lib/odoo/filestore/shop"}, ""))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "shop", Destination: "offsite", Frequency: core.Weekly,
		Schedule: core.Schedule{Hour: 4, Minute: 30, Weekday: time.Saturday}, Retention: core.Retention{GFS: &core.GFS{Weekly: 4, Monthly: 12}}}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "shop", Destination: "s3-eu", Frequency: core.Hourly, Schedule: core.Schedule{Minute: 15}, Retention: core.Retention{KeepLast: 48}, Drill: core.Daily}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "shop", Destination: "minio", Frequency: core.Manual, Drill: core.Monthly, Schedule: core.Schedule{Hour: 2, MonthDay: 3}}))
	must(cat.SetServiceHook(ctx, "shop", core.Hook{Event: core.HookPreBackup, Command: "/etc/odoo-backup/stop cron", Timeout: 90 * time.Second}))
	for i, dest := range []string{"minio", "s3-eu", "offsite"} {
		started := time.Now().Add(-time.Duration(3-i) * time.Hour)
		b := core.Backup{Service: "shop", Destination: dest, Kind: core.KindScheduled, StartedAt: started}
		must(cat.CreateBackup(ctx, &b))
		finished := started.Add(time.Minute)
		b.Status, b.FinishedAt, b.Size = core.StatusSucceeded, &finished, 1000
		must(cat.UpdateBackup(ctx, b))
	}
	must(cat.Close())

	page := c.ok("runbook", "shop")
	var lines []string
	for _, l := range strings.Split(page, "\n") {
		l = strings.TrimSpace(l)
		if i := strings.Index(l, "`odoo-backup "); i >= 0 {
			l = l[i+1:]
			l = l[:strings.IndexByte(l, '`')]
		}
		if strings.HasPrefix(l, "odoo-backup ") {
			lines = append(lines, l)
		}
	}
	t.Setenv("IDENTITY_FILE_OFFSITE", "/root/offsite.key")
	t.Setenv("ODOO_DB_ROLE", "odoo")
	seen := map[string]bool{}
	for _, l := range lines {
		words := shellWords(t, os.ExpandEnv(l))
		root := (&app{stdout: io.Discard, stderr: io.Discard}).rootCommand()
		cmd, rest, err := root.Find(words[1:])
		if err != nil || cmd == root {
			t.Errorf("%s: names no command (%v)", l, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("%s: %v", l, err)
			continue
		}
		if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
			t.Errorf("%s: %v", l, err)
		}
		if f := cmd.Flags().Lookup("key-note"); f != nil && f.Changed {
			// The note comes back as it was, quote and all.
			if f.Value.String() != "the admin's YubiKey" {
				t.Errorf("%s: --key-note reads %q", l, f.Value.String())
			}
			seen["--key-note"] = true
		}
		for flag, want := range map[string]int64{"limit-upload": 100_000_000 / 8, "limit-download": 3 << 20} {
			if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
				// The limit reads back as the catalog holds it.
				if got, err := core.ParseRate(f.Value.String()); err != nil || got != want {
					t.Errorf("%s: --%s reads %d (%v), want %d", l, flag, got, err, want)
				}
				seen["--"+flag] = true
			}
		}
		seen[cmd.CommandPath()] = true
	}
	for _, want := range []string{"odoo-backup destination add", "odoo-backup catalog rebuild", "odoo-backup service add",
		"odoo-backup config set", "odoo-backup hook set", "odoo-backup restore", "odoo-backup verify", "odoo-backup drill", "--key-note", "--limit-upload", "--limit-download"} {
		if !seen[want] {
			t.Errorf("the runbook has no %s line:\n%s", want, page)
		}
	}
	for _, want := range []string{"--ca-file /etc/ssl/private-ca.pem", "--secret-key-ref file:/etc/odoo-backup/minio.secret", "--encrypt-key /etc/odoo-backup/minio.key",
		"--frequency manual --drill monthly --at 02:00", `--owner "$ODOO_DB_ROLE"`, "Where its key is kept: the admin's YubiKey",
		"odoo-backup hook set shop pre-backup '/etc/odoo-backup/stop cron' --timeout 1m30s",
		"--object-lock governance --lock-days 400 --limit-upload 12500000B/s --limit-download 3MiB/s"} {
		if !strings.Contains(page, want) {
			t.Errorf("the runbook lacks %q:\n%s", want, page)
		}
	}
}

// On a shared PostgreSQL catalog the runbook names who may restore: the
// catalog's owner and the admins, not the viewers; a viewer, who sees no
// secret, can write it too. It tells a new host it needs the fleet's key,
// and the owner of the service's database is asked of its server.
func TestRunbookNamesWhoMayRestoreOnASharedCatalog(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	db := pgCatalog(t, c, "cli_runbook_roles")
	odoo := generate(t, "cli_runbook_roles_odoo")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk")
	c.ok("backup", "prod")
	alice, aliceName := c.loggedInAs(db, "alice")
	bob, bobName := c.loggedInAs(db, "bob")
	c.ok("role", "grant", aliceName, "admin")
	c.ok("role", "grant", bobName, "viewer")
	for _, who := range []*cli{alice, bob} {
		page := who.ok("runbook", "prod")
		for _, want := range []string{"The database users with the admin role on the catalog, and its owner:",
			"- " + pg.User + " (owner)", "- " + aliceName + " (admin)", "odoo-backup key install-catalog FILE"} {
			if !strings.Contains(page, want) {
				t.Errorf("the runbook written by %s lacks %q:\n%s", who.catalog, want, page)
			}
		}
		if strings.Contains(page, bobName+" (") || strings.Contains(page, "Whoever can read the catalog file") {
			t.Errorf("the runbook names a viewer among those who may restore, or speaks of a catalog file:\n%s", page)
		}
	}
	if page := alice.ok("runbook", "prod"); !strings.Contains(page, "--owner "+odoo.Owner+" --no-neutralize") {
		t.Errorf("the runbook should restore into a database owned by %s, the owner of the service's:\n%s", odoo.Owner, page)
	}
	c.fails(1, `"nope"`, "runbook", "nope")
	c.fails(2, "", "runbook")
	c.fails(1, "give another file with -o", "runbook", "prod", "-o", filepath.Join(c.dir, "no-such-dir", "runbook.md"))
}
