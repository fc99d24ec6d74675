package core_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// pgDumpFile runs pg_dump on db with extra arguments and returns its output.
func pgDumpFile(t *testing.T, db string, args ...string) []byte {
	t.Helper()
	pg := servers.Postgres(t)
	cmd := exec.CommandContext(t.Context(), "pg_dump", append(append([]string{"--no-owner"}, args...), pg.ConnString(db))...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump %s: %v\n%s", db, err, stderr.String())
	}
	return out
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipOf builds a zip from name/content pairs, stored as given.
func zipOf(t *testing.T, entries ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: entries[i], Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(entries[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (e *env) writeFile(name string, b []byte) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// filesUnder lists every file below dir.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// Each accepted format is recognised by its content, uploaded to the
// target's primary as an `upload` backup, and restores onto the target to
// the source's tables (and filestore, where the file has one).
func TestUploadFormatsRoundTrip(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 3})
	tg := e.addTarget(4)
	source := withoutFiles(e.print(e.odoo.Name, e.odoo.FilestoreDir), e.odoo.Orphans)

	bs := e.backup("local")
	toolZip := filepath.Join(e.dir, "tool.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: bs[0].ID, Path: toolZip}); err != nil {
		t.Fatal(err)
	}
	plain := pgDumpFile(t, e.odoo.Name)
	// odoo.sh exports may carry a sparse manifest.
	odooZip := zipOf(t, "dump.sql", string(plain), "manifest.json", `{"db_name": "shdb", "version": "17.0"}`)

	for _, tc := range []struct {
		name, file, format, ext string
		data                    []byte
		withFilestore           bool
		db                      string
	}{
		{name: "tool zip", file: toolZip, format: core.FormatOdooZip, ext: ".zip", withFilestore: true, db: e.odoo.Name},
		{name: "odoo zip without filestore", file: "odoo.zip", data: odooZip, format: core.FormatOdooZip, ext: ".zip", db: "shdb"},
		{name: "plain sql", file: "dump.sql", data: plain, format: core.FormatPlainSQL, ext: ".sql"},
		{name: "sql.gz", file: "dump.bin", data: gzipped(t, plain), format: core.FormatSQLGz, ext: ".sql.gz"},
		{name: "custom", file: "dump.custom", data: pgDumpFile(t, e.odoo.Name, "-Fc"), format: core.FormatPGCustom, ext: ".dump", db: e.odoo.Name},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.file
			if tc.data != nil {
				path = e.writeFile(tc.file, tc.data)
			}
			info, err := e.engine.InspectUpload(e.ctx, path)
			if err != nil {
				t.Fatalf("inspect: %v", err)
			}
			if info.Format != tc.format || info.WithFilestore != tc.withFilestore || info.Database != tc.db || info.Size == 0 {
				t.Errorf("inspect: got %+v, want format %s, filestore %v, database %q", info, tc.format, tc.withFilestore, tc.db)
			}
			if tc.format == core.FormatOdooZip && tc.withFilestore && (info.OdooVersion != "17.0" || info.Modules != len(e.odoo.Modules)) {
				t.Errorf("inspect: got version %q and %d modules, want 17.0 and %d", info.OdooVersion, info.Modules, len(e.odoo.Modules))
			}
			b, _, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: path, Service: "staging"})
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			if b.Kind != core.KindUpload || b.Status != core.StatusSucceeded || b.Format != tc.format || b.Destination != tg.primary.Name ||
				!regexp.MustCompile(`_upload(-\d+)?`+regexp.QuoteMeta(tc.ext)+`$`).MatchString(b.Key) || len(b.SHA256) != 64 {
				t.Errorf("upload: got %+v, want a succeeded upload backup in %s ending %s", b, tg.primary.Name, tc.ext)
			}
			if _, err := os.Stat(filepath.Join(tg.primary.Local.Dir, filepath.FromSlash(core.MetadataKey(b.Key)))); err != nil {
				t.Errorf("metadata object: %v", err)
			}
			if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID}); err != nil {
				t.Errorf("verify: %v", err)
			}
			res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"})
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			got := e.targetPrint(tg)
			want := source
			if !tc.withFilestore {
				want.Files = map[string]string{}
				if res.FilestoreFiles != 0 || res.MissingCount == 0 {
					t.Errorf("restore without filestore: got %d files and %d missing, want 0 and the attachments reported missing", res.FilestoreFiles, res.MissingCount)
				}
			}
			if diff := want.Diff(got); len(diff) > 0 {
				t.Errorf("restored target differs from the source:\n%s", strings.Join(diff, "\n"))
			}
			e.noLeftovers(tg)
			e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
		})
	}
}

// Hostile and broken files are refused before anything is uploaded or
// touched.
func TestUploadRefusesHostileFiles(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 5})
	tg := e.addTarget(6)
	before := e.targetPrint(tg)
	plain := pgDumpFile(t, e.odoo.Name)
	good := zipOf(t, "dump.sql", string(plain), "manifest.json", `{"db_name": "x"}`)

	symlink := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("dump.sql")
		_, _ = w.Write(plain)
		h := &zip.FileHeader{Name: "filestore/ab/ab12"}
		h.SetMode(fs.ModeSymlink | 0o777)
		w, _ = zw.CreateHeader(h)
		_, _ = w.Write([]byte("/etc/passwd"))
		_ = zw.Close()
		return buf.Bytes()
	}()
	ratioBomb := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("dump.sql")
		_, _ = w.Write(plain)
		// A deflate stream of a few bytes claiming a gigabyte.
		raw := []byte{0x03, 0x00}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "filestore/ab/ab34", Method: zip.Deflate,
			CompressedSize64: uint64(len(raw)), UncompressedSize64: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(raw)
		_ = zw.Close()
		return buf.Bytes()
	}()
	gzipBomb := func() []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(plain[:200]))
		zeros := make([]byte, 1<<20)
		for range 100 {
			_, _ = zw.Write(zeros)
		}
		_ = zw.Close()
		return buf.Bytes()
	}()
	random := make([]byte, 8192)
	_, _ = rand.Read(random)

	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"path traversal", zipOf(t, "dump.sql", string(plain), "../../evil", "x")},
		{"symlink entry", symlink},
		{"zip bomb ratio", ratioBomb},
		{"truncated zip", good[:len(good)/2]},
		{"zip that is not a backup", zipOf(t, "readme.txt", "hello")},
		{"gzip bomb", gzipBomb},
		{"truncated gzip", gzipped(t, plain)[:len(gzipped(t, plain))/2]},
		{"truncated sql", plain[:len(plain)/2]},
		{"truncated custom", pgDumpFile(t, e.odoo.Name, "-Fc")[:100]},
		{"random bytes", random},
		{"text file", []byte("hello, this is not a backup\n")},
		{"empty file", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := e.writeFile(strings.ReplaceAll(tc.name, " ", "_"), tc.data)
			_, _, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: path, Service: "staging"})
			if !errors.Is(err, core.ErrCorrupt) && !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("upload: got %v, want ErrCorrupt or ErrInvalid", err)
			}
			var ue *core.UserError
			if !errors.As(err, &ue) || strings.Contains(ue.Msg, "\n") {
				t.Errorf("error %q should be one user sentence", err)
			}
			if files := filesUnder(t, tg.primary.Local.Dir); len(files) > 0 {
				t.Errorf("the destination holds %v, want nothing uploaded", files)
			}
			bs, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "staging"})
			if err != nil || len(bs) != 0 {
				t.Errorf("catalog holds %+v (%v), want no backup", bs, err)
			}
		})
	}
	e.wantUnchanged(tg, before)
}
