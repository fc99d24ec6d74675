package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// copyFormat is the format a copy of a backup of format src takes on d:
// the layout of the target decides how an Odoo backup is kept there;
// database-only uploads are kept as they are anywhere. A copy from or to
// an encrypted pool goes as one zip (see plainPool).
func copyFormat(src string, srcEncrypted bool, d Destination) string {
	switch {
	case src == FormatOdooPool && (!d.plainPool() || srcEncrypted):
		return FormatOdooZip
	case (src == FormatOdooZip || src == "") && d.plainPool():
		return FormatOdooPool
	}
	return src
}

// copyPoolToPool copies the pool backup rb to the pool destination d (store
// dst) under key: every object its file list names is first looked for in
// its pool (one List), so a missing one fails the copy before anything is
// written; then the objects the target's pool lacks (one List of it) are
// copied, several at once, by the storage server where it can (each
// checked by its size) or streamed (each inflated and hashed on the way);
// then the target's file list, and the archive, checked like any copy.
func (e *Engine) copyPoolToPool(ctx context.Context, rb readableBackup, dst ObjectStore, d Destination, key string, rep *progressReporter) (serverSide bool, facts PoolFacts, err error) {
	entries, err := e.checkedPoolFiles(ctx, rb)
	if err != nil {
		return false, facts, err
	}
	p, err := e.openPoolTarget(ctx, dst, d, rb.b.Service)
	if err != nil {
		return false, facts, err
	}
	rep.set(PhaseCopy, 0)
	var server atomic.Bool
	g := newWorkGroup(ctx, poolWorkers)
	queued := map[string]bool{}
	for _, en := range entries {
		if queued[en.Object] {
			continue
		}
		queued[en.Object] = true
		if !g.Go(func(ctx context.Context) error {
			byServer, err := e.copyPoolEntry(ctx, rb, p, en, rep)
			if byServer {
				server.Store(true)
			}
			return err
		}) {
			break
		}
	}
	if err := g.Wait(); err != nil {
		return server.Load(), facts, err
	}
	if err := ctx.Err(); err != nil {
		return false, facts, err
	}
	for _, en := range entries {
		id := p.objectID(mustHex(en.SHA256))
		p.add(withStored(en, id, p.have[id]), false)
	}
	// Which files do not match their names was judged when the source
	// was taken.
	if src := rb.b.Pool; src != nil {
		p.facts.MismatchCount, p.facts.Mismatched = src.MismatchCount, src.Mismatched
	}
	if err := p.putList(ctx, key); err != nil {
		return server.Load(), facts, err
	}
	byServer, err := e.copyArchive(ctx, rb, dst, key, rep)
	return byServer || server.Load(), p.facts, err
}

// mustHex decodes a checksum a file list holds (ReadList checked its form).
func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

