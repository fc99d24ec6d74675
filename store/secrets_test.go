package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

const (
	testSecretKey  = "S3cr3t-K3y-f0r-the-st0re-tests"
	testPassphrase = "passphrase-of-the-store-tests"
	testPassword   = "pg-password-of-the-store-tests"
)

func addSecretDestination(t testing.TB, c *Catalog, name string) core.Destination {
	t.Helper()
	d := core.Destination{
		Name:    name,
		Kind:    core.DestinationS3,
		S3:      core.S3Settings{Endpoint: "s3.example.com:443", Bucket: "b", AccessKey: "AKIATEST", SecretKey: testSecretKey},
		Encrypt: core.EncryptionSettings{Passphrase: testPassphrase},
	}
	must(t, c.AddDestination(context.Background(), &d))
	return d
}

func addSecretService(t testing.TB, c *Catalog, name string) core.Service {
	t.Helper()
	s := core.Service{Name: name, DB: core.DBConn{Host: "db", Port: 5432, User: "odoo", Password: testPassword, Database: name}}
	must(t, c.AddService(context.Background(), &s, ""))
	return s
}

// catalogBytes is everything SQLite keeps of the catalog on disk.
func catalogBytes(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal", path + "-journal"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		must(t, err)
		all = append(all, b...)
	}
	return all
}

func assertNoPlainSecrets(t *testing.T, raw []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s))} {
			if bytes.Contains(raw, []byte(form)) {
				t.Errorf("the catalog files hold the secret %q in clear (as %q)", s, form)
			}
		}
	}
}

func storedColumn(t *testing.T, c *Catalog, query string, args ...any) string {
	t.Helper()
	var v string
	must(t, c.db.QueryRow(query, args...).Scan(&v))
	return v
}

func TestSecretsAreEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(ctx, path)
	must(t, err)
	defer c.Close()
	if _, err := os.Stat(KeyPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file exists before any secret was stored (stat: %v); it must be created on first need", err)
	}
	addSecretDestination(t, c, "s3")
	addSecretService(t, c, "prod")

	for _, col := range []struct{ query, name string }{
		{`SELECT secret_key FROM destinations WHERE name = 's3'`, "secret key"},
		{`SELECT encrypt_passphrase FROM destinations WHERE name = 's3'`, "passphrase"},
		{`SELECT db_password FROM services WHERE name = 'prod'`, "password"},
	} {
		if v := storedColumn(t, c, col.query); !strings.HasPrefix(v, encPrefix) {
			t.Errorf("the %s is stored as %q, want it encrypted (%s...)", col.name, v, encPrefix)
		}
	}
	d, err := c.Destination(ctx, "s3")
	must(t, err)
	if d.S3.SecretKey.Reveal() != testSecretKey || d.Encrypt.Passphrase.Reveal() != testPassphrase {
		t.Errorf("secrets read back wrong: secret key ok=%v, passphrase ok=%v", d.S3.SecretKey.Reveal() == testSecretKey, d.Encrypt.Passphrase.Reveal() == testPassphrase)
	}
	s, err := c.Service(ctx, "prod")
	must(t, err)
	if s.DB.Password.Reveal() != testPassword {
		t.Error("the PostgreSQL password read back wrong")
	}

	fi, err := os.Stat(c.KeyFile())
	must(t, err)
	if fi.Mode().Perm() != 0o600 || fi.Size() != keySize {
		t.Errorf("key file: mode %o size %d, want 600 and %d", fi.Mode().Perm(), fi.Size(), keySize)
	}
	if c.KeyFile() != filepath.Join(filepath.Dir(path), "catalog.key") {
		t.Errorf("key file is %s, want catalog.key beside the catalog", c.KeyFile())
	}
	// An update re-encrypts, with a fresh nonce.
	before := storedColumn(t, c, `SELECT secret_key FROM destinations WHERE name = 's3'`)
	must(t, c.UpdateDestination(ctx, d))
	if after := storedColumn(t, c, `SELECT secret_key FROM destinations WHERE name = 's3'`); after == before || !strings.HasPrefix(after, encPrefix) {
		t.Errorf("update stored %q after %q, want a new ciphertext", after, before)
	}
	assertNoPlainSecrets(t, catalogBytes(t, path), testSecretKey, testPassphrase, testPassword)
}

