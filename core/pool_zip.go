package core

import (
	"archive/zip"
	"context"
	"fmt"
	"io"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
	"github.com/odoo-backup/odoo-backup/core/pool"
)

// writePoolZip writes the pool backup rb as one standard Odoo zip to w:
// manifest.json and dump.sql copied as they are from its archive (whose
// checksum is verified first), then every filestore file of its file list
// as a deflate entry made of the file's pool object, which is inflated and
// hashed on the way so that every part is checked. A missing or altered
// part fails it with an error naming the backup, the file and the object.
// rep, when not nil, counts the bytes written.
func (e *Engine) writePoolZip(ctx context.Context, rb readableBackup, w io.Writer, rep *progressReporter) error {
	if err := e.checksum(ctx, rb, nil, e.reporter(nil)); err != nil {
		return err
	}
	_, entries, err := e.readFileList(ctx, rb)
	if err != nil {
		return err
	}
	ra := newObjectReaderAt(ctx, rb.store, rb.b.Key, rb.b.Size, nil)
	defer ra.Close()
	pra, size, err := rb.plainReaderAt(ra)
	if err != nil {
		return err
	}
	a, err := openArchive(pra, size, rb.b)
	if err != nil {
		if isCancellation(ctx, err) {
			return ctx.Err()
		}
		return err
	}
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
	for _, en := range entries {
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
		if err := e.copyPoolObject(ctx, rb, en, ew); err != nil {
			return err
		}
	}
	return zw.Close()
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
