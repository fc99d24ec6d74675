package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// Sizes of the pool benchmarks (see BenchmarkBackupToMinIO for the size
// syntax). The defaults are small enough for a shared 2-core machine; the
// full sizes are in each benchmark's comment.
const (
	benchIncompressibleEnv = "ODOO_BACKUP_BENCH_INCOMPRESSIBLE" // share of incompressible files, default 0.6
	benchB1DumpEnv         = "ODOO_BACKUP_BENCH_B1_DUMP"
	benchB1FilestoreEnv    = "ODOO_BACKUP_BENCH_B1_FILESTORE"
	benchB1FilesEnv        = "ODOO_BACKUP_BENCH_B1_FILES"
	benchB1BackupsEnv      = "ODOO_BACKUP_BENCH_B1_BACKUPS"
	benchB3FilesEnv        = "ODOO_BACKUP_BENCH_B3_FILES"

	// TestPoolBenchChild's orders: its destinations, comma-separated.
	benchPoolChildDestsEnv = "ODOO_BACKUP_BENCH_POOL_CHILD_DESTINATIONS"
)

// BenchmarkPoolFirstBackup backs up ODOO_BACKUP_BENCH_DUMP bytes of dump and
// ODOO_BACKUP_BENCH_FILESTORE bytes of filestore (default 64MiB each; 60%
// of the files incompressible, ODOO_BACKUP_BENCH_INCOMPRESSIBLE) into an
// empty pool, in a child process that does nothing else (its peak RSS),
// and compares it with the serial floor measured just before (pg_dump
// --no-owner to /dev/null, then tar of the filestore). The target
// is 1.0x the floor at 300+300 MB and 1+1 GB, and a peak RSS at or below
// 150 MB for one or three destinations:
//
//	ODOO_BACKUP_BENCH_DUMP=300MB ODOO_BACKUP_BENCH_FILESTORE=300MB \
//	  go test -run '^$' -bench BenchmarkPoolFirstBackup -benchtime 1x -timeout 60m ./core/
//
// Sub-benchmarks: to a local directory, to MinIO, and to three
// destinations at once (a local directory and two MinIO buckets).
func BenchmarkPoolFirstBackup(b *testing.B) {
	dumpBytes := benchSize(b, benchDumpEnv, benchDefaultDump)
	filestoreBytes := benchSize(b, benchFilestoreEnv, benchDefaultFilestore)
	fx := newPoolBenchFixture(b, "bench_pool_first", testbed.OdooOptions{
		Seed: 1, DumpBytes: dumpBytes, FilestoreBytes: filestoreBytes, Incompressible: benchShare(b),
	})
	for _, kinds := range [][]string{{"local"}, {"minio"}, {"local", "minio", "minio"}} {
		b.Run(strings.Join(kinds, "+"), func(b *testing.B) {
			var floor, took time.Duration
			var phases benchPhases
			var peakKiB int64
			for range b.N {
				b.StopTimer()
				f := fx.measureFloor(b)
				floor += f.dump + f.tar
				var dests []string
				for _, k := range kinds {
					dests = append(dests, fx.addPoolDest(b, k).Name)
				}
				b.StartTimer()
				res := fx.runPoolChild(b, dests)
				b.StopTimer()
				took += time.Duration(res.BackupNanos)
				phases.Setup += res.Phases.Setup
				phases.Dump += res.Phases.Dump
				phases.Filestore += res.Phases.Filestore
				phases.Finish += res.Phases.Finish
				peakKiB = max(peakKiB, res.PeakRSSKiB)
				b.StartTimer()
			}
			b.StopTimer()
			fx.showNotes(b)
			n := float64(b.N)
			b.ReportMetric(floor.Seconds()/n, "floor-s")
			b.ReportMetric(took.Seconds()/n, "backup-s")
			b.ReportMetric(took.Seconds()/floor.Seconds(), "x-floor")
			b.ReportMetric(float64(peakKiB*benchBytesPerKiB)/benchMB, "peak-RSS-MB")
			// The files are stored while pg_dump streams: files-wait-s is
			// how long they went on after the dump ended.
			b.ReportMetric(phases.Setup.Seconds()/n, "setup-phase-s")
			b.ReportMetric(phases.Dump.Seconds()/n, "dump-phase-s")
			b.ReportMetric(phases.Filestore.Seconds()/n, "files-wait-s")
			b.ReportMetric(phases.Finish.Seconds()/n, "finish-phase-s")
		})
	}
}