// A ciphertext is bound to its column: copied into another, it does not
// decrypt, so one secret cannot be passed off as another.
func TestCiphertextIsBoundToItsColumn(t *testing.T) {
	c := openTest(t)
	addSecretDestination(t, c, "s3")
	addSecretService(t, c, "prod")
	must(t, exec(t, c.db, `UPDATE services SET db_password = (SELECT secret_key FROM destinations WHERE name = 's3')`))
	s, err := c.Service(context.Background(), "prod")
	must(t, err)
	if _, err := s.DB.Password.Resolve("the password"); err == nil || !strings.Contains(err.Error(), "not the key it was stored with") {
		t.Errorf("a secret key moved into the password column resolved (err %v), want it refused", err)
	}
}

func TestSecretReferencesAreStoredAsReferences(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	ref, err := core.SecretRef("env:ODOO_BACKUP_STORE_TEST_SECRET")
	must(t, err)
	fileRef, err := core.SecretRef("file:/etc/odoo-backup/pg.pass")
	must(t, err)
	d := core.Destination{Name: "s3", Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: "e:9000", Bucket: "b", SecretKey: ref}}
	must(t, c.AddDestination(ctx, &d))
	s := core.Service{Name: "prod", DB: core.DBConn{Host: "db", Port: 5432, User: "odoo", Password: fileRef, Database: "prod"}}
	must(t, c.AddService(ctx, &s, ""))

	if v := storedColumn(t, c, `SELECT secret_key FROM destinations`); v != "ref1:env:ODOO_BACKUP_STORE_TEST_SECRET" {
		t.Errorf("reference stored as %q", v)
	}
	if _, err := os.Stat(c.KeyFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("storing references only created a key file (stat: %v); nothing needed encrypting", err)
	}
	got, err := c.Destination(ctx, "s3")
	must(t, err)
	if got.S3.SecretKey.Ref() != "env:ODOO_BACKUP_STORE_TEST_SECRET" {
		t.Errorf("read back reference %q", got.S3.SecretKey.Ref())
	}
	gs, err := c.Service(ctx, "prod")
	must(t, err)
	if gs.DB.Password.Ref() != "file:/etc/odoo-backup/pg.pass" {
		t.Errorf("read back reference %q", gs.DB.Password.Ref())
	}
	t.Setenv("ODOO_BACKUP_STORE_TEST_SECRET", "from-the-environment")
	v, err := got.S3.SecretKey.Resolve("the secret key")
	must(t, err)
	if v.Reveal() != "from-the-environment" {
		t.Errorf("resolved %q", v.Reveal())
	}
}

