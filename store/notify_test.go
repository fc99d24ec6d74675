package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

const (
	testChannelURL = "https://hooks.example.com/services/T000/B000/channel-token-of-the-store-tests"
	testPingURL    = "https://hc-ping.example.com/ping-uuid-of-the-store-tests"
)

// Channels are added, listed, read, replaced and removed; each change is
// audited without its URL; a name taken, an unknown name and bad settings
// are refused with one sentence, and nothing changes.
func TestNotifyChannelLifecycle(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	ch := core.NotifyChannel{Name: "ops", URL: testChannelURL, Events: []core.NotifyEvent{core.EventFailure, core.EventRecovery}, Digest: "08:00"}
	must(t, c.SaveNotifyChannel(ctx, &ch, false))
	if ch.ID == 0 || ch.CreatedAt.IsZero() {
		t.Errorf("saved channel %+v, want an id and a creation time", ch)
	}
	mail := core.NotifyChannel{Name: "mail", URL: "smtp://u:pw@mail.example.com:587/?to=ops@example.com"}
	must(t, c.SaveNotifyChannel(ctx, &mail, false))

	dup := core.NotifyChannel{Name: "ops", URL: "https://other.example.com/x"}
	before := dump(t, c)
	refuse(t, c, core.ErrExists, func() error { return c.SaveNotifyChannel(ctx, &dup, false) }, `a notification channel named "ops" already exists`)
	unknown := core.NotifyChannel{Name: "nobody", URL: "https://other.example.com/x"}
	refuse(t, c, core.ErrNotFound, func() error { return c.SaveNotifyChannel(ctx, &unknown, true) }, `notification channel "nobody" does not exist`)
	refuse(t, c, core.ErrNotFound, func() error { return c.DeleteNotifyChannel(ctx, "nobody") }, `notification channel "nobody" does not exist`)
	for _, bad := range []core.NotifyChannel{
		{Name: "bad name", URL: testChannelURL},
		{Name: "x", URL: "not a url"},
		{Name: "x", URL: testChannelURL, Events: []core.NotifyEvent{"sometimes"}},
		{Name: "x", URL: testChannelURL, Digest: "25:00"},
	} {
		if err := c.SaveNotifyChannel(ctx, &bad, false); !errors.Is(err, core.ErrInvalid) || strings.Contains(err.Error(), "channel-token") {
			t.Errorf("saving %+v: %v, want ErrInvalid that does not quote the URL", bad.Events, err)
		}
	}
	if after := dump(t, c); after != before {
		t.Errorf("refused changes changed the catalog")
	}

	list, err := c.NotifyChannels(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Name != "mail" || list[1].Name != "ops" {
		t.Fatalf("listed %+v, want mail and ops by name", list)
	}
	got, err := c.NotifyChannel(ctx, "ops")
	must(t, err)
	if got.URL.Reveal() != testChannelURL || got.Digest != "08:00" || got.EventsText() != "failure,recovery" || !got.CreatedAt.Equal(ch.CreatedAt) {
		t.Errorf("read back %+v (URL ok %v), want it as saved", got, got.URL.Reveal() == testChannelURL)
	}

	// Replaced: new events, no digest; the URL and creation time stay.
	got.Events, got.Digest = nil, ""
	must(t, c.SaveNotifyChannel(ctx, &got, true))
	again, err := c.NotifyChannel(ctx, "ops")
	must(t, err)
	if again.URL.Reveal() != testChannelURL || again.Digest != "" || again.EventsText() != "all" || !again.CreatedAt.Equal(ch.CreatedAt) {
		t.Errorf("after the update %+v, want every event, no digest, the same URL and creation time", again)
	}
	must(t, c.DeleteNotifyChannel(ctx, "mail"))
	if _, err := c.NotifyChannel(ctx, "mail"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a removed channel reads %v, want not found", err)
	}
	if a, ok := core.AdviceOf(core.NotifyChannelNotFound("mail")); !ok || a.Action != core.ActionListNotifyChannels {
		t.Errorf("not found advises %+v, want to list the channels", a)
	}

	entries, err := c.Audit(ctx, core.AuditFilter{})
	must(t, err)
	want := map[string]int{core.ActionNotifyAdd: 2, core.ActionNotifyUpdate: 1, core.ActionNotifyRemove: 1}
	seen := map[string]int{}
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "notify ") && e.Outcome == core.AuditOK {
			seen[e.Action]++
		}
		if strings.Contains(e.Detail+e.Error+e.Target, "channel-token") || strings.Contains(e.Detail, "pw@") {
			t.Errorf("audit entry %+v holds a channel's URL", e)
		}
	}
	for a, n := range want {
		if seen[a] != n {
			t.Errorf("%d %q audit entries, want %d (all: %v)", seen[a], a, n, seen)
		}
	}
}

