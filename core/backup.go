package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/jackc/pgx/v5"

	"github.com/odoo-backup/odoo-backup/core/odoosql"
	"github.com/odoo-backup/odoo-backup/core/odoozip"
	"github.com/odoo-backup/odoo-backup/core/pool"
)

const (
	// ActionSetConnection: Service has no database connection yet (it was
	// recreated from backups); Detail is what it was needed for ("backing
	// it up", "restoring", ...).
	ActionSetConnection Action = "set-connection"
	// ActionSetConfiguration: Service has no configuration on Destination;
	// adding one fixes it.
	ActionSetConfiguration Action = "set-configuration"
)

// BackupRequest asks for one backup of a service, written once and sent to
// one or more destinations.
type BackupRequest struct {
	Service string
	// Destinations are destination names configured for the service; empty
	// means the service's primary.
	Destinations []string
	// Kind defaults to manual.
	Kind     BackupKind
	Progress ProgressFunc
}

// target is one destination receiving the archive stream.
type target struct {
	*recording
	dest Destination
	pw   *pipeWriter
	done chan error
	err  error
	// recipients is set when the destination encrypts: then seal encrypts
	// this branch of the stream, and out is where the archive is written
	// (seal, or pw itself).
	recipients []age.Recipient
	seal       *sealer
	out        io.Writer
	// stream is the zip the target gets; sink its pool side, when it
	// keeps a pool.
	stream *archiveStream
	sink   *poolSink
	// poolKey is the key of the pool of an encrypting pool target.
	poolKey *poolKey
}

// Backup dumps the service's database and filestore once into an
// Odoo-compatible zip and streams it to every requested destination at the
// same time. Each destination gets its own backup row and object; one that
// fails does not fail the others. Nothing is written to local disk on the
// way, but the spill file of a destination with an upload limit in a backup
// to several (startPuts). It returns every backup it recorded, and an error if any failed.
func (e *Engine) Backup(ctx context.Context, req BackupRequest) (out []Backup, err error) {
	defer func() { e.audit(ctx, auditBackup(req, out), err) }()
	if err := e.permit(ctx, ActionBackup); err != nil {
		return out, err
	}
	defer interrupted(ctx, &err, func() string {
		return fmt.Sprintf("the backup of %s was interrupted; nothing was stored (the partial archive was removed) and it is recorded as failed", req.Service)
	})
	if req.Kind == "" {
		req.Kind = KindManual
	}
	svc, err := e.Catalog.Service(ctx, req.Service)
	if err != nil {
		return nil, err
	}
	if svc.Placeholder {
		return nil, Advise(Advice{Action: ActionSetConnection, Service: svc.Name, Detail: "backing it up"}, ErrInvalid, "service %q was recreated from backups and has no database connection yet", svc.Name)
	}
	dests, err := e.backupDestinations(ctx, svc, req.Destinations)
	if err != nil {
		return nil, err
	}

	started := e.now().UTC().Truncate(1e6)
	// Every row exists before anything is contacted, so a destination that
	// hangs shows as a running (then stalled) backup, not as nothing.
	targets := make([]*target, 0, len(dests))
	recs := make([]*recording, 0, len(dests))
	for _, d := range dests {
		rec, err := e.startRecording(ctx, Backup{
			ServiceID: svc.ID, Service: svc.Name, DestinationID: d.ID, Destination: d.Name,
			Kind: req.Kind, StartedAt: started,
			Database: svc.DB.Database, Format: d.backupFormat(), Encryption: d.Encryption(),
		}, PhaseConnect, nil)
		if err != nil {
			return nil, fmt.Errorf("record backup of %s on %s: %w", svc.Name, d.Name, err)
		}
		targets = append(targets, &target{recording: rec, dest: d})
		recs = append(recs, rec)
	}
	// The pre-backup hook runs once the rows exist, so its failure is
	// recorded on them; then nothing is dumped.
	hooks := e.hooksForBackup(ctx, svc, req.Kind)
	hookErr := hooks.pre(ctx, e, targets)
	if hookErr != nil {
		for _, t := range targets {
			t.err = hookErr
		}
	} else {
		e.prepareTargets(ctx, svc, targets, started, req.Kind)
	}
	rep, stopProgress := e.trackProgress(req.Progress, 0, recs...)
	e.log().Info("backup started", "service", svc.Name, "kind", req.Kind, "destinations", len(targets))

	// A destination whose archive is stored is recorded at once, not when
	// the slowest of the others (one with a bandwidth limit) is done.
	type outcome struct{ failed, saveErr error }
	var (
		earlyMu sync.Mutex
		early   = map[*target]outcome{}
	)
	finishEarly := func(t *target, info dumpInfo) {
		rep.drop(t.b.ID)
		failed, saveErr := e.finishTarget(ctx, t, info, nil)
		earlyMu.Lock()
		early[t] = outcome{failed, saveErr}
		earlyMu.Unlock()
	}
	info, produceErr := e.produce(ctx, svc, targets, started, rep, finishEarly)
	stopProgress()

	var failures []error
	out = make([]Backup, 0, len(targets))
	for _, t := range targets {
		o, done := early[t]
		if !done {
			o.failed, o.saveErr = e.finishTarget(ctx, t, info, produceErr)
		}
		failed, saveErr := o.failed, o.saveErr
		switch {
		case failed != nil && len(targets) == 1:
			failures = append(failures, &UserError{Msg: t.b.Error, Cause: failed})
		case failed != nil:
			failures = append(failures, &UserError{Msg: t.dest.Name + ": " + t.b.Error, Cause: failed})
		}
		if saveErr != nil {
			failures = append(failures, saveErr)
		}
		out = append(out, t.b)
	}
	switch {
	case hookErr != nil:
		// Every destination failed for this one reason: say it once.
		err = hookErr
	case len(failures) == 1:
		err = failures[0]
	default:
		err = errors.Join(failures...)
	}
	hooks.post(ctx, e, targets, out, err)
	return out, err
}

