package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/notifier"
	"github.com/odoo-backup/odoo-backup/core/notify"
	"github.com/odoo-backup/odoo-backup/store"
)

// webhookServer answers each attempt with the next of answers: a status
// code, or 0 to hang until the client gives up (a timeout).
type webhookServer struct {
	mu      sync.Mutex
	answers []int
	got     []string
}

func (w *webhookServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var body struct{ Text string }
	json.NewDecoder(r.Body).Decode(&body)
	w.mu.Lock()
	w.got = append(w.got, body.Text)
	answer := w.answers[min(len(w.got), len(w.answers))-1]
	w.mu.Unlock()
	if answer == 0 {
		<-r.Context().Done()
		return
	}
	rw.WriteHeader(answer)
}

func (w *webhookServer) attempts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// TestWebhookRetries: the daemon's --notify-webhook, a channel of the
// notifications, is tried again after a backoff when it times out or
// answers 5xx or 429, up to 3 attempts in all; a 4xx is not retried. The
// backoff is recorded, not slept, and so is each delivery, with its tries.
func TestWebhookRetries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []int
		tries   int
		ok      bool
		err     string
	}{
		{"timeout, then 503, then delivered", []int{0, 503, 200}, 3, true, ""},
		{"429 is worth a retry", []int{429, 204}, 2, true, ""},
		{"5xx every time: gives up after the last try", []int{500}, 3, false, "answered 500 Internal Server Error"},
		{"4xx is not retried", []int{404}, 1, false, "refused the message (404 Not Found)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &webhookServer{answers: tc.answers}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			cat, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "catalog.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer cat.Close()
			var logged bytes.Buffer
			var waits []time.Duration
			a := &app{cat: cat, daemonFlags: daemonFlags{notifyWebhook: ts.URL, notifyTimeout: 200 * time.Millisecond}}
			if _, err := a.notifyWatcher(slog.New(slog.NewTextHandler(&logged, nil))); err != nil {
				t.Fatal(err)
			}
			w := notifier.New(notifier.Options{Catalog: cat, Log: slog.New(slog.NewTextHandler(&logged, nil)),
				Delivery: notify.Options{Timeout: 200 * time.Millisecond, Sleep: func(_ context.Context, d time.Duration) { waits = append(waits, d) }}})
			d := w.Test(t.Context(), webhookChannel(ts.URL+"/hooks/secret-token"))
			if (d.Status == core.DeliverySent) != tc.ok || d.Tries != tc.tries || !strings.Contains(d.Error, tc.err) {
				t.Errorf("delivery %+v, want ok=%v after %d tries, error with %q", d, tc.ok, tc.tries, tc.err)
			}
			got := srv.attempts()
			if len(got) != tc.tries {
				t.Errorf("%d attempts, want %d", len(got), tc.tries)
			}
			for _, text := range got {
				if !strings.Contains(text, "test message to channel notify-webhook") {
					t.Errorf("attempt carried %q", text)
				}
			}
			want := []time.Duration{2 * time.Second, 4 * time.Second}[:tc.tries-1]
			if !slices.Equal(waits, want) {
				t.Errorf("waited %v, want %v", waits, want)
			}
			ds, err := cat.Deliveries(t.Context(), 0)
			if err != nil || len(ds) != 1 || ds[0].Tries != tc.tries || ds[0].Channel != "notify-webhook" {
				t.Errorf("recorded %+v (%v), want the delivery with its %d tries", ds, err, tc.tries)
			}
			if strings.Contains(logged.String()+d.Error, "secret-token") {
				t.Errorf("the log names the webhook's URL: %s", logged.String())
			}
		})
	}
}

// A --notify-webhook that is no URL, or a --notify-timeout of nothing, is
// wrong usage.
func TestNotifyWebhookBadInput(t *testing.T) {
	for _, f := range []daemonFlags{{notifyWebhook: "no url here", notifyTimeout: time.Second}, {notifyTimeout: 0}} {
		a := &app{daemonFlags: f}
		_, err := a.notifyWatcher(slog.New(slog.DiscardHandler))
		if !isUsage(err) {
			t.Errorf("flags %+v: %v, want wrong usage", f, err)
		}
	}
}
