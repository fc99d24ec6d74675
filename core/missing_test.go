package core_test

import (
	"archive/zip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
)

// A backup of a service whose filestore lost attachment files records what
// it lacks, count and names, in its catalog row and its metadata object; a
// catalog rebuild brings them back; a drill of it passes, reporting them as
// known, while a drill of the same backup with one more file removed from
// its archive fails on that file.
func TestBackupRecordsMissingFiles(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 50, Files: 10, MissingFiles: 3})
	want := slices.Sorted(slices.Values(e.odoo.Missing))
	if len(want) != 3 {
		t.Fatalf("the test bed made %d missing files, want 3", len(want))
	}
	b := e.backup("local")[0]
	if b.Status != core.StatusSucceeded || b.MissingCount != 3 || !slices.Equal(b.MissingFiles, want) {
		t.Fatalf("backup %+v: want succeeded, lacking %v", b, want)
	}
	row, err := e.cat.Backup(e.ctx, b.ID)
	if err != nil || row.MissingCount != 3 || !slices.Equal(row.MissingFiles, want) {
		t.Errorf("catalog row %+v (%v): want missing count 3 and names %v", row, err, want)
	}
	raw, err := os.ReadFile(filepath.Join(e.local.Local.Dir, filepath.FromSlash(core.MetadataKey(b.Key))))
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.ParseMetadata(raw)
	if err != nil || m.MissingFiles != 3 || !slices.Equal(m.MissingNames, want) {
		t.Errorf("metadata %+v (%v): want missing_files 3 and names %v", m, err, want)
	}

	// The catalog is lost and rebuilt from the destination.
	cat := openCatalog(t, filepath.Join(t.TempDir(), "catalog.db"))
	d := e.local
	d.ID, d.CreatedAt = 0, time.Time{}
	if err := cat.AddDestination(e.ctx, &d); err != nil {
		t.Fatal(err)
	}
	if _, err := (&core.Engine{Catalog: cat, OpenStore: s3.Open}).RebuildCatalog(e.ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := cat.Backups(e.ctx, core.BackupFilter{})
	if err != nil || len(rebuilt) != 1 || rebuilt[0].MissingCount != 3 || !slices.Equal(rebuilt[0].MissingFiles, want) {
		t.Errorf("rebuilt %+v (%v): want the backup with its 3 missing files", rebuilt, err)
	}

	// Its drill passes: the files it lacks were never in it.
	res, err := e.drill("local")
	if err != nil || res.Drill.Status != core.DrillOK || res.Drill.Details.KnownMissing != 3 || res.Drill.Details.MissingFiles != 3 {
		t.Fatalf("drill %+v, %v: want ok with the 3 known missing files reported", res.Drill, err)
	}

	// One file more is taken out of the archive: the drill fails on it.
	removed := ""
	e.rewriteArchive(&b, func(_ *zip.Writer, f *zip.File) bool {
		if removed == "" && strings.HasPrefix(f.Name, "filestore/") {
			removed = strings.TrimPrefix(f.Name, "filestore/")
			return false
		}
		return true
	})
	res, err = e.drill("local")
	if err == nil || res.Drill.Status != core.DrillFailed || !strings.Contains(res.Drill.Error, "missing from the restored filestore: 1 the backup should hold") || !strings.Contains(res.Drill.Error, removed) {
		t.Errorf("drill %+v, %v: want failed on the one file %s the backup should hold", res.Drill, err, removed)
	}
}
