package s3

import (
	"bytes"
	"io"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3/storetest"
)

// limitedDestination is an S3 destination of the test MinIO with limits
// high enough to keep the tests quick; id 0 gives each store its own
// limiters.
func limitedDestination(t *testing.T) core.Destination {
	cfg := testConfig(t)
	return core.Destination{Name: "limited", Kind: core.DestinationS3, S3: cfg.S3Settings,
		Limits: core.BandwidthLimits{Upload: 1 << 30, Download: 1 << 30}}
}

// A store opened with limits keeps the store's contract.
func TestS3ConformanceLimited(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.ObjectStore {
		st, err := Open(t.Context(), limitedDestination(t))
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

// What the limiters count is the bytes on the wire: more than the
// object both ways (requests, headers, responses), for S3 and for a local
// directory, both opened by Open.
func TestOpenAppliesTheLimits(t *testing.T) {
	ctx := t.Context()
	data := bytes.Repeat([]byte("limited "), 3<<17) // 3 MiB: a multipart upload
	for _, d := range []core.Destination{
		limitedDestination(t),
		{ID: 0, Name: "dir", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()},
			Limits: core.BandwidthLimits{Upload: 1 << 30, Download: 1 << 30}},
	} {
		d.ID = int64(len(d.Name)) + 7_000_000 // its own limiters, shared by every open
		lim := core.DestinationLimiters(d)
		st, err := Open(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		up0, down0 := lim.Up.Taken(), lim.Down.Taken()
		if err := st.Put(ctx, "x/y.zip", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		rc, err := st.Get(ctx, "x/y.zip", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: read back %d bytes, %v", d.Kind, len(got), err)
		}
		up, down := lim.Up.Taken()-up0, lim.Down.Taken()-down0
		if up < int64(len(data)) || down < int64(len(data)) {
			t.Errorf("%s: the limiters counted %d bytes sent and %d read for an object of %d", d.Kind, up, down, len(data))
		}
		t.Logf("%s: %d bytes sent, %d read for an object of %d", d.Kind, up, down, len(data))
	}
}
