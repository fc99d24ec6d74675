package core_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/odoozip"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// Sizes of the benchmark's database, e.g. "1GB" or "64MiB" (KB, MB, GB are
// powers of 1000, KiB, MiB, GiB powers of 1024; a bare number is bytes).
const (
	benchDumpEnv      = "ODOO_BACKUP_BENCH_DUMP"
	benchFilestoreEnv = "ODOO_BACKUP_BENCH_FILESTORE"
	// benchCPUProfileEnv and benchMemProfileEnv name files for the CPU and
	// allocation profiles of the child backup (the one process that does
	// nothing but the backup).
	benchCPUProfileEnv = "ODOO_BACKUP_BENCH_CPUPROFILE"
	benchMemProfileEnv = "ODOO_BACKUP_BENCH_MEMPROFILE"
	// benchDestsEnv lists the destinations one backup goes to, fanned out
	// (default "minio"): "minio", "minio2" (a second bucket of the same
	// MinIO) and "local" (a directory), e.g. "local,minio,minio2".
	benchDestsEnv = "ODOO_BACKUP_BENCH_DESTS"

	benchDefaultDump      = 64 << 20
	benchDefaultFilestore = 64 << 20
)

// The child process of the benchmark reads its orders from these;
// TestBenchChild skips unless benchChildCatalogEnv is set.
const (
	benchChildCatalogEnv     = "ODOO_BACKUP_BENCH_CHILD_CATALOG"
	benchChildServiceEnv     = "ODOO_BACKUP_BENCH_CHILD_SERVICE"
	benchChildDestinationEnv = "ODOO_BACKUP_BENCH_CHILD_DESTINATION"
	benchChildResultEnv      = "ODOO_BACKUP_BENCH_CHILD_RESULT"
)

const (
	// The targets.
	benchMaxRSSMB  = 150
	benchMaxXFloor = 2.0

	benchMB          = 1e6 // every -MB metric, and MB/s, counts 10^6 bytes
	benchBytesPerKiB = 1024
	benchService     = "bench"
	benchDestName    = "minio"
	benchDest2Name   = "minio2"
	benchLocalName   = "local"
)

