package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// usesPool reports whether backups to d go to its pool (LayoutPool); an
// encrypting destination's pool is encrypted (pool_crypt.go).
func (d Destination) usesPool() bool { return d.StoredLayout() == LayoutPool }

// backupFormat is the format of the backups d stores from now on.
func (d Destination) backupFormat() string {
	if d.usesPool() {
		return FormatOdooPool
	}
	return FormatOdooZip
}

// Bounds of the pool writer. Reading, hashing and deflating are CPU work
// and run on about one worker per core; looking for objects and storing
// them are round trips and run poolPutsInFlight at a time, so a first
// backup of many small files is not one round trip after another.
const (
	// poolWholeLimit: a file up to this size is read whole into memory,
	// hashed and deflated once; a larger one is never held whole: it is
	// hashed in a first pass and deflated into its Put in a second, which
	// checks the content is still the one hashed.
	poolWholeLimit = 1 << 20
	// poolPutsInFlight bounds the objects looked for or stored at once.
	poolPutsInFlight = 16
	// poolBuffered bounds the deflated bytes of small files waiting for
	// or in their Put.
	poolBuffered = 8 << 20
	// poolQueueWorkers store the objects of a limited destination's own
	// line at once: enough to keep to its limit while each file is read
	// again and deflated and each object costs a round trip (or a sync),
	// few enough to keep its memory small (its large files still go one
	// at a time, as poolStreams says).
	poolQueueWorkers = 8
	// poolStreams bounds the large objects streamed at once: an S3 Put
	// of more than 1 MiB holds its part buffers (tens of MB) while it
	// runs.
	poolStreams = 1
)

// poolSink is one pool destination of a backup: what it already holds
// (base: the newest earlier backup's file list there, by name), what this
// backup found or stored in its pool (by object id), and the entries of the
// backup's file list. The filestore workers share it: mu guards entries,
// facts, objects and err.
type poolSink struct {
	t       *target
	service string
	base    map[string]pool.Entry

	mu      sync.Mutex
	objects map[string]*poolObject
	poolListing
	// err is why this destination dropped out of the backup: its pool
	// could not be read or written. The other destinations go on.
	err error
	// key is the pool's key on an encrypting destination (nil on a plain
	// one), and plainList the file list before encryption, for the local
	// cache (see pool_crypt.go).
	key       *poolKey
	plainList []byte
	// lock is how this backup locks its pool's objects (lock_pool.go).
	lock poolLockPlan
	// queue, when set, is this sink's own line of files to store: a
	// destination with an upload limit in a backup to several stores its
	// objects at its own pace, reading the files again from the
	// filestore, so it holds back neither the other pools nor the dump.
	queue *poolQueue
}

// poolQueue is an unbounded line of jobs for one sink: each holds a file's
// name and checksums, not its content.
type poolQueue struct {
	// ctx is the backup's: the line outlives the filestore phase of the
	// others, and stops with the backup.
	ctx    context.Context
	mu     sync.Mutex
	cond   sync.Cond
	jobs   []*poolJob
	closed bool
	// started says the line has a worker (the filestore phase began).
	started bool
	// done is closed once the line's workers have stored (or given up
	// on) every job.
	done chan struct{}
	// streams bounds the line's large objects streamed at once.
	streams chan struct{}
}

func newPoolQueue(ctx context.Context) *poolQueue {
	q := &poolQueue{ctx: ctx, done: make(chan struct{}), streams: make(chan struct{}, poolStreams)}
	q.cond.L = &q.mu
	context.AfterFunc(ctx, q.close)
	return q
}

func (q *poolQueue) push(job *poolJob) {
	q.mu.Lock()
	q.jobs = append(q.jobs, job)
	q.cond.Signal()
	q.mu.Unlock()
}

func (q *poolQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// wait waits until the line's worker, if it was started, is done.
func (q *poolQueue) wait() {
	q.mu.Lock()
	started := q.started
	q.mu.Unlock()
	if started {
		<-q.done
	}
}

// pop waits for the next job; nil once the line is closed and empty.
func (q *poolQueue) pop() *poolJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.jobs) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.jobs) == 0 {
		return nil
	}
	job := q.jobs[0]
	q.jobs[0] = nil
	q.jobs = q.jobs[1:]
	return job
}

