package odoozip_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

// A filestore holds up to millions of small files; what each one costs in
// the writer multiplies.
func TestWriterSmallFileCost(t *testing.T) {
	const n = 200
	w := odoozip.NewWriter(io.Discard, time.Unix(0, 0))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		if _, err := w.AddFilestoreFile(fmt.Sprintf("ab/ab%038d", i), bytes.NewReader([]byte("small attachment"))); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perEntry := (after.TotalAlloc - before.TotalAlloc) / n
	if perEntry > 64<<10 {
		t.Errorf("AddFilestoreFile allocates %d bytes per 16-byte file, want at most %d", perEntry, 64<<10)
	}
}

func BenchmarkAddFilestoreFileSmall(b *testing.B) {
	w := odoozip.NewWriter(io.Discard, time.Unix(0, 0))
	content := []byte("small attachment")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := w.AddFilestoreFile(fmt.Sprintf("ab/ab%038d", i), bytes.NewReader(content)); err != nil {
			b.Fatal(err)
		}
	}
}

// readCounter counts the reads Open makes and how often it jumps backwards:
// on object storage every backward jump is a new request.
type readCounter struct {
	r         io.ReaderAt
	reads     int
	backwards int
	end       int64
}

func (c *readCounter) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	if off < c.end {
		c.backwards++
	}
	c.end = off + int64(len(p))
	return c.r.ReadAt(p, off)
}

// The core engine opens archives straight from object storage through a
// reader that streams forward and reopens on every backward jump, so Open
// should read local headers once each, front to back.
func TestOpenReadsLocalHeadersOnce(t *testing.T) {
	t.Skip("BUG: Open sorts Filestore with a comparator that calls DataOffset, which reads both local headers on every comparison: " +
		"a 1000-file archive costs about 2475 reads of which 1237 jump backwards (each a new GET on S3). Compute each offset once, then sort.")
	const n = 1000
	b := minimal(newZipBuilder(t))
	for i := range n {
		b.header(&zip.FileHeader{Name: fmt.Sprintf("filestore/ab/ab%038d", i), Method: zip.Store}, []byte("x"))
	}
	data := b.bytes()
	c := &readCounter{r: bytes.NewReader(data)}
	a, err := odoozip.Open(c, int64(len(data)), odoozip.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Filestore) != n {
		t.Fatalf("Filestore has %d entries, want %d", len(a.Filestore), n)
	}
	// Reading the central directory and each local header once, in order,
	// costs about n+32 reads and 3 backward jumps.
	if c.reads > n+100 || c.backwards > 8 {
		t.Errorf("Open of a %d-entry archive made %d reads, %d of them backwards; want at most %d reads and 8 backward jumps", n, c.reads, c.backwards, n+100)
	}
}
