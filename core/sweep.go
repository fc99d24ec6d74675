package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// PoolLease is the name of the lease a sweep of the pool of service on the
// destination destID holds (see SweepPool). The destination is named by
// its id, so a rename in the middle changes nothing; the pool itself is
// named by the service, as its objects are.
func PoolLease(service string, destID int64) string {
	return fmt.Sprintf("pool:%s@%d", service, destID)
}

// DefaultPoolGrace is how young an object the sweep leaves alone even when
// no file list refers to it: a second line of defence behind the lease,
// for a writer that escaped it (another host's clock, an older version).
const DefaultPoolGrace = 15 * time.Minute

func (e *Engine) poolGrace() time.Duration {
	switch {
	case e.PoolGrace < 0:
		return 0
	case e.PoolGrace == 0:
		return DefaultPoolGrace
	}
	return e.PoolGrace
}

// sweepStep is called before every step of a sweep or of a removal that
// sweeps (tests kill the process there).
var sweepStep = func(step string) {}

// poolWaiting is called each time a backup finds a live sweep holding its
// pool's lease and waits (tests await it).
var poolWaiting = func(lease string) {}

// SweepResult says what one sweep of a pool did.
type SweepResult struct {
	Service     string `json:"service"`
	Destination string `json:"destination"`
	// Lists is the number of file lists read: the backups whose objects stay.
	Lists int `json:"lists"`
	// Objects is the number of pool objects found, Removed how many of them
	// no list referred to and were removed, RemovedBytes their size.
	Objects      int   `json:"objects"`
	Removed      int   `json:"removed"`
	RemovedBytes int64 `json:"removed_bytes"`
	// DebrisLists were file lists whose archive and metadata were both gone
	// (a removal or a backup that crashed half-way); they were removed too,
	// DebrisBytes their size.
	DebrisLists int   `json:"debris_lists"`
	DebrisBytes int64 `json:"debris_bytes"`
	// Young objects no list refers to were left for a later sweep: they
	// were written less than the grace period before it started.
	Young int `json:"young,omitempty"`
	// Postponed says why this sweep removed nothing (a backup running on
	// the pool, another sweep); the next one does the work.
	Postponed string `json:"postponed,omitempty"`
	// Locked objects and lists were to be removed but their Object Lock
	// has not ended: they stay, and the first sweep after LockedUntil (the
	// latest of their lock ends) removes them.
	Locked      int        `json:"locked,omitempty"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
}

// locked counts err, when it is a lock's refusal, as an object left
// locked, and says so.
func (r *SweepResult) locked(err error) bool {
	until, ok := LockedUntilOf(err)
	if !ok {
		return false
	}
	r.Locked++
	if r.LockedUntil == nil || until.After(*r.LockedUntil) {
		u := until.UTC()
		r.LockedUntil = &u
	}
	return true
}

// Freed is every byte the sweep removed.
func (r SweepResult) Freed() int64 { return r.RemovedBytes + r.DebrisBytes }

// SweepPool removes from the pool of service on destination the objects no
// file list on that destination refers to, and the file lists whose archive
// and metadata are both gone. References are read from the destination,
// not from the catalog: every file list under the service's folder counts,
// orphans' and those of backups the catalog does not know included. It
// takes the pool's lease first, then looks for backups of the service
// running on the destination: while one runs it sweeps nothing
// (SweepResult.Postponed), since that backup may count an object as present
// that no list names yet; a backup that starts meanwhile waits for the
// lease before it looks at the pool. Objects younger than the grace period
// (Engine.PoolGrace) stay. A file list that cannot be read stops the sweep
// before anything is removed: an error, never "refers to nothing".
func (e *Engine) SweepPool(ctx context.Context, service, destination string) (SweepResult, error) {
	d, err := e.Catalog.Destination(ctx, destination)
	if err != nil {
		return SweepResult{Service: service, Destination: destination}, err
	}
	st, err := e.OpenStore(ctx, d)
	if err != nil {
		return SweepResult{Service: service, Destination: destination}, err
	}
	return e.sweepPool(ctx, d, st, service)
}

func (e *Engine) sweepPool(ctx context.Context, d Destination, st ObjectStore, service string) (res SweepResult, err error) {
	res = SweepResult{Service: service, Destination: d.Name}
	release, cur, held, err := e.takeLease(ctx, PoolLease(service, d.ID))
	if err != nil {
		return res, err
	}
	if !held {
		res.Postponed = fmt.Sprintf("another sweep of this pool is running (pid %d on %s)", cur.PID, cur.Host)
		return res, nil
	}
	defer release()
	sweepStep("lease")
	running, err := e.Catalog.Backups(ctx, BackupFilter{Service: service, Destination: d.Name, Status: StatusRunning})
	if err != nil {
		return res, err
	}
	host := HostName()
	for _, b := range running {
		// A row is alive until its process is known gone on this host or
		// the daemon recorded it failed: a silent host may only be slow.
		if !processGone(b, host, e.now(), 0) {
			res.Postponed = fmt.Sprintf("backup %d is running", b.ID)
			e.log().Info("pool sweep postponed", "service", service, "destination", d.Name, "why", res.Postponed)
			return res, nil
		}
	}
	scan, err := e.scanPool(ctx, st, d, service, e.now().Add(-e.poolGrace()), nil)
	if err != nil {
		return res, err
	}
	res.Lists, res.Objects = scan.read, len(scan.objects)
	ids := make([]string, 0, len(scan.objects))
	for id := range scan.objects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o := scan.objects[id]
		if scan.refs[id] > 0 {
			continue
		}
		if !scan.old(o) {
			res.Young++
			continue
		}
		sweepStep("object")
		if err := st.Delete(ctx, o.Key); err != nil {
			if res.locked(err) {
				continue
			}
			return res, fmt.Errorf("remove the unreferenced pool object %s from %s: %w", o.Key, d.Name, err)
		}
		res.Removed++
		res.RemovedBytes += o.Size
	}
	for _, l := range scan.debris {
		sweepStep("debris")
		if err := st.Delete(ctx, l.Key); err != nil {
			if res.locked(err) {
				continue
			}
			return res, fmt.Errorf("remove the file list %s, whose archive is gone, from %s: %w", l.Key, d.Name, err)
		}
		res.DebrisLists++
		res.DebrisBytes += l.Size
	}
	sweepStep("done")
	if res.Locked > 0 {
		e.log().Info("locked pool objects left until their lock ends", "service", service, "destination", d.Name, "locked", res.Locked, "until", res.LockedUntil)
	}
	if res.Removed+res.DebrisLists > 0 {
		e.log().Info("pool swept", "service", service, "destination", d.Name, "objects_removed", res.Removed,
			"bytes", res.Freed(), "lists_read", res.Lists, "debris_lists", res.DebrisLists)
	}
	return res, nil
}

// poolScan is what a service's folder on a destination holds, as the sweep
// and the rotation's estimate see it.
type poolScan struct {
	cutoff time.Time
	// objects are the pool objects by id; lists the file lists by key;
	// others every other object (archives, metadata) by key.
	objects map[string]ObjectInfo
	lists   map[string]ObjectInfo
	others  map[string]ObjectInfo
	// refs counts the lists read that refer to each object id; read is how
	// many were read.
	refs map[string]int
	read int
	// left holds, for each list the caller asked to leave out of refs,
	// the object ids it refers to; unread those that could not be read.
	left   map[string][]string
	unread map[string]error
	// debris are lists whose archive and metadata are both gone, older
	// than cutoff: never read, removed by a sweep.
	debris []ObjectInfo
}

// old reports whether o was written before the cutoff.
func (s *poolScan) old(o ObjectInfo) bool { return o.ModTime.Before(s.cutoff) }

// size is the size of the object key, 0 when it is not there.
func (s *poolScan) size(key string) int64 {
	if o, ok := s.lists[key]; ok {
		return o.Size
	}
	return s.others[key].Size
}

// scanPool lists the service's folder on d and reads every file list that
// is not debris: those in leave are read into scan.left and do not count
// as references (the rotation's estimate: the backups it would remove);
// an unreadable one of them is noted in unread. Any other list that cannot
// be read fails the scan.
func (e *Engine) scanPool(ctx context.Context, st ObjectStore, d Destination, service string, cutoff time.Time, leave map[string]bool) (*poolScan, error) {
	all, err := st.List(ctx, service+"/")
	if err != nil {
		return nil, fmt.Errorf("list the pool of %s on %s: %w", service, d.Name, err)
	}
	s := &poolScan{
		cutoff: cutoff, objects: map[string]ObjectInfo{}, lists: map[string]ObjectInfo{}, others: map[string]ObjectInfo{},
		refs: map[string]int{}, left: map[string][]string{}, unread: map[string]error{},
	}
	for _, o := range all {
		if id, ok := pool.ParseObjectKey(service, o.Key); ok {
			s.objects[id] = o
			continue
		}
		if strings.HasSuffix(o.Key, ".files") && !strings.HasPrefix(o.Key, pool.Prefix(service)) {
			s.lists[o.Key] = o
			continue
		}
		s.others[o.Key] = o
	}
	// An encrypted pool's lists open with its keys (pool_crypt.go).
	listKeys, err := e.sweepIdentities(ctx, st, d, service, s.others)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(s.lists))
	for k := range s.lists {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o := s.lists[k]
		archive := strings.TrimSuffix(k, ".files")
		_, hasArchive := s.others[archive]
		_, hasMeta := s.others[MetadataKey(archive)]
		if !hasArchive && !hasMeta && s.old(o) && !leave[k] {
			s.debris = append(s.debris, o)
			continue
		}
		ids, err := readListIDs(ctx, st, k, listKeys)
		switch {
		case errors.Is(err, ErrNotFound):
			// Removed since the listing: it refers to nothing any more.
			delete(s.lists, k)
			continue
		case err != nil && leave[k]:
			s.unread[k] = err
			continue
		case err != nil:
			return nil, Userf(err, "the file list %s on %q cannot be read (%v), so the pool of %s was not swept: no object is removed while any list cannot be read; verify the backup stored under %s, and remove it if it is damaged", k, d.Name, err, service, strings.TrimSuffix(k, ".files"))
		}
		if leave[k] {
			s.left[k] = ids
			continue
		}
		s.read++
		for _, id := range ids {
			s.refs[id]++
		}
	}
	return s, nil
}

// readListIDs reads the file list at key and returns the object ids it
// refers to, each once.
func readListIDs(ctx context.Context, st ObjectStore, key string, listKeys []age.Identity) ([]string, error) {
	body, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var r io.Reader = io.LimitReader(body, maxListBytes)
	if listKeys != nil {
		if r, err = age.Decrypt(r, listKeys...); err != nil {
			return nil, err
		}
	}
	_, entries, err := pool.ReadList(r)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(entries))
	ids := make([]string, 0, len(entries))
	for _, en := range entries {
		if !seen[en.Object] {
			seen[en.Object] = true
			ids = append(ids, en.Object)
		}
	}
	return ids, nil
}

// removalPlan is what removing some backups of one service from one
// destination frees: each one alone (archive, metadata, file list and the
// pool objects only it refers to) and all of them together, with the
// objects no list refers to already and the debris lists a sweep removes
// too. Note says what could not be counted.
type removalPlan struct {
	each map[int64]int64
	// stored is each backup's own objects (archive, metadata, list) as
	// the destination holds them.
	stored map[int64]int64
	total  int64
	note   string
}

// planRemoval estimates what removing backups (all of service, on d) and
// sweeping the pool would free, without changing anything.
func (e *Engine) planRemoval(ctx context.Context, st ObjectStore, d Destination, service string, backups []Backup) removalPlan {
	p := removalPlan{each: map[int64]int64{}, stored: map[int64]int64{}}
	leave := map[string]bool{}
	for _, b := range backups {
		if b.Format == FormatOdooPool {
			leave[pool.ListKey(b.Key)] = true
		}
	}
	scan, err := e.scanPool(ctx, st, d, service, e.now().Add(-e.poolGrace()), leave)
	if err != nil {
		// Without the destination's view, only what the catalog knows.
		for _, b := range backups {
			n := b.Size
			if b.Pool != nil {
				n += b.Pool.ListSize
			}
			p.each[b.ID] = n
			p.stored[b.ID] = n
			p.total += n
		}
		p.note = "the pool objects they free are not counted: " + err.Error()
		return p
	}
	owners := map[string]int{}
	for _, ids := range scan.left {
		for _, id := range ids {
			owners[id]++
		}
	}
	for _, b := range backups {
		n := scan.size(b.Key) + scan.size(MetadataKey(b.Key)) + scan.size(pool.ListKey(b.Key))
		p.stored[b.ID] = n
		for _, id := range scan.left[pool.ListKey(b.Key)] {
			if o, ok := scan.objects[id]; ok && scan.refs[id] == 0 && owners[id] == 1 && scan.old(o) {
				n += o.Size
			}
		}
		if err := scan.unread[pool.ListKey(b.Key)]; err != nil && p.note == "" {
			p.note = fmt.Sprintf("the file list of backup %d cannot be read (%v), so the pool objects it frees are not counted", b.ID, err)
		}
		p.each[b.ID] = n
		p.total += p.stored[b.ID]
	}
	// The objects no list kept refers to, counted once however many
	// removed backups held them.
	for id, o := range scan.objects {
		if scan.refs[id] == 0 && scan.old(o) {
			p.total += o.Size
		}
	}
	for _, l := range scan.debris {
		p.total += l.Size
	}
	return p
}

// removeBackupObjects removes the objects of backup b from st: its
// archive, its metadata object, then its file list. A crash in between
// leaves a list whose archive and metadata are gone, which the next sweep
// removes; until then its objects stay, so nothing a kept backup needs is
// ever missing. On a locking store, a backup any of whose objects is
// still retained is left whole: a *LockedError says until when.
func (e *Engine) removeBackupObjects(ctx context.Context, st ObjectStore, d Destination, b Backup) error {
	if err := e.checkRemovable(ctx, st, b); err != nil {
		return err
	}
	for _, key := range backupObjectKeys(b) {
		sweepStep("remove " + key)
		if err := st.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete %s from %s: %w", key, d.Name, err)
		}
	}
	sweepStep("removed")
	return nil
}

// waitPoolSweep waits while a live sweep holds the lease of the pool of
// service on d. A backup calls it after its running row exists and before
// it looks at the pool: a sweep that took the lease first is waited for,
// and one that takes it later sees the row and sweeps nothing.
func (e *Engine) waitPoolSweep(ctx context.Context, service string, d Destination) error {
	name := PoolLease(service, d.ID)
	delay := 20 * time.Millisecond
	for logged := false; ; logged = true {
		l, err := e.Catalog.CurrentLease(ctx, name)
		if errors.Is(err, ErrNotFound) || (err == nil && !LeaseAlive(l, e.now())) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("look for a sweep of the pool of %s on %s: %w", service, d.Name, err)
		}
		if !logged {
			e.log().Info("waiting for the sweep of the pool to end", "service", service, "destination", d.Name, "pid", l.PID, "host", l.Host)
		}
		poolWaiting(name)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// SweepDestination sweeps the pool of every service with pool backups
// recorded on destination (SweepPool), as a destination's backups are
// forgotten: their file lists stay on it and keep every object they refer
// to, so only what failed backups and crashes left goes. It returns what
// each sweep did, and the errors of those that failed.
func (e *Engine) SweepDestination(ctx context.Context, destination string) ([]SweepResult, error) {
	d, err := e.Catalog.Destination(ctx, destination)
	if err != nil {
		return nil, err
	}
	backups, err := e.Catalog.Backups(ctx, BackupFilter{Destination: destination})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var services []string
	for _, b := range backups {
		if b.Format == FormatOdooPool && !seen[b.Service] {
			seen[b.Service] = true
			services = append(services, b.Service)
		}
	}
	if len(services) == 0 {
		return nil, nil
	}
	sort.Strings(services)
	st, err := e.OpenStore(ctx, d)
	if err != nil {
		return nil, err
	}
	var out []SweepResult
	var errs []error
	for _, s := range services {
		res, err := e.sweepPool(ctx, d, st, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}
