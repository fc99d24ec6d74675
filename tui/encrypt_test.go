package tui

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	agelib "filippo.io/age"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// vaultRecipient is a fixed age recipient, so the goldens do not change.
const vaultRecipient = "age15trp0z5jp4l6xsa2fptene3nk42xkry5vjt3etf4m2qgj3ecmgqq9na5a3"

// seedEncrypted is seed with two encrypting destinations: crypt (a key
// file on this host) holding one good and one rotated backup, and sealed
// (a passphrase).
func seedEncrypted(t *testing.T) *store.Catalog {
	t.Helper()
	cat := seed(t)
	ctx := context.Background()
	for _, d := range []core.Destination{
		{Name: "crypt", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/var/backups/crypt"}, Encrypt: core.EncryptionSettings{Recipient: vaultRecipient, KeyFile: "/etc/odoo-backup/crypt.key"}},
		{Name: "sealed", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/var/backups/sealed"}, Encrypt: core.EncryptionSettings{Passphrase: "correct horse battery staple"}},
	} {
		if err := cat.AddDestination(ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	for name, dir := range map[string]string{"local": "/var/backups/odoo", "s3-eu": "/mnt/offsite/odoo"} {
		d, err := cat.Destination(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		d.Local.Dir = dir
		if err := cat.UpdateDestination(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.SetConfiguration(ctx, core.Configuration{Service: "staging", Destination: "crypt", Frequency: core.Manual}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []core.BackupStatus{core.StatusSucceeded, core.StatusRotated, core.StatusFailed} {
		b := core.Backup{Service: "staging", Destination: "crypt", Kind: core.KindManual, StartedAt: clock.Add(-time.Hour)}
		if err := cat.CreateBackup(ctx, &b); err != nil {
			t.Fatal(err)
		}
		b.Status, b.Encryption = st, "age:"+vaultRecipient
		if err := cat.UpdateBackup(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	return cat
}

// TestDestinationsEncryption lists encrypted and plain destinations with
// their encryption and SSE, and shows the selected one's settings, the
// backups it holds and, when it encrypts, the lost-key warning; never a
// secret.
func TestDestinationsEncryption(t *testing.T) {
	tm := start(t, Options{Catalog: seedEncrypted(t)})
	view(t, tm, "production")
	press(tm, "2")
	// Rows: crypt, local, s3-eu, sealed.
	v := view(t, tm, "age → age15trp0z…", "passphrase", "backups     1 succeeded")
	t.Run("encrypted", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	if !strings.Contains(flat(v), "Backups here are encrypted: a lost key means lost backups. Keep a copy of /etc/odoo-backup/crypt.key away from this host.") {
		t.Errorf("the encrypted destination's warning is missing:\n%s", v)
	}
	press(tm, "down")
	v = view(t, tm, "encryption  none: archives are stored as they are", "backups     1 succeeded")
	t.Run("plain", func(t *testing.T) { golden.RequireEqual(t, []byte(v)) })
	noView(t, v, "a lost key")
	press(tm, "G")
	v = view(t, tm, "age with a passphrase", "Keep a copy of the passphrase away from this host.", "backups     0 succeeded")
	noView(t, v, "correct horse")
	quit(t, tm)
}

// TestDestinationFormEncryption goes through each encryption choice of the
// destination form, with what each refuses: no key file, a key file other
// users can read, a bad recipient, passphrases that differ. Then it adds a
// destination encrypted with a passphrase and edits it.
func TestDestinationFormEncryption(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	tmp := t.TempDir()
	loose := filepath.Join(tmp, "loose.key")
	if _, err := core.GenerateIdentityFile(loose); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production")
	press(tm, "2")
	view(t, tm, "odoo-backup › Destinations")
	// An S3 destination offers server-side encryption and a CA file.
	press(tm, "a")
	view(t, tm, "Add a destination")
	press(tm, "offsite", "tab", "right")
	for range 7 {
		press(tm, "tab")
	}
	press(tm, "tab", "right", "right")
	snapFlat(t, tm, "s3", "offsite", "‹ SSE-KMS ›", "KMS key", "CA file")
	press(tm, "esc")

	press(tm, "a")
	view(t, tm, "Add a destination")
	// Fields: name, kind, directory, encryption, then the choice's own.
	press(tm, "vault", "tab", "tab", "/nonexistent/odoo-vault", "tab", "right")
	view(t, tm, "‹ key file ›", "Backups here are encrypted: a lost key means lost backups. Keep a copy of the key file away from this host.")
	press(tm, "enter")
	snapFlat(t, tm, "key file missing", "✗ give the age identity file that decrypts the backups")

	press(tm, loose, "enter")
	// The path is long: the sentence wraps inside it.
	v := view(t, tm, "✗ the key file", "can be read by other users (mode 0644), so it was not used; restrict it with: chmod 600")
	if !strings.Contains(flat(v), "Keep a copy of "+loose+" away from this host.") {
		t.Errorf("the warning does not name the key file typed:\n%s", v)
	}

	press(tm, "shift+tab", "right", "tab", "age1notakey", "enter")
	snapFlat(t, tm, "bad recipient", `✗ "age1notakey" is not a valid age recipient`)

	press(tm, "shift+tab", "right", "tab", "secret-one", "tab", "secret-two", "enter")
	snapFlat(t, tm, "passphrases differ", "✗ the two passphrases differ; type the same")
	noView(t, snapshot(t, tm), "secret-one", "secret-two")
	if _, err := cat.Destination(ctx, "vault"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a refused form saved vault (err %v)", err)
	}

	dir := filepath.Join(tmp, "vault")
	press(tm, "ctrl+u", "secret-one", "shift+tab", "shift+tab", "shift+tab", "ctrl+u", dir, "enter")
	view(t, tm, "✓ destination vault added (local "+dir+")")
	d, err := cat.Destination(ctx, "vault")
	if err != nil {
		t.Fatal(err)
	}
	if d.Encrypt.Passphrase.Reveal() != "secret-one" || d.Encrypt.Recipient != "" || d.Encrypt.KeyFile != "" {
		t.Fatalf("vault is %+v (passphrase ok: %v), want encrypted with secret-one only", d, d.Encrypt.Passphrase.Reveal() == "secret-one")
	}
	view(t, tm, "vault            local") // the list reloaded
	press(tm, "G")                        // rows: local, s3-eu, vault
	view(t, tm, "age with a passphrase", "Keep a copy of the passphrase away from this host.")

	// Editing keeps the passphrase unless one is typed; changing the
	// encryption says it applies to new backups only.
	press(tm, "e")
	view(t, tm, "Edit destination vault", "‹ passphrase ›", "(unchanged)")
	press(tm, "tab", "right") // directory, then encryption: none
	view(t, tm, "▸ Encryption     ‹ none ›", "Changed encryption applies to new backups only; those stored keep theirs.")
	press(tm, "left", "enter")
	view(t, tm, "✓ destination vault saved")
	if d, _ := cat.Destination(ctx, "vault"); d.Encrypt.Passphrase.Reveal() != "secret-one" {
		t.Fatal("saving the edit without typing a passphrase lost it")
	}

	quit(t, tm)
	out, err := io.ReadAll(tm.FinalOutput(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"secret-one", "secret-two"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the passphrase %q was drawn on the terminal", secret)
		}
	}
}

// TestRealEncryptedBackupAndDownload adds a local destination encrypted to
// a key file through the form, backs production up to it and downloads the
// backup through the console, with the real engine: the stored archive is
// an age file, the download is the plain zip, and an existing file is
// refused.
func TestRealEncryptedBackupAndDownload(t *testing.T) {
	e := newRealEnv(t)
	keyFile := filepath.Join(e.dir, "vault.key")
	recipient, err := core.GenerateIdentityFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, "vault")
	tm := e.start()
	view(t, tm, "production", "staging")
	press(tm, "2", "a")
	view(t, tm, "Add a destination")
	press(tm, "vault", "tab", "tab", dir, "tab", "right", "tab", keyFile, "enter")
	slowView(t, tm, "✓ destination vault added")
	d, err := e.cat.Destination(e.ctx, "vault")
	if err != nil {
		t.Fatal(err)
	}
	if d.Encrypt.Recipient != recipient || d.Encrypt.KeyFile != keyFile {
		t.Fatalf("vault encrypts to %q with %q, want %q with %q", d.Encrypt.Recipient, d.Encrypt.KeyFile, recipient, keyFile)
	}
	// One archive per backup, so the download is that archive decrypted
	// (an encrypted pool's download is tested in core).
	d.Layout = core.LayoutZip
	if err := e.cat.UpdateDestination(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "production", Destination: "vault", Frequency: core.Manual, Primary: true}); err != nil {
		t.Fatal(err)
	}

	press(tm, "1")
	view(t, tm, "Services")
	press(tm, "g", "enter")
	view(t, tm, "odoo-backup › production")
	press(tm, "b")
	view(t, tm, "Back up production now", "[x] ★ vault")
	press(tm, "enter")
	slowView(t, tm, "backup of production succeeded: vault")
	bs, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "production", Destination: "vault"})
	if err != nil || len(bs) != 1 || bs[0].Status != core.StatusSucceeded {
		t.Fatalf("backups of production on vault: %+v, %v; want one succeeded", bs, err)
	}
	b := bs[0]
	if b.Encryption != "age:"+recipient {
		t.Errorf("the backup's encryption is %q, want age:%s", b.Encryption, recipient)
	}
	stored, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(b.Key)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(stored, []byte("age-encryption.org/v1\n")) {
		t.Fatalf("the stored archive is not an age file: starts with %q", stored[:min(len(stored), 24)])
	}

	// From the details: a file that exists is refused and left alone.
	press(tm, "tab")
	// The history reloads after the job: wait for the row to be finished.
	view(t, tm, "[History 2]")
	waitGone(t, tm, "◐")
	press(tm, "g", "enter")
	view(t, tm, fmt.Sprintf("Backup %d", b.ID), "encrypted (age:"+recipient+")")
	press(tm, "D")
	frame := view(t, tm, fmt.Sprintf("Download backup %d", b.ID), fmt.Sprintf("./production_%d.zip", b.ID))
	// This host keeps vault's key: no identity file is asked for.
	noView(t, frame, "Identity file")
	existing := filepath.Join(e.dir, "taken.zip")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	press(tm, "ctrl+u", existing, "enter")
	view(t, tm, "✗ "+existing+" already exists; choose another file name or remove it first")
	if got, _ := os.ReadFile(existing); string(got) != "keep me" {
		t.Fatalf("the existing file was changed: %q", got)
	}

	out := filepath.Join(e.dir, "download", "production.zip")
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		t.Fatal(err)
	}
	press(tm, "ctrl+u", out, "enter")
	slowView(t, tm, "✓ download", "esc close")
	view(t, tm, fmt.Sprintf("✓ backup %d downloaded to %s", b.ID, out), "checksum verified, decrypted")
	press(tm, "esc")

	// A backup encrypted to a recipient whose identity is kept elsewhere:
	// the dialog asks for its identity file and refuses to go on without.
	_, ob := e.backupToLocal("offhost", vaultRecipient)
	press(tm, "esc")
	view(t, tm, "Services")
	press(tm, "g", "enter")
	view(t, tm, "odoo-backup › production")
	press(tm, "tab")
	view(t, tm, "[History 3]")
	press(tm, "g", "D")
	view(t, tm, fmt.Sprintf("Download backup %d", ob.ID), "Identity file [")
	out2 := filepath.Join(e.dir, "download", "offhost.zip")
	press(tm, "ctrl+u", out2, "enter")
	view(t, tm, "✗ give the age identity file of "+vaultRecipient)
	if _, err := os.Stat(out2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused download left %s (err %v)", out2, err)
	}
	press(tm, "esc")
	quit(t, tm)

	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	plain := decrypted(t, stored, keyFile)
	if !bytes.Equal(got, plain) {
		t.Fatalf("the download (%d bytes) is not the decrypted archive (%d bytes)", len(got), len(plain))
	}
	z, err := zip.NewReader(bytes.NewReader(got), int64(len(got)))
	if err != nil {
		t.Fatalf("the download is not a zip: %v", err)
	}
	names := map[string]bool{}
	for _, f := range z.File {
		names[f.Name] = true
	}
	if !names["dump.sql"] || !names["manifest.json"] {
		t.Errorf("the downloaded zip lacks dump.sql or manifest.json: %d entries", len(z.File))
	}
}

// snapFlat is snap for text that may wrap: it waits with view.
func snapFlat(t *testing.T, tm *teatest.TestModel, name string, want ...string) {
	t.Helper()
	frame := view(t, tm, want...)
	t.Run(name, func(t *testing.T) { golden.RequireEqual(t, []byte(frame)) })
}

// downloadEngine records downloads and writes what the engine would.
type downloadEngine struct {
	*fakeEngine
	outs []string
}

func (f *downloadEngine) Download(_ context.Context, req core.DownloadRequest) (core.Backup, error) {
	id, out, progress := req.BackupID, req.Path, req.Progress
	f.outs = append(f.outs, out)
	progress(core.Progress{Phase: core.PhaseDownload, Bytes: 5, Total: 5})
	if err := os.WriteFile(out, []byte("PK..."), 0o600); err != nil {
		return core.Backup{}, err
	}
	return f.cat.Backup(context.Background(), id)
}

// TestReadOnlyDownload: a read-only console downloads (it changes nothing
// in the catalog), and its help says so.
func TestReadOnlyDownload(t *testing.T) {
	cat := seed(t)
	eng := &downloadEngine{fakeEngine: &fakeEngine{cat: cat}}
	tm := start(t, Options{Catalog: cat, Engine: eng, ReadOnly: true})
	if h := NewKeyMap(true).Download.Help().Desc; h != "download to a file (allowed read-only)" {
		t.Errorf("read-only help of D is %q; it must say download is allowed", h)
	}
	openHistory(t, tm)
	press(tm, "D")
	view(t, tm, "Download backup 3", "./production_3.zip")
	out := filepath.Join(t.TempDir(), "p.zip")
	press(tm, "ctrl+u", out, "enter")
	view(t, tm, "✓ backup 3 downloaded to "+out, "checksum verified")
	quit(t, tm)
	if len(eng.outs) != 1 || eng.outs[0] != out {
		t.Errorf("downloads %v, want one to %s", eng.outs, out)
	}
}

// decrypted is stored (an age file) decrypted with the identity in keyFile.
func decrypted(t *testing.T, stored []byte, keyFile string) []byte {
	t.Helper()
	ids, err := core.ReadIdentityFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	r, err := agelib.Decrypt(bytes.NewReader(stored), ids...)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}
