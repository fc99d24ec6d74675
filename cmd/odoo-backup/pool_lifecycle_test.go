package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// copy and upload say what they stored in a pool: a copy to a pool
// destination counts the objects it copied, and an uploaded zip whose
// files the pool already holds stores none of them again, and is restored
// from the pool with --restore.
func TestPoolCopyAndUploadCommands(t *testing.T) {
	minio := servers.MinIO(t)
	c := newCLI(t)
	odoo := generate(t, "cli_pool_lifecycle")
	c.addS3("s3", minio.NewBucket(t))
	disk := filepath.Join(c.dir, "disk")
	if err := os.MkdirAll(disk, 0o700); err != nil {
		t.Fatal(err)
	}
	c.ok("destination", "add", "disk", "--dir", disk)
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "s3", "--frequency", "manual")
	cat, err := store.Open(t.Context(), c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"s3", "disk"} {
		d, err := cat.Destination(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		d.Layout = core.LayoutPool
		if err := cat.UpdateDestination(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	cat.Close()

	var bs []backupJSON
	c.json(&bs, "backup", "prod", "--destination", "s3")
	id := strconv.FormatInt(bs[0].ID, 10)
	files := len(odoo.Files)
	out := c.ok("copy", id, "--to", "disk")
	if want := "Filestore in the pool of disk: " + strconv.Itoa(files) + " files"; !strings.Contains(out, want) || !strings.Contains(out, ": "+strconv.Itoa(files)+" new files") || !strings.Contains(out, "; 0 already stored") {
		t.Errorf("copy to a pool destination: %s\nwant it to say %d files, all new in the pool of disk", out, files)
	}

	zipPath := filepath.Join(c.dir, "prod.zip")
	c.ok("download", id, "-o", zipPath)
	out = c.ok("upload", zipPath, "--service", "prod", "--restore", "--no-neutralize", "--yes")
	if !strings.Contains(out, "restored onto prod") {
		t.Errorf("upload --restore of a pool upload: %s", out)
	}
	if !strings.Contains(out, "Uploaded as backup") || !strings.Contains(out, "Filestore in the pool of s3: ") || !strings.Contains(out, ": 0 new files") || !strings.Contains(out, "; "+strconv.Itoa(files)+" already stored") {
		t.Errorf("upload of files the pool holds: %s\nwant none stored again", out)
	}
}