// An older odoo-backup stored secrets in plain text: opening the catalog
// encrypts them, and no copy of the plain text stays in the files.
func TestPlaintextSecretsOfOlderCatalogAreEncryptedOnOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(ctx, path)
	must(t, err)
	addLocal(t, c, "local")
	addService(t, c, "prod")
	must(t, exec(t, c.db, `INSERT INTO destinations (name, kind, endpoint, bucket, secret_key, encrypt_passphrase, created_at)
		VALUES ('s3', 's3', 'e:9000', 'b', ?, ?, 1)`, testSecretKey, testPassphrase))
	must(t, exec(t, c.db, `UPDATE services SET db_password = ? WHERE name = 'prod'`, testPassword))
	// Still readable before the upgrade runs.
	d, err := c.Destination(ctx, "s3")
	must(t, err)
	if d.S3.SecretKey.Reveal() != testSecretKey {
		t.Fatal("a plain-text secret of an older catalog does not read")
	}
	must(t, c.Close())

	c, err = Open(ctx, path)
	must(t, err)
	defer c.Close()
	for _, q := range []string{`SELECT secret_key FROM destinations WHERE name = 's3'`, `SELECT encrypt_passphrase FROM destinations WHERE name = 's3'`, `SELECT db_password FROM services`} {
		if v := storedColumn(t, c, q); !strings.HasPrefix(v, encPrefix) {
			t.Errorf("%s: still %q after reopening, want it encrypted", q, v)
		}
	}
	if v := storedColumn(t, c, `SELECT secret_key FROM destinations WHERE name = 'local'`); v != "" {
		t.Errorf("an empty secret became %q", v)
	}
	d, err = c.Destination(ctx, "s3")
	must(t, err)
	s, err := c.Service(ctx, "prod")
	must(t, err)
	if d.S3.SecretKey.Reveal() != testSecretKey || d.Encrypt.Passphrase.Reveal() != testPassphrase || s.DB.Password.Reveal() != testPassword {
		t.Error("secrets read back wrong after encryption")
	}
	assertNoPlainSecrets(t, catalogBytes(t, path), testSecretKey, testPassphrase, testPassword)
}

func TestKeyFileOthersCanReadIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(context.Background(), path)
	must(t, err)
	addSecretDestination(t, c, "s3")
	must(t, c.Close())
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		must(t, os.Chmod(KeyPath(path), mode))
		_, err = Open(context.Background(), path)
		if !errors.Is(err, core.ErrAccessDenied) {
			t.Fatalf("mode %o: got %v, want access denied", mode, err)
		}
		want := "chmod 600 " + KeyPath(path)
		if msg := err.Error(); !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
			t.Errorf("mode %o: got %q, want one sentence with %q", mode, msg, want)
		}
	}
	must(t, os.Chmod(KeyPath(path), 0o600))
	c, err = Open(context.Background(), path)
	must(t, err)
	defer c.Close()
	d, err := c.Destination(context.Background(), "s3")
	must(t, err)
	if d.S3.SecretKey.Reveal() != testSecretKey {
		t.Error("secret lost after the key file was restricted again")
	}
}

func TestKeyFileOfWrongSizeIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	must(t, os.WriteFile(KeyPath(path), []byte("short"), 0o600))
	_, err := Open(context.Background(), path)
	if !errors.Is(err, core.ErrCorrupt) || !strings.Contains(err.Error(), "is not a key") {
		t.Fatalf("got %v, want a corrupt-key error", err)
	}
}

