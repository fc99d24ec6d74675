package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// damage overwrites the middle of every page but the first, as a disk or a
// careless copy does, leaving the header that says "SQLite".
func damage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4096; i+400 < len(b); i += 4096 {
		rand.Read(b[i+100 : i+400])
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDamagedCatalog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	garbage := filepath.Join(dir, "garbage.db")
	junk := make([]byte, 20000)
	rand.Read(junk)
	if err := os.WriteFile(garbage, junk, 0o600); err != nil {
		t.Fatal(err)
	}

	corrupt := filepath.Join(dir, "corrupt", "catalog.db")
	c, err := Open(ctx, corrupt)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		if err := c.AddDestination(ctx, &core.Destination{Name: name, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(dir, name)}}); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	for _, p := range []string{corrupt + "-wal", corrupt + "-shm"} {
		os.Remove(p)
	}
	damage(t, corrupt)

	for _, path := range []string{garbage, corrupt} {
		c, err := Open(ctx, path)
		if err == nil {
			c.Close()
			t.Fatalf("Open(%s) of a damaged file succeeded", path)
		}
		var d *DamagedError
		if !errors.As(err, &d) || d.Path != path || !errors.Is(err, core.ErrCorrupt) {
			t.Errorf("Open(%s) = %v (%T), want a DamagedError naming the path and wrapping ErrCorrupt", path, err, err)
		}
	}
}

func TestOpenUnreachableCatalog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{
		filepath.Join(file, "sub", "catalog.db"): filepath.Join(file, "sub"), // under a regular file: cannot exist
		"/proc/odoo-backup-test/catalog.db":      "/proc/odoo-backup-test",   // cannot be created, even by root
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "read-only")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		paths[filepath.Join(ro, "catalog.db")] = ro
	}
	for path, wantDir := range paths {
		c, err := Open(ctx, path)
		if err == nil {
			c.Close()
			t.Fatalf("Open(%s) succeeded", path)
		}
		var u *UnreachableError
		if !errors.As(err, &u) || u.Path != path || u.Dir != wantDir || !errors.Is(err, core.ErrUnreachable) {
			t.Errorf("Open(%s) = %v (%T), want an UnreachableError naming %s and wrapping ErrUnreachable", path, err, err, wantDir)
		}
		if a, ok := core.AdviceOf(err); !ok || a.Action != core.ActionFixCatalogDirectory || a.Detail != wantDir {
			t.Errorf("Open(%s): advice %+v (%v), want %s for %s", path, a, ok, core.ActionFixCatalogDirectory, wantDir)
		}
	}
}

// A page found malformed by a read long after the catalog was opened is
// the same DamagedError as one found at once, naming the file and advising
// how to recover, not SQLite's "database disk image is malformed (11)".
func TestCatalogDamagedAfterOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	sound, err := testbed.SQLitePages(path)
	if err != nil {
		t.Fatal(err)
	}
	// The audit trail, which opening does not read, fills the pages after.
	c, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := c.AddAudit(ctx, &core.AuditEntry{Action: "test", Target: fmt.Sprintf("entry %d", i), Detail: strings.Repeat("x", 200)}); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if err := testbed.DamageSQLiteFrom(path, sound); err != nil {
		t.Fatal(err)
	}

	c, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a catalog damaged only in its audit trail: %v; want it opened, the damage found by the read", err)
	}
	defer c.Close()
	_, err = c.Audit(ctx, core.AuditFilter{})
	var d *DamagedError
	if !errors.As(err, &d) || d.Path != path || !errors.Is(err, core.ErrCorrupt) {
		t.Fatalf("Audit on damaged pages = %v (%T), want a DamagedError naming %s and wrapping ErrCorrupt", err, err, path)
	}
	if a, ok := core.AdviceOf(err); !ok || a.Action != core.ActionRepairCatalog || a.Detail != path {
		t.Errorf("advice %+v (%v), want %s for %s", a, ok, core.ActionRepairCatalog, path)
	}
	if msg := err.Error(); strings.Contains(msg, "(11)") || strings.Contains(msg, "malformed (") || !strings.HasPrefix(msg, "the catalog "+path+" is damaged") {
		t.Errorf("message %q, want the catalog's sentence, not SQLite's code", msg)
	}
	// A write that meets the damage says the same.
	err = c.AddAudit(ctx, &core.AuditEntry{Action: "test", Target: "one more"})
	if !errors.As(err, &d) || d.Path != path {
		t.Errorf("AddAudit on damaged pages = %v, want the DamagedError", err)
	}
}
