package core_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// primaryPool makes minio, in the pool layout, the service's primary.
func (e *env) primaryPool() {
	e.t.Helper()
	e.usePool()
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: "minio", Frequency: core.Daily, Primary: true}); err != nil {
		e.t.Fatal(err)
	}
}

// nothingRestored fails if a restore left a filestore, or its staging
// directory, in the test's directory.
func (e *env) nothingRestored() {
	e.t.Helper()
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), "restored-") || strings.HasPrefix(en.Name(), ".restored-") {
			e.t.Errorf("a refused restore left %s", en.Name())
		}
	}
}

// TestPoolRestoreEveryPath: a pool backup restores through every path
// (a new database, onto a service, a drill, a service copy) to the data it
// was taken from, the filestore fetched from the pool with the owner and
// modes a zip's restore gives; verify counts its files, and reads every
// object back when asked.
func TestPoolRestoreEveryPath(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 40, Files: 30, FilestoreBytes: 900 << 10})
	e.primaryPool()
	b := e.backup("minio")[0]
	if b.Format != core.FormatOdooPool || b.Pool.Files != len(e.odoo.Files) {
		t.Fatalf("backup %+v: want a pool backup of %d files", b, len(e.odoo.Files))
	}
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)

	for _, readData := range []bool{false, true} {
		res, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID, ReadData: readData})
		if err != nil {
			t.Fatalf("verify (read data %v): %v", readData, err)
		}
		if res.FilestoreFiles != b.Pool.Files || int64(res.FilestoreBytes) != b.Pool.Bytes || res.DumpBytes == 0 || res.Manifest.Version == "" {
			t.Errorf("verify (read data %v): %d files, %d bytes, dump %d; want %d files, %d bytes", readData, res.FilestoreFiles, res.FilestoreBytes, res.DumpBytes, b.Pool.Files, b.Pool.Bytes)
		}
	}

	newDB := e.odoo.Name + "_new"
	res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB})
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.Diff(e.print(newDB, res.FilestoreDir)); len(diff) > 0 {
		t.Errorf("the new database differs from the source:\n%s", strings.Join(diff, "\n"))
	}
	if res.FilestoreFiles != b.Pool.Files || res.MissingCount != 0 {
		t.Errorf("restore result: %d files, %d missing; want %d, 0", res.FilestoreFiles, res.MissingCount, b.Pool.Files)
	}
	e.wantOwned(e.odoo, newDB, res.FilestoreDir)

	tg := e.addTarget(41)
	if _, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"}); err != nil {
		t.Fatal(err)
	}
	if diff := source.Diff(e.targetPrint(tg)); len(diff) > 0 {
		t.Errorf("staging differs from the source:\n%s", strings.Join(diff, "\n"))
	}
	// The service's owner, not the backup's source's.
	e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
	e.noLeftovers(tg)

	dr, err := e.drill("minio")
	if err != nil || dr.Drill.Status != core.DrillOK || dr.Drill.Details.FilestoreFiles != b.Pool.Files {
		t.Errorf("drill: %v, %+v; want ok with %d files", err, dr.Drill, b.Pool.Files)
	}

	copyFS := filepath.Join(e.dir, "copy-fs")
	cp, err := e.engine.CopyService(e.ctx, core.CopyServiceRequest{Source: "prod", NewName: "prod-copy", NewDB: e.odoo.Name + "_cp", FilestoreDir: copyFS})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Backup.Format != core.FormatOdooPool || cp.Backup.Pool.NewObjects != 0 {
		t.Errorf("copy backup %+v: want a pool backup storing nothing new", cp.Backup)
	}
	if diff := (testbed.Print{Files: source.Files}).Diff(testbed.Print{Files: e.print(e.odoo.Name+"_cp", copyFS).Files}); len(diff) > 0 {
		t.Errorf("the copy's filestore differs from the source's:\n%s", strings.Join(diff, "\n"))
	}
}