// BenchmarkPoolB1 is B1, scaled: a database whose dump is
// ODOO_BACKUP_BENCH_B1_DUMP (default 16MB) and whose filestore is
// ODOO_BACKUP_BENCH_B1_FILESTORE (default 160MB) in
// ODOO_BACKUP_BENCH_B1_FILES files (default 1600; 60% incompressible),
// backed up to a MinIO pool, then ODOO_BACKUP_BENCH_B1_BACKUPS times
// (default 24) again after 1% new files each time. The full size is
// 1 GB + 10 GB in 100,000 files:
//
//	ODOO_BACKUP_BENCH_B1_DUMP=1GB ODOO_BACKUP_BENCH_B1_FILESTORE=10GB ODOO_BACKUP_BENCH_B1_FILES=100000 \
//	  go test -run '^$' -bench BenchmarkPoolB1 -benchtime 1x -timeout 300m ./core/
//
// It reports the second backup's wall time against pg_dump --no-owner to
// /dev/null alone measured just before (target 1.2x), the bytes it sent
// (every byte of every Put) against the compressed dump (its archive)
// plus the new files (target within 5%), and the bytes stored after all
// the backups against one full zip backup of the last state (target
// 1.5x).
func BenchmarkPoolB1(b *testing.B) {
	dumpBytes := benchSize(b, benchB1DumpEnv, 16e6)
	filestoreBytes := benchSize(b, benchB1FilestoreEnv, 160e6)
	files := benchInt(b, benchB1FilesEnv, 1600)
	backups := benchInt(b, benchB1BackupsEnv, 24)
	for range b.N {
		b.StopTimer()
		fx := newPoolBenchFixture(b, "bench_pool_b1", testbed.OdooOptions{
			Seed: 2, DumpBytes: dumpBytes, FilestoreBytes: filestoreBytes, Files: files, Incompressible: benchShare(b),
		})
		dest := fx.addPoolDest(b, "minio")
		var sent atomic.Int64
		engine := &core.Engine{Catalog: fx.cat, OpenStore: func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
			st, err := s3.Open(ctx, d)
			return &countingStore{ObjectStore: st, n: &sent}, err
		}}
		var clock *phaseClock
		backup := func() core.Backup {
			clock = newPhaseClock()
			bs, err := engine.Backup(fx.ctx, core.BackupRequest{Service: benchService, Destinations: []string{dest.Name}, Progress: clock.progress})
			if err != nil {
				b.Fatalf("backup: %v", err)
			}
			return bs[0]
		}
		full := backup()
		fx.logf("first backup: %d files, %d new objects of %d MB, archive %d MB",
			full.Pool.Files, full.Pool.NewObjects, full.Pool.NewBytes/1e6, full.Size/1e6)
		rng := rand.New(rand.NewPCG(7, 7))
		var secondWall, pgDump time.Duration
		var secondSent, secondRef int64
		var second benchPhases
		for i := range backups {
			var added int64
			for range max(1, files/100) {
				content := benchFileContent(rng, filestoreBytes/int64(files), benchShare(b))
				if _, err := fx.odoo.AddAttachment(fx.ctx, content, ""); err != nil {
					b.Fatal(err)
				}
				added += int64(len(content))
			}
			if i == 0 {
				pgDump = fx.measureFloor(b).dump
			}
			sent.Store(0)
			start := time.Now()
			b.StartTimer()
			bk := backup()
			b.StopTimer()
			if i == 0 {
				secondWall, secondSent, secondRef = time.Since(start), sent.Load(), bk.Size+added
				second = clock.phases(secondWall)
				fx.logf("second backup: %d files, %d new objects of %d MB, archive %d MB, %d bytes sent for %d of archive and new files",
					bk.Pool.Files, bk.Pool.NewObjects, bk.Pool.NewBytes/1e6, bk.Size/1e6, secondSent, secondRef)
			}
		}
		objs, err := fx.st.List(fx.ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		var stored, pooled int64
		for _, o := range objs {
			stored += o.Size
			if strings.HasPrefix(o.Key, pool.Prefix(benchService)) {
				pooled += o.Size
			}
		}
		zipDest := fx.addPoolDest(b, "minio")
		zipDest.Layout = core.LayoutZip
		if err := fx.cat.UpdateDestination(fx.ctx, zipDest); err != nil {
			b.Fatal(err)
		}
		bs, err := engine.Backup(fx.ctx, core.BackupRequest{Service: benchService, Destinations: []string{zipDest.Name}})
		if err != nil {
			b.Fatal(err)
		}
		fx.showNotes(b)
		b.ReportMetric(pgDump.Seconds(), "pgdump-s")
		b.ReportMetric(secondWall.Seconds(), "second-s")
		b.ReportMetric(secondWall.Seconds()/pgDump.Seconds(), "second-x-pgdump")
		b.ReportMetric(float64(secondSent)/benchMB, "second-sent-MB")
		b.ReportMetric(float64(secondSent)/float64(secondRef), "sent-x-dump+new")
		b.ReportMetric(float64(stored)/benchMB, "stored-MB")
		b.ReportMetric(float64(bs[0].Size)/benchMB, "full-zip-MB")
		b.ReportMetric(float64(stored)/float64(bs[0].Size), "stored-x-full")
		// Without the database archives, one per backup: the filestore's
		// share of what is stored.
		b.ReportMetric(float64(pooled)/float64(bs[0].Size), "pool-x-full")
		b.ReportMetric(second.Setup.Seconds(), "second-setup-s")
		b.ReportMetric(second.Dump.Seconds(), "second-dump-s")
		b.ReportMetric(second.Filestore.Seconds(), "second-files-wait-s")
		b.ReportMetric(second.Finish.Seconds(), "second-finish-s")
		b.ReportMetric(float64(backups+1), "backups")
	}
}

