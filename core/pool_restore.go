package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// poolReaders bounds the pool objects read at the same time by a restore,
// a verify that reads every object and a download's prefetch: enough to
// hide the round trip of small objects, few enough for memory and for a
// small server.
const poolReaders = 8

// poolDamage is what checkPoolObjects found wrong with a backup's files.
type poolDamage struct {
	missing, resized int
	first            pool.Entry
	firstStored      int64 // -1 when the first is missing
}

// checkPoolObjects checks that every object entries refer to is in the
// pool of rb's service with the stored size its list records, with one
// listing of the pool (no request per object). A missing object fails with
// ErrNotFound, a resized one with ErrCorrupt; the sentence names the
// backup, the first file and object affected and how many are.
func (e *Engine) checkPoolObjects(ctx context.Context, rb readableBackup, entries []pool.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	infos, err := rb.store.List(ctx, pool.Prefix(rb.b.Service))
	if err != nil {
		return fmt.Errorf("list the pool of %s on %s: %w", rb.b.Service, rb.dest.Name, err)
	}
	stored := make(map[string]int64, len(infos))
	for _, o := range infos {
		if id, ok := pool.ParseObjectKey(rb.b.Service, o.Key); ok {
			stored[id] = o.Size
		}
	}
	var d poolDamage
	for _, en := range entries {
		size, ok := stored[en.Object]
		if ok && size == en.Stored {
			continue
		}
		if d.missing+d.resized == 0 {
			d.first, d.firstStored = en, size
			if !ok {
				d.firstStored = -1
			}
		}
		if ok {
			d.resized++
		} else {
			d.missing++
		}
	}
	return d.err(rb, len(entries))
}

func (d poolDamage) err(rb readableBackup, files int) error {
	bad := d.missing + d.resized
	if bad == 0 {
		return nil
	}
	what := fmt.Sprintf("its object %s is missing", d.first.Object)
	if d.firstStored >= 0 {
		what = fmt.Sprintf("its object %s holds %d bytes, %d were stored", d.first.Object, d.firstStored, d.first.Stored)
	}
	cause := ErrCorrupt
	if d.missing > 0 {
		cause = ErrNotFound
	}
	return Userf(cause, "backup %d is damaged: %d of its %d filestore files are not in the pool of destination %q as they were stored (first: %s, %s); they were removed or changed outside odoo-backup, so pick another backup",
		rb.b.ID, bad, files, rb.dest.Name, d.first.Name, what)
}