// poolObject is one object of a sink's pool as this backup knows it: done
// is closed once the worker that first needed it found or stored it.
type poolObject struct {
	done     chan struct{}
	stored   int64
	deflated int64
	err      error
}

// newPoolSink opens the pool side of target t: its base is the file list
// of the newest succeeded pool backup of the service on that destination.
// A base that cannot be read costs only speed: every file is then read
// and its object looked for in the pool before it is stored.
func (e *Engine) newPoolSink(ctx context.Context, t *target) *poolSink {
	s := &poolSink{t: t, service: t.b.Service, base: map[string]pool.Entry{}, objects: map[string]*poolObject{}, key: t.poolKey}
	t.sink = s
	if err := e.waitPoolSweep(ctx, t.b.Service, t.dest); err != nil {
		// The sink starts out of the backup: no file is stored there.
		t.err, s.err = err, err
		t.pw.CloseWithError(err)
		return s
	}
	s.lock = e.planPoolLock(ctx, t.store, t.dest, t.b.Service)
	if s.key != nil {
		s.facts.Key = s.key.id
		if s.key.identity == nil {
			e.cachedBase(ctx, s)
			return s
		}
	}
	prev, err := e.Catalog.Backups(ctx, BackupFilter{Service: t.b.Service, Destination: t.dest.Name, Status: StatusSucceeded, Limit: 20})
	if err != nil {
		return s
	}
	for _, b := range prev {
		// Only a list under the same pool key names objects this backup
		// can refer to.
		if b.Format != FormatOdooPool || b.Pool == nil || b.ID == t.b.ID || b.Pool.Key != s.facts.Key {
			continue
		}
		rb := readableBackup{b: b, dest: t.dest, store: t.store}
		if s.key != nil {
			rb.poolKey = s.key.identity
		}
		_, entries, err := e.readFileList(ctx, rb)
		if err != nil {
			e.log().Warn("cannot read the file list of an earlier backup; every file is read again", "backup", b.ID, "destination", t.dest.Name, "error", err)
			return s
		}
		for _, en := range entries {
			s.base[en.Name] = en
		}
		return s
	}
	return s
}

// findObject looks for the object id in the sink's pool: its stored size,
// or false when the pool lacks it. With putObject and putList, the only
// places the pool writer touches the destination.
func (s *poolSink) findObject(ctx context.Context, id string) (int64, bool, error) {
	info, err := s.t.store.Stat(ctx, pool.ObjectKey(s.service, id))
	switch {
	case err == nil:
		return info.Size, true, nil
	case errors.Is(err, ErrNotFound):
		return 0, false, nil
	default:
		return 0, false, err
	}
}

// putObject stores the deflate stream read from deflated as the object id
// and returns the stored size. The one place a pool object is Put.
func (s *poolSink) putObject(ctx context.Context, id string, deflated io.Reader) (int64, error) {
	body, err := s.sealStream(deflated)
	if err != nil {
		return 0, err
	}
	var n sizeCounter
	if err := s.t.store.Put(s.lock.retain(ctx), pool.ObjectKey(s.service, id), io.TeeReader(body, &n)); err != nil {
		return 0, err
	}
	return n.n, nil
}

// putList stores the sink's file list next to its archive and records its
// size and checksum in the facts. The one place a file list is Put.
func (s *poolSink) putList(ctx context.Context) error {
	var buf bytes.Buffer
	if err := pool.WriteList(&buf, pool.Header{Service: s.service, Archive: s.t.b.Key}, s.entries); err != nil {
		return err
	}
	sealed, err := s.sealObject(buf.Bytes())
	if err != nil {
		return err
	}
	s.plainList = buf.Bytes()
	if err := s.t.e.renewPoolLocks(ctx, s.t.store, s.t.dest, s.service, s.lock); err != nil {
		// The backup is whole; only its immutability is short.
		s.t.b.Warning = poolLockWarning(s.lock.until, err)
		s.t.e.log().Warn("pool locks not renewed", "service", s.service, "destination", s.t.dest.Name, "backup", s.t.b.ID, "error", err)
	}
	sum := sha256.Sum256(sealed)
	s.facts.ListSize, s.facts.ListSHA256 = int64(len(sealed)), hex.EncodeToString(sum[:])
	if err := s.t.store.Put(ctx, pool.ListKey(s.t.b.Key), bytes.NewReader(sealed)); err != nil {
		return fmt.Errorf("store the file list on %s: %w", s.t.dest.Name, err)
	}
	return nil
}

