package notify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// healthchecks.io's convention: a POST to URL/start, URL and URL/fail,
// with the text as the body, cut to PingBodyLimit bytes.
func TestPingHealthchecks(t *testing.T) {
	srv := newRecorder(t, "OK")
	raw := core.Secret(srv.URL + "/ping/0b2ae4c2-uuid/")
	long := strings.Repeat("é", PingBodyLimit) // two bytes each
	for _, p := range []struct {
		kind PingKind
		text string
	}{{PingStart, "shop: backup started"}, {PingSuccess, "shop: 12 MB in 4s"}, {PingFailure, long}} {
		if res := Ping(context.Background(), raw, p.kind, p.text, Options{Sleep: noSleep(t)}); res.Err != nil || res.Tries != 1 || res.Skipped {
			t.Errorf("%s: %+v", p.kind, res)
		}
	}
	got := srv.requests()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	for i, want := range []request{
		{Method: "POST", Path: "/ping/0b2ae4c2-uuid/start", Body: "shop: backup started"},
		{Method: "POST", Path: "/ping/0b2ae4c2-uuid/", Body: "shop: 12 MB in 4s"}, // as given
		{Method: "POST", Path: "/ping/0b2ae4c2-uuid/fail", Body: long[:PingBodyLimit]},
	} {
		if got[i].Method != want.Method || got[i].Path != want.Path || got[i].Body != want.Body {
			t.Errorf("request %d: %s %s (%d bytes), want %s %s (%d bytes)", i, got[i].Method, got[i].Path, len(got[i].Body), want.Method, want.Path, len(want.Body))
		}
	}
}

// Uptime Kuma push URLs take status=up|down and msg=; they have no start
// signal, so a start is skipped without a request.
func TestPingUptimeKuma(t *testing.T) {
	srv := newRecorder(t, `{"ok":true}`)
	raw := core.Secret(srv.URL + "/api/push/Ab12Cd34?ping=")
	if res := Ping(context.Background(), raw, PingStart, "started", Options{Sleep: noSleep(t)}); !res.Skipped || res.Tries != 0 || res.Err != nil {
		t.Errorf("start: %+v, want skipped", res)
	}
	if res := Ping(context.Background(), raw, PingSuccess, "shop: 12 MB in 4s", Options{Sleep: noSleep(t)}); res.Err != nil {
		t.Errorf("success: %+v", res)
	}
	if res := Ping(context.Background(), raw, PingFailure, "shop: the destination answered 503\nmore detail", Options{Sleep: noSleep(t)}); res.Err != nil {
		t.Errorf("failure: %+v", res)
	}
	got := srv.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	for i, want := range []url.Values{
		{"status": {"up"}, "msg": {"shop: 12 MB in 4s"}, "ping": {""}},
		{"status": {"down"}, "msg": {"shop: the destination answered 503"}, "ping": {""}},
	} {
		q, _ := url.ParseQuery(got[i].Query)
		if got[i].Method != http.MethodGet || got[i].Path != "/api/push/Ab12Cd34" || fmt.Sprint(q) != fmt.Sprint(want) {
			t.Errorf("request %d: %s %s ?%s, want GET with %v", i, got[i].Method, got[i].Path, got[i].Query, want)
		}
	}
}

// A ping that meets a 5xx is tried again with backoff; a 404 is not. The
// errors do not hold the check's path.
func TestPingRetries(t *testing.T) {
	srv := newRecorder(t, "", 503, 200)
	var waits []time.Duration
	res := Ping(context.Background(), core.Secret(srv.URL+"/secret-uuid"), PingSuccess, "ok", Options{Sleep: waitsRecorder(&waits)})
	if res.Err != nil || res.Tries != 2 || fmt.Sprint(waits) != "[2s]" {
		t.Errorf("Ping = %+v, waits %v", res, waits)
	}
	srv = newRecorder(t, "", 404)
	res = Ping(context.Background(), core.Secret(srv.URL+"/secret-uuid"), PingFailure, "x", Options{Sleep: noSleep(t)})
	want := "the ping URL " + srv.URL + "/… refused the ping (404 Not Found); check the URL"
	if res.Err == nil || res.Err.Error() != want || res.Tries != 1 {
		t.Errorf("Ping = %+v, want %q", res, want)
	}
	closed := "http://" + srv.Listener.Addr().String()
	srv.Close()
	waits = nil
	res = Ping(context.Background(), core.Secret(closed+"/secret-uuid"), PingFailure, "x", Options{Sleep: waitsRecorder(&waits)})
	if res.Err == nil || res.Tries != 3 || !strings.HasPrefix(res.Err.Error(), "the ping URL "+closed+"/… did not answer: ") || strings.Contains(res.Err.Error(), "secret-uuid") {
		t.Errorf("Ping = %+v", res)
	}
}

// A bad ping URL, or a kind of ping that does not exist, is refused at
// once in one sentence.
func TestValidatePingURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"", "the ping URL is empty; give it as https://host/path (a healthchecks.io check, or an Uptime Kuma push URL)"},
		{"hc-ping.com/uuid", "the ping URL cannot be read; give it as https://host/path (a healthchecks.io check, or an Uptime Kuma push URL)"},
		{"ftp://hc-ping.com/uuid", "a ping URL is an http:// or https:// address, not ftp://; give the check's URL as its service shows it"},
		{"https:///uuid", "the ping URL names no server; give it as https://host/path"},
	} {
		if err := ValidatePingURL(core.Secret(tc.url)); err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v, want %s", tc.url, err, tc.want)
		}
		if res := Ping(context.Background(), core.Secret(tc.url), PingSuccess, "", Options{Sleep: noSleep(t)}); res.Err == nil || res.Tries != 0 {
			t.Errorf("%q: Ping = %+v", tc.url, res)
		}
	}
	if err := ValidatePingURL("https://hc-ping.com/0b2ae4c2"); err != nil {
		t.Error(err)
	}
	res := Ping(context.Background(), "https://hc-ping.com/0b2ae4c2", "finish", "", Options{Sleep: noSleep(t)})
	if want := `a ping is a start, a success or a failure, not "finish"`; res.Err == nil || res.Err.Error() != want {
		t.Errorf("Ping = %+v, want %q", res, want)
	}
}

// truncate never cuts a character in two.
func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"ééé", 3, "é"}, {"ééé", 4, "éé"}} {
		if got := truncate(tc.s, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
