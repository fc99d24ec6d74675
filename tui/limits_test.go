package tui

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
)

// TestDestinationLimitsForm gives a local destination bandwidth limits in
// the form as a person would: a rate it cannot read is refused under its
// field and nothing is saved; the saved limits show in the details, come
// back in the edit form, stay exact when left alone, and go when cleared.
func TestDestinationLimitsForm(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	tm, _ := openAddDestination(t, cat)
	// Fields: name, kind, directory, encryption, layout, upload, download.
	press(tm, "slow", "tab", "tab", "slowdir", "tab", "tab", "tab", "fast", "enter")
	snap(t, tm, "bad rate", `✗ rate "fast" is not a number with a unit; write a rate such as 20MiB/s`)
	if _, err := cat.Destination(ctx, "slow"); err == nil {
		t.Fatal("a destination with a bad rate was saved")
	}
	press(tm, "ctrl+u", "0 KB/s", "enter")
	view(t, tm, "✗ a rate of 0 would stop every transfer")
	press(tm, "ctrl+u", "20MiB/s", "tab", "100Mbit/s")
	snap(t, tm, "limits typed", "▸ Download limit 100Mbit/s")
	// The directory typed is relative, so the frames above are the same in
	// every run: it is made absolute in a temporary directory.
	t.Chdir(t.TempDir())
	press(tm, "enter")
	view(t, tm, "✓ destination slow added")
	d, err := cat.Destination(ctx, "slow")
	if err != nil || d.Limits != (core.BandwidthLimits{Upload: 20 << 20, Download: 12_500_000}) {
		t.Fatalf("catalog has limits %+v (%v); want 20 MiB/s up, 100 Mbit/s down", d.Limits, err)
	}
	// Rows: local, s3-eu, slow.
	press(tm, "g", "down", "down")
	view(t, tm, "bandwidth   upload 20 MiB/s · download 11.92 MiB/s (this host, all transfers together)")

	// The edit form shows them; saved untouched they stay exact.
	press(tm, "e")
	view(t, tm, "Edit destination slow", "Upload limit   20MiB/s", "Download limit 11.92MiB/s")
	press(tm, "enter")
	view(t, tm, "✓ destination slow saved")
	if d, _ := cat.Destination(ctx, "slow"); d.Limits != (core.BandwidthLimits{Upload: 20 << 20, Download: 12_500_000}) {
		t.Errorf("an edit that left the limits alone changed them to %+v", d.Limits)
	}
	// Cleared, the download limit goes; a new upload limit replaces the old.
	press(tm, "e")
	view(t, tm, "Edit destination slow")
	press(tm, "tab", "tab", "tab", "ctrl+u", "1.5 MB/s", "tab", "ctrl+u", "enter") // directory, encryption, layout, upload, download
	view(t, tm, "bandwidth   upload 1.43 MiB/s · download none")
	if d, _ := cat.Destination(ctx, "slow"); d.Limits != (core.BandwidthLimits{Upload: 1_500_000}) {
		t.Errorf("limits after the edit %+v; want 1.5 MB/s up and no download limit", d.Limits)
	}
	quit(t, tm)
}

// TestDestinationObjectLockForm sets an S3 destination's Object Lock in
// the form: the mode is cycled, the days typed; days it cannot read are
// refused under their field, and the saved lock shows in the details.
func TestDestinationObjectLockForm(t *testing.T) {
	m := servers.MinIO(t)
	cat := seed(t)
	ctx := context.Background()
	client, err := m.Client()
	if err != nil {
		t.Fatal(err)
	}
	bucket := fmt.Sprintf("lock-%d", time.Now().UnixNano())
	if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	tm, _ := openAddDestination(t, cat)
	// Fields: name, kind, endpoint, bucket, region, prefix, access key,
	// secret, no TLS, server-side, CA file, encryption, layout, upload,
	// download, Object Lock, lock days.
	press(tm, "locked", "tab", "right", "tab", m.Endpoint, "tab", bucket, "tab", "tab", "tab", m.AccessKey, "tab", m.SecretKey, "tab", "space")
	for range 7 {
		press(tm, "tab")
	}
	view(t, tm, "▸ Object Lock    ‹ none ›")
	press(tm, "right")
	view(t, tm, "▸ Object Lock    ‹ governance ›", "Lock days")
	press(tm, "right")
	view(t, tm, "▸ Object Lock    ‹ compliance ›")
	press(tm, "left", "tab", "a month", "enter")
	view(t, tm, "✗ give the number of days each object stays locked, a whole number such as 30")
	if _, err := cat.Destination(ctx, "locked"); err == nil {
		t.Fatal("a destination with unreadable lock days was saved")
	}
	press(tm, "ctrl+u", "30", "enter")
	view(t, tm, "✓ destination locked added")
	d, err := cat.Destination(ctx, "locked")
	if err != nil || d.Lock != (core.ObjectLock{Mode: core.LockGovernance, Days: 30}) {
		t.Fatalf("catalog has lock %+v (%v); want governance, 30 days", d.Lock, err)
	}
	// Rows: local, locked, s3-eu.
	press(tm, "g", "down")
	view(t, tm, "object lock governance, 30 days")
	press(tm, "e")
	view(t, tm, "Edit destination locked", "‹ governance ›", "Lock days      30")
	press(tm, "esc")
	quit(t, tm)
}