// failure is why the sink dropped out of the backup, nil while it takes
// part.
func (s *poolSink) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// alive reports whether the sink still takes part in the backup.
func (s *poolSink) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err == nil
}

// fail drops the sink out of the backup with err: its archive's Put is
// ended with err, so nothing of this backup is published there.
func (s *poolSink) fail(err error) {
	s.mu.Lock()
	first := s.err == nil
	if first {
		s.err = err
	}
	s.mu.Unlock()
	if first {
		s.t.pw.CloseWithError(err)
	}
}

// add puts en into the sink's file list.
func (s *poolSink) add(en pool.Entry, mismatch bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.poolListing.add(en, mismatch)
}

// object gives the object id of the sink's pool, found or stored by
// whichever worker asked for it first: store runs once per object and
// backup, and the others wait for it. It returns the stored and deflated
// sizes.
func (s *poolSink) object(ctx context.Context, id string, store func() (stored, deflated int64, err error)) (int64, int64, error) {
	s.mu.Lock()
	o, ok := s.objects[id]
	if !ok {
		o = &poolObject{done: make(chan struct{})}
		s.objects[id] = o
	}
	s.mu.Unlock()
	if !ok {
		o.stored, o.deflated, o.err = store()
		close(o.done)
		return o.stored, o.deflated, o.err
	}
	select {
	case <-o.done:
		return o.stored, o.deflated, o.err
	case <-ctx.Done():
		return 0, 0, context.Cause(ctx)
	}
}

// stored counts an object this backup stored.
func (s *poolSink) stored(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.poolListing.stored(n)
}

// poolJob is one filestore file read and hashed, on its way to the pools
// that lack it (need): a small file with its deflate stream, a large one
// (deflated nil) to be read again into each Put.
type poolJob struct {
	en       pool.Entry
	sum      []byte
	mismatch bool
	need     []*poolSink
	path     string
	deflated []byte
	reserved int64
}

// poolRun is the filestore side of one backup to its pool destinations.
type poolRun struct {
	e       *Engine
	sinks   []*poolSink
	dir     string
	rep     *progressReporter
	budget  *byteBudget
	streams chan struct{}
	fail    context.CancelCauseFunc
}

// fileError marks an error of the filestore itself (a file that cannot be
// read, or that changed while it was read): it fails every destination,
// unlike an error of one destination's pool.
type fileError struct{ err error }

func (f fileError) Error() string { return f.err.Error() }
func (f fileError) Unwrap() error { return f.err }

// poolFiles puts the filestore files names (in dir) into every sink, on
// bounded workers: a file whose name, size and modification time a sink's
// base knows is taken from it without being read; any other is read,
// hashed, deflated and stored in each sink's pool that lacks its object.
// A file whose content does not match its name is recorded as a mismatch
// and logged. It returns the files the filestore lacks, in the order of
// names. A sink whose pool fails drops out alone (its err); an error of
// the filestore, or ctx ending, stops every worker and is returned.
func (e *Engine) poolFiles(ctx context.Context, sinks []*poolSink, dir string, names []string, rep *progressReporter) ([]string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &poolRun{
		e: e, sinks: sinks, dir: dir, rep: rep, fail: cancel,
		budget:  newByteBudget(ctx, poolBuffered),
		streams: make(chan struct{}, poolStreams),
	}
	missing := make([]bool, len(names))
	next := make(chan int)
	jobs := make(chan *poolJob, poolPutsInFlight)
	var readers, putters sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		readers.Go(func() {
			var buf []byte
			for i := range next {
				job, found, err := r.read(ctx, names[i], &buf)
				switch {
				case err != nil:
					cancel(err)
				case !found:
					missing[i] = true
				case job != nil:
					jobs <- job
				}
			}
		})
	}
	// The sinks with a line of their own store from it, a few files at
	// a time, until it is closed and empty, also after this returns (their
	// queue's done says when); a file that cannot be read again drops
	// that sink alone.
	for _, s := range sinks {
		if s.queue == nil {
			continue
		}
		q := s.queue
		q.mu.Lock()
		q.started = true
		q.mu.Unlock()
		var workers sync.WaitGroup
		for range poolQueueWorkers {
			workers.Go(func() {
				for job := r.popFor(q.ctx, s); job != nil; job = r.popFor(q.ctx, s) {
					var fe fileError
					if err := r.storeIn(q.ctx, s, job); errors.As(err, &fe) {
						s.fail(fe.err)
					}
				}
			})
		}
		go func() {
			workers.Wait()
			close(q.done)
		}()
	}
	for range poolPutsInFlight {
		putters.Go(func() {
			for job := range jobs {
				if ctx.Err() == nil {
					if err := r.store(ctx, job); err != nil {
						cancel(err)
					}
				}
				r.budget.release(job.reserved)
			}
		})
	}
