package testbed

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dustin/go-humanize"
)

func TestGenerateOdoo(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	ctx := t.Context()
	dataDir := t.TempDir()
	opt := OdooOptions{Files: 12, MissingFiles: 2, OrphanFiles: 1, Seed: 42}
	start := time.Now()
	odb, err := GenerateOdoo(ctx, pg, "prod", dataDir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated a small database in %v", time.Since(start))

	if odb.FilestoreDir != filepath.Join(dataDir, "filestore", "prod") {
		t.Errorf("FilestoreDir = %s, want <dataDir>/filestore/prod", odb.FilestoreDir)
	}
	if odb.Conn != pg.Conn("prod") {
		t.Errorf("Conn = %+v, want %+v", odb.Conn, pg.Conn("prod"))
	}
	count := func(sql string, args ...any) int64 {
		t.Helper()
		n, err := pg.QueryInt(ctx, "prod", sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	text := func(sql string, args ...any) string {
		t.Helper()
		s, err := pg.QueryString(ctx, "prod", sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("a standard installation", func(t *testing.T) {
		if odb.Owner != "odoo" || odb.OwnerPassword == "" || pg.User != "postgres" {
			t.Errorf("owner %q (password set %v), superuser %q: want odoo, a password, postgres", odb.Owner, odb.OwnerPassword != "", pg.User)
		}
		attrs, err := pg.QueryString(ctx, "postgres", "SELECT format('super=%s createdb=%s login=%s', rolsuper, rolcreatedb, rolcanlogin) FROM pg_roles WHERE rolname = 'odoo'")
		if err != nil || attrs != "super=f createdb=t login=t" {
			t.Errorf("role odoo: %q (%v), want a login role with CREATEDB and no superuser", attrs, err)
		}
		if err := odb.CheckAsOwner(ctx, pg, "prod", odb.FilestoreDir); err != nil {
			t.Error(err)
		}
		if os.Geteuid() == 0 && (odb.UID == 0 || odb.GID == 0) {
			t.Errorf("running as root, the filestore belongs to %d:%d; want the odoo system user", odb.UID, odb.GID)
		}
		modes, err := TreeModes(odb.FilestoreDir)
		want := []string{fmt.Sprintf("dir %d:%d 0755", odb.UID, odb.GID), fmt.Sprintf("file %d:%d 0644", odb.UID, odb.GID), fmt.Sprintf("root %d:%d 0755", odb.UID, odb.GID)}
		if err != nil || !slices.Equal(modes, want) {
			t.Errorf("filestore modes %q (%v), want %q", modes, err, want)
		}
		// The check fails on a large object, and a table in a schema,
		// that the owner cannot read, each named.
		for _, c := range []struct{ make, undo, name string }{
			{"SELECT lo_from_bytea(4242, 'x')", "SELECT lo_unlink(4242)", "large object 4242"},
			{"CREATE SCHEMA root_schema; CREATE TABLE root_schema.t (id int); ALTER TABLE root_schema.t OWNER TO odoo", "DROP SCHEMA root_schema CASCADE", "root_schema"},
		} {
			if err := pg.Exec(ctx, "prod", c.make); err != nil {
				t.Fatal(err)
			}
			err := odb.CheckAsOwner(ctx, pg, "prod", odb.FilestoreDir)
			if err := pg.Exec(ctx, "prod", c.undo); err != nil {
				t.Fatal(err)
			}
			if err == nil || !strings.Contains(err.Error(), c.name) {
				t.Errorf("CheckAsOwner with %s of the superuser: %v, want it named", c.name, err)
			}
		}
		// The check fails on a table the owner cannot read.
		if err := pg.Exec(ctx, "prod", "CREATE TABLE public.root_only (id int)"); err != nil {
			t.Fatal(err)
		}
		defer pg.Exec(ctx, "prod", "DROP TABLE IF EXISTS public.root_only")
		if err := odb.CheckAsOwner(ctx, pg, "prod", odb.FilestoreDir); err == nil || !strings.Contains(err.Error(), "root_only") {
			t.Errorf("CheckAsOwner with a table of the superuser: %v, want it named", err)
		}
		// And on a file its owner cannot read.
		if os.Geteuid() == 0 {
			secret := filepath.Join(odb.FilestoreDir, "root-only")
			if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(secret)
			if err := pg.Exec(ctx, "prod", "DROP TABLE public.root_only"); err != nil {
				t.Fatal(err)
			}
			if err := odb.CheckAsOwner(ctx, pg, "prod", odb.FilestoreDir); err == nil || !strings.Contains(err.Error(), "root-only") {
				t.Errorf("CheckAsOwner with a file of root: %v, want it named", err)
			}
		}
	})

	t.Run("created like Odoo", func(t *testing.T) {
		got, err := pg.QueryString(ctx, "postgres", "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate FROM pg_database WHERE datname = 'prod'")
		if err != nil || got != "UTF8 C" {
			t.Errorf("encoding and collation = %q, %v; want \"UTF8 C\"", got, err)
		}
	})

	t.Run("modules", func(t *testing.T) {
		if got := odb.Modules["base"]; got != "17.0.1.3" {
			t.Errorf("Modules[base] = %q, want 17.0.1.3", got)
		}
		for _, m := range []string{"base", "web", "mail", "contacts", "sale"} {
			if _, ok := odb.Modules[m]; !ok {
				t.Errorf("module %s not installed", m)
			}
		}
		rows, err := pg.Connect(ctx, "prod")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close(context.Background())
		r, err := rows.Query(ctx, "SELECT name, latest_version FROM ir_module_module WHERE state = 'installed'")
		if err != nil {
			t.Fatal(err)
		}
		inDB := map[string]string{}
		for r.Next() {
			var name, version string
			if err := r.Scan(&name, &version); err != nil {
				t.Fatal(err)
			}
			inDB[name] = version
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(inDB, odb.Modules) {
			t.Errorf("installed modules in the database = %v, Modules = %v", inDB, odb.Modules)
		}
		if n := count("SELECT count(*) FROM ir_module_module WHERE state <> 'installed' AND latest_version IS NULL"); n < 3 {
			t.Errorf("%d uninstalled modules, want a few", n)
		}
	})

	t.Run("parameters and services to neutralize", func(t *testing.T) {
		if got := text("SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'"); got != odb.UUID || len(got) != 36 {
			t.Errorf("database.uuid = %q, UUID = %q", got, odb.UUID)
		}
		for _, key := range []string{"database.secret", "database.enterprise_code", "database.create_date", "web.base.url"} {
			if n := count("SELECT count(*) FROM ir_config_parameter WHERE key = $1 AND value <> ''", key); n != 1 {
				t.Errorf("ir_config_parameter %s: %d rows, want 1", key, n)
			}
		}
		checks := map[string]string{
			"active mail servers":            "SELECT count(*) FROM ir_mail_server WHERE active",
			"fetchmail servers in use":       "SELECT count(*) FROM fetchmail_server WHERE active AND state = 'done'",
			"active crons":                   "SELECT count(*) FROM ir_cron WHERE active",
			"the autovacuum cron":            "SELECT count(*) FROM ir_cron c JOIN ir_act_server a ON a.id = c.ir_actions_server_id WHERE c.cron_name = 'Base: Auto-vacuum internal data' AND a.model_name = 'ir.autovacuum' AND c.active",
			"enabled payment providers":      "SELECT count(*) FROM payment_provider WHERE state = 'enabled'",
			"the admin user":                 "SELECT count(*) FROM res_users u JOIN res_partner p ON p.id = u.partner_id WHERE u.login = 'admin' AND u.active",
			"messages with a body":           "SELECT count(*) FROM mail_message WHERE length(body) > 50",
			"messages by generated partners": "SELECT count(*) FROM mail_message m JOIN res_partner p ON p.id = m.author_id WHERE p.id >= 6",
		}
		for what, sql := range checks {
			if n := count(sql); n < 1 {
				t.Errorf("no %s", what)
			}
		}
	})

	t.Run("attachments and filestore", func(t *testing.T) {
		if n := count("SELECT count(*) FROM ir_attachment"); n != int64(odb.Attachments) {
			t.Errorf("ir_attachment has %d rows, Attachments = %d", n, odb.Attachments)
		}
		if n := count("SELECT count(DISTINCT store_fname) FROM ir_attachment"); n != int64(opt.Files) {
			t.Errorf("%d distinct store_fname, want Files = %d", n, opt.Files)
		}
		if n := count("SELECT count(*) FROM ir_attachment WHERE type = 'url' AND store_fname IS NULL"); n < 1 {
			t.Error("no url attachment")
		}
		if n := count("SELECT count(*) FROM (SELECT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL GROUP BY 1 HAVING count(*) > 1) s"); n < 1 {
			t.Error("no file shared by two attachments")
		}
		if n := count("SELECT count(*) FROM ir_attachment WHERE db_datas IS NOT NULL"); n != 0 {
			t.Errorf("%d attachments keep their data in the database, want 0", n)
		}
		if len(odb.Missing) != opt.MissingFiles || len(odb.Orphans) != opt.OrphanFiles {
			t.Errorf("Missing %v, Orphans %v; want %d and %d", odb.Missing, odb.Orphans, opt.MissingFiles, opt.OrphanFiles)
		}
		if want := opt.Files - opt.MissingFiles + opt.OrphanFiles; len(odb.Files) != want {
			t.Errorf("len(Files) = %d, want %d", len(odb.Files), want)
		}

		conn, err := pg.Connect(ctx, "prod")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		r, err := conn.Query(ctx, "SELECT DISTINCT store_fname, checksum, file_size, mimetype FROM ir_attachment WHERE store_fname IS NOT NULL")
		if err != nil {
			t.Fatal(err)
		}
		referenced := map[string]bool{}
		compressible, incompressible := 0, 0
		for r.Next() {
			var fname, checksum, mimetype string
			var size int64
			if err := r.Scan(&fname, &checksum, &size, &mimetype); err != nil {
				t.Fatal(err)
			}
			referenced[fname] = true
			if fname != checksum[:2]+"/"+checksum {
				t.Errorf("store_fname %s does not match checksum %s", fname, checksum)
			}
			content, err := os.ReadFile(filepath.Join(odb.FilestoreDir, fname))
			if slices.Contains(odb.Missing, fname) {
				if !os.IsNotExist(err) {
					t.Errorf("missing file %s: %v, want it absent", fname, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("attachment file: %v", err)
				continue
			}
			if got := sha1Hex(content); got != checksum {
				t.Errorf("%s: SHA-1 %s, checksum column %s", fname, got, checksum)
			}
			if got := sha256Hex(content); got != odb.Files[fname] {
				t.Errorf("%s: SHA-256 %s, Files says %s", fname, got, odb.Files[fname])
			}
			if int64(len(content)) != size {
				t.Errorf("%s: %d bytes, file_size %d", fname, len(content), size)
			}
			switch ratio := deflateRatio(content); {
			case ratio > 2:
				compressible++
			case ratio < 1.05:
				incompressible++
				if strings.HasPrefix(mimetype, "text/") {
					t.Errorf("%s (%s) does not compress (ratio %.2f)", fname, mimetype, ratio)
				}
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		if compressible == 0 || incompressible == 0 {
			t.Errorf("%d compressible and %d incompressible files, want a mix", compressible, incompressible)
		}

		onDisk := map[string]bool{}
		var checklist []string
		err = filepath.WalkDir(odb.FilestoreDir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(odb.FilestoreDir, path)
			rel = filepath.ToSlash(rel)
			if strings.HasPrefix(rel, "checklist/") {
				checklist = append(checklist, rel)
				if fi, err := d.Info(); err != nil || fi.Size() != 0 {
					t.Errorf("checklist marker %s is not empty", rel)
				}
				return nil
			}
			onDisk[rel] = true
			if base := filepath.Base(rel); rel != base[:2]+"/"+base || len(base) != 40 {
				t.Errorf("file %s is not laid out as xx/<sha1>", rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(onDisk, boolSet(slices.Collect(maps.Keys(odb.Files)))) {
			t.Errorf("files on disk %v, Files %v", slices.Sorted(maps.Keys(onDisk)), slices.Sorted(maps.Keys(odb.Files)))
		}
		for _, o := range odb.Orphans {
			if referenced[o] || !onDisk[o] {
				t.Errorf("orphan %s: referenced %v, on disk %v; want unreferenced, on disk", o, referenced[o], onDisk[o])
			}
		}
		slices.Sort(checklist)
		if want := slices.Sorted(slices.Values(odb.Checklist)); len(checklist) < 2 || !slices.Equal(checklist, want) {
			t.Errorf("checklist markers %v, Checklist %v; want a couple", checklist, want)
		}
	})

	t.Run("deterministic", func(t *testing.T) {
		again, err := GenerateOdoo(ctx, pg, "prod_again", t.TempDir(), opt)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Fingerprint(ctx, odb.Conn, odb.FilestoreDir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Fingerprint(ctx, again.Conn, again.FilestoreDir)
		if err != nil {
			t.Fatal(err)
		}
		if d := a.Diff(b); len(d) > 0 {
			t.Errorf("same seed, different databases:\n%s", strings.Join(d, "\n"))
		}
		if again.UUID != odb.UUID {
			t.Errorf("same seed, UUIDs %s and %s", odb.UUID, again.UUID)
		}

		other := opt
		other.Seed++
		third, err := GenerateOdoo(ctx, pg, "prod_other", t.TempDir(), other)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Fingerprint(ctx, third.Conn, third.FilestoreDir)
		if err != nil {
			t.Fatal(err)
		}
		if d := a.Diff(c); len(d) == 0 {
			t.Error("different seeds, same content")
		}
	})

	t.Run("database exists", func(t *testing.T) {
		if _, err := GenerateOdoo(ctx, pg, "prod", t.TempDir(), opt); err == nil {
			t.Error("GenerateOdoo over an existing database succeeded")
		}
	})

	t.Run("invalid options", func(t *testing.T) {
		for _, o := range []OdooOptions{{Files: 3, MissingFiles: 4}, {MissingFiles: -1}, {OrphanFiles: -1}} {
			if _, err := GenerateOdoo(ctx, pg, "never", t.TempDir(), o); err == nil {
				t.Errorf("GenerateOdoo with %+v succeeded", o)
			}
		}
	})
}

func TestGenerateOdooSizes(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	ctx := t.Context()
	tests := []struct {
		name string
		opt  OdooOptions
	}{
		{"zero", OdooOptions{}},
		{"1 MiB", OdooOptions{DumpBytes: 1 << 20, FilestoreBytes: 3 << 20, Seed: 1}},
		{"4 MiB, 16.0, no files", OdooOptions{DumpBytes: 4 << 20, Files: -1, OdooVersion: "16.0", Seed: 2}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := fmt.Sprintf("sized%d", i)
			start := time.Now()
			odb, err := GenerateOdoo(ctx, pg, db, t.TempDir(), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			dump := pgDump(t, pg, db)
			var filestore int64
			for rel := range odb.Files {
				fi, err := os.Stat(filepath.Join(odb.FilestoreDir, rel))
				if err != nil {
					t.Fatal(err)
				}
				filestore += fi.Size()
			}
			t.Logf("dump %d bytes, filestore %d bytes in %d files, generated in %v", len(dump), filestore, len(odb.Files), took)

			if tt.opt.DumpBytes == 0 {
				if len(dump) > 120_000 {
					t.Errorf("smallest dump is %d bytes, want about 90 kB", len(dump))
				}
			} else if r := float64(len(dump)) / float64(tt.opt.DumpBytes); r < 0.9 || r > 1.1 {
				t.Errorf("dump is %d bytes, want %d ±10%%", len(dump), tt.opt.DumpBytes)
			}
			wantFS := cmpOr(tt.opt.FilestoreBytes, defaultFilestoreBytes)
			if tt.opt.Files < 0 {
				wantFS = 0
			}
			if r := float64(filestore) / float64(wantFS); wantFS > 0 && (r < 0.9 || r > 1.1) || wantFS == 0 && filestore != 0 {
				t.Errorf("filestore is %d bytes, want %d ±10%%", filestore, wantFS)
			}
			wantVersion := cmpOr(tt.opt.OdooVersion, "17.0")
			if got := odb.Modules["base"]; got != wantVersion+".1.3" {
				t.Errorf("base version %q, want %s.1.3", got, wantVersion)
			}
			if !bytes.Contains(dump, []byte("COPY public.mail_message")) || !bytes.Contains(dump, []byte("Société")) {
				t.Error("dump lacks mail_message data or non-ASCII text")
			}
			if took > 10*time.Second {
				t.Errorf("generating took %v", took)
			}
		})
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// pgDump is what a backup's dump.sql holds.
func pgDump(t testing.TB, pg *Postgres, db string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "pg_dump", "--no-owner", pg.ConnString(db))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump %s: %v\n%s", db, err, stderr.String())
	}
	return out
}

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func deflateRatio(b []byte) float64 {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(b)
	w.Close()
	return float64(len(b)) / float64(buf.Len())
}

func boolSet(keys []string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// BenchmarkGenerateOdoo makes a database of ODOO_BACKUP_BENCH_SIZE of dump
// plus as much filestore (default 16MB each), e.g.
//
//	ODOO_BACKUP_BENCH_SIZE=1GB go test ./core/testbed -run '^$' -bench GenerateOdoo -benchtime 1x
func BenchmarkGenerateOdoo(b *testing.B) {
	size := uint64(16e6)
	if s := os.Getenv("ODOO_BACKUP_BENCH_SIZE"); s != "" {
		var err error
		if size, err = humanize.ParseBytes(s); err != nil {
			b.Fatalf("ODOO_BACKUP_BENCH_SIZE: %v", err)
		}
	}
	pg := StartPostgres(b)
	ctx := b.Context()
	b.SetBytes(int64(2 * size))
	for i := 0; i < b.N; i++ {
		dir, err := os.MkdirTemp("", "odoo-backup-bench-")
		if err != nil {
			b.Fatal(err)
		}
		db := fmt.Sprintf("bench%d", i)
		odb, err := GenerateOdoo(ctx, pg, db, dir, OdooOptions{DumpBytes: int64(size), FilestoreBytes: int64(size), Seed: int64(i)})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if i == 0 {
			dbSize, _ := pg.QueryInt(ctx, db, "SELECT pg_database_size(current_database())")
			b.Logf("%s dump + %s filestore: database %s on disk, %d files, %d attachments",
				humanize.Bytes(size), humanize.Bytes(size), humanize.Bytes(uint64(dbSize)), len(odb.Files), odb.Attachments)
		}
		if err := pg.DropDatabase(ctx, db); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
		b.StartTimer()
	}
}

// Incompressible sets the share of already compressed files, FileSize
// makes every file one size, and values out of range are refused.
func TestOdooOptionsFileMix(t *testing.T) {
	opt, err := OdooOptions{Files: 2000, Incompressible: 0.6, FileSize: 4096, Seed: 3}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	g := &generator{opt: opt, rng: rand.New(rand.NewPCG(uint64(opt.Seed), 0x0d00))}
	g.planFiles()
	incompressible := 0
	for i, f := range g.files {
		if f.size != 4096 {
			t.Fatalf("file %d has %d bytes; want 4096", i, f.size)
		}
		if !f.kind.text {
			incompressible++
		}
	}
	if share := float64(incompressible) / float64(len(g.files)); share < 0.55 || share > 0.65 {
		t.Errorf("%.2f of the files are incompressible; want about 0.6", share)
	}
	for _, bad := range []OdooOptions{{Incompressible: -0.1}, {Incompressible: 1.5}, {FileSize: -1}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