// finishTarget records how the backup on t ended: the archive and its
// metadata object stored, or why not (failed, nil when it succeeded), and
// the error of recording that (saveErr). produceErr is the archive's own
// failure, which fails every target that had none of its own.
func (e *Engine) finishTarget(ctx context.Context, t *target, info dumpInfo, produceErr error) (failed, saveErr error) {
	saveCtx := context.WithoutCancel(ctx)
	b := &t.b
	t.stop()
	err := t.err
	if err == nil && produceErr != nil {
		err = produceErr
	}
	var leftovers []string
	if err == nil {
		b.Size, b.SHA256 = t.stream.size.n, hex.EncodeToString(t.stream.hash.Sum(nil))
		if t.sink != nil {
			facts := t.sink.facts
			b.Pool = &facts
		}
		if t.seal != nil {
			// An encrypted backup's size and checksum are those of the
			// stored ciphertext (see encrypt.go).
			b.Size, b.SHA256 = t.seal.size.n, t.seal.sum()
		}
		b.OdooVersion, b.PGVersion = info.odooVersion, info.pgVersion
		b.MissingCount, b.MissingFiles = info.missingCount, info.missingFiles
		if err = e.writeMetadata(saveCtx, t.store, *b, info); err != nil && b.Key != "" {
			// A failed backup leaves nothing behind: Put is atomic, and an
			// archive whose metadata could not be written is removed. (A
			// failed Put stored nothing: no delete to wait for on a
			// destination that may not answer.)
			leftovers = []string{b.Key}
			if t.sink != nil {
				leftovers = append(leftovers, pool.ListKey(b.Key))
			}
		}
	}
	saveErr = t.finish(ctx, err, leftovers...)
	if err != nil {
		e.log().Error("backup failed", "service", b.Service, "destination", t.dest.Name, "backup", b.ID, "error", b.Error)
		return err, saveErr
	}
	// Files the filestore lacked are part of the backup's record (and of
	// status, as a warning), not a log line of their own.
	e.log().Info("backup succeeded", "service", b.Service, "destination", t.dest.Name, "backup", b.ID,
		"size", b.Size, "sha256", b.SHA256, "took", b.Duration().String(), "missing_files", b.MissingCount)
	e.cleanFailedLeftovers(saveCtx, t.store, *b)
	e.rememberPool(t)
	return nil, saveErr
}

