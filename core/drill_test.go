package core_test

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// drill runs a drill with its scratch directory inside the test's, and
// checks the scratch copy is gone whatever the outcome.
func (e *env) drill(dest string) (core.DrillResult, error) {
	e.t.Helper()
	// Open to the service's owner, as /tmp (the default) is.
	scratch := filepath.Join(e.dir, "scratch")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		e.t.Fatal(err)
	}
	res, err := e.engine.Drill(e.ctx, core.DrillRequest{Service: "prod", Destination: dest, ScratchDir: scratch})
	if left := e.databasesLike(e.odoo.Name[:min(len(e.odoo.Name), 25)] + "_drill_"); left != "" {
		e.t.Errorf("the drill left scratch databases behind: %s", left)
	}
	if entries, _ := os.ReadDir(scratch); len(entries) > 0 {
		e.t.Errorf("the drill left %d entries in its scratch directory (first %s)", len(entries), entries[0].Name())
	}
	drills, lerr := e.cat.Drills(e.ctx, "prod", 1)
	if lerr != nil || len(drills) != 1 || drills[0].ID != res.Drill.ID || drills[0].Status != res.Drill.Status {
		e.t.Fatalf("history holds %+v, %v; want the drill %+v", drills, lerr, res.Drill)
	}
	return res, err
}

// A drill of a good backup restores it, finds the row counts recorded at
// backup time and every attachment file, records ok, and leaves nothing.
func TestDrillGoodBackup(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 21})
	e.backup("local")
	b := e.backup("minio")[0]
	// The scratch copy is what a restore gives: the service's owners.
	checked := 0
	*core.AfterDrillRestore = func(db core.DBConn, filestore string) {
		checked++
		e.wantOwned(e.odoo, db.Database, filestore)
	}
	defer func() { *core.AfterDrillRestore = nil }()
	res, err := e.drill("")
	if checked != 1 {
		t.Errorf("the drill's copy was checked %d times, want once", checked)
	}
	if err != nil {
		t.Fatalf("drill: %v", err)
	}
	d := res.Drill
	if d.Status != core.DrillOK || d.BackupID != b.ID || d.Destination != "minio" || d.FinishedAt == nil || d.Error != "" {
		t.Fatalf("drill %+v: want ok on the newest backup %d", d, b.ID)
	}
	if len(d.Details.Expected) < 5 || d.Details.Tables["res_partner"] == 0 || d.Details.Tables["res_partner"] != d.Details.Expected["res_partner"] {
		t.Errorf("drill details %+v: want the key tables' counts, equal to those recorded", d.Details)
	}
	live, err := pg.QueryInt(e.ctx, e.odoo.Name, "SELECT count(*) FROM res_partner")
	if err != nil || live != d.Details.Expected["res_partner"] {
		t.Errorf("recorded res_partner count %d, the database has %d (%v)", d.Details.Expected["res_partner"], live, err)
	}
	if d.Details.FilestoreFiles == 0 || d.Details.MissingFiles != 0 {
		t.Errorf("drill details %+v: want the filestore restored with nothing missing", d.Details)
	}
	if res.ScratchDB == "" || e.dbExists(res.ScratchDB) {
		t.Errorf("scratch database %q: want named and gone", res.ScratchDB)
	}

	local, err := e.drill("local")
	if err != nil || local.Drill.Destination != "local" {
		t.Errorf("drill of the local backups: %+v, %v", local.Drill, err)
	}
}

// A backup altered after the fact fails its drill on the checksum.
func TestDrillAlteredBackup(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 22})
	b := e.backup("local")[0]
	e.corrupt(b)
	res, err := e.drill("local")
	if !errors.Is(err, core.ErrCorrupt) || res.Drill.Status != core.DrillFailed || !strings.Contains(res.Drill.Error, "checksum") {
		t.Fatalf("drill of an altered backup: %+v, %v; want failed on the checksum", res.Drill, err)
	}
}

// A hand-made archive without its filestore, recorded with its right
// checksum, restores but fails the drill on the missing attachment files;
// a metadata object whose counts differ fails it on the counts.
func TestDrillFindsMissingFilesAndCounts(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 23})
	b := e.backup("local")[0]
	path := filepath.Join(e.local.Local.Dir, filepath.FromSlash(b.Key))

	// Counts first: the archive is intact, the metadata says one more partner.
	metaPath := core.MetadataKey(path)
	raw, err := os.ReadFile(metaPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.ParseMetadata(raw)
	if err != nil {
		t.Fatal(err)
	}
	m.Tables["res_partner"]++
	edited, _ := json.Marshal(m)
	if err := os.WriteFile(metaPath, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := e.drill("local")
	if err == nil || res.Drill.Status != core.DrillFailed || !strings.Contains(res.Drill.Error, "res_partner has") {
		t.Fatalf("drill with a wrong count: %+v, %v; want failed naming res_partner", res.Drill, err)
	}
	if err := os.WriteFile(metaPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	// Then the archive without its filestore.
	e.rewriteArchive(&b, func(_ *zip.Writer, f *zip.File) bool {
		return !strings.HasPrefix(f.Name, "filestore/")
	})
	res, err = e.drill("local")
	if err == nil || res.Drill.Status != core.DrillFailed || res.Drill.Details.MissingFiles == 0 || !strings.Contains(res.Drill.Error, "attachment files are missing") {
		t.Fatalf("drill of an archive without filestore: %+v, %v; want failed on missing attachment files", res.Drill, err)
	}
}

// A service without any succeeded backup fails its drill, recorded.
func TestDrillWithoutBackup(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 24})
	res, err := e.drill("")
	if !errors.Is(err, core.ErrNotFound) || res.Drill.Status != core.DrillFailed || res.Drill.BackupID != 0 {
		t.Fatalf("drill without a backup: %+v, %v; want a recorded failure", res.Drill, err)
	}
}
