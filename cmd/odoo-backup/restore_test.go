package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// Production restored into staging, neutralized, from one command; the
// command refuses to replace a service's data without --yes.
func TestRestoreProductionIntoStaging(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	prod := generate(t, "cli_rs_prod")
	staging := generateSeed(t, "cli_rs_staging", 43)
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.ok("destination", "add", "staging-disk", "--dir", filepath.Join(c.dir, "staging-disk"))
	c.addService("production", prod)
	c.addService("staging", staging)
	c.ok("config", "set", "production", "disk")
	c.ok("config", "set", "staging", "staging-disk")
	var bs []backupJSON
	c.json(&bs, "backup", "production")
	if len(bs) != 1 {
		t.Fatalf("backup: %+v", bs)
	}
	id := itoa(bs[0].ID)
	stagingRows := func() string {
		s, err := pg.QueryString(context.Background(), "cli_rs_staging", "SELECT count(*)::text || ' messages, uuid ' || (SELECT value FROM ir_config_parameter WHERE key = 'database.uuid') FROM mail_message")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := stagingRows()

	c.fails(2, "replaces all of its data", "restore", id, "--service", "staging")
	c.fails(2, "not both", "restore", id, "--service", "staging", "--new-db", "x", "--yes")
	c.fails(2, "--filestore only goes with --new-db", "restore", id, "--service", "staging", "--filestore", c.dir, "--yes")
	c.fails(1, `"nope"`, "restore", id, "--service", "nope", "--yes")
	if got := stagingRows(); got != before {
		t.Fatalf("a refused restore changed staging: %s, was %s", got, before)
	}
	r := c.run("restore", id, "--service", "staging")
	if !strings.Contains(r.stderr, "safety backup") || !strings.Contains(r.stderr, "primary destination") {
		t.Errorf("refusal without --yes should say a safety backup goes to the primary first: %q", r.stderr)
	}

	out := c.ok("restore", id, "--service", "staging", "--neutralize", "--yes")
	if !strings.Contains(out, "Safety backup ") || !strings.Contains(out, "restored onto staging") || !strings.Contains(out, "Neutralized:") {
		t.Errorf("restore output should name the safety backup, the target and the neutralization:\n%s", out)
	}
	var safety []backupJSON
	c.json(&safety, "backups", "staging", "--kind", "safety")
	if len(safety) != 1 || safety[0].Status != "succeeded" || safety[0].Destination != "staging-disk" {
		t.Fatalf("safety backups of staging: %+v, want one succeeded on staging-disk", safety)
	}
	if !strings.Contains(out, "restore "+itoa(safety[0].ID)+" --service staging --yes") {
		t.Errorf("the output should say how to undo with the safety backup %d:\n%s", safety[0].ID, out)
	}
	for sql, want := range map[string]string{
		"SELECT count(*)::text FROM mail_message":                                                          itoaRows(t, "cli_rs_prod", "SELECT count(*) FROM mail_message"),
		"SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'":                      "true",
		"SELECT count(*)::text FROM ir_cron WHERE active":                                                  "1",
		"SELECT count(*)::text FROM ir_mail_server WHERE active AND smtp_host <> 'invalid'":                "0",
		"SELECT (value <> '" + prod.UUID + "')::text FROM ir_config_parameter WHERE key = 'database.uuid'": "true",
	} {
		got, err := pg.QueryString(context.Background(), "cli_rs_staging", sql)
		if err != nil || got != want {
			t.Errorf("staging: %s = %q (%v), want %q", sql, got, err, want)
		}
	}
	// Staging's role and system user still use all of it.
	if err := staging.CheckAsOwner(context.Background(), pg, "cli_rs_staging", staging.FilestoreDir); err != nil {
		t.Errorf("after the restore: %v", err)
	}
	if n, err := pg.QueryInt(context.Background(), "cli_rs_prod", "SELECT count(*) FROM ir_config_parameter WHERE key = 'database.is_neutralized'"); err != nil || n != 0 {
		t.Errorf("production was neutralized (%d, %v)", n, err)
	}

	// --json reports the safety backup id; restoring it brings staging back.
	raw := c.ok("restore", itoa(safety[0].ID), "--service", "staging", "--yes", "--json")
	var res struct {
		SafetyBackupID int64 `json:"safety_backup_id"`
		Database       string
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil || res.SafetyBackupID == 0 || res.Database != "cli_rs_staging" {
		t.Errorf("restore --json: %s (%v)", raw, err)
	}
	if got := stagingRows(); got != before {
		t.Errorf("restoring the safety backup gave %s, want staging's old %s", got, before)
	}
	if err := staging.CheckAsOwner(context.Background(), pg, "cli_rs_staging", staging.FilestoreDir); err != nil {
		t.Errorf("after the safety backup was put back: %v", err)
	}

	// A new database belongs to --owner; service copy takes it too.
	pw, err := pg.EnsureRole(context.Background(), "cli_owner")
	if err != nil {
		t.Fatal(err)
	}
	c.fails(2, "--owner only goes with --new-db", "restore", id, "--service", "staging", "--owner", "cli_owner", "--yes")
	c.fails(1, `the owner role "nope" does not exist`, "restore", id, "--new-db", "cli_rs_new", "--owner", "nope")
	c.fails(1, "is a superuser", "restore", id, "--new-db", "cli_rs_new", "--owner", pg.User)
	c.ok("restore", id, "--new-db", "cli_rs_new", "--owner", "cli_owner")
	owned := *prod
	owned.Owner, owned.OwnerPassword = "cli_owner", pw
	if err := owned.CheckAsOwner(context.Background(), pg, "cli_rs_new", filepath.Join(prod.DataDir, "filestore", "cli_rs_new")); err != nil {
		t.Errorf("restore --new-db --owner: %v", err)
	}
	c.fails(1, "is a superuser", "service", "copy", "production", "prod-copy", "--db", "cli_rs_copy", "--owner", pg.User)
	c.ok("service", "copy", "production", "prod-copy", "--db", "cli_rs_copy", "--owner", "cli_owner")
	if err := owned.CheckAsOwner(context.Background(), pg, "cli_rs_copy", filepath.Join(prod.DataDir, "filestore", "cli_rs_copy")); err != nil {
		t.Errorf("service copy --owner: %v", err)
	}
}

func itoaRows(t *testing.T, db, sql string) string {
	t.Helper()
	pg := servers.Postgres(t)
	n, err := pg.QueryInt(context.Background(), db, sql)
	if err != nil {
		t.Fatal(err)
	}
	return itoa(n)
}
