package core_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// treeState is everything about a filestore tree a restore must keep when
// it leaves it untouched: the root's inode, and each entry's content hash,
// mode and owner.
type treeState struct {
	inode   uint64
	entries map[string]string
}

func stateOf(t *testing.T, dir string) treeState {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := treeState{inode: fi.Sys().(*syscall.Stat_t).Ino, entries: map[string]string{}}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		what := fmt.Sprintf("%v %d:%d", info.Mode(), st.Uid, st.Gid)
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			what += " " + hex.EncodeToString(sum[:])
		}
		rel, _ := filepath.Rel(dir, p)
		s.entries[rel] = what
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s treeState) diff(other treeState) []string {
	var out []string
	if s.inode != other.inode {
		out = append(out, fmt.Sprintf("root inode %d, now %d", s.inode, other.inode))
	}
	for p, v := range s.entries {
		if w, ok := other.entries[p]; !ok {
			out = append(out, p+": gone")
		} else if v != w {
			out = append(out, fmt.Sprintf("%s: %s, now %s", p, v, w))
		}
	}
	for p := range other.entries {
		if _, ok := s.entries[p]; !ok {
			out = append(out, p+": new")
		}
	}
	slices.Sort(out)
	return out
}

// ownedTarget is staging as on a standard installation: its database
// belongs to a role of its own, its filestore to another system user (as
// root) with modes of its own.
func (e *env) ownedTarget(seed int64) *target {
	e.t.Helper()
	pg := servers.Postgres(e.t)
	db := e.odoo.Name + "_stg"
	stg, err := testbed.GenerateOdoo(e.ctx, pg, db, filepath.Join(e.dir, "staging"), testbed.OdooOptions{Seed: seed, Owner: "odoo_staging"})
	if err != nil {
		e.t.Fatal(err)
	}
	tg := &target{odoo: stg, svc: stg.Service("staging"), primary: core.Destination{Name: "staging-local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(e.dir, "staging-backups")}}}
	if err := os.MkdirAll(tg.primary.Local.Dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	for _, err := range []error{e.cat.AddService(e.ctx, &tg.svc, ""), e.cat.AddDestination(e.ctx, &tg.primary),
		e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "staging", Destination: tg.primary.Name, Primary: true})} {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	uid, gid := stg.UID, stg.GID
	if os.Geteuid() == 0 {
		uid, gid = 65534, 65534
	}
	chmodTree(e.t, stg.FilestoreDir, 0o770, 0o750, 0o640, uid, gid)
	if os.Geteuid() == 0 {
		for _, d := range []string{stg.DataDir, filepath.Dir(stg.FilestoreDir)} {
			if err := os.Lchown(d, uid, gid); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	stg.UID, stg.GID = uid, gid
	if err := stg.CheckAsOwner(e.ctx, pg, db, stg.FilestoreDir); err != nil {
		e.t.Fatalf("staging before the restore: %v", err)
	}
	return tg
}

// dbPrint is the database alone of a print.
func dbPrint(p testbed.Print) testbed.Print {
	p.Files = map[string]string{}
	return p
}

// filesPrint is the filestore alone of a print.
func filesPrint(p testbed.Print) testbed.Print {
	return testbed.Print{Tables: map[string]testbed.TablePrint{}, Sequences: map[string]int64{}, Files: p.Files}
}

func wantSame(t *testing.T, what string, want, got testbed.Print) {
	t.Helper()
	if diff := want.Diff(got); len(diff) > 0 {
		t.Errorf("%s differs:\n%s", what, strings.Join(diff, "\n"))
	}
}

// A restore of one half onto a service: the database alone replaces the
// database (owned by the replaced one's role) and leaves the filestore
// directory as it was, inode, files, owners and modes; the filestore alone
// replaces the filestore (with the replaced one's owner, group and modes)
// and leaves the database as it was, a session on it included. Each takes
// a whole safety backup first, which brings the whole target back.
func TestRestorePartOntoService(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 70})
	b := e.backup("local")[0]
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	tg := e.ownedTarget(71)
	stagingBefore := e.targetPrint(tg)
	if len(dbPrint(source).Diff(dbPrint(stagingBefore))) == 0 || len(filesPrint(source).Diff(filesPrint(stagingBefore))) == 0 {
		t.Fatal("production and staging hold the same database or files; the test could not tell them apart")
	}
	modesBefore, err := testbed.TreeModes(tg.odoo.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("database only", func(t *testing.T) {
		fsBefore := stateOf(t, tg.odoo.FilestoreDir)
		res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Only: core.RestoreDatabaseOnly})
		if err != nil {
			t.Fatal(err)
		}
		now := e.targetPrint(tg)
		wantSame(t, "staging's database and production's at backup time", dbPrint(source), dbPrint(now))
		if diff := fsBefore.diff(stateOf(t, tg.odoo.FilestoreDir)); len(diff) > 0 {
			t.Errorf("the filestore was touched by a restore of the database alone:\n%s", strings.Join(diff, "\n"))
		}
		e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
		if owner, err := pg.QueryString(e.ctx, "postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", tg.odoo.Name); err != nil || owner != "odoo_staging" {
			t.Errorf("restored database owner %q (%v), want odoo_staging", owner, err)
		}
		if res.Only != core.RestoreDatabaseOnly || res.Database != tg.odoo.Name || res.FilestoreDir != "" || res.FilestoreFiles != 0 {
			t.Errorf("result %+v: want the database only, no filestore", res)
		}
		// Production's attachments are not in staging's filestore: counted,
		// not refused.
		if res.MissingCount == 0 || len(res.MissingFiles) == 0 {
			t.Errorf("result says %d attachment files missing from the kept filestore, want some", res.MissingCount)
		}
		if !slices.Contains(res.Checks.Ran, core.CheckKeyTables) || !res.Checks.Passed() {
			t.Errorf("checks %+v: want the database checked and passing", res.Checks)
		}
		e.noLeftovers(tg)

		// The safety backup is whole: it brings staging's database and
		// filestore back.
		safety, err := e.cat.Backup(e.ctx, res.SafetyBackupID)
		if err != nil || safety.Kind != core.KindSafety || safety.Service != "staging" {
			t.Fatalf("safety backup %d: %+v %v", res.SafetyBackupID, safety, err)
		}
		back, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: safety.ID, NewDB: e.odoo.Name + "_back1", FilestoreDir: filepath.Join(e.dir, "back1")})
		if err != nil {
			t.Fatal(err)
		}
		wantSame(t, "the safety backup and staging before", stagingBefore, e.print(back.Database, back.FilestoreDir))
	})

	t.Run("filestore only", func(t *testing.T) {
		dbBefore := dbPrint(e.targetPrint(tg))
		session, err := pg.Connect(e.ctx, tg.odoo.Name)
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close(e.ctx)
		safetyBefore := len(e.safetyBackups())
		res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Only: core.RestoreFilestoreOnly})
		if err != nil {
			t.Fatal(err)
		}
		now := e.targetPrint(tg)
		wantSame(t, "staging's filestore and production's at backup time", filesPrint(source), filesPrint(now))
		wantSame(t, "staging's database before and after a restore of the filestore alone", dbBefore, dbPrint(now))
		if _, err := session.Exec(e.ctx, "SELECT 1"); err != nil {
			t.Errorf("the session open on staging's database was ended by a restore of the filestore alone: %v", err)
		}
		e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
		if modes, err := testbed.TreeModes(tg.odoo.FilestoreDir); err != nil || !slices.Equal(modes, modesBefore) {
			t.Errorf("restored filestore modes %q (%v), want the replaced ones %q", modes, err, modesBefore)
		}
		if res.Only != core.RestoreFilestoreOnly || res.Database != "" || res.FilestoreDir != tg.odoo.FilestoreDir || res.FilestoreFiles == 0 {
			t.Errorf("result %+v: want the filestore only", res)
		}
		// Staging's database is production's by now: its files are all there.
		if res.MissingCount != 0 {
			t.Errorf("result says %d attachment files missing (%q), want none", res.MissingCount, res.MissingFiles)
		}
		if len(res.Checks.Ran) != 0 || len(res.Checks.Skipped) == 0 {
			t.Errorf("checks %+v: want the database checks said to be skipped", res.Checks)
		}
		if n := len(e.safetyBackups()); n != safetyBefore+1 || res.SafetyBackupID == 0 {
			t.Errorf("%d safety backups (result says %d), want %d", n, res.SafetyBackupID, safetyBefore+1)
		}
		e.noLeftovers(tg)
	})

	t.Run("audit and no RTO", func(t *testing.T) {
		entries, err := e.cat.Audit(e.ctx, core.AuditFilter{Service: "staging"})
		if err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, a := range entries {
			if a.Action == core.ActionRestore {
				details = append(details, a.Detail)
			}
		}
		for _, want := range []string{"database only", "filestore only"} {
			if !slices.ContainsFunc(details, func(d string) bool { return strings.Contains(d, want) }) {
				t.Errorf("audit details %q: none says %q", details, want)
			}
		}
		rs, err := e.cat.Restores(e.ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Target == "staging" {
				t.Errorf("a restore of one half onto staging was recorded for the measured RTO: %+v", r)
			}
		}
	})
}

