package tui

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// view waits until the current frame holds every want, and returns it. It
// asks the program for its frame, so lines drawn earlier count too.
// openAddDestination starts the console on cat (the seed's services) and
// opens the form that adds a destination from the Destinations screen; it
// returns the form's first frame.
func openAddDestination(t *testing.T, cat *store.Catalog) (*teatest.TestModel, string) {
	t.Helper()
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "2")
	view(t, tm, "odoo-backup › Destinations", "s3-eu")
	press(tm, "a")
	return tm, view(t, tm, "Add a destination")
}

func view(t *testing.T, tm *teatest.TestModel, want ...string) string {
	t.Helper()
	return awaitFrame(t, tm, 15*time.Second, nil, want...)
}

// awaitFrame polls the current frame until it holds every want (also when
// a dialog wraps it), and returns it; it fails at the deadline, or at once
// when the frame shows one of failOn.
func awaitFrame(t *testing.T, tm *teatest.TestModel, deadline time.Duration, failOn []string, want ...string) string {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		v := snapshot(t, tm)
		missing, f := "", flat(v)
		for _, w := range want {
			if !strings.Contains(v, w) && !strings.Contains(f, flat(w)) {
				missing = w
				break
			}
		}
		if missing == "" {
			return v
		}
		for _, bad := range failOn {
			if strings.Contains(v, bad) {
				t.Fatalf("waiting for %q, the screen shows %q:\n%s", missing, bad, v)
			}
		}
		if time.Now().After(end) {
			t.Fatalf("the screen never showed %q; last frame:\n%s", missing, v)
		}
		time.Sleep(5 * time.Millisecond) // the poll interval
	}
}

// flat is a frame's text with borders dropped and every run of spaces and
// line breaks made one space, so a sentence wrapped in a dialog still
// matches.
func flat(v string) string {
	var lines []string
	for _, l := range strings.Split(v, "\n") {
		lines = append(lines, strings.Trim(l, " ║│╔╗╚╝╭╮╰╯═─"))
	}
	return strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
}

// noView checks the current frame holds none of unwanted.
func noView(t *testing.T, v string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(v, u) {
			t.Errorf("the screen shows %q, want it gone; frame:\n%s", u, v)
		}
	}
}

func quit(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	press(tm, "esc", "esc", "esc")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}

func configsOf(t *testing.T, cat *store.Catalog, service string) map[string]core.Configuration {
	t.Helper()
	cfgs, err := cat.Configurations(context.Background(), service)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]core.Configuration{}
	for _, c := range cfgs {
		out[c.Destination] = c
	}
	return out
}

func primaryOf(t *testing.T, cat *store.Catalog, service string) string {
	t.Helper()
	p, err := cat.Primary(context.Background(), service)
	if err != nil {
		t.Fatal(err)
	}
	return p.Destination
}

func TestServicesFilter(t *testing.T) {
	tm := start(t, Options{Catalog: seed(t)})
	view(t, tm, "production", "staging", "demo")
	// q and digits are typed into the filter, not acted on.
	press(tm, "/", "q1", "backspace", "backspace", "STAG")
	v := view(t, tm, "filter /STAG")
	noView(t, v, "production", "demo_db")
	t.Run("typing", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })

	press(tm, "backspace", "backspace", "backspace", "backspace", "prod", "enter")
	v = view(t, tm, "filter: prod", "production_db")
	noView(t, v, "staging_db", "demo_db")
	t.Run("kept", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })

	// The kept filter's rows are the ones the keys act on.
	press(tm, "enter")
	view(t, tm, "odoo-backup › production", "keep 24")
	press(tm, "esc")
	view(t, tm, "filter: prod")

	press(tm, "/", "ctrl+u", "nothing-like-it")
	view(t, tm, "no service matches nothing-like-it")
	press(tm, "esc")
	v = view(t, tm, "production_db", "staging_db", "demo_db")
	noView(t, v, "filter:", "filter /")
	quit(t, tm)
}

