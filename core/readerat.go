package core

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"
)

// objectReaderAt gives random access to a stored object while reading it
// with as few requests as possible: it keeps one streaming Get open and
// serves reads that continue where the last one ended (or skip a little
// forward) from it, reopening only for real jumps. Reading a zip's central
// directory and then its entries in order costs two requests.
type objectReaderAt struct {
	ctx  context.Context
	st   ObjectStore
	key  string
	size int64

	mu   sync.Mutex
	body io.ReadCloser
	buf  *bufio.Reader
	pos  int64
	// onRead counts bytes actually transferred, for progress.
	onRead func(int64)
}

const maxSkip = 1 << 20

func newObjectReaderAt(ctx context.Context, st ObjectStore, key string, size int64, onRead func(int64)) *objectReaderAt {
	return &objectReaderAt{ctx: ctx, st: st, key: key, size: size, onRead: onRead}
}

func (r *objectReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if off >= r.size {
		return 0, io.EOF
	}
	if r.body != nil && off > r.pos && off-r.pos <= maxSkip {
		n, err := io.CopyN(io.Discard, r.buf, off-r.pos)
		r.pos += n
		if r.onRead != nil {
			r.onRead(n)
		}
		if err != nil {
			r.close()
		}
	}
	if r.body == nil || off != r.pos {
		r.close()
		body, err := r.st.Get(r.ctx, r.key, off, -1)
		if err != nil {
			if ctxErr := r.ctx.Err(); ctxErr != nil {
				return 0, fmt.Errorf("read %s at %d: %w", r.key, off, ctxErr)
			}
			return 0, fmt.Errorf("read %s at %d: %w", r.key, off, err)
		}
		r.body, r.buf, r.pos = body, bufio.NewReaderSize(body, 256<<10), off
	}
	want := p
	if rem := r.size - off; int64(len(want)) > rem {
		want = want[:rem]
	}
	n, err := io.ReadFull(r.buf, want)
	r.pos += int64(n)
	if r.onRead != nil {
		r.onRead(int64(n))
	}
	if err != nil {
		r.close()
		// A stream cut by cancellation may end early without saying why:
		// that is the reader stopping, not the object being short.
		if ctxErr := r.ctx.Err(); ctxErr != nil {
			return n, fmt.Errorf("read %s: %w", r.key, ctxErr)
		}
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return n, fmt.Errorf("read %s: the object ended early: %w", r.key, ErrCorrupt)
		}
		return n, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *objectReaderAt) close() {
	if r.body != nil {
		r.body.Close()
		r.body, r.buf = nil, nil
	}
}

// Close releases the open stream.
func (r *objectReaderAt) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.close()
	return nil
}
