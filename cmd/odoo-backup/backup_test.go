package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

type backupJSON struct {
	ID          int64      `json:"id"`
	Service     string     `json:"service"`
	Destination string     `json:"destination"`
	Kind        string     `json:"kind"`
	Status      string     `json:"status"`
	Size        int64      `json:"size"`
	SHA256      string     `json:"sha256"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	Error       string     `json:"error"`
}

// The whole command line of SPEC.md, against the real servers.
func TestBackupCommands(t *testing.T) {
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	c := newCLI(t)
	odoo := generate(t, "cli_prod")
	c.addS3("s3", minio.NewBucket(t))
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "s3", "--frequency", "manual")
	c.ok("config", "set", "prod", "disk")

	out := c.ok("backup", "prod")
	if !strings.Contains(out, "on s3 succeeded") {
		t.Errorf("backup should go to the primary s3: %s", out)
	}
	c.ok("backup", "prod", "--destination", "disk")

	// backups --json: one array, the fields scripts rely on.
	raw := c.ok("backups", "prod", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"id", "service", "destination", "kind", "status", "size", "sha256", "started_at", "finished_at", "error"} {
		if _, ok := list[0][field]; !ok {
			t.Errorf("backups --json lacks field %q: %v", field, list[0])
		}
	}
	var bs []backupJSON
	json.Unmarshal([]byte(raw), &bs)
	if len(bs) != 2 || bs[0].Destination != "disk" || bs[1].Destination != "s3" || bs[0].Kind != "manual" || bs[0].Status != "succeeded" || bs[0].FinishedAt == nil {
		t.Fatalf("backups: %+v", bs)
	}
	s3ID := bs[1].ID

	if out := c.ok("verify", itoa(s3ID)); !strings.Contains(out, "is sound") {
		t.Errorf("verify: %s", out)
	}
	file := filepath.Join(c.dir, "prod.zip")
	c.ok("download", itoa(s3ID), "-o", file)
	// A standard Odoo zip whatever the destination's layout: the database
	// and every filestore file.
	if zr, err := zip.OpenReader(file); err != nil {
		t.Errorf("downloaded file: %v", err)
	} else {
		entries := map[string]bool{}
		files := 0
		for _, f := range zr.File {
			entries[f.Name] = true
			if strings.HasPrefix(f.Name, "filestore/") {
				files++
			}
		}
		zr.Close()
		if !entries["dump.sql"] || !entries["manifest.json"] || files != len(odoo.Files) {
			t.Errorf("downloaded zip holds dump.sql %v, manifest.json %v, %d filestore files; want both and %d files", entries["dump.sql"], entries["manifest.json"], files, len(odoo.Files))
		}
	}
	c.fails(1, "already exists", "download", itoa(s3ID), "-o", file)
	c.fails(1, "backup 999 does not exist", "verify", "999")
	c.fails(2, "not a backup id", "verify", "abc")

	newFS := filepath.Join(c.dir, "restored-fs")
	out = c.ok("restore", itoa(s3ID), "--new-db", "cli_restored", "--filestore", newFS)
	if !strings.Contains(out, "restored into database cli_restored") {
		t.Errorf("restore: %s", out)
	}
	if n, err := pg.QueryInt(t.Context(), "cli_restored", "SELECT count(*) FROM ir_attachment"); err != nil || n != int64(odoo.Attachments) {
		t.Errorf("restored database has %d attachments (%v), want %d", n, err, odoo.Attachments)
	}
	c.fails(1, "already exists", "restore", itoa(s3ID), "--new-db", "cli_restored")
	c.fails(2, "--new-db", "restore", itoa(s3ID))

	// status: manual-only configurations are healthy; exit 0.
	var st statusReport
	c.json(&st, "status")
	if !st.Healthy || len(st.Services) != 1 || st.Services[0].Health != "ok" {
		t.Errorf("status: %+v", st)
	}
	// A failed backup, manual or not, turns the check red and is named
	// (every backup on a destination counts, SPEC rule 11).
	c.ok("config", "set", "prod", "disk", "--frequency", "daily")
	os.RemoveAll(filepath.Join(c.dir, "disk"))
	c.fails(1, "does not exist", "backup", "prod", "--destination", "disk")
	r := c.run("status")
	if r.code != 1 || !strings.Contains(r.stdout, "failed (backup ") || !strings.Contains(r.stdout, "does not exist") {
		t.Errorf("status after a failure: exit %d\n%s", r.code, r.stdout)
	}
	raw = c.ok("backups", "--status", "failed", "--json")
	json.Unmarshal([]byte(raw), &bs)
	if len(bs) != 1 || bs[0].Error == "" || bs[0].Size != 0 {
		t.Errorf("failed backup row: %+v", bs)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// backup --all-destinations takes one dump to every configured destination;
// rotate --dry-run says what would go and why, and rotate removes it.
func TestAllDestinationsAndRotate(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "cli_rotate")
	// Self-contained zips: what rotation leaves is checked file by file
	// (TestRotateDeleteForgetSweepThePool does it for pools).
	c.ok("destination", "add", "a", "--dir", filepath.Join(c.dir, "a"), "--layout", "zip")
	c.ok("destination", "add", "b", "--dir", filepath.Join(c.dir, "b"), "--layout", "zip")
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "a", "--frequency", "hourly", "--minute", "15", "--keep", "1")
	c.ok("config", "set", "prod", "b", "--frequency", "weekly", "--weekday", "mon", "--at", "02:30")
	if out := c.ok("config", "list", "prod"); !strings.Contains(out, "hourly :15") || !strings.Contains(out, "weekly Mon 02:30") {
		t.Errorf("config list does not show the schedules:\n%s", out)
	}
	c.fails(2, "not between 1 and 28", "config", "set", "prod", "b", "--frequency", "monthly", "--day", "31")
	c.fails(2, "HH:MM", "config", "set", "prod", "b", "--at", "25:00")
	c.fails(2, "weekday", "config", "set", "prod", "b", "--weekday", "someday")

	out := c.ok("backup", "prod", "--all-destinations", "--json")
	var bs []backupJSON
	if err := json.Unmarshal([]byte(out), &bs); err != nil || len(bs) != 2 || bs[0].SHA256 != bs[1].SHA256 {
		t.Fatalf("--all-destinations gave %s (%v), want two identical archives", out, err)
	}
	// Manual backups are never rotated.
	if out := c.ok("rotate", "prod", "--dry-run"); strings.Contains(out, "would remove") {
		t.Errorf("rotate --dry-run with only manual backups:\n%s", out)
	}
	// Scheduled ones, made by the engine as the daemon would, are.
	cat, err := store.Open(t.Context(), c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	e := &core.Engine{Catalog: cat, OpenStore: s3.Open}
	var ids []int64
	for i := 0; i < 3; i++ {
		e.Now = func() time.Time { return time.Now().Add(time.Duration(i-3) * time.Hour) }
		got, err := e.Backup(t.Context(), core.BackupRequest{Service: "prod", Destinations: []string{"a"}, Kind: core.KindScheduled})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got[0].ID)
	}
	cat.Close()
	out = c.ok("rotate", "prod", "--dry-run")
	if strings.Count(out, "would remove") != 2 || !strings.Contains(out, "beyond the retention: keep 1") || !strings.Contains(out, "prod on a (keep 1): 2 of 3 scheduled backups would be removed.") {
		t.Errorf("rotate --dry-run:\n%s\nwant the two older scheduled backups to go", out)
	}
	if got := c.backupsWhere("rotated"); len(got) != 0 {
		t.Errorf("--dry-run rotated %d backups", len(got))
	}
	// The log (shown with --verbose) gives the reason as a plain string.
	r := c.run("rotate", "prod", "--verbose")
	if r.code != 0 || strings.Count(r.stderr, `msg="backup rotated"`) != 2 || !strings.Contains(r.stderr, `why="beyond the retention: keep 1"`) ||
		!strings.Contains(r.stdout, "prod on a (keep 1): 2 of 3 scheduled backups removed.") {
		t.Errorf("rotate --verbose: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	rotated := c.backupsWhere("rotated")
	if len(rotated) != 2 || rotated[0].ID != ids[1] || rotated[1].ID != ids[0] {
		t.Errorf("rotated %+v, want backups %d and %d", rotated, ids[1], ids[0])
	}
	if entries, _ := filepath.Glob(filepath.Join(c.dir, "a", "prod", "*", "*", "*_scheduled*")); len(entries) != 2 {
		t.Errorf("destination a holds %v, want the newest scheduled archive and its metadata", entries)
	}
}
