package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// offSecret is the identity of offRecipient, fixed so the goldens do not
// change; it decrypts nothing but what these tests write.
const (
	offSecret    = "AGE-SECRET-KEY-1F6LHRNKMAPG4QYKLVWDXSXHMCTCY82TKFVC6A60EAZ4PXV0PW53Q2URC40"
	offRecipient = "age1vtk35vfktar9kp9prj0fykwjvymwrq07r9tvvrfqm6y63smzc5ps74r46c"
)

// seedOffHost is seed with a destination offhost that encrypts to
// offRecipient and keeps no key on this host, holding production's newest
// backup (5).
func seedOffHost(t *testing.T) (*store.Catalog, core.Backup) {
	t.Helper()
	cat := seed(t)
	ctx := context.Background()
	d := core.Destination{Name: "offhost", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}, Encrypt: core.EncryptionSettings{Recipient: offRecipient}}
	if err := cat.AddDestination(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if err := cat.SetConfiguration(ctx, core.Configuration{Service: "production", Destination: "offhost", Frequency: core.Manual}); err != nil {
		t.Fatal(err)
	}
	b := core.Backup{Service: "production", Destination: "offhost", Kind: core.KindManual, StartedAt: clock.Add(-10 * time.Minute)}
	if err := cat.CreateBackup(ctx, &b); err != nil {
		t.Fatal(err)
	}
	done := b.StartedAt.Add(40 * time.Second)
	b.Status, b.FinishedAt, b.Size, b.Format, b.Encryption = core.StatusSucceeded, &done, 52_000_000, core.FormatOdooZip, "age:"+offRecipient
	b.Key, b.SHA256 = "production/production-20261122-122000-manual.zip", strings.Repeat("5e", 32)
	if err := cat.UpdateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	return cat, b
}