feed:
	for i := range names {
		if !r.anyAlive() {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	readers.Wait()
	close(jobs)
	putters.Wait()
	for _, s := range sinks {
		if s.queue != nil {
			s.queue.close()
		}
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	var lost []string
	for i, m := range missing {
		if m {
			lost = append(lost, names[i])
		}
	}
	return lost, nil
}

func (r *poolRun) anyAlive() bool {
	for _, s := range r.sinks {
		if s.alive() {
			return true
		}
	}
	return false
}

// read stats the file fname and takes it from the bases of the sinks that
// have it unchanged; for the others it reads and hashes it (and deflates
// a small one into memory) and returns the job of storing it. found is
// false when the filestore lacks the file.
func (r *poolRun) read(ctx context.Context, fname string, buf *[]byte) (job *poolJob, found bool, err error) {
	if ctx.Err() != nil {
		return nil, true, nil
	}
	path := filepath.Join(r.dir, filepath.FromSlash(fname))
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, r.readError(fname, err)
	}
	var need []*poolSink
	for _, s := range r.sinks {
		if !s.alive() {
			continue
		}
		if b, ok := s.base[fname]; ok && b.Size == fi.Size() && b.ModTime == fi.ModTime().UnixNano() {
			s.add(b, false)
			continue
		}
		need = append(need, s)
	}
	if len(need) == 0 {
		return nil, true, nil
	}
	job = &poolJob{need: need, path: path, en: pool.Entry{Name: fname, ModTime: fi.ModTime().UnixNano()}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, r.readError(fname, err)
	}
	defer f.Close()
	sums := pool.NewSums()
	if fi.Size() <= poolWholeLimit {
		if cap(*buf) < poolWholeLimit+1 {
			*buf = make([]byte, poolWholeLimit+1)
		}
		n, err := io.ReadFull(f, (*buf)[:poolWholeLimit+1])
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			content := (*buf)[:n]
			sums.Write(content)
			job.reserved = deflateBound(n)
			if err := r.budget.acquire(job.reserved); err != nil {
				return nil, true, nil
			}
			job.deflated = deflateBytes(content, int(job.reserved))
		case err != nil:
			return nil, false, r.readError(fname, err)
		default:
			// It grew past the limit since it was statted: hash it on.
			sums.Write((*buf)[:n])
			if err := hashRest(sums, f, *buf); err != nil {
				return nil, false, r.readError(fname, err)
			}
		}
	} else {
		if cap(*buf) < poolWholeLimit+1 {
			*buf = make([]byte, poolWholeLimit+1)
		}
		if err := hashRest(sums, f, *buf); err != nil {
			return nil, false, r.readError(fname, err)
		}
	}
	job.sum = sums.SHA256.Sum(nil)
	job.en.Object = pool.ID(job.sum, nil)
	job.en.Size, job.en.CRC32, job.en.SHA256 = sums.Size, sums.CRC32.Sum32(), hex.EncodeToString(job.sum)
	if !pool.MatchesName(fname, hex.EncodeToString(sums.SHA1.Sum(nil))) {
		job.mismatch = true
		r.e.log().Warn("a filestore file's content does not match its name; it is backed up as it is", "file", fname, "sha256", job.en.SHA256)
	}
	return job, true, nil
}

