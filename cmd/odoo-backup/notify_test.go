package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// hookServer is a real local webhook: it keeps what it is sent, and
// answers each request with the next of answers (the last one repeats;
// 0 hangs until the client gives up).
type hookServer struct {
	mu      sync.Mutex
	answers []int
	texts   []string
	paths   []string
}

func (h *hookServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m map[string]string
	json.Unmarshal(body, &m)
	h.mu.Lock()
	h.texts = append(h.texts, m["text"])
	h.paths = append(h.paths, r.URL.Path)
	answer := 200
	if len(h.answers) > 0 {
		answer = h.answers[min(len(h.texts), len(h.answers))-1]
	}
	h.mu.Unlock()
	if answer == 0 {
		<-r.Context().Done()
		return
	}
	rw.WriteHeader(answer)
}

func (h *hookServer) got() (texts, paths []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.texts), slices.Clone(h.paths)
}

func (c *cli) channels() string {
	c.t.Helper()
	return c.ok("notify", "list", "--json")
}

// The notify commands: add (URL from the environment or an argument),
// list without the URL, update only what is given, test, log, remove; and
// every bad input is one sentence, exit 2 for wrong usage (1 for a name
// taken or unknown), with nothing changed.
func TestNotifyCommands(t *testing.T) {
	c := newCLI(t)
	hook := &hookServer{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	const token = "notify-cli-token-4b1e"
	c.secrets = append(c.secrets, token)
	t.Setenv("OPS_HOOK", srv.URL+"/hooks/"+token)

	out := c.ok("notify", "add", "ops", "--url-env", "OPS_HOOK", "--events", "failure,recovery", "--digest", "08:30")
	if !strings.Contains(out, "channel ops added: "+srv.URL+"/…, events failure,recovery, daily digest at 08:30") {
		t.Errorf("add printed %q", out)
	}
	c.ok("notify", "add", "mail", "smtp://u:"+token+"@mail.example.com:587/?from=backup@example.com&to=ops@example.com")
	var list []channelJSON
	c.json(&list, "notify", "list")
	if len(list) != 2 || list[0].Name != "mail" || list[0].Target != "smtp://mail.example.com:587" || len(list[0].Events) != len(core.NotifyEvents) ||
		list[1].Name != "ops" || list[1].Digest != "08:30" || strings.Join([]string{string(list[1].Events[0]), string(list[1].Events[1])}, ",") != "failure,recovery" {
		t.Errorf("notify list --json: %+v", list)
	}
	if txt := c.ok("notify", "list"); !strings.Contains(txt, "ops") || !strings.Contains(txt, "08:30") || strings.Contains(txt, "/hooks/") {
		t.Errorf("notify list:\n%s", txt)
	}

	before := c.channels()
	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{2, `"sometimes" is not an event a channel can be sent`, []string{"notify", "add", "x", "--url-env", "OPS_HOOK", "--events", "failure,sometimes"}},
		{2, `the digest time "25:00" is not HH:MM`, []string{"notify", "add", "x", "--url-env", "OPS_HOOK", "--digest", "25:00"}},
		{2, `give the URL of channel "x" with --url-env`, []string{"notify", "add", "x"}},
		{2, `cannot be read as a URL`, []string{"notify", "add", "x", "no url"}},
		// The delivery layer's own checks run when the URL is given.
		{2, `recipient`, []string{"notify", "add", "x", "smtp://mail.example.com:587/?from=backup@example.com"}},
		{2, `gopher`, []string{"notify", "add", "x", "gopher://example.com/x"}},
		{2, `notification channel name "bad name" is not allowed`, []string{"notify", "add", "bad name", "--url-env", "OPS_HOOK"}},
		{2, `the environment variable NOT_SET_HOOK named by --url-env is not set`, []string{"notify", "add", "x", "--url-env", "NOT_SET_HOOK"}},
		{1, `a notification channel named "ops" already exists; change it with: odoo-backup notify update ops`, []string{"notify", "add", "ops", "--url-env", "OPS_HOOK"}},
		{1, `notification channel "nobody" does not exist; list them with: odoo-backup notify list`, []string{"notify", "update", "nobody", "--events", "failure"}},
		{2, `"often" is not an event`, []string{"notify", "update", "ops", "--events", "often"}},
		{2, `give either --digest or --no-digest`, []string{"notify", "update", "ops", "--digest", "08:00", "--no-digest"}},
		{1, `notification channel "nobody" does not exist`, []string{"notify", "remove", "nobody"}},
		{1, `notification channel "nobody" does not exist`, []string{"notify", "test", "nobody"}},
		{2, `--limit -1 is not a number of deliveries`, []string{"notify", "log", "--limit", "-1"}},
	} {
		c.fails(tc.code, tc.want, tc.args...)
	}
	if after := c.channels(); after != before {
		t.Errorf("refused commands changed the channels:\n%s\nwas\n%s", after, before)
	}

	out = c.ok("notify", "update", "ops", "--no-digest", "--events", "all")
	if !strings.Contains(out, "channel ops updated: "+srv.URL+"/…, events all") || strings.Contains(out, "digest") {
		t.Errorf("update printed %q", out)
	}
	if out := c.ok("notify", "test", "ops"); !strings.Contains(out, "test message sent to channel ops") {
		t.Errorf("test printed %q", out)
	}
	texts, paths := hook.got()
	if len(texts) != 1 || !strings.Contains(texts[0], "test message to channel ops") || paths[0] != "/hooks/"+token {
		t.Errorf("the webhook got %q at %q", texts, paths)
	}
	// A channel that refuses: exit 1, the one sentence, recorded.
	hook.mu.Lock()
	hook.answers = []int{404}
	hook.mu.Unlock()
	c.fails(1, "the test message to channel ops was not delivered after 1 try: the webhook at "+srv.URL+"/… refused the message (404 Not Found)", "notify", "test", "ops")
	var log []core.Delivery
	c.json(&log, "notify", "log")
	if len(log) != 2 || log[0].Status != core.DeliveryFailed || log[1].Status != core.DeliverySent || log[0].Event != core.EventTest || log[0].Channel != "ops" {
		t.Errorf("notify log --json: %+v", log)
	}
	if txt := c.ok("notify", "log", "--limit", "1"); strings.Count(txt, "\n") != 2 || !strings.Contains(txt, "404 Not Found") {
		t.Errorf("notify log --limit 1:\n%s", txt)
	}
	c.ok("notify", "remove", "mail")
	c.json(&list, "notify", "list")
	if len(list) != 1 || list[0].Name != "ops" {
		t.Errorf("after remove: %+v", list)
	}
	var trail []core.AuditEntry
	c.json(&trail, "audit", "--limit", "0")
	actions := map[string]int{}
	for _, e := range trail {
		actions[e.Action+" "+string(e.Outcome)]++
	}
	if actions["notify add ok"] != 2 || actions["notify update ok"] != 1 || actions["notify remove ok"] != 1 {
		t.Errorf("audit: %v", actions)
	}
}

