package s3

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// BenchmarkLimitedTransfer puts and gets 64 MiB through a destination
// limited to 8 MiB/s each way, opened by Open as every command opens one,
// on MinIO and on a local directory. It reports the rate of the object's
// bytes (MiB/s), its deviation from the limit in percent, and the rate the
// limiter saw on the wire (headers and responses included).
//
//	go test -run '^$' -bench BenchmarkLimitedTransfer -benchtime 1x ./s3/
func BenchmarkLimitedTransfer(b *testing.B) {
	const size, limit = 64 << 20, 8 << 20
	for _, kind := range []core.DestinationKind{core.DestinationS3, core.DestinationLocal} {
		d := core.Destination{ID: int64(8_000_000 + len(kind)), Name: "limited-" + string(kind), Kind: kind,
			Limits: core.BandwidthLimits{Upload: limit, Download: limit}}
		if kind == core.DestinationS3 {
			d.S3 = testConfig(b).S3Settings
		} else {
			d.Local.Dir = b.TempDir()
		}
		st, err := Open(context.Background(), d)
		if err != nil {
			b.Fatal(err)
		}
		lim := core.DestinationLimiters(d)
		report := func(b *testing.B, took time.Duration, wire int64) {
			rate := float64(size) / (1 << 20) / (took.Seconds() / float64(b.N))
			b.ReportMetric(rate, "MiB/s")
			b.ReportMetric(100*(rate-limit/(1<<20))/(limit/(1<<20)), "deviation-%")
			b.ReportMetric(float64(wire)/(1<<20)/took.Seconds(), "wire-MiB/s")
			b.ReportMetric(0, "ns/op")
		}
		b.Run(fmt.Sprintf("%s/put", kind), func(b *testing.B) {
			ctx := context.Background()
			before := lim.Up.Taken()
			start := time.Now()
			for i := range b.N {
				if err := st.Put(ctx, fmt.Sprintf("bench/%d", i), &generated{left: size}); err != nil {
					b.Fatal(err)
				}
			}
			report(b, time.Since(start), lim.Up.Taken()-before)
		})
		b.Run(fmt.Sprintf("%s/get", kind), func(b *testing.B) {
			ctx := context.Background()
			if err := st.Put(ctx, "bench/get", &generated{left: size}); err != nil {
				b.Fatal(err)
			}
			before := lim.Down.Taken()
			start := time.Now()
			for range b.N {
				rc, err := st.Get(ctx, "bench/get", 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil || n != size {
					b.Fatalf("read %d bytes, %v", n, err)
				}
			}
			report(b, time.Since(start), lim.Down.Taken()-before)
		})
	}
}
