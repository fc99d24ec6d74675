package core

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
	"github.com/odoo-backup/odoo-backup/core/pool"
)

// poolWorkers bounds the pool objects a copy or an upload stores at once:
// enough to hide a round trip per object, few enough for two cores and a
// few buffered files each.
const poolWorkers = 8

// maxBufferedFile is the largest filestore file held in memory while it
// is hashed and deflated; a larger one is read twice (hashed, then, when
// its object is missing, deflated straight into the store). With the
// files queued and in flight, a copy or an upload holds at most about
// 2*(poolWorkers+1) of these.
var maxBufferedFile int64 = 4 << 20

// poolTarget is the pool side of one backup that a copy or an upload
// stores on a destination, outside a backup's sequential pool sink: what
// the service's pool there already holds (one List of its prefix), the
// objects stored on the way, and the backup's file list. Its methods may
// run on several goroutines.
type poolTarget struct {
	st      ObjectStore
	dest    Destination
	service string

	mu sync.Mutex
	// have maps the pool's object ids to their stored size; pending are
	// the objects being stored by this backup right now.
	have    map[string]int64
	pending map[string]chan struct{}
	poolListing
	// e and lock renew the pool's locks (lock_pool.go).
	e    *Engine
	lock poolLockPlan
}

// poolListing is the file list that a backup, a copy or an upload builds
// for one pool, and the facts it adds up; its owner holds the lock.
type poolListing struct {
	entries []pool.Entry
	facts   PoolFacts
}

// add puts en into the list.
func (l *poolListing) add(en pool.Entry, mismatch bool) {
	l.entries = append(l.entries, en)
	l.facts.Files++
	l.facts.Bytes += en.Size
	if mismatch {
		l.facts.MismatchCount++
		if len(l.facts.Mismatched) < MaxMissingNames {
			l.facts.Mismatched = append(l.facts.Mismatched, en.Name)
		}
	}
}

// stored counts an object of n stored bytes as stored by this operation.
func (l *poolListing) stored(n int64) {
	l.facts.NewObjects++
	l.facts.NewBytes += n
}

// openPoolTarget lists the pool of service on d (one List) so that only
// the objects it lacks are stored. The caller's running row of service on
// d exists already: a sweep of that pool that holds its lease is waited
// for, and one that starts later sees the row and removes nothing, so no
// object counted as present here disappears.
func (e *Engine) openPoolTarget(ctx context.Context, st ObjectStore, d Destination, service string) (*poolTarget, error) {
	if err := e.waitPoolSweep(ctx, service, d); err != nil {
		return nil, err
	}
	objects, err := st.List(ctx, pool.Prefix(service))
	if err != nil {
		return nil, fmt.Errorf("list the pool of %s on %s: %w", service, d.Name, err)
	}
	p := &poolTarget{st: st, dest: d, service: service, have: make(map[string]int64, len(objects)), pending: map[string]chan struct{}{},
		e: e, lock: e.planPoolLock(ctx, st, d, service)}
	for _, o := range objects {
		if id, ok := pool.ParseObjectKey(service, o.Key); ok {
			p.have[id] = o.Size
		}
	}
	return p, nil
}

// objectID names the object of content whose SHA-256 is sum on this
// destination: the one place a copy or an upload names pool objects.
func (p *poolTarget) objectID(sum []byte) string { return pool.ID(sum, nil) }

// putObject stores body as the object id: the one place a copy or an
// upload writes pool objects.
func (p *poolTarget) putObject(ctx context.Context, id string, body io.Reader) error {
	return p.st.Put(p.lock.retain(ctx), pool.ObjectKey(p.service, id), body)
}

