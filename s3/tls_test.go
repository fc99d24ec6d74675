package s3

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3/storetest"
)

func sharedTLSMinIO(t testing.TB) *testbed.MinIO { return servers.MinIOTLS(t) }

// tlsConfig is a Config for a fresh bucket of the TLS server, trusting its
// certificate through CAFile.
func tlsConfig(t testing.TB) Config {
	m := sharedTLSMinIO(t)
	return Config{
		S3Settings: core.S3Settings{Endpoint: m.Endpoint, Bucket: m.NewBucket(t), AccessKey: m.AccessKey, SecretKey: core.Secret(m.SecretKey), CAFile: m.CAFile},
		PartSize:   MinPartSize,
	}
}

func TestS3PrivateCAConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.ObjectStore { return newTestS3(t, tlsConfig(t)) })
}

// Without the CA file the system's trusted certificates do not cover the
// server's, and every operation says so; nothing falls back to plain HTTP.
func TestS3PrivateCAUntrusted(t *testing.T) {
	ctx := t.Context()
	cfg := tlsConfig(t)
	cfg.CAFile = ""
	s := newTestS3(t, cfg)
	want := "cannot trust the TLS certificate of " + cfg.Endpoint +
		" (signed by an unknown authority); pass --ca-file with the certificate of the authority that signed it, or add that certificate to the system's trusted ones"
	expectSentence(t, "Put without the CA file", s.Put(ctx, "k", strings.NewReader("x")), core.ErrUnreachable, want, cfg.SecretKey.Reveal())
	_, err := s.List(ctx, "")
	expectSentence(t, "List without the CA file", err, core.ErrUnreachable, want, cfg.SecretKey.Reveal())
	expectSentence(t, "Probe without the CA file", Probe(ctx, s), core.ErrUnreachable,
		fmt.Sprintf("cannot write a test object to %s: %s", s, want), cfg.SecretKey.Reveal())

	// A CA file of another authority is no better, and the message points
	// at the file.
	other, err := testbed.NewMinIOTLS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	cfg.CAFile = other.CAFile
	s = newTestS3(t, cfg)
	want = "cannot trust the TLS certificate of " + cfg.Endpoint + " (signed by an unknown authority); check that " + other.CAFile +
		" holds the certificate of the authority that signed it"
	_, err = s.Stat(ctx, "k")
	expectSentence(t, "Stat with another CA file", err, core.ErrUnreachable, want, cfg.SecretKey.Reveal())

	// Plain HTTP to the TLS port fails too, and says to drop --no-tls.
	cfg.CAFile, cfg.NoTLS = "", true
	s = newTestS3(t, cfg)
	_, err = s.Stat(ctx, "k")
	expectSentence(t, "Stat over plain HTTP to a TLS server", err, core.ErrUnreachable,
		cfg.Endpoint+" expects TLS, but the destination is set to plain HTTP; drop --no-tls", cfg.SecretKey.Reveal())
}

// Objects put with SSE-KMS, single PUT and multipart alike, are stored
// encrypted with the named key, as the server reports, and read back.
func TestS3ServerSideEncryptionKMS(t *testing.T) {
	ctx := t.Context()
	for _, keyID := range []string{testbed.KMSKeyName, ""} {
		cfg := testConfig(t)
		cfg.SSE, cfg.SSEKMSKeyID = "sse-kms", keyID
		s := newTestS3(t, cfg)
		small, big := []byte("secret database"), bytes.Repeat([]byte("k"), int(MinPartSize)+10)
		for key, b := range map[string][]byte{"small": small, "big": big} {
			if err := s.Put(ctx, key, bytes.NewReader(b)); err != nil {
				t.Fatalf("Put(%s) with SSE-KMS key %q: %v", key, keyID, err)
			}
			info, err := s.Client().StatObject(ctx, cfg.Bucket, key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != "aws:kms" {
				t.Errorf("%s (key %q): x-amz-server-side-encryption = %q; want aws:kms", key, keyID, got)
			}
			// MinIO names the key as an ARN ending in the key's name; the
			// default key is the one it runs with.
			if got := info.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); !strings.HasSuffix(got, testbed.KMSKeyName) {
				t.Errorf("%s (key %q): KMS key id = %q; want it to name %s", key, keyID, got, testbed.KMSKeyName)
			}
			rc, err := s.Get(ctx, key, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, b) {
				t.Errorf("Get(%s) of a KMS-encrypted object = %d bytes, %v; want the %d bytes put", key, len(got), err, len(b))
			}
		}
	}
}

// A server-side copy into a KMS-encrypted destination is encrypted with its
// key, whatever the source's encryption.
func TestS3ServerSideCopyKMS(t *testing.T) {
	ctx := t.Context()
	src := newTestS3(t, testConfig(t))
	cfg := testConfig(t)
	cfg.SSE, cfg.SSEKMSKeyID = SSEKMS, testbed.KMSKeyName
	dst := newTestS3(t, cfg)
	if err := src.Put(ctx, "a.zip", strings.NewReader("archive")); err != nil {
		t.Fatal(err)
	}
	if done, err := dst.CopyFrom(ctx, src, "a.zip", "b.zip"); !done || err != nil {
		t.Fatalf("CopyFrom = %v, %v; want a server-side copy", done, err)
	}
	info, err := dst.Client().StatObject(ctx, cfg.Bucket, "b.zip", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != "aws:kms" {
		t.Errorf("copied object: x-amz-server-side-encryption = %q; want aws:kms", got)
	}
}

// A KMS key the server does not have is refused, and nothing is stored.
func TestS3ServerSideEncryptionKMSUnknownKey(t *testing.T) {
	ctx := t.Context()
	cfg := testConfig(t)
	cfg.SSE, cfg.SSEKMSKeyID = SSEKMS, "no-such-key"
	s := newTestS3(t, cfg)
	want := fmt.Sprintf("%s refused the KMS key \"no-such-key\" while uploading k (kms:KeyNotFound: key with given key ID does not exist); "+
		"check --sse-kms-key-id and that the key exists, is enabled and may be used by access key %q", cfg.Endpoint, cfg.AccessKey)
	expectSentence(t, "Put with an unknown KMS key", s.Put(ctx, "k", strings.NewReader("x")), core.ErrInvalid, want, cfg.SecretKey.Reveal())
	expectSentence(t, "multipart Put with an unknown KMS key", s.Put(ctx, "k", bytes.NewReader(make([]byte, MinPartSize+1))), core.ErrInvalid, want, cfg.SecretKey.Reveal())
	if objs, lerr := s.List(ctx, ""); lerr != nil || len(objs) != 0 {
		t.Errorf("List after the refused Put = %+v, %v; want nothing", objs, lerr)
	}
}
