package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
)

// A damaged or unreachable catalog is one sentence with the way out, not
// SQLite's code.
func TestCatalogDamagedOrUnreachable(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	junk := make([]byte, 20000)
	rand.Read(junk)
	if err := os.WriteFile(garbage, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "a-file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	unreachable := filepath.Join(notDir, "odoo-backup", "catalog.db")
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want []string
	}{
		{"garbage", []string{"--catalog", garbage, "service", "list"}, "",
			[]string{"the catalog " + garbage + " is damaged", "put back a copy", "odoo-backup catalog rebuild"}},
		{"missing directory", []string{"--catalog", unreachable, "backups"}, "",
			[]string{"cannot open the catalog " + unreachable, "the directory " + filepath.Dir(unreachable) + " does not exist or is not writable", "--catalog PATH or ODOO_BACKUP_CATALOG"}},
		{"from the environment", []string{"status"}, unreachable,
			[]string{"the directory " + filepath.Dir(unreachable) + " does not exist", "ODOO_BACKUP_CATALOG"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ODOO_BACKUP_CATALOG", tc.env)
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errOut)
			msg := strings.TrimSpace(errOut.String())
			if code != 1 || strings.Contains(msg, "\n") {
				t.Fatalf("exit %d, stderr %q; want 1 and one line", code, msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q, want it to contain %q", msg, w)
				}
			}
			for _, raw := range []string{"(11)", "(14)", "(26)", "malformed", "unable to open"} {
				if strings.Contains(msg, raw) {
					t.Errorf("stderr %q shows SQLite's raw %q", msg, raw)
				}
			}
		})
	}
}

// A catalog that opens but whose audit trail turns out damaged when a
// command reads or writes it is the same one sentence, not SQLite's
// "database disk image is malformed (11)".
func TestCatalogDamagedAfterOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	cat, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	cat.Close()
	sound, err := testbed.SQLitePages(path)
	if err != nil {
		t.Fatal(err)
	}
	// The audit trail, which opening does not read, fills the pages after.
	if cat, err = store.Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := cat.AddAudit(ctx, &core.AuditEntry{Action: "test", Target: fmt.Sprintf("entry %d", i), Detail: strings.Repeat("x", 200)}); err != nil {
			t.Fatal(err)
		}
	}
	cat.Close()
	if err := testbed.DamageSQLiteFrom(path, sound); err != nil {
		t.Fatal(err)
	}

	want := "odoo-backup: the catalog " + path + " is damaged (SQLite finds its pages malformed); put back a copy of that file, " +
		"or move it away and rebuild the history from the destinations (add them again, then run: odoo-backup catalog rebuild)\n"
	for _, args := range [][]string{{"audit"}, {"destination", "add", "nas", "--dir", filepath.Join(t.TempDir(), "nas")}} {
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"--catalog", path}, args...), &out, &errOut)
		if code != 1 || errOut.String() != want {
			t.Errorf("odoo-backup %s: exit %d, stderr %q; want 1 and %q", strings.Join(args, " "), code, errOut.String(), want)
		}
	}
}