// BenchmarkBackupToMinIO backs up an Odoo database of ODOO_BACKUP_BENCH_DUMP
// bytes of plain dump and ODOO_BACKUP_BENCH_FILESTORE bytes of filestore
// (default 64MiB each) to MinIO, and compares it with the floor: the time
// pg_dump alone takes to write the dump, plus the time tar takes to read the
// filestore. The targets are a backup within 2x of that floor and a
// peak RSS under 150 MB whatever the size.
//
//	ODOO_BACKUP_BENCH_DUMP=1GB ODOO_BACKUP_BENCH_FILESTORE=1GB \
//	  go test -run '^$' -bench BenchmarkBackupToMinIO -benchtime 1x -timeout 60m ./core/
//
// ODOO_BACKUP_BENCH_DESTS=local,minio,minio2 fans the backup out to a local
// directory and two MinIO buckets instead (any of the three, in any order;
// default minio): the inspected archive is the first destination's.
//
// Both sub-benchmarks use one generated database, and measure the floor
// again before every backup, so that a machine whose load drifts (other
// test runs) moves both alike:
//   - in-process: Engine.Backup in the test process. MB/s is the archive's.
//   - child: the same backup in a child process (this test binary again,
//     running TestBenchChild) that does nothing else, for its peak RSS. Its
//     ns/op includes the child's start-up (TestMain starts, and the child
//     stops, a PostgreSQL and a MinIO of its own); backup-s is timed around
//     Engine.Backup, inside the child.
//
// Besides wall times, it reports the time of each phase of the backup, and
// the CPU time of every process that takes part: on a machine with two
// cores, PostgreSQL, pg_dump, the engine and MinIO share them, and the sum
// bounds the wall time from below.
//
// ODOO_BACKUP_BENCH_CPUPROFILE=cpu.pprof (and ODOO_BACKUP_BENCH_MEMPROFILE=
// mem.pprof) write the CPU (and allocation) profile of the child backup;
// read it with go tool pprof -top core.test cpu.pprof after go test -c.
func BenchmarkBackupToMinIO(b *testing.B) {
	dumpBytes := benchSize(b, benchDumpEnv, benchDefaultDump)
	filestoreBytes := benchSize(b, benchFilestoreEnv, benchDefaultFilestore)
	fx := newBenchFixture(b, dumpBytes, filestoreBytes)

	b.Run("in-process", func(b *testing.B) {
		engine := &core.Engine{Catalog: fx.cat, OpenStore: s3.Open}
		var runs []benchRun
		for range b.N {
			b.StopTimer()
			run := benchRun{floor: fx.measureFloor(b)}
			before := readBenchUsage(b)
			clock := newPhaseClock()
			b.StartTimer()
			bs, err := engine.Backup(fx.ctx, core.BackupRequest{
				Service: benchService, Destinations: fx.dests, Progress: clock.progress,
			})
			run.backup = clock.elapsed()
			b.StopTimer()
			run.cpu = readBenchUsage(b).sub(before)
			run.phases = clock.phases(run.backup)
			if err != nil {
				b.Fatalf("backup: %v", err)
			}
			fx.checkBackups(b, bs)
			run.size = bs[0].Size
			fx.inspect(b, bs[0])
			for _, bk := range bs {
				fx.remove(b, bk.Destination, bk.Key)
			}
			runs = append(runs, run)
			b.StartTimer()
		}
		b.StopTimer()
		fx.showNotes(b)
		b.SetBytes(runs[len(runs)-1].size)
		fx.report(b, runs)
	})

	b.Run("child", func(b *testing.B) {
		var runs []benchRun
		var peakKiB, baseKiB, wait4KiB int64
		for range b.N {
			b.StopTimer()
			floor := fx.measureFloor(b)
			before := readBenchUsage(b)
			b.StartTimer()
			res, usage := fx.runChild(b)
			b.StopTimer()
			// The servers are this process's children; the engine and
			// pg_dump were counted in the child, around the backup.
			servers := readBenchUsage(b).sub(before)
			runs = append(runs, benchRun{
				floor:  floor,
				backup: time.Duration(res.BackupNanos),
				phases: res.Phases,
				cpu: benchUsage{
					self: time.Duration(res.EngineCPUNanos), children: time.Duration(res.PGDumpCPUNanos),
					postgres: servers.postgres, minio: servers.minio,
				},
				size: res.Size,
			})
			peakKiB = max(peakKiB, res.PeakRSSKiB)
			baseKiB = max(baseKiB, res.BaseRSSKiB)
			wait4KiB = max(wait4KiB, usage.Maxrss)
			fx.inspect(b, core.Backup{Destination: fx.dests[0], Key: res.Key, Size: res.Size})
			for i, key := range res.Keys {
				fx.remove(b, fx.dests[i], key)
			}
			b.StartTimer()
		}
		b.StopTimer()
		fx.showNotes(b)
		fx.report(b, runs)
		// Not b.SetBytes: ns/op includes the child's start-up.
		var size int64
		var took time.Duration
		for _, r := range runs {
			size += r.size
			took += r.backup
		}
		b.ReportMetric(float64(size)/benchMB/took.Seconds(), "archive-MB/s")

		// peak-RSS-MB is the child's own peak resident set during the
		// backup (VmHWM, reset just before it): the engine's memory, with
		// what the test binary held when the backup started (base-RSS-MB).
		// pg_dump is a separate process and does not count.
		//
		// wait4-maxrss-MB is what the target is read on,
		// cmd.ProcessState.SysUsage().Maxrss. It does not measure the
		// engine: it is the largest peak of the child and of every process
		// the child reaped (pg_dump, and the PostgreSQL and MinIO servers
		// that TestMain starts in the child too), and it is never below the
		// peak of this benchmark process when it started the child (see
		// procStatusKiB). It is reported to show the difference.
		peakMB := float64(peakKiB*benchBytesPerKiB) / benchMB
		b.ReportMetric(peakMB, "peak-RSS-MB")
		b.ReportMetric(float64(baseKiB*benchBytesPerKiB)/benchMB, "base-RSS-MB")
		b.ReportMetric(float64(wait4KiB*benchBytesPerKiB)/benchMB, "wait4-maxrss-MB")
		if peakMB > benchMaxRSSMB {
			b.Logf("MISSED TARGET: peak RSS %.0f MB (target under %d MB)", peakMB, benchMaxRSSMB)
		}
	})
}

