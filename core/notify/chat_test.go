package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// request is what a test server received.
type request struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
}

// recorder is a local HTTP server that records each request and answers
// with the next of its statuses (the last one once they run out).
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	got      []request
	statuses []int
	body     string
}

func newRecorder(t *testing.T, body string, statuses ...int) *recorder {
	t.Helper()
	r := &recorder{statuses: statuses, body: body}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone(), string(b)})
		status := http.StatusOK
		if n := len(r.got) - 1; n < len(r.statuses) {
			status = r.statuses[n]
		} else if len(r.statuses) > 0 {
			status = r.statuses[len(r.statuses)-1]
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, r.body)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

// host is the server's host:port.
func (r *recorder) host() string { return strings.TrimPrefix(r.URL, "http://") }

// waitsRecorder records the waits between tries instead of waiting.
func waitsRecorder(waits *[]time.Duration) func(context.Context, time.Duration) {
	return func(_ context.Context, d time.Duration) { *waits = append(*waits, d) }
}

// A message to ntfy goes through the library to the server named in the
// URL, as ntfy's API wants it: a POST of the text to the topic, with the
// user and password as basic authentication.
func TestChatNtfyEndToEnd(t *testing.T) {
	srv := newRecorder(t, `{"id":"abc","event":"message"}`)
	raw := core.Secret("ntfy://backup:t0ps3cret@" + srv.host() + "/odoo-alerts?scheme=http")
	m := Message{Event: core.EventFailure, Subject: "shop: the nightly backup failed", Body: "The destination answered 503."}
	res := Send(context.Background(), raw, m, Options{Sleep: noSleep(t)})
	if res.Err != nil || res.Tries != 1 {
		t.Fatalf("Send = %+v", res)
	}
	got := srv.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != http.MethodPost || r.Path != "/odoo-alerts" {
		t.Errorf("%s %s, want POST /odoo-alerts", r.Method, r.Path)
	}
	if r.Body != m.Text() {
		t.Errorf("body %q, want %q", r.Body, m.Text())
	}
	if user, pass, ok := (&http.Request{Header: r.Header}).BasicAuth(); !ok || user != "backup" || pass != "t0ps3cret" {
		t.Errorf("authentication %q %q %v", user, pass, ok)
	}
}

// The library's generic webhook service (generic+http://) posts the text
// to any address.
func TestChatGenericEndToEnd(t *testing.T) {
	srv := newRecorder(t, "")
	res := Send(context.Background(), core.Secret("generic+"+srv.URL+"/hooks/backup"), Message{Subject: "drill failed"}, Options{Sleep: noSleep(t)})
	if res.Err != nil {
		t.Fatalf("Send = %+v", res)
	}
	got := srv.requests()
	if len(got) != 1 || got[0].Method != http.MethodPost || got[0].Path != "/hooks/backup" || !strings.Contains(got[0].Body, "drill failed") {
		t.Errorf("requests %+v", got)
	}
}

