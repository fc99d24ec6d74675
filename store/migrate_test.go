package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// migrationSource is an SQLite catalog as a host that used odoo-backup for
// a while has it: two encrypted destinations (one S3 with a sealed secret
// key), one S3 destination whose secret is a reference, services with
// sealed passwords (one of them from before services had a host), a
// template, configurations with their primaries, and a long history
// (succeeded, failed, rotated and deleted backups, some of a service since
// removed), drills and the audit trail.
func migrationSource(t *testing.T, backups int) *Catalog {
	t.Helper()
	ctx := context.Background()
	src, err := Open(ctx, filepath.Join(t.TempDir(), "host-a", "catalog.db"), WithClock(tickingClock()))
	must(t, err)
	t.Cleanup(func() { src.Close() })
	addSecretDestination(t, src, "s3")
	nas := core.Destination{Name: "nas", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/mnt/nas"},
		Encrypt: core.EncryptionSettings{Passphrase: "nas-passphrase"}}
	must(t, src.AddDestination(ctx, &nas))
	ref, err := core.SecretRef("env:MIGRATE_TEST_S3_SECRET")
	must(t, err)
	offsite := core.Destination{Name: "offsite", Kind: core.DestinationS3,
		S3: core.S3Settings{Endpoint: "offsite.example.com:443", Bucket: "off", AccessKey: "AKIAOFF", SecretKey: ref}}
	must(t, src.AddDestination(ctx, &offsite))
	for _, name := range []string{"prod", "staging", "gone"} {
		addSecretService(t, src, name)
	}
	must(t, src.AddTemplate(ctx, &core.Template{Name: "std", Configurations: []core.TemplateConfiguration{
		{Destination: "nas", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}, Primary: true},
		{Destination: "s3", Frequency: core.Weekly, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 4}, Drill: core.Monthly},
	}}))
	s := core.Service{Name: "templated", DB: core.DBConn{Host: "db", Port: 5432, User: "odoo", Database: "templated"}}
	must(t, src.AddService(ctx, &s, "std"))
	setConfig(t, src, "prod", "nas", true)
	setConfig(t, src, "prod", "s3", false)
	setConfig(t, src, "staging", "s3", true)
	setConfig(t, src, "gone", "nas", true)

	statuses := []core.BackupStatus{core.StatusSucceeded, core.StatusSucceeded, core.StatusFailed, core.StatusRotated, core.StatusDeleted}
	services := []string{"prod", "staging", "gone", "templated"}
	dests := []string{"nas", "s3", "offsite"}
	for i := 0; i < backups; i++ {
		b := core.Backup{Service: services[i%len(services)], Destination: dests[i%len(dests)], Kind: core.KindScheduled,
			Status: statuses[i%len(statuses)], Key: fmt.Sprintf("backups/%d.zip", i), Size: int64(1000 + i), SHA256: fmt.Sprintf("%064x", i)}
		if b.Status == core.StatusFailed {
			b.Error = "pg_dump: connection refused"
		}
		must(t, src.CreateBackup(ctx, &b))
	}
	for i := 0; i < 5; i++ {
		d := core.Drill{Service: services[i%2], BackupID: int64(i + 1), Destination: "nas"}
		must(t, src.AddDrill(ctx, &d))
	}
	d := core.Drill{Service: "gone", BackupID: 3, Destination: "nas"}
	must(t, src.AddDrill(ctx, &d))
	must(t, src.RemoveService(ctx, "gone"))
	must(t, src.AddAudit(ctx, &core.AuditEntry{Action: core.ActionRestore, Service: "prod", Target: "backup 1", Outcome: core.AuditFailed, Error: "no space"}))
	// A catalog from before hosts: its services name none.
	_, err = src.db.Exec(`UPDATE services SET host = '' WHERE name = 'staging'`)
	must(t, err)
	return src
}

// migrationTarget is a new PostgreSQL catalog, with its own key file.
func migrationTarget(t *testing.T) *Catalog {
	t.Helper()
	pg := servers.Postgres(t)
	name := fmt.Sprintf("migrate_%d", catalogDatabases.Add(1))
	ctx := context.Background()
	must(t, pg.CreateDatabase(ctx, name))
	t.Cleanup(func() { pg.DropDatabase(context.Background(), name) })
	dst, err := Open(ctx, pg.ConnString(name), WithKeyFile(filepath.Join(t.TempDir(), "fleet", "catalog.key")))
	must(t, err)
	t.Cleanup(func() { dst.Close() })
	return dst
}

