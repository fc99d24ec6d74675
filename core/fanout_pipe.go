package core

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// fanoutPipeSize is how far the archive may run ahead of one destination's
// Put: a destination that pauses (an S3 part upload finishing, a disk
// flush) does not hold the others back until its pipe is full.
const fanoutPipeSize = 1 << 20

// bufPipe is io.Pipe with a buffer of a fixed size between the two ends:
// Write blocks only while the buffer is full. Closing the writer with nil
// lets the reader drain what is buffered, then read io.EOF; closing it with
// an error fails the reader's next Read at once, whatever is buffered, so
// an aborted archive never reaches the end of its stream.
//
// A pipe with a spill (newSpillPipe) never blocks its writer: once the
// buffer is full, what is written goes to a temporary file, which the
// reader reads at its own pace after the buffer; once it has caught up,
// the file is emptied and the buffer used again.
type bufPipe struct {
	mu   sync.Mutex
	cond sync.Cond
	buf  []byte // ring of len(buf) bytes, n of them from start on
	off  int
	n    int
	werr error // set when the writer closed: io.EOF or why it aborted
	rerr error // set when the reader closed
	sp   *spill
}

// spill is the temporary file of a pipe whose reader may fall behind.
type spill struct {
	dir  string
	what string // whose archive it holds, for messages
	f    spillFile
	// spilling: the writer writes to the file (the buffer is drained
	// before the file is read); w and r are the file's write and read
	// offsets.
	spilling bool
	w, r     int64
	// peak is the most bytes the file held at once.
	peak int64
}

// spillFile is what a spill uses of its file.
type spillFile interface {
	io.ReaderAt
	io.WriterAt
	Truncate(size int64) error
	Close() error
}

// openSpill creates the spill file in dir, already removed from the
// directory: nothing is left behind whatever happens to the backup or the
// process, and its space is freed when it is closed.
var openSpill = func(dir string) (spillFile, error) {
	f, err := os.CreateTemp(dir, ".odoo-backup-spill-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// spillError is the one sentence of a spill file that cannot be written
// or read.
func (sp *spill) spillError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return Userf(fmt.Errorf("%w: %w", ErrNoSpace, err),
			"the disk holding the temporary directory %s is full, so the archive could not be held back for %s, whose uploads are limited; free space there, or back that destination up apart from the others", sp.dir, sp.what)
	}
	return Userf(err, "cannot use a temporary file in %s to hold the archive back for %s (%v); check that the directory exists and is writable", sp.dir, sp.what, errors.Unwrap(err))
}

// newSpillPipe is a pipe whose writer never waits for its reader: what the
// buffer of size bytes cannot hold goes to a temporary file in dir. what
// names the reader (a destination) in messages. Closing the reader frees
// the file.
func newSpillPipe(size int, dir, what string) (*pipeReader, *pipeWriter) {
	pr, pw := newBufPipe(size)
	pr.p.sp = &spill{dir: dir, what: what}
	return pr, pw
}

// pipeReader and pipeWriter are the two ends of a bufPipe.
type (
	pipeReader struct{ p *bufPipe }
	pipeWriter struct{ p *bufPipe }
)

func newBufPipe(size int) (*pipeReader, *pipeWriter) {
	p := &bufPipe{buf: make([]byte, size)}
	p.cond.L = &p.mu
	return &pipeReader{p}, &pipeWriter{p}
}

func (r *pipeReader) Read(b []byte) (int, error) {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.n == 0 && !p.spilled() && p.werr == nil && p.rerr == nil {
		p.cond.Wait()
	}
	switch {
	case p.rerr != nil:
		return 0, io.ErrClosedPipe
	case p.werr != nil && p.werr != io.EOF:
		return 0, p.werr
	case p.n == 0 && p.spilled():
		return p.readSpill(b)
	case p.n == 0:
		return 0, io.EOF
	}
	total := 0
	for p.n > 0 && len(b) > 0 {
		k := copy(b, p.buf[p.off:min(len(p.buf), p.off+p.n)])
		b = b[k:]
		p.off = (p.off + k) % len(p.buf)
		p.n -= k
		total += k
	}
	p.cond.Broadcast()
	return total, nil
}

