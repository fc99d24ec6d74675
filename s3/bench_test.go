package s3

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkS3PutStream streams generated data of unknown length through Put
// to MinIO with the default part size, and reports the throughput (MB/s),
// the growth of the process's peak RSS, and the peak of live heap objects
// sampled during the upload. Both stay flat when the object grows.
func BenchmarkS3PutStream(b *testing.B) {
	for _, bc := range []struct {
		size        int64
		concurrency int
	}{
		{64 << 20, DefaultConcurrency},
		{512 << 20, DefaultConcurrency},
		{512 << 20, 1},
	} {
		b.Run(fmt.Sprintf("size=%dMiB/concurrency=%d", bc.size>>20, bc.concurrency), func(b *testing.B) {
			cfg := testConfig(b)
			cfg.PartSize = 0 // the default, as in production
			cfg.Concurrency = bc.concurrency
			s := newTestS3(b, cfg)
			ctx := context.Background()
			b.SetBytes(bc.size)

			// Hand back what earlier runs left mapped, so the peak below
			// is this run's own.
			debug.FreeOSMemory()
			rssBefore := resetPeakRSS(b)
			heap := sampleHeap()
			b.ResetTimer()
			for i := range b.N {
				if err := s.Put(ctx, fmt.Sprintf("bench/%d", i), &generated{left: bc.size}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			peakHeap := heap()
			b.ReportMetric(float64(peakRSS(b)-rssBefore)/(1<<20), "peak-RSS-growth-MiB")
			b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
			for i := range b.N {
				_ = s.Delete(ctx, fmt.Sprintf("bench/%d", i))
			}
		})
	}
}

// generated yields left bytes of incompressible data, without holding them.
type generated struct {
	left int64
}

var block = func() []byte {
	b := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}()

func (g *generated) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), g.left))
	off := int(g.left % int64(len(block)))
	n = copy(p[:n], block[off:])
	g.left -= int64(n)
	return n, nil
}

// resetPeakRSS resets the kernel's VmHWM to the current RSS and returns it.
func resetPeakRSS(b *testing.B) int64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS (%v); the growth includes earlier peaks", err)
	}
	return peakRSS(b)
}

// peakRSS is VmHWM from /proc/self/status, in bytes.
func peakRSS(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Skip("no VmHWM in /proc/self/status")
	return 0
}

// sampleHeap samples the bytes of live and not yet swept heap objects
// every few milliseconds until the returned function is called, which
// returns the largest value seen.
func sampleHeap() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}