// rowsOf renders each row of query as text, for comparing two catalogs;
// integers print alike whatever their width.
func rowsOf(t *testing.T, c *Catalog, query string) []string {
	t.Helper()
	rows, err := c.db.Query(query)
	must(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	must(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(t, rows.Scan(ptrs...))
		parts := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " | "))
	}
	must(t, rows.Err())
	return out
}

func sameRows(t *testing.T, what string, src, dst []string) {
	t.Helper()
	if len(src) != len(dst) {
		t.Errorf("%s: %d rows in the source, %d in the target", what, len(src), len(dst))
		return
	}
	for i := range src {
		if src[i] != dst[i] {
			t.Errorf("%s row %d:\nsource %s\ntarget %s", what, i, src[i], dst[i])
			return
		}
	}
}

func TestMigrateCatalogIntoPostgres(t *testing.T) {
	ctx := context.Background()
	t.Setenv("MIGRATE_TEST_S3_SECRET", "from-the-environment")
	src := migrationSource(t, 2000)
	dst := migrationTarget(t)
	// Another host's rows take the target's first ids, so every copied
	// reference must be renumbered to be right.
	addLocal(t, dst, "b-disk")
	core.SetHostName("host-b")
	addService(t, dst, "erp-b")
	core.SetHostName("")
	setConfig(t, dst, "erp-b", "b-disk", true)
	notB := func(rows []string) []string {
		var out []string
		for _, r := range rows {
			if !strings.Contains(r, "erp-b") && !strings.Contains(r, "b-disk") {
				out = append(out, r)
			}
		}
		return out
	}

	start := time.Now()
	res, err := Migrate(ctx, src, dst, MigrateOptions{})
	must(t, err)
	t.Logf("migrated %d backups and %d audit entries in %v", res.Backups, res.Audit, time.Since(start))
	want := MigrateResult{Destinations: 3, Services: 3, Configurations: 5, Templates: 1, TemplateConfigurations: 2,
		Backups: 2000, Drills: 6, Secrets: 5, References: 1, Host: core.HostName()}
	var srcAudit int
	must(t, src.db.QueryRow(`SELECT COUNT(*) FROM audit`).Scan(&srcAudit))
	want.Audit = srcAudit
	if !reflect.DeepEqual(res, want) {
		t.Errorf("Migrate counted\n %+v\nwant %+v", res, want)
	}

	// Every table, row by row: ids of backups equal, the others' references
	// by name, since the target numbers those rows itself.
	for _, q := range []struct{ what, query string }{
		{"destinations", `SELECT name, kind, dir, endpoint, region, bucket, prefix, access_key, no_tls, sse, created_at, sse_kms_key_id, ca_file, encrypt_recipient, encrypt_key_file, layout FROM destinations ORDER BY name`},
		{"services", `SELECT name, db_host, db_port, db_user, db_name, filestore_dir, odoo_conf, placeholder, created_at FROM services ORDER BY name`},
		{"configurations", `SELECT s.name, d.name, c.frequency, c.minute, c.hour, c.weekday, c.month_day, c.keep_last, c.gfs_hourly, c.gfs_daily, c.gfs_weekly, c.gfs_monthly, c.gfs_yearly, c.is_primary, c.drill
			FROM configurations c JOIN services s ON s.id = c.service_id JOIN destinations d ON d.id = c.destination_id ORDER BY s.name, d.name`},
		{"template configurations", `SELECT t.name, d.name, c.frequency, c.minute, c.hour, c.keep_last, c.is_primary, c.drill
			FROM template_configurations c JOIN templates t ON t.id = c.template_id JOIN destinations d ON d.id = c.destination_id ORDER BY t.name, d.name`},
		{"backups", `SELECT b.id, s.name, b.service_name, d.name, b.destination_name, b.kind, b.status, b.key, b.size, b.sha256, b.started_at, b.finished_at, b.error,
			b.database, b.format, b.odoo_version, b.pg_version, b.phase, b.bytes, b.host, b.pid, b.updated_at, b.encryption, b.missing_count, b.missing_files, b.progress_at, b.process_start, b.pool
			FROM backups b LEFT JOIN services s ON s.id = b.service_id LEFT JOIN destinations d ON d.id = b.destination_id ORDER BY b.id`},
		{"drills", `SELECT s.name, r.service_name, r.backup_id, r.destination, r.status, r.started_at, r.finished_at, r.details, r.error
			FROM drills r LEFT JOIN services s ON s.id = r.service_id ORDER BY r.id`},
		{"audit", `SELECT at, os_user, ssh_client, action, service, target, detail, outcome, error FROM audit WHERE action <> 'catalog migrate' ORDER BY id`},
	} {
		sameRows(t, q.what, rowsOf(t, src, q.query), notB(rowsOf(t, dst, q.query)))
	}

	// Services keep their host; one that had none gets this host's.
	for _, name := range []string{"prod", "staging", "templated"} {
		s, err := dst.Service(ctx, name)
		must(t, err)
		if s.Host != core.HostName() {
			t.Errorf("service %s: host %q in the target, want %q", name, s.Host, core.HostName())
		}
		if name != "templated" && s.DB.Password.Reveal() != testPassword {
			t.Errorf("service %s: its password does not decrypt to the same value with the target's key", name)
		}
	}
	// Secrets: sealed again with the target's key (another key, another
	// ciphertext), decrypting to the same values; the reference stays one.
	for _, name := range []string{"s3", "nas", "offsite"} {
		a, err := src.Destination(ctx, name)
		must(t, err)
		b, err := dst.Destination(ctx, name)
		must(t, err)
		a.ID, b.ID = 0, 0
		if !reflect.DeepEqual(a, b) {
			t.Errorf("destination %s:\nsource %+v\ntarget %+v", name, a, b)
		}
	}
	d, err := dst.Destination(ctx, "s3")
	must(t, err)
	if d.S3.SecretKey.Reveal() != testSecretKey || d.Encrypt.Passphrase.Reveal() != testPassphrase {
		t.Error("the secrets of s3 do not decrypt to the same values with the target's key")
	}
	for _, q := range []string{`SELECT secret_key FROM destinations WHERE name = 's3'`, `SELECT encrypt_passphrase FROM destinations WHERE name = 'nas'`, `SELECT db_password FROM services WHERE name = 'prod'`} {
		before, after := storedColumn(t, src, q), storedColumn(t, dst, q)
		if !strings.HasPrefix(after, encPrefix) || after == before {
			t.Errorf("%s: %.20s... in the target, want it sealed again with the target's key", q, after)
		}
	}
	if v := storedColumn(t, dst, `SELECT secret_key FROM destinations WHERE name = 'offsite'`); v != refPrefix+"env:MIGRATE_TEST_S3_SECRET" {
		t.Errorf("the reference is stored as %q in the target", v)
	}
	if fi, err := os.Stat(dst.KeyFile()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the target's key file: %v, %v; want it created, owner-only", fi, err)
	}
	// One audit entry says who migrated what from where.
	entries, err := dst.Audit(ctx, core.AuditFilter{Limit: 1})
	must(t, err)
	if len(entries) != 1 || entries[0].Action != core.ActionCatalogMigrate || !strings.Contains(entries[0].Detail, "from host "+core.HostName()) ||
		!strings.Contains(entries[0].Detail, "2000 backups") || entries[0].User == "" || !strings.Contains(entries[0].Target, src.Path()) {
		t.Errorf("the last audit entry is %+v; want the migration, with its host and counts", entries)
	}
	// The sequence moved past the copied ids: a new backup gets a new id.
	nb := core.Backup{Service: "prod", Destination: "nas", Kind: core.KindManual, Status: core.StatusRunning}
	must(t, dst.CreateBackup(ctx, &nb))
	if nb.ID != 2001 {
		t.Errorf("the first backup after the migration got id %d, want 2001", nb.ID)
	}
	must(t, dst.RemoveConfiguration(ctx, "prod", "s3"))

	// Again: the services are there, nothing is written.
	before := dump(t, dst)
	_, err = Migrate(ctx, src, dst, MigrateOptions{})
	if !errors.Is(err, core.ErrExists) || !strings.Contains(err.Error(), `"prod", "staging" and "templated" are already in`) || !strings.Contains(err.Error(), "nothing was migrated") {
		t.Errorf("a second migration: %v; want it refused, naming the services", err)
	}
	if after := dump(t, dst); after != before {
		t.Errorf("a refused migration changed the target:\n%s\nwas\n%s", after, before)
	}
	entries, err = dst.Audit(ctx, core.AuditFilter{Limit: 1})
	must(t, err)
	if len(entries) != 1 || entries[0].Action != core.ActionCatalogMigrate || entries[0].Outcome != core.AuditFailed || !strings.Contains(entries[0].Error, "nothing was migrated") {
		t.Errorf("the refused migration is audited as %+v; want it failed, with the reason", entries)
	}
}

