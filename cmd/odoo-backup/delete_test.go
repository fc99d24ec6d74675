package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

type orphanJSON struct {
	backupJSON
	Orphaned bool `json:"orphaned"`
}

// scheduledBackups takes n scheduled backups of prod on dest, an hour apart
// in the past, as the daemon would.
func (c *cli) scheduledBackups(dest string, n int) []int64 {
	c.t.Helper()
	cat, err := store.Open(c.t.Context(), c.catalog)
	if err != nil {
		c.t.Fatal(err)
	}
	defer cat.Close()
	e := &core.Engine{Catalog: cat, OpenStore: s3.Open}
	var ids []int64
	for i := n; i >= 1; i-- {
		e.Now = func() time.Time { return time.Now().Add(-time.Duration(i) * time.Hour) }
		got, err := e.Backup(c.t.Context(), core.BackupRequest{Service: "prod", Destinations: []string{dest}, Kind: core.KindScheduled})
		if err != nil {
			c.t.Fatal(err)
		}
		ids = append(ids, got[0].ID)
	}
	return ids
}

// Rule 6: backups whose configuration was removed stay visible, verifiable
// and restorable, are never rotated, and keep their destination from being
// removed unless they are forgotten. Re-adding the configuration adopts them
// again: they are its scheduled backups and its retention applies.
func TestOrphanedBackups(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	odoo := generate(t, "cli_orphans")
	c.ok("destination", "add", "a", "--dir", filepath.Join(c.dir, "a"))
	c.ok("destination", "add", "b", "--dir", filepath.Join(c.dir, "b"))
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "b")
	c.ok("config", "set", "prod", "a", "--frequency", "hourly", "--keep", "1")
	ids := c.scheduledBackups("a", 3)
	c.ok("backup", "prod")

	c.ok("config", "remove", "prod", "a")
	var bs []orphanJSON
	c.json(&bs, "backups", "prod")
	orphans := map[int64]bool{}
	for _, b := range bs {
		if b.Orphaned != (b.Destination == "a") {
			t.Errorf("backup %d on %s: orphaned %v, want it orphaned exactly when on a", b.ID, b.Destination, b.Orphaned)
		}
		if b.Orphaned {
			orphans[b.ID] = true
		}
	}
	if len(orphans) != 3 {
		t.Fatalf("got %d orphans, want the 3 on a: %+v", len(orphans), bs)
	}
	if out := c.ok("backups", "prod"); strings.Count(out, "(orphaned)") != 3 {
		t.Errorf("the history should mark the 3 orphans:\n%s", out)
	}

	// Never rotated, whether every configuration or only prod's is rotated.
	c.ok("rotate")
	c.ok("rotate", "prod")
	if got := c.backupsWhere("rotated"); len(got) != 0 {
		t.Errorf("rotate removed orphans: %+v", got)
	}

	// Restorable.
	if out := c.ok("verify", itoa(ids[0])); !strings.Contains(out, "is sound") {
		t.Errorf("verify an orphan: %s", out)
	}
	out := c.ok("restore", itoa(ids[0]), "--new-db", "cli_orphans_back", "--filestore", filepath.Join(c.dir, "back-fs"))
	if !strings.Contains(out, "restored into database cli_orphans_back") {
		t.Errorf("restore an orphan: %s", out)
	}
	if n, err := pg.QueryInt(t.Context(), "cli_orphans_back", "SELECT count(*) FROM ir_attachment"); err != nil || n != int64(odoo.Attachments) {
		t.Errorf("restored orphan has %d attachments (%v), want %d", n, err, odoo.Attachments)
	}

	// Their destination cannot go without forgetting them.
	c.fails(1, "still has 3 backups in the catalog", "destination", "remove", "a")
	c.fails(1, "--forget-backups", "destination", "remove", "a")

	// The configuration comes back: they are its backups again.
	c.ok("config", "set", "prod", "a", "--frequency", "hourly", "--keep", "1")
	c.json(&bs, "backups", "prod", "--destination", "a")
	for _, b := range bs {
		if b.Orphaned {
			t.Errorf("backup %d is still orphaned after its configuration came back", b.ID)
		}
	}
	c.ok("rotate", "prod")
	rotated := c.backupsWhere("rotated")
	if len(rotated) != 2 || rotated[0].ID != ids[1] || rotated[1].ID != ids[0] {
		t.Errorf("rotated %+v, want the two older scheduled backups %d and %d", rotated, ids[1], ids[0])
	}
}

