package odoozip

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/klauspost/compress/flate"
)

// Entry names inside the archive.
const (
	DumpName      = "dump.sql"
	ManifestName  = "manifest.json"
	FilestoreDir  = "filestore/"
	sampleSize    = 64 << 10
	bufferSize    = 256 << 10
	entropyCutoff = 7.5 // bits per byte above which deflate gains nothing
)

// Writer streams an Odoo-compatible zip to an io.Writer that need not seek.
type Writer struct {
	buf    *bufio.Writer
	zw     *zip.Writer
	sample []byte
	mtime  time.Time
}

// NewWriter starts an archive on w.
func NewWriter(w io.Writer, mtime time.Time) *Writer {
	buf := bufio.NewWriterSize(w, bufferSize)
	zw := zip.NewWriter(buf)
	// A compressor costs about a megabyte to make and a filestore has many
	// small files: one is made per archive and reset onto each entry.
	var fw *flate.Writer
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		if fw == nil {
			var err error
			if fw, err = flate.NewWriter(out, deflateLevel); err != nil {
				return nil, err
			}
		} else {
			fw.Reset(out)
		}
		return fw, nil
	})
	return &Writer{buf: buf, zw: zw, sample: make([]byte, sampleSize), mtime: mtime}
}

// deflateLevel trades size for speed; a backup spends its time compressing
// and dumps compress well at any level.
const deflateLevel = 2

func (w *Writer) header(name string, method uint16) *zip.FileHeader {
	h := &zip.FileHeader{Name: name, Method: method, Modified: w.mtime}
	h.SetMode(0o644)
	return h
}

// WriteManifest adds manifest.json.
func (w *Writer) WriteManifest(m Manifest) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	ew, err := w.zw.CreateHeader(w.header(ManifestName, zip.Deflate))
	if err != nil {
		return err
	}
	_, err = ew.Write(b)
	return err
}

// CreateDump starts dump.sql; write the plain SQL dump to the returned writer
// before adding anything else.
func (w *Writer) CreateDump() (io.Writer, error) {
	return w.zw.CreateHeader(w.header(DumpName, zip.Deflate))
}

// AddFilestoreFile adds filestore/<storeFname> with the content of r.
// Already-compressed content (images, PDFs, archives) is stored rather than
// deflated: deflating it costs time and gains nothing.
func (w *Writer) AddFilestoreFile(storeFname string, r io.Reader) (int64, error) {
	if err := CheckStoreFname(storeFname); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(r, w.sample)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, err
	}
	method := zip.Deflate
	if Incompressible(w.sample[:n]) {
		method = zip.Store
	}
	ew, err := w.zw.CreateHeader(w.header(FilestoreDir+storeFname, method))
	if err != nil {
		return 0, err
	}
	if _, err := ew.Write(w.sample[:n]); err != nil {
		return 0, err
	}
	rest, err := io.Copy(ew, r)
	return int64(n) + rest, err
}

// Close writes the central directory and flushes everything.
func (w *Writer) Close() error {
	if err := w.zw.Close(); err != nil {
		return err
	}
	return w.buf.Flush()
}

// Incompressible reports whether a file whose first bytes are sample
// (up to 64 KiB) is not worth deflating: compressed or encrypted data.
func Incompressible(sample []byte) bool {
	return len(sample) >= 4096 && entropy(sample) > entropyCutoff
}

// entropy is the Shannon entropy of b in bits per byte.
func entropy(b []byte) float64 {
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	total := float64(len(b))
	var h float64
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / total
		h -= p * math.Log2(p)
	}
	return h
}

// CheckStoreFname accepts the ir_attachment.store_fname forms Odoo writes
// ("ab/ab12…" and older "abc/abc12…"): relative, '/'-separated, made of
// plain characters, with no '.' or '..' segment.
func CheckStoreFname(name string) error {
	if err := checkRelPath(name); err != nil {
		return fmt.Errorf("attachment file name %q: %w", name, err)
	}
	return nil
}
