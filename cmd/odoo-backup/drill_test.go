package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// copy and drill from the command line: a server-side copy to a second
// bucket is an orphan and says so; a drill passes and is listed; after the
// archive is altered a drill fails, status turns unhealthy and exits 1.
func TestCopyAndDrillCommands(t *testing.T) {
	minio := servers.MinIO(t)
	c := newCLI(t)
	odoo := generate(t, "cli_drill")
	c.addS3("s3", minio.NewBucket(t))
	c.addS3("offsite", minio.NewBucket(t))
	disk := filepath.Join(c.dir, "disk")
	if err := os.MkdirAll(disk, 0o700); err != nil {
		t.Fatal(err)
	}
	c.ok("destination", "add", "disk", "--dir", disk)
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk", "--frequency", "manual")
	out := c.ok("config", "set", "prod", "s3", "--frequency", "manual", "--drill", "weekly", "--weekday", "sun", "--at", "04:00")
	if !strings.Contains(out, "restore drill weekly") {
		t.Errorf("config set --drill weekly: %s", out)
	}
	var configs []core.Configuration
	c.json(&configs, "config", "list", "prod")
	for _, cfg := range configs {
		if want := map[string]core.Frequency{"s3": core.Weekly, "disk": core.Manual}[cfg.Destination]; cfg.Drill != want {
			t.Errorf("configuration on %s has drill %q, want %q", cfg.Destination, cfg.Drill, want)
		}
	}
	c.fails(2, "--drill \"fortnightly\"", "config", "set", "prod", "s3", "--drill", "fortnightly")

	var bs []backupJSON
	c.json(&bs, "backup", "prod", "--destination", "s3")
	id := strconv.FormatInt(bs[0].ID, 10)

	out = c.ok("copy", id, "--to", "offsite")
	if !strings.Contains(out, "copied by the storage server") || !strings.Contains(out, "orphan") {
		t.Errorf("copy to an unconfigured bucket on the same server: %s", out)
	}
	var cp backupJSON
	c.json(&cp, "copy", id, "--to", "disk")
	if cp.Kind != "copy" || cp.Destination != "disk" || cp.SHA256 != bs[0].SHA256 || cp.Status != "succeeded" {
		t.Errorf("copy --json: %+v", cp)
	}
	c.fails(1, "does not exist", "copy", id, "--to", "nowhere")

	out = c.ok("drill", "prod")
	if !strings.Contains(out, "passed") || !strings.Contains(out, "res_partner") {
		t.Errorf("drill: %s", out)
	}
	var drills []core.Drill
	c.json(&drills, "drills", "prod")
	if len(drills) != 1 || drills[0].Status != core.DrillOK || drills[0].Details.Expected["res_partner"] == 0 {
		t.Fatalf("drills --json: %+v", drills)
	}
	var st statusReport
	c.json(&st, "status")
	if !st.Healthy || len(st.Services) != 1 || st.Services[0].LastDrill == nil || st.Services[0].LastDrill.Status != core.DrillOK {
		t.Errorf("status after a good drill: %+v", st)
	}

	// Alter the copy on disk, which is now the newest backup on disk.
	path := filepath.Join(disk, filepath.FromSlash(keyOf(t, c, cp.ID)))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c.fails(1, "checksum", "drill", "prod", "--destination", "disk")
	r := c.run("status")
	if r.code != 1 || !strings.Contains(r.stdout, "restore drill") || !strings.Contains(r.stdout, "failed") {
		t.Errorf("status after a failed drill: exit %d\n%s", r.code, r.stdout)
	}
	out = c.ok("drills")
	if !strings.Contains(out, "failed") || !strings.Contains(out, "ok") {
		t.Errorf("drills: %s", out)
	}
}

func keyOf(t *testing.T, c *cli, id int64) string {
	t.Helper()
	var list []core.Backup
	c.json(&list, "backups", "prod")
	for _, b := range list {
		if b.ID == id {
			return b.Key
		}
	}
	t.Fatalf("backup %d not listed", id)
	return ""
}