// keyFiles writes the identity of offRecipient (right, and loose: readable
// by everyone) and another identity (other).
func keyFiles(t *testing.T) (right, loose, other string) {
	t.Helper()
	dir := t.TempDir()
	right, loose, other = filepath.Join(dir, "right.key"), filepath.Join(dir, "loose.key"), filepath.Join(dir, "other.key")
	for p, mode := range map[string]os.FileMode{right: 0o600, loose: 0o644} {
		if err := os.WriteFile(p, []byte(offSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := core.GenerateIdentityFile(other); err != nil {
		t.Fatal(err)
	}
	return right, loose, other
}

// keyEngine is flowEngine that also downloads, writing what the engine would.
type keyEngine struct {
	*flowEngine
	outs []string
}

func (f *keyEngine) Download(_ context.Context, req core.DownloadRequest) (core.Backup, error) {
	id, out, progress := req.BackupID, req.Path, req.Progress
	f.mu.Lock()
	f.outs = append(f.outs, out)
	f.mu.Unlock()
	progress(core.Progress{Phase: core.PhaseDownload, Bytes: 5, Total: 5})
	if err := os.WriteFile(out, []byte("PK..."), 0o600); err != nil {
		return core.Backup{}, err
	}
	return f.cat.Backup(context.Background(), id)
}

// openOffHostHistory opens production's history with the cursor on the
// offhost backup, its newest.
func openOffHostHistory(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	view(t, tm, "production")
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › production")
	press(tm, "tab")
	view(t, tm, "[History 4]", "offhost")
}

// TestRestoreAsksForTheIdentity: a backup whose key is not kept on this
// host gets a key step in the restore flow; an empty, missing, foreign or
// world-readable identity file is refused there, before anything runs, and
// the one given reaches the engine.
func TestRestoreAsksForTheIdentity(t *testing.T) {
	cat, b := seedOffHost(t)
	right, loose, other := keyFiles(t)
	eng := newFlowEngine(cat)
	close(eng.release)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	openOffHostHistory(t, tm)
	press(tm, "r")
	view(t, tm, "Restore onto", "step 1 of 6: target")
	press(tm, "enter")
	snap(t, tm, "key", "step 2 of 6: key", "Identity file [", "this host keeps no key for it")
	press(tm, "enter")
	snap(t, tm, "key-empty", "give the age identity file of "+offRecipient)
	press(tm, "/nonexistent/vault.key", "enter")
	snap(t, tm, "key-missing", "cannot read the key file /nonexistent/vault.key")
	clearField(tm)
	press(tm, other, "enter")
	view(t, tm, other+" holds the identity of", "not of "+offRecipient+", so nothing was read; give the age identity file of "+offRecipient)
	clearField(tm)
	press(tm, loose, "enter")
	view(t, tm, "the key file "+loose+" can be read by other users (mode 0644), so it was not used; restrict it with: chmod 600")
	eng.mu.Lock()
	if len(eng.restores)+len(eng.newDBs) != 0 {
		t.Fatalf("the engine was asked to restore before a good identity file was given: %+v %+v", eng.restores, eng.newDBs)
	}
	eng.mu.Unlock()
	clearField(tm)
	press(tm, right, "enter")
	view(t, tm, "step 3 of 6: options", "key      "+right)
	// esc goes back to the key step, which keeps what was typed.
	press(tm, "esc")
	view(t, tm, "step 2 of 6: key", right)
	press(tm, "enter")
	view(t, tm, "step 3 of 6: options")
	press(tm, "enter")
	view(t, tm, "step 4 of 6: summary")
	press(tm, "enter", "production", "enter")
	view(t, tm, fmt.Sprintf("✓ Backup %d restored onto production", b.ID))
	quit(t, tm)
	if len(eng.restores) != 1 || eng.restores[0].BackupID != b.ID || eng.restores[0].IdentityFile != right {
		t.Errorf("engine got %+v, want one restore of backup %d with identity %s", eng.restores, b.ID, right)
	}
}

// TestDownloadAndVerifyAskForTheIdentity: the download dialog of a backup
// whose key is not kept on this host has an identity file field; verify
// asks for it in a dialog of its own, from the history and the details.
func TestDownloadAndVerifyAskForTheIdentity(t *testing.T) {
	cat, b := seedOffHost(t)
	right, loose, _ := keyFiles(t)
	eng := &keyEngine{flowEngine: newFlowEngine(cat)}
	close(eng.release)
	tm := start80(t, Options{Catalog: cat, Engine: eng})
	openOffHostHistory(t, tm)

	press(tm, "v")
	snap(t, tm, "verify", fmt.Sprintf("Verify backup %d", b.ID), "Identity file [", "enter verify · esc cancel")
	press(tm, "enter")
	view(t, tm, "✗ give the age identity file of "+offRecipient)
	press(tm, right, "enter")
	view(t, tm, fmt.Sprintf("✓ backup %d is sound", b.ID))
	press(tm, "esc")

	press(tm, "D")
	snap(t, tm, "download", fmt.Sprintf("Download backup %d", b.ID), "▸ Save to       [./production_5.zip", "Identity file [")
	press(tm, "tab")
	view(t, tm, "▸ Identity file [")
	press(tm, "enter")
	snap(t, tm, "download-no-identity", "✗ give the age identity file of "+offRecipient)
	out := filepath.Join(t.TempDir(), "p.zip")
	press(tm, loose)
	press(tm, "shift+tab", "ctrl+u")
	press(tm, out, "enter")
	view(t, tm, "can be read by other users (mode 0644)", "▸ Identity file [")
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused download wrote %s (err %v)", out, err)
	}
	clearField(tm)
	press(tm, right, "enter")
	view(t, tm, fmt.Sprintf("✓ backup %d downloaded to %s", b.ID, out))
	press(tm, "esc")

	// From the details, v opens the same question.
	press(tm, "enter")
	view(t, tm, fmt.Sprintf("Backup %d", b.ID), "encrypted", "destination offhost")
	press(tm, "v")
	view(t, tm, fmt.Sprintf("Verify backup %d", b.ID), "Identity file [")
	press(tm, "esc")
	view(t, tm, "[History 4]")
	quit(t, tm)
	if len(eng.outs) != 1 || eng.outs[0] != out {
		t.Errorf("downloads %v, want one to %s", eng.outs, out)
	}
	if len(eng.verified) != 1 || eng.verified[0] != b.ID {
		t.Errorf("verified %v, want backup %d once", eng.verified, b.ID)
	}
}

// TestConsoleErrorSpeaksOfTheConsole: core says an identity file holds
// the wrong identity and advises giving the right one; the console phrases
// that as the field to fill in, never the command line's --identity flag.
func TestConsoleErrorSpeaksOfTheConsole(t *testing.T) {
	other := filepath.Join(t.TempDir(), "other.key")
	if _, err := core.GenerateIdentityFile(other); err != nil {
		t.Fatal(err)
	}
	_, err := checkIdentity(other, offRecipient)
	if !errors.Is(err, core.ErrAccessDenied) {
		t.Fatalf("checking another identity: got %v, want access denied", err)
	}
	msg := errorText(err)
	if strings.Contains(msg, "--identity") || strings.Contains(msg, "odoo-backup") ||
		!strings.HasSuffix(msg, "so nothing was read; give the age identity file of "+offRecipient+" in the Identity file field") {
		t.Errorf("the console says %q; want the identity file field named, and no command", msg)
	}
	if plain := errorText(errors.New("connection refused")); plain != "connection refused" {
		t.Errorf("an error without advice reads %q", plain)
	}
}
