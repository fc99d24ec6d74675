package notifier

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/notify"
	"github.com/odoo-backup/odoo-backup/store"
)

const (
	hookURL    = "https://hooks.example.com/services/T0/B0/hook-token-of-the-notifier-tests"
	pingURL    = "https://hc-ping.example.com/ping-uuid-of-the-notifier-tests"
	dbPassword = "db-password-of-the-notifier-tests"
)

// sent is what the fake sender and pinger were given.
type sent struct {
	mu     sync.Mutex
	msgs   []notify.Message
	urls   []string
	pings  []string
	answer func(n int) notify.Result // the n-th delivery's result (from 1)
}

func (s *sent) send(_ context.Context, url core.Secret, m notify.Message, _ notify.Options) notify.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	s.urls = append(s.urls, url.Reveal())
	if s.answer != nil {
		return s.answer(len(s.msgs))
	}
	return notify.Result{Tries: 1}
}

func (s *sent) ping(_ context.Context, url core.Secret, kind notify.PingKind, text string, _ notify.Options) notify.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pings = append(s.pings, pingNames[kind]+" "+text)
	s.urls = append(s.urls, url.Reveal())
	return notify.Result{Tries: 1}
}

func (s *sent) take() []notify.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs
	s.msgs = nil
	return m
}

type fixture struct {
	t   *testing.T
	cat *store.Catalog
	now time.Time
	out *sent
}

var start = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// newFixture is a real catalog with service prod (this host's, with a
// password) on destination disk, daily, and a channel ops for every event.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, now: start, out: &sent{}}
	cat, err := store.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), store.WithClock(func() time.Time { return f.now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	f.cat = cat
	d := core.Destination{Name: "disk", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/var/backups/disk"}}
	f.must(cat.AddDestination(ctx, &d))
	f.addService("prod", core.HostName())
	f.must(cat.SaveNotifyChannel(ctx, &core.NotifyChannel{Name: "ops", URL: hookURL}, false))
	return f
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) addService(name, host string) {
	f.t.Helper()
	ctx := context.Background()
	s := core.Service{Name: name, Host: host, DB: core.DBConn{Host: "db", Port: 5432, User: "odoo", Password: dbPassword, Database: name}}
	f.must(f.cat.AddService(ctx, &s, ""))
	f.must(f.cat.SetConfiguration(ctx, core.Configuration{Service: name, Destination: "disk", Frequency: core.Daily, Schedule: core.DefaultSchedule}))
}

func (f *fixture) watcher(o Options) *Watcher {
	o.Catalog = f.cat
	o.Send, o.Ping = f.out.send, f.out.ping
	o.Now = func() time.Time { return f.now }
	o.Location = time.UTC
	return New(o)
}

// backup records a finished backup of service to disk, a minute ago.
func (f *fixture) backup(service string, status core.BackupStatus, errText string) core.Backup {
	f.t.Helper()
	fin := f.now.Add(-time.Minute)
	b := core.Backup{Service: service, Destination: "disk", Kind: core.KindScheduled, Status: status, Error: errText,
		StartedAt: fin.Add(-time.Minute), FinishedAt: &fin, Size: 1 << 20, Key: "k"}
	f.must(f.cat.CreateBackup(context.Background(), &b))
	return b
}

func (f *fixture) evaluate(w *Watcher) []notify.Message {
	f.t.Helper()
	f.must(w.Evaluate(context.Background()))
	return f.out.take()
}

func subjects(ms []notify.Message) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Subject)
	}
	return s
}

func (f *fixture) deliveries() []core.Delivery {
	f.t.Helper()
	ds, err := f.cat.Deliveries(context.Background(), 0)
	f.must(err)
	return ds
}

