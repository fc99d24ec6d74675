package odoozip_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

// Entries larger than one compression chunk are deflated in pieces on
// several goroutines and joined into one deflate stream; every reader
// (odoozip, archive/zip, Python's zipfile) must read them back byte for
// byte, at every size around the chunk boundaries.
func TestRoundTripChunkedEntries(t *testing.T) {
	const cs = odoozip.ChunkSize
	m := odoozip.NewManifest("prod", map[string]string{"base": "17.0.1.3"}, 150018)
	var dump bytes.Buffer
	dump.WriteString(validDump)
	for i := 0; dump.Len() < 3*cs+cs/2; i++ {
		fmt.Fprintf(&dump, "INSERT INTO res_partner VALUES (%d, 'partner %d', 'street %d');\n", i, i*7, i%977)
	}
	text := func(n int) []byte {
		return []byte(strings.Repeat("Lorem ipsum dolor sit amet, odoo attachment line.\n", n/50+1)[:n])
	}
	// Compressible in the first 64 KiB, random after: the method is
	// chosen once, from the start, and the random part still deflates.
	mixed := append(text(64<<10), randomBytes(21, 2*cs)...)
	files := []fsFile{
		{sha1ish(2, 31), text(cs - 1)},
		{sha1ish(2, 32), text(cs)},
		{sha1ish(2, 33), text(cs + 1)},
		{sha1ish(2, 34), randomBytes(34, cs)},
		{sha1ish(2, 35), randomBytes(35, 2*cs+cs/2)},
		{sha1ish(2, 36), text(2*cs + 17)},
		{sha1ish(2, 37), mixed},
		{sha1ish(2, 38), []byte("small")},
		{sha1ish(2, 39), nil},
	}
	mtime := time.Date(2024, 3, 5, 1, 2, 3, 0, time.UTC)
	data := writeArchive(t, m, dump.Bytes(), files, mtime)

	a, err := open(t, data, odoozip.DefaultLimits)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got := readEntry(t, a.Dump); !bytes.Equal(got, dump.Bytes()) {
		t.Errorf("dump.sql: got %d bytes, want the %d written", len(got), dump.Len())
	}
	if len(a.Filestore) != len(files) {
		t.Fatalf("Filestore has %d entries, want %d", len(a.Filestore), len(files))
	}
	for i, zf := range a.Filestore {
		f := files[i]
		if got := odoozip.StoreFname(zf); got != f.name {
			t.Fatalf("Filestore[%d] = %s, want %s (archive order)", i, got, f.name)
		}
		if got := readEntry(t, zf); !bytes.Equal(got, f.content) {
			t.Errorf("%s: content differs (got %d bytes, want %d)", f.name, len(got), len(f.content))
		}
		if got, want := zf.Method, wantMethod(f.content); got != want {
			t.Errorf("%s (%d bytes): method %d, want %d", f.name, len(f.content), got, want)
		}
		// One chunk: sizes in the local header; more: a data descriptor.
		if got, want := zf.Flags&0x8 != 0, len(f.content) >= cs; got != want {
			t.Errorf("%s (%d bytes): data descriptor %v, want %v", f.name, len(f.content), got, want)
		}
		if zf.Modified.Unix() != mtime.Unix() || !zf.Mode().IsRegular() {
			t.Errorf("%s: modified %v mode %v, want %v and a regular file", f.name, zf.Modified, zf.Mode(), mtime)
		}
	}
	// Deflating in pieces must still compress.
	if a.Dump.CompressedSize64*3 > a.Dump.UncompressedSize64 {
		t.Errorf("dump.sql deflated to %d of %d bytes, want under a third", a.Dump.CompressedSize64, a.Dump.UncompressedSize64)
	}
	checkWithPython(t, data, len(files)+2)
}

// errWriter accepts limit bytes, then fails.
type errWriter struct {
	limit int
	err   error
}

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, w.err
	}
	w.limit -= len(p)
	return len(p), nil
}

// The output is written after a call returns (the chunk is compressed
// meanwhile): its failure must still reach the caller, at the latest from
// Close, and never pass as a finished archive.
func TestWriterReportsOutputErrors(t *testing.T) {
	boom := errors.New("destination gone")
	for _, limit := range []int{0, 100, 300 << 10, 3 << 20} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			w := odoozip.NewWriter(&errWriter{limit: limit, err: boom}, time.Unix(0, 0))
			var err error
			dw, cerr := w.CreateDump()
			if cerr != nil {
				err = cerr
			} else {
				_, err = dw.Write(bytes.Repeat([]byte("INSERT INTO t VALUES (1);\n"), 100_000))
			}
			for i := 0; err == nil && i < 200; i++ {
				_, err = w.AddFilestoreFile(sha1ish(2, i), bytes.NewReader(randomBytes(uint64(i), 40<<10)))
			}
			if err == nil {
				err = w.Close()
			} else if cerr := w.Close(); !errors.Is(cerr, boom) {
				t.Errorf("Close after a failed write = %v, want %v", cerr, boom)
			}
			if !errors.Is(err, boom) {
				t.Errorf("writing into an output that fails after %d bytes: %v, want %v", limit, err, boom)
			}
		})
	}
}

// A large file whose read fails after part of it was queued leaves an
// archive that cannot be finished: Close says so instead of writing a
// central directory over a truncated entry.
func TestWriterFailsAfterPartialLargeFile(t *testing.T) {
	boom := errors.New("disk says no")
	var buf bytes.Buffer
	w := odoozip.NewWriter(&buf, time.Unix(0, 0))
	_, err := w.AddFilestoreFile("ab/ab01", &failingReader{data: randomBytes(1, 2*odoozip.ChunkSize+5), err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("AddFilestoreFile with a reader failing after 2 chunks: %v, want %v", err, boom)
	}
	if _, err := w.AddFilestoreFile("ab/ab02", strings.NewReader("fine")); err == nil {
		t.Error("AddFilestoreFile after a half-written entry: no error, want the archive refused")
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("Close after a half-written entry = %v, want an error wrapping %v", err, boom)
	}
	if _, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err == nil {
		t.Error("the output of a failed archive opens as a zip, want no central directory")
	}
}

// The dump's writer is only good until the next entry starts.
func TestDumpWriterAfterNextEntry(t *testing.T) {
	w := odoozip.NewWriter(io.Discard, time.Unix(0, 0))
	dw, err := w.CreateDump()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dw.Write([]byte(validDump)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddFilestoreFile("ab/ab01", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := dw.Write([]byte("more")); err == nil || !strings.Contains(err.Error(), "write the whole dump before") {
		t.Errorf("writing dump.sql after a filestore file: %v, want a refusal", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("second Close: no error")
	}
}
