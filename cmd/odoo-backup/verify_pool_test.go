package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// TestVerifyNamesDamagedBackups: a pool object deleted behind the tool's
// back; verify --service checks every backup of the service, says which
// are damaged (the one that refers to the object) and which are sound,
// and fails; one backup verifies with --read-data.
func TestVerifyNamesDamagedBackups(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "cli_verify_pool")
	disk := filepath.Join(c.dir, "disk")
	c.ok("destination", "add", "disk", "--dir", disk, "--layout", "pool")
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk")

	c.ok("backup", "prod")
	content := []byte(strings.Repeat("an invoice only the second backup holds ", 500))
	if _, err := odoo.AddAttachment(t.Context(), content, ""); err != nil {
		t.Fatal(err)
	}
	c.ok("backup", "prod")
	var bs []backupJSON
	c.json(&bs, "backups", "prod")
	if len(bs) != 2 {
		t.Fatalf("backups: %+v", bs)
	}
	newer, older := bs[0].ID, bs[1].ID

	out := c.ok("verify", itoa(older), "--read-data")
	if !strings.Contains(out, "is sound") || !strings.Contains(out, "every pool object read back") {
		t.Errorf("verify --read-data: %s", out)
	}
	if out := c.ok("verify", "--service", "prod", "--destination", "disk"); strings.Count(out, "is sound") != 2 {
		t.Errorf("verify --service before any damage: %s", out)
	}

	sum := sha256.Sum256(content)
	object := pool.ID(sum[:], nil)
	if err := os.Remove(filepath.Join(disk, filepath.FromSlash(pool.ObjectKey("prod", object)))); err != nil {
		t.Fatal(err)
	}
	c.fails(1, fmt.Sprintf("1 of the 2 backups of prod are damaged: %d.", newer), "verify", "--service", "prod")
	r := c.run("verify", "--service", "prod", "--destination", "disk")
	if !strings.Contains(r.stdout, fmt.Sprintf("Backup %d on disk is sound.", older)) ||
		!strings.Contains(r.stdout, fmt.Sprintf("Backup %d on disk: backup %d is damaged", newer, newer)) || !strings.Contains(r.stdout, object) {
		t.Errorf("verify --service names the damaged backup and its object %s, and the sound one:\n%s", object, r.stdout)
	}
	r = c.run("verify", "--service", "prod", "--json")
	var res []struct {
		Backup int64  `json:"backup"`
		Sound  bool   `json:"sound"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 1 || len(res) != 2 ||
		res[0].Backup != newer || res[0].Sound || !strings.Contains(res[0].Error, object) || res[1].Backup != older || !res[1].Sound {
		t.Errorf("verify --service --json: exit %d, %+v (%v)\n%s", r.code, res, err, r.stdout)
	}
	c.fails(1, "is damaged", "verify", itoa(newer))

	c.fails(2, "give the id of the backup", "verify")
	c.fails(2, "either a backup id or --service", "verify", itoa(older), "--service", "prod")
	c.fails(2, "either a backup id or --service", "verify", "--destination", "disk")
	c.fails(1, "nope", "verify", "--service", "nope")
}
