package core_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// A real Odoo dump with hostile SQL added, uploaded onto a service and
// restored (as upload --restore does): the SQL runs as the throwaway loader
// role, so PostgreSQL itself refuses every statement that reaches outside
// the staged database, and what it plants for later (operators standing in
// for built-in ones) is not used by the next backup, which reads the
// database as the superuser. After each: no marker file, every other database,
// every database's owner and settings, and every role as before, no server
// setting changed, the loader gone, and the
// target either as before (refused) or holding the dump's data and nothing
// more (restored and harmless).
func TestHostileDumpCorpus(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 40})
	tg := e.addTarget(41)
	plain := string(pgDumpFile(t, e.odoo.Name))
	source := e.print(e.odoo.Name, "")
	other := e.print(e.odoo.Name, e.odoo.FilestoreDir)

	// The server (the postgres system user) can write here: a statement
	// that ran with its rights would leave the marker.
	markers := filepath.Join(e.dir, "markers")
	if err := os.Mkdir(markers, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(markers, 0o777); err != nil {
		t.Fatal(err)
	}
	autoConf := filepath.Join(pg.DataDir, "postgresql.auto.conf")
	readAuto := func() string {
		b, err := os.ReadFile(autoConf)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	settings := func() string {
		s, err := pg.QueryString(e.ctx, "postgres", "SELECT string_agg(name || '=' || setting || ' ' || source, ',' ORDER BY name) FROM pg_settings WHERE source NOT IN ('default', 'session', 'client')")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// The control: the same statement as the superuser does leave a marker,
	// so an absent marker below means the statement was refused.
	control := filepath.Join(markers, "control")
	if err := pg.Exec(e.ctx, "postgres", fmt.Sprintf("COPY (SELECT 1) TO PROGRAM 'touch %s'", control)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(control); err != nil {
		t.Fatalf("the control COPY TO PROGRAM as the superuser left no marker (%v): the test could not see an escape", err)
	}

	// planted: the statements load without a refusal, and wait for a later
	// session of the superuser in the restored database.
	cases := []struct {
		name, sql           string
		neutralize, planted bool
	}{
		{name: "COPY TO PROGRAM", sql: `COPY (SELECT 1) TO PROGRAM 'touch MARKER';`},
		{name: "COPY to a server file", sql: `COPY (SELECT 'owned') TO 'MARKER';`},
		{name: "COPY from a server file", sql: `CREATE TABLE public.stolen (line text); COPY public.stolen FROM '/etc/passwd';`},
		{name: "ALTER SYSTEM", sql: `ALTER SYSTEM SET work_mem = '77MB'; ALTER SYSTEM SET archive_command = 'touch MARKER'; SELECT pg_reload_conf();`},
		{name: "CREATE ROLE", sql: `CREATE ROLE evil SUPERUSER LOGIN PASSWORD 'evil'; CREATE ROLE evil2 LOGIN; GRANT pg_execute_server_program TO CURRENT_USER;`},
		{name: "RESET ROLE and SET SESSION AUTHORIZATION", sql: `RESET ROLE; SET SESSION AUTHORIZATION postgres; SET ROLE postgres; CREATE ROLE evil SUPERUSER; COPY (SELECT 1) TO PROGRAM 'touch MARKER'; ALTER ROLE odoo SUPERUSER;`},
		{name: "DROP DATABASE of another", sql: `DROP DATABASE OTHERDB; DROP DATABASE IF EXISTS OTHERDB WITH (FORCE);`},
		{name: "lo_export", sql: `SELECT lo_export(lo_import('/etc/passwd'), 'MARKER');`},
		{name: "DO block building COPY PROGRAM", sql: `DO $$ BEGIN EXECUTE 'CO' || 'PY (SELECT 1) TO PROGRAM ' || quote_literal('touch MARKER'); END $$;`},
		{name: "operators planted for a later superuser session", planted: true, sql: trapFunction("trap_eq(character varying, character varying)", "$1::text = $2::text") +
			trapFunction("trap_ne(character varying, character varying)", "$1::text <> $2::text") + `
CREATE OPERATOR public.= (LEFTARG = character varying, RIGHTARG = character varying, FUNCTION = public.trap_eq);
CREATE OPERATOR public.<> (LEFTARG = character varying, RIGHTARG = character varying, FUNCTION = public.trap_ne);`},
		{name: "a view standing in for a key table", planted: true, sql: trappedView("res_partner")},
		{name: "a view standing in for ir_attachment", planted: true, sql: trappedView("ir_attachment")},
		{name: "settings of its own database", sql: `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = public, pg_catalog', current_database()); END $$;
ALTER ROLE CURRENT_USER SET search_path = public, pg_catalog; ALTER ROLE ALL SET search_path = public, pg_catalog;`},
		{name: "trigger that neutralization fires", neutralize: true, sql: `CREATE FUNCTION public.trap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ' || quote_literal('touch MARKER'); RETURN NEW; END $$;
CREATE TRIGGER trap BEFORE UPDATE ON public.ir_cron FOR EACH ROW EXECUTE FUNCTION public.trap();`},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			marker := filepath.Join(markers, fmt.Sprintf("case%d", i))
			sql := strings.NewReplacer("MARKER", marker, "OTHERDB", e.odoo.Name).Replace(tc.sql)
			dump := plain + "\n" + sql + "\n"
			path := e.writeFile(fmt.Sprintf("hostile%d.zip", i), zipOf(t, "dump.sql", dump, "manifest.json", `{"version": "17.0"}`))
			rolesBefore, err := pg.Roles(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			dbsBefore, err := pg.Databases(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			autoBefore, settingsBefore := readAuto(), settings()
			targetBefore := e.targetPrint(tg)

			b, _, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: path, Service: "staging"})
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", Neutralize: tc.neutralize})
			if err == nil {
				// What the restore put in place is read again by the
				// service's superuser at its next backup.
				if _, berr := e.engine.Backup(e.ctx, core.BackupRequest{Service: "staging", Destinations: []string{tg.primary.Name}}); berr != nil {
					t.Errorf("backup of the restored staging: %v", berr)
				}
			}

			if _, serr := os.Stat(marker); serr == nil {
				t.Errorf("the marker %s exists: the dump ran with the server's rights", marker)
			}
			if rolesAfter, err := pg.Roles(e.ctx); err != nil || rolesAfter != rolesBefore {
				t.Errorf("roles changed (%v):\nbefore:\n%s\nafter:\n%s", err, rolesBefore, rolesAfter)
			}
			if dbsAfter, err := pg.Databases(e.ctx); err != nil || dbsAfter != dbsBefore {
				t.Errorf("databases changed (%v):\nbefore:\n%s\nafter:\n%s", err, dbsBefore, dbsAfter)
			}
			if a := readAuto(); a != autoBefore {
				t.Errorf("postgresql.auto.conf changed:\n%s", a)
			}
			if s := settings(); s != settingsBefore {
				t.Errorf("server settings changed:\nbefore %s\nafter  %s", settingsBefore, s)
			}
			if !e.dbExists(e.odoo.Name) {
				t.Fatalf("the other database %s was dropped", e.odoo.Name)
			}
			if diff := other.Diff(e.print(e.odoo.Name, e.odoo.FilestoreDir)); len(diff) > 0 {
				t.Errorf("the other database changed:\n%s", strings.Join(diff, "\n"))
			}
			e.noLoaders()
			e.noLeftovers(tg)

			if tc.planted && strings.Contains(tc.name, "a view") {
				// Refused by the checks, which name the view.
				wantRefused(t, err, "is a view, not a table", "staging is unchanged")
			}
			if err != nil {
				// Refused: the target is untouched.
				t.Logf("refused: %v", err)
				if diff := targetBefore.Diff(e.targetPrint(tg)); len(diff) > 0 {
					t.Errorf("a refused restore changed the target:\n%s", strings.Join(diff, "\n"))
				}
				return
			}
			// Restored: the dump's data, PostgreSQL's refusals reported, and
			// nothing taken from the server.
			if !tc.planted && (res.SQLErrorCount == 0 || !refusedByPostgres(res.SQLErrors)) {
				t.Errorf("restored with %d SQL errors %q; want the hostile statements refused for lack of rights", res.SQLErrorCount, res.SQLErrors)
			}
			got := e.print(tg.odoo.Name, "")
			if n, ok := got.Tables["stolen"]; ok && n.Rows != 0 {
				t.Errorf("the table stolen holds %d rows read from a server file", n.Rows)
			}
			delete(got.Tables, "stolen")
			if diff := source.Diff(got); len(diff) > 0 {
				t.Errorf("the target does not hold the dump's data:\n%s", strings.Join(diff, "\n"))
			}
			e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
		})
	}
}

// refusedByPostgres reports whether psql's errors include a refusal for
// lack of rights.
func refusedByPostgres(errs []string) bool {
	for _, l := range errs {
		for _, w := range []string{"permission denied", "must be superuser", "must be owner", "must have privileges", "only superuser", "must be able to SET ROLE"} {
			if strings.Contains(l, w) {
				return true
			}
		}
	}
	return false
}

// A server whose pg_hba.conf does not let the throwaway loader log in over
// TCP refuses the restore before anything happens (no safety backup, no
// database, no role left), with the sentence that names the line to add.
func TestLoaderLoginRefused(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 42})
	b := e.backup("local")[0]
	tg := e.addTarget(43)
	before := e.targetPrint(tg)

	hba := filepath.Join(pg.DataDir, "pg_hba.conf")
	orig, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	// Only the test's own roles may log in over TCP.
	probePW, err := pg.EnsureRole(e.ctx, "hba_probe")
	if err != nil {
		t.Fatal(err)
	}
	strict := fmt.Sprintf("host all %s,%s 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 reject\n", pg.User, pg.Owner) + string(orig)
	probe := func() error {
		c := pg.Conn("postgres")
		c.User, c.Password = "hba_probe", core.Secret(probePW)
		conn, err := testbed.Connect(e.ctx, c)
		if err == nil {
			conn.Close(e.ctx)
		}
		return err
	}
	// reload applies pg_hba.conf and waits until a login shows it applied.
	reload := func(content string, wantRefused bool) {
		t.Helper()
		if err := os.WriteFile(hba, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := pg.Exec(e.ctx, "postgres", "SELECT pg_reload_conf()"); err != nil {
			t.Fatal(err)
		}
		for range 1000 {
			if (probe() != nil) == wantRefused {
				return
			}
		}
		t.Fatalf("pg_hba.conf not applied after reload (want refused %v)", wantRefused)
	}
	reload(strict, true)
	defer reload(string(orig), false)

	safetyBefore := len(e.safetyBackups())
	_, err = e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"})
	if !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(err.Error(), "pg_hba.conf") || !strings.Contains(err.Error(), "host all all 127.0.0.1/32 scram-sha-256") {
		t.Errorf("restore onto a service: got %v, want a refusal naming the pg_hba.conf line", err)
	}
	if n := len(e.safetyBackups()); n != safetyBefore {
		t.Errorf("%d safety backups, want still %d: nothing may happen", n, safetyBefore)
	}
	e.wantUnchanged(tg, before)

	_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: e.odoo.Name + "_hba"})
	if !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(err.Error(), "pg_hba.conf") {
		t.Errorf("restore --new-db: got %v, want the refusal naming pg_hba.conf", err)
	}
	if e.dbExists(e.odoo.Name+"_hba") || e.databasesLike(e.odoo.Name+"_hba") != "" {
		t.Error("restore --new-db created a database")
	}
	e.noLoaders()
}

