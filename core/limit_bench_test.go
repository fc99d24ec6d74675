package core_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
)

// putClock records when each archive Put of a backup started and ended,
// by destination.
type putClock struct {
	mu         sync.Mutex
	start, end map[string]time.Time
}

type clockedStore struct {
	core.ObjectStore
	dest string
	c    *putClock
}

func (s clockedStore) Put(ctx context.Context, key string, r io.Reader) error {
	archive := strings.HasSuffix(key, ".zip")
	if archive {
		r = &firstByte{r: r, at: func() {
			s.c.mu.Lock()
			s.c.start[s.dest] = time.Now()
			s.c.mu.Unlock()
		}}
	}
	err := s.ObjectStore.Put(ctx, key, r)
	if archive {
		s.c.mu.Lock()
		s.c.end[s.dest] = time.Now()
		s.c.mu.Unlock()
	}
	return err
}

// firstByte calls at when the first bytes are read.
type firstByte struct {
	r    io.Reader
	at   func()
	seen bool
}

func (f *firstByte) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && !f.seen {
		f.seen = true
		f.at()
	}
	return n, err
}

// BenchmarkLimitedFanout backs one database up to MinIO and a local
// directory at once (zip layout), first with neither limited, then with
// the directory's upload limited to 8 MiB/s. It reports when MinIO's
// archive was stored in each run (unlimited-s, beside-limited-s: the same
// within noise means the limited destination did not hold it back), how
// long the backup took as a whole, and the limited destination's rate
// (from the first byte it read to its archive stored) and its deviation
// from the limit. ODOO_BACKUP_BENCH_DUMP and
// ODOO_BACKUP_BENCH_FILESTORE size the database (default 64MiB each).
//
//	go test -run '^$' -bench BenchmarkLimitedFanout -benchtime 1x -timeout 30m ./core/
func BenchmarkLimitedFanout(b *testing.B) {
	const limit = 8 << 20
	fx := newBenchFixture(b, benchSize(b, benchDumpEnv, benchDefaultDump), benchSize(b, benchFilestoreEnv, benchDefaultFilestore))
	clock := &putClock{}
	engine := &core.Engine{Catalog: fx.cat, OpenStore: func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
		st, err := s3.Open(ctx, d)
		if err != nil {
			return nil, err
		}
		return clockedStore{ObjectStore: st, dest: d.Name, c: clock}, nil
	}}
	update := func(name string, change func(*core.Destination)) {
		d, err := fx.cat.Destination(fx.ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		change(&d)
		if err := fx.cat.UpdateDestination(fx.ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	// clear empties both destinations, so every backup stores everything
	// (a pool's objects included).
	clear := func() {
		for _, name := range []string{benchDestName, benchLocalName} {
			objs, err := fx.stores[name].List(fx.ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			for _, o := range objs {
				if err := fx.stores[name].Delete(fx.ctx, o.Key); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	type run struct {
		minio, local, total time.Duration
		size                int64
	}
	backup := func() run {
		clear()
		clock.start, clock.end = map[string]time.Time{}, map[string]time.Time{}
		start := time.Now()
		bs, err := engine.Backup(fx.ctx, core.BackupRequest{Service: benchService, Destinations: []string{benchDestName, benchLocalName}})
		total := time.Since(start)
		if err != nil {
			b.Fatalf("backup: %v", err)
		}
		r := run{minio: clock.end[benchDestName].Sub(start), local: clock.end[benchLocalName].Sub(clock.start[benchLocalName]), total: total}
		for _, bk := range bs {
			if bk.Destination == benchLocalName {
				r.size = bk.Size
				if bk.Pool != nil {
					// What the limited destination was sent: the
					// database zip, the new objects and the list.
					r.size += bk.Pool.NewBytes + bk.Pool.ListSize
				}
			}
		}
		return r
	}
	for _, layout := range []core.Layout{core.LayoutZip, core.LayoutPool} {
		b.Run(string(layout), func(b *testing.B) {
			for _, name := range []string{benchDestName, benchLocalName} {
				update(name, func(d *core.Destination) { d.Layout = layout })
			}
			var free, limited run
			for range b.N {
				update(benchLocalName, func(d *core.Destination) { d.Limits.Upload = 0 })
				r := backup()
				free.minio, free.total = free.minio+r.minio, free.total+r.total
				update(benchLocalName, func(d *core.Destination) { d.Limits.Upload = limit })
				r = backup()
				limited.minio, limited.local, limited.total, limited.size = limited.minio+r.minio, limited.local+r.local, limited.total+r.total, r.size
			}
			n := float64(b.N)
			rate := float64(limited.size) / (1 << 20) / (limited.local.Seconds() / n)
			b.ReportMetric(free.minio.Seconds()/n, "unlimited-s")
			b.ReportMetric(limited.minio.Seconds()/n, "beside-limited-s")
			b.ReportMetric(free.total.Seconds()/n, "unlimited-total-s")
			b.ReportMetric(limited.total.Seconds()/n, "limited-total-s")
			b.ReportMetric(float64(limited.size)/(1<<20), "limited-sent-MiB")
			b.ReportMetric(rate, "limited-MiB/s")
			b.ReportMetric(100*(rate-limit/(1<<20))/(limit/(1<<20)), "deviation-%")
		})
	}
}
