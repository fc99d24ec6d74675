package core_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/dumpguard"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// hostileDump is a real dump.sql with psql meta-commands put where psql
// would run them. MARKER stands for the path the command would create.
type hostileDump struct {
	name, dump string
	// refusal is the start of the sentence, up to the line number.
	refusal string
}

func hostileDumps(t *testing.T, dump, marker string) []hostileDump {
	t.Helper()
	insert := func(before, text string) string {
		t.Helper()
		i := strings.Index(dump, before)
		if i < 0 {
			t.Fatalf("the dump has no %q", before)
		}
		return strings.ReplaceAll(dump[:i]+text+dump[i:], "MARKER", marker)
	}
	key := "K"
	if m := regexp.MustCompile(`(?m)^\\restrict (\w+)$`).FindStringSubmatch(dump); m != nil {
		key = m[1]
	}
	meta := func(cmd string) string { return `the dump holds a psql meta-command (` + cmd + ` on line ` }
	return []hostileDump{
		{"before the first SET", insert("\nSET ", "\n\\! id > MARKER"), meta(`\!`)},
		{"after a semicolon on a SQL line", insert("\nSET row_security = off;", "\nSET row_security = off; \\! id > MARKER"), meta(`\!`)},
		{"after a COPY block", insert("\n\\.\n", "\n\\.\n\\! id > MARKER"), meta(`\!`)},
		{"output to a pipe", insert("\nCREATE TABLE", "\n\\o |touch MARKER\nSELECT 1;\n\\o"), meta(`\o`)},
		{"copy to program", insert("\nSET ", "\n\\copy (select 1) to program 'touch MARKER'"), meta(`\copy`)},
		{"setenv", insert("\nSET ", "\n\\setenv PAGER 'touch MARKER'"), meta(`\setenv`)},
		{"gexec", insert("\nCREATE TABLE", "\nSELECT 'COPY (SELECT 1) TO PROGRAM ''touch MARKER'''\n\\gexec"), meta(`\gexec`)},
		{"its own unrestrict", insert("\nSET ", "\n\\unrestrict "+key+"\n\\! id > MARKER"), meta(`\!`)},
		{"a variable psql fills with the dump's text",
			insert("\nCREATE TABLE", "\nDO $$BEGIN RAISE EXCEPTION '\\! touch MARKER'; END$$;\n:LAST_ERROR_MESSAGE"),
			`the dump holds a psql variable reference (:LAST_ERROR_MESSAGE on line `},
	}
}

// runPsql feeds input to psql as the superuser, as a restore does but
// without the guard.
func runPsql(t *testing.T, db, input string) {
	t.Helper()
	pg := servers.Postgres(t)
	cmd := exec.CommandContext(t.Context(), "psql", "--quiet", "--no-psqlrc", "--set", "ON_ERROR_STOP=0", "--file", "-", pg.ConnString(db))
	cmd.Stdin = strings.NewReader(input)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatalf("psql: %v", err)
	}
}

func wantNoMarker(t *testing.T, marker string) {
	t.Helper()
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dump's meta-command ran: %s exists (%v)", marker, err)
	}
}

// tamper replaces a stored backup's bytes and records their checksum, as
// someone who can write to the destination would: the restore then reads
// an untrusted dump that no upload check saw.
func (e *env) tamper(dir string, b core.Backup, data []byte) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(b.Key)), data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	b.SHA256, b.Size = sha256hex(string(data)), int64(len(data))
	if err := e.cat.UpdateBackup(e.ctx, b); err != nil {
		e.t.Fatal(err)
	}
}

// zipDump is the dump.sql of a backup zip.
func zipDump(t *testing.T, path string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == "dump.sql" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatal("no dump.sql in the backup")
	return ""
}

