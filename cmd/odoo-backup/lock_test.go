package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestObjectLockCommands: a destination locks what backups write only on a
// bucket with Object Lock; every bad lock setting is one sentence that
// changes nothing; destination list shows the lock, backups the lock end;
// a locked backup's delete says until when and exits 0; a retention longer
// than the lock needs --allow-short-lock.
func TestObjectLockCommands(t *testing.T) {
	minio := servers.MinIO(t)
	c := newCLI(t)
	t.Setenv("TEST_S3_SECRET", minio.SecretKey)
	s3 := func(name, bucket string, more ...string) []string {
		return append([]string{"destination", "add", name, "--endpoint", minio.Endpoint, "--bucket", bucket,
			"--access-key", minio.AccessKey, "--secret-key-env", "TEST_S3_SECRET", "--no-tls"}, more...)
	}
	plain := minio.NewBucket(t)
	c.fails(1, `bucket "`+plain+`" on `+minio.Endpoint+` has no Object Lock, so nothing written there could be locked and nothing was saved; create a bucket with Object Lock enabled (mc mb --with-lock, or the provider's console) and pass it with --bucket, or drop --object-lock`,
		s3("plain", plain, "--object-lock", "compliance", "--lock-days", "30")...)
	lockBucket := minio.NewLockBucket(t)
	c.fails(2, `--object-lock "strict" is not a lock mode; use --object-lock governance, compliance or none`, s3("v", lockBucket, "--object-lock", "strict", "--lock-days", "3")...)
	c.fails(2, `--lock-days "0" is not a number of days`, s3("v", lockBucket, "--object-lock", "governance", "--lock-days", "0")...)
	c.fails(2, `--lock-days "a week" is not a number of days`, s3("v", lockBucket, "--object-lock", "governance", "--lock-days", "a week")...)
	c.fails(2, "--object-lock governance needs --lock-days N", s3("v", lockBucket, "--object-lock", "governance")...)
	c.fails(1, "a local directory cannot lock what it holds", "destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"), "--object-lock", "compliance", "--lock-days", "3")
	var none []map[string]any
	c.json(&none, "destination", "list")
	if len(none) != 0 {
		t.Fatalf("refused destinations were saved: %v", none)
	}

	out := c.ok(s3("vault", lockBucket, "--object-lock", "governance", "--lock-days", "7")...)
	if !strings.Contains(out, "Every object a backup writes there is locked for 7 days (governance mode)") {
		t.Errorf("destination add says %q; want the lock said", out)
	}
	if out := c.ok("destination", "list"); !strings.Contains(out, "governance 7d") {
		t.Errorf("destination list:\n%s\nwant the lock shown", out)
	}
	var dests []map[string]any
	c.json(&dests, "destination", "list")
	if len(dests) != 1 || dests[0]["lock_mode"] != "governance" || dests[0]["lock_days"] != float64(7) {
		t.Errorf("destination list --json: %v; want lock_mode governance and lock_days 7", dests)
	}

	odoo := generate(t, "cli_lock")
	c.addService("prod", odoo)
	c.fails(1, "a lock of 7 days on vault is shorter than the 14 days the retention of prod there (keep 14, daily) keeps backups, so those backups would stay deletable after their first 7 days; lock for 14 days or more (odoo-backup destination update vault --lock-days 14), keep backups for less, or add --allow-short-lock to accept it",
		"config", "set", "prod", "vault", "--frequency", "daily", "--keep", "14")
	c.ok("config", "set", "prod", "vault", "--frequency", "daily", "--keep", "7")
	c.ok("config", "set", "prod", "vault", "--frequency", "daily", "--keep", "14", "--allow-short-lock")
	c.fails(1, "a lock of 3 days on vault is shorter than the 14 days", "destination", "update", "vault", "--lock-days", "3")

	var bs []backupJSON
	c.json(&bs, "backup", "prod", "--destination", "vault")
	if len(bs) != 1 || bs[0].Status != "succeeded" {
		t.Fatalf("backup: %+v", bs)
	}
	id := itoa(bs[0].ID)
	if out := c.ok("backups", "prod"); !strings.Contains(out, "succeeded, locked until ") {
		t.Errorf("backups:\n%s\nwant the lock end shown", out)
	}
	var listed []map[string]any
	c.json(&listed, "backups", "prod")
	if len(listed) != 1 || listed[0]["locked_until"] == nil {
		t.Errorf("backups --json: %v; want locked_until", listed)
	}
	out = c.ok("delete", id, "--yes", "--force")
	if !strings.HasPrefix(out, "Nothing was deleted: backup "+id+" is locked on destination vault until ") || !strings.Contains(out, "(governance mode), so it stays whole and restorable; delete it again after that date") {
		t.Errorf("delete of a locked backup says %q", out)
	}
	c.ok("verify", id)

	out = c.ok("destination", "update", "vault", "--object-lock", "none")
	if !strings.Contains(out, "Objects written from now on are not locked") {
		t.Errorf("turning the lock off says %q", out)
	}
	c.fails(2, "--object-lock none turns the lock off, so --lock-days has nothing to set", "destination", "update", "vault", "--object-lock", "none", "--lock-days", "3")
}
