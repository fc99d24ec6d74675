package tui

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
)

// TestConsoleSaysCatalogIsUnreachable: a shared catalog whose PostgreSQL
// server stops (a cluster of the test's own). A running console says so
// and keeps answering keys; a console started while it is down shows the
// same sentence instead of hanging, retries, and opens once it answers.
func TestConsoleSaysCatalogIsUnreachable(t *testing.T) {
	ctx := context.Background()
	pg, err := testbed.NewPostgres(ctx)
	testbed.Need(t, "PostgreSQL", err)
	t.Cleanup(func() { pg.Close() })
	if err := pg.CreateDatabase(ctx, "catalog"); err != nil {
		t.Fatal(err)
	}
	url := pg.ConnString("catalog")
	keyFile := filepath.Join(t.TempDir(), "catalog.key")
	cat, err := store.Open(ctx, url, store.WithKeyFile(keyFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	d := core.Destination{Name: "nas", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}
	s := core.Service{Name: "crm", DB: core.DBConn{Host: "localhost", Port: 5432, User: "odoo", Database: "crm"}}
	if err := cat.AddDestination(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if err := cat.AddService(ctx, &s, ""); err != nil {
		t.Fatal(err)
	}
	sentence := "the catalog " + store.Redact(url) + " is unreachable; retrying"

	// A running console.
	tm := start(t, Options{Catalog: cat, CatalogName: store.Redact(url), RefreshEvery: 50 * time.Millisecond})
	view(t, tm, "crm")
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	frame := view(t, tm, sentence)
	if bytes.Contains([]byte(frame), []byte(pg.Password)) {
		t.Errorf("the console shows the catalog's password:\n%s", frame)
	}
	press(tm, "q")
	tm.FinalModel(t, teatest.WithFinalTimeout(15*time.Second))

	// A console started while the server is down.
	opened := false
	w := NewWaitModel(WaitOptions{Catalog: store.Redact(url), Every: 50 * time.Millisecond, NoColor: true,
		Open: func(ctx context.Context) error {
			c, err := store.Open(ctx, url, store.WithKeyFile(keyFile))
			if err == nil {
				opened = true
				c.Close()
			}
			return err
		}})
	wm := teatest.NewTestModel(t, w, teatest.WithInitialTermSize(100, 30))
	teatest.WaitFor(t, wm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(sentence)) },
		teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	final := wm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*WaitModel)
	if err := final.Result(); err != nil || !opened {
		t.Errorf("waiting for the catalog ended with %v (opened %v), want it opened", err, opened)
	}
}
