package odoozip_test

import (
	"bytes"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

// fuzzLimits keep the fuzzer's archives small enough to read entirely.
var fuzzLimits = odoozip.Limits{
	MaxEntries:      10_000,
	MaxEntrySize:    8 << 20,
	MaxTotalSize:    32 << 20,
	MaxRatio:        1100,
	MaxManifestSize: 1 << 20,
}

func FuzzOpenArchive(f *testing.F) {
	m := odoozip.NewManifest("prod", map[string]string{"base": "17.0.1.3"}, 150018)
	f.Add(writeArchive(f, m, []byte(validDump), []fsFile{
		{"ab/ab01", []byte("hello")},
		{"abc/abc02", randomBytes(1, 5000)},
		{"cd/cd03", nil},
	}, testTime))
	f.Add(minimal(newZipBuilder(f)).bytes())
	f.Add(newZipBuilder(f).file("dump.sql", []byte(validDump)).bytes())
	f.Add(minimal(newZipBuilder(f)).file("../evil", []byte("x")).bytes())
	f.Add(minimal(newZipBuilder(f)).file("filestore/ab/x", []byte("1")).file("filestore/ab/x", []byte("2")).bytes())
	f.Add(minimal(newZipBuilder(f)).file("filestore/", nil).file(`filestore/a\b`, nil).bytes())
	sym := minimal(newZipBuilder(f))
	withMode("filestore/ab/link", fs.ModeSymlink|0o777, []byte("/etc/passwd"))(sym)
	f.Add(sym.bytes())
	whole := minimal(newZipBuilder(f)).file("filestore/ab/y", []byte(strings.Repeat("y", 3000))).bytes()
	f.Add(whole[:len(whole)-30])
	f.Add([]byte{})
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add([]byte("PK\x03\x04"))

	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := odoozip.Open(bytes.NewReader(data), int64(len(data)), fuzzLimits)
		if err != nil {
			return
		}
		if a.Dump == nil {
			t.Fatal("Open accepted an archive without a dump")
		}
		seen := map[string]bool{}
		check := func(name string) {
			if !filepath.IsLocal(name) || strings.ContainsAny(name, "\\\x00") {
				t.Fatalf("Open accepted entry %q, which is not a local path", name)
			}
			if seen[name] {
				t.Fatalf("Open accepted entry %q twice", name)
			}
			seen[name] = true
		}
		check(a.Dump.Name)
		for _, name := range a.Ignored {
			check(name)
		}
		var size uint64
		last := int64(-1)
		for _, zf := range a.Filestore {
			check(zf.Name)
			name := odoozip.StoreFname(zf)
			if err := odoozip.CheckStoreFname(name); err != nil {
				t.Fatalf("Open accepted filestore entry %q: %v", zf.Name, err)
			}
			if !filepath.IsLocal(name) {
				t.Fatalf("store_fname %q escapes the filestore", name)
			}
			if !zf.Mode().IsRegular() {
				t.Fatalf("Open accepted %q with mode %v", zf.Name, zf.Mode())
			}
			if off, err := zf.DataOffset(); err == nil {
				if off < last {
					t.Fatalf("Filestore out of archive order: %q at %d after %d", zf.Name, off, last)
				}
				last = off
			}
			size += zf.UncompressedSize64
		}
		if size != a.FilestoreSize {
			t.Fatalf("FilestoreSize = %d, want the sum %d", a.FilestoreSize, size)
		}
		// Reading never yields more than an entry declared.
		for _, zf := range append(a.Filestore, a.Dump) {
			rc, err := zf.Open()
			if err != nil {
				continue
			}
			n, err := io.Copy(io.Discard, io.LimitReader(rc, int64(fuzzLimits.MaxEntrySize)+1))
			rc.Close()
			if uint64(n) > zf.UncompressedSize64 {
				t.Fatalf("%q delivered %d bytes, declared %d", zf.Name, n, zf.UncompressedSize64)
			}
			if err == nil && uint64(n) != zf.UncompressedSize64 {
				t.Fatalf("%q delivered %d bytes without error, declared %d", zf.Name, n, zf.UncompressedSize64)
			}
		}
		_ = odoozip.CheckDumpHeader(a.Dump)
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"odoo_dump": "1", "db_name": "prod", "version": "17.0", "version_info": [17, 0, 0, "final", 0, ""], "major_version": "17.0", "pg_version": "15.0", "modules": {"base": "17.0.1.3"}}`))
	f.Add([]byte(`{"odoo_dump": 1, "modules": {"x": null}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := odoozip.ParseManifest(b)
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed manifest: %v", err)
		}
		m2, err := odoozip.ParseManifest(out)
		if err != nil {
			t.Fatalf("ParseManifest(Marshal(ParseManifest(%q))): %v", b, err)
		}
		if m2.DBName != m.DBName || m2.OdooDump != m.OdooDump || len(m2.Modules) != len(m.Modules) {
			t.Fatalf("manifest changed through Marshal: %+v became %+v", m, m2)
		}
	})
}
