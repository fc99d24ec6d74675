package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// maxListBytes bounds the file list read into memory: a few hundred bytes
// per file, so millions of files.
const maxListBytes = 1 << 30

// readFileList reads the file list of the pool backup rb and checks it
// against the size and checksum recorded when it was written, before any
// entry is trusted.
func (e *Engine) readFileList(ctx context.Context, rb readableBackup) (pool.Header, []pool.Entry, error) {
	b := rb.b
	if b.Pool == nil {
		return pool.Header{}, nil, Userf(ErrCorrupt, "backup %d has no file list recorded", b.ID)
	}
	key := pool.ListKey(b.Key)
	body, err := rb.store.Get(ctx, key, 0, -1)
	if err != nil {
		return pool.Header{}, nil, listError(rb, err)
	}
	defer body.Close()
	h := sha256.New()
	data, err := io.ReadAll(io.LimitReader(io.TeeReader(body, h), maxListBytes+1))
	if err != nil {
		return pool.Header{}, nil, listError(rb, err)
	}
	if int64(len(data)) != b.Pool.ListSize || hex.EncodeToString(h.Sum(nil)) != b.Pool.ListSHA256 {
		return pool.Header{}, nil, Userf(ErrCorrupt, "backup %d is corrupt: its file list on %q does not match the checksum recorded when it was taken; do not use it, pick another backup", b.ID, rb.dest.Name)
	}
	if b.Encryption != "" {
		if data, err = e.openSealedList(ctx, rb, data); err != nil {
			return pool.Header{}, nil, err
		}
	}
	hdr, entries, err := pool.ReadList(bytes.NewReader(data))
	if err != nil {
		return hdr, nil, Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "backup %d is corrupt: its file list on %q cannot be read (%v); pick another backup", b.ID, rb.dest.Name, err)
	}
	return hdr, entries, nil
}

func listError(rb readableBackup, err error) error {
	if errors.Is(err, ErrNotFound) {
		return Userf(err, "the file list of backup %d (%s) is missing from destination %q; it was removed outside odoo-backup, so pick another backup", rb.b.ID, pool.ListKey(rb.b.Key), rb.dest.Name)
	}
	return fmt.Errorf("read the file list of backup %d from %s: %w", rb.b.ID, rb.dest.Name, err)
}

// openPoolFile streams the content of the filestore file en of the pool
// backup rb; reading it to the end checks it against en, and a mismatch or
// a missing object is an error that names the file and the object.
func (e *Engine) openPoolFile(ctx context.Context, rb readableBackup, en pool.Entry) (io.ReadCloser, error) {
	body, err := e.openPoolObject(ctx, rb, en)
	if err != nil {
		return nil, err
	}
	return &poolFileReader{ReadCloser: pool.Open(body, en), also: body, rb: rb}, nil
}

// openPoolObject streams the deflate stream of en's object as stored
// (decrypted on an encrypting destination).
func (e *Engine) openPoolObject(ctx context.Context, rb readableBackup, en pool.Entry) (io.ReadCloser, error) {
	body, err := rb.store.Get(ctx, pool.ObjectKey(rb.b.Service, en.Object), 0, -1)
	var deflated io.Reader = body
	if err == nil && rb.b.Encryption != "" {
		if deflated, err = openSealedObject(rb, en, body); err != nil {
			body.Close()
		}
	}
	if errors.Is(err, ErrNotFound) {
		return nil, Userf(err, "backup %d is incomplete: the pool object %s of filestore file %s is missing from destination %q; pick another backup", rb.b.ID, en.Object, en.Name, rb.dest.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("read filestore file %s of backup %d from %s: %w", en.Name, rb.b.ID, rb.dest.Name, err)
	}
	if deflated == io.Reader(body) {
		return body, nil
	}
	return sealedObject{Reader: deflated, Closer: body}, nil
}

// sealedObject reads the plaintext of an encrypted object and closes the
// stored one.
type sealedObject struct {
	io.Reader
	io.Closer
}

// poolFileReader reads one file of a pool backup and turns an object that
// does not hold what the file list says into the backup's corruption.
type poolFileReader struct {
	io.ReadCloser
	also io.Closer
	rb   readableBackup
}

func (c *poolFileReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if errors.Is(err, pool.ErrAltered) {
		err = c.corrupt(err)
	}
	return n, err
}

// corrupt is the backup's corruption that err (wrapping pool.ErrAltered)
// shows.
func (c *poolFileReader) corrupt(err error) error {
	return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "backup %d is corrupt on %q: %v; pick another backup", c.rb.b.ID, c.rb.dest.Name, err)
}

func (c *poolFileReader) Close() error {
	err := c.ReadCloser.Close()
	if err2 := c.also.Close(); err == nil {
		err = err2
	}
	return err
}