// Into a new database: the database alone makes no filestore directory; the
// filestore alone makes the directory and no database, beside a database
// made another way; each refuses a name that is taken for its own half.
func TestRestorePartNewDB(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 72})
	b := e.backup("local")[0]
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)

	dbName := e.odoo.Name + "_dbonly"
	res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: dbName, Only: core.RestoreDatabaseOnly})
	if err != nil {
		t.Fatal(err)
	}
	fsDir := core.NewDatabaseFilestore(e.svc, dbName)
	if _, err := os.Lstat(fsDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a restore of the database alone made %s (%v)", fsDir, err)
	}
	wantSame(t, "the new database and production's", dbPrint(source), dbPrint(e.print(dbName, "")))
	// The owner role reads and owns everything (its filestore is
	// production's, untouched and already its own).
	e.wantOwned(e.odoo, dbName, e.odoo.FilestoreDir)
	if res.Database != dbName || res.FilestoreDir != "" || res.Only != core.RestoreDatabaseOnly || res.MissingCount == 0 {
		t.Errorf("result %+v: want database %s, no filestore, its attachments counted missing", res, dbName)
	}
	e.nothingBeside(fsDir)

	// The filestore alone, for the database just made.
	res, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: dbName, Only: core.RestoreFilestoreOnly})
	if err != nil {
		t.Fatal(err)
	}
	wantSame(t, "the new filestore and production's", filesPrint(source), filesPrint(e.print(dbName, fsDir)))
	if res.Database != "" || res.FilestoreDir != fsDir || res.MissingCount != 0 {
		t.Errorf("result %+v: want filestore %s, no database, nothing missing", res, fsDir)
	}
	e.wantOwned(e.odoo, dbName, fsDir)
	if modes, err := testbed.TreeModes(fsDir); err != nil || !slices.Equal(modes, modesOf(e.odoo.UID, e.odoo.GID)) {
		t.Errorf("new filestore modes %q (%v), want Odoo's under a 0755 data dir %q", modes, err, modesOf(e.odoo.UID, e.odoo.GID))
	}
	e.nothingBeside(fsDir)

	// The filestore alone, for no database at all.
	fsName := e.odoo.Name + "_fsonly"
	res, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: fsName, Only: core.RestoreFilestoreOnly})
	if err != nil {
		t.Fatal(err)
	}
	if e.dbExists(fsName) {
		t.Errorf("a restore of the filestore alone created database %s", fsName)
	}
	wantSame(t, "the filestore alone and production's", filesPrint(source), filesPrint(e.print(e.odoo.Name, res.FilestoreDir)))
	if err := e.odoo.CheckFilestoreAsOwner(e.ctx, res.FilestoreDir); err != nil {
		t.Errorf("the filestore restored alone is not usable by the data dir's owner: %v", err)
	}

	// Names taken, for the half restored.
	_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: fsName, Only: core.RestoreFilestoreOnly})
	if a, _ := core.AdviceOf(err); !errors.Is(err, core.ErrExists) || a.Action != core.ActionChooseFilestore {
		t.Errorf("filestore there: got %v, want ErrExists advising another filestore", err)
	}
	_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: dbName, Only: core.RestoreDatabaseOnly})
	if a, _ := core.AdviceOf(err); !errors.Is(err, core.ErrExists) || a.Action != core.ActionChooseDatabase {
		t.Errorf("database there: got %v, want ErrExists advising another name", err)
	}
	_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: e.odoo.Name + "_neut", Only: core.RestoreFilestoreOnly, Neutralize: true})
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "filestore alone") {
		t.Errorf("neutralize the filestore alone: got %v, want a refusal", err)
	}
	if _, err := os.Lstat(core.NewDatabaseFilestore(e.svc, e.odoo.Name+"_neut")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused restore made a filestore (%v)", err)
	}
	e.noLoaders()
}

