package tui

import (
	"context"
	"errors"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// TestAddServiceFormRefusesSharedDatabase: the console's form refuses a
// second service on a database or filestore that another service uses, with
// the rule the command line applies (core.AddService), naming the other.
func TestAddServiceFormRefusesSharedDatabase(t *testing.T) {
	cat := seed(t)
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "a")
	view(t, tm, "Add a service", "Check DB")
	// production's database on the same server (127.0.0.1 and localhost are one), Check DB off.
	press(tm, "copycat", "tab", "production_db", "tab", "ctrl+u", "localhost", "tab", "tab", "tab", "tab", "tab", "tab", "space", "enter")
	view(t, tm, "✗ service production already uses the database production_db on localhost:5432", "give this service its own")
	if _, err := cat.Service(context.Background(), "copycat"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("after the refusal the service exists (err %v), want it not added", err)
	}
	// The refusal put the cursor on the database. Its own database, but staging's filestore.
	press(tm, "ctrl+u", "copycat_db", "tab", "tab", "tab", "tab", "tab", "ctrl+u", "/var/lib/odoo/filestore/staging_db", "enter")
	view(t, tm, "✗ service staging already uses the filestore /var/lib/odoo/filestore/staging_db")
	// Its own filestore: added.
	press(tm, "ctrl+u", "/var/lib/odoo/filestore/copycat_db", "enter")
	view(t, tm, "✓ service copycat added")
	if _, err := cat.Service(context.Background(), "copycat"); err != nil {
		t.Fatalf("copycat with its own database and filestore was not added: %v", err)
	}
	quit(t, tm)
}