// Without its key file the catalog still opens and lists everything; only
// using a secret fails, saying why and how to enter it again, and saving the
// destination unchanged keeps the stored value for when the key comes back.
func TestMissingKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.db")
	c, err := Open(ctx, path)
	must(t, err)
	addSecretDestination(t, c, "s3")
	addSecretService(t, c, "prod")
	must(t, c.Close())
	saved := filepath.Join(dir, "saved.key")
	must(t, os.Rename(KeyPath(path), saved))

	c, err = Open(ctx, path)
	must(t, err)
	dests, err := c.Destinations(ctx)
	must(t, err)
	if len(dests) != 1 {
		t.Fatalf("listed %d destinations, want 1", len(dests))
	}
	d := dests[0]
	_, err = d.S3.SecretKey.Resolve("the secret key")
	if !errors.Is(err, core.ErrAccessDenied) {
		t.Fatalf("resolving without the key file: got %v, want access denied", err)
	}
	for _, want := range []string{`the secret key of destination "s3" cannot be decrypted`, "is missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want it to contain %q", err, want)
		}
	}
	if a, _ := core.AdviceOf(err); a != (core.Advice{Action: core.ActionEnterSecretKey, Destination: "s3"}) {
		t.Errorf("advice %+v, want to enter the secret key of s3 again", a)
	}
	if d.S3.SecretKey.Reveal() != "" || strings.Contains(d.S3.SecretKey.String(), "missing") {
		t.Error("an unreadable secret reveals or prints something")
	}
	s, err := c.Service(ctx, "prod")
	must(t, err)
	_, err = s.DB.Password.Resolve("the password")
	if a, _ := core.AdviceOf(err); err == nil || a != (core.Advice{Action: core.ActionEnterPassword, Service: "prod"}) {
		t.Errorf("resolving the password: got %v, advice %+v; want to enter the password of prod again", err, a)
	}
	// Saving what was read (say, after changing the prefix) keeps the
	// secrets as they are stored, and needs no key.
	d.S3.Prefix = "p"
	must(t, c.UpdateDestination(ctx, d))
	must(t, c.UpdateService(ctx, s))
	if _, err := os.Stat(KeyPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("saving unreadable secrets created a key file (stat: %v)", err)
	}
	must(t, c.Close())

	// The key comes back: everything reads again.
	must(t, os.Rename(saved, KeyPath(path)))
	c, err = Open(ctx, path)
	must(t, err)
	d, err = c.Destination(ctx, "s3")
	must(t, err)
	s, err = c.Service(ctx, "prod")
	must(t, err)
	if d.S3.SecretKey.Reveal() != testSecretKey || d.Encrypt.Passphrase.Reveal() != testPassphrase || s.DB.Password.Reveal() != testPassword || d.S3.Prefix != "p" {
		t.Error("secrets or the update lost while the key file was away")
	}
	must(t, c.Close())

	// Lost for good: entering the secret again makes a new key; the others
	// say the key is not theirs.
	must(t, os.Remove(KeyPath(path)))
	c, err = Open(ctx, path)
	must(t, err)
	defer c.Close()
	d, err = c.Destination(ctx, "s3")
	must(t, err)
	d.S3.SecretKey = "a-new-secret-key"
	must(t, c.UpdateDestination(ctx, d))
	d, err = c.Destination(ctx, "s3")
	must(t, err)
	if v, err := d.S3.SecretKey.Resolve("the secret key"); err != nil || v.Reveal() != "a-new-secret-key" {
		t.Errorf("the secret entered again does not read back: %v", err)
	}
	if _, err := d.Encrypt.Passphrase.Resolve("the passphrase"); err == nil || !strings.Contains(err.Error(), "not the key it was stored with") {
		t.Errorf("the passphrase under the old key: got %v, want it to say the key is not its own", err)
	}
}

func TestConcurrentKeyCreationSharesOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	keys := make(chan []byte, 8)
	for range 8 {
		go func() {
			k, err := createKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys <- k
		}()
	}
	onDisk := func() []byte { b, _ := os.ReadFile(path); return b }
	for range 8 {
		if k := <-keys; !bytes.Equal(k, onDisk()) {
			t.Error("a process kept a key that is not the one on disk")
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	must(t, err)
	if len(entries) != 1 {
		t.Errorf("%d files left in the key directory, want only the key", len(entries))
	}
}

func TestKeyPath(t *testing.T) {
	for in, want := range map[string]string{
		"/d/catalog.db": "/d/catalog.key",
		"/d/catalog":    "/d/catalog.key",
		"/d/x.key":      "/d/x.key.key",
		"/d/a.b.sqlite": "/d/a.b.key",
	} {
		if got := KeyPath(in); got != want {
			t.Errorf("KeyPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// A random 32-byte file is a valid key, but not the one the secrets were
// stored with.
func TestWrongKeyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(ctx, path)
	must(t, err)
	addSecretService(t, c, "prod")
	must(t, c.Close())
	other := make([]byte, keySize)
	_, _ = rand.Read(other)
	must(t, os.WriteFile(KeyPath(path), other, 0o600))
	c, err = Open(ctx, path)
	must(t, err)
	defer c.Close()
	s, err := c.Service(ctx, "prod")
	must(t, err)
	if _, err := s.DB.Password.Resolve("x"); err == nil || !strings.Contains(err.Error(), "not the key it was stored with") {
		t.Errorf("got %v, want the wrong-key message", err)
	}
}