// claim says whether the object id must be stored by the caller (mine),
// or else its stored size: an object the pool has, or that another
// goroutine of this backup just stored, is never stored twice. A caller
// that claims it must release it.
func (p *poolTarget) claim(ctx context.Context, id string) (stored int64, mine bool, err error) {
	for {
		p.mu.Lock()
		if n, ok := p.have[id]; ok {
			p.mu.Unlock()
			return n, false, nil
		}
		ch, busy := p.pending[id]
		if !busy {
			p.pending[id] = make(chan struct{})
			p.mu.Unlock()
			return 0, true, nil
		}
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}

// release ends a claim: with ok the object is stored (stored bytes) and
// counted as this backup's own.
func (p *poolTarget) release(id string, stored int64, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok {
		p.have[id] = stored
		p.poolListing.stored(stored)
	}
	close(p.pending[id])
	delete(p.pending, id)
}

// add puts en into the file list.
func (p *poolTarget) add(en pool.Entry, mismatch bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.poolListing.add(en, mismatch)
}

// withStored is en as the object id of size stored holds it: on a
// destination that does not encrypt, the stored object is the deflate
// stream itself, whichever deflater wrote it.
func withStored(en pool.Entry, id string, stored int64) pool.Entry {
	en.Object, en.Stored, en.Deflated = id, stored, stored
	return en
}

// putList stores the file list of the backup whose archive is archiveKey
// and records its size and checksum in the facts.
func (p *poolTarget) putList(ctx context.Context, archiveKey string) error {
	var buf bytes.Buffer
	if err := pool.WriteList(&buf, pool.Header{Service: p.service, Archive: archiveKey}, p.entries); err != nil {
		return err
	}
	if err := p.e.renewPoolLocks(ctx, p.st, p.dest, p.service, p.lock); err != nil {
		// The backup is whole; only its immutability is short, which
		// the log says (poolLockWarning) and the next backup mends.
		p.e.log().Warn("pool locks not renewed", "service", p.service, "destination", p.dest.Name, "warning", poolLockWarning(p.lock.until, err))
	}
	sum := sha256.Sum256(buf.Bytes())
	p.facts.ListSize, p.facts.ListSHA256 = int64(buf.Len()), hex.EncodeToString(sum[:])
	if err := p.st.Put(ctx, pool.ListKey(archiveKey), &buf); err != nil {
		return fmt.Errorf("store the file list on %s: %w", p.dest.Name, err)
	}
	return nil
}

// storeContent puts one filestore file, whose whole content is at hand,
// into the pool unless the pool has its object, and into the file list.
func (p *poolTarget) storeContent(ctx context.Context, name string, content []byte, rep *progressReporter) error {
	sums := pool.NewSums()
	sums.Write(content)
	sha := sums.SHA256.Sum(nil)
	id := p.objectID(sha)
	en := pool.Entry{Name: name, Size: int64(len(content)), CRC32: sums.CRC32.Sum32(), SHA256: hex.EncodeToString(sha)}
	mismatch := !pool.MatchesName(name, hex.EncodeToString(sums.SHA1.Sum(nil)))
	stored, mine, err := p.claim(ctx, id)
	if err != nil {
		return err
	}
	if mine {
		var deflated bytes.Buffer
		level := pool.Level(content[:min(len(content), 64<<10)])
		fw := getFlate(&deflated, level)
		fw.Write(content)
		err := fw.Close()
		putFlate(fw, level)
		if err == nil {
			stored = int64(deflated.Len())
			err = p.putObject(ctx, id, &deflated)
		}
		p.release(id, stored, err == nil)
		if err != nil {
			return fmt.Errorf("store filestore file %s in the pool of %s: %w", name, p.dest.Name, err)
		}
		rep.add(stored)
	}
	p.add(withStored(en, id, stored), mismatch)
	return nil
}

// storeLarge is storeContent for a file too large to hold: open gives its
// content, read once to hash it and, when the pool lacks its object, once
// more deflated into the store; content that differs the second time
// fails the Put, so nothing is stored under a name that lies.
func (p *poolTarget) storeLarge(ctx context.Context, name string, open func() (io.ReadCloser, error), rep *progressReporter) error {
	sums := pool.NewSums()
	if err := readInto(open, sums); err != nil {
		return fmt.Errorf("read filestore file %s: %w", name, err)
	}
	sha := sums.SHA256.Sum(nil)
	id := p.objectID(sha)
	en := pool.Entry{Name: name, Size: sums.Size, CRC32: sums.CRC32.Sum32(), SHA256: hex.EncodeToString(sha)}
	mismatch := !pool.MatchesName(name, hex.EncodeToString(sums.SHA1.Sum(nil)))
	stored, mine, err := p.claim(ctx, id)
	if err != nil {
		return err
	}
	if mine {
		var n sizeCounter
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := deflateChecked(open, pw, en)
			pw.CloseWithError(err)
			done <- err
		}()
		err := p.putObject(ctx, id, io.TeeReader(pr, &n))
		pr.CloseWithError(errPutReturned)
		if werr := <-done; werr != nil && !errors.Is(werr, errPutReturned) {
			err = werr
		}
		stored = n.n
		p.release(id, stored, err == nil)
		if err != nil {
			return fmt.Errorf("store filestore file %s in the pool of %s: %w", name, p.dest.Name, err)
		}
		rep.add(stored)
	}
	p.add(withStored(en, id, stored), mismatch)
	return nil
}

// readInto reads all that open gives into w.
func readInto(open func() (io.ReadCloser, error), w io.Writer) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

// deflateChecked writes the deflate stream of what open gives to w, and
// fails unless it is the content en describes.
func deflateChecked(open func() (io.ReadCloser, error), w io.Writer, en pool.Entry) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	sample := make([]byte, 64<<10)
	k, err := io.ReadFull(rc, sample)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	fw, _ := flate.NewWriter(w, pool.Level(sample[:k]))
	h := sha256.New()
	if _, err := fw.Write(sample[:k]); err != nil {
		return err
	}
	h.Write(sample[:k])
	n, err := io.Copy(io.MultiWriter(fw, h), rc)
	if err != nil {
		return err
	}
	if int64(k)+n != en.Size || hex.EncodeToString(h.Sum(nil)) != en.SHA256 {
		return fmt.Errorf("%w: filestore file %s changed while it was stored", ErrCorrupt, en.Name)
	}
	return fw.Close()
}