// TestPoolObjectDamagedBehindTheToolsBack: a pool object deleted, or
// altered, outside the tool: verify names every backup that refers to it
// (and passes the one that does not), and every restore path refuses
// before the target changes, leaving nothing behind.
func TestPoolObjectDamagedBehindTheToolsBack(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 50, Files: 8, FilestoreBytes: 200 << 10})
	e.primaryPool()
	older := e.backup("minio")[0]
	added, err := e.odoo.AddAttachment(e.ctx, []byte(strings.Repeat("a late invoice ", 3000)), "")
	if err != nil {
		t.Fatal(err)
	}
	newer := e.backup("minio")[0]
	var victim pool.Entry
	for _, en := range e.poolList(e.s3, newer) {
		if en.Name == added {
			victim = en
		}
	}
	if victim.Object == "" {
		t.Fatalf("file %s is not in backup %d's list", added, newer.ID)
	}
	key := pool.ObjectKey("prod", victim.Object)
	st := e.store(e.s3)
	tg := e.addTarget(51)

	for _, fault := range []string{"deleted", "resized", "altered"} {
		t.Run(fault, func(t *testing.T) {
			want := core.ErrNotFound
			switch fault {
			case "deleted":
				if err := st.Delete(e.ctx, key); err != nil {
					t.Fatal(err)
				}
			case "resized":
				// The listing shows it.
				if err := st.Put(e.ctx, key, strings.NewReader(strings.Repeat("x", int(victim.Stored)+1))); err != nil {
					t.Fatal(err)
				}
				want = core.ErrCorrupt
			default:
				// Same size, other bytes: only reading it shows it.
				if err := st.Put(e.ctx, key, strings.NewReader(strings.Repeat("x", int(victim.Stored)))); err != nil {
					t.Fatal(err)
				}
				want = core.ErrCorrupt
			}
			named := func(err error) bool {
				return errors.Is(err, want) && strings.Contains(err.Error(), fmt.Sprintf("backup %d ", newer.ID)) &&
					strings.Contains(err.Error(), added) && strings.Contains(err.Error(), victim.Object)
			}

			// verify: the older backup, which does not hold the file, is
			// sound; the newer one is damaged, by a listing for a missing
			// object, by reading it back for an altered one.
			for _, readData := range []bool{false, true} {
				if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: older.ID, ReadData: readData}); err != nil {
					t.Errorf("verify of backup %d, which does not refer to the object: %v", older.ID, err)
				}
				_, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: newer.ID, ReadData: readData})
				if fault == "altered" && !readData {
					if err != nil {
						t.Errorf("verify of a same-size alteration without reading data: %v; the listing cannot see it", err)
					}
					continue
				}
				if !named(err) || !strings.Contains(err.Error(), "1 of its 9 filestore files") {
					t.Errorf("verify (read data %v): %v; want %v naming backup %d, file %s, object %s and the count", readData, err, want, newer.ID, added, victim.Object)
				}
			}

			// Every restore path refuses and changes nothing.
			newDB := e.odoo.Name + "_" + fault
			fsDir := filepath.Join(e.dir, "restored-"+fault)
			_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: newer.ID, NewDB: newDB, FilestoreDir: fsDir})
			if !named(err) {
				t.Errorf("restore into a new database: %v; want %v naming the backup, file and object", err, want)
			}
			if e.dbExists(newDB) || e.databasesLike(newDB) != "" {
				t.Errorf("database %s or its staging copy exists after a refused restore", newDB)
			}
			e.nothingRestored()

			before := e.targetPrint(tg)
			safety := len(e.safetyBackups())
			_, err = e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: newer.ID, Service: "staging"})
			if !named(err) {
				t.Errorf("restore onto a service: %v; want %v naming the backup, file and object", err, want)
			}
			e.wantUnchanged(tg, before)
			if n := len(e.safetyBackups()); fault != "altered" && n != safety {
				t.Errorf("a restore refused by the listing took a safety backup (%d, were %d)", n, safety)
			}

			dr, err := e.drill("minio")
			// (The newest backup: after the first fault, a service copy's,
			// which refers to the object as well.)
			if err == nil || dr.Drill.Status != core.DrillFailed || !strings.Contains(dr.Drill.Error, victim.Object) {
				t.Errorf("drill: %v, %+v; want failed naming object %s", err, dr.Drill, victim.Object)
			}

			// A service copy's fresh backup takes the unchanged file from
			// the newer backup's list, so it refers to the object too.
			copyDB := e.odoo.Name + "_cp" + fault[:3]
			_, err = e.engine.CopyService(e.ctx, core.CopyServiceRequest{Source: "prod", NewName: "copy-" + fault, NewDB: copyDB, FilestoreDir: filepath.Join(e.dir, "restored-copy")})
			if !errors.Is(err, want) || !strings.Contains(err.Error(), victim.Object) {
				t.Errorf("service copy: %v; want %v naming object %s", err, want, victim.Object)
			}
			if e.dbExists(copyDB) || e.databasesLike(copyDB) != "" {
				t.Errorf("the refused copy left database %s", copyDB)
			}
			if _, err := e.cat.Service(e.ctx, "copy-"+fault); !errors.Is(err, core.ErrNotFound) {
				t.Errorf("the refused copy registered its service: %v", err)
			}
			e.nothingRestored()
			e.noLoaders()
			if n, err := pg.QueryInt(e.ctx, e.odoo.Name, "SELECT count(*) FROM ir_attachment WHERE store_fname = $1", added); err != nil || n != 1 {
				t.Errorf("the source lost its attachment: %d, %v", n, err)
			}
		})
	}
}

