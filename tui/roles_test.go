package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
)

// A viewer on a real PostgreSQL catalog: the header shows the role read at
// start, the keys it does not allow are off in the help line, and pressing
// one says which role it needs instead of trying; the audit view names the
// database user each entry was recorded by.
func TestConsoleShowsWhatTheRoleAllows(t *testing.T) {
	pg := servers.Postgres(t)
	ctx := context.Background()
	const db = "tui_roles"
	if err := pg.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.DropDatabase(context.Background(), db) })
	key := store.WithKeyFile(filepath.Join(t.TempDir(), "catalog.key"))
	owner, err := store.Open(ctx, pg.ConnString(db), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	must := fatalOn(t)
	must(owner.AddDestination(ctx, &core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}))
	must(owner.AddService(ctx, &core.Service{Name: "production", DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Password: "pw", Database: "prod"}}, ""))
	must(owner.SetConfiguration(ctx, core.Configuration{Service: "production", Destination: "local", Frequency: core.Manual}))
	b := core.Backup{Service: "production", Destination: "local", Kind: core.KindManual, Status: core.StatusSucceeded, Key: "production/x.zip"}
	must(owner.CreateBackup(ctx, &b))
	user := db + "_vera"
	pw, err := pg.EnsureRole(ctx, user)
	must(err)
	must(owner.GrantRole(ctx, user, core.RoleViewer))
	viewer, err := store.Open(ctx, testbed.ConnString(core.DBConn{Host: pg.Host, Port: pg.Port, User: user, Password: core.Secret(pw), Database: db}), key)
	must(err)
	t.Cleanup(func() { viewer.Close() })

	tm := start(t, Options{Catalog: viewer, Engine: &fakeEngine{}, Role: viewer.Role()})
	waitFor(t, tm, "production", "role: viewer", "b r u a off (viewer)")
	press(tm, "b")
	waitFor(t, tm, "viewer: backing up needs the operator role")
	press(tm, "enter")
	waitFor(t, tm, "odoo-backup › production")
	press(tm, "tab", "D")
	waitFor(t, tm, "viewer: download needs the operator role")
	press(tm, "r")
	waitFor(t, tm, "viewer: restoring needs the admin role")
	press(tm, "?")
	waitFor(t, tm, "(database user "+user+" has the viewer role)")
	press(tm, "esc", "4", "tab")
	waitFor(t, tm, "grant", "(database user postgres)")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}

// On SQLite the file's owner can do everything, and the header says so.
func TestConsoleOwnerOnSQLite(t *testing.T) {
	cat := seed(t)
	tm := start(t, Options{Catalog: cat, Engine: &fakeEngine{}, Role: cat.Role()})
	waitFor(t, tm, "production", "role: owner")
	frame := snapshot(t, tm)
	if strings.Contains(frame, "off (") {
		t.Errorf("an owner's console turns keys off:\n%s", frame)
	}
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}
