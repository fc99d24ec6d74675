package tui

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// TestServiceFormTargets sets a service's RPO and RTO targets in its form:
// what is not a duration is refused in one sentence under its field,
// nothing saved; good ones are saved and shown back; empty clears them.
func TestServiceFormTargets(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › production", "keep 24")
	press(tm, "E")
	view(t, tm, "Edit service production", "RPO target", "RTO target")
	// The targets are the last two fields: shift+tab wraps to them from
	// the database.
	press(tm, "shift+tab", "shift+tab", "2 hours", "enter")
	view(t, tm, `✗ RPO target "2 hours" is not a duration; give one like 30m, 2h or 1d`)
	press(tm, "ctrl+u", "2h", "tab", "-30m", "enter")
	view(t, tm, `✗ RTO target "-30m" is negative`)
	if s, err := cat.Service(ctx, "production"); err != nil || s.RPOTargetSeconds != 0 || s.RTOTargetSeconds != 0 {
		t.Fatalf("a refused form changed the targets: %+v, %v", s, err)
	}
	press(tm, "ctrl+u", "30m", "enter")
	view(t, tm, "✓ service production saved", "✓ RPO 29m (target 2h)")
	s, err := cat.Service(ctx, "production")
	if err != nil || s.RPOTargetSeconds != 7200 || s.RTOTargetSeconds != 1800 {
		t.Fatalf("the catalog has RPO %d s and RTO %d s (%v), want 7200 and 1800", s.RPOTargetSeconds, s.RTOTargetSeconds, err)
	}
	// Shown back as typed; emptied, they are none again.
	press(tm, "E")
	view(t, tm, "Edit service production", "RPO target     2h", "RTO target     30m")
	press(tm, "shift+tab", "shift+tab", "ctrl+u", "tab", "ctrl+u", "enter")
	view(t, tm, "✓ service production saved", "RPO 29m · RTO not measured yet")
	if s, err := cat.Service(ctx, "production"); err != nil || s.RPOTargetSeconds != 0 || s.RTOTargetSeconds != 0 {
		t.Fatalf("emptied targets are still set: %+v, %v", s, err)
	}
	quit(t, tm)
}

// TestDestinationFormKeyNote: an encrypting destination says where its
// key is kept; the field shows only when the destination encrypts, and
// refuses the key itself.
func TestDestinationFormKeyNote(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	tm, v := openAddDestination(t, cat)
	noView(t, v, "Key kept at")
	dir := filepath.Join(t.TempDir(), "vault")
	// Fields: name, kind, directory, encryption; a passphrase twice, then
	// where its key is kept.
	press(tm, "vault", "tab", "tab", dir, "tab", "right", "right", "right")
	view(t, tm, "‹ passphrase ›", "Key kept at")
	press(tm, "tab", "pass-phrase", "tab", "pass-phrase", "tab", "AGE-SECRET-KEY-1QQQ", "enter")
	view(t, tm, "✗ this field says where the key is kept, not the key itself")
	if _, err := cat.Destination(ctx, "vault"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a refused form saved vault (err %v)", err)
	}
	press(tm, "ctrl+u", "ops vault, entry odoo/vault", "enter")
	view(t, tm, "✓ destination vault added")
	d, err := cat.Destination(ctx, "vault")
	if err != nil || d.Encrypt.KeyNote != "ops vault, entry odoo/vault" {
		t.Fatalf("vault's key note is %q (%v), want the place typed", d.Encrypt.KeyNote, err)
	}
	// The destination's details say it (rows: local, s3-eu, vault), once
	// the list has been read again with vault in it.
	view(t, tm, "pool   passphrase")
	press(tm, "G")
	view(t, tm, "key kept at ops vault, entry odoo/vault")
	quit(t, tm)
}

// TestServiceFormAt80x24: with its two target fields and an error under a
// field, the service form still fits the smallest terminal: it shows the
// fields around the focused one.
func TestServiceFormAt80x24(t *testing.T) {
	tm := startSized(t, Options{Catalog: seed(t)}, 80, 24)
	view(t, tm, "production")
	press(tm, "a")
	view(t, tm, "Add a service", "Template")
	press(tm, "bad name", "enter")
	v := view(t, tm, `✗ service name "bad name" is not allowed`)
	checkFits(t, v, 80, 24)
	press(tm, "shift+tab")
	v = view(t, tm, "RTO target")
	checkFits(t, v, 80, 24)
	quit(t, tm)
}