// A channel's URL and a configuration's ping URL are sealed like every
// secret: never in the catalog in clear, bound to their column, and read
// back whole.
func TestNotifyURLsAreSealed(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	ch := core.NotifyChannel{Name: "ops", URL: testChannelURL}
	must(t, c.SaveNotifyChannel(ctx, &ch, false))
	addLocal(t, c, "disk")
	addService(t, c, "prod")
	setConfig(t, c, "prod", "disk", true)
	must(t, c.SetPingURL(ctx, "prod", "disk", testPingURL))

	for _, q := range []string{`SELECT url FROM notify_channels`, `SELECT ping_url FROM configurations`} {
		if v := storedColumn(t, c, q); !strings.HasPrefix(v, encPrefix) {
			t.Errorf("%s stored %q, want it sealed", q, v)
		}
	}
	if !onPostgres(t) {
		assertNoPlainSecrets(t, catalogBytes(t, c.Path()), testChannelURL, testPingURL, "channel-token-of-the-store-tests", "ping-uuid-of-the-store-tests")
	}
	// Moved into the other column, a ciphertext does not open.
	must(t, exec(t, c.db, `UPDATE configurations SET ping_url = (SELECT url FROM notify_channels)`))
	cfgs, err := c.Configurations(ctx, "prod")
	must(t, err)
	if _, err := cfgs[0].PingURL.Resolve("the ping URL"); err == nil {
		t.Errorf("a channel URL moved into the ping URL column resolved")
	}
	if reason, err := c.UnreadableSecret(ctx); err != nil || !strings.Contains(reason, `the ping URL of service "prod" on destination "disk"`) {
		t.Errorf("UnreadableSecret: %q %v, want the ping URL named", reason, err)
	}
}

// The ping URL is set, read by every configuration reader, kept by a
// change of the configuration's settings, and removed; a configuration
// that does not exist is refused.
func TestPingURLRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	addLocal(t, c, "disk")
	addLocal(t, c, "nas")
	addService(t, c, "prod")
	setConfig(t, c, "prod", "disk", true)
	must(t, c.SetPingURL(ctx, "prod", "disk", testPingURL))
	setConfig(t, c, "prod", "disk", true)

	check := func(what string, cfgs []core.Configuration, want string) {
		t.Helper()
		for _, cfg := range cfgs {
			if cfg.Destination == "disk" && cfg.PingURL.Reveal() != want {
				t.Errorf("%s: ping URL read ok=%v, want %q", what, cfg.PingURL.Reveal() == want, want)
			}
		}
	}
	cfgs, err := c.Configurations(ctx, "prod")
	must(t, err)
	check("Configurations", cfgs, testPingURL)
	all, err := c.AllConfigurations(ctx)
	must(t, err)
	check("AllConfigurations", all, testPingURL)
	p, err := c.Primary(ctx, "prod")
	must(t, err)
	check("Primary", []core.Configuration{p}, testPingURL)
	snap, err := c.HealthSnapshot(ctx)
	must(t, err)
	check("HealthSnapshot", snap.Configurations, testPingURL)

	before := dump(t, c)
	refuse(t, c, core.ErrNotFound, func() error { return c.SetPingURL(ctx, "prod", "nas", testPingURL) }, `service "prod" has no configuration on destination "nas"`)
	if after := dump(t, c); after != before {
		t.Errorf("a refused ping URL changed the catalog")
	}
	must(t, c.SetPingURL(ctx, "prod", "disk", ""))
	cfgs, err = c.Configurations(ctx, "prod")
	must(t, err)
	check("after removal", cfgs, "")
	entries, err := c.Audit(ctx, core.AuditFilter{Service: "prod"})
	must(t, err)
	var details []string
	for _, e := range entries {
		if e.Action == core.ActionPingURLSet && e.Outcome == core.AuditOK {
			details = append(details, e.Detail)
		}
		if strings.Contains(e.Detail, "ping-uuid") {
			t.Errorf("audit entry %+v holds the ping URL", e)
		}
	}
	if strings.Join(details, ";") != "ping URL removed;ping URL set" {
		t.Errorf("ping URL audit details %q, want removed then set (newest first)", details)
	}
}

