package testbed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/odoo-backup/odoo-backup/core"
)

// Print is the content of a database and its filestore, reduced to counts
// and hashes, so a test can compare an Odoo service before a backup with
// what a restore made of it.
type Print struct {
	// Tables has every table of the public schema.
	Tables map[string]TablePrint
	// Sequences has every sequence of the public schema with its last
	// value (0 if never used).
	Sequences map[string]int64
	// Files maps every file under the filestore, checklist/ included
	// (see WithoutChecklist), by '/'-separated relative path to the SHA-256
	// hex of its content.
	Files map[string]string
}

// TablePrint is one table: its exact row count and a hash of its rows that
// does not depend on their physical order.
type TablePrint struct {
	Rows int64
	Hash string
}

// Fingerprint reads every table and sequence of conn's public schema in one
// snapshot, and hashes every file under filestoreDir. A filestoreDir that
// does not exist is an empty filestore; "" skips the filestore.
func Fingerprint(ctx context.Context, conn core.DBConn, filestoreDir string) (Print, error) {
	p := Print{Tables: map[string]TablePrint{}, Sequences: map[string]int64{}, Files: map[string]string{}}
	if err := p.readDatabase(ctx, conn); err != nil {
		return Print{}, fmt.Errorf("fingerprint %s/%s: %w", conn.Address(), conn.Database, err)
	}
	if filestoreDir != "" {
		files, err := hashTree(ctx, filestoreDir)
		if err != nil {
			return Print{}, fmt.Errorf("fingerprint filestore %s: %w", filestoreDir, err)
		}
		p.Files = files
	}
	return p, nil
}

// tableHashSQL sums the rows' md5 as two 64-bit halves: a multiset hash,
// so neither the physical order nor the sort memory of a huge table
// matters.
const tableHashSQL = `
SELECT count(*),
	coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text || '/' ||
	coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text
FROM (SELECT md5(t::text) AS h FROM %s t) s`

func (p *Print) readDatabase(ctx context.Context, c core.DBConn) error {
	cfg, err := connConfig(c)
	if err != nil {
		return err
	}
	// A row's text form depends on these; pin them so two servers agree.
	for k, v := range map[string]string{
		"DateStyle": "ISO, YMD", "TimeZone": "UTC", "IntervalStyle": "postgres",
		"extra_float_digits": "1", "bytea_output": "hex",
	} {
		cfg.RuntimeParams[k] = v
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())

	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		var tp TablePrint
		q := fmt.Sprintf(tableHashSQL, pgx.Identifier{"public", t}.Sanitize())
		if err := tx.QueryRow(ctx, q).Scan(&tp.Rows, &tp.Hash); err != nil {
			return fmt.Errorf("hash table %s: %w", t, err)
		}
		p.Tables[t] = tp
	}

	rows, err = tx.Query(ctx, `SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public'`)
	if err != nil {
		return fmt.Errorf("list sequences: %w", err)
	}
	var name string
	var last int64
	_, err = pgx.ForEachRow(rows, []any{&name, &last}, func() error {
		p.Sequences[name] = last
		return nil
	})
	if err != nil {
		return fmt.Errorf("list sequences: %w", err)
	}
	return tx.Commit(ctx)
}

// hashTree hashes every file under root with a few workers. Directories
// themselves are not recorded (an Odoo zip has no directory entries);
// a symbolic link is recorded as its target, not followed.
func hashTree(ctx context.Context, root string) (map[string]string, error) {
	files := map[string]string{}
	var mu sync.Mutex
	paths := make(chan string)
	errs := make(chan error, 1)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), 4)) {
		wg.Go(func() {
			for rel := range paths {
				sum, err := hashFile(filepath.Join(root, filepath.FromSlash(rel)))
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				files[rel] = sum
				mu.Unlock()
			}
		})
	}
	walkErr := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch t := d.Type(); {
		case t.IsDir():
			return nil
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			mu.Lock()
			files[rel] = "symlink:" + target
			mu.Unlock()
			return nil
		case !t.IsRegular():
			return fmt.Errorf("%s: not a regular file (%s)", path, t)
		}
		select {
		case paths <- rel:
			return nil
		case err := <-errs:
			return err
		}
	})
	close(paths)
	wg.Wait()
	if walkErr != nil {
		return nil, walkErr
	}
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return files, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WithoutChecklist is p without the filestore's checklist/ folder (Odoo's
// garbage-collection markers), for comparing filestores where only the
// live files matter.
func (p Print) WithoutChecklist() Print {
	q := p
	q.Files = make(map[string]string, len(p.Files))
	for rel, sum := range p.Files {
		if !strings.HasPrefix(rel, "checklist/") {
			q.Files[rel] = sum
		}
	}
	return q
}

// Rows is the total row count over all tables.
func (p Print) Rows() int64 {
	var n int64
	for _, t := range p.Tables {
		n += t.Rows
	}
	return n
}

func (p Print) String() string {
	return fmt.Sprintf("%d tables, %d rows, %d sequences, %d files", len(p.Tables), p.Rows(), len(p.Sequences), len(p.Files))
}

// Diff lists, sorted, how other differs from p ("missing": in p, not in
// other; "unexpected": in other only). Empty means the same content.
func (p Print) Diff(other Print) []string {
	var out []string
	diffMaps(&out, "table", p.Tables, other.Tables, func(a, b TablePrint) string {
		switch {
		case a.Rows != b.Rows:
			return fmt.Sprintf("%d rows, other has %d", a.Rows, b.Rows)
		case a.Hash != b.Hash:
			return fmt.Sprintf("same %d rows, different content", a.Rows)
		}
		return ""
	})
	diffMaps(&out, "sequence", p.Sequences, other.Sequences, func(a, b int64) string {
		if a != b {
			return fmt.Sprintf("last value %d, other has %d", a, b)
		}
		return ""
	})
	diffMaps(&out, "file", p.Files, other.Files, func(a, b string) string {
		if a != b {
			return "different content"
		}
		return ""
	})
	return out
}

func diffMaps[V any](out *[]string, what string, a, b map[string]V, differ func(a, b V) string) {
	keys := slices.Sorted(maps.Keys(a))
	for _, k := range keys {
		bv, ok := b[k]
		if !ok {
			*out = append(*out, fmt.Sprintf("%s %s: missing", what, k))
			continue
		}
		if d := differ(a[k], bv); d != "" {
			*out = append(*out, fmt.Sprintf("%s %s: %s", what, k, d))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			*out = append(*out, fmt.Sprintf("%s %s: unexpected", what, k))
		}
	}
}