// BenchmarkPoolB3 is B3, scaled: a first backup of
// ODOO_BACKUP_BENCH_B3_FILES files of 4 KB (default 10,000; the full size is
// 100,000) into an empty pool, against a full zip backup of the same data,
// each to a fresh MinIO bucket and to a fresh local directory. Target:
// within 1.5x.
//
//	ODOO_BACKUP_BENCH_B3_FILES=100000 go test -run '^$' -bench BenchmarkPoolB3 -benchtime 1x -timeout 60m ./core/
func BenchmarkPoolB3(b *testing.B) {
	files := benchInt(b, benchB3FilesEnv, 10000)
	fx := newPoolBenchFixture(b, "bench_pool_b3", testbed.OdooOptions{
		Seed: 3, Files: files, FileSize: 4096, FilestoreBytes: int64(files) * 4096, Incompressible: benchShare(b),
	})
	engine := &core.Engine{Catalog: fx.cat, OpenStore: s3.Open}
	for _, kind := range []string{"local", "minio"} {
		b.Run(kind, func(b *testing.B) {
			var zipTook, poolTook time.Duration
			for range b.N {
				b.StopTimer()
				zipDest := fx.addPoolDest(b, kind)
				zipDest.Layout = core.LayoutZip
				if err := fx.cat.UpdateDestination(fx.ctx, zipDest); err != nil {
					b.Fatal(err)
				}
				poolDest := fx.addPoolDest(b, kind)
				for _, run := range []struct {
					dest string
					took *time.Duration
				}{{zipDest.Name, &zipTook}, {poolDest.Name, &poolTook}} {
					start := time.Now()
					b.StartTimer()
					bs, err := engine.Backup(fx.ctx, core.BackupRequest{Service: benchService, Destinations: []string{run.dest}})
					b.StopTimer()
					*run.took += time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
					if bs[0].Pool != nil && bs[0].Pool.NewObjects < files-2 {
						b.Fatalf("pool backup stored %d objects for %d files", bs[0].Pool.NewObjects, files)
					}
				}
				b.StartTimer()
			}
			b.StopTimer()
			fx.showNotes(b)
			n := float64(b.N)
			b.ReportMetric(zipTook.Seconds()/n, "zip-s")
			b.ReportMetric(poolTook.Seconds()/n, "pool-s")
			b.ReportMetric(poolTook.Seconds()/zipTook.Seconds(), "x-zip")
		})
	}
}

