package tui

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/odoo-backup/odoo-backup/core"
)

// TestDestinationLayoutForm chooses a destination's layout in the form,
// with a line explaining each, sees it in the list and the details, then
// changes it: the form and the result say that the stored backups keep
// their layout and stay readable.
func TestDestinationLayoutForm(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	tm, _ := openAddDestination(t, cat)
	// Fields: name, kind, directory, encryption, layout.
	press(tm, "pooled", "tab", "tab", "pooled", "tab", "tab")
	if core.DefaultLayout() != core.LayoutPool {
		press(tm, "right")
	}
	snap(t, tm, "pool chosen", "▸ Layout         ‹ pool ›",
		"pool: each file stored once; backups cost what changed.",
		"zip: one self-contained Odoo zip per backup, for buckets people download from by hand.")
	// The directory typed is relative, so the frame above is the same in
	// every run: it is made absolute in a temporary directory.
	t.Chdir(t.TempDir())
	press(tm, "enter")
	view(t, tm, "✓ destination pooled added (local ")
	if d, err := cat.Destination(ctx, "pooled"); err != nil || d.Layout != core.LayoutPool {
		t.Fatalf("catalog has %+v, %v; want pooled with layout pool", d, err)
	}
	// Rows: local, pooled, s3-eu; the others are zip.
	press(tm, "g", "down")
	v := view(t, tm, "layout      pool:")
	row := regexp.MustCompile(`(?m)^│ ▸ pooled +local +\S+ +(\S+) `).FindStringSubmatch(v)
	if row == nil || row[1] != "pool" {
		t.Errorf("the list's row of pooled shows layout %v, want pool:\n%s", row, v)
	}
	if n := len(regexp.MustCompile(`(?m)^│   (local|s3-eu) +local +\S+ +zip `).FindAllString(v, -1)); n != 2 {
		t.Errorf("%d of the two zip destinations show zip in the list:\n%s", n, v)
	}

	press(tm, "e")
	view(t, tm, "Edit destination pooled", "‹ pool ›")
	press(tm, "tab", "tab", "right") // directory, encryption, then layout: zip
	view(t, tm, "▸ Layout         ‹ zip ›",
		"New layout: backups from now on use the zip layout; those already stored keep the pool layout and stay readable.")
	press(tm, "enter")
	// The status line says so too, where the terminal is wide enough.
	view(t, tm, "✓ destination pooled saved")
	if d, _ := cat.Destination(ctx, "pooled"); d.Layout != core.LayoutZip {
		t.Errorf("after the edit pooled has layout %q, want zip", d.Layout)
	}
	quit(t, tm)
}

// TestBackupDetailsPool shows a pool backup's facts where people look: the
// history marks its mismatching files as a warning, and the details say
// what it holds, what it newly stored and which files do not match their
// names.
func TestBackupDetailsPool(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	b := newestProduction(t, cat)
	b.Key, b.Database, b.Format = "production/2026/11/22/production_20261122-120000_scheduled.zip", "production_db", core.FormatOdooPool
	b.Pool = &core.PoolFacts{Files: 100000, Bytes: 10_500_000_000, NewObjects: 12, NewBytes: 3_400_000,
		MismatchCount: 4, Mismatched: []string{"00/0011", "ab/ab22", "cd/cd33", "ef/ef44"}}
	if err := cat.UpdateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	tm := start80(t, Options{Catalog: cat, Engine: newFlowEngine(cat)})
	openHistory(t, tm)
	view(t, tm, "△ 4 mismatched")
	press(tm, "enter")
	v := view(t, tm, "Backup 3", "in the pool: 100,000 files, 10.5 GB: 12 new files, 3.4 MB; 99,988 already stored")
	if want := "mismatched 4 filestore file(s) whose content does not match their name, kept as they are: 00/0011, ab/ab22, cd/cd33 and 1 more (all recorded names: odoo-backup backups production --json)"; !strings.Contains(flat(v), want) {
		t.Errorf("details:\n%s\nwant %q", v, want)
	}
	t.Run("details", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	quit(t, tm)
}