// A configuration that starts failing is told once, with the service, the
// destination, the backup, the reason and the next step; failing again is
// not told again, even by a watcher started anew; the recovery is told
// once; every delivery is recorded.
func TestFailureOnceThenRecovery(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(Options{})
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("a service without backups told %v", subjects(got))
	}
	b := f.backup("prod", core.StatusFailed, "the directory /var/backups/disk does not exist")
	got := f.evaluate(w)
	if len(got) != 1 || got[0].Event != core.EventFailure {
		t.Fatalf("after a failure: %v, want one failure", subjects(got))
	}
	text := got[0].Text()
	for _, want := range []string{"prod", "disk", "backup " + itoa(b.ID), "does not exist", "Next:"} {
		if !strings.Contains(text, want) {
			t.Errorf("failure message %q lacks %q", text, want)
		}
	}
	f.now = f.now.Add(time.Hour)
	f.backup("prod", core.StatusFailed, "still missing")
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("a second failure told %v", subjects(got))
	}
	// A restarted daemon remembers what was told.
	w2 := f.watcher(Options{})
	if got := f.evaluate(w2); len(got) != 0 {
		t.Errorf("a new watcher told %v again", subjects(got))
	}
	f.now = f.now.Add(time.Hour)
	ok := f.backup("prod", core.StatusSucceeded, "")
	got = f.evaluate(w2)
	if len(got) != 1 || got[0].Event != core.EventRecovery || !strings.Contains(got[0].Text(), "works again") || !strings.Contains(got[0].Text(), "backup "+itoa(ok.ID)) {
		t.Fatalf("after the recovery: %v, want one recovery naming backup %d", subjects(got), ok.ID)
	}
	if got := f.evaluate(w2); len(got) != 0 {
		t.Errorf("the recovery was told again: %v", subjects(got))
	}
	ds := f.deliveries()
	if len(ds) != 2 || ds[0].Event != core.EventRecovery || ds[1].Event != core.EventFailure || ds[0].Status != core.DeliverySent ||
		ds[1].Channel != "ops" || ds[1].Service != "prod" || ds[1].Destination != "disk" || ds[1].Tries != 1 || ds[1].Host != core.HostName() {
		t.Errorf("deliveries %+v, want the failure and the recovery, sent to ops", ds)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A run a crash interrupted is neither a failure nor a recovery.
func TestInterruptedRunIsNoFailure(t *testing.T) {
	f := newFixture(t)
	w := f.watcher(Options{})
	f.backup("prod", core.StatusFailed, core.InterruptedMessage)
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("an interrupted run told %v", subjects(got))
	}
	f.backup("prod", core.StatusFailed, "pg_dump: connection refused")
	if got := f.evaluate(w); len(got) != 1 {
		t.Fatalf("a real failure told %v, want one message", subjects(got))
	}
	f.backup("prod", core.StatusFailed, core.InterruptedMessage)
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("an interrupted run after a failure told %v, want no recovery", subjects(got))
	}
}

// Only the services of this host are watched: each daemon of a fleet
// tells of its own.
func TestOtherHostsAreNotWatched(t *testing.T) {
	f := newFixture(t)
	f.addService("elsewhere", "other-host")
	w := f.watcher(Options{})
	f.backup("elsewhere", core.StatusFailed, "boom")
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("another host's failure told %v", subjects(got))
	}
}

// A missed RPO target is told once, and its end once.
func TestRPOExceededAndBack(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s, err := f.cat.Service(ctx, "prod")
	f.must(err)
	s.RPOTargetSeconds = 3600
	f.must(f.cat.UpdateService(ctx, s))
	f.backup("prod", core.StatusSucceeded, "")
	w := f.watcher(Options{})
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("a fresh backup told %v", subjects(got))
	}
	f.now = f.now.Add(2 * time.Hour)
	got := f.evaluate(w)
	if len(got) != 1 || got[0].Event != core.EventRPOExceeded || !strings.Contains(got[0].Text(), "RPO target 1h missed") {
		t.Fatalf("two hours later: %v, want the RPO miss", subjects(got))
	}
	f.now = f.now.Add(time.Minute)
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("the miss was told again: %v", subjects(got))
	}
	f.backup("prod", core.StatusSucceeded, "")
	got = f.evaluate(w)
	if len(got) != 1 || got[0].Event != core.EventRPOExceeded || !strings.Contains(got[0].Subject, "within its RPO target again") {
		t.Errorf("after a new backup: %v, want the end of the miss", subjects(got))
	}
}