// A database where a view stands under the name of one of Odoo's tables
// (put there by a hostile dump restored with AcceptErrors, or by its own
// role) is not backed up: read by the service's superuser, the view would
// run what it calls with the superuser's rights. The backup fails with one
// sentence naming the view, and the function never runs.
func TestBackupRefusesViewForTable(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 44})
	markers := filepath.Join(e.dir, "markers")
	if err := os.Mkdir(markers, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(markers, 0o777); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(markers, "view")
	conn, err := testbed.Connect(e.ctx, pg.OwnerConn(e.odoo.Name))
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(e.ctx, fmt.Sprintf(`CREATE FUNCTION public.trap() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ' || quote_literal('touch %s'); EXCEPTION WHEN OTHERS THEN NULL; END;
	RETURN true;
END $$;
ALTER TABLE public.res_partner RENAME TO res_partner_data;
CREATE VIEW public.res_partner AS SELECT * FROM public.res_partner_data WHERE public.trap();`, marker))
	conn.Close(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local"}})
	var ue *core.UserError
	if !errors.Is(err, core.ErrInvalid) || !errors.As(err, &ue) || !strings.Contains(ue.Msg, "was not backed up because public.res_partner is a view, not a table") || strings.Contains(ue.Msg, "\n") {
		t.Errorf("backup: got %v, want ErrInvalid in one sentence naming the view", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the view's function ran with the server's rights: %s exists", marker)
	}
}

// trapFunction is SQL creating public.signature, a function that runs COPY
// TO PROGRAM (leaving MARKER when it has the rights to) and returns result.
func trapFunction(signature, result string) string {
	return "CREATE FUNCTION public." + signature + ` RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ' || quote_literal('touch MARKER'); EXCEPTION WHEN OTHERS THEN NULL; END;
	RETURN ` + result + `;
END $$;
`
}

// trappedView is SQL putting a view in the place of Odoo's table, reading
// the renamed table through a trap function.
func trappedView(table string) string {
	return trapFunction("trap()", "true") + `ALTER TABLE public.` + table + ` RENAME TO ` + table + `_data;
CREATE VIEW public.` + table + ` AS SELECT * FROM public.` + table + `_data WHERE public.trap();`
}
