package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	miniogo "github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// An endpoint with a private CA is trusted only through --ca-file; plain
// HTTP is used only with --no-tls, never as a fallback.
func TestDestinationPrivateCA(t *testing.T) {
	tlsMinIO, err := testbed.NewMinIOTLS(context.Background())
	testbed.Need(t, "MinIO", err)
	defer tlsMinIO.Close()
	c := newCLI(t)
	c.secrets = append(c.secrets, tlsMinIO.SecretKey)
	t.Setenv("TLS_SECRET", tlsMinIO.SecretKey)
	bucket := tlsMinIO.NewBucket(t)
	args := func(name string, extra ...string) []string {
		return append([]string{"destination", "add", name, "--endpoint", tlsMinIO.Endpoint, "--bucket", bucket,
			"--access-key", tlsMinIO.AccessKey, "--secret-key-env", "TLS_SECRET"}, extra...)
	}

	c.fails(1, "cannot trust the TLS certificate of "+tlsMinIO.Endpoint+" (signed by an unknown authority); pass --ca-file", args("private")...)
	c.fails(1, tlsMinIO.Endpoint+" expects TLS, but the destination is set to plain HTTP; drop --no-tls", args("private", "--no-tls")...)
	c.fails(2, "--endpoint takes HOST:PORT without a scheme", "destination", "add", "private", "--endpoint", "http://"+tlsMinIO.Endpoint, "--bucket", bucket)
	c.fails(1, "cannot read the CA file "+filepath.Join(c.dir, "missing.pem")+" (no such file or directory)",
		args("private", "--ca-file", filepath.Join(c.dir, "missing.pem"))...)
	notPEM := filepath.Join(c.dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fails(1, "the CA file "+notPEM+" holds no PEM certificate", args("private", "--ca-file", notPEM)...)
	c.fails(1, "drop --ca-file or --no-tls", args("private", "--ca-file", tlsMinIO.CAFile, "--no-tls")...)

	// A relative --ca-file is kept as an absolute path, for the daemon.
	rel, err := filepath.Rel(mustGetwd(t), tlsMinIO.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	c.ok(args("private", "--ca-file", rel)...)
	var dests []map[string]any
	c.json(&dests, "destination", "list")
	if len(dests) != 1 || dests[0]["ca_file"] != tlsMinIO.CAFile || dests[0]["no_tls"] != nil {
		t.Errorf("destination list = %v; want private with ca_file %s and TLS on", dests, tlsMinIO.CAFile)
	}

	// Backups go through the trusted connection.
	odoo := generate(t, "ca_odoo")
	c.addService("shop", odoo)
	c.ok("config", "set", "shop", "private", "--primary")
	c.ok("backup", "shop")
	var backups []backupJSON
	c.json(&backups, "backups", "shop")
	if len(backups) != 1 || backups[0].Status != "succeeded" {
		t.Fatalf("backups = %+v; want one succeeded backup on the TLS destination", backups)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// --sse kms stores archives encrypted under the named KMS key.
func TestDestinationSSEKMS(t *testing.T) {
	minio := servers.MinIO(t)
	c := newCLI(t)
	bucket := minio.NewBucket(t)
	t.Setenv("TEST_S3_SECRET", minio.SecretKey)
	args := func(name string, extra ...string) []string {
		return append([]string{"destination", "add", name, "--endpoint", minio.Endpoint, "--bucket", bucket,
			"--access-key", minio.AccessKey, "--secret-key-env", "TEST_S3_SECRET", "--no-tls"}, extra...)
	}
	c.fails(2, "--sse-kms-key-id needs --sse kms", args("kms", "--sse-kms-key-id", testbed.KMSKeyName)...)
	for _, flag := range [][]string{{"--sse", "kms"}, {"--sse-kms-key-id", "k"}, {"--ca-file", "/etc/ssl/certs/ca-certificates.crt"}, {"--no-tls"}} {
		c.fails(2, "are for S3 destinations; drop them with --dir", append([]string{"destination", "add", "disk", "--dir", c.dir}, flag...)...)
	}
	c.fails(2, `--sse "c" is not supported; use --sse s3 or --sse kms`, args("kms", "--sse", "c")...)
	c.fails(1, `refused the KMS key "no-such-key"`, args("kms", "--sse", "kms", "--sse-kms-key-id", "no-such-key")...)
	c.ok(args("kms", "--sse", "kms", "--sse-kms-key-id", testbed.KMSKeyName)...)

	var dests []map[string]any
	c.json(&dests, "destination", "list")
	if len(dests) != 1 || dests[0]["sse"] != "SSE-KMS" || dests[0]["sse_kms_key_id"] != testbed.KMSKeyName {
		t.Errorf("destination list = %v; want kms with SSE-KMS and key %s", dests, testbed.KMSKeyName)
	}

	odoo := generate(t, "kms_odoo")
	c.addService("shop", odoo)
	c.ok("config", "set", "shop", "kms", "--primary")
	c.ok("backup", "shop")
	client, err := minio.Client()
	if err != nil {
		t.Fatal(err)
	}
	// Every object the backup wrote (the archive, its metadata, and on a
	// pool destination its file list and pool objects) is encrypted.
	n, pooled := 0, 0
	for obj := range client.ListObjectsIter(t.Context(), bucket, miniogo.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
		if strings.Contains(obj.Key, "/pool/") || strings.HasSuffix(obj.Key, ".files") {
			pooled++
		}
		info, err := client.StatObject(t.Context(), bucket, obj.Key, miniogo.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != "aws:kms" {
			t.Errorf("%s: x-amz-server-side-encryption = %q; want aws:kms", obj.Key, got)
		}
		if got := info.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); !strings.HasSuffix(got, testbed.KMSKeyName) {
			t.Errorf("%s: KMS key id = %q; want %s", obj.Key, got, testbed.KMSKeyName)
		}
	}
	if n-pooled != 2 {
		t.Errorf("bucket holds %d objects besides the pool's; want the archive and its metadata", n-pooled)
	}
}