// A failed drill is told once per drill; a size anomaly once per backup.
func TestDrillFailedAndAnomalyOnceEach(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := f.backup("prod", core.StatusSucceeded, "")
	w := f.watcher(Options{})
	f.evaluate(w)
	fin := f.now
	d := core.Drill{Service: "prod", BackupID: b.ID, Destination: "disk", Status: core.DrillFailed, Error: "relation res_users is missing", FinishedAt: &fin, StartedAt: fin.Add(-time.Minute)}
	f.must(f.cat.AddDrill(ctx, &d))
	got := f.evaluate(w)
	if len(got) != 1 || got[0].Event != core.EventDrillFailed || !strings.Contains(got[0].Text(), "res_users") || !strings.Contains(got[0].Text(), "drill "+itoa(d.ID)) {
		t.Fatalf("after a failed drill: %v", subjects(got))
	}
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("the drill was told again: %v", subjects(got))
	}
	a := f.backup("prod", core.StatusSucceeded, "")
	a.Anomaly = "the backup is 0.1x the median of the last 7 (1.0 MiB)"
	f.must(f.cat.UpdateBackup(ctx, a))
	var anomalies []notify.Message
	for _, m := range f.evaluate(w) {
		if m.Event == core.EventAnomaly {
			anomalies = append(anomalies, m)
		}
	}
	if len(anomalies) != 1 || !strings.Contains(anomalies[0].Text(), "0.1x the median") || !strings.Contains(anomalies[0].Text(), "ransomware") {
		t.Fatalf("after an anomaly: %v", subjects(anomalies))
	}
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("the anomaly was told again: %v", subjects(got))
	}
}

// A channel gets only its events.
func TestChannelGetsItsEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.must(f.cat.SaveNotifyChannel(ctx, &core.NotifyChannel{Name: "ops", URL: hookURL, Events: []core.NotifyEvent{core.EventRecovery}}, true))
	w := f.watcher(Options{})
	f.backup("prod", core.StatusFailed, "boom")
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("a channel for recoveries only was told %v", subjects(got))
	}
	f.backup("prod", core.StatusSucceeded, "")
	if got := f.evaluate(w); len(got) != 1 || got[0].Event != core.EventRecovery {
		t.Errorf("the recovery: %v", subjects(got))
	}
}

// At most RateLimit messages go to a channel in a window; the others are
// recorded dropped and summed up in the next message sent there.
func TestRateLimitHoldsBackAndSumsUp(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"a1", "a2", "a3", "a4"} {
		f.addService(n, "")
		f.backup(n, core.StatusFailed, "boom")
	}
	f.backup("prod", core.StatusFailed, "boom")
	w := f.watcher(Options{RateLimit: 2, RateWindow: 10 * time.Minute})
	got := f.evaluate(w)
	if len(got) != 2 {
		t.Fatalf("5 failures at once sent %v, want 2", subjects(got))
	}
	dropped := 0
	for _, d := range f.deliveries() {
		if d.Status == core.DeliveryDropped {
			dropped++
		}
	}
	if dropped != 3 {
		t.Errorf("%d deliveries recorded dropped, want 3", dropped)
	}
	f.now = f.now.Add(5 * time.Minute)
	if got := f.evaluate(w); len(got) != 0 {
		t.Errorf("within the window: %v", subjects(got))
	}
	f.now = f.now.Add(6 * time.Minute)
	got = f.evaluate(w)
	if len(got) != 1 || !strings.Contains(got[0].Subject, "3 events held back") || !strings.Contains(got[0].Text(), "And 3 more events") {
		t.Fatalf("after the window: %v, want the summary of the 3", subjects(got))
	}
	// A new event sent carries what is held back.
	for i := 0; i < 2; i++ {
		f.addService("b"+itoa(int64(i)), "")
		f.backup("b"+itoa(int64(i)), core.StatusFailed, "boom")
	}
	f.addService("c", "")
	f.backup("c", core.StatusFailed, "boom")
	f.now = f.now.Add(11 * time.Minute)
	f.evaluate(w) // 2 sent, 1 held
	f.now = f.now.Add(11 * time.Minute)
	f.addService("d", "")
	f.backup("d", core.StatusFailed, "boom")
	got = f.evaluate(w)
	if len(got) != 1 || !strings.Contains(got[0].Subject, "d to disk failed") || !strings.Contains(got[0].Text(), "And 1 more event held back") {
		t.Errorf("the next event: %v %q, want it to carry the one held back", subjects(got), got)
	}
}

// The digest goes once a day at its time, also across a restart.
func TestDigestOnceADay(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.must(f.cat.SaveNotifyChannel(ctx, &core.NotifyChannel{Name: "daily", URL: hookURL, Events: []core.NotifyEvent{core.EventRecovery}, Digest: "08:00"}, false))
	f.backup("prod", core.StatusSucceeded, "")
	f.now = time.Date(2026, 11, 23, 7, 59, 0, 0, time.UTC)
	w := f.watcher(Options{})
	f.evaluate(w)
	f.now = f.now.Add(2 * time.Minute)
	got := f.evaluate(w)
	if len(got) != 1 || got[0].Event != core.EventDigest || !strings.Contains(got[0].Text(), "prod: ") || !strings.Contains(got[0].Text(), "RPO") {
		t.Fatalf("at 08:01: %v, want the digest", subjects(got))
	}
	if got := f.evaluate(f.watcher(Options{})); len(got) != 0 {
		t.Errorf("a restarted watcher sent %v again", subjects(got))
	}
	f.now = f.now.Add(24 * time.Hour)
	if got := f.evaluate(w); len(got) != 1 {
		t.Errorf("the next day: %v, want one digest", subjects(got))
	}
}

