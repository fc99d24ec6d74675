package core_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// rewriteArchive rewrites the local archive of b entry by entry and records
// the new archive's checksum, as if the backup had been taken so: its
// metadata object (with the row counts of the real database) stays. For
// each entry, entry either writes it itself into zw and returns false, or
// returns keep to have it copied as it is (true) or left out (false).
func (e *env) rewriteArchive(b *core.Backup, entry func(zw *zip.Writer, f *zip.File) (keep bool)) {
	e.t.Helper()
	path := filepath.Join(e.local.Local.Dir, filepath.FromSlash(b.Key))
	zr, err := zip.OpenReader(path)
	if err != nil {
		e.t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if !entry(zw, f) {
			continue
		}
		if err := zw.Copy(f); err != nil {
			e.t.Fatal(err)
		}
	}
	zr.Close()
	if err := zw.Close(); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		e.t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	b.SHA256, b.Size = hex.EncodeToString(sum[:]), int64(buf.Len())
	if err := e.cat.UpdateBackup(e.ctx, *b); err != nil {
		e.t.Fatal(err)
	}
}

// rewriteDump rewrites dump.sql in the local archive of b with edit (see
// rewriteArchive).
func (e *env) rewriteDump(b *core.Backup, edit func(dump string) string) {
	e.t.Helper()
	e.rewriteArchive(b, func(zw *zip.Writer, f *zip.File) bool {
		if f.Name != "dump.sql" {
			return true
		}
		rc, err := f.Open()
		if err != nil {
			e.t.Fatal(err)
		}
		dump, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		edited := edit(string(dump))
		if edited == string(dump) {
			e.t.Fatal("the edit left dump.sql as it was")
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.Modified})
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := io.WriteString(w, edited); err != nil {
			e.t.Fatal(err)
		}
		return false
	})
}

// breakCopy gives the first data line of the COPY block of table one
// column too many: PostgreSQL refuses the whole block, which leaves the
// table empty, as a damaged dump does.
func breakCopy(t *testing.T, table string) func(string) string {
	return func(dump string) string {
		head := "COPY public." + table + " ("
		i := strings.Index(dump, head)
		if i < 0 {
			t.Fatalf("dump.sql has no COPY block for %s", table)
		}
		eol := i + strings.IndexByte(dump[i:], '\n')
		next := eol + 1 + strings.IndexByte(dump[eol+1:], '\n')
		return dump[:next] + "\textra column" + dump[next:]
	}
}

// harmlessErrors adds statements that fail without touching any data, as a
// dump made on a server with other roles or extensions does.
func harmlessErrors(dump string) string {
	i := strings.Index(dump, "\nSET ")
	return dump[:i+1] + "COMMENT ON EXTENSION no_such_extension IS 'x';\nALTER TABLE no_such_table OWNER TO nobody;\n" + dump[i+1:]
}

func wantRefused(t *testing.T, err error, names ...string) {
	t.Helper()
	var ue *core.UserError
	if !errors.Is(err, core.ErrChecksFailed) || !errors.As(err, &ue) {
		t.Fatalf("got %v, want a refusal because the restored database failed its checks", err)
	}
	t.Logf("refused: %s", ue.Msg)
	if strings.Contains(ue.Msg, "\n") {
		t.Errorf("refusal %q is not one sentence", ue.Msg)
	}
	for _, n := range names {
		if !strings.Contains(ue.Msg, n) {
			t.Errorf("refusal %q does not name %q", ue.Msg, n)
		}
	}
}

func wantAllChecks(t *testing.T, c core.RestoreChecks) {
	t.Helper()
	for _, want := range []string{core.CheckKeyTables, core.CheckRowCounts, core.CheckBase} {
		if !slices.Contains(c.Ran, want) {
			t.Errorf("checks %+v: %q did not run", c, want)
		}
	}
}