// newPoolBenchFixture generates an Odoo database as opt says, settled as
// newBenchFixture's is, in a catalog of its own with the service and no
// destination yet.
func newPoolBenchFixture(b *testing.B, name string, opt testbed.OdooOptions) *benchFixture {
	b.Helper()
	pg := servers.Postgres(b)
	ctx := context.Background()
	dir := b.TempDir()
	fx := &benchFixture{ctx: ctx, dir: dir, catalogPath: filepath.Join(dir, "catalog.db")}
	var err error
	if fx.cat, err = store.Open(ctx, fx.catalogPath); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fx.cat.Close() })
	dbCounter++
	db := fmt.Sprintf("%s_%d", name, dbCounter)
	start := time.Now()
	fx.odoo, err = testbed.GenerateOdoo(ctx, pg, db, filepath.Join(dir, "odoo"), opt)
	b.Cleanup(func() { _ = pg.DropDatabase(context.Background(), db) })
	if err != nil {
		b.Fatal(err)
	}
	fx.logf("generated %s (dump about %d MB, filestore about %d MB, %d files, %.0f%% incompressible) in %s",
		db, opt.DumpBytes/1e6, opt.FilestoreBytes/1e6, len(fx.odoo.Files), 100*opt.Incompressible, time.Since(start).Round(time.Second))
	for _, sql := range []string{"VACUUM (FREEZE, ANALYZE)", "CHECKPOINT"} {
		if err := pg.Exec(ctx, db, sql); err != nil {
			b.Fatal(err)
		}
	}
	syscall.Sync()
	svc := fx.odoo.Service(benchService)
	if err := fx.cat.AddService(ctx, &svc, ""); err != nil {
		b.Fatal(err)
	}
	if fx.pgDump, err = (core.PGTools{}).Find("pg_dump", pg.Version); err != nil {
		b.Fatal(err)
	}
	return fx
}

var benchDests atomic.Int64

// addPoolDest adds a fresh, empty pool destination for the service: a new
// local directory ("local") or a new MinIO bucket ("minio"); the first
// MinIO one is also fx.st.
func (fx *benchFixture) addPoolDest(b *testing.B, kind string) core.Destination {
	b.Helper()
	d := core.Destination{Name: fmt.Sprintf("%s%d", kind, benchDests.Add(1)), Layout: core.LayoutPool}
	switch kind {
	case "local":
		d.Kind = core.DestinationLocal
		d.Local.Dir = filepath.Join(fx.dir, d.Name)
		if err := os.MkdirAll(d.Local.Dir, 0o700); err != nil {
			b.Fatal(err)
		}
	default:
		m := servers.MinIO(b)
		d.Kind = core.DestinationS3
		d.S3 = core.S3Settings{Endpoint: m.Endpoint, Bucket: m.NewBucket(b), Prefix: "odoo", AccessKey: m.AccessKey, SecretKey: core.Secret(m.SecretKey), NoTLS: true}
	}
	if err := fx.cat.AddDestination(fx.ctx, &d); err != nil {
		b.Fatal(err)
	}
	if err := fx.cat.SetConfiguration(fx.ctx, core.Configuration{Service: benchService, Destination: d.Name}); err != nil {
		b.Fatal(err)
	}
	if fx.st == nil && d.Kind == core.DestinationS3 {
		st, err := s3.Open(fx.ctx, d)
		if err != nil {
			b.Fatal(err)
		}
		fx.st = st
	}
	return d
}

// poolChildResult is what TestPoolBenchChild hands back.
type poolChildResult struct {
	BackupNanos int64       `json:"backup_nanos"`
	PeakRSSKiB  int64       `json:"peak_rss_kib"`
	Phases      benchPhases `json:"phases"`
}