// A service that answers 5xx is tried again with backoff; a refusal (4xx)
// is not. Neither error holds the topic or the password.
func TestChatRetriesServerErrorsOnly(t *testing.T) {
	srv := newRecorder(t, `{"code":50201,"http":502,"error":"the upstream is down"}`, 502, 503, 200)
	raw := core.Secret("ntfy://backup:t0ps3cret@" + srv.host() + "/secret-topic?scheme=http")
	var waits []time.Duration
	res := Send(context.Background(), raw, Message{Subject: "x"}, Options{Sleep: waitsRecorder(&waits)})
	if res.Err != nil || res.Tries != 3 || fmt.Sprint(waits) != "[2s 4s]" {
		t.Errorf("Send = %+v, waits %v; want delivered at the third try after 2s and 4s", res, waits)
	}

	srv = newRecorder(t, `{"code":40301,"http":403,"error":"forbidden"}`, 403)
	raw = core.Secret("ntfy://backup:t0ps3cret@" + srv.host() + "/secret-topic?scheme=http")
	res = Send(context.Background(), raw, Message{Subject: "x"}, Options{Sleep: noSleep(t)})
	want := "the ntfy service at ntfy://" + srv.host() + "/… refused the message (failed to send ntfy notification: server response: forbidden (40301)); check the channel's URL"
	if res.Err == nil || res.Err.Error() != want || res.Tries != 1 {
		t.Errorf("Send = %+v, want %q", res, want)
	}

	srv = newRecorder(t, `down for maintenance`, 500)
	raw = core.Secret("ntfy://backup:t0ps3cret@" + srv.host() + "/secret-topic?scheme=http")
	waits = nil
	res = Send(context.Background(), raw, Message{Subject: "x"}, Options{Sleep: waitsRecorder(&waits)})
	want = "the ntfy service at ntfy://" + srv.host() + "/… answered 500 Internal Server Error"
	if res.Err == nil || res.Err.Error() != want || res.Tries != 3 {
		t.Errorf("Send = %+v, want %q after 3 tries", res, want)
	}
	if !errors.Is(res.Err, core.ErrTransient) {
		t.Errorf("%v is not ErrTransient", res.Err)
	}
}

// A service that does not answer times out at each try, and is tried
// again.
func TestChatTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(func() { close(release); srv.Close() })
	raw := core.Secret("ntfy://" + strings.TrimPrefix(srv.URL, "http://") + "/topic?scheme=http")
	var waits []time.Duration
	res := Send(context.Background(), raw, Message{Subject: "x"}, Options{Tries: 2, Timeout: 50 * time.Millisecond, Sleep: waitsRecorder(&waits)})
	want := "the ntfy service at ntfy://" + strings.TrimPrefix(srv.URL, "http://") + "/… did not answer: it timed out"
	if res.Err == nil || res.Err.Error() != want || res.Tries != 2 || len(waits) != 1 {
		t.Errorf("Send = %+v, waits %v; want %q after 2 tries", res, waits, want)
	}
}