// copyPoolEntry copies the object of en into p's pool unless it has it:
// by the storage server when it can (then checked by its size), else
// streamed, inflated and hashed on the way so that an altered object
// fails its Put and stores nothing. byServer says the server copied it.
func (e *Engine) copyPoolEntry(ctx context.Context, rb readableBackup, p *poolTarget, en pool.Entry, rep *progressReporter) (byServer bool, err error) {
	id := p.objectID(mustHex(en.SHA256))
	_, mine, err := p.claim(ctx, id)
	if err != nil || !mine {
		return false, err
	}
	var stored int64
	defer func() { p.release(id, stored, err == nil) }()
	dstKey := pool.ObjectKey(p.service, id)
	// The server copies bytes as they are: only between pools that store
	// objects as plain deflate streams.
	if c, ok := p.st.(ServerSideCopier); ok && !rb.dest.Encrypted() && !p.dest.Encrypted() {
		done, err := c.CopyFrom(p.lock.retain(ctx), rb.store, pool.ObjectKey(rb.b.Service, en.Object), dstKey)
		if err != nil {
			return true, fmt.Errorf("copy the pool object %s of filestore file %s to %s: %w", en.Object, en.Name, p.dest.Name, err)
		}
		if done {
			info, err := p.st.Stat(ctx, dstKey)
			if err != nil {
				return true, fmt.Errorf("look up the copied pool object %s on %s: %w", id, p.dest.Name, err)
			}
			if info.Size != en.Stored {
				// An object is trusted by its name: a wrong one must not stay.
				_ = p.st.Delete(context.WithoutCancel(ctx), dstKey)
				return true, Userf(ErrCorrupt, "the copy of pool object %s (filestore file %s) on %q holds %d bytes instead of %d; it was removed, copy the backup again", id, en.Name, p.dest.Name, info.Size, en.Stored)
			}
			stored = info.Size
			rep.add(stored)
			return true, nil
		}
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := e.copyPoolObject(ctx, rb, en, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	var n sizeCounter
	putErr := p.putObject(ctx, id, io.TeeReader(pr, io.MultiWriter(&n, countingWriter{rep})))
	pr.CloseWithError(errPutReturned)
	if err := <-done; err != nil && !errors.Is(err, errPutReturned) {
		return false, err
	}
	if putErr != nil {
		return false, fmt.Errorf("store the pool object %s of filestore file %s on %s: %w", id, en.Name, p.dest.Name, putErr)
	}
	stored = n.n
	return false, nil
}

// copyPoolToZip copies the pool backup rb to the zip destination d (store
// dst) under key as the standard Odoo zip writePoolZip assembles, every
// part checked on the way, encrypted when d encrypts; what is stored is
// read back. It returns the stored size and SHA-256.
func (e *Engine) copyPoolToZip(ctx context.Context, rb readableBackup, dst ObjectStore, d Destination, key string, rep *progressReporter) (int64, string, error) {
	rep.set(PhaseCopy, 0)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := e.writePoolZip(ctx, rb, pw, nil)
		pw.CloseWithError(err)
		done <- err
	}()
	sealed, err := sealReader(pr, d)
	if err != nil {
		pr.CloseWithError(err)
		<-done
		return 0, "", err
	}
	h := sha256.New()
	var n sizeCounter
	putErr := dst.Put(ctx, key, io.TeeReader(sealed, io.MultiWriter(h, &n, countingWriter{rep})))
	pr.CloseWithError(errPutReturned)
	if err := <-done; err != nil && !errors.Is(err, errPutReturned) {
		return 0, "", err
	}
	if putErr != nil {
		return 0, "", putErr
	}
	sum := hex.EncodeToString(h.Sum(nil))
	rep.set(PhaseVerify, 0)
	if err := checkStored(ctx, dst, key, n.n, sum, rep); err != nil {
		return 0, "", err
	}
	return n.n, sum, nil
}

// copyZipToPool copies the zip backup rb (decrypted on the way when it is
// encrypted) to the pool destination d (store dst) as a pool backup whose
// archive is key: its checksum is verified first, then its filestore goes
// into the pool (only the objects it lacks) and its database part becomes
// the archive, which is read back. It returns the archive's size and
// SHA-256 and the pool facts.
func (e *Engine) copyZipToPool(ctx context.Context, rb readableBackup, dst ObjectStore, d Destination, key string, rep *progressReporter) (int64, string, PoolFacts, error) {
	rep.set(PhaseVerify, 0)
	if err := e.checksum(ctx, rb, nil, rep); err != nil {
		return 0, "", PoolFacts{}, err
	}
	a, closer, err := rb.openZip(ctx)
	if err != nil {
		return 0, "", PoolFacts{}, err
	}
	defer closer.Close()
	p, err := e.openPoolTarget(ctx, dst, d, rb.b.Service)
	if err != nil {
		return 0, "", PoolFacts{}, err
	}
	rep.set(PhaseCopy, 0)
	n, sum, err := e.zipToPool(ctx, a, p, key, rep)
	if err != nil {
		var ue *UserError
		if errors.As(err, &ue) && errors.Is(err, ErrCorrupt) {
			return 0, "", PoolFacts{}, Userf(err, "backup %d cannot be copied: %s; pick another backup", rb.b.ID, ue.Msg)
		}
		return 0, "", PoolFacts{}, err
	}
	rep.set(PhaseVerify, 0)
	if err := checkStored(ctx, dst, key, n, sum, rep); err != nil {
		return 0, "", PoolFacts{}, err
	}
	return n, sum, p.facts, nil
}