// Deliveries are recorded and listed newest first; a status other than
// sent, failed or dropped is refused. Announced states are upserted.
func TestDeliveriesAndNotifyStates(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for i, st := range []string{core.DeliverySent, core.DeliveryFailed, core.DeliveryDropped} {
		d := core.Delivery{Channel: "ops", Event: core.EventFailure, Service: "prod", Destination: "disk", Subject: "s" + st,
			Status: st, Tries: i + 1, Error: "e", Host: "h", At: at.Add(time.Duration(i) * time.Minute)}
		must(t, c.AddDelivery(ctx, &d))
		if d.ID == 0 {
			t.Errorf("delivery %s got no id", st)
		}
	}
	bad := core.Delivery{Channel: "ops", Event: core.EventFailure, Subject: "x", Status: "lost"}
	if err := c.AddDelivery(ctx, &bad); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("a delivery with status lost: %v, want refused", err)
	}
	all, err := c.Deliveries(ctx, 0)
	must(t, err)
	if len(all) != 3 || all[0].Status != core.DeliveryDropped || all[2].Status != core.DeliverySent || all[1].Tries != 2 ||
		!all[2].At.Equal(at) || all[0].Service != "prod" || all[0].Destination != "disk" || all[0].Event != core.EventFailure {
		t.Errorf("deliveries %+v, want the three newest first as recorded", all)
	}
	two, err := c.Deliveries(ctx, 2)
	must(t, err)
	if len(two) != 2 || two[0].ID != all[0].ID {
		t.Errorf("limit 2 gave %+v", two)
	}

	states, err := c.NotifyStates(ctx)
	must(t, err)
	if len(states) != 0 {
		t.Errorf("a new catalog has states %v", states)
	}
	must(t, c.SetNotifyState(ctx, "failure:prod/disk", "failed"))
	must(t, c.SetNotifyState(ctx, "rpo:prod", "missed"))
	must(t, c.SetNotifyState(ctx, "failure:prod/disk", "ok"))
	states, err = c.NotifyStates(ctx)
	must(t, err)
	if len(states) != 2 || states["failure:prod/disk"] != "ok" || states["rpo:prod"] != "missed" {
		t.Errorf("states %v, want the last of each key", states)
	}
}

