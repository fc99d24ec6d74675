package tui

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// TestRealOffHostIdentity backs production up to a destination that
// encrypts to a recipient whose identity is not kept on this host, then,
// with the real engine, downloads, verifies and restores it through the
// console with the identity file typed in the field. A foreign identity or
// a file other users can read is refused inline, and nothing is written,
// restored or backed up.
func TestRealOffHostIdentity(t *testing.T) {
	e := newRealEnv(t)
	keyFile, otherKey, loose := filepath.Join(e.dir, "offhost.key"), filepath.Join(e.dir, "other.key"), filepath.Join(e.dir, "loose.key")
	recipient, err := core.GenerateIdentityFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.GenerateIdentityFile(otherKey); err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loose, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	off, b := e.backupToLocal("offhost", recipient)
	if b.Encryption != "age:"+recipient {
		t.Fatalf("the backup's encryption is %q, want age:%s", b.Encryption, recipient)
	}

	// Without the identity the engine refuses; the console says it in its
	// own words.
	_, err = e.eng.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID})
	if msg := errorText(err); strings.Contains(msg, "--identity") || !strings.HasSuffix(msg, "give the age identity file of "+recipient+" in the Identity file field") {
		t.Errorf("the engine's refusal reads, in the console: %q", msg)
	}

	source, stagingBefore := e.print(e.prod), e.print(e.stg)
	tm := e.start()
	view(t, tm, "production", "staging")
	press(tm, "enter")
	view(t, tm, "odoo-backup › production")
	press(tm, "tab")
	view(t, tm, "[History 2]", "offhost")
	press(tm, "g")

	// Download.
	press(tm, "D")
	view(t, tm, fmt.Sprintf("Download backup %d", b.ID), "Identity file [")
	out := filepath.Join(e.dir, "download", "offhost.zip")
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		t.Fatal(err)
	}
	press(tm, "ctrl+u", out, "tab", otherKey, "enter")
	view(t, tm, otherKey+" holds the identity of", "not of "+recipient+", so nothing was read; give the age identity file of "+recipient)
	press(tm, "ctrl+u", loose, "enter")
	view(t, tm, "the key file "+loose+" can be read by other users (mode 0644)")
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused download wrote %s (err %v)", out, err)
	}
	press(tm, "ctrl+u", keyFile, "enter")
	slowView(t, tm, "✓ download", "esc close")
	view(t, tm, fmt.Sprintf("✓ backup %d downloaded to %s", b.ID, out), "checksum verified, decrypted")
	press(tm, "esc")
	stored, err := os.ReadFile(filepath.Join(off.Local.Dir, filepath.FromSlash(b.Key)))
	if err != nil {
		t.Fatal(err)
	}
	plain := decrypted(t, stored, keyFile)
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("the download (%d bytes, %v) is not the decrypted archive (%d bytes)", len(got), err, len(plain))
	}

	// Verify.
	press(tm, "v")
	view(t, tm, fmt.Sprintf("Verify backup %d", b.ID), "Identity file [")
	press(tm, otherKey, "enter")
	view(t, tm, otherKey+" holds the identity of")
	press(tm, "ctrl+u", keyFile, "enter")
	slowView(t, tm, "✓ verify", "esc close")
	view(t, tm, fmt.Sprintf("✓ backup %d is sound", b.ID))
	press(tm, "esc")

	// Restore onto staging.
	press(tm, "r")
	view(t, tm, "Restore onto", "step 1 of 6: target")
	press(tm, "down", "enter")
	view(t, tm, "step 2 of 6: key", "onto     staging")
	press(tm, otherKey, "enter")
	view(t, tm, otherKey+" holds the identity of")
	press(tm, "ctrl+u", loose, "enter")
	view(t, tm, "can be read by other users (mode 0644)")
	if diff := stagingBefore.Diff(e.print(e.stg)); len(diff) > 0 {
		t.Fatalf("staging changed after a refused identity file:\n%s", strings.Join(diff, "\n"))
	}
	if bs := e.stagingBackups(""); len(bs) != 0 {
		t.Fatalf("staging has backups after a refused identity file: %+v", bs)
	}
	press(tm, "ctrl+u", keyFile, "enter")
	view(t, tm, "step 3 of 6: options", "▸ [x] neutralize")
	press(tm, "enter")
	view(t, tm, "step 4 of 6: summary")
	press(tm, "enter", "staging", "enter")
	slowView(t, tm, fmt.Sprintf("✓ Backup %d restored onto staging", b.ID), "✓ swap")
	quit(t, tm)
	if diff := withoutNeutralized(source).Diff(withoutNeutralized(e.print(e.stg))); len(diff) > 0 {
		t.Errorf("staging differs from production beyond neutralization:\n%s", strings.Join(diff, "\n"))
	}
	if safety := e.stagingBackups(core.KindSafety); len(safety) != 1 || safety[0].Status != core.StatusSucceeded {
		t.Errorf("safety backups of staging: %+v, want one succeeded", safety)
	}
}