// benchRun is one measured backup, with the floor measured just before it.
type benchRun struct {
	floor  benchFloor
	backup time.Duration
	phases benchPhases
	cpu    benchUsage
	size   int64
}

// benchFloor is what no backup can beat: pg_dump writing the plain dump to
// /dev/null, then tar reading every file of the filestore.
type benchFloor struct {
	dump, tar time.Duration
	cpu       benchUsage // pg_dump's (children) and its backend's (postgres)
}

// benchPhases splits a backup's wall time at the engine's progress phases:
// connecting and reading the manifest's facts, streaming pg_dump into
// dump.sql, adding the filestore files, then finishing (the last parts of
// the upload, the metadata object, the catalog).
type benchPhases struct {
	Setup, Dump, Filestore, Finish time.Duration
}

// report reports the means over runs. Every number goes through
// b.ReportMetric; the targets are checked on them.
func (fx *benchFixture) report(b *testing.B, runs []benchRun) {
	b.Helper()
	var floor benchFloor
	var backup time.Duration
	var phases benchPhases
	var cpu benchUsage
	var size int64
	for _, r := range runs {
		floor.dump += r.floor.dump
		floor.tar += r.floor.tar
		floor.cpu = floor.cpu.add(r.floor.cpu)
		backup += r.backup
		phases.Setup += r.phases.Setup
		phases.Dump += r.phases.Dump
		phases.Filestore += r.phases.Filestore
		phases.Finish += r.phases.Finish
		cpu = cpu.add(r.cpu)
		size += r.size
	}
	n := float64(len(runs))
	mean := func(d time.Duration) float64 { return d.Seconds() / n }
	floorS, backupS := mean(floor.dump+floor.tar), mean(backup)

	b.ReportMetric(mean(floor.dump), "floor-pgdump-s")
	b.ReportMetric(mean(floor.tar), "floor-tar-s")
	b.ReportMetric(floorS, "floor-s")
	b.ReportMetric(backupS, "backup-s")
	b.ReportMetric(backupS/floorS, "x-floor")
	b.ReportMetric(mean(phases.Setup), "setup-phase-s")
	b.ReportMetric(mean(phases.Dump), "dump-phase-s")
	b.ReportMetric(mean(phases.Filestore), "files-phase-s")
	b.ReportMetric(mean(phases.Finish), "finish-phase-s")

	b.ReportMetric(float64(size)/n/benchMB, "archive-MB")
	b.ReportMetric(float64(fx.dumpSize)/benchMB, "dump-MB")
	b.ReportMetric(float64(fx.filestoreSize)/benchMB, "filestore-MB")

	// CPU time per backup of every process that takes part. CPU time
	// hardly depends on what else the machine does; on two cores, half the
	// total is a lower bound of the wall time.
	b.ReportMetric(mean(cpu.self), "engine-cpu-s")
	b.ReportMetric(mean(cpu.children), "pgdump-cpu-s")
	b.ReportMetric(mean(cpu.postgres), "postgres-cpu-s")
	b.ReportMetric(mean(cpu.minio), "minio-cpu-s")
	b.ReportMetric(mean(cpu.total()), "total-cpu-s")
	b.ReportMetric(mean(floor.cpu.total()), "floor-cpu-s")

	if x := backupS / floorS; x > benchMaxXFloor {
		b.Logf("MISSED TARGET: backup took %.2fs, %.2fx the floor of %.2fs (target %.1fx)", backupS, x, floorS, benchMaxXFloor)
	}
}

// phaseClock times a backup and notes when each progress phase starts.
type phaseClock struct {
	start time.Time
	mu    sync.Mutex
	seen  map[core.Phase]time.Duration
}

func newPhaseClock() *phaseClock {
	return &phaseClock{start: time.Now(), seen: map[core.Phase]time.Duration{}}
}

func (c *phaseClock) progress(p core.Progress) {
	at := time.Since(c.start)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[p.Phase]; !ok {
		c.seen[p.Phase] = at
	}
}

func (c *phaseClock) elapsed() time.Duration { return time.Since(c.start) }

// phases splits total at the phases seen; one never seen takes no time.
func (c *phaseClock) phases(total time.Duration) benchPhases {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := func(phase core.Phase, def time.Duration) time.Duration {
		if t, ok := c.seen[phase]; ok {
			return t
		}
		return def
	}
	finish := at(core.PhaseFinish, total)
	filestore := at(core.PhaseFilestore, finish)
	dump := at(core.PhaseDump, filestore)
	return benchPhases{Setup: dump, Dump: filestore - dump, Filestore: finish - filestore, Finish: total - finish}
}