// nothingBeside fails if a restore left a staging directory beside dir.
func (e *env) nothingBeside(dir string) {
	e.t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), ".") {
			e.t.Errorf("left beside %s: %s", dir, en.Name())
		}
	}
}

// A pool backup's filestore comes from the pool, restored alone onto a
// service and for a new database.
func TestRestorePartPool(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 73})
	e.usePool()
	b := e.backup("minio")[0]
	if b.Format != core.FormatOdooPool || b.Pool == nil || b.Pool.Files == 0 {
		t.Fatalf("backup %+v: want a pool backup with files", b)
	}
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	tg := e.ownedTarget(74)
	modesBefore, err := testbed.TreeModes(tg.odoo.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	dbBefore := dbPrint(e.targetPrint(tg))
	session, err := pg.Connect(e.ctx, tg.odoo.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close(e.ctx)
	res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Only: core.RestoreFilestoreOnly})
	if err != nil {
		t.Fatal(err)
	}
	now := e.targetPrint(tg)
	wantSame(t, "staging's filestore and the pool backup's", filesPrint(source), filesPrint(now))
	wantSame(t, "staging's database", dbBefore, dbPrint(now))
	if _, err := session.Exec(e.ctx, "SELECT 1"); err != nil {
		t.Errorf("the session on staging's database was ended: %v", err)
	}
	e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
	if modes, err := testbed.TreeModes(tg.odoo.FilestoreDir); err != nil || !slices.Equal(modes, modesBefore) {
		t.Errorf("restored filestore modes %q (%v), want the replaced ones %q", modes, err, modesBefore)
	}
	// Staging's own attachments are not among production's files: counted.
	if res.MissingCount == 0 {
		t.Errorf("result says no attachment file of staging's database is missing from production's filestore")
	}
	if res.FilestoreFiles != b.Pool.Files {
		t.Errorf("%d files restored, the backup holds %d", res.FilestoreFiles, b.Pool.Files)
	}
	e.noLeftovers(tg)

	// The database alone from the same backup reads no pool object.
	fsBefore := stateOf(t, tg.odoo.FilestoreDir)
	if _, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Only: core.RestoreDatabaseOnly}); err != nil {
		t.Fatal(err)
	}
	wantSame(t, "staging's whole data and production's", source, e.targetPrint(tg))
	if diff := fsBefore.diff(stateOf(t, tg.odoo.FilestoreDir)); len(diff) > 0 {
		t.Errorf("the filestore was touched:\n%s", strings.Join(diff, "\n"))
	}
	e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)

	name := e.odoo.Name + "_poolfs"
	res, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: name, Only: core.RestoreFilestoreOnly})
	if err != nil {
		t.Fatal(err)
	}
	if e.dbExists(name) {
		t.Errorf("database %s was created", name)
	}
	wantSame(t, "the new filestore and the pool backup's", filesPrint(source), filesPrint(e.print(e.odoo.Name, res.FilestoreDir)))
	if err := e.odoo.CheckFilestoreAsOwner(e.ctx, res.FilestoreDir); err != nil {
		t.Errorf("the pool filestore restored alone is not usable by the data dir's owner: %v", err)
	}
	e.noLoaders()
}

