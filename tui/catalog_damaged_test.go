package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
)

// A catalog whose history turns out damaged while the console reads it is
// one sentence naming the file and what to do, not SQLite's "database disk
// image is malformed (11)".
func TestConsoleSaysCatalogIsDamaged(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	cat, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	must := fatalOn(t)
	must(cat.AddDestination(ctx, &core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}))
	must(cat.AddService(ctx, &core.Service{Name: "production", DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Database: "prod"}, FilestoreDir: "/var/lib/odoo/filestore/prod"}, ""))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "production", Destination: "local", Frequency: core.Daily, Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 7}}))
	cat.Close()
	sound, err := testbed.SQLitePages(path)
	must(err)

	// The history, which opening does not read, fills the pages after.
	cat, err = store.Open(ctx, path)
	must(err)
	for i := range 300 {
		started := clock.Add(-time.Duration(i+1) * time.Hour)
		b := core.Backup{Service: "production", Destination: "local", Kind: core.KindScheduled, Status: core.StatusRunning, StartedAt: started}
		must(cat.CreateBackup(ctx, &b))
		b.Status, b.FinishedAt, b.Error = core.StatusFailed, &started, fmt.Sprintf("attempt %d: %s", i, strings.Repeat("connection refused ", 10))
		must(cat.UpdateBackup(ctx, b))
	}
	cat.Close()
	must(testbed.DamageSQLiteFrom(path, sound))

	cat, err = store.Open(ctx, path)
	if err != nil {
		t.Fatalf("open a catalog damaged only in its history: %v", err)
	}
	t.Cleanup(func() { cat.Close() })
	tm := start(t, Options{Catalog: cat, CatalogName: path})
	said := func(screen string, title string) {
		t.Helper()
		// The current frame: a screen drawn line for line like the last
		// one sends only the lines that changed.
		frame := view(t, tm, title, "is damaged", "catalog rebuild")
		// The sentence, as wrapped in the screen's box.
		var text []string
		for _, l := range strings.Split(frame, "\n") {
			text = append(text, strings.TrimSpace(strings.Trim(strings.TrimSpace(l), "│")))
		}
		said := strings.Join(text, " ")
		want := "the catalog " + path + " is damaged (SQLite finds its pages malformed); quit, then put back a copy of that file, " +
			"or move it away and rebuild the history from the destinations from a shell with: odoo-backup catalog rebuild"
		if !strings.Contains(said, want) {
			t.Errorf("the %s screen says:\n%s\nwant %q", screen, frame, want)
		}
		for _, raw := range []string{"(11)", "disk image", "cannot read the catalog: the catalog"} {
			if strings.Contains(said, raw) {
				t.Errorf("the %s screen shows %q:\n%s", screen, raw, frame)
			}
		}
	}
	said("services", "Services")
	press(tm, "4")
	said("activity", "Activity  [Jobs]")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}

// A catalog whose directory cannot be written is said in the console with
// what to do there, without the command line's flags.
func TestConsoleSaysCatalogDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(file, "odoo-backup", "catalog.db")
	_, err := store.Open(context.Background(), path)
	if err == nil {
		t.Fatalf("opened a catalog under the regular file %s", file)
	}
	want := "the catalog " + path + " cannot be opened: its directory " + filepath.Dir(path) +
		" does not exist or is not writable (not a directory); quit, then create that directory or make it writable by this user"
	if got := errorText(err); got != want {
		t.Errorf("the console says %q, want %q", got, want)
	}
}
