package odoozip

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

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
//
// Entries are cut into chunks of up to chunkSize bytes that the package's
// compressor goroutines deflate in parallel, each chunk on its own (a
// non-final chunk ends with a sync flush, so the chunks of an entry join
// into one deflate stream, as pigz does). The caller's goroutine reads the
// content, and writes the finished chunks to the output in archive order:
// everything the output sees comes from the goroutine that calls the
// Writer's methods, as with archive/zip. At most chunksInFlight chunks
// exist at once, so memory stays bounded whatever the entries' sizes.
//
// A file that fits one chunk (most filestore files) is written with its
// sizes and CRC-32 in its local header; a larger entry (dump.sql, a large
// file) is followed by a data descriptor. A Writer is not safe for
// concurrent use.
type Writer struct {
	buf *bufio.Writer
	zw  *zip.Writer

	// The modification time of every entry, in the forms its headers use.
	modDate, modTime uint16
	extTime          [9]byte

	free    []*chunk // chunks ready to fill
	pending []*chunk // chunks handed to the compressors, in archive order
	made    int      // chunks allocated, at most chunksInFlight

	// open is the entry whose content is still being written (dump.sql
	// after CreateDump): cur is its chunk being filled.
	open *entry
	cur  *chunk

	// err, once set, fails every later call: the archive is incomplete.
	err    error
	closed bool
}

const (
	// chunkSize is the most content one compression job holds.
	chunkSize = 1 << 20
	// deflateLevel trades size for speed; a backup spends its time
	// compressing and dumps compress well at any level.
	deflateLevel = 2
)

// chunksInFlight bounds the chunks of a Writer: enough to keep every
// compressor busy while the caller reads the next ones and writes the
// finished ones out.
var chunksInFlight = 2*compressors() + 1

// entry is one file of the archive as the Writer builds it.
type entry struct {
	fh *zip.FileHeader
	// decide: the compressor picks the method of this one-chunk entry
	// from its content (AddFilestoreFile); otherwise fh.Method holds.
	decide bool
	// Set by the caller's goroutine as the content comes: the CRC-32 and
	// size so far (final when the last chunk is queued).
	crc  uint32
	size int64
	// chunks queued so far; written, the compressed bytes written out.
	chunks  int
	written int64
	w       io.Writer
}

// chunk is one piece of an entry's content and what it became.
type chunk struct {
	e           *entry
	first, last bool
	in          []byte
	out         bytes.Buffer
	// method is the entry's; for a deciding one-chunk entry the
	// compressor sets it, and crc.
	method uint16
	crc    uint32
	err    error
	ready  chan struct{} // one token when the compressor is done
}

// The compressors are shared by every Writer of the process: backups
// running at the same time share the same cores anyway. Each has its own
// flate.Writer (about a megabyte), made once.
var (
	startCompressors sync.Once
	compressJobs     chan *chunk
)

func compressors() int { return max(1, runtime.GOMAXPROCS(0)) }

func queue(c *chunk) {
	startCompressors.Do(func() {
		n := compressors()
		compressJobs = make(chan *chunk, 4*n)
		for range n {
			go compressLoop()
		}
	})
	compressJobs <- c
}

func compressLoop() {
	var fw *flate.Writer
	for c := range compressJobs {
		c.err = nil
		if c.e.decide {
			c.crc = crc32.ChecksumIEEE(c.in)
			c.method = zip.Deflate
			if Incompressible(c.in[:min(len(c.in), sampleSize)]) {
				c.method = zip.Store
			}
		}
		if c.method == zip.Deflate {
			c.out.Reset()
			if fw == nil {
				fw, c.err = flate.NewWriter(&c.out, deflateLevel)
			} else {
				fw.Reset(&c.out)
			}
			if c.err == nil {
				_, c.err = fw.Write(c.in)
			}
			if c.err == nil && c.last {
				c.err = fw.Close()
			} else if c.err == nil {
				// A sync flush ends the chunk on a byte boundary with
				// a non-final block: the next chunk continues the
				// stream.
				c.err = fw.Flush()
			}
		}
		c.ready <- struct{}{}
	}
}

// NewWriter starts an archive on w.
func NewWriter(w io.Writer, mtime time.Time) *Writer {
	buf := bufio.NewWriterSize(w, bufferSize)
	zw := &Writer{buf: buf, zw: zip.NewWriter(buf)}
	// What zip.Writer.CreateHeader makes of FileHeader.Modified: an
	// MS-DOS date and time in mtime's zone, and an extended timestamp.
	zw.modDate = uint16(mtime.Day() + int(mtime.Month())<<5 + (mtime.Year()-1980)<<9)
	zw.modTime = uint16(mtime.Second()/2 + mtime.Minute()<<5 + mtime.Hour()<<11)
	zw.extTime = [9]byte{0x55, 0x54, 5, 0, 1} // "UT", 5 bytes, mtime only
	t := uint32(mtime.Unix())
	zw.extTime[5], zw.extTime[6], zw.extTime[7], zw.extTime[8] = byte(t), byte(t>>8), byte(t>>16), byte(t>>24)
	return zw
}