// The daemon tells its channels with a real local webhook: a failing
// backup is told once (to a webhook that answers 500 and then 200, tried
// again and recorded with its tries; and to one that times out, recorded
// failed), a second failure is not told, the recovery is; the ping URL
// hears each run start and end; and the backups fail and succeed as they
// would have without notifications.
func TestDaemonNotifies(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "daemon_notify")
	disk := filepath.Join(c.dir, "disk")
	c.ok("destination", "add", "disk", "--dir", disk)
	c.addService("prod", odoo)
	flaky := &hookServer{answers: []int{500, 200}}
	slow := &hookServer{answers: []int{0}}
	pings := &hookServer{}
	for _, h := range []*hookServer{flaky, slow, pings} {
		srv := httptest.NewServer(h)
		defer srv.Close()
		switch h {
		case flaky:
			t.Setenv("FLAKY_HOOK", srv.URL+"/flaky")
		case slow:
			t.Setenv("SLOW_HOOK", srv.URL+"/slow")
		case pings:
			t.Setenv("PING_URL", srv.URL+"/ping/uuid")
		}
	}
	c.ok("config", "set", "prod", "disk", "--frequency", "hourly", "--ping-url-env", "PING_URL")
	c.fails(2, "the ping URL cannot be used", "config", "set", "prod", "disk", "--ping-url", "ftp://example.com/x")
	c.fails(2, "give one of --ping-url, --ping-url-env and --no-ping-url", "config", "set", "prod", "disk", "--ping-url", "https://example.com/x", "--no-ping-url")
	c.ok("notify", "add", "ops", "--url-env", "FLAKY_HOOK", "--events", "failure,recovery")
	c.ok("notify", "add", "slow", "--url-env", "SLOW_HOOK", "--events", "failure")

	// The destination's disk is gone: the catch-up fails, told once.
	if err := os.Rename(disk, disk+".away"); err != nil {
		t.Fatal(err)
	}
	d := c.startDaemon("--notify-timeout", "1s")
	d.waitFor("scheduled run finished", 1)
	d.stop() // delivers what is queued first
	if _, code := c.status(); code != 1 {
		t.Errorf("status exit %d after a failed scheduled backup, want 1", code)
	}
	texts, _ := flaky.got()
	if len(texts) != 2 || texts[0] != texts[1] || !strings.Contains(texts[0], "prod to disk failed") || !strings.Contains(texts[0], "does not exist") || !strings.Contains(texts[0], "Next:") {
		t.Fatalf("the flaky webhook got %q, want the failure twice (500, then 200)", texts)
	}
	// Started again, still failing: nothing more is told.
	d = c.startDaemon("--notify-timeout", "1s")
	d.waitFor("scheduled run finished", 1)
	d.stop()
	if texts, _ := flaky.got(); len(texts) != 2 {
		t.Errorf("a second failure was told: %q", texts[2:])
	}
	// The disk is back: the recovery is told, once.
	if err := os.Rename(disk+".away", disk); err != nil {
		t.Fatal(err)
	}
	d = c.startDaemon("--notify-timeout", "1s")
	d.waitFor("scheduled run finished", 1)
	d.stop()
	if _, code := c.status(); code != 0 {
		t.Errorf("status exit %d after the recovery, want 0", code)
	}
	texts, _ = flaky.got()
	if len(texts) != 3 || !strings.Contains(texts[2], "prod to disk works again") {
		t.Errorf("the flaky webhook got %q, want the recovery last", texts)
	}
	if texts, _ := slow.got(); len(texts) != 3 {
		t.Errorf("the slow webhook got %d attempts, want the failure's 3 and nothing of the recovery", len(texts))
	}
	_, paths := pings.got()
	want := []string{"/ping/uuid/start", "/ping/uuid/fail", "/ping/uuid/start", "/ping/uuid/fail", "/ping/uuid/start", "/ping/uuid"}
	if !slices.Equal(paths, want) {
		t.Errorf("pings %q, want %q", paths, want)
	}

	var log []core.Delivery
	c.json(&log, "notify", "log", "--limit", "0")
	var got []string
	for _, d := range log {
		if d.Channel == "ops" || d.Channel == "slow" {
			got = append(got, d.Channel+" "+string(d.Event)+" "+d.Status+" "+itoa(int64(d.Tries)))
		}
	}
	slices.Reverse(got)
	wantLog := []string{"ops failure sent 2", "slow failure failed 3", "ops recovery sent 1"}
	if len(got) != 3 || !slices.Contains(got, wantLog[0]) || !slices.Contains(got, wantLog[1]) || got[2] != wantLog[2] {
		t.Errorf("deliveries %q, want %q", got, wantLog)
	}
	pinged := 0
	for _, d := range log {
		if d.Channel == "ping prod/disk" && d.Status == core.DeliverySent {
			pinged++
		}
	}
	if pinged != 6 {
		t.Errorf("%d pings recorded sent, want 6", pinged)
	}
}
