package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// Client-side encryption from the command line: key generate writes a 0600
// identity and prints its recipient; a destination added with --encrypt-key
// stores ciphertext that backup, restore, download and verify handle with
// no further flag; one added with --encrypt-recipient needs --identity; a
// passphrase from the environment works and is never printed; a key file
// others can read is refused.
func TestEncryptionCommands(t *testing.T) {
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	c := newCLI(t)
	odoo := generate(t, "cli_enc")
	ctx := context.Background()
	source, err := testbed.Fingerprint(ctx, pg.Conn(odoo.Name), odoo.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	c.addService("prod", odoo)

	keyFile := filepath.Join(c.dir, "backup.key")
	r := c.run("key", "generate", "-o", keyFile)
	if r.code != 0 {
		t.Fatalf("key generate: exit %d\n%s", r.code, r.stderr)
	}
	recipient := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(recipient, "age1") || strings.Contains(recipient, "\n") {
		t.Fatalf("key generate should print the recipient alone on stdout, got %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "a lost key means lost backups") {
		t.Errorf("key generate should warn that a lost key means lost backups: %q", r.stderr)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	key, _ := os.ReadFile(keyFile)
	if !bytes.Contains(key, []byte("AGE-SECRET-KEY-1")) || !bytes.Contains(key, []byte(recipient)) {
		t.Fatal("the key file holds no age identity for the printed recipient")
	}
	for _, line := range strings.Split(string(key), "\n") {
		if strings.HasPrefix(line, "AGE-SECRET-KEY-1") {
			c.secrets = append(c.secrets, line)
		}
	}
	c.fails(1, "already exists", "key", "generate", "-o", keyFile)
	if again, _ := os.ReadFile(keyFile); !bytes.Equal(again, key) {
		t.Fatal("key generate overwrote an existing key")
	}
	c.fails(2, "-o FILE", "key", "generate")

	loose := filepath.Join(c.dir, "loose.key")
	os.WriteFile(loose, key, 0o644)
	os.Chmod(loose, 0o644)
	c.fails(1, "chmod 600 "+loose, "destination", "add", "loose", "--dir", filepath.Join(c.dir, "loose"), "--encrypt-key", loose)
	c.fails(2, "only one of", "destination", "add", "both", "--dir", filepath.Join(c.dir, "both"), "--encrypt-key", keyFile, "--encrypt-recipient", recipient)
	c.fails(1, "not an age recipient", "destination", "add", "bad", "--dir", filepath.Join(c.dir, "bad"), "--encrypt-recipient", "ssh-ed25519 AAAA")
	c.fails(2, "ODOO_NO_SUCH_VAR", "destination", "add", "nopass", "--dir", filepath.Join(c.dir, "nopass"), "--encrypt-passphrase-env", "ODOO_NO_SUCH_VAR")

	// A destination whose key is on this host.
	c.t.Setenv("TEST_S3_SECRET", minio.SecretKey)
	bucket := minio.NewBucket(t)
	r = c.run("destination", "add", "sealed", "--endpoint", minio.Endpoint, "--bucket", bucket, "--prefix", "odoo",
		"--access-key", minio.AccessKey, "--secret-key-env", "TEST_S3_SECRET", "--no-tls", "--encrypt-key", keyFile)
	if r.code != 0 || !strings.Contains(r.stderr, "a lost key means lost backups") || !strings.Contains(r.stderr, recipient) {
		t.Fatalf("destination add --encrypt-key: exit %d, stderr %q; want the lost-key warning naming the recipient", r.code, r.stderr)
	}
	list := c.ok("destination", "list")
	if !strings.Contains(list, "ENCRYPTION") || !strings.Contains(list, recipient) {
		t.Errorf("destination list should show the recipient:\n%s", list)
	}
	c.ok("config", "set", "prod", "sealed", "--primary")
	var bs []backupJSON
	c.json(&bs, "backup", "prod")
	if len(bs) != 1 || bs[0].Status != "succeeded" {
		t.Fatalf("backup: %+v", bs)
	}
	id := itoa(bs[0].ID)
	var listed []map[string]any
	c.json(&listed, "backups", "prod")
	if len(listed) != 1 || listed[0]["encryption"] != "age:"+recipient {
		t.Errorf("backups --json should say how the backup is encrypted: %v", listed)
	}
	c.ok("verify", id)
	c.ok("restore", id, "--new-db", "cli_enc_restored", "--filestore", filepath.Join(c.dir, "restored"), "--no-neutralize")
	got, err := testbed.Fingerprint(ctx, pg.Conn("cli_enc_restored"), filepath.Join(c.dir, "restored"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.WithoutChecklist().Diff(got.WithoutChecklist()); len(diff) > 0 {
		t.Fatalf("restored from the encrypted destination differs:\n%s", diff)
	}
	out := filepath.Join(c.dir, "plain.zip")
	if stdout := c.ok("download", id, "-o", out); !strings.Contains(stdout, "decrypted") {
		t.Errorf("download should say it decrypted: %q", stdout)
	}
	if head, _ := os.ReadFile(out); !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		t.Error("the download is not the decrypted zip")
	}

	// A destination encrypted to a recipient whose key is kept elsewhere.
	r = c.run("destination", "add", "offsite", "--dir", filepath.Join(c.dir, "offsite"), "--encrypt-recipient", recipient)
	if r.code != 0 || !strings.Contains(r.stderr, "a lost key means lost backups") || !strings.Contains(r.stderr, "--identity") {
		t.Fatalf("destination add --encrypt-recipient: exit %d, stderr %q", r.code, r.stderr)
	}
	c.ok("config", "set", "prod", "offsite")
	c.json(&bs, "backup", "prod", "--destination", "offsite")
	off := itoa(bs[0].ID)
	c.fails(1, "pass --identity FILE", "restore", off, "--new-db", "cli_enc_offsite")
	c.fails(1, "pass --identity FILE", "download", off, "-o", filepath.Join(c.dir, "off.zip"))
	c.fails(1, "pass --identity FILE", "verify", off)
	c.fails(1, "pass --identity FILE", "drill", "prod", "--destination", "offsite")
	otherKey := filepath.Join(c.dir, "other.key")
	c.ok("key", "generate", "-o", otherKey)
	c.fails(1, "the identity in "+otherKey+" does not match", "restore", off, "--new-db", "cli_enc_offsite", "--identity", otherKey)
	c.fails(1, "chmod 600 "+loose, "verify", off, "--identity", loose)
	if n, _ := pg.QueryInt(ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'cli_enc_offsite%'"); n != 0 {
		t.Fatal("a refused restore created a database")
	}
	if _, err := os.Stat(filepath.Join(c.dir, "off.zip")); err == nil {
		t.Fatal("a refused download wrote its file")
	}
	c.ok("verify", off, "--identity", keyFile)
	c.ok("drill", "prod", "--destination", "offsite", "--identity", keyFile)
	c.ok("restore", off, "--new-db", "cli_enc_offsite", "--identity", keyFile)

	// With that destination as the primary, a service copy and an upload &
	// restore read back what they stored there, so they need the identity
	// too, and say so before anything is restored.
	c.ok("config", "set", "prod", "offsite", "--primary")
	c.fails(1, "pass --identity FILE", "service", "copy", "prod", "prodcopy", "--db", "cli_enc_copy", "--filestore", filepath.Join(c.dir, "copy"))
	if n, _ := pg.QueryInt(ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'cli_enc_copy%'"); n != 0 {
		t.Fatal("a refused service copy created a database")
	}
	c.ok("service", "copy", "prod", "prodcopy", "--db", "cli_enc_copy", "--filestore", filepath.Join(c.dir, "copy"), "--identity", keyFile, "--no-neutralize")
	got, err = testbed.Fingerprint(ctx, pg.Conn("cli_enc_copy"), filepath.Join(c.dir, "copy"))
	if err != nil {
		t.Fatal(err)
	}
	var diff []string
	for _, d := range source.WithoutChecklist().Diff(got.WithoutChecklist()) {
		if !strings.Contains(d, "ir_config_parameter") { // a copy gets its own uuid and secret
			diff = append(diff, d)
		}
	}
	if len(diff) > 0 {
		t.Errorf("the copy made through the encrypted primary differs:\n%s", strings.Join(diff, "\n"))
	}
	c.fails(1, "pass --identity FILE", "upload", out, "--service", "prod", "--restore", "--yes", "--no-neutralize")
	c.ok("upload", out, "--service", "prod", "--restore", "--yes", "--no-neutralize", "--identity", keyFile)
	c.ok("config", "set", "prod", "sealed", "--primary")

	// A passphrase from the environment.
	const passphrase = "pass phrase never printed"
	c.secrets = append(c.secrets, passphrase)
	t.Setenv("TEST_BACKUP_PASSPHRASE", passphrase)
	r = c.run("destination", "add", "vault", "--dir", filepath.Join(c.dir, "vault"), "--encrypt-passphrase-env", "TEST_BACKUP_PASSPHRASE")
	if r.code != 0 || !strings.Contains(r.stderr, "a lost key means lost backups") {
		t.Fatalf("destination add --encrypt-passphrase-env: exit %d, stderr %q", r.code, r.stderr)
	}
	var dests []map[string]any
	c.json(&dests, "destination", "list")
	raw, _ := json.Marshal(dests)
	if bytes.Contains(raw, []byte("AGE-SECRET-KEY")) {
		t.Errorf("destination list --json shows a key: %s", raw)
	}
	c.ok("config", "set", "prod", "vault")
	c.json(&bs, "backup", "prod", "--destination", "vault")
	c.ok("restore", itoa(bs[0].ID), "--new-db", "cli_enc_vault", "--filestore", filepath.Join(c.dir, "vault-restored"), "--no-neutralize")
	got, err = testbed.Fingerprint(ctx, pg.Conn("cli_enc_vault"), filepath.Join(c.dir, "vault-restored"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.WithoutChecklist().Diff(got.WithoutChecklist()); len(diff) > 0 {
		t.Fatalf("restored from the passphrase destination differs:\n%s", diff)
	}
}