// benchChildResult is what TestBenchChild hands back to the benchmark.
type benchChildResult struct {
	Key         string      `json:"key"`
	Keys        []string    `json:"keys"` // one per destination
	Size        int64       `json:"size"`
	BackupNanos int64       `json:"backup_nanos"`
	Phases      benchPhases `json:"phases"`
	// PeakRSSKiB is the child's peak RSS during the backup (VmHWM, reset
	// just before it); BaseRSSKiB what it held when the backup started.
	PeakRSSKiB     int64 `json:"peak_rss_kib"`
	BaseRSSKiB     int64 `json:"base_rss_kib"`
	EngineCPUNanos int64 `json:"engine_cpu_nanos"`
	PGDumpCPUNanos int64 `json:"pg_dump_cpu_nanos"`
}

// TestBenchChild is the child process of BenchmarkBackupToMinIO: one backup,
// in a process that does nothing else, so that its peak RSS is the engine's.
func TestBenchChild(t *testing.T) {
	catalog := os.Getenv(benchChildCatalogEnv)
	if catalog == "" {
		t.Skip("run by BenchmarkBackupToMinIO only")
	}
	ctx := context.Background()
	cat, err := store.Open(ctx, catalog)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	engine := &core.Engine{Catalog: cat, OpenStore: s3.Open}
	// The backup uses the benchmark's servers; this process starts none
	// (they start on first use). The peak that counts is the backup's, not
	// that of the process starting up: reset the high-water mark.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS: %v", err)
	}
	baseKiB, err := procStatusKiB("VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	before := readBenchUsage(t)
	clock := newPhaseClock()
	bs, err := engine.Backup(ctx, core.BackupRequest{
		Service:      os.Getenv(benchChildServiceEnv),
		Destinations: strings.Split(os.Getenv(benchChildDestinationEnv), ","),
		Progress:     clock.progress,
	})
	took := clock.elapsed()
	cpu := readBenchUsage(t).sub(before)
	peakKiB, perr := procStatusKiB("VmHWM")
	if perr != nil {
		t.Fatal(perr)
	}
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	var keys []string
	for _, bk := range bs {
		if bk.Status != core.StatusSucceeded {
			t.Fatalf("backup: got %+v, want only succeeded backups", bs)
		}
		keys = append(keys, bk.Key)
	}
	res, err := json.Marshal(benchChildResult{
		Key: bs[0].Key, Keys: keys, Size: bs[0].Size, BackupNanos: int64(took), Phases: clock.phases(took),
		PeakRSSKiB: peakKiB, BaseRSSKiB: baseKiB,
		EngineCPUNanos: int64(cpu.self), PGDumpCPUNanos: int64(cpu.children),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(benchChildResultEnv), res, 0o600); err != nil {
		t.Fatal(err)
	}
}

// benchFixture is one generated Odoo database with its filestore, in a
// catalog with a manual-only MinIO destination.
type benchFixture struct {
	ctx         context.Context
	dir         string
	catalogPath string
	cat         *store.Catalog
	odoo        *testbed.OdooDB
	// dests are the destinations of every backup (benchDestsEnv), stores
	// every destination's store by name.
	dests  []string
	stores map[string]core.ObjectStore
	// st is the store of the "minio" destination (the pool benchmarks'
	// first MinIO one).
	st     core.ObjectStore
	pgDump core.Tool

	// From the first archive: dump.sql's and the files' uncompressed sizes.
	dumpSize, filestoreSize int64
	files                   int

	// notes are shown by the sub-benchmarks: a benchmark that has
	// sub-benchmarks does not print its own log.
	notes []string
}

func (fx *benchFixture) logf(format string, args ...any) {
	fx.notes = append(fx.notes, fmt.Sprintf(format, args...))
}

func (fx *benchFixture) showNotes(b *testing.B) {
	for _, n := range fx.notes {
		b.Log(n)
	}
	fx.notes = nil
}

func newBenchFixture(b *testing.B, dumpBytes, filestoreBytes int64) *benchFixture {
	b.Helper()
	pg := servers.Postgres(b)
	minio := servers.MinIO(b)
	ctx := context.Background()
	dir := b.TempDir()
	fx := &benchFixture{ctx: ctx, dir: dir, catalogPath: filepath.Join(dir, "catalog.db")}
	var err error
	if fx.cat, err = store.Open(ctx, fx.catalogPath); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fx.cat.Close() })

	dbCounter++
	db := fmt.Sprintf("bench_backup_%d", dbCounter)
	start := time.Now()
	fx.odoo, err = testbed.GenerateOdoo(ctx, pg, db, filepath.Join(dir, "odoo"),
		testbed.OdooOptions{Seed: 1, DumpBytes: dumpBytes, FilestoreBytes: filestoreBytes})
	b.Cleanup(func() { _ = pg.DropDatabase(context.Background(), db) })
	if err != nil {
		b.Fatal(err)
	}
	fx.logf("generated %s (dump about %d MB, filestore about %d MB, %d files) in %s",
		db, dumpBytes/1e6, filestoreBytes/1e6, len(fx.odoo.Files), time.Since(start).Round(time.Second))

	// A freshly loaded database is not what a backup usually meets: the
	// first reads of its pages set hint bits and write them back, and
	// autovacuum gets to work on the new tables. Settle it, and write the
	// filestore out, so that the floor and every backup see the same state.
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
	fx.stores = map[string]core.ObjectStore{}
	if err := os.Mkdir(filepath.Join(dir, "backups"), 0o700); err != nil {
		b.Fatal(err)
	}
	for _, dest := range []core.Destination{
		{Name: benchDestName, Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: minio.Endpoint, Bucket: minio.NewBucket(b), Prefix: "odoo", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true}},
		{Name: benchDest2Name, Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: minio.Endpoint, Bucket: minio.NewBucket(b), Prefix: "odoo", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true}},
		{Name: benchLocalName, Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(dir, "backups")}},
	} {
		if err := fx.cat.AddDestination(ctx, &dest); err != nil {
			b.Fatal(err)
		}
		if err := fx.cat.SetConfiguration(ctx, core.Configuration{Service: benchService, Destination: dest.Name}); err != nil {
			b.Fatal(err)
		}
		if fx.stores[dest.Name], err = s3.Open(ctx, dest); err != nil {
			b.Fatal(err)
		}
	}
	fx.st = fx.stores[benchDestName]
	fx.dests = []string{benchDestName}
	if v := strings.TrimSpace(os.Getenv(benchDestsEnv)); v != "" {
		fx.dests = strings.Split(v, ",")
	}
	for _, d := range fx.dests {
		if fx.stores[d] == nil {
			b.Fatalf("%s=%q: no destination %q; use %s, %s or %s", benchDestsEnv, os.Getenv(benchDestsEnv), d, benchDestName, benchDest2Name, benchLocalName)
		}
	}
	fx.logf("destinations: %s", strings.Join(fx.dests, ", "))
	// The pg_dump the engine picks for this server.
	if fx.pgDump, err = (core.PGTools{}).Find("pg_dump", pg.Version); err != nil {
		b.Fatal(err)
	}
	return fx
}

