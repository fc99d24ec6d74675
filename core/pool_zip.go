package core

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
	"github.com/odoo-backup/odoo-backup/core/pool"
)

// writePoolZip writes the pool backup rb as one standard Odoo zip to w:
// manifest.json and dump.sql copied as they are from its archive (whose
// checksum is verified first), then every filestore file of its file list
// as a deflate entry made of the file's pool object, which is inflated and
// hashed on the way so that every part is checked. A missing or altered
// part fails it with an error naming the backup, the file and the object.
// rep, when not nil, is a download's: it counts the bytes written (its total: the archive's
// size and every object's).
func (e *Engine) writePoolZip(ctx context.Context, rb readableBackup, w io.Writer, rep *progressReporter) error {
	if err := e.checksum(ctx, rb, nil, e.reporter(nil)); err != nil {
		return err
	}
	_, entries, err := e.readFileList(ctx, rb)
	if err != nil {
		return err
	}
	if rep != nil {
		// What is written: about the archive, then every object as stored.
		rep.total = rb.b.Size
		for _, en := range entries {
			rep.total += en.Deflated
		}
		rep.set(PhaseDownload, 0)
	}
	a, closer, err := rb.openZip(ctx)
	if err != nil {
		return err
	}
	defer closer.Close()
	var out io.Writer = w
	if rep != nil {
		out = io.MultiWriter(w, countingWriter{rep})
	}
	zw := zip.NewWriter(out)
	for _, f := range []*zip.File{a.ManifestFile, a.Dump} {
		if f == nil {
			continue
		}
		if err := zw.Copy(f); err != nil {
			if isCancellation(ctx, err) {
				return ctx.Err()
			}
			return fmt.Errorf("copy %s of backup %d: %w", f.Name, rb.b.ID, err)
		}
	}
	modified := rb.b.StartedAt.Local()
	ahead := e.prefetchPool(ctx, rb, entries)
	defer ahead.stop()
	for i, en := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := &zip.FileHeader{
			Name: odoozip.FilestoreDir + en.Name, Method: zip.Deflate, Modified: modified,
			CRC32: en.CRC32, CompressedSize64: uint64(en.Deflated), UncompressedSize64: uint64(en.Size),
		}
		h.SetMode(0o644)
		ew, err := zw.CreateRaw(h)
		if err != nil {
			return err
		}
		if err := ahead.write(ctx, i, ew); err != nil {
			return err
		}
	}
	return zw.Close()
}

// prefetchSmall is the largest object a download reads ahead into memory;
// a larger one is streamed when its turn comes. With poolReaders objects
// ahead (and one each on its way in and out), a download holds at most
// about (poolReaders+2)*prefetchSmall bytes of objects.
const prefetchSmall = 4 << 20

// prefetch reads the pool objects of a download ahead of the writer, in
// parallel (poolReaders at a time), each checked as copyPoolObject checks
// it, and hands them over in list order.
type prefetch struct {
	e       *Engine
	rb      readableBackup
	entries []pool.Entry
	cancel  context.CancelFunc
	ready   chan *fetched // in list order, at most poolReaders ahead
	wg      sync.WaitGroup
}

// fetched is one object read ahead (data) or to be streamed (stream).
type fetched struct {
	i      int
	stream bool
	done   chan struct{}
	data   []byte
	err    error
}

func (e *Engine) prefetchPool(ctx context.Context, rb readableBackup, entries []pool.Entry) *prefetch {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetch{e: e, rb: rb, entries: entries, cancel: cancel, ready: make(chan *fetched, poolReaders-1)}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(p.ready)
		for i, en := range entries {
			f := &fetched{i: i, done: make(chan struct{}), stream: en.Deflated > prefetchSmall}
			if f.stream {
				close(f.done)
			} else {
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					defer close(f.done)
					var buf bytes.Buffer
					buf.Grow(int(en.Deflated))
					f.err = e.copyPoolObject(ctx, rb, en, &buf)
					f.data = buf.Bytes()
				}()
			}
			// The channel's capacity and the writer's own object bound
			// what is read ahead.
			select {
			case p.ready <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

// write writes the deflate stream of entry i to w; entries come in order.
func (p *prefetch) write(ctx context.Context, i int, w io.Writer) error {
	var f *fetched
	select {
	case f = <-p.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if f == nil || f.i != i {
		return fmt.Errorf("download of backup %d: the files read ahead are out of order", p.rb.b.ID)
	}
	if f.stream {
		return p.e.copyPoolObject(ctx, p.rb, p.entries[i], w)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if f.err != nil {
		if isCancellation(ctx, f.err) {
			return ctx.Err()
		}
		return f.err
	}
	_, err := w.Write(f.data)
	return err
}

// stop ends the reads ahead and waits for them.
func (p *prefetch) stop() {
	p.cancel()
	for range p.ready {
	}
	p.wg.Wait()
}

// copyPoolObject writes the deflate stream of en's object to w, inflating
// and hashing it on the way: w gets exactly en.Deflated bytes of a stream
// whose content is en's, or the error says which file and object are not.
func (e *Engine) copyPoolObject(ctx context.Context, rb readableBackup, en pool.Entry, w io.Writer) error {
	body, err := e.openPoolObject(ctx, rb, en)
	if err != nil {
		return err
	}
	defer body.Close()
	var n sizeCounter
	tee := io.TeeReader(body, io.MultiWriter(w, &n))
	check := &poolFileReader{ReadCloser: pool.Open(tee, en), also: io.NopCloser(nil), rb: rb}
	if _, err := io.Copy(io.Discard, check); err != nil {
		if isCancellation(ctx, err) {
			return ctx.Err()
		}
		return err
	}
	// The inflater stops at the end of the stream: what follows it is
	// not part of the object as it was stored.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("read filestore file %s of backup %d: %w", en.Name, rb.b.ID, err)
	}
	if n.n != en.Deflated {
		return check.corrupt(fmt.Errorf("%w: the object %s of filestore file %s holds %d bytes, %d were recorded", pool.ErrAltered, en.Object, en.Name, n.n, en.Deflated))
	}
	return nil
}