func TestAddServiceForm(t *testing.T) {
	pg := servers.Postgres(t)
	cat := seed(t)
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "a")
	v := view(t, tm, "Add a service", "Template", "Check DB")
	t.Run("empty", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })

	// A name the catalog does not allow.
	press(tm, "bad name", "enter")
	view(t, tm, `✗ service name "bad name" is not allowed`)

	// A name that exists: the catalog's refusal comes back under the name.
	press(tm, "ctrl+u", "production", "tab", "production_db", "tab", "tab", "tab", "tab", "tab", "tab", "tab", "space", "enter")
	v = view(t, tm, `✗ a service named "production" already exists; choose another name`)
	t.Run("duplicate", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })

	// A database that does not answer, checked: not added.
	press(tm, "shift+tab", "shift+tab", "shift+tab", "shift+tab", "space") // past the targets and Host, Check DB back on
	for range 8 {
		press(tm, "up")
	}
	press(tm, "ctrl+u", "shop", "tab", "ctrl+u", "postgres", "tab", "ctrl+u", pg.Host, "tab", "ctrl+u", strconv.Itoa(pg.Port),
		"tab", "ctrl+u", pg.User, "tab", "wrong-password", "enter")
	view(t, tm, "refused the login of user", "the service was not added")
	if _, err := cat.Service(context.Background(), "shop"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("after a refused login the service exists (err %v), want it not added", err)
	}
	v = snapshot(t, tm)
	noView(t, v, "wrong-password")

	// The right password: added, checked against the real PostgreSQL.
	press(tm, "ctrl+u", pg.Password, "tab", "/srv/odoo/filestore/shop", "enter")
	v = view(t, tm, "✓ service shop added: database postgres")
	noView(t, v, pg.Password)
	view(t, tm, "shop           postgres")
	svc, err := cat.Service(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := core.DBConn{Host: pg.Host, Port: pg.Port, User: pg.User, Password: core.Secret(pg.Password), Database: "postgres"}
	if svc.DB != want || svc.FilestoreDir != "/srv/odoo/filestore/shop" {
		t.Errorf("catalog has %+v (password ok: %v), %s; want %+v, /srv/odoo/filestore/shop", svc.DB, svc.DB.Password == want.Password, svc.FilestoreDir, want)
	}
	quit(t, tm)
}