// measureFloor times pg_dump --no-owner writing the database to /dev/null,
// then tar reading the filestore directory.
func (fx *benchFixture) measureFloor(b *testing.B) benchFloor {
	b.Helper()
	var f benchFloor
	c := fx.odoo.Conn
	dump := exec.CommandContext(fx.ctx, fx.pgDump.Path, "--no-owner",
		"--host", c.Host, "--port", strconv.Itoa(c.Port), "--username", c.User, "--no-password", c.Database)
	dump.Env = append(os.Environ(), "PGPASSWORD="+c.Password.Reveal())
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	var stderr bytes.Buffer
	dump.Stdout, dump.Stderr = devNull, &stderr
	before := readBenchUsage(b)
	start := time.Now()
	if err := dump.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", dump, err, stderr.String())
	}
	f.dump = time.Since(start)
	afterDump := readBenchUsage(b)

	// Not `tar -cf /dev/null`: GNU tar notices that its archive is
	// /dev/null (by name, or by device when it is stdout) and then does not
	// read the files at all. Its output goes through a pipe into this
	// process instead.
	tar := exec.CommandContext(fx.ctx, "tar", "-cf", "-", "-C", fx.odoo.FilestoreDir, ".")
	stderr.Reset()
	tar.Stderr = &stderr
	out, err := tar.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	if err := tar.Start(); err != nil {
		b.Fatal(err)
	}
	n, copyErr := io.Copy(io.Discard, out)
	if err := tar.Wait(); err != nil || copyErr != nil {
		b.Fatalf("%s: %v %v\n%s", tar, err, copyErr, stderr.String())
	}
	f.tar = time.Since(start)
	// The server's share is read after tar, when the postmaster has surely
	// reaped pg_dump's backend.
	afterTar := readBenchUsage(b)
	f.cpu = benchUsage{children: afterDump.children - before.children, postgres: afterTar.postgres - before.postgres}
	fx.logf("floor: pg_dump (%s) %s, tar %s (%d MB)", fx.pgDump.Version, f.dump.Round(time.Millisecond),
		f.tar.Round(time.Millisecond), n/1e6)
	return f
}