func (r *poolRun) readError(fname string, err error) error {
	return fileError{Userf(err, "cannot read the filestore file %s: %v; check the permissions of %s", fname, errors.Unwrap(err), r.dir)}
}

// popFor is the next job of s's own line, nil once it is done or the
// backup stops.
func (r *poolRun) popFor(ctx context.Context, s *poolSink) *poolJob {
	job := s.queue.pop()
	if ctx.Err() != nil {
		return nil
	}
	return job
}

// store looks for the job's object in the pool of every sink that needs
// it and stores it where it is missing; a sink with a line of its own
// gets the job there, to be read again from the filestore. A sink's own
// failure drops that sink; the error returned is the filestore's (the
// file changed).
func (r *poolRun) store(ctx context.Context, job *poolJob) error {
	for _, s := range job.need {
		if !s.alive() {
			continue
		}
		if s.queue != nil {
			queued := *job
			queued.deflated, queued.reserved, queued.need = nil, 0, nil
			s.queue.push(&queued)
			continue
		}
		if err := r.storeIn(ctx, s, job); err != nil {
			return err
		}
	}
	return nil
}

// storeIn looks for the job's object in s's pool and stores it there if
// missing. A failure of s's pool drops s; the error returned is the
// filestore's (the file changed), or why the backup stopped.
func (r *poolRun) storeIn(ctx context.Context, s *poolSink, job *poolJob) error {
	if !s.alive() {
		return nil
	}
	en := job.en
	en.Object = pool.ID(job.sum, s.nameKey())
	stored, deflated, err := s.object(ctx, en.Object, func() (int64, int64, error) {
		n, ok, err := s.findObject(ctx, en.Object)
		if err != nil {
			return 0, 0, fmt.Errorf("look for filestore file %s in the pool of %s: %w", en.Name, s.t.dest.Name, err)
		}
		if ok {
			// On a destination that does not seal objects, its stored
			// size is the deflate stream's.
			d, err := s.storedDeflated(ctx, pool.ObjectKey(s.service, en.Object), n)
			return n, d, err
		}
		n, d, err := r.put(ctx, s, job, en.Object)
		if err != nil {
			return 0, 0, err
		}
		s.stored(n)
		r.rep.add(n)
		return n, d, nil
	})
	var fe fileError
	switch {
	case errors.As(err, &fe):
		return err
	case err != nil && ctx.Err() != nil:
		return context.Cause(ctx)
	case err != nil:
		s.fail(err)
		return nil
	}
	en.Stored, en.Deflated = stored, deflated
	s.add(en, job.mismatch)
	return nil
}

// put stores the job's object in s's pool: a small file's deflate stream
// from memory, a large file deflated from disk as it is sent, its content
// checked against the first pass's checksum before the Put may complete.
func (r *poolRun) put(ctx context.Context, s *poolSink, job *poolJob, id string) (stored, deflated int64, err error) {
	wrap := func(err error) error {
		return fmt.Errorf("store filestore file %s in the pool of %s: %w", job.en.Name, s.t.dest.Name, err)
	}
	if job.deflated != nil {
		n, err := s.putObject(ctx, id, bytes.NewReader(job.deflated))
		if err != nil {
			return 0, 0, wrap(err)
		}
		return n, int64(len(job.deflated)), nil
	}
	// A sink with a line of its own streams its large files at its own
	// pace, outside the bound the others share; its small ones are read
	// again here too, and need no bound.
	streams := r.streams
	if s.queue != nil {
		streams = s.queue.streams
	}
	if s.queue == nil || job.en.Size > poolWholeLimit {
		select {
		case streams <- struct{}{}:
		case <-ctx.Done():
			return 0, 0, context.Cause(ctx)
		}
		defer func() { <-streams }()
	}
	f, err := os.Open(job.path)
	if err != nil {
		return 0, 0, fileError{changedError(job.en.Name, fmt.Sprintf("it could not be opened again (%v)", errors.Unwrap(err)))}
	}
	defer f.Close()
	src := &recheck{r: f, h: sha256.New(), en: job.en, want: job.sum}
	pr, pw := io.Pipe()
	var d sizeCounter
	deflating := make(chan struct{})
	go func() {
		defer close(deflating)
		pw.CloseWithError(deflateInto(io.MultiWriter(pw, &d), src))
	}()
	n, err := s.putObject(ctx, id, pr)
	pr.CloseWithError(errPutReturned)
	<-deflating
	if src.err != nil {
		return 0, 0, fileError{src.err}
	}
	if err != nil {
		return 0, 0, wrap(err)
	}
	return n, d.n, nil
}