// checkedPoolFiles reads the file list of the pool backup rb and checks that
// every object it names is in the pool with its size (checkPoolObjects):
// the cheap check every restore makes before it creates anything.
func (e *Engine) checkedPoolFiles(ctx context.Context, rb readableBackup) ([]pool.Entry, error) {
	_, entries, err := e.readFileList(ctx, rb)
	if err != nil {
		return nil, err
	}
	if err := e.checkPoolObjects(ctx, rb, entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// isPool says whether b keeps its filestore in the pool.
func isPool(b Backup) bool { return b.Format == FormatOdooPool }

// fetchPoolFiles writes every file of entries into the staging filestore,
// poolReaders at a time, with the ownership and modes extractFilestore
// gives; each file's content is checked against its list entry as it is
// written, and the first failure stops the rest.
func (st *staged) fetchPoolFiles(ctx context.Context, rb readableBackup, entries []pool.Entry, rep *progressReporter) error {
	if err := os.Mkdir(st.tmpFS, 0o700); err != nil {
		return Userf(err, "cannot create the filestore directory %s: %v; check the permissions of %s", st.tmpFS, errors.Unwrap(err), filepath.Dir(st.tmpFS))
	}
	owner := st.owner.fs
	if err := owner.apply(st.tmpFS, 0o700); err != nil {
		return st.fsError(ctx, err)
	}
	// Directories first, in list order (sorted by name, so each once).
	made := map[string]bool{st.tmpFS: true}
	for _, en := range entries {
		dir := filepath.Dir(filepath.Join(st.tmpFS, filepath.FromSlash(en.Name)))
		if !made[dir] {
			if err := mkdirAllOwned(st.tmpFS, dir, owner); err != nil {
				return st.fsError(ctx, err)
			}
			made[dir] = true
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	next := make(chan pool.Entry)
	for range min(poolReaders, len(entries)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for en := range next {
				if err := st.fetchPoolFile(ctx, rb, en, rep); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
feed:
	for _, en := range entries {
		select {
		case next <- en:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st.files = len(entries)
	// The root gets its mode last: until then the tree is the restore's.
	if err := os.Chmod(st.tmpFS, owner.rootMode); err != nil {
		return st.fsError(ctx, err)
	}
	return nil
}

// fetchPoolFile writes one file of a pool backup into the staging
// filestore.
func (st *staged) fetchPoolFile(ctx context.Context, rb readableBackup, en pool.Entry, rep *progressReporter) error {
	rc, err := st.e.openPoolFile(ctx, rb, en)
	if err != nil {
		if isCancellation(ctx, err) {
			return ctx.Err()
		}
		return err
	}
	defer rc.Close()
	path := filepath.Join(st.tmpFS, filepath.FromSlash(en.Name))
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return st.fsError(ctx, err)
	}
	n, err := io.Copy(out, rc)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	rep.add(n)
	if err != nil {
		var ue *UserError
		if errors.As(err, &ue) {
			// The pool's own sentence names the backup, file and object.
			return err
		}
		if isCancellation(ctx, err) {
			return ctx.Err()
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			return st.fsError(ctx, err)
		}
		return fmt.Errorf("read filestore file %s of backup %d from %s: %w", en.Name, rb.b.ID, rb.dest.Name, err)
	}
	if err := st.owner.fs.apply(path, st.owner.fs.fileMode); err != nil {
		return st.fsError(ctx, err)
	}
	return nil
}

// readPoolObjects reads every object entries refer to, poolReaders at a
// time, and checks each against its entry as a restore would (content size
// and SHA-256, deflate stream size). An object that fails is counted and
// the rest still read, so the error names the first file affected in list
// order and how many are; a failure to read at all (the destination gone,
// ctx ended) stops it.
func (e *Engine) readPoolObjects(ctx context.Context, rb readableBackup, entries []pool.Entry, rep *progressReporter) error {
	// One read per object: files with the same content share it.
	todo := make([]int, 0, len(entries))
	seen := make(map[string]bool, len(entries))
	for i, en := range entries {
		if !seen[en.Object] {
			seen[en.Object] = true
			todo = append(todo, i)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		stop     error
		bad      = map[string]bool{}
		firstBad = -1
		firstErr error
	)
	next := make(chan int)
	for range min(poolReaders, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				en := entries[i]
				err := e.copyPoolObject(ctx, rb, en, countingWriter{rep})
				if err == nil {
					continue
				}
				mu.Lock()
				if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) {
					bad[en.Object] = true
					if firstBad < 0 || i < firstBad {
						firstBad, firstErr = i, err
					}
				} else if stop == nil {
					stop = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if stop != nil {
		return stop
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if firstBad < 0 {
		return nil
	}
	files := 0
	for _, en := range entries {
		if bad[en.Object] {
			files++
		}
	}
	en := entries[firstBad]
	cause, what := ErrCorrupt, fmt.Sprintf("its object %s does not hold what was stored", en.Object)
	if errors.Is(firstErr, ErrNotFound) {
		cause, what = ErrNotFound, fmt.Sprintf("its object %s is missing", en.Object)
	}
	return Userf(fmt.Errorf("%w: %w", cause, firstErr), "backup %d is damaged: %d of its %d filestore files do not read back from the pool of destination %q as they were stored (first: %s, %s); they were removed or changed outside odoo-backup, so pick another backup",
		rb.b.ID, files, len(entries), rb.dest.Name, en.Name, what)
}

// poolFetch is fetchPoolFiles running beside the dump's load.
type poolFetch struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// startPoolFetch starts fetchPoolFiles; when it fails, failed is called
// (it stops the load).
func (st *staged) startPoolFetch(ctx context.Context, rb readableBackup, files []pool.Entry, rep *progressReporter, failed func()) *poolFetch {
	ctx, cancel := context.WithCancel(ctx)
	f := &poolFetch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if f.err = st.fetchPoolFiles(ctx, rb, files, rep); f.err != nil {
			failed()
		}
	}()
	return f
}

// wait waits for the fetch to end and returns its error.
func (f *poolFetch) wait() error {
	<-f.done
	return f.err
}

// abort stops the fetch and waits for it; nothing is written into the
// staging filestore once it returns.
func (f *poolFetch) abort() {
	f.cancel()
	<-f.done
}

// rather is the error a restore whose load failed with loadErr reports:
// the fetch's when it failed on its own (its failure stopped the load),
// else loadErr; the fetch is stopped either way. f may be nil.
func (f *poolFetch) rather(loadErr error) error {
	if f == nil {
		return loadErr
	}
	f.abort()
	if f.err != nil && !errors.Is(f.err, context.Canceled) {
		return f.err
	}
	return loadErr
}