// inspect reads the archive's central directory, once, for the sizes of what
// it holds; it also shows the archive is a zip with every file in it.
func (fx *benchFixture) inspect(b *testing.B, bk core.Backup) {
	b.Helper()
	if fx.dumpSize > 0 {
		return
	}
	zr, err := zip.NewReader(benchReaderAt{fx.ctx, fx.stores[bk.Destination], bk.Key}, bk.Size)
	if err != nil {
		b.Fatalf("archive %s: %v", bk.Key, err)
	}
	for _, f := range zr.File {
		switch {
		case f.Name == odoozip.DumpName:
			fx.dumpSize = int64(f.UncompressedSize64)
		case strings.HasPrefix(f.Name, odoozip.FilestoreDir):
			fx.filestoreSize += int64(f.UncompressedSize64)
			fx.files++
		}
	}
	want := len(fx.odoo.Files) - len(fx.odoo.Orphans)
	if fx.dumpSize == 0 || fx.files != want {
		b.Fatalf("archive %s: dump.sql of %d bytes and %d files, want a dump and %d files", bk.Key, fx.dumpSize, fx.files, want)
	}
	fx.logf("archive: %d MB holding dump.sql of %d MB and %d files of %d MB",
		bk.Size/1e6, fx.dumpSize/1e6, fx.files, fx.filestoreSize/1e6)
}

// checkBackups checks a backup succeeded on every destination.
func (fx *benchFixture) checkBackups(b *testing.B, bs []core.Backup) {
	b.Helper()
	if len(bs) != len(fx.dests) {
		b.Fatalf("backup: got %+v, want one backup on each of %s", bs, strings.Join(fx.dests, ", "))
	}
	for _, bk := range bs {
		if bk.Status != core.StatusSucceeded {
			b.Fatalf("backup: got %+v, want only succeeded backups", bs)
		}
	}
}

// remove deletes an archive and its metadata object from destination dest,
// so that a long run does not fill the disk.
func (fx *benchFixture) remove(b *testing.B, dest, key string) {
	b.Helper()
	for _, k := range []string{key, core.MetadataKey(key)} {
		if err := fx.stores[dest].Delete(fx.ctx, k); err != nil {
			b.Fatal(err)
		}
	}
}

// runChild runs TestBenchChild in a fresh copy of this test binary and
// returns what it reported and what wait4 said of it.
func (fx *benchFixture) runChild(b *testing.B) (benchChildResult, *syscall.Rusage) {
	b.Helper()
	result := filepath.Join(fx.dir, "child-result.json")
	_ = os.Remove(result)
	args := []string{"-test.run=^TestBenchChild$", "-test.count=1", "-test.v"}
	for env, flag := range map[string]string{benchCPUProfileEnv: "-test.cpuprofile=", benchMemProfileEnv: "-test.memprofile="} {
		if p := os.Getenv(env); p != "" {
			abs, err := filepath.Abs(p)
			if err != nil {
				b.Fatal(err)
			}
			args = append(args, flag+abs)
		}
	}
	cmd := exec.CommandContext(fx.ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(),
		benchChildCatalogEnv+"="+fx.catalogPath,
		benchChildServiceEnv+"="+benchService,
		benchChildDestinationEnv+"="+strings.Join(fx.dests, ","),
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
	var res benchChildResult
	if err := json.Unmarshal(raw, &res); err != nil {
		b.Fatal(err)
	}
	usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatalf("no resource usage for the child (got %T)", cmd.ProcessState.SysUsage())
	}
	return res, usage
}