// workGroup runs functions on at most n goroutines; the first error
// cancels the others' context and is the group's.
type workGroup struct {
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

func newWorkGroup(ctx context.Context, n int) *workGroup {
	ctx, cancel := context.WithCancel(ctx)
	return &workGroup{ctx: ctx, cancel: cancel, sem: make(chan struct{}, n)}
}

// Go runs fn once a goroutine is free; false when the group has failed.
func (g *workGroup) Go(fn func(ctx context.Context) error) bool {
	select {
	case g.sem <- struct{}{}:
	case <-g.ctx.Done():
		return false
	}
	g.wg.Add(1)
	go func() {
		defer func() { <-g.sem; g.wg.Done() }()
		if err := fn(g.ctx); err != nil {
			g.once.Do(func() { g.err = err; g.cancel() })
		}
	}()
	return true
}

// Wait waits for every function and returns the first error.
func (g *workGroup) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}

// zipToPool stores the Odoo zip a as a pool backup on p's destination
// under archiveKey: its filestore files into the pool (only those it
// lacks, several at once), its file list, then its database part
// (manifest.json and dump.sql copied as they are) as the archive. It
// returns the archive's size and SHA-256. Every filestore name is checked
// again, and every entry's CRC as it is read.
func (e *Engine) zipToPool(ctx context.Context, a *odoozip.Archive, p *poolTarget, archiveKey string, rep *progressReporter) (int64, string, error) {
	g := newWorkGroup(ctx, poolWorkers)
	for _, zf := range a.Filestore {
		name := odoozip.StoreFname(zf)
		if err := odoozip.CheckStoreFname(name); err != nil {
			g.Wait()
			return 0, "", Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "the archive holds an unsafe filestore entry (%v)", err)
		}
		if zf.UncompressedSize64 > uint64(maxBufferedFile) {
			// Read in order, on this goroutine: the source is read
			// front to back.
			if err := g.ctx.Err(); err != nil {
				break
			}
			if err := p.storeLarge(g.ctx, name, zf.Open, rep); err != nil {
				g.Wait()
				return 0, "", err
			}
			continue
		}
		content, err := readEntry(zf)
		if err != nil {
			g.Wait()
			if isCancellation(ctx, err) {
				return 0, "", ctx.Err()
			}
			return 0, "", Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "entry %s cannot be read (%v)", zf.Name, err)
		}
		if !g.Go(func(ctx context.Context) error { return p.storeContent(ctx, name, content, rep) }) {
			break
		}
	}
	if err := g.Wait(); err != nil {
		return 0, "", err
	}
	if err := ctx.Err(); err != nil {
		return 0, "", err
	}
	if err := p.putList(ctx, archiveKey); err != nil {
		return 0, "", err
	}
	return e.putDatabaseZip(ctx, a, p.st, archiveKey, rep)
}

// readEntry reads one small zip entry whole; the zip reader checks its
// size and CRC at the end.
func readEntry(zf *zip.File) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, zf.UncompressedSize64))
	if _, err := io.Copy(buf, io.LimitReader(rc, maxBufferedFile+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > maxBufferedFile {
		return nil, fmt.Errorf("%w: it holds more than the %d bytes it claims", odoozip.ErrHostile, zf.UncompressedSize64)
	}
	return buf.Bytes(), nil
}

// putDatabaseZip stores the database part of a (manifest.json and
// dump.sql, their entries copied as they are) as a zip under key, and
// returns its size and SHA-256.
func (e *Engine) putDatabaseZip(ctx context.Context, a *odoozip.Archive, st ObjectStore, key string, rep *progressReporter) (int64, string, error) {
	pr, pw := io.Pipe()
	h := sha256.New()
	var n sizeCounter
	done := make(chan error, 1)
	go func() {
		zw := zip.NewWriter(io.MultiWriter(pw, h, &n, countingWriter{rep}))
		var err error
		for _, f := range []*zip.File{a.ManifestFile, a.Dump} {
			if f != nil && err == nil {
				if err = zw.Copy(f); err != nil {
					err = fmt.Errorf("copy %s: %w", f.Name, err)
				}
			}
		}
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	putErr := st.Put(ctx, key, pr)
	pr.CloseWithError(errPutReturned)
	if err := <-done; err != nil && !errors.Is(err, errPutReturned) {
		return 0, "", err
	}
	if putErr != nil {
		return 0, "", fmt.Errorf("store the database zip on %s: %w", st, putErr)
	}
	return n.n, hex.EncodeToString(h.Sum(nil)), nil
}