// A fleet shares its buckets: a destination the target already has, with
// the same settings and secrets, is used as it is; other settings are
// refused with nothing written; so are backup ids the target already gives.
func TestMigrateSharesIdenticalDestinations(t *testing.T) {
	ctx := context.Background()
	t.Setenv("MIGRATE_TEST_S3_SECRET", "from-the-environment")
	src := migrationSource(t, 20)
	dst := migrationTarget(t)
	addSecretDestination(t, dst, "s3")
	core.SetHostName("host-b")
	other := core.Service{Name: "erp-b", DB: core.DBConn{Host: "db", Port: 5432, User: "odoo", Password: "b-password", Database: "erp"}}
	err := dst.AddService(ctx, &other, "")
	core.SetHostName("")
	must(t, err)
	must(t, dst.SetConfiguration(ctx, core.Configuration{Service: "erp-b", Destination: "s3", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 3}}))

	// A template of the same name with other configurations is refused.
	must(t, dst.AddTemplate(ctx, &core.Template{Name: "std", Configurations: []core.TemplateConfiguration{
		{Destination: "s3", Frequency: core.Weekly, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 5}, Primary: true},
	}}))
	before := dump(t, dst)
	_, err = Migrate(ctx, src, dst, MigrateOptions{})
	if !errors.Is(err, core.ErrExists) || !strings.Contains(err.Error(), `template "std" is already in`) {
		t.Errorf("migrating onto another template std: %v; want it refused", err)
	}
	if after := dump(t, dst); after != before {
		t.Errorf("a refused migration changed the target:\n%s\nwas\n%s", after, before)
	}
	must(t, dst.RemoveTemplate(ctx, "std"))

	// nas differs: another directory.
	nas := core.Destination{Name: "nas", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/mnt/other-nas"},
		Encrypt: core.EncryptionSettings{Passphrase: "nas-passphrase"}}
	must(t, dst.AddDestination(ctx, &nas))
	before = dump(t, dst)
	_, err = Migrate(ctx, src, dst, MigrateOptions{})
	if !errors.Is(err, core.ErrExists) || !strings.Contains(err.Error(), `destination "nas" is already in`) || !strings.Contains(err.Error(), "another dir") {
		t.Errorf("migrating onto another nas: %v; want it refused, naming the destination and what differs", err)
	}
	if after := dump(t, dst); after != before {
		t.Errorf("a refused migration changed the target:\n%s\nwas\n%s", after, before)
	}
	// Same directory, another passphrase: refused too.
	nas.Local.Dir, nas.Encrypt.Passphrase = "/mnt/nas", "another-passphrase"
	must(t, dst.UpdateDestination(ctx, nas))
	if _, err = Migrate(ctx, src, dst, MigrateOptions{}); err == nil || !strings.Contains(err.Error(), "another encryption passphrase") {
		t.Errorf("migrating onto nas with another passphrase: %v; want it refused", err)
	}
	nas.Encrypt.Passphrase = "nas-passphrase"
	must(t, dst.UpdateDestination(ctx, nas))
	// The same template is shared.
	must(t, dst.AddTemplate(ctx, &core.Template{Name: "std", Configurations: []core.TemplateConfiguration{
		{Destination: "nas", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}, Primary: true},
		{Destination: "s3", Frequency: core.Weekly, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 4}, Drill: core.Monthly},
	}}))

	// A backup id the target already gives: refused, naming it.
	b := core.Backup{Service: "erp-b", Destination: "s3", Kind: core.KindManual, Status: core.StatusSucceeded}
	must(t, dst.CreateBackup(ctx, &b))
	before = dump(t, dst)
	_, err = Migrate(ctx, src, dst, MigrateOptions{})
	if !errors.Is(err, core.ErrExists) || !strings.Contains(err.Error(), fmt.Sprintf("the backup id %d already names other backups", b.ID)) {
		t.Errorf("migrating onto a taken backup id: %v; want it refused, naming the id", err)
	}
	if after := dump(t, dst); after != before {
		t.Errorf("a refused migration changed the target:\n%s\nwas\n%s", after, before)
	}
	_, err = dst.db.Exec(`DELETE FROM backups`)
	must(t, err)

	res, err := Migrate(ctx, src, dst, MigrateOptions{})
	must(t, err)
	if res.SharedDestinations != 2 || res.Destinations != 1 || res.Services != 3 || res.Backups != 20 ||
		res.SharedTemplates != 1 || res.Templates != 0 || res.TemplateConfigurations != 0 {
		t.Errorf("Migrate: %+v; want s3, nas and std shared, offsite added, 3 services and 20 backups", res)
	}
	tpl, err := dst.Template(ctx, "std")
	must(t, err)
	if len(tpl.Configurations) != 2 {
		t.Errorf("the shared template has %d configurations, want its 2", len(tpl.Configurations))
	}
	dests, err := dst.Destinations(ctx)
	must(t, err)
	if len(dests) != 3 {
		t.Errorf("the target has %d destinations, want 3 (two shared)", len(dests))
	}
	// Both hosts' services use the one s3.
	for _, name := range []string{"erp-b", "staging"} {
		cfg, err := dst.Primary(ctx, name)
		if err != nil || cfg.Destination != "s3" {
			t.Errorf("primary of %s: %+v, %v; want s3", name, cfg, err)
		}
	}
	s, err := dst.Service(ctx, "erp-b")
	must(t, err)
	if s.Host != "host-b" || s.DB.Password.Reveal() != "b-password" {
		t.Errorf("the other host's service changed: host %q", s.Host)
	}
	s3, err := dst.Destination(ctx, "s3")
	must(t, err)
	hist, err := dst.Backups(ctx, core.BackupFilter{Destination: "s3"})
	must(t, err)
	if len(hist) == 0 {
		t.Fatal("no backup of s3 in the target")
	}
	for _, b := range hist {
		if b.DestinationID != s3.ID {
			t.Errorf("backup %d points at destination id %d, want the shared s3 (%d)", b.ID, b.DestinationID, s3.ID)
		}
	}
}