// prepareTargets opens each target's store, picks its key and reads its
// encryption recipients, all targets at once: a destination that does not
// answer costs the others no more than its own stall bound. A target that
// fails keeps its error and gets no archive; its key is recorded on its row
// as soon as it is known, before anything is written under it.
func (e *Engine) prepareTargets(ctx context.Context, svc Service, targets []*target, started time.Time, kind BackupKind) {
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := e.OpenStore(ctx, t.dest)
			if err == nil {
				t.store = st
				t.b.Key, err = freeKey(ctx, st, svc.Name, started, kind, t.dest.Encrypted())
			}
			if err == nil {
				t.recipients, err = destinationRecipients(t.dest)
			}
			if err == nil && t.recipients != nil && t.dest.usesPool() {
				t.poolKey, err = e.writerPoolKey(ctx, t)
			}
			t.err = err
			if err == nil {
				t.err = t.save(ctx)
			}
		}()
	}
	wg.Wait()
}

// backupDestinations resolves the requested destination names, which must be
// configured for the service (manual-only ones included); none means the
// primary.
func (e *Engine) backupDestinations(ctx context.Context, svc Service, names []string) ([]Destination, error) {
	configs, err := e.Catalog.Configurations(ctx, svc.Name)
	if err != nil {
		return nil, err
	}
	if len(configs) == 0 {
		return nil, Advise(Advice{Action: ActionAddConfiguration, Service: svc.Name}, ErrInvalid, "service %q has no destination yet", svc.Name)
	}
	if len(names) == 0 {
		for _, c := range configs {
			if c.Primary {
				names = []string{c.Destination}
			}
		}
	}
	var out []Destination
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		ok := false
		var known []string
		for _, c := range configs {
			known = append(known, c.Destination)
			ok = ok || c.Destination == n
		}
		if !ok {
			return nil, Advise(Advice{Action: ActionSetConfiguration, Service: svc.Name, Destination: n}, ErrInvalid, "destination %q is not configured for service %q; pick one of %s",
				n, svc.Name, strings.Join(known, ", "))
		}
		d, err := e.Catalog.Destination(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// freeKey picks the archive key, adding a counter if a backup of the same
// service and kind already exists for that second; an encrypted archive's
// key ends in ".zip.age".
func freeKey(ctx context.Context, st ObjectStore, service string, started time.Time, kind BackupKind, encrypted bool) (string, error) {
	for n := 1; ; n++ {
		key := withEncryptedExt(backupKey(service, started.UTC(), kind, n), encrypted)
		_, err := st.Stat(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return key, nil
		}
		if err != nil {
			return "", err
		}
	}
}

type dumpInfo struct {
	odooVersion    string
	pgVersion      string
	modules        int
	tables         map[string]int64
	filestoreFiles int
	// missingCount attachment files were not in the filestore; missingFiles
	// names the first MaxMissingNames.
	missingCount int
	missingFiles []string
}

// produce writes the archive once, fanned out to every target's store: a
// self-contained zip to the zip targets, and to the pool targets a zip of
// the database alone, their filestore files going to their pools.
//
// Once the whole archive is written, a target whose Put ends while others
// still run (behind a bandwidth limit) is handed to finished at once, with
// the archive's facts, on a goroutine of its own; produce returns after
// every such call did. The others are left to the caller.
func (e *Engine) produce(ctx context.Context, svc Service, targets []*target, started time.Time, rep *progressReporter, finished func(*target, dumpInfo)) (dumpInfo, error) {
	var info dumpInfo
	var zipTargets, poolTargets []*target
	for _, t := range targets {
		switch {
		case t.err != nil:
		case t.dest.usesPool():
			poolTargets = append(poolTargets, t)
		default:
			zipTargets = append(zipTargets, t)
		}
	}
	if len(zipTargets)+len(poolTargets) == 0 {
		return info, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	rep.set(PhaseConnect, 0)
	conn, err := connectPinned(ctx, svc.DB)
	if err != nil {
		return info, err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	// One REPEATABLE READ snapshot is shared by pg_dump and the filestore
	// query, so the archive holds exactly the files of the dumped rows.
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return info, classifyPGError(svc.DB, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var snapshot, versionNum string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot(), current_setting('server_version_num')").Scan(&snapshot, &versionNum); err != nil {
		return info, fmt.Errorf("export snapshot of %s: %w", svc.DB.Database, err)
	}
	serverNum, _ := strconv.Atoi(versionNum)
	info.pgVersion = fmt.Sprintf("%d", serverNum/10000)

	modules, attachments, err := odooFacts(ctx, tx, svc.DB.Database)
	if err != nil {
		return info, err
	}
	manifest := odoozip.NewManifest(svc.DB.Database, modules, serverNum)
	info.odooVersion = manifest.Version
	info.modules = len(modules)
	if attachments > 0 {
		if fi, err := os.Stat(svc.FilestoreDir); err != nil || !fi.IsDir() {
			return info, Userf(ErrNotFound, "the filestore directory %s of service %q does not exist but the database has %d attachment files; fix the service's filestore path (odoo.conf data_dir)", svc.FilestoreDir, svc.Name, attachments)
		}
	}
	pgDump, err := e.Tools.Find("pg_dump", serverNum/10000)
	if err != nil {
		return info, err
	}

	// Progress counts the bytes of the one stream every target gets: the
	// full zip when a zip target is alive, else the database zip and the
	// pool objects stored.
	// A destination with an upload limit, in a backup to several, gets its
	// branch of the stream through a spill file, so it holds back neither
	// the dump nor the others.
	spillDir := ""
	if len(zipTargets)+len(poolTargets) > 1 {
		spillDir = os.TempDir()
	}
	w := archiveWriters{full: startArchive(ctx, zipTargets, started, rep, spillDir)}
	var dbRep *progressReporter
	if w.full == nil {
		dbRep = rep
	}
	w.db = startArchive(ctx, poolTargets, started, dbRep, spillDir)
	for _, t := range poolTargets {
		s := e.newPoolSink(ctx, t)
		if spillDir != "" && t.dest.Limits.Upload > 0 {
			s.queue = newPoolQueue(ctx)
		}
		w.sinks = append(w.sinks, s)
	}

	writeErr := e.writeArchive(ctx, svc, tx, w, manifest, snapshot, pgDump, rep, &info)
	putList := func(s *poolSink) {
		if writeErr == nil && s.t.err == nil {
			// A list that cannot be stored fails its target alone, and
			// its archive is not published.
			if err := s.putList(ctx); err != nil {
				s.t.err = err
				s.t.pw.CloseWithError(err)
			}
		}
	}
	for _, s := range w.sinks {
		if s.queue == nil {
			putList(s)
		}
	}
	streams := w.streams()
	for _, a := range streams {
		if writeErr == nil {
			writeErr = a.zw.Close()
		}
	}
	// A pool sink with a line of its own publishes its archive once its
	// line is stored and its list after it; the others do not wait.
	lagging := func(t *target) bool { return t.sink != nil && t.sink.queue != nil }
	for _, a := range streams {
		if writeErr != nil {
			// Abort every Put: none of them may publish an archive.
			a.fan.abort(writeErr)
		} else {
			a.fan.complete(func(t *target) bool { return !lagging(t) })
		}
	}
	if writeErr != nil {
		cancel()
	}
	// The archive is whole: each target that needs nothing more of this
	// backup is recorded as soon as its Put ends, whatever the others do.
	defer func() {
		for _, a := range streams {
			a.fan.each.Wait()
		}
	}()
	if writeErr == nil && finished != nil && len(zipTargets)+len(poolTargets) > 1 {
		for _, a := range streams {
			a.fan.waitEach(func(t *target) bool { return !lagging(t) }, func(t *target) { finished(t, info) })
		}
	}
	for _, s := range w.sinks {
		if s.queue == nil {
			continue
		}
		s.queue.close()
		s.queue.wait()
		if err := s.failure(); err != nil && s.t.err == nil {
			s.t.err = err
		}
		putList(s)
		if writeErr == nil {
			w.db.fan.complete(func(t *target) bool { return t == s.t })
		}
	}
	if writeErr == nil {
		rep.set(PhaseFinish, rep.bytes)
	}
	allDead := true
	for _, a := range streams {
		a.fan.wait(writeErr)
		allDead = allDead && a.fan.allDead()
	}
	if writeErr != nil {
		if allDead {
			// Every destination failed first; their errors say why.
			return info, nil
		}
		return info, writeErr
	}
	return info, nil
}

// archiveStream is one zip written once and fanned out to its targets.
type archiveStream struct {
	fan  *fanout
	hash hash.Hash
	size sizeCounter
	zw   *odoozip.Writer
}

// archiveWriters are what one backup writes: the self-contained zip of
// its zip targets (full), the database zip of its pool targets (db), and
// the pools' sides (sinks); nil or empty where no target takes it.
type archiveWriters struct {
	full, db *archiveStream
	sinks    []*poolSink
}

func (w archiveWriters) streams() []*archiveStream {
	var out []*archiveStream
	for _, a := range []*archiveStream{w.full, w.db} {
		if a != nil {
			out = append(out, a)
		}
	}
	return out
}

// startArchive starts the Puts of targets and the zip they all get; nil
// without targets. rep, when not nil, counts the zip's bytes. spillDir,
// when not empty, is where the limited targets' spill files go.
func startArchive(ctx context.Context, targets []*target, started time.Time, rep *progressReporter, spillDir string) *archiveStream {
	if len(targets) == 0 {
		return nil
	}
	a := &archiveStream{fan: startPuts(ctx, targets, spillDir), hash: sha256.New()}
	out := []io.Writer{a.hash, &a.size, a.fan}
	if rep != nil {
		out = append(out, countingWriter{rep})
	}
	a.zw = odoozip.NewWriter(io.MultiWriter(out...), started.Local())
	for _, t := range targets {
		t.stream = a
	}
	return a
}

// startPuts starts one Put per target still alive, each reading its own
// buffered pipe (through encryption where the destination encrypts), and
// returns the fan-out that writes the archive to all of them. With a
// spillDir, a target with an upload limit reads a pipe that spills there
// (newSpillPipe) instead of holding the fan-out back.
func startPuts(ctx context.Context, targets []*target, spillDir string) *fanout {
	var writers []*fanoutWriter
	for _, t := range targets {
		if t.err != nil {
			continue
		}
		pr, pw := newBufPipe(fanoutPipeSize)
		if spillDir != "" && t.dest.Limits.Upload > 0 {
			pr, pw = newSpillPipe(fanoutPipeSize, spillDir, fmt.Sprintf("destination %q", t.dest.Name))
		}
		t.pw, t.done = pw, make(chan error, 1)
		go func(t *target) {
			err := t.store.Put(ctx, t.b.Key, pr)
			if err == nil {
				err = errPutReturned
			}
			pr.CloseWithError(err)
			if err == errPutReturned {
				err = nil
			}
			t.done <- err
		}(t)
		fw := &fanoutWriter{t: t}
		t.out = pw
		if t.recipients != nil {
			if t.seal, fw.err = newSealer(pw, t.recipients); fw.err != nil {
				pw.CloseWithError(fw.err)
			} else {
				t.out = t.seal
			}
		}
		writers = append(writers, fw)
	}
	return &fanout{writers: writers}
}

// abort ends every Put with err, so none publishes an archive.
func (f *fanout) abort(err error) {
	for _, w := range f.writers {
		w.t.pw.CloseWithError(err)
	}
}

// complete ends every Put still alive of the targets which picks with the
// whole archive, sealing the encrypted ones first.
func (f *fanout) complete(which func(*target) bool) {
	for _, w := range f.writers {
		if !which(w.t) {
			continue
		}
		if w.t.seal != nil && w.err == nil {
			if w.err = w.t.seal.Close(); w.err != nil {
				w.t.pw.CloseWithError(w.err)
				continue
			}
		}
		w.t.pw.Close()
	}
}

// wait waits for every Put not yet waited for and gives each target its
// own error: what its Put or its branch of the stream said, unless it was
// still alive when the archive failed with writeErr, which then explains
// its abort.
func (f *fanout) wait(writeErr error) {
	for _, w := range f.writers {
		if w.waited {
			continue
		}
		w.settle(<-w.t.done, writeErr)
	}
}

// waitEach waits, on goroutines of its own, for the Puts of the targets
// which picks, once the whole archive was written, and calls then with each
// target as soon as its Put ended and its error is set. wait skips them.
func (f *fanout) waitEach(which func(*target) bool, then func(*target)) {
	for _, w := range f.writers {
		if w.waited || !which(w.t) {
			continue
		}
		w.waited = true
		f.each.Add(1)
		go func() {
			defer f.each.Done()
			w.settle(<-w.t.done, nil)
			then(w.t)
		}()
	}
}

// settle gives w's target its error once its Put returned putErr.
func (w *fanoutWriter) settle(putErr, writeErr error) {
	if writeErr != nil && w.err == nil {
		return
	}
	if putErr != nil {
		w.t.err = putErr
	} else if w.err != nil {
		w.t.err = w.err
	}
}

var errPutReturned = errors.New("destination stopped reading")

// odooFacts reads what the manifest needs, and checks this is an Odoo
// database at all.
func odooFacts(ctx context.Context, tx pgx.Tx, db string) (map[string]string, int64, error) {
	isOdoo, err := odoosql.IsOdoo(ctx, tx)
	if err == nil && isOdoo {
		err = odoosql.CheckKeyTables(ctx, tx)
	}
	var notTable *odoosql.NotATableError
	if errors.As(err, &notTable) {
		// Read as the service's user, a view would run what it calls with
		// that user's rights: what a hostile dump restored there plants.
		return nil, 0, Userf(fmt.Errorf("%w: %w", ErrInvalid, err), "database %q was not backed up because %v, and reading it would run the code it holds with the rights of the service's user; look at who made it", db, err)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("inspect %s: %w", db, err)
	}
	if !isOdoo {
		return nil, 0, Userf(ErrInvalid, "database %q is not an Odoo database (it has no ir_module_module or ir_attachment table); check the service's database name", db)
	}
	modules, err := odoosql.InstalledModules(ctx, tx)
	if err != nil {
		return nil, 0, fmt.Errorf("read installed modules of %s: %w", db, err)
	}
	attachments, err := odoosql.AttachmentFileCount(ctx, tx)
	if err != nil {
		return nil, 0, fmt.Errorf("count attachment files of %s: %w", db, err)
	}
	return modules, attachments, nil
}

// countLimit bounds the tables counted: count(*) reads the whole table, so a
// table the planner estimates above it is left out rather than slowing every
// backup down (its presence is still checked by a drill through the others'
// counts and the dump loading without error).
const countLimit = 2_000_000

// writeArchive writes manifest.json and dump.sql from pg_dump into every
// zip of w, and the live filestore files into the full zip and the pools.
// The pools' files are read and stored while pg_dump streams: their names
// are read from the snapshot first (tx serves one goroutine at a time;
// pg_dump has its own connection), and a failure of either side stops the
// other.
func (e *Engine) writeArchive(ctx context.Context, svc Service, tx pgx.Tx, w archiveWriters, m odoozip.Manifest, snapshot string, pgDump Tool, rep *progressReporter, info *dumpInfo) error {
	parent := ctx
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var names []string
	if len(w.sinks) > 0 {
		err := odoosql.EachAttachmentFile(ctx, tx, func(fname string) error {
			if err := checkAttachmentName(fname); err != nil {
				return err
			}
			names = append(names, fname)
			return nil
		})
		if err != nil {
			return err
		}
	}
	var dumps []io.Writer
	for _, a := range w.streams() {
		if err := a.zw.WriteManifest(m); err != nil {
			return fmt.Errorf("write manifest: %w", err)
		}
		dumpW, err := a.zw.CreateDump()
		if err != nil {
			return fmt.Errorf("start dump.sql: %w", err)
		}
		dumps = append(dumps, dumpW)
	}
	type poolResult struct {
		lost []string
		err  error
	}
	var poolDone chan poolResult
	if len(w.sinks) > 0 {
		poolDone = make(chan poolResult, 1)
		go func() {
			lost, err := e.poolFiles(ctx, w.sinks, svc.FilestoreDir, names, rep)
			if err != nil {
				stop(err)
			}
			poolDone <- poolResult{lost, err}
		}()
	}
	// The key tables are counted in the backup's snapshot, so exactly
	// those of the dump, while pg_dump runs: the snapshot's connection is
	// idle until the filestore query, and the counts cost the backup no
	// time of their own.
	counted := make(chan error, 1)
	go func() {
		var err error
		info.tables, err = odoosql.CountKeyTables(ctx, tx, svc.DB.Database, countLimit)
		counted <- err
	}()
	err := e.writeDump(ctx, svc, snapshot, pgDump, dumps, rep)
	if countErr := <-counted; err == nil { // before anything else uses tx
		err = countErr
	}
	rep.enter(PhaseFilestore)
	zipLost := map[string]bool{}
	if err == nil && w.full != nil {
		each := func(fn func(string) error) error { return odoosql.EachAttachmentFile(ctx, tx, fn) }
		if names != nil {
			each = func(fn func(string) error) error {
				for _, n := range names {
					if err := fn(n); err != nil {
						return err
					}
				}
				return nil
			}
		}
		err = each(func(fname string) error {
			if err := checkAttachmentName(fname); err != nil {
				return err
			}
			found, err := addZipFile(w.full.zw, svc, fname)
			if err != nil {
				return err
			}
			if !found {
				zipLost[fname] = true
				info.lost(fname)
				return nil
			}
			info.filestoreFiles++
			return nil
		})
	}
	if poolDone == nil {
		return err
	}
	if err != nil {
		stop(err)
	}
	res := <-poolDone
	for _, s := range w.sinks {
		if s.err != nil {
			s.t.err = s.err
		}
	}
	if cause := context.Cause(ctx); cause != nil && parent.Err() == nil {
		// The first side to fail stopped the other: its error is the one.
		return cause
	}
	if err == nil {
		err = res.err
	}
	if err != nil {
		return err
	}
	if w.full == nil {
		info.filestoreFiles = len(names)
	}
	for _, fname := range res.lost {
		if zipLost[fname] {
			continue
		}
		// The database points at a file the filestore lost; the backup
		// still saves everything else, and records what it lacks.
		info.lost(fname)
		info.filestoreFiles--
	}
	return nil
}

// enter moves progress to phase, keeping the byte count (which the pool's
// workers may be adding to).
func (p *progressReporter) enter(phase Phase) {
	p.mu.Lock()
	n := p.bytes
	p.mu.Unlock()
	p.set(phase, n)
}

// lost records a file the database points at and the filestore lacks.
func (info *dumpInfo) lost(fname string) {
	info.missingCount++
	if len(info.missingFiles) < MaxMissingNames {
		info.missingFiles = append(info.missingFiles, fname)
	}
}

func checkAttachmentName(fname string) error {
	if err := odoozip.CheckStoreFname(fname); err != nil {
		return Userf(ErrInvalid, "the database lists an attachment file with an unsafe name (%v); it was not backed up: fix that ir_attachment row", err)
	}
	return nil
}

// writeDump streams pg_dump's plain dump of the snapshot into dumps.
func (e *Engine) writeDump(ctx context.Context, svc Service, snapshot string, pgDump Tool, dumps []io.Writer, rep *progressReporter) error {
	rep.enter(PhaseDump)
	args := append([]string{"--no-owner", "--format=plain", "--snapshot=" + snapshot}, pgArgs(svc.DB, svc.DB.Database)...)
	cmd := exec.CommandContext(ctx, pgDump.Path, args...)
	cmd.Env = pgEnv(svc.DB)
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", pgDump.Path, err)
	}
	_, copyErr := io.Copy(io.MultiWriter(dumps...), stdout)
	if copyErr != nil {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	if copyErr != nil {
		return fmt.Errorf("write dump.sql: %w", copyErr)
	}
	if waitErr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return Userf(waitErr, "pg_dump of database %q failed: %s", svc.DB.Database, stderr.lastLine(waitErr.Error()))
	}
	return nil
}

// addZipFile adds the filestore file fname to zw; false when the filestore
// lacks it.
func addZipFile(zw *odoozip.Writer, svc Service, fname string) (bool, error) {
	f, err := os.Open(filepath.Join(svc.FilestoreDir, filepath.FromSlash(fname)))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, Userf(err, "cannot read the filestore file %s: %v; check the permissions of %s", fname, errors.Unwrap(err), svc.FilestoreDir)
	}
	defer f.Close()
	if _, err = zw.AddFilestoreFile(fname, f); err != nil {
		return false, fmt.Errorf("write filestore file %s: %w", fname, err)
	}
	return true, nil
}

func (e *Engine) writeMetadata(ctx context.Context, st ObjectStore, b Backup, info dumpInfo) error {
	m := BackupMetadata{
		MetadataVersion: MetadataVersion, Tool: "odoo-backup", ID: max(b.ID, 0), Archive: b.Key,
		Service: b.Service, Database: b.Database, Kind: b.Kind, Format: b.Format,
		StartedAt: b.StartedAt, FinishedAt: *b.FinishedAt, Size: b.Size, SHA256: b.SHA256,
		OdooVersion: b.OdooVersion, PGVersion: b.PGVersion,
		Modules: info.modules, FilestoreFiles: info.filestoreFiles,
		MissingFiles: b.MissingCount, MissingNames: b.MissingFiles,
		Tables: info.tables, Encryption: b.Encryption, Pool: b.Pool,
	}
	return putMetadata(ctx, st, m)
}

// fanout writes to every destination still alive; a destination that fails
// drops out without stopping the others.
type fanout struct {
	writers []*fanoutWriter
	// each counts the goroutines of waitEach.
	each sync.WaitGroup
}

type fanoutWriter struct {
	t   *target
	err error
	// waited: waitEach took this writer's Put; wait leaves it alone.
	waited bool
}

func (f *fanout) Write(p []byte) (int, error) {
	alive := 0
	var last error
	for _, w := range f.writers {
		if w.err != nil {
			continue
		}
		if _, err := w.t.out.Write(p); err != nil {
			w.err = err
			last = err
			continue
		}
		alive++
	}
	if alive == 0 {
		if last == nil {
			last = errors.New("no destination is accepting data")
		}
		return 0, last
	}
	return len(p), nil
}

func (f *fanout) allDead() bool {
	for _, w := range f.writers {
		if w.err == nil {
			return false
		}
	}
	return true
}

type sizeCounter struct{ n int64 }

func (s *sizeCounter) Write(p []byte) (int, error) { s.n += int64(len(p)); return len(p), nil }

// tailBuffer keeps the last max bytes written, for error messages from tools.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// lastLine is what a PostgreSQL tool last said of its failure: its last
// "error:" line, with the server's own message when a "detail:" line gives
// one (the "Command was: ..." detail that may follow says nothing to a
// person); without an error line, the last non-empty line; or fallback.
func (t *tailBuffer) lastLine(fallback string) string {
	lines := strings.Split(strings.TrimSpace(t.String()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if !strings.Contains(l, ": error: ") {
			continue
		}
		for _, d := range lines[i+1:] {
			if msg, ok := strings.CutPrefix(strings.TrimSpace(d[strings.Index(d, ":")+1:]), "detail: Error message from server: "); ok && !strings.Contains(l, msg) {
				return strings.TrimSuffix(l, ".") + " (" + strings.TrimSpace(msg) + ")"
			}
		}
		return l
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return fallback
}

// describe turns an error into the one sentence stored in the history.
func describe(ctx context.Context, err error) string {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err())) {
		return "interrupted before it finished; run it again"
	}
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Msg
	}
	return err.Error()
}
