package odoozip_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

func withLimits(change func(*odoozip.Limits)) odoozip.Limits {
	l := odoozip.DefaultLimits
	change(&l)
	return l
}

func withMode(name string, mode fs.FileMode, content []byte) func(*zipBuilder) {
	return func(b *zipBuilder) {
		h := &zip.FileHeader{Name: name, Method: zip.Store}
		h.SetMode(mode)
		b.header(h, content)
	}
}

// patchCentralUncompressedSize rewrites the 32-bit uncompressed size of
// name's central directory header only, leaving its local header alone.
func patchCentralUncompressedSize(t *testing.T, data []byte, name string, size uint32) []byte {
	t.Helper()
	out := bytes.Clone(data)
	for i := 0; i+46 <= len(out); i++ {
		if !bytes.Equal(out[i:i+4], []byte{'P', 'K', 1, 2}) {
			continue
		}
		n := int(binary.LittleEndian.Uint16(out[i+28:]))
		if i+46+n <= len(out) && string(out[i+46:i+46+n]) == name {
			binary.LittleEndian.PutUint32(out[i+24:], size)
			return out
		}
	}
	t.Fatalf("no central directory header for %q", name)
	return nil
}

func TestOpenRefuses(t *testing.T) {
	zeros := make([]byte, 4<<10)
	zerosDeflated := deflate(t, zeros)
	bigStored := randomBytes(3, 2<<20)

	tests := []struct {
		name    string
		build   func(*zipBuilder) // added after a valid dump.sql and manifest.json
		data    func(t *testing.T) []byte
		lim     odoozip.Limits
		wantErr error
		want    string // in the message: the entry's quoted name or the reason
	}{
		{name: "parent escape", build: file("../evil"), wantErr: odoozip.ErrHostile, want: `"../evil"`},
		{name: "absolute", build: file("/abs"), wantErr: odoozip.ErrHostile, want: `"/abs"`},
		{name: "escape under filestore", build: file("filestore/../../x"), wantErr: odoozip.ErrHostile, want: `"filestore/../../x"`},
		{name: "dot segment", build: file("filestore/ab/./x"), wantErr: odoozip.ErrHostile, want: `"filestore/ab/./x"`},
		{name: "trailing dotdot", build: file("filestore/.."), wantErr: odoozip.ErrHostile, want: `"filestore/.."`},
		{name: "backslash", build: file(`filestore\..\..\x`), wantErr: odoozip.ErrHostile, want: strconv.Quote(`filestore\..\..\x`)},
		{name: "backslash in a segment", build: file(`a\b`), wantErr: odoozip.ErrHostile, want: strconv.Quote(`a\b`)},
		{name: "NUL", build: file("filestore/ab/x\x00.png"), wantErr: odoozip.ErrHostile, want: strconv.Quote("filestore/ab/x\x00.png")},
		{name: "newline", build: file("filestore/ab/x\ny"), wantErr: odoozip.ErrHostile, want: strconv.Quote("filestore/ab/x\ny")},
		{name: "escape character", build: file("filestore/ab/\x1b[2Jx"), wantErr: odoozip.ErrHostile, want: strconv.Quote("filestore/ab/\x1b[2Jx")},
		{name: "DEL", build: file("filestore/ab/x\x7f"), wantErr: odoozip.ErrHostile, want: strconv.Quote("filestore/ab/x\x7f")},
		{name: "empty segment", build: file("a//b"), wantErr: odoozip.ErrHostile, want: `"a//b"`},
		{name: "drive letter", build: file("C:/Windows/x"), wantErr: odoozip.ErrHostile, want: `"C:/Windows/x"`},
		{name: "over 1024 bytes", build: file("filestore/ab/" + strings.Repeat("a", 1100)), wantErr: odoozip.ErrHostile, want: "longer than 1024"},
		{name: "duplicate filestore file", build: func(b *zipBuilder) {
			b.file("filestore/ab/x", []byte("one")).file("filestore/ab/x", []byte("two"))
		}, wantErr: odoozip.ErrHostile, want: `"filestore/ab/x" appears twice`},
		{name: "duplicate dump", build: file("dump.sql"), wantErr: odoozip.ErrHostile, want: `"dump.sql" appears twice`},
		{name: "duplicate manifest", build: file("manifest.json"), wantErr: odoozip.ErrHostile, want: `"manifest.json" appears twice`},
		{name: "symlink", build: withMode("filestore/ab/link", fs.ModeSymlink|0o777, []byte("/etc/shadow")), wantErr: odoozip.ErrHostile, want: `"filestore/ab/link" is a symbolic link`},
		{name: "symlink dump", data: func(t *testing.T) []byte {
			b := newZipBuilder(t)
			withMode("dump.sql", fs.ModeSymlink|0o777, []byte("/etc/shadow"))(b)
			return b.bytes()
		}, wantErr: odoozip.ErrHostile, want: `"dump.sql" is a symbolic link`},
		{name: "named pipe", build: withMode("filestore/ab/fifo", fs.ModeNamedPipe|0o644, nil), wantErr: odoozip.ErrHostile, want: `"filestore/ab/fifo" is a named pipe`},
		{name: "character device", build: withMode("filestore/ab/tty", fs.ModeDevice|fs.ModeCharDevice|0o644, nil), wantErr: odoozip.ErrHostile, want: `"filestore/ab/tty" is a device`},
		{name: "socket", build: withMode("filestore/ab/sock", fs.ModeSocket|0o644, nil), wantErr: odoozip.ErrHostile, want: `"filestore/ab/sock" is a socket`},
		{name: "directory with content", data: func(t *testing.T) []byte {
			// archive/zip will not write content under a name ending in '/'.
			b := minimal(newZipBuilder(t))
			withMode("filestore/abX", fs.ModeDir|0o755, []byte("hidden"))(b)
			return bytes.ReplaceAll(b.bytes(), []byte("filestore/abX"), []byte("filestore/ab/"))
		}, wantErr: odoozip.ErrHostile, want: `"filestore/ab/"`},
		{name: "encrypted", build: func(b *zipBuilder) {
			b.raw(&zip.FileHeader{Name: "filestore/ab/secret", Method: zip.Store, Flags: 0x1, CompressedSize64: 12, UncompressedSize64: 0}, make([]byte, 12))
		}, wantErr: odoozip.ErrHostile, want: `"filestore/ab/secret" is encrypted`},
		{name: "unknown compression method", build: func(b *zipBuilder) {
			b.raw(&zip.FileHeader{Name: "filestore/ab/lzma", Method: 14, CompressedSize64: 5, UncompressedSize64: 5}, []byte("abcde"))
		}, wantErr: odoozip.ErrNotOdooArchive, want: `"filestore/ab/lzma" uses compression method 14`},
		{name: "AES method", build: func(b *zipBuilder) {
			b.raw(&zip.FileHeader{Name: "filestore/ab/aes", Method: 99, CompressedSize64: 5, UncompressedSize64: 5}, []byte("abcde"))
		}, wantErr: odoozip.ErrNotOdooArchive, want: `"filestore/ab/aes"`},
		{name: "entry over MaxEntrySize", build: func(b *zipBuilder) {
			b.file("filestore/ab/big", bytes.Repeat([]byte("x"), 201))
		}, lim: withLimits(func(l *odoozip.Limits) { l.MaxEntrySize = 200 }), wantErr: odoozip.ErrHostile, want: `"filestore/ab/big" claims 201 bytes, more than the 200 allowed`},
		{name: "claimed 1 TiB + 1", build: func(b *zipBuilder) {
			b.raw(&zip.FileHeader{Name: "filestore/ab/huge", Method: zip.Store, CompressedSize64: 4, UncompressedSize64: 1<<40 + 1}, []byte("tiny"))
		}, wantErr: odoozip.ErrHostile, want: `"filestore/ab/huge" claims 1099511627777 bytes`},
		{name: "ratio lie: 100 MiB from a few KiB", build: func(b *zipBuilder) {
			h := rawDeflated("filestore/ab/bomb", zeros, zerosDeflated)
			h.UncompressedSize64 = 100 << 20
			b.raw(h, zerosDeflated)
		}, wantErr: odoozip.ErrHostile, want: `"filestore/ab/bomb" expands`},
		{name: "ratio lie in the central directory only", data: func(t *testing.T) []byte {
			b := minimal(newZipBuilder(t))
			b.header(&zip.FileHeader{Name: "filestore/ab/photo", Method: zip.Store}, bigStored)
			return patchCentralUncompressedSize(t, b.bytes(), "filestore/ab/photo", 0xFFFF_FFF0)
		}, wantErr: odoozip.ErrHostile, want: `"filestore/ab/photo" expands`},
		{name: "more entries than MaxEntries", build: func(b *zipBuilder) {
			b.file("filestore/ab/1", nil).file("filestore/ab/2", nil)
		}, lim: withLimits(func(l *odoozip.Limits) { l.MaxEntries = 3 }), wantErr: odoozip.ErrHostile, want: "4 entries, more than the 3 allowed"},
		{name: "total over MaxTotalSize", build: func(b *zipBuilder) {
			b.file("filestore/ab/1", bytes.Repeat([]byte("x"), 600)).file("filestore/ab/2", bytes.Repeat([]byte("y"), 600))
		}, lim: withLimits(func(l *odoozip.Limits) { l.MaxTotalSize = 1000 }), wantErr: odoozip.ErrHostile, want: "more than 1000 bytes in all"},
		{name: "no dump.sql", data: func(t *testing.T) []byte {
			return newZipBuilder(t).file("manifest.json", []byte(`{}`)).file("filestore/ab/x", []byte("x")).bytes()
		}, wantErr: odoozip.ErrNotOdooArchive, want: "no dump.sql"},
		{name: "dump.sql only as a directory", data: func(t *testing.T) []byte {
			return newZipBuilder(t).file("dump.sql/", nil).bytes()
		}, wantErr: odoozip.ErrNotOdooArchive, want: "no dump.sql"},
		{name: "empty zip", data: func(t *testing.T) []byte { return newZipBuilder(t).bytes() }, wantErr: odoozip.ErrNotOdooArchive, want: "no dump.sql"},
		{name: "random bytes", data: func(*testing.T) []byte { return randomBytes(42, 100<<10) }, wantErr: odoozip.ErrNotOdooArchive, want: "not a zip"},
		{name: "text file", data: func(*testing.T) []byte { return []byte(validDump + "CREATE TABLE x ();\n") }, wantErr: odoozip.ErrNotOdooArchive, want: "not a zip"},
		{name: "custom-format pg_dump", data: func(*testing.T) []byte { return append([]byte("PGDMP\x01\x0e\x00"), randomBytes(1, 5000)...) }, wantErr: odoozip.ErrNotOdooArchive, want: "not a zip"},
		{name: "empty file", data: func(*testing.T) []byte { return nil }, wantErr: odoozip.ErrNotOdooArchive, want: "not a zip"},
		{name: "manifest not JSON", data: func(t *testing.T) []byte {
			return newZipBuilder(t).file("dump.sql", []byte(validDump)).file("manifest.json", []byte("odoo_dump=1\n")).bytes()
		}, wantErr: odoozip.ErrNotOdooArchive, want: "manifest.json is not valid JSON"},
		{name: "manifest a JSON list", data: func(t *testing.T) []byte {
			return newZipBuilder(t).file("dump.sql", []byte(validDump)).file("manifest.json", []byte(`["odoo_dump"]`)).bytes()
		}, wantErr: odoozip.ErrNotOdooArchive, want: "manifest.json"},
		{name: "manifest over MaxManifestSize", data: func(t *testing.T) []byte {
			big := `{"odoo_dump": "1", "modules": {` + strings.Repeat(`"m": "1.0", `, 200) + `"base": "17.0.1.3"}}`
			return newZipBuilder(t).file("dump.sql", []byte(validDump)).file("manifest.json", []byte(big)).bytes()
		}, lim: withLimits(func(l *odoozip.Limits) { l.MaxManifestSize = 1024 }), wantErr: odoozip.ErrHostile, want: "manifest.json claims"},
		{name: "manifest claiming 1 GiB", data: func(t *testing.T) []byte {
			b := newZipBuilder(t).file("dump.sql", []byte(validDump))
			h := rawDeflated("manifest.json", zeros, zerosDeflated)
			h.UncompressedSize64 = 1 << 30
			h.CompressedSize64 = 1 << 30 / 1000
			return b.raw(h, zerosDeflated).bytes()
		}, wantErr: odoozip.ErrHostile, want: "manifest.json claims 1073741824 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var data []byte
			if tc.data != nil {
				data = tc.data(t)
			} else {
				b := minimal(newZipBuilder(t))
				tc.build(b)
				data = b.bytes()
			}
			lim := tc.lim
			if lim == (odoozip.Limits{}) {
				lim = odoozip.DefaultLimits
			}
			a, err := open(t, data, lim)
			if err == nil {
				t.Fatalf("Open = archive with %d filestore entries, nil error; want an error wrapping %v", len(a.Filestore), tc.wantErr)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Open error = %q, want one wrapping %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// file returns a builder step adding name with some content.
func file(name string) func(*zipBuilder) {
	return func(b *zipBuilder) { b.file(name, []byte("content")) }
}

func TestOpenRefusesTruncated(t *testing.T) {
	m := odoozip.NewManifest("prod", map[string]string{"base": "16.0.1.3"}, 140005)
	full := writeArchive(t, m, []byte(validDump), []fsFile{
		{"ab/ab01", []byte(strings.Repeat("text ", 10000))},
		{"cd/cd02", randomBytes(1, 30000)},
	}, testTime)
	for _, cut := range []int{1, 2, 21, 22, 23, 100, len(full) / 2, len(full) - 4} {
		t.Run(strconv.Itoa(cut), func(t *testing.T) {
			_, err := open(t, full[:len(full)-cut], odoozip.DefaultLimits)
			if !errors.Is(err, odoozip.ErrNotOdooArchive) {
				t.Errorf("Open of the archive without its last %d bytes: error %v, want one wrapping %v", cut, err, odoozip.ErrNotOdooArchive)
			}
		})
	}
}

// A backup whose filestore holds, stored, another Odoo backup (users attach
// backups to records) must not open as that inner backup once truncated:
// archive/zip looks for the end record in the last 65 KiB and accepts an
// archive that starts after byte 0.
func TestOpenRefusesTruncatedOuterArchive(t *testing.T) {
	innerManifest := odoozip.NewManifest("someone_else", map[string]string{"base": "12.0.1.3"}, 100005)
	inner := writeArchive(t, innerManifest, []byte(validDump+"-- the wrong database\n"), []fsFile{{"ee/ee01", randomBytes(7, 20000)}}, testTime)
	outerManifest := odoozip.NewManifest("prod", map[string]string{"base": "17.0.1.3"}, 160002)
	outer := writeArchive(t, outerManifest, []byte(validDump), []fsFile{
		{"aa/aa01", []byte(strings.Repeat("text ", 1000))},
		{"bb/bb02", inner},
		{"cc/cc03", randomBytes(8, 20000)},
	}, testTime)
	a, err := open(t, outer, odoozip.DefaultLimits)
	if err != nil || a.Manifest.DBName != "prod" {
		t.Fatalf("Open of the whole outer archive: %v", err)
	}
	if a.Filestore[1].Method != zip.Store {
		t.Fatalf("the inner zip was deflated; the test needs it stored")
	}
	innerEnd := bytes.Index(outer, inner) + len(inner)
	if innerEnd < len(inner) {
		t.Fatal("inner archive not found verbatim in the outer one")
	}
	for _, cut := range []int{innerEnd, innerEnd + 16, innerEnd + 5000} {
		t.Run(strconv.Itoa(cut), func(t *testing.T) {
			a, err := open(t, outer[:cut], odoozip.DefaultLimits)
			if err == nil {
				t.Fatalf("the outer archive truncated at byte %d of %d opens as the inner backup (db_name %q, dump %q...): "+
					"Open accepts a zip that does not start at byte 0", cut, len(outer), a.Manifest.DBName, firstLine(t, a.Dump))
			}
			if !errors.Is(err, odoozip.ErrNotOdooArchive) {
				t.Errorf("Open of the truncated outer archive: error %v, want one wrapping %v", err, odoozip.ErrNotOdooArchive)
			}
		})
	}
}

func firstLine(t *testing.T, f *zip.File) string {
	b := readEntry(t, f)
	s := string(b)
	if i := strings.LastIndex(strings.TrimSpace(s), "\n"); i >= 0 {
		return strings.TrimSpace(s[i:])
	}
	return s
}

// Under GODEBUG=zipinsecurepath=0 archive/zip itself reports unsafe names;
// Open must still classify them as hostile.
func TestOpenInsecurePathGODEBUG(t *testing.T) {
	t.Setenv("GODEBUG", "zipinsecurepath=0")
	data := minimal(newZipBuilder(t)).file("../evil", []byte("x")).bytes()
	_, err := open(t, data, odoozip.DefaultLimits)
	if errors.Is(err, zip.ErrInsecurePath) && !errors.Is(err, odoozip.ErrHostile) {
		t.Fatalf("with GODEBUG=zipinsecurepath=0, Open returns archive/zip's bare %q (no entry name, not ErrHostile); "+
			"Open should treat zip.ErrInsecurePath from zip.NewReader as a usable reader and go on validating", err)
	}
	if !errors.Is(err, odoozip.ErrHostile) {
		t.Errorf("Open with zipinsecurepath=0: error %v, want one wrapping %v", err, odoozip.ErrHostile)
	}
}

func TestOpenRatioLine(t *testing.T) {
	// Real deflate of zeros is the most compressible content there is; it
	// must pass, and its ratio shows how close the limit sits.
	zeros := make([]byte, 16<<20)
	compressed := deflate(t, zeros)
	ratio := float64(len(zeros)) / float64(len(compressed))
	if ratio < 1000 {
		t.Fatalf("deflate of zeros reached %.0f:1, want about 1030:1", ratio)
	}
	t.Logf("16 MiB of zeros deflate to %d bytes, %.1f:1; the limit is %d:1", len(compressed), ratio, odoozip.DefaultLimits.MaxRatio)

	small := deflate(t, make([]byte, 4096))
	lie := func(name string, compressed, uncompressed uint64) func(*zipBuilder) {
		return func(b *zipBuilder) {
			h := rawDeflated(name, make([]byte, 4096), small)
			h.CompressedSize64, h.UncompressedSize64 = compressed, uncompressed
			b.raw(h, bytes.Repeat([]byte{0}, int(compressed)))
		}
	}
	const c = 4096
	limit := odoozip.DefaultLimits.MaxRatio
	tests := []struct {
		name  string
		build func(*zipBuilder)
		ok    bool
	}{
		{"real zeros", func(b *zipBuilder) { b.raw(rawDeflated("filestore/ab/zeros", zeros, compressed), compressed) }, true},
		{"exactly at the limit", lie("filestore/ab/at", c, limit*c), true},
		{"one byte over the limit", lie("filestore/ab/over", c, limit*c+1), false},
		{"1 MiB from 1 byte (small entries are exempt)", lie("filestore/ab/small", 1, 1<<20), true},
		{"1 MiB + 1 from 1 byte", lie("filestore/ab/small", 1, 1<<20+1), false},
		{"1 MiB + 1 from nothing", lie("filestore/ab/none", 0, 1<<20+1), false},
		{"dump.sql over the limit", lie("dump.sql", c, limit*c+1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newZipBuilder(t)
			if !strings.HasPrefix(tc.name, "dump.sql") {
				b.file("dump.sql", []byte(validDump))
			}
			tc.build(b)
			_, err := open(t, b.bytes(), odoozip.DefaultLimits)
			switch {
			case tc.ok && err != nil:
				t.Errorf("Open: %v, want it accepted", err)
			case !tc.ok && !errors.Is(err, odoozip.ErrHostile):
				t.Errorf("Open error = %v, want one wrapping %v", err, odoozip.ErrHostile)
			}
		})
	}
}

// Open trusts declared sizes for its limits; archive/zip must then refuse to
// deliver more than an entry declared, or a CRC that does not match.
func TestReadBeyondDeclaredSize(t *testing.T) {
	text := bytes.Repeat([]byte("more than declared "), 1000)
	deflated := deflate(t, text)
	tests := []struct {
		name  string
		build func(*zipBuilder)
		want  error
	}{
		{"deflated, declared smaller", func(b *zipBuilder) {
			h := rawDeflated("filestore/ab/liar", text, deflated)
			h.UncompressedSize64 = 100
			b.raw(h, deflated)
		}, zip.ErrFormat},
		{"stored, declared smaller", func(b *zipBuilder) {
			h := rawDeflated("filestore/ab/liar", text, text)
			h.Method = zip.Store
			h.UncompressedSize64 = 100
			b.raw(h, text)
		}, zip.ErrFormat},
		{"declared larger", func(b *zipBuilder) {
			h := rawDeflated("filestore/ab/liar", text, deflated)
			h.UncompressedSize64 = uint64(len(text)) * 2
			b.raw(h, deflated)
		}, io.ErrUnexpectedEOF},
		{"wrong CRC", func(b *zipBuilder) {
			h := rawDeflated("filestore/ab/liar", text, deflated)
			h.CRC32 ^= 1
			b.raw(h, deflated)
		}, zip.ErrChecksum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := minimal(newZipBuilder(t))
			tc.build(b)
			a, err := open(t, b.bytes(), odoozip.DefaultLimits)
			if err != nil {
				t.Fatalf("Open: %v (sizes below the limits are only checked on reading)", err)
			}
			rc, err := a.Filestore[0].Open()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if !errors.Is(err, tc.want) {
				t.Errorf("reading the entry gave %d bytes and error %v, want error %v", len(got), err, tc.want)
			}
			if uint64(len(got)) > a.Filestore[0].UncompressedSize64 {
				t.Errorf("reading delivered %d bytes, more than the %d declared", len(got), a.Filestore[0].UncompressedSize64)
			}
		})
	}
}

// Other zip tools add directory entries and stray files; they carry nothing
// and must not stop a restore.
func TestOpenToleratesDirectoriesAndStrays(t *testing.T) {
	b := newZipBuilder(t)
	for _, d := range []string{"filestore/", "filestore/ab/", "__MACOSX/", "../"} {
		h := &zip.FileHeader{Name: d}
		h.SetMode(fs.ModeDir | 0o755)
		b.header(h, nil)
	}
	b.file("dump.sql", []byte(validDump)).file("filestore/ab/ab01", []byte("x")).file("README.txt", []byte("hi")).file("filestore", []byte("not a dir"))
	a, err := open(t, b.bytes(), odoozip.DefaultLimits)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if a.Manifest != nil {
		t.Errorf("Manifest = %+v, want nil without manifest.json", *a.Manifest)
	}
	var names []string
	for _, f := range a.Filestore {
		names = append(names, f.Name)
	}
	if fmt.Sprint(names) != "[filestore/ab/ab01]" {
		t.Errorf("Filestore = %q, want [filestore/ab/ab01]", names)
	}
	if fmt.Sprint(a.Ignored) != "[README.txt filestore]" {
		t.Errorf("Ignored = %q, want [README.txt filestore]", a.Ignored)
	}
}

func TestCheckDumpHeader(t *testing.T) {
	tests := []struct {
		name    string
		content string
		ok      bool
	}{
		{"pg_dump 15", validDump, true},
		{"pg_dump 17 with restrict", "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n", true},
		{"header only", odoozip.DumpHeader, true},
		{"empty", "", false},
		{"shorter than the header", "--\n-- PostgreSQL", false},
		{"CRLF", "--\r\n-- PostgreSQL database dump\r\n", false},
		{"pg_dumpall", "--\n-- PostgreSQL database cluster dump\n--\n", false},
		{"custom format", "PGDMP\x01\x0e\x00\x04\x08\x01\x01", false},
		{"zip", "PK\x03\x04", false},
		{"SQL without header", "CREATE TABLE res_partner (id integer);\n", false},
		{"leading space", " --\n-- PostgreSQL database dump", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := newZipBuilder(t).file("dump.sql", []byte(tc.content)).bytes()
			a, err := open(t, data, odoozip.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			err = odoozip.CheckDumpHeader(a.Dump)
			if tc.ok && err != nil {
				t.Errorf("CheckDumpHeader(%q) = %v, want nil", tc.content, err)
			}
			if !tc.ok && !errors.Is(err, odoozip.ErrNotOdooArchive) {
				t.Errorf("CheckDumpHeader(%q) = %v, want an error wrapping %v", tc.content, err, odoozip.ErrNotOdooArchive)
			}
		})
	}
}

// An entry that is both a file and the folder of another can never be
// extracted; refusing it up front keeps a restore from failing half-way.
func TestOpenRefusesFileAndFolderOfTheSameName(t *testing.T) {
	for _, order := range [][2]string{{"filestore/ab", "filestore/ab/ab01"}, {"filestore/ab/ab01", "filestore/ab"}} {
		t.Run(order[0]+" first", func(t *testing.T) {
			data := minimal(newZipBuilder(t)).file(order[0], []byte("1")).file(order[1], []byte("2")).bytes()
			_, err := open(t, data, odoozip.DefaultLimits)
			if err == nil {
				t.Fatalf("Open accepts both %q and %q; a restore then fails half-way through extraction "+
					"(file first: ErrCorrupt from mkdirAllOwned; folder first: a bare EEXIST from writeEntry). Fix: also record every parent folder of each name in seen and refuse a clash as ErrHostile", order[0], order[1])
			}
			if !errors.Is(err, odoozip.ErrHostile) || !strings.Contains(err.Error(), `"filestore/ab`) {
				t.Errorf("Open error = %v, want ErrHostile naming the entry", err)
			}
		})
	}
}
