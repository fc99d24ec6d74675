package core_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// wantOwned checks a restored database and filestore as the Odoo service of
// odb would use them: its role reads every table and owns every object, its
// system user reads and writes the filestore. No loader role is left.
func (e *env) wantOwned(odb *testbed.OdooDB, db, filestore string) {
	e.t.Helper()
	pg := servers.Postgres(e.t)
	if err := odb.CheckAsOwner(e.ctx, pg, db, filestore); err != nil {
		e.t.Errorf("restored %s is not usable by its owner: %v", db, err)
	}
	e.noLoaders()
}

// noLoaders fails if a restore left its throwaway role behind.
func (e *env) noLoaders() {
	e.t.Helper()
	pg := servers.Postgres(e.t)
	left, err := pg.QueryString(e.ctx, "postgres", "SELECT coalesce(string_agg(rolname, ','), '') FROM pg_roles WHERE starts_with(rolname, $1)", core.LoaderPrefix)
	if err != nil {
		e.t.Fatal(err)
	}
	if left != "" {
		e.t.Errorf("loader roles left behind: %s", left)
	}
}

// as is odb seen as another owner: role and password, system user.
func as(t *testing.T, odb *testbed.OdooDB, role string, uid, gid int) *testbed.OdooDB {
	t.Helper()
	pg := servers.Postgres(t)
	c := *odb
	pw, err := pg.EnsureRole(context.Background(), role)
	if err != nil {
		t.Fatal(err)
	}
	c.Owner, c.OwnerPassword, c.UID, c.GID = role, pw, uid, gid
	return &c
}