// Backup ids the target already gives: refused, naming them, unless the
// backups may get new ids, listed, which the drills follow.
func TestMigrateRenumbersClashingBackups(t *testing.T) {
	ctx := context.Background()
	t.Setenv("MIGRATE_TEST_S3_SECRET", "x")
	src := migrationSource(t, 20)
	dst := migrationTarget(t)
	addLocal(t, dst, "b-disk")
	addService(t, dst, "erp-b")
	var theirs []string
	for i := 0; i < 5; i++ {
		b := addBackup(t, dst, "erp-b", "b-disk", core.KindManual, core.StatusSucceeded)
		theirs = append(theirs, fmt.Sprint(b.ID))
	}
	before := dump(t, dst)
	_, err := Migrate(ctx, src, dst, MigrateOptions{})
	if !errors.Is(err, core.ErrExists) || !strings.Contains(err.Error(), "the backup ids 1, 2, 3, 4 and 5 already name other backups") {
		t.Errorf("migrating onto taken backup ids: %v", err)
	}
	if a, ok := core.AdviceOf(err); !ok || a.Action != core.ActionRenumberBackups {
		t.Errorf("advice %+v, want to renumber", a)
	}
	if dump(t, dst) != before {
		t.Error("a refused migration changed the target")
	}

	res, err := Migrate(ctx, src, dst, MigrateOptions{RenumberBackups: true})
	must(t, err)
	want := []RenumberedBackup{{1, 21}, {2, 22}, {3, 23}, {4, 24}, {5, 25}}
	if !reflect.DeepEqual(res.Renumbered, want) || res.Backups != 20 {
		t.Errorf("renumbered %+v (%d backups), want %+v", res.Renumbered, res.Backups, want)
	}
	q := `SELECT b.id, s.name, b.service_name, d.name, b.kind, b.status, b.key, b.size, b.sha256, b.started_at, b.error
		FROM backups b LEFT JOIN services s ON s.id = b.service_id LEFT JOIN destinations d ON d.id = b.destination_id WHERE b.id %s ORDER BY b.id`
	sameRows(t, "backups kept", rowsOf(t, src, fmt.Sprintf(q, "> 5")), rowsOf(t, dst, fmt.Sprintf(q, "BETWEEN 6 AND 20")))
	strip := func(rows []string) []string {
		for i, r := range rows {
			rows[i] = r[strings.Index(r, " | "):]
		}
		return rows
	}
	sameRows(t, "backups renumbered", strip(rowsOf(t, src, fmt.Sprintf(q, "<= 5"))), strip(rowsOf(t, dst, fmt.Sprintf(q, "> 20"))))
	for _, id := range theirs {
		b, err := dst.Backup(ctx, mustInt(t, id))
		if err != nil || b.Service != "erp-b" {
			t.Errorf("the target's backup %s: %+v, %v; want it untouched", id, b, err)
		}
	}
	drills, err := dst.Drills(ctx, "prod", 0)
	must(t, err)
	for _, d := range drills {
		if d.BackupID < 21 {
			t.Errorf("drill of backup %d: want it to follow its backup to its new id", d.BackupID)
		}
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	_, err := fmt.Sscan(s, &n)
	must(t, err)
	return n
}

// A target whose secrets this host cannot read is refused before anything
// is sealed with a key of this host's own; a source whose secrets cannot be
// read is refused too: nothing would be lost quietly.
func TestMigrateRefusesUnreadableSecrets(t *testing.T) {
	ctx := context.Background()
	t.Setenv("MIGRATE_TEST_S3_SECRET", "x")
	src := migrationSource(t, 3)
	dst := migrationTarget(t)
	addSecretDestination(t, dst, "fleet-s3")
	must(t, os.Rename(dst.KeyFile(), dst.KeyFile()+".away"))
	other, err := Open(ctx, rawURL(t, dst), WithKeyFile(dst.KeyFile()))
	must(t, err)
	defer other.Close()
	before := dump(t, other)
	_, err = Migrate(ctx, src, other, MigrateOptions{})
	if !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(err.Error(), "this host has no key for the catalog's secrets at "+dst.KeyFile()) {
		t.Errorf("migrating into a catalog whose key this host lacks: %v", err)
	}
	if a, ok := core.AdviceOf(err); !ok || a.Action != core.ActionInstallCatalogKey {
		t.Errorf("advice %+v, want to install the fleet's key", a)
	}
	if after := dump(t, other); after != before {
		t.Errorf("a refused migration changed the target")
	}
	if _, err := os.Stat(dst.KeyFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused migration created a key at %s (%v)", dst.KeyFile(), err)
	}
	must(t, os.Rename(dst.KeyFile()+".away", dst.KeyFile()))

	// The source's own key is gone: its secrets cannot be moved.
	must(t, os.Rename(src.KeyFile(), src.KeyFile()+".away"))
	src2, err := Open(ctx, src.Path())
	must(t, err)
	defer src2.Close()
	before = dump(t, dst)
	_, err = Migrate(ctx, src2, dst, MigrateOptions{})
	if after := dump(t, dst); after != before {
		t.Errorf("a refused migration changed the target:\n%s\nwas\n%s", after, before)
	}
	if err == nil || !strings.Contains(err.Error(), "cannot be decrypted because the catalog key file "+src.KeyFile()+" is missing") || !strings.Contains(err.Error(), "nothing was migrated") {
		t.Errorf("migrating a catalog without its key: %v", err)
	}
}

// rawURL is the URL a test's PostgreSQL catalog was opened with.
func rawURL(t *testing.T, c *Catalog) string {
	t.Helper()
	var name string
	must(t, c.db.QueryRow(`SELECT current_database()`).Scan(&name))
	return servers.Postgres(t).ConnString(name)
}

// A migration into a SQLite file, or from PostgreSQL, is refused.
func TestMigrateNeedsSQLiteIntoPostgres(t *testing.T) {
	ctx := context.Background()
	a, err := Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	must(t, err)
	defer a.Close()
	b, err := Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	must(t, err)
	defer b.Close()
	if _, err := Migrate(ctx, a, b, MigrateOptions{}); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "into a PostgreSQL catalog") {
		t.Errorf("Migrate into a file: %v", err)
	}
}

// Every table of the schema is either copied or left out for a reason.
func TestMigrateCoversEveryTable(t *testing.T) {
	c, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	must(t, err)
	defer c.Close()
	for _, name := range rowsOf(t, c, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`) {
		if !contains(migratedTables, name) && notMigrated[name] == "" {
			t.Errorf("table %s is neither migrated nor left out with a reason (store/migrate.go)", name)
		}
	}
}

// A backup still running writes to the old catalog: the migration waits
// for it, writing nothing.
func TestMigrateRefusesRunningBackups(t *testing.T) {
	ctx := context.Background()
	t.Setenv("MIGRATE_TEST_S3_SECRET", "x")
	src := migrationSource(t, 2)
	dst := migrationTarget(t)
	running := addBackup(t, src, "prod", "nas", core.KindManual, core.StatusRunning)
	before := dump(t, dst)
	_, err := Migrate(ctx, src, dst, MigrateOptions{})
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("backup %d is still running in %s, so nothing was migrated", running.ID, src.Path())) {
		t.Errorf("migrating with a running backup: %v", err)
	}
	if after := dump(t, dst); after != before {
		t.Errorf("a refused migration changed the target:\n%s\nwas\n%s", after, before)
	}
}