// A backup whose dump has a broken COPY block of ir_module_module loads with
// an SQL error and an empty module table: onto a service it is refused with
// the target exactly as it was (the safety backup taken stays), into a new
// database nothing is created; with AcceptErrors it goes through.
func TestRestoreRefusesBrokenCopy(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 40})
	b := e.backup("local")[0]
	e.rewriteDump(&b, breakCopy(t, "ir_module_module"))
	tg := e.addTarget(41)
	before := e.targetPrint(tg)

	res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"})
	wantRefused(t, err, "ir_module_module is empty", "module base is not installed", "staging is unchanged")
	e.wantUnchanged(tg, before)
	if safety := e.safetyBackups(); len(safety) != 1 || safety[0].ID != res.SafetyBackupID {
		t.Errorf("safety backups %+v, want the one taken first (%d), kept", safety, res.SafetyBackupID)
	}
	if res.Database != "" || res.Checks.Passed() {
		t.Errorf("result %+v: want no database put in place and the failed checks", res)
	}

	newDB := e.odoo.Name + "_broken"
	fs := filepath.Join(e.dir, "broken-fs")
	_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, FilestoreDir: fs})
	wantRefused(t, err, "ir_module_module", "nothing was created")
	if left := e.databasesLike(newDB); left != "" {
		t.Errorf("a refused restore left databases: %s", left)
	}
	if _, err := os.Stat(fs); !os.IsNotExist(err) {
		t.Errorf("a refused restore left the filestore %s (%v)", fs, err)
	}
	if entries, _ := os.ReadDir(e.dir); slices.ContainsFunc(entries, func(en os.DirEntry) bool { return strings.Contains(en.Name(), "restoring") }) {
		t.Errorf("a refused restore left a temporary filestore in %s", e.dir)
	}

	// Said explicitly, it goes through, and the result says it was accepted.
	res, err = e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging", AcceptErrors: true})
	if err != nil {
		t.Fatalf("restore with AcceptErrors: %v", err)
	}
	if !res.Checks.Accepted || res.SQLErrorCount == 0 || !strings.Contains(res.Checks.Summary(), "ir_module_module") {
		t.Errorf("result %+v: want the failed checks accepted and the SQL error counted", res)
	}
	wantAllChecks(t, res.Checks)
	if n, err := pg.QueryInt(e.ctx, tg.odoo.Name, "SELECT count(*) FROM ir_module_module"); err != nil || n != 0 {
		t.Errorf("staging's ir_module_module holds %d rows (%v), want the broken copy's 0", n, err)
	}
	e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
	e.noLeftovers(tg)
}

// The same broken dump uploaded from elsewhere is refused by upload and
// restore; the upload records no row counts, so its tables and base are
// what is checked.
func TestUploadRestoreRefusesBrokenCopy(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 42})
	b := e.backup("local")[0]
	e.rewriteDump(&b, breakCopy(t, "ir_module_module"))
	tg := e.addTarget(43)
	before := e.targetPrint(tg)
	file := filepath.Join(e.dir, "broken.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: b.ID, Path: file}); err != nil {
		t.Fatal(err)
	}
	up, _, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: file, Service: "staging"})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: up.ID, Service: "staging"})
	wantRefused(t, err, "ir_module_module is empty")
	e.wantUnchanged(tg, before)
	if slices.Contains(res.Checks.Ran, core.CheckRowCounts) || len(res.Checks.Skipped) != 1 || !strings.Contains(res.Checks.Skipped[0], "recorded none") {
		t.Errorf("checks %+v: an upload records no row counts, so they are skipped and said so", res.Checks)
	}
	if !slices.Contains(res.Checks.Ran, core.CheckBase) || !slices.Contains(res.Checks.Ran, core.CheckKeyTables) {
		t.Errorf("checks %+v: want key tables and base checked", res.Checks)
	}
}

// SQL errors alone do not stop a restore whose checks pass: they are
// counted and the result says which checks ran.
func TestRestoreWithHarmlessSQLErrors(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 44})
	b := e.backup("local")[0]
	source := withoutFiles(e.print(e.odoo.Name, e.odoo.FilestoreDir), e.odoo.Orphans)
	e.rewriteDump(&b, harmlessErrors)
	tg := e.addTarget(45)
	res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if res.SQLErrorCount != 2 || !res.Checks.Passed() || res.Checks.Accepted {
		t.Errorf("result %+v: want 2 SQL errors counted and every check passed", res)
	}
	wantAllChecks(t, res.Checks)
	if diff := source.Diff(e.targetPrint(tg)); len(diff) > 0 {
		t.Errorf("staging differs from the backup:\n%s", strings.Join(diff, "\n"))
	}
}

