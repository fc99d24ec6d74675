package s3

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/store/localdir"
)

// CopyFrom copies between buckets of the same server without streaming, and
// declines (false, nil) when the stores are not on the same endpoint.
func TestS3CopyFromSameEndpoint(t *testing.T) {
	ctx := context.Background()
	srcCfg := testConfig(t)
	srcCfg.Prefix = "a/b"
	src := newTestS3(t, srcCfg)
	dstCfg := testConfig(t)
	dstCfg.Prefix = "copies"
	dst := newTestS3(t, dstCfg)
	want := bytes.Repeat([]byte("odoo"), 300_000)
	if err := src.Put(ctx, "svc/x.zip", bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	ok, err := dst.CopyFrom(ctx, src, "svc/x.zip", "svc/y.zip")
	if err != nil || !ok {
		t.Fatalf("CopyFrom: got %v, %v; want true, nil", ok, err)
	}
	rc, err := dst.Get(ctx, "svc/y.zip", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("copied object: %d bytes, %v; want the %d bytes written", len(got), err, len(want))
	}

	if ok, err := dst.CopyFrom(ctx, src, "svc/missing.zip", "svc/z.zip"); !ok || err == nil || !strings.Contains(err.Error(), "missing.zip") {
		t.Errorf("copy of a missing object: got %v, %v; want true and an error naming it", ok, err)
	}
	if _, err := dst.Stat(ctx, "svc/z.zip"); err == nil {
		t.Error("a failed copy left an object behind")
	}

	other := srcCfg
	other.Endpoint = "127.0.0.1:1"
	if ok, err := dst.CopyFrom(ctx, newTestS3(t, other), "svc/x.zip", "svc/w.zip"); ok || err != nil {
		t.Errorf("copy from another endpoint: got %v, %v; want false, nil", ok, err)
	}
	local, err := localdir.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dst.CopyFrom(ctx, local, "svc/x.zip", "svc/w.zip"); ok || err != nil {
		t.Errorf("copy from a local directory: got %v, %v; want false, nil", ok, err)
	}
}
