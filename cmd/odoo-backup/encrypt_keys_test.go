package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	miniogo "github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
)

// TestEncryptedArchivesEndInAge: on an encrypting destination (the real
// MinIO) a new archive's key ends in .zip.age and its metadata's in
// .zip.age.json; an encrypted archive under the old plain .zip name stays
// readable: a catalog rebuild finds both, and both verify and restore.
func TestEncryptedArchivesEndInAge(t *testing.T) {
	minio := servers.MinIO(t)
	c := newCLI(t)
	odoo := generate(t, "cli_age")
	c.addService("prod", odoo)
	keyFile := filepath.Join(c.dir, "backup.key")
	c.ok("key", "generate", "-o", keyFile)
	t.Setenv("TEST_S3_SECRET", minio.SecretKey)
	bucket := minio.NewBucket(t)
	addSealed := func() {
		c.ok("destination", "add", "sealed", "--endpoint", minio.Endpoint, "--bucket", bucket, "--prefix", "odoo",
			"--access-key", minio.AccessKey, "--secret-key-env", "TEST_S3_SECRET", "--no-tls", "--encrypt-key", keyFile, "--layout", "zip") // one archive per backup, as older versions wrote
	}
	addSealed()
	c.ok("destination", "add", "plain", "--dir", filepath.Join(c.dir, "plain"))
	c.ok("config", "set", "prod", "sealed", "--primary")
	c.ok("config", "set", "prod", "plain")

	var bs []backupJSON
	c.json(&bs, "backup", "prod", "--all-destinations")
	if len(bs) != 2 {
		t.Fatalf("backup: %+v", bs)
	}
	var sealedID int64
	for _, b := range bs {
		key := keyOf(t, c, b.ID)
		switch b.Destination {
		case "sealed":
			sealedID = b.ID
			if !strings.HasSuffix(key, "_manual.zip.age") {
				t.Errorf("encrypted archive key %q, want it to end in _manual.zip.age", key)
			}
		case "plain":
			if !strings.HasSuffix(key, "_manual.zip") {
				t.Errorf("plain archive key %q, want it to end in _manual.zip", key)
			}
		}
	}
	client, err := minio.Client()
	if err != nil {
		t.Fatal(err)
	}
	objects := func() []string {
		var keys []string
		for o := range client.ListObjectsIter(t.Context(), bucket, miniogo.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			keys = append(keys, o.Key)
		}
		return keys
	}
	newKey := "odoo/" + keyOf(t, c, sealedID)
	if got := objects(); !slices.Equal(got, []string{newKey, newKey + ".json"}) {
		t.Fatalf("bucket holds %q, want the archive and its metadata %q", got, []string{newKey, newKey + ".json"})
	}

	// What an older version wrote: the same ciphertext under the plain name.
	oldKey := strings.TrimSuffix(newKey, ".zip.age") + "-2.zip"
	for from, to := range map[string]string{newKey: oldKey, newKey + ".json": oldKey + ".json"} {
		if _, err := client.CopyObject(t.Context(), miniogo.CopyDestOptions{Bucket: bucket, Object: to}, miniogo.CopySrcOptions{Bucket: bucket, Object: from}); err != nil {
			t.Fatal(err)
		}
	}

	// The catalog is lost: a new one, the destination and service again, then a rebuild.
	c.catalog = filepath.Join(c.dir, "rebuilt", "catalog.db")
	addSealed()
	c.addService("prod", odoo)
	var res rebuildJSON
	c.json(&res, "catalog", "rebuild")
	if res.added() != 2 {
		t.Fatalf("rebuild: %+v, want the .zip.age and the old .zip archive", res)
	}
	var rebuilt []core.Backup
	c.json(&rebuilt, "backups", "prod")
	keys := map[string]int64{}
	for _, b := range rebuilt {
		if !strings.HasPrefix(b.Encryption, "age:") {
			t.Errorf("rebuilt backup %d (%s) is not recorded as encrypted: %q", b.ID, b.Key, b.Encryption)
		}
		keys["odoo/"+b.Key] = b.ID
	}
	if _, ok := keys[newKey]; !ok {
		t.Errorf("rebuilt keys %v lack %s", keys, newKey)
	}
	old, ok := keys[oldKey]
	if !ok {
		t.Fatalf("rebuilt keys %v lack the old-style %s", keys, oldKey)
	}
	for _, id := range keys {
		if out := c.ok("verify", itoa(id)); !strings.Contains(out, "is sound") {
			t.Errorf("verify %d: %s", id, out)
		}
	}
	if out := c.ok("restore", itoa(old), "--new-db", "cli_age_old", "--filestore", filepath.Join(c.dir, "old-fs")); !strings.Contains(out, "restored into database cli_age_old") {
		t.Errorf("restore of the old-style encrypted archive: %s", out)
	}
}
