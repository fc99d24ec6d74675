package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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
	if fi, err := os.Stat(file); err != nil || fi.Size() != bs[1].Size {
		t.Errorf("downloaded file: %v, want %d bytes", err, bs[1].Size)
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
	// A scheduled configuration without a success turns the check red.
	c.ok("config", "set", "prod", "disk", "--frequency", "daily")
	os.RemoveAll(filepath.Join(c.dir, "disk"))
	c.fails(1, "does not exist", "backup", "prod", "--destination", "disk")
	r := c.run("status")
	if r.code != 1 || !strings.Contains(r.stdout, "stale") {
		t.Errorf("status after a failure: exit %d\n%s", r.code, r.stdout)
	}
	raw = c.ok("backups", "--status", "failed", "--json")
	json.Unmarshal([]byte(raw), &bs)
	if len(bs) != 1 || bs[0].Error == "" || bs[0].Size != 0 {
		t.Errorf("failed backup row: %+v", bs)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