// spilled reports whether the spill file holds bytes not read yet.
func (p *bufPipe) spilled() bool { return p.sp != nil && p.sp.r < p.sp.w }

// readSpill reads from the spill file, the lock held on entry and exit:
// it is released while reading, since the writer only appends past what
// is read. Once the reader has caught up, the file is emptied and the
// buffer used again.
func (p *bufPipe) readSpill(b []byte) (int, error) {
	sp := p.sp
	k := int(min(int64(len(b)), sp.w-sp.r))
	off := sp.r
	p.mu.Unlock()
	n, err := sp.f.ReadAt(b[:k], off)
	p.mu.Lock()
	if p.rerr != nil {
		return 0, io.ErrClosedPipe
	}
	if n < k {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		err = sp.spillError(err)
		p.werr = err
		p.cond.Broadcast()
		return 0, err
	}
	sp.r += int64(n)
	if sp.r == sp.w {
		sp.spilling = false
		sp.r, sp.w = 0, 0
		if err := sp.f.Truncate(0); err != nil {
			p.werr = sp.spillError(err)
		}
	}
	p.cond.Broadcast()
	return n, nil
}

// CloseWithError closes the reading end: the writer's next Write fails
// with err (io.ErrClosedPipe if nil). A spill file is closed, and so
// freed.
func (r *pipeReader) CloseWithError(err error) error {
	if err == nil {
		err = io.ErrClosedPipe
	}
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rerr == nil {
		p.rerr = err
	}
	if p.sp != nil && p.sp.f != nil {
		p.sp.f.Close()
		p.sp.f = nil
	}
	p.cond.Broadcast()
	return nil
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	total := 0
	for len(b) > 0 {
		if p.sp != nil && (p.sp.spilling || p.n == len(p.buf)) && p.rerr == nil && p.werr == nil {
			k, err := p.writeSpill(b)
			total += k
			if err != nil {
				return total, err
			}
			b = b[k:]
			continue
		}
		for p.n == len(p.buf) && p.rerr == nil && p.werr == nil {
			p.cond.Wait()
		}
		if p.rerr != nil {
			return total, p.rerr
		}
		if p.werr != nil {
			return total, io.ErrClosedPipe
		}
		end := (p.off + p.n) % len(p.buf)
		space := len(p.buf) - p.n
		k := copy(p.buf[end:min(len(p.buf), end+space)], b)
		b = b[k:]
		p.n += k
		total += k
		p.cond.Broadcast()
	}
	return total, nil
}

// writeSpill appends b to the spill file, creating it on first use. A
// file that cannot be written ends the stream with why, so the reader's
// Put stores nothing.
func (p *bufPipe) writeSpill(b []byte) (int, error) {
	sp := p.sp
	if sp.f == nil {
		f, err := openSpill(sp.dir)
		if err != nil {
			p.werr = sp.spillError(err)
			p.cond.Broadcast()
			return 0, p.werr
		}
		sp.f = f
	}
	sp.spilling = true
	n, err := sp.f.WriteAt(b, sp.w)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	sp.w += int64(n)
	sp.peak = max(sp.peak, sp.w)
	if err != nil {
		p.werr = sp.spillError(err)
		p.cond.Broadcast()
		return n, p.werr
	}
	p.cond.Broadcast()
	return n, nil
}

// Close ends the stream: the reader reads what is buffered, then io.EOF.
func (w *pipeWriter) Close() error { return w.CloseWithError(nil) }

// CloseWithError ends the stream with err (io.EOF if nil); the first close
// counts.
func (w *pipeWriter) CloseWithError(err error) error {
	if err == nil {
		err = io.EOF
	}
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.werr == nil {
		p.werr = err
	}
	p.cond.Broadcast()
	return nil
}