// header is the header of a new entry, as CreateHeader would make it.
func (w *Writer) header(name string, method uint16) *zip.FileHeader {
	// The MS-DOS time is computed once per archive; Modified would make
	// archive/zip add a second extended-timestamp field to Extra.
	//lint:ignore SA1019 the MS-DOS fields are what Modified is turned into.
	h := &zip.FileHeader{Name: name, Method: method, ModifiedDate: w.modDate, ModifiedTime: w.modTime}
	h.SetMode(0o644)
	h.CreatorVersion = h.CreatorVersion&0xff00 | zipVersion20
	h.ReaderVersion = zipVersion20
	h.Extra = append(make([]byte, 0, len(w.extTime)), w.extTime[:]...)
	if !isASCII(name) && utf8.ValidString(name) {
		h.Flags |= 0x800
	}
	return h
}

const (
	zipVersion20 = 20 // what every entry needs
	zipVersion45 = 45 // an entry with zip64 sizes
)

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// WriteManifest adds manifest.json.
func (w *Writer) WriteManifest(m Manifest) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	e, err := w.begin(ManifestName, zip.Deflate)
	if err != nil {
		return err
	}
	if err := w.write(e, b); err != nil {
		return err
	}
	return w.end()
}

// CreateDump starts dump.sql; write the plain SQL dump to the returned writer
// before adding anything else.
func (w *Writer) CreateDump() (io.Writer, error) {
	e, err := w.begin(DumpName, zip.Deflate)
	if err != nil {
		return nil, err
	}
	return &entryWriter{w: w, e: e}, nil
}

// entryWriter writes the content of the Writer's open entry.
type entryWriter struct {
	w *Writer
	e *entry
}

