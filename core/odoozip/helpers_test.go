package odoozip_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

var testTime = time.Date(2024, 3, 5, 1, 2, 3, 0, time.UTC)

// validDump is the start of a real plain pg_dump.
const validDump = "--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 15.4\n\nSET statement_timeout = 0;\n"

// zipBuilder writes hand-made archives with archive/zip, so tests can produce
// what the odoozip Writer never would.
type zipBuilder struct {
	t   testing.TB
	buf bytes.Buffer
	zw  *zip.Writer
}

func newZipBuilder(t testing.TB) *zipBuilder {
	b := &zipBuilder{t: t}
	b.zw = zip.NewWriter(&b.buf)
	return b
}

// file adds a deflated regular file.
func (b *zipBuilder) file(name string, content []byte) *zipBuilder {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(0o644)
	return b.header(h, content)
}

// header adds an entry from a caller-made header; content is compressed by
// archive/zip according to h.Method.
func (b *zipBuilder) header(h *zip.FileHeader, content []byte) *zipBuilder {
	b.t.Helper()
	w, err := b.zw.CreateHeader(h)
	if err != nil {
		b.t.Fatalf("CreateHeader(%q): %v", h.Name, err)
	}
	if _, err := w.Write(content); err != nil {
		b.t.Fatalf("write %q: %v", h.Name, err)
	}
	return b
}

// raw adds an entry whose header (sizes, CRC, method, flags) is written
// exactly as given, followed by data as is.
func (b *zipBuilder) raw(h *zip.FileHeader, data []byte) *zipBuilder {
	b.t.Helper()
	w, err := b.zw.CreateRaw(h)
	if err != nil {
		b.t.Fatalf("CreateRaw(%q): %v", h.Name, err)
	}
	if _, err := w.Write(data); err != nil {
		b.t.Fatalf("write raw %q: %v", h.Name, err)
	}
	return b
}

func (b *zipBuilder) bytes() []byte {
	b.t.Helper()
	if err := b.zw.Close(); err != nil {
		b.t.Fatalf("close zip: %v", err)
	}
	return b.buf.Bytes()
}

// minimal is the smallest archive Open accepts with a manifest.
func minimal(b *zipBuilder) *zipBuilder {
	return b.file("dump.sql", []byte(validDump)).file("manifest.json", []byte(`{"odoo_dump": "1", "db_name": "prod"}`))
}

func open(t testing.TB, data []byte, lim odoozip.Limits) (*odoozip.Archive, error) {
	t.Helper()
	return odoozip.Open(bytes.NewReader(data), int64(len(data)), lim)
}

func readEntry(t testing.TB, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatalf("open entry %q: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read entry %q: %v", f.Name, err)
	}
	return b
}

// deflate compresses data with the standard library at the best level.
func deflate(t testing.TB, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	fw, err := flate.NewWriter(&out, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// rawDeflated is a header for CreateRaw describing data truthfully.
func rawDeflated(name string, content, compressed []byte) *zip.FileHeader {
	h := &zip.FileHeader{
		Name:               name,
		Method:             zip.Deflate,
		CRC32:              crc32.ChecksumIEEE(content),
		CompressedSize64:   uint64(len(compressed)),
		UncompressedSize64: uint64(len(content)),
	}
	h.SetMode(0o644)
	return h
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// shannon is an independent computation of bits per byte, to check the
// writer's store-or-deflate choice against.
func shannon(b []byte) float64 {
	var counts [256]float64
	for _, c := range b {
		counts[c]++
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := c / float64(len(b))
			h -= p * math.Log2(p)
		}
	}
	return h
}