// A backup that holds no filestore (an Odoo zip without filestore entries,
// a pool backup with an empty file list) cannot give its filestore alone:
// refused before the safety backup, with nothing changed.
func TestRestorePartNoFilestore(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 75, Files: -1})
	zipped := e.backup("local")[0]
	e.usePool()
	pooled := e.backup("minio")[0]
	if pooled.Pool == nil || pooled.Pool.Files != 0 || zipped.Format == core.FormatOdooPool {
		t.Fatalf("backups %+v, %+v: want a zip and an empty pool backup", zipped, pooled)
	}
	tg := e.addTarget(76)
	before := e.targetPrint(tg)
	for _, b := range []core.Backup{zipped, pooled} {
		holds, err := e.engine.HoldsFilestore(e.ctx, b)
		if err != nil || holds {
			t.Errorf("backup %d (%s): holds a filestore %v (%v), want false", b.ID, b.Format, holds, err)
		}
		_, err = e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Only: core.RestoreFilestoreOnly})
		want := fmt.Sprintf("backup %d holds no filestore, so there is none to restore", b.ID)
		if a, _ := core.AdviceOf(err); !errors.Is(err, core.ErrInvalid) || err.Error() != want || a.Action != core.ActionRestoreWhole {
			t.Errorf("backup %d onto staging: got %v, want %q advising a whole restore", b.ID, err, want)
		}
		if n := len(e.safetyBackups()); n != 0 {
			t.Errorf("%d safety backups taken for a refused restore", n)
		}
		e.wantUnchanged(tg, before)
		name := e.odoo.Name + "_nofs"
		_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: name, Only: core.RestoreFilestoreOnly})
		if err == nil || err.Error() != want {
			t.Errorf("backup %d into a new database: got %v, want %q", b.ID, err, want)
		}
		if _, err := os.Lstat(core.NewDatabaseFilestore(e.svc, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused restore made a filestore (%v)", err)
		}
	}
	// Refused too: neutralizing a filestore, before anything.
	full := e.backup("minio")[0]
	_, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: full.ID, Service: "staging", Only: core.RestoreFilestoreOnly, Neutralize: true})
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "filestore alone") {
		t.Errorf("neutralize the filestore alone: got %v, want a refusal", err)
	}
	if n := len(e.safetyBackups()); n != 0 {
		t.Errorf("%d safety backups taken for a refused restore", n)
	}
	// The database alone of such a backup is fine.
	if _, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: zipped.ID, Service: "staging", Only: core.RestoreDatabaseOnly}); err != nil {
		t.Fatal(err)
	}
	e.noLeftovers(tg)
}

