package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// rewriteZip copies the zip at from to to with dump.sql passed through edit.
func rewriteZip(t *testing.T, from, to string, edit func(string) string) {
	t.Helper()
	zr, err := zip.OpenReader(from)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.Name != "dump.sql" {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		dump, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create("dump.sql")
		if err != nil {
			t.Fatal(err)
		}
		edited := edit(string(dump))
		if edited == string(dump) {
			t.Fatal("the edit left dump.sql as it was")
		}
		if _, err := io.WriteString(w, edited); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A dump whose COPY block of ir_module_module is broken loads into a
// database without modules: restore and upload --restore refuse it with
// exit 1 and one sentence naming the table and --accept-errors, leaving
// staging as it was; with --accept-errors (on restore and on upload
// --restore) it is put in place and says so. A service copy that fails its
// checks is refused and kept the same way.
func TestRestoreAcceptErrors(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	prod := generate(t, "cli_ae_prod")
	staging := generateSeed(t, "cli_ae_staging", 44)
	prodID := c.onOneDisk(prod, staging)
	good := filepath.Join(c.dir, "good.zip")
	c.ok("download", prodID, "-o", good)
	broken := filepath.Join(c.dir, "broken.zip")
	rewriteZip(t, good, broken, func(dump string) string {
		i := strings.Index(dump, "COPY public.ir_module_module (")
		eol := i + strings.IndexByte(dump[i:], '\n')
		next := eol + 1 + strings.IndexByte(dump[eol+1:], '\n')
		return dump[:next] + "\textra column" + dump[next:]
	})
	modules := func() int64 {
		n, err := pg.QueryInt(context.Background(), "cli_ae_staging", "SELECT count(*) FROM ir_module_module")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := modules()

	c.fails(2, "--accept-errors only goes with --restore", "upload", broken, "--service", "staging", "--accept-errors")
	c.fails(1, "table ir_module_module is empty", "upload", broken, "--service", "staging", "--restore", "--neutralize", "--yes")
	if got := modules(); got != before {
		t.Fatalf("a refused upload --restore changed staging: %d modules, was %d", got, before)
	}
	r := c.run("upload", broken, "--service", "staging", "--yes")
	if r.code != 0 {
		t.Fatalf("upload: %d %s", r.code, r.stderr)
	}
	var ups []backupJSON
	c.json(&ups, "backups", "staging", "--kind", "upload")
	if len(ups) != 2 {
		t.Fatalf("uploads %+v, want the refused restore's and this one", ups)
	}
	out := c.ok("upload", broken, "--service", "staging", "--restore", "--no-neutralize", "--yes", "--accept-errors")
	if !strings.Contains(out, "failed its checks (table ir_module_module is empty") || !strings.Contains(out, "because --accept-errors was given") {
		t.Errorf("upload --restore --accept-errors output should say the failed checks were accepted:\n%s", out)
	}
	if got := modules(); got != 0 {
		t.Errorf("staging has %d modules after the accepted broken upload, want 0", got)
	}
	c.ok("restore", prodID, "--service", "staging", "--no-neutralize", "--yes")
	if got := modules(); got != before {
		t.Fatalf("the good backup did not bring staging's %d modules back: %d", before, got)
	}
	id := itoa(ups[0].ID)
	r = c.run("restore", id, "--service", "staging", "--no-neutralize", "--yes")
	msg := strings.TrimSpace(r.stderr)
	if r.code != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, "table ir_module_module is empty") ||
		!strings.Contains(msg, "staging is unchanged") || !strings.Contains(msg, "run the same command with --accept-errors") {
		t.Errorf("restore of the broken upload: exit %d, stderr %q; want 1 and one sentence naming the table, the unchanged target and --accept-errors", r.code, msg)
	}
	if got := modules(); got != before {
		t.Fatalf("a refused restore changed staging: %d modules, was %d", got, before)
	}

	out = c.ok("restore", id, "--service", "staging", "--no-neutralize", "--yes", "--accept-errors")
	if !strings.Contains(out, "failed its checks (table ir_module_module is empty") || !strings.Contains(out, "because --accept-errors was given") {
		t.Errorf("restore --accept-errors output should say the failed checks were accepted:\n%s", out)
	}
	if got := modules(); got != 0 {
		t.Errorf("staging has %d modules after the accepted broken restore, want 0", got)
	}

	// The good backup: every check named, in text and JSON.
	out = c.ok("restore", prodID, "--service", "staging", "--yes")
	if !strings.Contains(out, "Checks passed: key tables, row counts, base installed.") {
		t.Errorf("restore output should name the checks that passed:\n%s", out)
	}
	out = c.ok("service", "copy", "production", "prodcopy", "--db", "cli_ae_svccopy", "--filestore", filepath.Join(c.dir, "svccopy"))
	if !strings.Contains(out, "Checks passed: key tables, row counts, base installed.") {
		t.Errorf("service copy output should name the checks that passed:\n%s", out)
	}
	// A copy of a source whose base module is not installed fails the
	// same checks: refused with nothing created, kept with --accept-errors.
	if err := pg.Exec(context.Background(), "cli_ae_prod", "UPDATE ir_module_module SET state = 'uninstalled' WHERE name = 'base'"); err != nil {
		t.Fatal(err)
	}
	r = c.run("service", "copy", "production", "badcopy", "--db", "cli_ae_badcopy", "--filestore", filepath.Join(c.dir, "badcopy"))
	msg = strings.TrimSpace(r.stderr)
	if r.code != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, "module base is uninstalled, not installed") || !strings.Contains(msg, "run the same command with --accept-errors") {
		t.Errorf("service copy of a source without base: exit %d, stderr %q; want 1 and one sentence naming the check and --accept-errors", r.code, msg)
	}
	if n, err := pg.QueryInt(context.Background(), "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'cli_ae_badcopy%'"); err != nil || n != 0 {
		t.Errorf("a refused service copy left %d databases (%v)", n, err)
	}
	c.fails(1, `"badcopy"`, "backups", "badcopy")
	out = c.ok("service", "copy", "production", "badcopy", "--db", "cli_ae_badcopy", "--filestore", filepath.Join(c.dir, "badcopy"), "--accept-errors")
	if !strings.Contains(out, "failed its checks (module base is uninstalled, not installed") || !strings.Contains(out, "kept because --accept-errors was given") {
		t.Errorf("service copy --accept-errors output should say the failed checks were accepted:\n%s", out)
	}
	if err := pg.Exec(context.Background(), "cli_ae_prod", "UPDATE ir_module_module SET state = 'installed' WHERE name = 'base'"); err != nil {
		t.Fatal(err)
	}

	raw := c.ok("restore", prodID, "--new-db", "cli_ae_copy", "--json")
	var res struct {
		Checks struct {
			Ran      []string `json:"ran"`
			Problems []string `json:"problems"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil || len(res.Checks.Ran) != 3 || len(res.Checks.Problems) != 0 {
		t.Errorf("restore --json checks: %s (%v), want the three checks and no problem", raw, err)
	}
}

// A backup of a filestore that lost attachment files says so in its
// printed result (no log line), in backups (text and JSON), verify,
// drill (which passes) and status, which warns but exits 0.
func TestMissingFilesShown(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	odoo, err := testbed.GenerateOdoo(context.Background(), pg, "cli_missing", filepath.Join(t.TempDir(), "odoo"), testbed.OdooOptions{Seed: 45, Files: 8, MissingFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("shop", odoo)
	c.ok("config", "set", "shop", "disk")
	r := c.run("backup", "shop")
	if r.code != 0 || !strings.Contains(r.stdout, "lacks 2 attachment file(s)") || strings.Contains(r.stderr, "level=") {
		t.Fatalf("backup: exit %d\nstdout %s\nstderr %s\nwant the missing files in the result and no log line", r.code, r.stdout, r.stderr)
	}
	var bs []struct {
		ID           int64    `json:"id"`
		MissingCount int      `json:"missing_count"`
		MissingFiles []string `json:"missing_files"`
	}
	c.json(&bs, "backups", "shop")
	if len(bs) != 1 || bs[0].MissingCount != 2 || len(bs[0].MissingFiles) != 2 {
		t.Fatalf("backups --json: %+v, want missing_count 2 and both names", bs)
	}
	for _, f := range odoo.Missing {
		if bs[0].MissingFiles[0] != f && bs[0].MissingFiles[1] != f {
			t.Errorf("backups --json names %v, want %s among them", bs[0].MissingFiles, f)
		}
	}
	if out := c.ok("backups", "shop"); !strings.Contains(out, "succeeded, lacks 2 attachment file(s)") {
		t.Errorf("backups:\n%s\nwant the backup marked as lacking 2 files", out)
	}
	if out := c.ok("verify", itoa(bs[0].ID)); !strings.Contains(out, "lacks 2 attachment file(s)") || !strings.Contains(out, bs[0].MissingFiles[0]) {
		t.Errorf("verify:\n%s\nwant it to say the backup lacks 2 files and name the first", out)
	}
	out := c.ok("status")
	if !strings.Contains(out, "warning: backup "+itoa(bs[0].ID)+" lacks 2") || !strings.Contains(out, "Warning (not a failure)") {
		t.Errorf("status:\n%s\nwant a warning about the missing files", out)
	}
	// Its drill passes and says the files it lacks were never in it.
	if out := c.ok("drill", "shop"); !strings.Contains(out, "passed") || !strings.Contains(out, "lacks 2 attachment file(s)") {
		t.Errorf("drill:\n%s\nwant passed, reporting the 2 files the backup lacks", out)
	}
	var st struct {
		Healthy  bool     `json:"healthy"`
		Warnings []string `json:"warnings"`
		Services []struct {
			Health string `json:"health"`
		} `json:"services"`
	}
	c.json(&st, "status")
	if !st.Healthy || len(st.Warnings) != 1 || len(st.Services) != 1 || st.Services[0].Health != "warning" {
		t.Errorf("status --json: %+v, want healthy with one warning and the service in warning", st)
	}
}