// withDump is the zip at path with its dump.sql replaced.
func withDump(t *testing.T, path, dump string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == "dump.sql" {
			_, err = io.WriteString(w, dump)
		} else {
			var rc io.ReadCloser
			if rc, err = f.Open(); err == nil {
				_, err = io.Copy(w, rc)
				rc.Close()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A real backup's dump.sql with a psql meta-command anywhere psql would
// run it is refused by every path that reads it: the upload stores
// nothing, a restore onto a service or into a new database stops before
// psql reads the command and undoes itself, the target, the other
// database, every database's owner and settings and every role are
// unchanged, and the command never runs. Without the guard, psql runs it
// (the control).
func TestHostileDumpMetaCommandsRefused(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 31})
	tg := e.addTarget(32)
	toolZip := filepath.Join(e.dir, "tool.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: e.backup("local")[0].ID, Path: toolZip}); err != nil {
		t.Fatal(err)
	}
	dump := zipDump(t, toolZip)
	if !strings.Contains(dump, "\n\\restrict ") {
		t.Fatal("the testbed's pg_dump writes no \\restrict line; the test needs one that does (15.14, 16.10, 17.6 or later)")
	}
	good, _, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: e.writeFile("good.sql", []byte(dump)), Service: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.targetPrint(tg)
	marker := filepath.Join(e.dir, "MARKER")
	// Beyond the target: the other database, every database's owner and
	// settings, every role.
	other := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	cluster := func() string {
		t.Helper()
		roles, err := pg.Roles(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		dbs, err := pg.Databases(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return roles + "\n" + dbs
	}
	var clusterBefore string // after the control's database is made
	wantOthersUnchanged := func(t *testing.T) {
		t.Helper()
		if now := cluster(); now != clusterBefore {
			t.Errorf("roles or databases changed:\nbefore:\n%s\nafter:\n%s", clusterBefore, now)
		}
		if diff := other.Diff(e.print(e.odoo.Name, e.odoo.FilestoreDir)); len(diff) > 0 {
			t.Errorf("the other database changed:\n%s", strings.Join(diff, "\n"))
		}
	}

	control := e.odoo.Name + "_control"
	if err := pg.CreateDatabase(e.ctx, control); err != nil {
		t.Fatal(err)
	}
	// pg_dump's own \restrict line guards the dump until the dump itself
	// says \unrestrict with its key.
	runPsql(t, control, hostileDumps(t, dump, marker)[7].dump)
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("control: psql without the guard did not run the dump's \\!: %v", err)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	clusterBefore = cluster()

	sentence := func(t *testing.T, err error, h hostileDump, end string) {
		t.Helper()
		var ue *core.UserError
		re := regexp.MustCompile(`^` + regexp.QuoteMeta(h.refusal) + `\d+\), which a backup never contains; ` + regexp.QuoteMeta(end) + `$`)
		if !errors.As(err, &ue) || !re.MatchString(ue.Msg) || !errors.Is(err, core.ErrCorrupt) {
			t.Errorf("got %v, want ErrCorrupt saying %q…%q", err, h.refusal, end)
		}
		if !errors.As(err, new(*dumpguard.RefusedError)) {
			t.Errorf("error %v does not carry the guard's refusal", err)
		}
	}
	for _, h := range hostileDumps(t, dump, marker) {
		t.Run(h.name, func(t *testing.T) {
			_, _, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: e.writeFile("hostile.sql", []byte(h.dump)), Service: "staging"})
			sentence(t, err, h, "nothing was uploaded")
			if bs, _ := e.cat.Backups(e.ctx, core.BackupFilter{Service: "staging", Kind: core.KindUpload}); len(bs) != 1 {
				t.Errorf("the catalog holds %d upload backups, want only the good one", len(bs))
			}

			e.tamper(tg.primary.Local.Dir, good, []byte(h.dump))
			_, err = e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: good.ID, Service: "staging"})
			sentence(t, err, h, "it was refused and nothing was changed")
			wantNoMarker(t, marker)
			e.wantUnchanged(tg, before)

			newDB := e.odoo.Name + "_new"
			_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: good.ID, NewDB: newDB})
			sentence(t, err, h, "it was refused and nothing was changed")
			wantNoMarker(t, marker)
			if e.dbExists(newDB) || e.databasesLike(newDB) != "" {
				t.Errorf("the refused restore left a database: %s", e.databasesLike(newDB))
			}
			if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: good.ID}); !errors.Is(err, core.ErrCorrupt) {
				t.Errorf("verify of the tampered backup: got %v, want ErrCorrupt", err)
			}
			wantOthersUnchanged(t)
		})
	}

	t.Run("zip", func(t *testing.T) {
		h := hostileDumps(t, dump, marker)[0]
		b := e.backup("local")[0]
		e.tamper(e.local.Local.Dir, b, withDump(t, toolZip, h.dump))
		newDB := e.odoo.Name + "_fromzip"
		_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB})
		sentence(t, err, h, "it was refused and nothing was changed")
		wantNoMarker(t, marker)
		if e.dbExists(newDB) || e.databasesLike(newDB) != "" {
			t.Errorf("the refused restore left a database: %s", e.databasesLike(newDB))
		}
		_, _, err = e.engine.Upload(e.ctx, core.UploadRequest{Path: e.writeFile("hostile.zip", withDump(t, toolZip, h.dump)), Service: "staging"})
		sentence(t, err, h, "nothing was uploaded")
		e.wantUnchanged(tg, before)
		wantOthersUnchanged(t)
	})
}

// psql 15.14, 16.10, 17.6 and later refuse every meta-command after
// `\restrict KEY` until `\unrestrict KEY`; the restore relies on it as a
// second wall behind the guard. Checked here on the psql the tests use,
// without the guard.
func TestPsqlRestrictRefusesMetaCommands(t *testing.T) {
	pg := servers.Postgres(t)
	db := "psql_restrict_" + strings.ToLower(rand.Text())
	if err := pg.CreateDatabase(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.DropDatabase(context.Background(), db) })
	marker := filepath.Join(t.TempDir(), "MARKER")
	runPsql(t, db, "\\restrict K1\n\\! touch "+marker+"\n\\o |touch "+marker+"\nSELECT 1;\n")
	wantNoMarker(t, marker)
	runPsql(t, db, "\\! touch "+marker+"\n")
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("control: psql without \\restrict did not run \\!: %v", err)
	}
}

// A COPY whose table does not exist makes psql read its data lines as
// commands. The guard passes them as COPY data; the \restrict line the
// restore puts first stops psql from running them.
func TestFailedCopyDataStoppedByRestrict(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 33})
	marker := filepath.Join(e.dir, "MARKER")
	dump := pgDumpFile(t, e.odoo.Name)
	hostile := strings.Replace(string(dump), "\nSET row_security = off;\n",
		"\nSET row_security = off;\nCOPY public.no_such_table (a) FROM stdin;\n\\! touch "+marker+"\n\\.\n", 1)
	if _, err := io.ReadAll(dumpguard.NewReader(strings.NewReader(hostile))); err != nil {
		t.Fatalf("the guard refused COPY data: %v", err)
	}
	b, _, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: e.writeFile("hostile.sql", []byte(hostile)), Service: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	newDB := e.odoo.Name + "_new"
	res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB})
	wantNoMarker(t, marker)
	if err == nil && res.SQLErrorCount == 0 {
		t.Errorf("the COPY into a missing table reported no error")
	}
}
