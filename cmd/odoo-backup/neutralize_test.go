package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// neutralState is what neutralization changes in a database, in one line.
func neutralState(t *testing.T, db string) string {
	t.Helper()
	pg := servers.Postgres(t)
	s, err := pg.QueryString(context.Background(), db, `SELECT
		'neutralized=' || coalesce((SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'), 'unset') ||
		' crons=' || (SELECT count(*) FROM ir_cron WHERE active) ||
		' mail=' || (SELECT count(*) FROM ir_mail_server WHERE active AND smtp_host <> 'invalid') ||
		' uuid=' || (SELECT value FROM ir_config_parameter WHERE key = 'database.uuid')`)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sameAs(t *testing.T, db string, want *testbed.OdooDB) {
	t.Helper()
	pg := servers.Postgres(t)
	got, err := testbed.Fingerprint(context.Background(), pg.Conn(db), "")
	if err != nil {
		t.Fatal(err)
	}
	w, err := testbed.Fingerprint(context.Background(), pg.Conn(want.Name), "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := w.Diff(got); len(diff) > 0 {
		t.Errorf("%s differs from %s:\n%s", db, want.Name, strings.Join(diff, "\n"))
	}
}

// SPEC rule 8 on the command line: a production backup restored onto
// staging without a flag is neutralized, with --no-neutralize it is
// production's as it is; onto its own service nothing is neutralized unless
// asked; into a new database it is neutralized by default.
func TestRestoreNeutralizeDefaults(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	prod := generate(t, "cli_nd_prod")
	staging := generateSeed(t, "cli_nd_staging", 45)
	id := c.onOneDisk(prod, staging)
	prodState := neutralState(t, prod.Name)
	if !strings.HasPrefix(prodState, "neutralized=unset ") || strings.Contains(prodState, " crons=1 ") || strings.Contains(prodState, " mail=0 ") || !strings.HasSuffix(prodState, prod.UUID) {
		t.Fatalf("production before: %s, want it not neutralized, with crons and a mail server on (the test bed changed?)", prodState)
	}

	before := neutralState(t, staging.Name)
	c.fails(2, "not both", "restore", id, "--service", "staging", "--neutralize", "--no-neutralize", "--yes")
	if got := neutralState(t, staging.Name); got != before {
		t.Fatalf("a refused restore changed staging: %s, was %s", got, before)
	}

	var res struct {
		IsNeutralized bool     `json:"is_neutralized"`
		NewIdentity   bool     `json:"new_identity"`
		Neutralized   []string `json:"neutralized"`
	}
	c.json(&res, "restore", id, "--service", "staging", "--yes")
	if !res.IsNeutralized || !res.NewIdentity || len(res.Neutralized) == 0 {
		t.Errorf("restore --json onto another service: %+v, want is_neutralized and new_identity", res)
	}
	got := neutralState(t, staging.Name)
	if !strings.HasPrefix(got, "neutralized=true crons=1 mail=0 uuid=") || strings.HasSuffix(got, prod.UUID) {
		t.Errorf("staging after a plain restore of production: %s; want neutralized, only the auto-vacuum cron, no mail server, a new uuid", got)
	}
	out := c.ok("restore", id, "--service", "staging", "--yes")
	if !strings.Contains(out, "Neutralized by default (backup "+id+" is of production, not of staging; --no-neutralize keeps it as it was)") {
		t.Errorf("the output should say it neutralized by default and why:\n%s", out)
	}

	out = c.ok("restore", id, "--service", "staging", "--no-neutralize", "--yes")
	if !strings.Contains(out, "Not neutralized") {
		t.Errorf("the output should say it did not neutralize:\n%s", out)
	}
	if got := neutralState(t, staging.Name); got != prodState {
		t.Errorf("staging after --no-neutralize: %s, want production's %s", got, prodState)
	}
	sameAs(t, staging.Name, prod)

	// Onto its own service: production's own data back, not neutralized.
	out = c.ok("restore", id, "--service", "production", "--yes")
	if !strings.Contains(out, "Not neutralized") || !strings.Contains(out, "--neutralize turns them off") {
		t.Errorf("the output of a restore onto its own service should say it was not neutralized and how to:\n%s", out)
	}
	if got := neutralState(t, prod.Name); got != prodState {
		t.Errorf("production restored onto itself: %s, want %s", got, prodState)
	}

	// Into a new database: neutralized by default, as it runs beside production.
	c.json(&res, "restore", id, "--new-db", "cli_nd_copy")
	if got := neutralState(t, "cli_nd_copy"); !res.IsNeutralized || !strings.HasPrefix(got, "neutralized=true crons=1 mail=0") {
		t.Errorf("new database: %s (result %+v), want neutralized", got, res)
	}
	c.ok("restore", id, "--new-db", "cli_nd_exact", "--no-neutralize")
	sameAs(t, "cli_nd_exact", prod)
	for _, db := range []string{"cli_nd_copy", "cli_nd_exact"} {
		if err := pg.Exec(context.Background(), "postgres", "DROP DATABASE IF EXISTS "+db); err != nil {
			t.Error(err)
		}
	}
}

// An upload onto a service asks for the choice: without one nothing is
// read or stored and the command exits 2, saying why.
func TestUploadNeedsNeutralizeChoice(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	prod := generate(t, "cli_un_prod")
	staging := generateSeed(t, "cli_un_staging", 46)
	disk := filepath.Join(c.dir, "disk")
	c.ok("destination", "add", "disk", "--dir", disk)
	c.addService("staging", staging)
	c.ok("config", "set", "staging", "disk")
	dump := filepath.Join(c.dir, "prod.dump")
	if out, err := exec.Command("pg_dump", "--no-owner", "-Fc", "-f", dump, pg.ConnString(prod.Name)).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	before := neutralState(t, staging.Name)

	c.fails(2, "nobody knows where an uploaded file came from, so say whether to neutralize it on staging: --neutralize", "upload", dump, "--service", "staging", "--restore", "--yes")
	c.fails(2, "not both", "upload", dump, "--service", "staging", "--restore", "--yes", "--neutralize", "--no-neutralize")
	c.fails(2, "only go with --restore", "upload", dump, "--service", "staging", "--no-neutralize")
	if entries, _ := os.ReadDir(disk); len(entries) > 0 {
		t.Errorf("a refused upload stored %v", entries)
	}
	if got := neutralState(t, staging.Name); got != before {
		t.Errorf("a refused upload changed staging: %s, was %s", got, before)
	}

	out := c.ok("upload", dump, "--service", "staging", "--restore", "--neutralize", "--yes")
	if !strings.Contains(out, "Neutralized:") {
		t.Errorf("upload --neutralize output:\n%s", out)
	}
	if got := neutralState(t, staging.Name); !strings.HasPrefix(got, "neutralized=true crons=1 mail=0") || strings.HasSuffix(got, prod.UUID) {
		t.Errorf("staging after upload --neutralize: %s", got)
	}

	// Restoring the upload later asks the same question.
	var ups []backupJSON
	c.json(&ups, "backups", "staging", "--kind", "upload")
	c.fails(2, "origin is unknown", "restore", itoa(ups[0].ID), "--service", "staging", "--yes")
	c.ok("restore", itoa(ups[0].ID), "--service", "staging", "--no-neutralize", "--yes")
	sameAs(t, staging.Name, prod)
}

// service copy neutralizes the copy unless told --no-neutralize, which
// still gives it an identity of its own.
func TestServiceCopyNeutralizes(t *testing.T) {
	c := newCLI(t)
	prod := generate(t, "cli_cn_prod")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("production", prod)
	c.ok("config", "set", "production", "disk")
	prodState := neutralState(t, prod.Name)

	out := c.ok("service", "copy", "production", "training", "--db", "cli_cn_training", "--filestore", filepath.Join(c.dir, "training-fs"))
	if !strings.Contains(out, "Neutralized by default") {
		t.Errorf("service copy output should say it neutralized:\n%s", out)
	}
	if got := neutralState(t, "cli_cn_training"); !strings.HasPrefix(got, "neutralized=true crons=1 mail=0") || strings.HasSuffix(got, prod.UUID) {
		t.Errorf("the copy: %s, want neutralized with a new uuid", got)
	}

	var res struct {
		Restore struct {
			IsNeutralized bool `json:"is_neutralized"`
			NewIdentity   bool `json:"new_identity"`
		} `json:"restore"`
	}
	raw := c.ok("service", "copy", "production", "exact", "--db", "cli_cn_exact", "--filestore", filepath.Join(c.dir, "exact-fs"), "--no-neutralize", "--json")
	if err := json.Unmarshal([]byte(raw), &res); err != nil || res.Restore.IsNeutralized || !res.Restore.NewIdentity {
		t.Errorf("service copy --no-neutralize --json: %s (%v); want not neutralized, a new identity", raw, err)
	}
	got := neutralState(t, "cli_cn_exact")
	wantPrefix := strings.TrimSuffix(prodState, prod.UUID)
	if !strings.HasPrefix(got, wantPrefix) || strings.HasSuffix(got, prod.UUID) {
		t.Errorf("the --no-neutralize copy: %s, want production's %s with a new uuid", got, wantPrefix)
	}
	if got := neutralState(t, prod.Name); got != prodState {
		t.Errorf("production changed: %s, was %s", got, prodState)
	}
}

// Ctrl-C (SIGINT) and SIGTERM to a real odoo-backup restore, while it
// extracts the filestore and while it loads the database: one sentence says
// it was interrupted and staging is as it was, it exits 1, and staging is
// as it was with nothing left beside it.
func TestRestoreInterruptedBySignal(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	prod, err := testbed.GenerateOdoo(context.Background(), pg, "cli_sig_prod", filepath.Join(t.TempDir(), "odoo"),
		testbed.OdooOptions{Seed: 47, DumpBytes: 24 << 20, FilestoreBytes: 48 << 20, Files: 1500})
	if err != nil {
		t.Fatal(err)
	}
	staging := generateSeed(t, "cli_sig_staging", 48)
	id := c.onOneDisk(prod, staging)
	before, err := testbed.Fingerprint(context.Background(), pg.Conn(staging.Name), staging.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	fsParent := filepath.Dir(staging.FilestoreDir)

	stagedDir := func() bool {
		entries, _ := os.ReadDir(fsParent)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".restoring-") {
				return true
			}
		}
		return false
	}
	stagedDB := func() bool {
		n, err := pg.QueryInt(context.Background(), "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'cli_sig_staging_restoring_%'")
		return err == nil && n > 0
	}
	for _, tc := range []struct {
		name   string
		sig    syscall.Signal
		during func() bool
	}{
		{"SIGINT while the filestore is extracted", syscall.SIGINT, stagedDir},
		{"SIGTERM while the database loads", syscall.SIGTERM, stagedDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The phase is awaited: the staged directory or database appearing.
			code, msg := c.signalDuring(t, tc.sig, func(int) bool { return tc.during() }, "restore", id, "--service", "staging", "--yes")
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.Contains(msg, "was interrupted; nothing was changed: staging is as it was") || strings.Count(msg, "\n") > 0 {
				t.Errorf("stderr %q: want one sentence saying it was interrupted and staging is as it was", msg)
			}
			for _, word := range []string{"damaged", "corrupt", "context canceled"} {
				if strings.Contains(msg, word) {
					t.Errorf("stderr says %q: %s", word, msg)
				}
			}
			after, err := testbed.Fingerprint(context.Background(), pg.Conn(staging.Name), staging.FilestoreDir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := before.Diff(after); len(diff) > 0 {
				t.Errorf("staging changed:\n%s", strings.Join(diff, "\n"))
			}
			if stagedDir() || stagedDB() {
				t.Error("the interrupted restore left its staged database or directory")
			}
		})
	}
}