// runPoolChild runs TestPoolBenchChild, backing the service up to dests in
// a fresh copy of this test binary.
func (fx *benchFixture) runPoolChild(b *testing.B, dests []string) poolChildResult {
	b.Helper()
	result := filepath.Join(fx.dir, "pool-child-result.json")
	_ = os.Remove(result)
	args := []string{"-test.run=^TestPoolBenchChild$", "-test.count=1", "-test.v"}
	if p := os.Getenv(benchCPUProfileEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			b.Fatal(err)
		}
		args = append(args, "-test.cpuprofile="+abs)
	}
	cmd := exec.CommandContext(fx.ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(),
		benchChildCatalogEnv+"="+fx.catalogPath,
		benchChildServiceEnv+"="+benchService,
		benchPoolChildDestsEnv+"="+strings.Join(dests, ","),
		benchChildResultEnv+"="+result,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("child backup: %v\n%s", err, out.String())
	}
	raw, err := os.ReadFile(result)
	if err != nil {
		b.Fatalf("child backup reported nothing (%v); its output:\n%s", err, out.String())
	}
	var res poolChildResult
	if err := json.Unmarshal(raw, &res); err != nil {
		b.Fatal(err)
	}
	return res
}

// TestPoolBenchChild is the child process of BenchmarkPoolFirstBackup: one
// backup to the destinations it is given, its wall time and its peak RSS.
func TestPoolBenchChild(t *testing.T) {
	catalog := os.Getenv(benchChildCatalogEnv)
	dests := os.Getenv(benchPoolChildDestsEnv)
	if catalog == "" || dests == "" {
		t.Skip("run by BenchmarkPoolFirstBackup only")
	}
	ctx := context.Background()
	cat, err := store.Open(ctx, catalog)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	engine := &core.Engine{Catalog: cat, OpenStore: s3.Open}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS: %v", err)
	}
	clock := newPhaseClock()
	bs, err := engine.Backup(ctx, core.BackupRequest{Service: os.Getenv(benchChildServiceEnv), Destinations: strings.Split(dests, ","), Progress: clock.progress})
	took := clock.elapsed()
	peakKiB, perr := procStatusKiB("VmHWM")
	if perr != nil {
		t.Fatal(perr)
	}
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	for _, b := range bs {
		if b.Status != core.StatusSucceeded || b.Pool == nil {
			t.Fatalf("backup: got %+v, want succeeded pool backups", bs)
		}
	}
	res, err := json.Marshal(poolChildResult{BackupNanos: int64(took), PeakRSSKiB: peakKiB, Phases: clock.phases(took)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(benchChildResultEnv), res, 0o600); err != nil {
		t.Fatal(err)
	}
}

// countingStore counts the bytes every Put reads.
type countingStore struct {
	core.ObjectStore
	n *atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader) error {
	return c.ObjectStore.Put(ctx, key, io.TeeReader(r, countingAdder{c.n}))
}

type countingAdder struct{ n *atomic.Int64 }

func (c countingAdder) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// benchFileContent is a new attachment of about size bytes: random bytes
// (incompressible) with probability share, else text.
func benchFileContent(rng *rand.Rand, size int64, share float64) []byte {
	size = max(64, size/2+rng.Int64N(size+1))
	b := make([]byte, size)
	if rng.Float64() < share {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	words := []string{"invoice ", "order ", "partner ", "delivery ", "payment ", "thank you ", "regards\n"}
	var buf bytes.Buffer
	for int64(buf.Len()) < size {
		buf.WriteString(words[rng.IntN(len(words))])
	}
	return buf.Bytes()[:size]
}

func benchShare(b *testing.B) float64 {
	s := os.Getenv(benchIncompressibleEnv)
	if s == "" {
		return 0.6
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1 {
		b.Fatalf("%s=%q: want a share between 0 and 1, e.g. 0.6", benchIncompressibleEnv, s)
	}
	return f
}

func benchInt(b *testing.B, env string, def int) int {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive whole number", env, s)
	}
	return n
}