// chmodTree gives a filestore unusual modes, so a restore that keeps them
// shows it did not make them up.
func chmodTree(t *testing.T, root string, rootMode, dirMode, fileMode fs.FileMode, uid, gid int) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fileMode
		switch {
		case p == root:
			mode = rootMode
		case d.IsDir():
			mode = dirMode
		}
		if os.Geteuid() == 0 {
			if err := os.Lchown(p, uid, gid); err != nil {
				return err
			}
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// everyKindSQL makes, as the owner role, one object of each kind a
// database can hold beyond the tables and sequences of a generated Odoo
// database: a schema and a table in it, views, a function, types, an
// operator, a collation, a text search configuration, extended statistics
// and a large object.
const everyKindSQL = `
CREATE SCHEMA extra;
CREATE TABLE extra.notes (id serial PRIMARY KEY, body text);
INSERT INTO extra.notes (body) VALUES ('one'), ('two');
CREATE VIEW public.partner_names AS SELECT id, name FROM public.res_partner;
CREATE MATERIALIZED VIEW extra.partner_count AS SELECT count(*) AS n FROM public.res_partner;
CREATE FUNCTION extra.twice(i integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT i * 2';
CREATE TYPE extra.mood AS ENUM ('calm', 'busy');
CREATE DOMAIN extra.positive AS integer CHECK (VALUE > 0);
CREATE SEQUENCE public.extra_seq;
CREATE OPERATOR extra.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int4eq);
CREATE COLLATION extra.bytes FROM "C";
CREATE TEXT SEARCH CONFIGURATION extra.plain (COPY = pg_catalog.simple);
CREATE STATISTICS extra.partner_stats ON name, email FROM public.res_partner;
SELECT lo_from_bytea(0, 'a large object');`

// everyKindMissing lists the objects of everyKindSQL that database db lacks.
func (e *env) everyKindMissing(db string) string {
	e.t.Helper()
	pg := servers.Postgres(e.t)
	missing, err := pg.QueryString(e.ctx, db, `SELECT coalesce(string_agg(what, ', '), '') FROM (VALUES
		('extra.notes', to_regclass('extra.notes') IS NOT NULL AND (SELECT count(*) FROM extra.notes) = 2),
		('public.partner_names', to_regclass('public.partner_names') IS NOT NULL),
		('extra.partner_count', to_regclass('extra.partner_count') IS NOT NULL),
		('extra.twice', to_regprocedure('extra.twice(integer)') IS NOT NULL),
		('extra.mood', to_regtype('extra.mood') IS NOT NULL),
		('extra.positive', to_regtype('extra.positive') IS NOT NULL),
		('public.extra_seq', to_regclass('public.extra_seq') IS NOT NULL),
		('extra.===', to_regoperator('extra.===(integer,integer)') IS NOT NULL),
		('extra.bytes', to_regcollation('extra.bytes') IS NOT NULL),
		('extra.plain', EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'plain')),
		('extra.partner_stats', EXISTS (SELECT 1 FROM pg_statistic_ext WHERE stxname = 'partner_stats')),
		('a large object', (SELECT count(*) FROM pg_largeobject_metadata) = 1)
	) AS k(what, present) WHERE NOT present`)
	if err != nil {
		e.t.Fatal(err)
	}
	return missing
}

// SPEC rule 7 on a standard installation: staging's database belongs to its
// own role and its filestore to another system user with modes of its own;
// production (holding one object of every kind, made by its own role)
// restored onto it keeps all of that, and the staging role owns every
// object, reads every table, view and large object, and its user every
// file. A new database gets the owner asked for, and an owner that does not
// exist or is a superuser is refused.
func TestRestoreKeepsOwnership(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 30})
	prodConn, err := testbed.Connect(e.ctx, pg.OwnerConn(e.odoo.Name))
	if err != nil {
		t.Fatal(err)
	}
	_, err = prodConn.Exec(e.ctx, everyKindSQL)
	prodConn.Close(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if missing := e.everyKindMissing(e.odoo.Name); missing != "" {
		t.Fatalf("production lacks %s before the backup", missing)
	}
	b := e.backup("local")[0]
	db := e.odoo.Name + "_stg"
	stg, err := testbed.GenerateOdoo(e.ctx, pg, db, filepath.Join(e.dir, "staging"), testbed.OdooOptions{Seed: 31, Owner: "odoo_staging"})
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{odoo: stg, svc: stg.Service("staging"), primary: core.Destination{Name: "staging-local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(e.dir, "staging-backups")}}}
	if err := os.MkdirAll(tg.primary.Local.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{e.cat.AddService(e.ctx, &tg.svc, ""), e.cat.AddDestination(e.ctx, &tg.primary),
		e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "staging", Destination: tg.primary.Name, Primary: true})} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Staging's filestore: another system user (nobody, as root), dirs
	// 0750, files 0640, the root 0770.
	uid, gid := stg.UID, stg.GID
	if os.Geteuid() == 0 {
		uid, gid = 65534, 65534
	}
	chmodTree(t, stg.FilestoreDir, 0o770, 0o750, 0o640, uid, gid)
	if os.Geteuid() == 0 {
		// The whole data dir is that user's, as on its host.
		for _, d := range []string{stg.DataDir, filepath.Dir(stg.FilestoreDir)} {
			if err := os.Lchown(d, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	stg.UID, stg.GID = uid, gid
	modesBefore, err := testbed.TreeModes(stg.FilestoreDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := stg.CheckAsOwner(e.ctx, pg, db, stg.FilestoreDir); err != nil {
		t.Fatalf("staging before the restore: %v", err)
	}

	res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if res.SQLErrorCount != 0 {
		t.Errorf("the restore reported SQL errors %q", res.SQLErrors)
	}
	if missing := e.everyKindMissing(db); missing != "" {
		t.Errorf("the restored staging lacks %s", missing)
	}
	e.wantOwned(stg, db, stg.FilestoreDir)
	if modes, err := testbed.TreeModes(stg.FilestoreDir); err != nil || !slices.Equal(modes, modesBefore) {
		t.Errorf("restored filestore modes %q (%v), want the replaced ones %q", modes, err, modesBefore)
	}
	if owner, err := pg.QueryString(e.ctx, "postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", db); err != nil || owner != "odoo_staging" {
		t.Errorf("restored database owner %q (%v), want odoo_staging (the replaced one's), not production's odoo", owner, err)
	}

	// A new database: the owner chosen, the filestore the data dir's.
	newDB := e.odoo.Name + "_owned"
	nres, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, Owner: "odoo_staging"})
	if err != nil {
		t.Fatal(err)
	}
	if missing := e.everyKindMissing(newDB); missing != "" {
		t.Errorf("the new database lacks %s", missing)
	}
	e.wantOwned(as(t, e.odoo, "odoo_staging", e.odoo.UID, e.odoo.GID), newDB, nres.FilestoreDir)
	if modes, err := testbed.TreeModes(nres.FilestoreDir); err != nil || !slices.Equal(modes, modesOf(e.odoo.UID, e.odoo.GID)) {
		t.Errorf("new filestore modes %q (%v), want Odoo's under a 0755 data dir %q", modes, err, modesOf(e.odoo.UID, e.odoo.GID))
	}
	// By default the owner of the backup's service's database.
	nres, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: e.odoo.Name + "_dflt"})
	if err != nil {
		t.Fatal(err)
	}
	e.wantOwned(e.odoo, e.odoo.Name+"_dflt", nres.FilestoreDir)

	for _, tc := range []struct {
		owner, says string
		want        error
	}{
		{"nobody_here", `the owner role "nobody_here" does not exist`, core.ErrNotFound},
		{pg.User, "is a superuser", core.ErrInvalid},
	} {
		_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: e.odoo.Name + "_refused", Owner: tc.owner})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("--owner %s: got %v, want %v saying %q", tc.owner, err, tc.want, tc.says)
		}
		if e.dbExists(e.odoo.Name + "_refused") {
			t.Fatalf("--owner %s: the database was created", tc.owner)
		}
	}
	e.noLoaders()
}

