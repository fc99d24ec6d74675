package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// A custom-format pg_dump is shown, uploaded and restored onto a service
// from one command; a file that is not a backup is refused with nothing
// uploaded.
func TestUploadAndRestore(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	prod := generate(t, "cli_up_prod")
	staging := generateSeed(t, "cli_up_staging", 44)
	disk := filepath.Join(c.dir, "staging-disk")
	c.ok("destination", "add", "staging-disk", "--dir", disk)
	c.addService("staging", staging)
	c.ok("config", "set", "staging", "staging-disk")

	dump := filepath.Join(c.dir, "prod.dump")
	cmd := exec.Command("pg_dump", "--no-owner", "-Fc", "-f", dump, pg.ConnString(prod.Name))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	text := filepath.Join(c.dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not a backup\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	c.fails(2, "--yes", "upload", dump, "--service", "staging", "--restore")
	c.fails(2, "--service", "upload", dump)
	c.fails(1, "not a backup", "upload", text, "--service", "staging")
	if entries, _ := os.ReadDir(disk); len(entries) > 0 {
		t.Fatalf("a refused upload left %v in the destination", entries)
	}

	out := c.ok("upload", dump, "--service", "staging", "--restore", "--no-neutralize", "--yes")
	for _, want := range []string{"pg_dump custom-format dump", "database:     cli_up_prod", "Uploaded as backup", "restored onto staging"} {
		if !strings.Contains(out, want) {
			t.Errorf("upload output lacks %q:\n%s", want, out)
		}
	}
	var ups []backupJSON
	c.json(&ups, "backups", "staging", "--kind", "upload")
	if len(ups) != 1 || ups[0].Destination != "staging-disk" {
		t.Fatalf("upload backups: %+v, want one on staging-disk", ups)
	}
	got, err := testbed.Fingerprint(context.Background(), pg.Conn("cli_up_staging"), "")
	if err != nil {
		t.Fatal(err)
	}
	want, err := testbed.Fingerprint(context.Background(), pg.Conn(prod.Name), "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := want.Diff(got); len(diff) > 0 {
		t.Errorf("staging after upload & restore differs from production:\n%s", strings.Join(diff, "\n"))
	}
	// Loaded by pg_restore as the throwaway role, handed to staging's owner.
	if err := staging.CheckAsOwner(context.Background(), pg, "cli_up_staging", staging.FilestoreDir); err != nil {
		t.Errorf("after upload --restore: %v", err)
	}

	var res uploadResult
	c.json(&res, "upload", dump, "--service", "staging")
	if res.Found.Format != "pg-custom" || res.Backup.Kind != "upload" || res.Restore != nil {
		t.Errorf("upload --json: %+v", res)
	}
}

// service copy registers a copy with the source's configurations, usable
// by the source's owner role and system user.
func TestServiceCopy(t *testing.T) {
	c := newCLI(t)
	prod := generate(t, "cli_cp_prod")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("production", prod)
	c.ok("config", "set", "production", "disk", "--frequency", "daily", "--keep", "5")

	c.fails(2, "--db", "service", "copy", "production", "copy")
	// In Odoo's data dir, as Odoo's duplicate does.
	fs := filepath.Join(prod.DataDir, "filestore", "copy-fs")
	out := c.ok("service", "copy", "production", "copy", "--db", "cli_cp_copy", "--filestore", fs)
	if !strings.Contains(out, "Service copy created") || !strings.Contains(out, "cli_cp_copy") {
		t.Errorf("service copy output:\n%s", out)
	}
	if got, want := c.configs("copy"), c.configs("production"); got != strings.ReplaceAll(want, "production", "copy") {
		t.Errorf("configurations of the copy:\n%s\nwant as production's:\n%s", got, want)
	}
	var copies []backupJSON
	c.json(&copies, "backups", "production", "--kind", "copy")
	if len(copies) != 1 {
		t.Errorf("copy backups of production: %+v, want one", copies)
	}
	c.fails(1, "already exists", "service", "copy", "production", "copy", "--db", "cli_cp_copy2")
	// By default the copy belongs to the owner of production's database,
	// and its files to the owner of the directory it is made in.
	if err := prod.CheckAsOwner(context.Background(), servers.Postgres(t), "cli_cp_copy", fs); err != nil {
		t.Errorf("the copy is not usable by production's owner: %v", err)
	}
}

// A plain dump with a shell command hidden before its first SET is refused
// by upload --restore with one sentence; nothing is uploaded, staging is
// unchanged and the command never runs.
func TestUploadHostileDumpRefused(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	prod := generate(t, "cli_hostile_prod")
	staging := generateSeed(t, "cli_hostile_staging", 45)
	disk := filepath.Join(c.dir, "staging-disk")
	c.ok("destination", "add", "staging-disk", "--dir", disk)
	c.addService("staging", staging)
	c.ok("config", "set", "staging", "staging-disk")
	before, err := testbed.Fingerprint(context.Background(), pg.Conn(staging.Name), staging.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	// Beyond staging: production, every role, every database's owner and
	// settings.
	prodBefore, err := testbed.Fingerprint(context.Background(), pg.Conn(prod.Name), prod.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	cluster := func() string {
		roles, err := pg.Roles(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		dbs, err := pg.Databases(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return roles + "\n" + dbs
	}
	clusterBefore := cluster()

	cmd := exec.Command("pg_dump", "--no-owner", pg.ConnString(prod.Name))
	dump, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	marker := filepath.Join(c.dir, "proof.txt")
	hostile := strings.Replace(string(dump), "\nSET ", "\n\\! id > "+marker+"\nSET ", 1)
	file := filepath.Join(c.dir, "hostile.sql")
	if err := os.WriteFile(file, []byte(hostile), 0o600); err != nil {
		t.Fatal(err)
	}

	c.fails(1, `the dump holds a psql meta-command (\! on line `, "upload", file, "--service", "staging", "--restore", "--neutralize", "--yes")
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the dump's \\! ran: %s exists (%v)", marker, err)
	}
	if entries, _ := os.ReadDir(disk); len(entries) > 0 {
		t.Errorf("a refused upload left %v in the destination", entries)
	}
	after, err := testbed.Fingerprint(context.Background(), pg.Conn(staging.Name), staging.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := before.Diff(after); len(diff) > 0 {
		t.Errorf("staging changed:\n%s", strings.Join(diff, "\n"))
	}
	prodAfter, err := testbed.Fingerprint(context.Background(), pg.Conn(prod.Name), prod.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := prodBefore.Diff(prodAfter); len(diff) > 0 {
		t.Errorf("production changed:\n%s", strings.Join(diff, "\n"))
	}
	if now := cluster(); now != clusterBefore {
		t.Errorf("roles or databases changed:\nbefore:\n%s\nafter:\n%s", clusterBefore, now)
	}
}
