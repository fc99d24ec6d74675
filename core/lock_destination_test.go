package core_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// TestLockDestinationChecks: a destination that is to lock its objects is
// saved only on a bucket with Object Lock, and only with a lock as long as
// what the retentions on it keep, unless that is accepted; each refusal is
// one sentence and changes nothing.
func TestLockDestinationChecks(t *testing.T) {
	mio := servers.MinIO(t)
	ctx := context.Background()
	cat, err := store.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	settings := func(bucket string) core.S3Settings {
		return core.S3Settings{Endpoint: mio.Endpoint, Bucket: bucket, AccessKey: mio.AccessKey, SecretKey: core.Secret(mio.SecretKey), NoTLS: true}
	}

	plain := core.Destination{Name: "plain", Kind: core.DestinationS3, S3: settings(mio.NewBucket(t)), Lock: core.ObjectLock{Mode: core.LockCompliance, Days: 30}}
	err = core.AddDestination(ctx, cat, s3.Open, &plain)
	want := `bucket "` + plain.S3.Bucket + `" on ` + mio.Endpoint + ` has no Object Lock, so nothing written there could be locked and nothing was saved`
	if err == nil || err.Error() != want || core.SettingOf(err) != "lock" {
		t.Fatalf("adding a locking destination on a plain bucket: %v;\nwant %q", err, want)
	}
	if a, ok := core.AdviceOf(err); !ok || a.Action != core.ActionCreateLockBucket {
		t.Errorf("advice %+v; want %s", a, core.ActionCreateLockBucket)
	}
	if _, err := cat.Destination(ctx, "plain"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("the refused destination was saved: %v", err)
	}

	vault := core.Destination{Name: "vault", Kind: core.DestinationS3, S3: settings(mio.NewLockBucket(t)), Lock: core.ObjectLock{Mode: core.LockCompliance, Days: 7}}
	if err := core.AddDestination(ctx, cat, s3.Open, &vault); err != nil {
		t.Fatalf("adding a locking destination on a bucket with Object Lock: %v", err)
	}
	// The probe's test object is not locked: nothing of it stays.
	st, err := s3.Open(ctx, vault)
	if err != nil {
		t.Fatal(err)
	}
	if objs, err := st.List(ctx, ""); err != nil || len(objs) != 0 {
		t.Errorf("objects left by the probe: %+v, %v; want none", objs, err)
	}
	if _, err := core.TestDestination(ctx, cat, s3.Open, "vault", 30*time.Second); err != nil {
		t.Errorf("testing the locking destination: %v", err)
	}

	svc := core.Service{Name: "prod", DB: core.DBConn{Host: "localhost", Port: 5432, User: "odoo", Database: "prod"}}
	if err := cat.AddService(ctx, &svc, ""); err != nil {
		t.Fatal(err)
	}
	keep := func(n int, allow bool) error {
		_, err := core.SetConfiguration(ctx, cat, core.ConfigurationRequest{Owner: core.ConfigOwner{Name: "prod"}, Destination: "vault", AllowShortLock: allow,
			Change: func(tc *core.TemplateConfiguration) error {
				tc.Frequency, tc.Retention, tc.Primary = core.Daily, core.Retention{KeepLast: n}, true
				return nil
			}})
		return err
	}
	if err := keep(7, false); err != nil {
		t.Fatalf("a retention as long as the lock: %v", err)
	}
	err = keep(14, false)
	want = "a lock of 7 days on vault is shorter than the 14 days the retention of prod there (keep 14, daily) keeps backups, so those backups would stay deletable after their first 7 days"
	if err == nil || err.Error() != want {
		t.Fatalf("a retention longer than the lock: %v;\nwant %q", err, want)
	}
	if cfgs, _ := cat.Configurations(ctx, "prod"); len(cfgs) != 1 || cfgs[0].Retention.KeepLast != 7 {
		t.Fatalf("the refused retention was saved: %+v", cfgs)
	}
	if err := keep(14, true); err != nil {
		t.Fatalf("a longer retention, accepted: %v", err)
	}

	// Shortening the lock below the retention is refused the same way.
	shorter := vault
	shorter.Lock.Days = 3
	err = core.UpdateDestination(ctx, cat, s3.Open, shorter)
	if err == nil || !strings.HasPrefix(err.Error(), "a lock of 3 days on vault is shorter than the 14 days") || core.SettingOf(err) != "lock" {
		t.Fatalf("shortening the lock below the retention: %v", err)
	}
	if got, _ := cat.Destination(ctx, "vault"); got.Lock.Days != 7 {
		t.Fatalf("the refused lock was saved: %+v", got.Lock)
	}
	if err := core.UpdateDestinationWith(ctx, cat, s3.Open, shorter, core.DestinationSaveOptions{AllowShortLock: true}); err != nil {
		t.Fatalf("a shorter lock, accepted: %v", err)
	}
	// Once accepted, other changes do not ask again.
	if err := core.UpdateDestination(ctx, cat, s3.Open, shorter); err != nil {
		t.Fatalf("saving an accepted short lock again: %v", err)
	}
	if _, err := core.SetConfiguration(ctx, cat, core.ConfigurationRequest{Owner: core.ConfigOwner{Name: "prod"}, Destination: "vault",
		Change: func(tc *core.TemplateConfiguration) error { tc.Schedule.Hour = 4; return nil }}); err != nil {
		t.Fatalf("changing the hour of an accepted configuration: %v", err)
	}
	off := shorter
	off.Lock = core.ObjectLock{}
	if err := core.UpdateDestination(ctx, cat, s3.Open, off); err != nil {
		t.Fatalf("turning the lock off: %v", err)
	}
	if got, _ := cat.Destination(ctx, "vault"); got.Lock.Enabled() {
		t.Errorf("the lock stayed on: %+v", got.Lock)
	}
}
