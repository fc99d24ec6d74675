package tui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// The notifications screen (5): a channel is added with its URL typed as
// dots, bad events and digest times are refused under their field, the
// list shows where it goes but never its URL, an edit keeps the URL, t
// sends a real local webhook a test message, x removes it after asking.
// The configuration form sets a service's ping URL, masked too.
func TestNotificationsScreen(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()
	hook := srv.URL + "/hooks/console-token-7d2f"
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "5")
	view(t, tm, "Notifications", "No notification channel yet: press a to add one")

	press(tm, "a")
	view(t, tm, "Add a notification channel")
	press(tm, "ops", "tab", hook, "tab", "failure,sometimes", "enter")
	v := view(t, tm, `✗ "sometimes" is not an event a channel can be sent`)
	if strings.Contains(v, "console-token") {
		t.Fatalf("the form shows the URL typed:\n%s", v)
	}
	press(tm, "ctrl+u", "failure,recovery", "tab", "25:00", "enter")
	view(t, tm, `✗ the digest time "25:00" is not HH:MM`)
	press(tm, "ctrl+u", "08:00", "enter")
	v = view(t, tm, "✓ notification channel ops added", "failure,recovery", "08:00", srv.URL+"/…")
	if strings.Contains(v, "console-token") {
		t.Errorf("the list shows the URL:\n%s", v)
	}
	ch, err := cat.NotifyChannel(ctx, "ops")
	if err != nil || ch.URL.Reveal() != hook || ch.EventsText() != "failure,recovery" || ch.Digest != "08:00" {
		t.Fatalf("saved %+v (%v), want the URL typed, failure and recovery, 08:00", ch, err)
	}

	// Edited: the URL stays unless a new one is typed.
	press(tm, "e")
	view(t, tm, "Edit notification channel ops", "unchanged")
	press(tm, "tab", "tab", "ctrl+u", "enter")
	view(t, tm, "✓ notification channel ops saved")
	if ch, _ := cat.NotifyChannel(ctx, "ops"); ch.URL.Reveal() != hook || ch.Digest != "" {
		t.Errorf("after the edit %+v, want the same URL and no digest", ch)
	}

	// t: a test message, sent for real.
	press(tm, "t")
	view(t, tm, "✓ test message sent to channel ops")
	mu.Lock()
	if len(got) != 1 || got[0] != "/hooks/console-token-7d2f" {
		t.Errorf("the webhook got %q", got)
	}
	mu.Unlock()
	view(t, tm, "Sent lately", "ops sent: odoo-backup: test message to channel ops")

	press(tm, "x")
	view(t, tm, "Remove notification channel ops?")
	press(tm, "y")
	view(t, tm, "✓ notification channel ops removed", "No notification channel yet")
	if _, err := cat.NotifyChannel(ctx, "ops"); err == nil {
		t.Error("the channel is still in the catalog")
	}

	// The ping URL of production's configuration on s3-eu.
	press(tm, "1")
	view(t, tm, "production")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › production", "keep 24")
	press(tm, "e")
	view(t, tm, "Edit the configuration of service production on s3-eu", "Ping URL")
	press(tm, "tab", "tab", "tab", "tab", "ftp://nowhere", "enter")
	view(t, tm, "✗ the ping URL cannot be used")
	press(tm, "ctrl+u", "https://hc-ping.example.com/ping-token-91c0", "enter")
	view(t, tm, "✓ service production → s3-eu", "ping URL set")
	cfgs, err := cat.Configurations(ctx, "production")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfgs {
		if c.Destination == "s3-eu" && c.PingURL.Reveal() != "https://hc-ping.example.com/ping-token-91c0" {
			t.Errorf("the ping URL was not saved")
		}
	}
	press(tm, "e")
	v = view(t, tm, "Ping URL", "unchanged", "No ping")
	if strings.Contains(v, "ping-token") {
		t.Errorf("the form shows the ping URL:\n%s", v)
	}
	press(tm, "tab", "tab", "tab", "tab", "tab", "space", "enter")
	view(t, tm, "✓ service production → s3-eu", "ping URL removed")
	cfgs, _ = cat.Configurations(ctx, "production")
	for _, c := range cfgs {
		if c.Destination == "s3-eu" && c.PingURL.IsSet() {
			t.Errorf("No ping kept the ping URL")
		}
	}
}