// benchUsage is CPU time used so far: by this process, by the children it
// reaped (pg_dump), and by the PostgreSQL and MinIO servers this process
// started (zero in the child, whose engine uses the benchmark's servers).
type benchUsage struct {
	self, children  time.Duration
	postgres, minio time.Duration
}

func (u benchUsage) sub(v benchUsage) benchUsage {
	return benchUsage{u.self - v.self, u.children - v.children, u.postgres - v.postgres, u.minio - v.minio}
}

func (u benchUsage) add(v benchUsage) benchUsage {
	return benchUsage{u.self + v.self, u.children + v.children, u.postgres + v.postgres, u.minio + v.minio}
}

func (u benchUsage) total() time.Duration { return u.self + u.children + u.postgres + u.minio }

func readBenchUsage(tb testing.TB) benchUsage {
	tb.Helper()
	var self, children syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children); err != nil {
		tb.Fatal(err)
	}
	cpu := func(r *syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	u := benchUsage{self: cpu(&self), children: cpu(&children)}
	var err error
	if u.postgres, err = childCPU("postgres"); err != nil {
		tb.Fatal(err)
	}
	if u.minio, err = childCPU("minio"); err != nil {
		tb.Fatal(err)
	}
	return u
}

// childCPU sums the CPU time of this process's children named comm, with
// that of the processes they reaped: for the postmaster, every backend that
// has exited (pg_dump's and the engine's connections among them).
func childCPU(comm string) (time.Duration, error) {
	const ticksPerSecond = 100 // USER_HZ, the unit of /proc on Linux
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	self := os.Getpid()
	var ticks int64
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ... utime stime cutime cstime: fields 4
		// and 14 to 17.
		stat := string(raw)
		open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		if open < 0 || end < open || stat[open+1:end] != comm {
			continue
		}
		f := strings.Fields(stat[end+1:])
		if len(f) < 15 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != self {
			continue
		}
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / ticksPerSecond, nil
}

// procStatusKiB reads a "Vm..." line of /proc/self/status, in KiB.
//
// Not getrusage's ru_maxrss for the peak: os/exec starts a process with
// vfork, sharing the parent's memory until exec, and Linux carries that
// memory's high-water mark into the new program's ru_maxrss (RUSAGE_SELF
// in the child, and what wait4 reports to the parent alike). A child of a
// test process that has grown to 300 MB reports a maxrss of 300 MB however
// little it uses. VmHWM belongs to the child's own address space.
func procStatusKiB(field string) (int64, error) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

// benchReaderAt reads an object by ranges, for zip's central directory.
type benchReaderAt struct {
	ctx context.Context
	st  core.ObjectStore
	key string
}

func (r benchReaderAt) ReadAt(p []byte, off int64) (int, error) {
	rc, err := r.st.Get(r.ctx, r.key, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.ReadFull(rc, p)
}

// benchSize reads a size such as "1GB", "64MiB" or "1000000" from the
// environment.
func benchSize(b *testing.B, env string, def int64) int64 {
	b.Helper()
	s := strings.TrimSpace(os.Getenv(env))
	if s == "" {
		return def
	}
	n, err := parseBenchSize(s)
	if err != nil {
		b.Fatalf("%s=%q: %v", env, s, err)
	}
	return n
}

func parseBenchSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"B", 1},
	}
	s = strings.TrimSpace(s)
	mult := int64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			num, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("not a size; use a number with KB, MB, GB (or KiB, MiB, GiB), e.g. 1GB")
	}
	return int64(f * float64(mult)), nil
}

func TestParseBenchSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1GB", 1e9}, {"64MB", 64e6}, {"64MiB", 64 << 20}, {"1.5GiB", 3 << 29}, {"4096", 4096},
		{"10kb", 10e3}, {"2g", 2e9}, {" 256 MB ", 256e6}, {"100B", 100},
	} {
		got, err := parseBenchSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseBenchSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "GB", "-1MB", "1XB", "lots"} {
		if got, err := parseBenchSize(bad); err == nil {
			t.Errorf("parseBenchSize(%q) = %d, want an error", bad, got)
		}
	}
}