// modesOf is what a tree made by Odoo (umask 022) looks like to TreeModes.
func modesOf(uid, gid int) []string {
	return []string{
		fmt.Sprintf("dir %d:%d 0755", uid, gid),
		fmt.Sprintf("file %d:%d 0644", uid, gid),
		fmt.Sprintf("root %d:%d 0755", uid, gid),
	}
}

// A restore cancelled while the dump loads, and the debris of one whose
// process died (its loader role and staged database), leave no role behind:
// the first cleans up on its way out, crash recovery drops the second. A
// loader of a live process is left alone.
func TestLoaderRoleNeverLeft(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 32})
	b := e.backup("local")[0]
	tg := e.addTarget(33)
	before := e.targetPrint(tg)

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	_, err := e.engine.RestoreToService(ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Progress: func(p core.Progress) {
		if p.Phase == core.PhaseRestoreDB {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled restore: got %v, want context.Canceled", err)
	}
	e.wantUnchanged(tg, before)

	// What a killed restore leaves: a loader of a dead process of this
	// host, owning its staged database; and one of a live process.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	stale, live := core.LoaderPrefix+"deadbeef00000001", core.LoaderPrefix+"deadbeef00000002"
	stagedDB := tg.odoo.Name + "_restoring_deadbeef"
	for _, sql := range []string{
		"CREATE ROLE " + stale + " LOGIN",
		fmt.Sprintf("COMMENT ON ROLE %s IS 'odoo-backup restore loader; host=%s pid=%d created=%s'", stale, host, dead.Process.Pid, time.Now().UTC().Format(time.RFC3339)),
		"CREATE DATABASE " + stagedDB + " OWNER " + stale,
		"CREATE ROLE " + live + " LOGIN",
		fmt.Sprintf("COMMENT ON ROLE %s IS 'odoo-backup restore loader; host=%s pid=%d created=%s'", live, host, os.Getpid(), time.Now().UTC().Format(time.RFC3339)),
	} {
		if err := pg.Exec(e.ctx, "postgres", sql); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.engine.RecoverInterrupted(e.ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	roles, err := pg.QueryString(e.ctx, "postgres", "SELECT coalesce(string_agg(rolname, ',' ORDER BY rolname), '') FROM pg_roles WHERE starts_with(rolname, $1)", core.LoaderPrefix)
	if err != nil || roles != live {
		t.Errorf("loader roles after crash recovery: %q (%v), want only the live process's %s", roles, err, live)
	}
	if e.dbExists(stagedDB) {
		t.Errorf("the staged database %s of the dead restore is still there", stagedDB)
	}
	if err := pg.Exec(e.ctx, "postgres", "DROP ROLE "+live); err != nil {
		t.Fatal(err)
	}
	e.wantUnchanged(tg, before)
}

// A service reached through PostgreSQL's Unix socket (peer or password
// authentication there): the loader logs in over TCP on 127.0.0.1 and the
// same port, and the restore is the owner's as over TCP.
func TestRestoreOverUnixSocket(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 34})
	e.svc.DB.Host = pg.SocketDir
	if err := e.cat.UpdateService(e.ctx, e.svc); err != nil {
		t.Fatal(err)
	}
	b := e.backup("local")[0]
	newDB := e.odoo.Name + "_sock"
	res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB})
	if err != nil {
		t.Fatal(err)
	}
	if res.SQLErrorCount != 0 {
		t.Errorf("restore through the socket: %d SQL errors %q", res.SQLErrorCount, res.SQLErrors)
	}
	e.wantOwned(e.odoo, newDB, res.FilestoreDir)
}