// A backup whose metadata object records other row counts than the archive
// restores is refused, naming the table; the drill, with the same check,
// fails on it too.
func TestRestoreRefusesCountMismatch(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 46})
	b := e.backup("local")[0]
	metaPath := filepath.Join(e.local.Local.Dir, filepath.FromSlash(core.MetadataKey(b.Key)))
	raw, err := os.ReadFile(metaPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.ParseMetadata(raw)
	if err != nil {
		t.Fatal(err)
	}
	m.Tables["res_partner"] += 3
	edited, _ := json.Marshal(m)
	if err := os.WriteFile(metaPath, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	tg := e.addTarget(47)
	before := e.targetPrint(tg)
	_, err = e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"})
	wantRefused(t, err, "table res_partner has")
	e.wantUnchanged(tg, before)

	newDB := e.odoo.Name + "_counts"
	_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB})
	wantRefused(t, err, "res_partner")
	if e.databasesLike(newDB) != "" {
		t.Errorf("a refused restore left databases: %s", e.databasesLike(newDB))
	}
	res, err := e.drill("local")
	if err == nil || !strings.Contains(res.Drill.Error, "table res_partner has") || !slices.Contains(res.Drill.Details.Checks, core.CheckBase) {
		t.Errorf("drill %+v, %v: want failed on res_partner's count by the same checks", res.Drill, err)
	}
}

// A service copy is checked as any restore is: a source whose base module
// is not installed gives a copy that fails its checks, so nothing is
// created (no database, filestore or service; the copy backup stays) and
// the refusal names what failed; with AcceptErrors the copy is made, owned
// as any other, and says the checks were accepted.
func TestCopyServiceRefusesFailedChecks(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 48})
	if err := pg.Exec(e.ctx, e.odoo.Name, "UPDATE ir_module_module SET state = 'uninstalled' WHERE name = 'base'"); err != nil {
		t.Fatal(err)
	}
	newDB := e.odoo.Name + "_copy"
	fsDir := filepath.Join(e.odoo.DataDir, "filestore", "copy-filestore")
	req := core.CopyServiceRequest{Source: "prod", NewName: "prod-copy", NewDB: newDB, FilestoreDir: fsDir}
	res, err := e.engine.CopyService(e.ctx, req)
	wantRefused(t, err, "module base is uninstalled, not installed", "nothing was created")
	if res.Backup.Kind != core.KindCopy || res.Backup.Status != core.StatusSucceeded {
		t.Errorf("copy backup %+v: want the succeeded copy backup kept", res.Backup)
	}
	if left := e.databasesLike(newDB); left != "" {
		t.Errorf("a refused copy left databases: %s", left)
	}
	if _, err := os.Stat(fsDir); !os.IsNotExist(err) {
		t.Errorf("a refused copy left the filestore %s (%v)", fsDir, err)
	}
	if _, err := e.cat.Service(e.ctx, "prod-copy"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a refused copy registered the service (%v)", err)
	}
	e.noLoaders()

	req.AcceptErrors = true
	res, err = e.engine.CopyService(e.ctx, req)
	if err != nil {
		t.Fatalf("copy with AcceptErrors: %v", err)
	}
	if !res.Restore.Checks.Accepted || !strings.Contains(res.Restore.Checks.Summary(), "module base is uninstalled") {
		t.Errorf("checks %+v: want the failed check accepted and named", res.Restore.Checks)
	}
	wantAllChecks(t, res.Restore.Checks)
	if _, err := e.cat.Service(e.ctx, "prod-copy"); err != nil {
		t.Errorf("the accepted copy is not registered: %v", err)
	}
	e.wantOwned(e.odoo, newDB, fsDir)
}
