package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

func TestOpenCreatesPrivateFileAndDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "share", "odoo-backup")
	path := filepath.Join(dir, "catalog.db")
	c, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	// A write makes SQLite create the -wal and -shm files too.
	addLocal(t, c, "local")

	for _, p := range []struct {
		path string
		want os.FileMode
	}{
		{filepath.Dir(dir), 0o700},
		{dir, 0o700},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(p.path)
		if err != nil {
			t.Fatalf("stat %s: %v", p.path, err)
		}
		if got := fi.Mode().Perm(); got != p.want {
			t.Errorf("%s: got mode %o, want %o", filepath.Base(p.path), got, p.want)
		}
	}
}

func TestOpenRestrictsWiderExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	must(t, os.WriteFile(path, nil, 0o644))
	must(t, os.Chmod(path, 0o644)) // regardless of umask
	c, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	fi, err := os.Stat(path)
	must(t, err)
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("got mode %o, want 600", got)
	}
}

func TestOpenRefusesUnusablePath(t *testing.T) {
	for _, path := range []string{"", filepath.Join(t.TempDir(), "what?.db")} {
		_, err := Open(context.Background(), path)
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Open(%q): got %v, want ErrInvalid", path, err)
		}
	}
}

func appliedVersions(t *testing.T, c *Catalog) []int {
	t.Helper()
	rows, err := c.db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	must(t, err)
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		must(t, rows.Scan(&v))
		out = append(out, v)
	}
	must(t, rows.Err())
	return out
}

func TestReopenAppliesNoMigrationTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(context.Background(), path)
	must(t, err)
	addLocal(t, c, "local")
	must(t, c.Close())

	for range 2 {
		c, err = Open(context.Background(), path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if got := appliedVersions(t, c); len(got) != len(migrations) || got[len(got)-1] != len(migrations) {
			t.Errorf("got applied versions %v, want 1..%d once each", got, len(migrations))
		}
		if _, err := c.Destination(context.Background(), "local"); err != nil {
			t.Errorf("destination lost on reopen: %v", err)
		}
		must(t, c.Close())
	}
}

func TestAppendedMigrationRunsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(context.Background(), path)
	must(t, err)
	must(t, c.Close())

	saved := migrations
	t.Cleanup(func() { migrations = saved })
	// Not idempotent on purpose: running it twice would fail the reopen.
	migrations = append(append([]string(nil), saved...), `CREATE TABLE scheduler_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL)`)

	for range 2 {
		c, err = Open(context.Background(), path)
		if err != nil {
			t.Fatalf("open with an appended migration: %v", err)
		}
		if got, want := appliedVersions(t, c), len(migrations); len(got) != want {
			t.Errorf("got applied versions %v, want %d", got, want)
		}
		must(t, exec(t, c.db, `INSERT OR REPLACE INTO scheduler_leases VALUES ('x', 'y')`))
		must(t, c.Close())
	}
}

func TestOpenRefusesNewerCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(context.Background(), path)
	must(t, err)
	must(t, exec(t, c.db, `INSERT INTO schema_migrations VALUES (?, 0)`, len(migrations)+1))
	must(t, c.Close())

	_, err = Open(context.Background(), path)
	if !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid saying to upgrade", err)
	}
}

// Two handles on one file behave as the console and the daemon in two
// processes: separate connection pools, shared only through SQLite locks.
func TestTwoHandlesWriteConcurrently(t *testing.T) {
	ctx := context.Background()
	first, second := openTwoHandles(t)
	addLocal(t, first, "local")
	addService(t, first, "prod")
	setConfig(t, first, "prod", "local", false)

	const perWriter = 200
	handles := []*Catalog{first, second}
	errs := make(chan error, len(handles))
	var wg sync.WaitGroup
	for w, c := range handles {
		wg.Go(func() {
			for i := range perWriter {
				b := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual}
				if err := c.CreateBackup(ctx, &b); err != nil {
					errs <- fmt.Errorf("writer %d, create %d: %w", w, i, err)
					return
				}
				if err := c.UpdateProgress(ctx, b.ID, core.BackupProgress{Phase: "dump", Bytes: int64(i)}); err != nil {
					errs <- fmt.Errorf("writer %d, progress %d: %w", w, i, err)
					return
				}
				// Reads interleave with the other handle's writes, as the console's would.
				if i%10 != 0 {
					continue
				}
				if _, err := c.Backups(ctx, core.BackupFilter{Service: "prod", Limit: 10}); err != nil {
					errs <- fmt.Errorf("writer %d, list %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	all, err := second.Backups(ctx, core.BackupFilter{})
	must(t, err)
	if got, want := len(all), perWriter*len(handles); got != want {
		t.Fatalf("got %d backups, want %d", got, want)
	}
	seen := map[int64]bool{}
	for _, b := range all {
		if seen[b.ID] {
			t.Fatalf("backup id %d recorded twice", b.ID)
		}
		seen[b.ID] = true
		if b.Phase != "dump" {
			t.Fatalf("backup %d: got phase %q, want %q", b.ID, b.Phase, "dump")
		}
	}
}

// The console and the daemon may both start on a catalog that does not
// exist yet; exactly one of them applies the migrations.
func TestConcurrentOpenOfNewCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	const openers = 4
	catalogs := make([]*Catalog, openers)
	errs := make([]error, openers)
	var wg sync.WaitGroup
	for i := range openers {
		wg.Go(func() { catalogs[i], errs[i] = Open(context.Background(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("opener %d: %v", i, err)
		}
		defer catalogs[i].Close()
	}
	if got := appliedVersions(t, catalogs[0]); len(got) != len(migrations) {
		t.Errorf("got applied versions %v, want each of 1..%d once", got, len(migrations))
	}
}
