package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// restore --only puts one half of a backup back, onto a service or into a
// new database, and leaves the other half as it is; bad values and a
// backup without filestore are refused with one sentence and nothing
// changed.
func TestRestorePart(t *testing.T) {
	pg := servers.Postgres(t)
	ctx := context.Background()
	c := newCLI(t)
	prod := generate(t, "cli_rp_prod")
	staging := generateSeed(t, "cli_rp_staging", 44)
	id := c.onOneDisk(prod, staging)
	print := func(db, dir string) testbed.Print {
		t.Helper()
		p, err := testbed.Fingerprint(ctx, pg.Conn(db), dir)
		if err != nil {
			t.Fatal(err)
		}
		return p.WithoutChecklist()
	}
	files := func(p testbed.Print) testbed.Print { return testbed.Print{Files: p.Files} }
	database := func(p testbed.Print) testbed.Print { p.Files = nil; return p }
	same := func(what string, want, got testbed.Print) {
		t.Helper()
		if diff := want.Diff(got); len(diff) > 0 {
			t.Errorf("%s differs:\n%s", what, strings.Join(diff, "\n"))
		}
	}
	safeties := func() int {
		var bs []backupJSON
		c.json(&bs, "backups", "staging", "--kind", "safety")
		return len(bs)
	}
	source := print(prod.Name, prod.FilestoreDir)
	before := print(staging.Name, staging.FilestoreDir)

	// Refused, nothing changed.
	c.fails(2, `--only "half" is not a half of a backup; give --only database or --only filestore`, "restore", id, "--service", "staging", "--only", "half", "--yes")
	c.fails(2, "--neutralize does not go with --only filestore", "restore", id, "--service", "staging", "--only", "filestore", "--neutralize", "--yes")
	c.fails(2, "--owner does not go with --only filestore", "restore", id, "--new-db", "cli_rp_x", "--only", "filestore", "--owner", "odoo")
	c.fails(2, "replaces its filestore (its database is left as it is)", "restore", id, "--service", "staging", "--only", "filestore")
	c.fails(2, "--only only goes with --restore", "upload", filepath.Join(c.dir, "nothing.zip"), "--service", "staging", "--only", "database")
	same("staging after refusals", before, print(staging.Name, staging.FilestoreDir))
	if n := safeties(); n != 0 {
		t.Fatalf("%d safety backups after refusals", n)
	}

	// The filestore alone, without a neutralize flag though the default
	// would neutralize another service's data.
	out := c.ok("restore", id, "--service", "staging", "--only", "filestore", "--yes")
	for _, want := range []string{"Safety backup ", "filestore restored onto staging", "its database was left untouched", "Not checked: the database"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore --only filestore output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "eutralized") {
		t.Errorf("restore --only filestore speaks of neutralizing:\n%s", out)
	}
	now := print(staging.Name, staging.FilestoreDir)
	same("staging's filestore and production's", files(source), files(now))
	same("staging's database", database(before), database(now))
	if err := staging.CheckAsOwner(ctx, pg, staging.Name, staging.FilestoreDir); err != nil {
		t.Errorf("after --only filestore: %v", err)
	}

	// The database alone, as JSON.
	var res core.RestoreResult
	c.json(&res, "restore", id, "--service", "staging", "--only", "database", "--no-neutralize", "--yes")
	if res.Only != core.RestoreDatabaseOnly || res.Database != staging.Name || res.FilestoreDir != "" || res.SafetyBackupID == 0 {
		t.Errorf("restore --only database --json: %+v", res)
	}
	same("staging and production", source, print(staging.Name, staging.FilestoreDir))
	if err := staging.CheckAsOwner(ctx, pg, staging.Name, staging.FilestoreDir); err != nil {
		t.Errorf("after --only database: %v", err)
	}
	if n := safeties(); n != 2 {
		t.Errorf("%d safety backups, want 2", n)
	}

	// Into a new database: each half alone.
	out = c.ok("restore", id, "--new-db", "cli_rp_new", "--only", "database")
	newFS := filepath.Join(prod.DataDir, "filestore", "cli_rp_new")
	if !strings.Contains(out, "database restored into cli_rp_new; no filestore was restored") {
		t.Errorf("restore --new-db --only database output:\n%s", out)
	}
	if _, err := os.Lstat(newFS); !os.IsNotExist(err) {
		t.Errorf("--only database made %s (%v)", newFS, err)
	}
	out = c.ok("restore", id, "--new-db", "cli_rp_new", "--only", "filestore")
	if !strings.Contains(out, "filestore restored into "+newFS) || !strings.Contains(out, "no database was restored or created") {
		t.Errorf("restore --new-db --only filestore output:\n%s", out)
	}
	// The new database is neutralized by default; its filestore is
	// production's.
	same("the new filestore and production's", files(source), files(print("cli_rp_new", newFS)))

	// A backup without filestore: refused for its filestore, before the
	// safety backup, and before an upload.
	nofs, err := testbed.GenerateOdoo(ctx, pg, "cli_rp_nofs", filepath.Join(t.TempDir(), "odoo"), testbed.OdooOptions{Seed: 46, Files: -1})
	if err != nil {
		t.Fatal(err)
	}
	c.addService("nofs", nofs)
	c.ok("config", "set", "nofs", "disk")
	var bs []backupJSON
	c.json(&bs, "backup", "nofs")
	bare := itoa(bs[0].ID)
	before = print(staging.Name, staging.FilestoreDir)
	c.fails(1, "backup "+bare+" holds no filestore, so there is none to restore; restore it whole (without --only), or only its database with --only database",
		"restore", bare, "--service", "staging", "--only", "filestore", "--yes")
	if n := safeties(); n != 2 {
		t.Errorf("%d safety backups, want still 2", n)
	}
	zip := filepath.Join(c.dir, "nofs.zip")
	c.ok("download", bare, "-o", zip)
	c.fails(2, `--only "both" is not a half of a backup`, "upload", zip, "--service", "staging", "--restore", "--only", "both", "--yes")
	var uploads []backupJSON
	c.json(&uploads, "backups", "staging", "--kind", "upload")
	c.fails(1, "holds no filestore, so there is none to restore and nothing was uploaded", "upload", zip, "--service", "staging", "--restore", "--only", "filestore", "--yes")
	var after []backupJSON
	c.json(&after, "backups", "staging", "--kind", "upload")
	if len(after) != len(uploads) {
		t.Errorf("a refused upload stored a backup: %d uploads, were %d", len(after), len(uploads))
	}
	same("staging after the refusals", before, print(staging.Name, staging.FilestoreDir))

	// upload --restore --only database goes the same way.
	raw := c.ok("upload", zip, "--service", "staging", "--restore", "--only", "database", "--no-neutralize", "--yes", "--json")
	var up uploadResult
	if err := json.Unmarshal([]byte(raw), &up); err != nil || up.Restore == nil || up.Restore.Only != core.RestoreDatabaseOnly {
		t.Fatalf("upload --restore --only database --json: %s (%v)", raw, err)
	}
	now = print(staging.Name, staging.FilestoreDir)
	same("staging's filestore after an upload's database alone", files(before), files(now))
	same("staging's database and the upload's", database(print(nofs.Name, "")), database(now))
}