// TestPoolDownloadRestoresAsOdooDoes: the zip a pool backup downloads as,
// restored by Odoo's own procedure (create the database, psql dump.sql,
// move filestore/ into place), gives the same tables and files as the
// full zip of the same data restored the same way.
func TestPoolDownloadRestoresAsOdooDoes(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 60, Files: 25, FilestoreBytes: 700 << 10})
	e.s3.Layout = core.LayoutPool
	if err := e.cat.UpdateDestination(e.ctx, e.s3); err != nil {
		t.Fatal(err)
	}
	pooled, full := e.backup("minio")[0], e.backup("local")[0]
	if pooled.Format != core.FormatOdooPool || full.Format == core.FormatOdooPool {
		t.Fatalf("formats %q and %q: want a pool backup and a full zip", pooled.Format, full.Format)
	}
	restore := func(b core.Backup, name string) testbed.Print {
		t.Helper()
		dir := filepath.Join(e.dir, "by-hand-"+name)
		zipPath := filepath.Join(e.dir, name+".zip")
		var total int64
		if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: b.ID, Path: zipPath, Progress: func(p core.Progress) { total = p.Total }}); err != nil {
			t.Fatal(err)
		}
		// The console's bar ends near its total: the zip is about the
		// archive plus every object as stored.
		fi, err := os.Stat(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		if total < fi.Size()*95/100 || total > fi.Size()*105/100 {
			t.Errorf("download of %s: progress total %d for a zip of %d bytes", name, total, fi.Size())
		}
		// Odoo's zipfile extracts it.
		if out, err := exec.Command("python3", "-c", "import zipfile, sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])", zipPath, dir).CombinedOutput(); err != nil {
			t.Fatalf("extract %s: %v: %s", zipPath, err, out)
		}
		db := e.odoo.Name + "_" + name
		if err := pg.CreateDatabase(e.ctx, db); err != nil {
			t.Fatal(err)
		}
		psql := exec.Command(filepath.Join(pg.BinDir, "psql"), "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-f", filepath.Join(dir, "dump.sql"), pg.ConnString(db))
		if out, err := psql.CombinedOutput(); err != nil {
			t.Fatalf("psql %s: %v: %s", name, err, out)
		}
		fs := filepath.Join(e.dir, "filestore-"+name)
		if err := os.Rename(filepath.Join(dir, "filestore"), fs); err != nil {
			t.Fatal(err)
		}
		return e.print(db, fs)
	}
	fromPool, fromZip := restore(pooled, "pool"), restore(full, "zip")
	if len(fromZip.Files) != len(e.odoo.Files) || fromZip.Rows() == 0 {
		t.Fatalf("the full zip restored %d files, %d rows; want %d files", len(fromZip.Files), fromZip.Rows(), len(e.odoo.Files))
	}
	if diff := fromZip.Diff(fromPool); len(diff) > 0 {
		t.Errorf("the pool backup's zip restores differently from the full zip:\n%s", strings.Join(diff, "\n"))
	}
}

// TestPoolRestoreAndDownloadInterrupted: Ctrl-C at every phase of a
// restore from the pool (the files are fetched while the dump loads)
// creates nothing and leaves nothing; an interrupted download of a pool
// backup, reading objects ahead, leaves no file.
func TestPoolRestoreAndDownloadInterrupted(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 65, Files: 40, FilestoreBytes: 2 << 20})
	e.usePool()
	b := e.backup("minio")[0]
	for i, phase := range []core.Phase{core.PhaseVerify, core.PhaseRestoreDB, core.PhaseRestoreFS, core.PhaseCheck} {
		newDB := e.odoo.Name + "_int" + string(rune('a'+i))
		ctx, cancel := context.WithCancel(e.ctx)
		c := &cancelAt{phase: phase, cancel: cancel}
		_, err := e.engine.RestoreNewDB(ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, FilestoreDir: filepath.Join(e.dir, "restored-"+newDB), Progress: c.progress})
		cancel()
		if !c.wasSeen() {
			t.Fatalf("the restore never reported phase %q (err %v)", phase, err)
		}
		wantInterrupted(t, err, "nothing was created")
		if left := e.databasesLike(newDB); left != "" {
			t.Errorf("%s: databases left behind: %s", phase, left)
		}
		e.nothingRestored()
	}
	e.noLoaders()

	out := filepath.Join(t.TempDir(), "prod.zip")
	ctx, cancel := context.WithCancel(e.ctx)
	c := &cancelAt{phase: core.PhaseDownload, cancel: cancel}
	_, err := e.engine.Download(ctx, core.DownloadRequest{BackupID: b.ID, Path: out, Progress: c.progress})
	cancel()
	wantInterrupted(t, err, "the partial file was removed")
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) > 0 {
		t.Errorf("an interrupted download left %v", entries)
	}
}