func TestEditService(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	svc, err := cat.Service(ctx, "production")
	if err != nil {
		t.Fatal(err)
	}
	svc.DB.Password = "s3cret-pg"
	if err := cat.UpdateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › production", "keep 24")
	press(tm, "E")
	v := view(t, tm, "Edit service production", "unchanged")
	noView(t, v, "s3cret-pg")
	t.Run("form", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	// Name is fixed; the focus starts on the database. Port 70000 is refused.
	press(tm, "tab", "tab", "ctrl+u", "70000", "enter")
	view(t, tm, `✗ port "70000" is not a number between 1 and 65535`)
	press(tm, "ctrl+u", "5433", "enter")
	view(t, tm, "✓ service production saved", "production_db @ 127.0.0.1:5433")
	got, err := cat.Service(ctx, "production")
	if err != nil {
		t.Fatal(err)
	}
	if got.DB.Port != 5433 || got.DB.Password != "s3cret-pg" || got.DB.Database != "production_db" {
		t.Errorf("catalog has port %d, password kept %v, db %s; want 5433, the password unchanged, production_db",
			got.DB.Port, got.DB.Password == "s3cret-pg", got.DB.Database)
	}
	quit(t, tm)
}

// TestConfigurationForms adds, edits, refuses and removes configurations
// of a service, and moves its primary, checking the catalog after each.
func TestConfigurationForms(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	for _, d := range []string{"archive", "offsite"} {
		if err := cat.AddDestination(ctx, &core.Destination{Name: d, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}); err != nil {
			t.Fatal(err)
		}
	}
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › production", "keep 24")

	// Add: the destinations offered are the unused ones; a bad retention
	// is refused under the field with core's parser's sentence.
	press(tm, "a")
	view(t, tm, "Add a configuration to service production", "‹ archive ›")
	press(tm, "tab", "right", "tab", "ctrl+u", "02:30", "tab", "right", "tab", "7x,4w", "enter")
	v := view(t, tm, `✗ retention rule "7x,4w" has an unknown unit "x"`)
	t.Run("bad retention", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	press(tm, "ctrl+u", "7d,4w,2m", "enter")
	view(t, tm, "✓ service production → archive: weekly Mon 02:30, GFS 7d,4w,2m")
	view(t, tm, "archive        weekly Mon 02:30")
	c := configsOf(t, cat, "production")["archive"]
	if c.Frequency != core.Weekly || c.Schedule.Weekday != time.Monday || c.Schedule.Hour != 2 || c.Schedule.Minute != 30 ||
		c.Retention.GFS == nil || *c.Retention.GFS != (core.GFS{Daily: 7, Weekly: 4, Monthly: 2}) || c.Primary {
		t.Errorf("archive configuration is %+v, want weekly Monday 02:30, GFS 7d,4w,2m, not primary", c)
	}

	// Add on a destination another process configured meanwhile: refused.
	press(tm, "a")
	view(t, tm, "Add a configuration to service production", "offsite")
	if err := cat.SetConfiguration(ctx, core.Configuration{Service: "production", Destination: "offsite", Frequency: core.Daily,
		Schedule: core.DefaultSchedule, Retention: core.Retention{KeepLast: 3}}); err != nil {
		t.Fatal(err)
	}
	press(tm, "enter")
	v = view(t, tm, "✗ service production already has a configuration on offsite")
	t.Run("duplicate destination", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	press(tm, "esc")
	if c := configsOf(t, cat, "production")["offsite"]; c.Retention.KeepLast != 3 {
		t.Errorf("the refused form changed offsite to %+v, want it left at keep 3", c)
	}

	// Edit the primary: unticking Primary is refused; a new retention saves.
	press(tm, "e")
	view(t, tm, "Edit the configuration of service production on s3-eu", "[x] yes")
	press(tm, "tab", "tab", "tab", "space", "enter")
	v = view(t, tm, "✗ service production always has exactly one primary destination")
	t.Run("primary unticked", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	press(tm, "space", "up", "ctrl+u", "48", "enter")
	view(t, tm, "✓ service production → s3-eu: hourly :00, keep 48, primary")
	if c := configsOf(t, cat, "production")["s3-eu"]; c.Retention.KeepLast != 48 || !c.Primary || c.Frequency != core.Hourly {
		t.Errorf("s3-eu is %+v, want hourly, keep 48, primary", c)
	}

	// Remove the primary while others remain: the catalog refuses.
	press(tm, "x")
	v = view(t, tm, "Remove the configuration of service production on s3-eu?")
	t.Run("confirm", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	press(tm, "y")
	v = view(t, tm, "✗ cannot remove the primary", "nothing was changed · esc close")
	t.Run("primary removal refused", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	if _, ok := configsOf(t, cat, "production")["s3-eu"]; !ok || primaryOf(t, cat, "production") != "s3-eu" {
		t.Fatal("the refused removal changed the catalog")
	}
	press(tm, "esc")
	view(t, tm, "✗ cannot remove the primary destination")

	// Move the primary to local (rows: s3-eu, archive, local, offsite), then
	// s3-eu can go.
	press(tm, "down", "down", "p")
	view(t, tm, "✓ local is now the primary destination of service production")
	if p := primaryOf(t, cat, "production"); p != "local" {
		t.Fatalf("primary is %s, want local", p)
	}
	v = view(t, tm, "★ local")
	t.Run("primary moved", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	// The list is now local, archive, offsite, s3-eu.
	press(tm, "G", "x")
	view(t, tm, "on s3-eu?")
	press(tm, "n")
	view(t, tm, "cancelled: nothing was changed")
	if _, ok := configsOf(t, cat, "production")["s3-eu"]; !ok {
		t.Fatal("n removed the configuration")
	}
	press(tm, "x")
	view(t, tm, "y yes · n or esc no")
	press(tm, "y")
	view(t, tm, "✓ service production no longer backs up to s3-eu")
	if cs := configsOf(t, cat, "production"); len(cs) != 3 || cs["s3-eu"].Destination != "" {
		t.Errorf("configurations are %v, want local, archive and offsite", cs)
	}
	quit(t, tm)
}

// TestDestinationsAgainstMinIO adds an S3 destination on the real MinIO
// (probed before it is saved), tests it, refuses a wrong secret when adding
// and when editing, and never shows a secret.
func TestDestinationsAgainstMinIO(t *testing.T) {
	minio := servers.MinIO(t)
	cat := seed(t)
	ctx := context.Background()
	bucket := minio.NewBucket(t)
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "2")
	view(t, tm, "odoo-backup › Destinations", "s3-eu")
	fill := func(name, secret string) {
		press(tm, "a")
		view(t, tm, "Add a destination")
		press(tm, name, "tab", "right", "tab", minio.Endpoint, "tab", bucket, "tab", "us-east-1", "tab", "/odoo/", "tab",
			minio.AccessKey, "tab", secret, "tab", "space")
		view(t, tm, "[x] yes")
		press(tm, "enter")
	}

	// A wrong secret: MinIO refuses the probe, nothing is saved.
	fill("minio", "not-the-secret")
	v := view(t, tm, `✗ destination "minio" does not work, so it was not saved`)
	noView(t, v, "not-the-secret", minio.SecretKey)
	if _, err := cat.Destination(ctx, "minio"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a destination that failed its probe is in the catalog (err %v)", err)
	}
	press(tm, "esc")

	fill("minio", minio.SecretKey)
	view(t, tm, "✓ destination minio added (s3 "+minio.Endpoint+"/"+bucket+"/odoo) and tested")
	view(t, tm, "minio          s3")
	d, err := cat.Destination(ctx, "minio")
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != core.DestinationS3 || d.S3.Endpoint != minio.Endpoint || d.S3.Bucket != bucket || d.S3.Prefix != "odoo" ||
		d.S3.Region != "us-east-1" || d.S3.AccessKey != minio.AccessKey || d.S3.SecretKey.Reveal() != minio.SecretKey || !d.S3.NoTLS {
		t.Errorf("catalog has %+v (secret ok: %v), want the MinIO bucket with prefix odoo, no TLS", d, d.S3.SecretKey.Reveal() == minio.SecretKey)
	}

	// Test the connection (rows: local, minio, s3-eu).
	press(tm, "g", "down", "t")
	view(t, tm, "✓ destination minio works: a test object was written, read back and deleted")
	view(t, tm, "│ ✓ destination minio works")

	// Editing shows the secret as unchanged; a wrong new one is refused and
	// the stored one stays.
	press(tm, "e")
	v = view(t, tm, "Edit destination minio", "(unchanged)")
	noView(t, v, minio.SecretKey)
	for range 5 { // from the endpoint (name and kind are fixed)
		press(tm, "tab")
	}
	press(tm, "wrong-secret", "enter")
	view(t, tm, `✗ destination "minio" does not work, so it was not saved`)
	press(tm, "esc")
	if d, _ := cat.Destination(ctx, "minio"); d.S3.SecretKey.Reveal() != minio.SecretKey {
		t.Fatal("a refused edit changed the secret key")
	}

	// A secret changed behind the console's back: the test says why it fails.
	d.S3.SecretKey = "changed-elsewhere"
	if err := cat.UpdateDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	press(tm, "t")
	v = view(t, tm, "✗ test of minio failed: cannot write a test object to s3://"+minio.Endpoint,
		"refused the secret key of access key", "check the secret key")
	noView(t, v, "changed-elsewhere")
	t.Logf("wrong secret:\n%s", v)
	quit(t, tm)
	out, err := io.ReadAll(tm.FinalOutput(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{minio.SecretKey, "not-the-secret", "wrong-secret", "changed-elsewhere"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the secret %q was drawn on the terminal", secret)
		}
	}
}

// TestLocalDestinationForm adds a local directory destination, refuses a
// duplicate name, and refuses to remove a destination in use.
func TestLocalDestinationForm(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	dir := t.TempDir() + "/backups"
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "2")
	view(t, tm, "odoo-backup › Destinations", "s3-eu")
	press(tm, "a")
	v := view(t, tm, "Add a destination", "‹ local directory ›")
	t.Run("form", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	press(tm, "esc")

	// local is used by production and staging: the catalog refuses, and
	// says so whole in the dialog.
	press(tm, "g", "x")
	view(t, tm, "Remove destination local?")
	press(tm, "y")
	v = view(t, tm, `✗ destination "local" is still used by service "production" and service "staging"`)
	t.Run("in use", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	if _, err := cat.Destination(ctx, "local"); err != nil {
		t.Fatalf("the refused removal removed local: %v", err)
	}
	press(tm, "esc")
	view(t, tm, `✗ destination "local" is still used`)

	press(tm, "a")
	view(t, tm, "Add a destination")
	press(tm, "s3-eu", "tab", "tab", "/srv/nowhere", "enter")
	v = view(t, tm, `✗ a destination named "s3-eu" already exists; choose another name`)
	t.Run("duplicate", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	press(tm, "ctrl+u", "nearby", "tab", "tab", "ctrl+u", dir, "enter")
	view(t, tm, "✓ destination nearby added (local "+dir+")")
	if d, err := cat.Destination(ctx, "nearby"); err != nil || d.Local.Dir != dir || d.Kind != core.DestinationLocal {
		t.Fatalf("catalog has %+v, %v; want a local destination in %s", d, err, dir)
	}
	view(t, tm, "nearby         local")

	// nearby is used by nothing: removed (rows: local, nearby, s3-eu).
	press(tm, "g", "down", "x")
	view(t, tm, "Remove destination nearby?")
	press(tm, "y")
	view(t, tm, "✓ destination nearby removed")
	if _, err := cat.Destination(ctx, "nearby"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("nearby is still in the catalog: %v", err)
	}
	quit(t, tm)
}

// TestTemplates creates a template, gives it two configurations, moves its
// primary and makes a service from it.
func TestTemplates(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "3")
	view(t, tm, "No template yet")
	press(tm, "a")
	view(t, tm, "Create a template")
	press(tm, "standard", "enter")
	// The reloaded list lands before the status; the row is awaited too.
	view(t, tm, "✓ template standard created", "no configuration yet: press c")
	press(tm, "c")
	view(t, tm, "Add a configuration to template standard", "‹ local ›")
	press(tm, "right", "tab", "left", "tab", "15", "backspace", "backspace", "30", "tab", "24", "enter")
	// The row, not the status (which says the same with punctuation).
	view(t, tm, "✓ template standard → s3-eu: hourly :30, keep 24, primary", "s3-eu hourly :30 keep 24")
	press(tm, "c")
	view(t, tm, "Add a configuration to template standard", "local")
	press(tm, "tab", "right", "right", "right", "enter")
	view(t, tm, "✓ template standard → local: manual only, keep all", "local manual only keep all")
	// Rows: standard, s3-eu (primary), local.
	press(tm, "G", "p")
	view(t, tm, "✓ local is now the primary destination of template standard")
	v := view(t, tm, "★ local")
	t.Run("list", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	tp, err := cat.Template(ctx, "standard")
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Configurations) != 2 || tp.Configurations[0].Destination != "local" || !tp.Configurations[0].Primary ||
		tp.Configurations[1].Schedule.Minute != 30 || tp.Configurations[1].Retention.KeepLast != 24 {
		t.Fatalf("template is %+v, want local (primary, manual) and s3-eu (hourly :30, keep 24)", tp.Configurations)
	}

	// A new service from the template: the form has it preselected.
	press(tm, "n")
	v = view(t, tm, "Add a service", "‹ standard ›")
	press(tm, "shop", "tab", "shop_db")
	for range 7 {
		press(tm, "tab")
	}
	press(tm, "space", "enter") // no database to check in this test
	view(t, tm, "✓ service shop added")
	cs := configsOf(t, cat, "shop")
	if len(cs) != 2 || !cs["local"].Primary || cs["s3-eu"].Retention.KeepLast != 24 {
		t.Errorf("shop has %+v, want the template's two configurations, local primary", cs)
	}
	quit(t, tm)
}

// TestReadOnlyRefusesEdits: every key that changes the catalog says why it
// does nothing, and nothing changes.
func TestReadOnlyRefusesEdits(t *testing.T) {
	cat := seed(t)
	tm := start(t, Options{Catalog: cat, ReadOnly: true})
	view(t, tm, "production", "b r u a off (--read-only)")
	press(tm, "?")
	view(t, tm, "a add (off)", "r restore (off)", "u upload & restore (off)", "off: b r u a (the console was started with --read-only)")
	press(tm, "esc", "a")
	view(t, tm, "read-only: adding a service is off")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › production", "keep 24")
	for _, kw := range [][2]string{{"a", "adding a configuration"}, {"e", "editing a configuration"}, {"x", "removing a configuration"},
		{"p", "moving the primary"}, {"E", "editing a service"}} {
		press(tm, kw[0])
		view(t, tm, "read-only: "+kw[1]+" is off (the console was started with --read-only)")
	}
	v := snapshot(t, tm)
	t.Run("service", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	press(tm, "2")
	view(t, tm, "odoo-backup › Destinations", "production, staging")
	for _, kw := range [][2]string{{"a", "adding a destination"}, {"e", "editing a destination"}, {"x", "removing a destination"}} {
		press(tm, kw[0])
		view(t, tm, "read-only: "+kw[1]+" is off")
	}
	press(tm, "3")
	view(t, tm, "odoo-backup › Templates", "No template yet")
	press(tm, "a")
	view(t, tm, "read-only: creating a template is off")
	quit(t, tm)
	if cs := configsOf(t, cat, "production"); len(cs) != 2 || primaryOf(t, cat, "production") != "s3-eu" {
		t.Errorf("a read-only console changed production's configurations: %v", cs)
	}
	if ds, _ := cat.Destinations(context.Background()); len(ds) != 2 {
		t.Errorf("a read-only console changed the destinations: %v", ds)
	}
}

// TestFormAt80x24 draws the longest form, with an inline error, on the
// smallest terminal.
func TestFormAt80x24(t *testing.T) {
	o := withStorage(Options{Catalog: seed(t), Now: fixedNow, NoColor: true, RefreshEvery: time.Hour})
	tm := teatest.NewTestModel(t, snapModel{New(o)}, teatest.WithInitialTermSize(80, 24))
	view(t, tm, "production")
	press(tm, "2", "a")
	view(t, tm, "Add a destination")
	press(tm, "s3 bucket", "tab", "right", "tab", "https://s3.example.com", "enter")
	view(t, tm, "✗ destination name")
	press(tm, "ctrl+u", "offsite", "enter")
	v := view(t, tm, "✗ give the endpoint as HOST:PORT without a scheme")
	for i, l := range strings.Split(v, "\n") {
		if w := len([]rune(l)); w > 80 {
			t.Errorf("line %d is %d cells wide, want at most 80: %q", i+1, w, l)
		}
	}
	if n := strings.Count(v, "\n") + 1; n > 24 {
		t.Errorf("the frame has %d lines, want at most 24", n)
	}
	golden.RequireEqual(t, []byte(v))
	quit(t, tm)
}
