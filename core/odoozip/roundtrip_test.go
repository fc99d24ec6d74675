package odoozip_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

type fsFile struct {
	name    string
	content []byte
}

// sha1ish makes a plausible store_fname: a folder of the first width
// characters of a 40-hex-digit name.
func sha1ish(width int, seed int) string {
	h := fmt.Sprintf("%040x", uint64(seed)*0x9e3779b97f4a7c15+7)
	h = (h + strings.Repeat("0", 40))[:40]
	return h[:width] + "/" + h
}

func bytesOver(alphabet int, n int, seed uint64) []byte {
	b := randomBytes(seed, n)
	for i := range b {
		b[i] = byte(int(b[i]) % alphabet)
	}
	return b
}

func roundTripFiles() []fsFile {
	text := []byte(strings.Repeat("Lorem ipsum dolor sit amet, odoo attachment line.\n", 4000))
	lowThenRandom := append(bytes.Repeat([]byte("a"), 64<<10), randomBytes(9, 100<<10)...)
	return []fsFile{
		{sha1ish(2, 1), text},
		{sha1ish(2, 2), randomBytes(2, 200<<10)},
		{sha1ish(2, 3), nil},
		{sha1ish(3, 4), []byte("three-character folder, as older databases have")},
		{sha1ish(2, 5), randomBytes(5, 4095)},
		{sha1ish(2, 6), randomBytes(6, 4096)},
		{sha1ish(2, 7), randomBytes(7, 64<<10)},
		{sha1ish(2, 8), lowThenRandom},
		{sha1ish(2, 9), bytesOver(182, 100<<10, 10)},  // just over 7.5 bits per byte
		{sha1ish(2, 10), bytesOver(180, 100<<10, 11)}, // just under
		{"checklist/ab/" + sha1ish(2, 12)[3:], []byte("")},
		{sha1ish(2, 13), []byte{0}},
	}
}

func wantMethod(content []byte) uint16 {
	sample := content[:min(len(content), 64<<10)]
	if len(sample) >= 4096 && shannon(sample) > 7.5 {
		return zip.Store
	}
	return zip.Deflate
}

func writeArchive(t testing.TB, m odoozip.Manifest, dump []byte, files []fsFile, mtime time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := odoozip.NewWriter(&buf, mtime)
	if err := w.WriteManifest(m); err != nil {
		t.Fatalf("WriteManifest: %v", err)
	}
	dw, err := w.CreateDump()
	if err != nil {
		t.Fatalf("CreateDump: %v", err)
	}
	if _, err := dw.Write(dump); err != nil {
		t.Fatalf("write dump: %v", err)
	}
	for _, f := range files {
		n, err := w.AddFilestoreFile(f.name, bytes.NewReader(f.content))
		if err != nil {
			t.Fatalf("AddFilestoreFile(%q): %v", f.name, err)
		}
		if n != int64(len(f.content)) {
			t.Errorf("AddFilestoreFile(%q) = %d bytes, want %d", f.name, n, len(f.content))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	m := odoozip.NewManifest("prod", map[string]string{"base": "17.0.1.3", "web": "17.0.1.0", "sale": "17.0.1.2"}, 150018)
	dump := []byte(validDump + strings.Repeat("INSERT INTO res_partner VALUES (1, 'x');\n", 20000))
	files := roundTripFiles()
	mtime := time.Date(2024, 3, 5, 1, 2, 3, 0, time.UTC)
	data := writeArchive(t, m, dump, files, mtime)

	a, err := open(t, data, odoozip.DefaultLimits)
	if err != nil {
		t.Fatalf("Open of a freshly written archive: %v", err)
	}
	if a.Manifest == nil {
		t.Fatal("Open: Manifest is nil, want the written manifest")
	}
	gotJSON, _ := json.Marshal(a.Manifest)
	wantJSON, _ := json.Marshal(m)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("manifest:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	if a.Dump == nil {
		t.Fatal("Open: Dump is nil")
	}
	if got := readEntry(t, a.Dump); !bytes.Equal(got, dump) {
		t.Errorf("dump.sql: got %d bytes, want the %d written", len(got), len(dump))
	}
	if a.Dump.Method != zip.Deflate {
		t.Errorf("dump.sql method = %d, want deflate (%d)", a.Dump.Method, zip.Deflate)
	}
	if err := odoozip.CheckDumpHeader(a.Dump); err != nil {
		t.Errorf("CheckDumpHeader: %v", err)
	}
	if len(a.Ignored) != 0 {
		t.Errorf("Ignored = %q, want none", a.Ignored)
	}

	if len(a.Filestore) != len(files) {
		t.Fatalf("Filestore has %d entries, want %d", len(a.Filestore), len(files))
	}
	want := map[string]fsFile{}
	var wantSize uint64
	for _, f := range files {
		want[f.name] = f
		wantSize += uint64(len(f.content))
	}
	if a.FilestoreSize != wantSize {
		t.Errorf("FilestoreSize = %d, want %d", a.FilestoreSize, wantSize)
	}
	var lastOffset int64 = -1
	for _, zf := range a.Filestore {
		name := odoozip.StoreFname(zf)
		f, ok := want[name]
		if !ok {
			t.Errorf("unexpected filestore entry %q (store_fname %q)", zf.Name, name)
			continue
		}
		delete(want, name)
		if got := readEntry(t, zf); !bytes.Equal(got, f.content) {
			t.Errorf("filestore %s: content differs (got %d bytes, want %d)", name, len(got), len(f.content))
		}
		if got, want := zf.Method, wantMethod(f.content); got != want {
			t.Errorf("filestore %s (%d bytes, %.3f bits/byte): method %d, want %d", name, len(f.content), shannon(f.content[:min(len(f.content), 64<<10)]), got, want)
		}
		if zf.Modified.Unix() != mtime.Unix() {
			t.Errorf("filestore %s: modified %v, want %v", name, zf.Modified, mtime)
		}
		if !zf.Mode().IsRegular() {
			t.Errorf("filestore %s: mode %v, want a regular file", name, zf.Mode())
		}
		off, err := zf.DataOffset()
		if err != nil {
			t.Fatalf("DataOffset(%s): %v", name, err)
		}
		if off <= lastOffset {
			t.Errorf("Filestore not in archive order: %s at %d after an entry at %d", name, off, lastOffset)
		}
		lastOffset = off
	}
	for name := range want {
		t.Errorf("filestore file %s missing from the archive", name)
	}

	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") || f.Mode().IsDir() {
			t.Errorf("archive has directory entry %q; Odoo's format has files only", f.Name)
		}
	}
	if got, want := len(zr.File), len(files)+2; got != want {
		t.Errorf("archive has %d entries, want %d", got, want)
	}

	checkWithPython(t, data, len(files)+2)
}

