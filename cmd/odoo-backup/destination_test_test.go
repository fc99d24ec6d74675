package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	miniogo "github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
)

// TestDestinationTest runs `destination test` against a local directory and
// the real MinIO: working, with a wrong secret, and at an endpoint where
// nothing listens; exit 0 or 1, one sentence, and --json.
func TestDestinationTest(t *testing.T) {
	minio := servers.MinIO(t)
	c := newCLI(t)
	dir := filepath.Join(c.dir, "nas")
	c.ok("destination", "add", "nas", "--dir", dir)
	if out := c.ok("destination", "test", "nas"); !strings.Contains(out, "Destination nas works (local "+dir+"): a test object was written, read back and deleted") {
		t.Errorf("destination test nas: %q", out)
	}
	var res destinationTestJSON
	c.json(&res, "destination", "test", "nas")
	if !res.OK || res.Destination != "nas" || res.Error != "" {
		t.Errorf("destination test nas --json: %+v", res)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the probe left %d entries in %s", len(entries), dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	c.fails(1, "destination nas does not work: directory "+dir+" does not exist", "destination", "test", "nas")

	// The real MinIO, with a secret read at each use so it can go wrong later.
	bucket := minio.NewBucket(t)
	t.Setenv("TEST_S3_REF", minio.SecretKey)
	c.ok("destination", "add", "s3", "--endpoint", minio.Endpoint, "--bucket", bucket, "--access-key", minio.AccessKey,
		"--secret-key-ref", "env:TEST_S3_REF", "--no-tls")
	if out := c.ok("destination", "test", "s3"); !strings.Contains(out, "Destination s3 works") {
		t.Errorf("destination test s3: %q", out)
	}
	cl, err := minio.Client()
	if err != nil {
		t.Fatal(err)
	}
	for o := range cl.ListObjectsIter(t.Context(), bucket, miniogo.ListObjectsOptions{Recursive: true}) {
		t.Errorf("the probe left %s in the bucket (%v)", o.Key, o.Err)
	}
	t.Setenv("TEST_S3_REF", "not-the-secret-key")
	c.secrets = append(c.secrets, "not-the-secret-key")
	c.fails(1, "destination s3 does not work: cannot write a test object to", "destination", "test", "s3")
	r := c.run("destination", "test", "s3", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 1 || res.OK || !strings.Contains(res.Error, "refused the secret key") {
		t.Errorf("destination test s3 --json with a wrong secret: exit %d, %s (%v); want 1 and ok false with the reason", r.code, r.stdout, err)
	}

	// An endpoint where nothing listens (saved without the probe add makes).
	addr := testbed.ClosedPort(t)
	cat, err := store.Open(context.Background(), c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	err = cat.AddDestination(context.Background(), &core.Destination{
		Name: "gone",
		Kind: core.DestinationS3,
		S3:   core.S3Settings{Endpoint: addr, Bucket: "gone", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true},
	})
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.fails(1, "destination gone does not work: cannot write a test object to s3://"+addr+"/gone: cannot reach "+addr, "destination", "test", "gone")
	c.fails(1, "does not exist", "destination", "test", "nowhere")
}