// A chat URL the service cannot use is refused at once, in one sentence
// that holds none of its tokens.
func TestValidateChatURL(t *testing.T) {
	const token = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	for _, tc := range []struct{ url, want, secret string }{
		{"telegram://not-a-token@telegram?chats=@backups", "the telegram URL cannot be used (invalid telegram token: …); check its form for the service", "not-a-token"},
		{"telegram://" + token + "@telegram", "the telegram URL cannot be used (no channels defined in config URL); check its form for the service", token},
		{"ftp://files.example.com/x", "notifications to ftp:// URLs are not supported; use smtp:// or smtps:// (email), https:// (a webhook) or a chat service's URL (" + strings.Join(ChatSchemes(), ", ") + ")", ""},
		{"logger://", "notifications to logger:// URLs are not supported; use smtp:// or smtps:// (email), https:// (a webhook) or a chat service's URL (" + strings.Join(ChatSchemes(), ", ") + ")", ""},
		{"", "the notification URL is empty; give it as scheme://... (smtp://, https://, slack://, ...)", ""},
		{"no scheme at all", "the notification URL cannot be read; give it again as scheme://... (smtp://, https://, slack://, ...)", ""},
		{"https:///path", "the webhook URL names no server; give it as https://host/path", ""},
	} {
		err := ValidateURL(core.Secret(tc.url))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.url, err, tc.want)
			continue
		}
		if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("%q: the error holds %q", tc.url, tc.secret)
		}
		if res := Send(context.Background(), core.Secret(tc.url), Message{Subject: "x"}, Options{Sleep: noSleep(t)}); res.Tries != 0 || res.Err == nil {
			t.Errorf("%q: Send = %+v, want refused without a try", tc.url, res)
		}
	}
	for _, ok := range []string{
		"telegram://" + token + "@telegram?chats=@backups",
		"discord://token@123456789",
		"slack://hook:T00000000-B00000000-XXXXXXXXXXXXXXXXXXXXXXXX@webhook",
		"ntfy://ntfy.sh/odoo-alerts",
		"gotify://gotify.example.com/AbCdEfGhIjKlMnO",
		"pushover://shoutrrr:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@uuuuuuuuuuuuuuuuuuuuuuuuuuuuuu",
		"generic+https://hooks.example.com/backup",
		"https://hooks.example.com/backup",
	} {
		if err := ValidateURL(core.Secret(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// Redact keeps a server's name and drops everything that may be a
// credential; where a service's host is a token, it shows the scheme alone.
func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"https://user:pw@hooks.example.com/services/T000/B000/XXX?token=y": "https://hooks.example.com/…",
		"https://hooks.example.com":                                        "https://hooks.example.com",
		"smtp://me:pw@mail.example.com:587/?from=a@example.com":            "smtp://mail.example.com:587",
		"ntfy://user:pw@ntfy.sh/secret-topic":                              "ntfy://ntfy.sh/…",
		"discord://token@webhookid":                                        "discord://…",
		"slack://tokenA/tokenB/tokenC":                                     "slack://…",
		"telegram://123:ABC@telegram?chats=@x":                             "telegram://…",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := Redact(u); got != want {
			t.Errorf("Redact(%s) = %q, want %q", raw, got, want)
		}
	}
}

// RedactURL shows a kept URL as Redact does, and an unreadable one without
// any of it.
func TestRedactURL(t *testing.T) {
	for raw, want := range map[core.Secret]string{
		"smtp://me:pw@mail.example.com:587/?from=a@example.com&to=b@example.com": "smtp://mail.example.com:587",
		"  HTTPS://hooks.example.com/T0/B0  ":                                    "https://hooks.example.com/…",
		"telegram://123:ABC@telegram?chats=@x":                                   "telegram://…",
		"https://bad host%zz/secret":                                             "https://…",
		"no scheme secret":                                                       "…",
		"":                                                                       "…",
	} {
		if got := RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw.Reveal(), got, want)
		}
	}
}

// scrub takes out of a library's error every URL and every part of the
// channel's URL.
func TestScrub(t *testing.T) {
	u, _ := url.Parse("discord://tok3n-value@123456789012?thread_id=998877")
	in := `failed to send discord notification: sending POST request to "https://discord.com/api/webhooks/123456789012/tok3n-value": token tok3n-value for 123456789012 (thread 998877)`
	got := scrub(in, u)
	for _, s := range []string{"tok3n-value", "123456789012", "998877", "discord.com"} {
		if strings.Contains(got, s) {
			t.Errorf("scrub left %q in %q", s, got)
		}
	}
	if !strings.HasPrefix(got, "failed to send discord notification: sending POST request to …") {
		t.Errorf("scrub = %q", got)
	}
}

// The generic JSON webhook posts {"text": ...}; a 500 is tried again, a
// 404 is not, and neither error holds the URL's path or query.
func TestWebhook(t *testing.T) {
	srv := newRecorder(t, "", 500, 200)
	var waits []time.Duration
	res := Send(context.Background(), core.Secret(srv.URL+"/hook/s3cret?key=k3y"), Message{Subject: "s", Body: "b"}, Options{Sleep: waitsRecorder(&waits)})
	got := srv.requests()
	if res.Err != nil || res.Tries != 2 || len(got) != 2 || got[1].Body != `{"text":"s\n\nb"}` || got[1].Header.Get("Content-Type") != "application/json" {
		t.Errorf("Send = %+v, requests %+v", res, got)
	}
	srv = newRecorder(t, "", 404)
	res = Send(context.Background(), core.Secret(srv.URL+"/hook/s3cret?key=k3y"), Message{Subject: "s"}, Options{Sleep: noSleep(t)})
	want := "the webhook at " + srv.URL + "/… refused the message (404 Not Found); check its URL"
	if res.Err == nil || res.Err.Error() != want || res.Tries != 1 {
		t.Errorf("Send = %+v, want %q", res, want)
	}
}