// A delivery that fails after its tries is recorded failed with them.
func TestFailedDeliveryIsRecorded(t *testing.T) {
	f := newFixture(t)
	f.out.answer = func(int) notify.Result {
		return notify.Result{Tries: 3, Err: errors.New("the webhook at https://hooks.example.com/… answered 503 Service Unavailable")}
	}
	w := f.watcher(Options{})
	f.backup("prod", core.StatusFailed, "boom")
	f.evaluate(w)
	ds := f.deliveries()
	if len(ds) != 1 || ds[0].Status != core.DeliveryFailed || ds[0].Tries != 3 || !strings.Contains(ds[0].Error, "503") {
		t.Errorf("deliveries %+v, want one failed after 3 tries", ds)
	}
}

// No message, ping or delivery record holds a secret, even when an error
// quotes one.
func TestMessagesHoldNoSecret(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.must(f.cat.SetPingURL(ctx, "prod", "disk", pingURL))
	w := f.watcher(Options{Extra: []core.NotifyChannel{{Name: "webhook", URL: "https://legacy.example.com/legacy-secret-path", Events: []core.NotifyEvent{core.EventFailure}}}})
	stop := w.Start(ctx, time.Minute)
	w.RunStarted("prod", []string{"disk"})
	f.backup("prod", core.StatusFailed, "connecting with password "+dbPassword+" to "+pingURL+" and "+hookURL+" failed")
	b, err := f.cat.Backups(ctx, core.BackupFilter{Service: "prod", Limit: 1})
	f.must(err)
	w.RunFinished("prod", []string{"disk"}, b, nil)
	stop()
	f.out.mu.Lock()
	defer f.out.mu.Unlock()
	var all []string
	for _, m := range f.out.msgs {
		all = append(all, m.Text())
	}
	all = append(all, f.out.pings...)
	for _, d := range f.deliveries() {
		all = append(all, d.Subject, d.Error)
	}
	if len(f.out.msgs) != 2 || len(f.out.pings) != 2 {
		t.Fatalf("sent %d messages and %d pings, want 2 and 2 (start, failure)", len(f.out.msgs), len(f.out.pings))
	}
	if !strings.HasPrefix(f.out.pings[0], "start ") || !strings.HasPrefix(f.out.pings[1], "failure ") {
		t.Errorf("pings %q, want start then failure", f.out.pings)
	}
	for _, s := range all {
		for _, secret := range []string{dbPassword, pingURL, hookURL, "legacy-secret-path", "ping-uuid", "hook-token"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q holds the secret %q", s, secret)
			}
		}
	}
}

// With the real delivery: a webhook that answers 500 and then 200 is tried
// again, and the delivery is recorded sent with its 2 tries.
func TestRealWebhookRetriedAndRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			rw.WriteHeader(500)
		}
	}))
	defer srv.Close()
	f.must(f.cat.SaveNotifyChannel(ctx, &core.NotifyChannel{Name: "ops", URL: core.Secret(srv.URL + "/hook")}, true))
	var waits []time.Duration
	w := New(Options{Catalog: f.cat, Now: func() time.Time { return f.now },
		Delivery: notify.Options{Sleep: func(_ context.Context, d time.Duration) { waits = append(waits, d) }}})
	f.backup("prod", core.StatusFailed, "boom")
	f.must(w.Evaluate(ctx))
	ds := f.deliveries()
	if len(ds) != 1 || ds[0].Status != core.DeliverySent || ds[0].Tries != 2 || calls != 2 || len(waits) != 1 {
		t.Errorf("deliveries %+v after %d calls and waits %v, want sent after 2 tries", ds, calls, waits)
	}
	d := w.Test(ctx, core.NotifyChannel{Name: "ops", URL: core.Secret(srv.URL)})
	if d.Status != core.DeliverySent || d.Event != core.EventTest {
		t.Errorf("test delivery %+v", d)
	}
}
