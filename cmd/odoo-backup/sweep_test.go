package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

func sha256hexOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// age sets the modification time of everything under dir an hour back, so
// a sweep (whose grace spares younger objects) treats it as old.
func age(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dirBytes sums the sizes of the files under dir.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rotate --dry-run says what each removal of a pool backup frees and what
// they free together; rotate frees exactly that and says what the pool
// sweep did; delete says the file list went and what the sweep removed;
// destination remove --forget-backups sweeps only what no backup refers
// to and leaves the backups.
func TestRotateDeleteForgetSweepThePool(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "cli_sweep")
	dir := filepath.Join(c.dir, "a")
	c.ok("destination", "add", "a", "--dir", dir)
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "a", "--frequency", "hourly", "--keep", "1")

	ctx := context.Background()
	cat, err := store.Open(ctx, c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cat.Destination(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	d.Layout = core.LayoutPool
	if err := cat.UpdateDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	e := &core.Engine{Catalog: cat, OpenStore: s3.Open}
	// The first backup alone holds one file: the attachment is gone by
	// the second.
	content := []byte(strings.Repeat("only the first backup holds this ", 4000))
	fname, err := odoo.AddAttachment(ctx, content, "")
	if err != nil {
		t.Fatal(err)
	}
	var bs []core.Backup
	for i := range 3 {
		e.Now = func() time.Time { return time.Now().Add(time.Duration(i-3) * time.Hour) }
		got, err := e.Backup(ctx, core.BackupRequest{Service: "prod", Destinations: []string{"a"}, Kind: core.KindScheduled})
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, got[0])
		if i == 0 {
			conn, err := testbed.Connect(ctx, odoo.Conn)
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.Exec(ctx, `DELETE FROM ir_attachment WHERE store_fname = $1`, fname)
			conn.Close(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(odoo.FilestoreDir, fname)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cat.Close()
	age(t, dir)
	own := func(b core.Backup) int64 {
		var n int64
		for _, k := range []string{b.Key, core.MetadataKey(b.Key), pool.ListKey(b.Key)} {
			fi, err := os.Stat(filepath.Join(dir, k))
			if err != nil {
				t.Fatal(err)
			}
			n += fi.Size()
		}
		return n
	}
	object := func(content []byte) (string, int64) {
		id := sha256hexOf(content)
		fi, err := os.Stat(filepath.Join(dir, pool.ObjectKey("prod", id)))
		if err != nil {
			return id, -1
		}
		return id, fi.Size()
	}
	_, objSize := object(content)
	if objSize <= 0 {
		t.Fatal("the first backup did not store its own file in the pool")
	}
	want := map[int64]int64{bs[0].ID: own(bs[0]) + objSize, bs[1].ID: own(bs[1])}

	out := c.ok("rotate", "prod", "--dry-run")
	total := want[bs[0].ID] + want[bs[1].ID]
	for _, line := range []string{
		"prod on a (keep 1): 2 of 3 scheduled backups would be removed.",
		"FREES",
		"Would free " + humanSize(total) + " in all",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("rotate --dry-run: no %q in\n%s", line, out)
		}
	}
	var dry []struct {
		core.RotateResult
	}
	c.json(&dry, "rotate", "prod", "--dry-run")
	if len(dry) != 1 || dry[0].Frees != total {
		t.Fatalf("rotate --dry-run --json: %+v; want %d bytes freed", dry, total)
	}
	for _, dec := range dry[0].Decisions {
		if !dec.Keep && dec.Frees != want[dec.Backup.ID] {
			t.Errorf("rotate --dry-run --json: backup %d frees %d; want %d", dec.Backup.ID, dec.Frees, want[dec.Backup.ID])
		}
	}

	before := dirBytes(t, dir)
	out = c.ok("rotate", "prod")
	for _, line := range []string{
		"2 of 3 scheduled backups removed.",
		"Freed " + humanSize(total) + " in all.",
		"The pool sweep removed 1 object (" + humanSize(objSize) + ") no remaining backup refers to, after reading 1 file list.",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("rotate: no %q in\n%s", line, out)
		}
	}
	if freed := before - dirBytes(t, dir); freed != total {
		t.Errorf("rotate freed %d bytes on the destination; the dry run said %d", freed, total)
	}

	// A manual backup, then deleted by hand: its list goes, and nothing
	// the scheduled one refers to.
	c.ok("backup", "prod")
	var rows []backupJSON
	c.json(&rows, "backups", "prod")
	id := itoa(rows[0].ID)
	out = c.ok("delete", id, "--yes")
	if !strings.Contains(out, "the archive, its metadata and its file list were removed") || !strings.Contains(out, "The pool sweep removed 0 objects") {
		t.Errorf("delete of a pool backup:\n%s", out)
	}

	// Garbage a failed backup left; then the destination is forgotten.
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, 2)
	fw.Write([]byte("left by a failed backup"))
	fw.Close()
	garbage := filepath.Join(dir, pool.ObjectKey("prod", sha256hexOf([]byte("left by a failed backup"))))
	if err := os.MkdirAll(filepath.Dir(garbage), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	age(t, dir)
	c.ok("config", "remove", "prod", "a")
	out = c.ok("destination", "remove", "a", "--forget-backups")
	if !strings.Contains(out, "the backups it holds were not touched") || !strings.Contains(out, "Pool of prod: The pool sweep removed 1 object ") {
		t.Errorf("destination remove --forget-backups:\n%s", out)
	}
	if _, err := os.Stat(garbage); !os.IsNotExist(err) {
		t.Errorf("the garbage object stayed: %v", err)
	}
	kept := bs[2]
	for _, k := range []string{kept.Key, pool.ListKey(kept.Key)} {
		if _, err := os.Stat(filepath.Join(dir, k)); err != nil {
			t.Errorf("forgotten backup %d: %s: %v", kept.ID, k, err)
		}
	}
}
