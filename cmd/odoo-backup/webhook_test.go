package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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

// TestWebhookRetries: a webhook that times out or answers 5xx is tried again
// after a backoff, up to webhookTries attempts in all; a 4xx is not retried.
// The backoff is recorded, not slept.
func TestWebhookRetries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []int
		tries   int
		ok      bool
		log     string
	}{
		{"timeout, then 503, then delivered", []int{0, 503, 200}, 3, true, "tries=3"},
		{"429 is worth a retry", []int{429, 204}, 2, true, "tries=2"},
		{"5xx every time: gives up after the last try", []int{500}, webhookTries, false, `msg="posting to the webhook failed" error="500 Internal Server Error"`},
		{"4xx is not retried", []int{404}, 1, false, `error="404 Not Found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &webhookServer{answers: tc.answers}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			var logged bytes.Buffer
			var waits []time.Duration
			n := &notifier{url: ts.URL, log: slog.New(slog.NewTextHandler(&logged, nil)), failed: map[string]bool{},
				client: &http.Client{Timeout: 200 * time.Millisecond},
				sleep:  func(d time.Duration) { waits = append(waits, d) }}
			err := n.post("odoo-backup: the scheduled backup of prod to s3 failed")
			if (err == nil) != tc.ok {
				t.Errorf("post: %v, want ok=%v", err, tc.ok)
			}
			got := srv.attempts()
			if len(got) != tc.tries {
				t.Errorf("%d attempts, want %d", len(got), tc.tries)
			}
			for _, text := range got {
				if text != "odoo-backup: the scheduled backup of prod to s3 failed" {
					t.Errorf("attempt carried %q", text)
				}
			}
			want := []time.Duration{2 * time.Second, 4 * time.Second}[:tc.tries-1]
			if !slices.Equal(waits, want) {
				t.Errorf("waited %v, want %v", waits, want)
			}
			if !strings.Contains(logged.String(), tc.log) {
				t.Errorf("log %q, want it to contain %q", logged.String(), tc.log)
			}
		})
	}
}