// checkWithPython has Python's zipfile, which Odoo uses to restore, read the
// archive and verify every CRC.
func checkWithPython(t *testing.T, data []byte, wantEntries int) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found; Python zipfile check skipped")
		return
	}
	path := filepath.Join(t.TempDir(), "backup.zip")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 zipfile refused the archive: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.Itoa(wantEntries) {
		t.Errorf("python3 zipfile sees %s entries, want %d", got, wantEntries)
	}
}

func TestWriterRefusesUnsafeStoreFname(t *testing.T) {
	for _, name := range []string{"", "../x", "/etc/passwd", "ab/../../x", "ab//cd", `ab\cd`, "ab/./cd", "ab/cd\x00", "ab/\ncd", "ab/"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			var buf bytes.Buffer
			w := odoozip.NewWriter(&buf, time.Unix(0, 0))
			dw, err := w.CreateDump()
			if err != nil {
				t.Fatal(err)
			}
			dw.Write([]byte(validDump))
			if _, err := w.AddFilestoreFile(name, strings.NewReader("x")); err == nil {
				t.Fatalf("AddFilestoreFile(%q) = nil error, want a refusal", name)
			}
			if _, err := w.AddFilestoreFile("ab/ab01", strings.NewReader("fine")); err != nil {
				t.Fatalf("AddFilestoreFile after a refusal: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			a, err := open(t, buf.Bytes(), odoozip.DefaultLimits)
			if err != nil {
				t.Fatalf("Open after a refused entry: %v", err)
			}
			if len(a.Filestore) != 1 || a.Filestore[0].Name != "filestore/ab/ab01" {
				var names []string
				for _, f := range a.Filestore {
					names = append(names, f.Name)
				}
				t.Errorf("Filestore = %q, want only filestore/ab/ab01", names)
			}
		})
	}
}

// failingReader yields data, then err instead of io.EOF.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestWriterPassesOnReadErrors(t *testing.T) {
	boom := errors.New("disk says no")
	for _, size := range []int{0, 10, 64 << 10, 100 << 10} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			var buf bytes.Buffer
			w := odoozip.NewWriter(&buf, time.Unix(0, 0))
			_, err := w.AddFilestoreFile("ab/ab01", &failingReader{data: randomBytes(1, size), err: boom})
			if !errors.Is(err, boom) {
				t.Errorf("AddFilestoreFile with a reader failing after %d bytes: error %v, want %v", size, err, boom)
			}
		})
	}
}

// TestManyEntriesZip64 opens an archive with more entries than the classic
// end of central directory can count, which forces a zip64 end record. It is
// built with archive/zip, stored: the odoozip Writer spends about 1 ms per
// entry (see TestWriterSmallFileCost), too slow for 70000 of them here.
func TestManyEntriesZip64(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 70000-entry archive")
	}
	const n = 70000
	name := func(i int) string { return fmt.Sprintf("%02x/%02x%038d", i%256, i%256, i) }
	content := func(i int) []byte { return []byte("0123456789")[:i%11] }
	b := newZipBuilder(t)
	b.file("dump.sql", []byte(validDump))
	for i := range n {
		b.header(&zip.FileHeader{Name: "filestore/" + name(i), Method: zip.Store}, content(i))
	}
	data := b.bytes()
	if !bytes.Contains(data[max(0, len(data)-200):], []byte{'P', 'K', 6, 6}) {
		t.Fatal("archive of 70001 entries has no zip64 end of central directory record")
	}
	eocd := data[len(data)-22:]
	if got := binary.LittleEndian.Uint16(eocd[10:]); got != 0xffff {
		t.Fatalf("classic end record counts %d entries, want 0xffff pointing to the zip64 record", got)
	}

	a, err := open(t, data, odoozip.DefaultLimits)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if len(a.Filestore) != n {
		t.Fatalf("Filestore has %d entries, want %d", len(a.Filestore), n)
	}
	for i, f := range a.Filestore {
		if got, want := odoozip.StoreFname(f), name(i); got != want {
			t.Fatalf("Filestore[%d] = %q, want %q", i, got, want)
		}
		if i%997 == 0 || i >= 65534 && i <= 65537 || i == n-1 {
			if got := readEntry(t, f); !bytes.Equal(got, content(i)) {
				t.Errorf("%s = %q, want %q", f.Name, got, content(i))
			}
		}
	}
	checkWithPython(t, data, n+1)
}