// delete asks for --yes, saying what it would delete; it removes the archive
// and metadata and keeps the row as deleted; the last successful backup of a
// service needs --force.
func TestDeleteCommand(t *testing.T) {
	minio := servers.MinIO(t)
	c := newCLI(t)
	odoo := generate(t, "cli_delete")
	// Self-contained zips: the destination is checked file by file
	// (TestRotateDeleteForgetSweepThePool does it for pools).
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"), "--layout", "zip")
	c.addS3("s3", minio.NewBucket(t))
	c.ok("destination", "update", "s3", "--layout", "zip")
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk")
	c.ok("config", "set", "prod", "s3")
	var bs []backupJSON
	c.json(&bs, "backup", "prod", "--all-destinations")
	if len(bs) != 2 {
		t.Fatalf("backups: %+v", bs)
	}
	disk, onS3 := bs[0], bs[1]
	if disk.Destination != "disk" {
		disk, onS3 = onS3, disk
	}

	r := c.run("delete", itoa(disk.ID))
	want := "this would delete backup " + itoa(disk.ID) + " of service prod on destination disk, taken " + localTime(disk.StartedAt) + " (" + humanSize(disk.Size) + "); run it again with --yes"
	if r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("delete without --yes: exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, want)
	}
	if files, _ := filepath.Glob(filepath.Join(c.dir, "disk", "prod", "*", "*", "*")); len(files) != 2 {
		t.Fatalf("delete without --yes touched the destination: %v", files)
	}

	want = "Deleted backup " + itoa(disk.ID) + " (prod on disk, " + humanSize(disk.Size) + ", taken " + localTime(disk.StartedAt) +
		"): the archive and its metadata were removed from disk; the row stays in the history as deleted.\n"
	if out := c.ok("delete", itoa(disk.ID), "--yes"); out != want {
		t.Errorf("delete: %q, want %q", out, want)
	}
	if files, _ := filepath.Glob(filepath.Join(c.dir, "disk", "prod", "*", "*", "*")); len(files) != 0 {
		t.Errorf("archive or metadata left: %v", files)
	}
	if got := c.backupsWhere("deleted"); len(got) != 1 || got[0].ID != disk.ID {
		t.Errorf("deleted backups %+v, want backup %d kept in the history as deleted", got, disk.ID)
	}
	c.fails(1, "already deleted", "delete", itoa(disk.ID), "--yes")
	c.fails(1, "last successful backup of service \"prod\"", "delete", itoa(onS3.ID), "--yes")
	c.fails(1, "--force", "delete", itoa(onS3.ID), "--yes")
	c.ok("delete", itoa(onS3.ID), "--yes", "--force")
	c.fails(1, "was deleted", "verify", itoa(onS3.ID))
	c.fails(1, "backup 999 does not exist", "delete", "999", "--yes")
	c.fails(2, "not a backup id", "delete", "x", "--yes")

	// A failed backup stored nothing: deleting it only changes its row.
	cat, err := store.Open(context.Background(), c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	failed := core.Backup{Service: "prod", Destination: "disk", Kind: core.KindManual, StartedAt: time.Now().Add(-time.Minute)}
	err = cat.CreateBackup(context.Background(), &failed)
	if err == nil {
		failed.Status, failed.Error = core.StatusFailed, "connect: connection refused"
		err = cat.UpdateBackup(context.Background(), failed)
	}
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	want = "Deleted failed backup " + itoa(failed.ID) + " (prod on disk, taken " + localTime(failed.StartedAt) +
		"): it had stored nothing, so nothing was removed from disk; the row stays in the history as deleted.\n"
	if out := c.ok("delete", itoa(failed.ID), "--yes"); out != want {
		t.Errorf("delete of a failed backup: %q, want %q", out, want)
	}
}