// A viewer lists the channels and the configurations but reads neither a
// channel's URL nor a ping URL, not even with raw SQL; it may not record
// deliveries. An operator reads them (a daemon sends) and records
// deliveries and states. On SQLite there are no roles.
func TestViewerReadsNoNotifyURL(t *testing.T) {
	ctx := context.Background()
	target := catalogTarget(t)
	owner, err := Open(ctx, target, WithClock(tickingClock()), WithKeyFile(filepath.Join(t.TempDir(), "catalog.key")))
	must(t, err)
	t.Cleanup(func() { owner.Close() })
	ch := core.NotifyChannel{Name: "ops", URL: testChannelURL}
	must(t, owner.SaveNotifyChannel(ctx, &ch, false))
	addLocal(t, owner, "disk")
	addService(t, owner, "prod")
	setConfig(t, owner, "prod", "disk", true)
	must(t, owner.SetPingURL(ctx, "prod", "disk", testPingURL))
	if !onPostgres(t) {
		return
	}
	viewer, _ := openAsRole(t, owner, target, "vicky", core.RoleViewer)
	list, err := viewer.NotifyChannels(ctx)
	must(t, err)
	if len(list) != 1 || list[0].URL.IsValue() || !list[0].URL.IsSet() {
		t.Fatalf("viewer listed %+v, want ops with its URL set but hidden", list)
	}
	if _, err := list[0].URL.Resolve("the URL"); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("viewer resolved the channel URL: %v, want forbidden", err)
	}
	cfgs, err := viewer.Configurations(ctx, "prod")
	must(t, err)
	if len(cfgs) != 1 || cfgs[0].PingURL.IsValue() || !cfgs[0].PingURL.IsSet() {
		t.Errorf("viewer read configuration %+v, want its ping URL hidden", cfgs)
	}
	if _, err := viewer.HealthSnapshot(ctx); err != nil {
		t.Errorf("viewer cannot read the health snapshot: %v", err)
	}
	for _, q := range []string{`SELECT url FROM notify_channels`, `SELECT ping_url FROM configurations`, `SELECT * FROM notify_channels`} {
		if _, err := viewer.db.DB.ExecContext(ctx, q); !isPgCode(err, "42501") {
			t.Errorf("viewer ran %s: %v, want permission denied", q, err)
		}
	}
	d := core.Delivery{Channel: "ops", Event: core.EventFailure, Subject: "x", Status: core.DeliverySent, Tries: 1}
	if err := viewer.AddDelivery(ctx, &d); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("viewer recorded a delivery: %v, want forbidden", err)
	}
	operator, _ := openAsRole(t, owner, target, "oscar", core.RoleOperator)
	got, err := operator.NotifyChannel(ctx, "ops")
	must(t, err)
	if got.URL.Reveal() != testChannelURL {
		t.Errorf("the operator cannot read the channel URL a daemon sends to")
	}
	must(t, operator.AddDelivery(ctx, &d))
	must(t, operator.SetNotifyState(ctx, "failure:prod/disk", "failed"))
	must(t, operator.SetNotifyState(ctx, "failure:prod/disk", "ok"))
	if err := operator.DeleteNotifyChannel(ctx, "ops"); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("an operator removed a channel: %v, want forbidden (admins change channels)", err)
	}
}

// A catalog moved into PostgreSQL carries its ping URLs, sealed again with
// the target's key; a ping URL the source's key does not open stops the
// move before anything is written.
func TestMigrateResealsPingURL(t *testing.T) {
	ctx := context.Background()
	t.Setenv("MIGRATE_TEST_S3_SECRET", "x")
	src := migrationSource(t, 3)
	must(t, src.SetPingURL(ctx, "prod", "nas", testPingURL))
	dst := migrationTarget(t)
	res, err := Migrate(ctx, src, dst, MigrateOptions{})
	must(t, err)
	if res.Secrets == 0 {
		t.Errorf("migration sealed no secret again: %+v", res)
	}
	stored := storedColumn(t, dst, `SELECT c.ping_url FROM configurations c JOIN services s ON s.id = c.service_id
		JOIN destinations d ON d.id = c.destination_id WHERE s.name = 'prod' AND d.name = 'nas'`)
	if !strings.HasPrefix(stored, encPrefix) || stored == storedColumn(t, src, `SELECT ping_url FROM configurations WHERE ping_url <> ''`) {
		t.Errorf("the target stores the ping URL as %q, want it sealed again", stored)
	}
	cfgs, err := dst.Configurations(ctx, "prod")
	must(t, err)
	for _, c := range cfgs {
		if c.Destination == "nas" && c.PingURL.Reveal() != testPingURL {
			t.Errorf("the ping URL does not open with the target's key")
		}
	}

	// The source's ping URL is sealed with a key it no longer has.
	src2 := migrationSource(t, 3)
	must(t, src2.SetPingURL(ctx, "prod", "nas", testPingURL))
	must(t, exec(t, src2.db, `UPDATE configurations SET ping_url = 'enc1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' WHERE ping_url <> ''`))
	dst2 := migrationTarget(t)
	before := dump(t, dst2)
	_, err = Migrate(ctx, src2, dst2, MigrateOptions{})
	if err == nil || !strings.Contains(err.Error(), "nothing was migrated") || !strings.Contains(err.Error(), "ping URL") {
		t.Errorf("migrating an unreadable ping URL: %v, want refused, naming it", err)
	}
	if after := dump(t, dst2); after != before {
		t.Errorf("a refused migration changed the target")
	}
	if _, err := os.Stat(src2.KeyFile()); err != nil {
		t.Fatal(err)
	}
}