// A restore of the filestore alone that fails while it swaps the
// directories leaves the target as it was: the first move refused, or the
// second one after the target's directory was moved aside (moved back).
func TestRestorePartFilestoreSwapFails(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 77})
	b := e.backup("local")[0]
	tg := e.addTarget(78)
	before := e.targetPrint(tg)
	fsBefore := stateOf(t, tg.odoo.FilestoreDir)
	session, err := pg.Connect(e.ctx, tg.odoo.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close(e.ctx)
	real := *core.RenameDir
	defer func() { *core.RenameDir = real }()
	for failAt := 1; failAt <= 2; failAt++ {
		t.Run(fmt.Sprintf("move %d fails", failAt), func(t *testing.T) {
			calls := 0
			*core.RenameDir = func(from, to string) error {
				calls++
				if calls == failAt {
					return &os.LinkError{Op: "rename", Old: from, New: to, Err: syscall.EIO}
				}
				return real(from, to)
			}
			safetyBefore := len(e.safetyBackups())
			res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Only: core.RestoreFilestoreOnly})
			*core.RenameDir = real
			if err == nil || !strings.Contains(err.Error(), "nothing was changed") || !strings.Contains(err.Error(), "input/output error") {
				t.Fatalf("got %v, want a failure that changed nothing and says why", err)
			}
			oneSentence(t, err.Error())
			e.wantUnchanged(tg, before)
			if diff := fsBefore.diff(stateOf(t, tg.odoo.FilestoreDir)); len(diff) > 0 {
				t.Errorf("the filestore is not as it was:\n%s", strings.Join(diff, "\n"))
			}
			if _, err := session.Exec(e.ctx, "SELECT 1"); err != nil {
				t.Errorf("the session on staging's database was ended: %v", err)
			}
			if n := len(e.safetyBackups()); n != safetyBefore+1 || res.SafetyBackupID == 0 {
				t.Errorf("%d safety backups, want %d", n, safetyBefore+1)
			}
		})
	}
}

// A restore asked of a host's daemon carries the part: the daemon restores
// the filestore alone and leaves the database as it was.
func TestRestorePartRequest(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 79})
	b := e.backup("local")[0]
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	tg := e.addTarget(80)
	dbBefore := dbPrint(e.targetPrint(tg))
	r := core.Request{Kind: core.RequestRestore, Host: core.HostName(), Service: "staging",
		Params: core.RequestParams{BackupID: b.ID, Target: "staging", Confirmed: true, Only: core.RestoreFilestoreOnly}}
	if err := e.cat.SubmitRequest(e.ctx, &r); err != nil {
		t.Fatal(err)
	}
	cl := core.Claimer{Holder: "daemon", PID: os.Getpid(), Host: core.HostName()}
	r, ok, err := e.cat.ClaimRequest(e.ctx, r.Host, cl)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if r.Params.Only != core.RestoreFilestoreOnly {
		t.Fatalf("the claimed request asks for %q, want the filestore", r.Params.Only)
	}
	if err := e.engine.RunRequest(e.ctx, e.cat, r, cl); err != nil {
		t.Fatal(err)
	}
	got, err := e.cat.Request(e.ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var res core.RestoreResult
	if err := json.Unmarshal(got.Result, &res); err != nil || got.Status != core.RequestSucceeded || res.Only != core.RestoreFilestoreOnly {
		t.Fatalf("request ended %s (%s) with %s (%v), want succeeded, the filestore only", got.Status, got.Error, got.Result, err)
	}
	now := e.targetPrint(tg)
	wantSame(t, "staging's filestore and production's", filesPrint(source), filesPrint(now))
	wantSame(t, "staging's database", dbBefore, dbPrint(now))
	e.noLeftovers(tg)
}
