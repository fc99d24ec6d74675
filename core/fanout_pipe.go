package core

import (
	"io"
	"sync"
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
type bufPipe struct {
	mu   sync.Mutex
	cond sync.Cond
	buf  []byte // ring of len(buf) bytes, n of them from start on
	off  int
	n    int
	werr error // set when the writer closed: io.EOF or why it aborted
	rerr error // set when the reader closed
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
	for p.n == 0 && p.werr == nil && p.rerr == nil {
		p.cond.Wait()
	}
	switch {
	case p.rerr != nil:
		return 0, io.ErrClosedPipe
	case p.werr != nil && p.werr != io.EOF:
		return 0, p.werr
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

// CloseWithError closes the reading end: the writer's next Write fails
// with err (io.ErrClosedPipe if nil).
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
	p.cond.Broadcast()
	return nil
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	total := 0
	for len(b) > 0 {
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
