package core_test

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
)

// starts lists the phases seen with when each started, in order.
func (c *phaseClock) starts() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	phases := slices.SortedFunc(maps.Keys(c.seen), func(a, b core.Phase) int { return cmp.Compare(c.seen[a], c.seen[b]) })
	out := make([]string, len(phases))
	for i, p := range phases {
		out[i] = fmt.Sprintf("%s %.2fs", p, c.seen[p].Seconds())
	}
	return strings.Join(out, ", ")
}

// benchPoolRestoreMaxXFloor is the target for B2.
const benchPoolRestoreMaxXFloor = 1.2

// BenchmarkPoolRestore (B2) restores a pool backup on MinIO of the
// benchmark's database (ODOO_BACKUP_BENCH_DUMP and _FILESTORE, as
// BenchmarkBackupToMinIO) into a new database, and compares it with its
// floor, measured just before each restore: what a person restoring by
// hand from local files does at the least, create the database, psql of
// dump.sql from a local file, and copy the filestore from local disk
// (cp -a). The restore does all its checks on top: the archive's checksum,
// every file's content, the staged copy's checks.
func BenchmarkPoolRestore(b *testing.B) {
	pg := servers.Postgres(b)
	fx := newBenchFixture(b, benchSize(b, benchDumpEnv, benchDefaultDump), benchSize(b, benchFilestoreEnv, benchDefaultFilestore))
	d, err := fx.cat.Destination(fx.ctx, benchDestName)
	if err != nil {
		b.Fatal(err)
	}
	d.Layout = core.LayoutPool
	if err := fx.cat.UpdateDestination(fx.ctx, d); err != nil {
		b.Fatal(err)
	}
	engine := &core.Engine{Catalog: fx.cat, OpenStore: s3.Open}
	bs, err := engine.Backup(fx.ctx, core.BackupRequest{Service: benchService, Destinations: []string{benchDestName}})
	if err != nil || len(bs) != 1 || bs[0].Format != core.FormatOdooPool {
		b.Fatalf("backup: %v %+v; want one pool backup", err, bs)
	}
	bk := bs[0]

	// The floor's input: the same dump, as a local file.
	dumpFile := filepath.Join(fx.dir, "dump.sql")
	c := fx.odoo.Conn
	dump := exec.CommandContext(fx.ctx, fx.pgDump.Path, "--no-owner", "--file", dumpFile,
		"--host", c.Host, "--port", strconv.Itoa(c.Port), "--username", c.User, "--no-password", c.Database)
	dump.Env = append(os.Environ(), "PGPASSWORD="+c.Password.Reveal())
	if out, err := dump.CombinedOutput(); err != nil {
		b.Fatalf("pg_dump: %v: %s", err, out)
	}
	psql := filepath.Join(pg.BinDir, "psql")

	var floors, restores []time.Duration
	for i := range b.N {
		b.StopTimer()
		floorDB, floorFS := fx.odoo.Name+"_floor", filepath.Join(fx.dir, "floor-fs")
		start := time.Now()
		if err := pg.CreateDatabase(fx.ctx, floorDB); err != nil {
			b.Fatal(err)
		}
		load := exec.CommandContext(fx.ctx, psql, "--quiet", "--no-psqlrc", "--file", dumpFile, pg.ConnString(floorDB))
		var stderr bytes.Buffer
		load.Stdout, load.Stderr = nil, &stderr
		if err := load.Run(); err != nil {
			b.Fatalf("psql: %v: %s", err, stderr.String())
		}
		if out, err := exec.CommandContext(fx.ctx, "cp", "-a", fx.odoo.FilestoreDir, floorFS).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v: %s", err, out)
		}
		floors = append(floors, time.Since(start))
		if err := pg.DropDatabase(fx.ctx, floorDB); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(floorFS); err != nil {
			b.Fatal(err)
		}

		newDB, newFS := fx.odoo.Name+"_r"+strconv.Itoa(i), filepath.Join(fx.dir, "restored-fs")
		b.StartTimer()
		clock := newPhaseClock()
		res, err := engine.RestoreNewDB(fx.ctx, core.RestoreRequest{BackupID: bk.ID, NewDB: newDB, FilestoreDir: newFS, Progress: clock.progress})
		restores = append(restores, clock.elapsed())
		b.StopTimer()
		b.Logf("restore phases start at: %s", clock.starts())
		if err != nil || res.FilestoreFiles != bk.Pool.Files {
			b.Fatalf("restore: %v, %d files; want %d", err, res.FilestoreFiles, bk.Pool.Files)
		}
		if err := pg.DropDatabase(fx.ctx, newDB); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(newFS); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	fx.showNotes(b)
	var floor, restore time.Duration
	for i := range floors {
		floor += floors[i]
		restore += restores[i]
	}
	n := float64(len(floors))
	b.ReportMetric(floor.Seconds()/n, "floor-s")
	b.ReportMetric(restore.Seconds()/n, "restore-s")
	x := restore.Seconds() / floor.Seconds()
	b.ReportMetric(x, "x-floor")
	b.Logf("pool restore of %d files (%d MB) and the dump: %.2f s, floor (createdb + psql of a local dump.sql + cp -a of the filestore) %.2f s: %.2fx (target %.1fx)",
		bk.Pool.Files, bk.Pool.Bytes/1e6, restore.Seconds()/n, floor.Seconds()/n, x, benchPoolRestoreMaxXFloor)
}