func (ew *entryWriter) Write(p []byte) (int, error) {
	if ew.w.open != ew.e {
		return 0, errors.New("dump.sql was already finished: write the whole dump before adding anything else")
	}
	if err := ew.w.write(ew.e, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// AddFilestoreFile adds filestore/<storeFname> with the content of r.
// Already-compressed content (images, PDFs, archives) is stored rather than
// deflated: deflating it costs time and gains nothing. The content is read
// before it returns; it is compressed and written out later, and an error
// of the output shows in a later call.
func (w *Writer) AddFilestoreFile(storeFname string, r io.Reader) (int64, error) {
	if err := CheckStoreFname(storeFname); err != nil {
		return 0, err
	}
	if err := w.end(); err != nil {
		return 0, err
	}
	c, err := w.chunk()
	if err != nil {
		return 0, err
	}
	n, err := io.ReadFull(r, c.in[:chunkSize])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		// Nothing of the entry is queued: the archive goes on without it.
		w.free = append(w.free, c)
		return 0, err
	}
	c.in = c.in[:n]
	name := FilestoreDir + storeFname
	if err != nil {
		// All of it in one chunk: the compressor picks the method and
		// sums it, and its header will carry its sizes.
		e := &entry{fh: w.header(name, zip.Deflate), decide: true, size: int64(n)}
		w.submit(e, c, true)
		return int64(n), w.drain(false)
	}
	method := uint16(zip.Deflate)
	if Incompressible(c.in[:sampleSize]) {
		method = zip.Store
	}
	e := &entry{fh: w.header(name, method)}
	w.open, w.cur = e, c
	e.crc = crc32.Update(0, crc32.IEEETable, c.in)
	e.size = int64(n)
	total := int64(n)
	for {
		if err := w.flushCur(e); err != nil {
			return total, err
		}
		if w.cur, err = w.chunk(); err != nil {
			return total, err
		}
		c := w.cur
		n, err := io.ReadFull(r, c.in[:chunkSize])
		c.in = c.in[:n]
		e.crc = crc32.Update(e.crc, crc32.IEEETable, c.in)
		e.size += int64(n)
		total += int64(n)
		switch err {
		case nil:
			continue
		case io.EOF, io.ErrUnexpectedEOF:
			return total, w.end()
		default:
			// Part of the entry is queued already: the archive cannot
			// be finished.
			w.fail(fmt.Errorf("reading %s failed after %d bytes: %w", name, total, err))
			return total, err
		}
	}
}

// begin ends the open entry and opens one named name.
func (w *Writer) begin(name string, method uint16) (*entry, error) {
	if err := w.end(); err != nil {
		return nil, err
	}
	e := &entry{fh: w.header(name, method)}
	w.open = e
	return e, nil
}

// write adds p to the open entry e.
func (w *Writer) write(e *entry, p []byte) error {
	if w.err != nil {
		return w.err
	}
	e.crc = crc32.Update(e.crc, crc32.IEEETable, p)
	e.size += int64(len(p))
	for len(p) > 0 {
		if w.cur == nil {
			var err error
			if w.cur, err = w.chunk(); err != nil {
				return err
			}
		}
		c := w.cur
		k := copy(c.in[len(c.in):chunkSize], p)
		c.in = c.in[:len(c.in)+k]
		p = p[k:]
		if len(c.in) == chunkSize {
			if err := w.flushCur(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// flushCur queues the full chunk of the open entry e, and writes out what
// is finished.
func (w *Writer) flushCur(e *entry) error {
	w.submit(e, w.cur, false)
	w.cur = nil
	return w.drain(false)
}

// end queues the last chunk of the open entry, if one is open.
func (w *Writer) end() error {
	if w.err != nil {
		return w.err
	}
	e := w.open
	if e == nil {
		return nil
	}
	w.open = nil
	c := w.cur
	w.cur = nil
	if c == nil {
		var err error
		if c, err = w.chunk(); err != nil {
			return err
		}
	}
	w.submit(e, c, true)
	return w.drain(false)
}

// submit hands c, the next chunk of e, to the compressors.
func (w *Writer) submit(e *entry, c *chunk, last bool) {
	c.e, c.first, c.last, c.method = e, e.chunks == 0, last, e.fh.Method
	e.chunks++
	w.pending = append(w.pending, c)
	if c.method == zip.Store && !e.decide {
		c.ready <- struct{}{}
		return
	}
	queue(c)
}

// chunk is an empty chunk to fill: a free one, a new one while fewer than
// chunksInFlight exist, or else the oldest queued one once it is written
// out.
func (w *Writer) chunk() (*chunk, error) {
	for len(w.free) == 0 && w.made >= chunksInFlight {
		if err := w.drain(true); err != nil {
			return nil, err
		}
	}
	if n := len(w.free); n > 0 {
		c := w.free[n-1]
		w.free = w.free[:n-1]
		return c, nil
	}
	w.made++
	return &chunk{in: make([]byte, 0, chunkSize), ready: make(chan struct{}, 1)}, nil
}

// drain writes out the finished chunks at the head of the queue, in order;
// with wait, it waits for the head one first.
func (w *Writer) drain(wait bool) error {
	for len(w.pending) > 0 {
		c := w.pending[0]
		if wait {
			<-c.ready
			wait = false
		} else {
			select {
			case <-c.ready:
			default:
				return w.err
			}
		}
		w.pending = w.pending[1:]
		if w.err == nil {
			w.err = w.writeOut(c)
		}
		c.in, c.e = c.in[:0], nil
		w.free = append(w.free, c)
	}
	return w.err
}

// writeOut writes the finished chunk c into the zip.
func (w *Writer) writeOut(c *chunk) error {
	if c.err != nil {
		return fmt.Errorf("compress %s: %w", c.e.fh.Name, c.err)
	}
	e, fh := c.e, c.e.fh
	data := c.in
	if c.method == zip.Deflate {
		data = c.out.Bytes()
	}
	if c.first {
		if e.decide {
			fh.Method, e.crc = c.method, c.crc
		}
		if c.last {
			// All of the entry is here: its header carries its sizes.
			fh.CRC32, fh.UncompressedSize64, fh.CompressedSize64 = e.crc, uint64(e.size), uint64(len(data))
		} else {
			fh.Flags |= 0x8 // sizes follow in a data descriptor
		}
		var err error
		if e.w, err = w.zw.CreateRaw(fh); err != nil {
			return err
		}
	}
	if _, err := e.w.Write(data); err != nil {
		return err
	}
	e.written += int64(len(data))
	if c.last && !c.first {
		// The data descriptor, written when the next entry starts, and
		// the central directory take these.
		fh.CRC32, fh.UncompressedSize64, fh.CompressedSize64 = e.crc, uint64(e.size), uint64(e.written)
		// archive/zip writes the data descriptor of an entry under 4 GiB
		// from the 32-bit fields.
		if fh.UncompressedSize64 >= math.MaxUint32 || fh.CompressedSize64 >= math.MaxUint32 {
			//lint:ignore SA1019 the data descriptor reads the 32-bit fields.
			fh.CompressedSize, fh.UncompressedSize = math.MaxUint32, math.MaxUint32
			fh.ReaderVersion = zipVersion45
		} else {
			//lint:ignore SA1019 the data descriptor reads the 32-bit fields.
			fh.CompressedSize, fh.UncompressedSize = uint32(fh.CompressedSize64), uint32(fh.UncompressedSize64)
		}
	}
	return nil
}

// fail makes the archive unfinishable.
func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Close writes out every chunk, then the central directory, and flushes
// everything.
func (w *Writer) Close() error {
	if w.closed {
		return errors.New("the archive was already closed")
	}
	err := w.end()
	for err == nil && len(w.pending) > 0 {
		err = w.drain(true)
	}
	if err != nil {
		w.abandon()
		return err
	}
	w.closed = true
	if err := w.zw.Close(); err != nil {
		return err
	}
	return w.buf.Flush()
}

// abandon waits for the chunks still with the compressors, so that none
// is reused while one works on it.
func (w *Writer) abandon() {
	for _, c := range w.pending {
		<-c.ready
	}
	w.pending = nil
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