// recheck reads a large file again for its Put: at the end, a content
// that is not the one hashed in the first pass fails the read, so the Put
// stores nothing.
type recheck struct {
	r    io.Reader
	h    hash.Hash
	en   pool.Entry
	want []byte
	n    int64
	err  error
}

func (c *recheck) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	switch {
	case err == io.EOF && (c.n != c.en.Size || !bytes.Equal(c.h.Sum(nil), c.want)):
		c.err = changedError(c.en.Name, "its content changed between the two reads")
		return n, c.err
	case err != nil && err != io.EOF:
		c.err = changedError(c.en.Name, fmt.Sprintf("it could not be read again (%v)", err))
		return n, c.err
	}
	return n, err
}

func changedError(fname, why string) error {
	return Userf(ErrInvalid, "the filestore file %s changed while it was being backed up (%s); Odoo never rewrites a stored file, so something else writes to the filestore: the backup stored nothing of it, run it again", fname, why)
}

// deflateInto writes content read from r to w as one raw deflate stream,
// at the level its first 64 KiB call for (stored blocks for content that
// does not compress).
func deflateInto(w io.Writer, r io.Reader) error {
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	level := pool.Level(head[:n])
	fw := getFlate(w, level)
	defer putFlate(fw, level)
	if _, err := fw.Write(head[:n]); err != nil {
		return err
	}
	if n == len(head) {
		if _, err := io.Copy(fw, r); err != nil {
			return err
		}
	}
	return fw.Close()
}

// deflateBytes is the deflate stream of content, in a buffer of capacity
// bound.
func deflateBytes(content []byte, bound int) []byte {
	out := bytes.NewBuffer(make([]byte, 0, bound))
	level := pool.Level(content[:min(len(content), 64<<10)])
	fw := getFlate(out, level)
	defer putFlate(fw, level)
	fw.Write(content) // a bytes.Buffer does not fail
	fw.Close()
	return out.Bytes()
}

// hashRest reads the rest of f into sums, through buf.
func hashRest(sums *pool.Sums, f io.Reader, buf []byte) error {
	buf = buf[:cap(buf)]
	for {
		n, err := f.Read(buf)
		sums.Write(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var flateWriters [2]sync.Pool

func getFlate(w io.Writer, level int) *flate.Writer {
	i := min(level, 1)
	if fw, ok := flateWriters[i].Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	fw, _ := flate.NewWriter(w, level)
	return fw
}

func putFlate(fw *flate.Writer, level int) {
	fw.Reset(io.Discard)
	flateWriters[min(level, 1)].Put(fw)
}

// deflateBound is a bound of the deflate stream of n bytes, stored blocks
// included.
func deflateBound(n int) int64 { return int64(n) + int64(n)/64 + 128 }

// byteBudget bounds the bytes held by the pool writer's small files.
type byteBudget struct {
	mu   sync.Mutex
	cond *sync.Cond
	free int64
	max  int64
	ctx  context.Context
}

func newByteBudget(ctx context.Context, n int64) *byteBudget {
	b := &byteBudget{free: n, max: n, ctx: ctx}
	b.cond = sync.NewCond(&b.mu)
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	return b
}

// acquire waits until n bytes are free (all of them, for more than the
// whole budget) and takes them; it fails once ctx ends.
func (b *byteBudget) acquire(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.free < min(n, b.max) {
		if b.ctx.Err() != nil {
			return b.ctx.Err()
		}
		b.cond.Wait()
	}
	b.free -= n
	return nil
}

func (b *byteBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.cond.Broadcast()
	b.mu.Unlock()
}
