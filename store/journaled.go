package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/odoo-backup/odoo-backup/core"
)

// Journaled is the catalog as a daemon uses it: a shared catalog that may
// go away for a while. Every call is bounded by a timeout, so a dead server
// costs seconds, not minutes. While the catalog is unreachable
// (core.ErrCatalogUnreachable):
//
//   - the reads the schedules need (services, destinations, configurations,
//     the schedule version) answer with what the catalog last said, so the
//     daemon keeps running the schedules it knows;
//   - the rows the engine records (backups and their final state, drills,
//     audit entries) go to the host's Journal, a backup or drill under a
//     provisional, negative id;
//   - live progress of a provisional backup is dropped (it is advisory).
//
// The next call that finds the catalog answering (any write, a lease
// renewal) first replays the journal in order (Replay), so the rows keep
// the order they were made in; a row replayed while its backup still runs
// takes its real id and the backup's later updates follow it.
type Journaled struct {
	*Catalog
	journal    *Journal
	log        *slog.Logger
	host       string
	timeout    time.Duration
	onReplayed func(ctx context.Context, b core.Backup)

	replayMu sync.Mutex

	mu           sync.Mutex
	down         bool
	services     map[string]core.Service
	servicesByID map[int64]core.Service
	dests        map[string]core.Destination
	destsByID    map[int64]core.Destination
	svcList      []core.Service
	configs      []core.Configuration
	haveConfigs  bool
	// hooks are every service's hooks as last read with the
	// configurations (haveHooks), or one by one.
	hooks       map[string][]core.Hook
	haveHooks   bool
	version     int64
	haveVersion bool
	// origins maps a provisional id to the origin of its journal entries,
	// ids a replayed provisional id to the catalog's.
	origins  map[int64]string
	ids      map[int64]int64
	nextProv int64
}

// JournaledOptions configure a Journaled catalog.
type JournaledOptions struct {
	Journal *Journal
	Log     *slog.Logger
	// CallTimeout bounds every call to the catalog (default 15s).
	CallTimeout time.Duration
	// OnReplayed, if set, is told about every backup that succeeded under a
	// provisional id once the catalog gave it its real id, so the metadata
	// object beside its archive can record that id.
	OnReplayed func(ctx context.Context, b core.Backup)
}

// DefaultCallTimeout bounds a daemon's catalog calls.
const DefaultCallTimeout = 15 * time.Second

// NewJournaled wraps c.
func NewJournaled(c *Catalog, o JournaledOptions) *Journaled {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	w := &Journaled{Catalog: c, journal: o.Journal, log: o.Log, host: core.HostName(), timeout: o.CallTimeout, onReplayed: o.OnReplayed,
		services: map[string]core.Service{}, servicesByID: map[int64]core.Service{},
		dests: map[string]core.Destination{}, destsByID: map[int64]core.Destination{}, hooks: map[string][]core.Hook{},
		origins: map[int64]string{}, ids: map[int64]int64{}, nextProv: -1}
	for _, e := range o.Journal.Entries() {
		if id := e.provisionalID(); id < 0 {
			w.origins[id] = e.Origin
			w.nextProv = min(w.nextProv, id-1)
		}
	}
	return w
}

func (e JournalEntry) provisionalID() int64 {
	switch {
	case e.Origin == "":
		return 0
	case e.Backup != nil && e.Backup.ID < 0:
		return e.Backup.ID
	case e.Drill != nil && e.Drill.ID < 0:
		return e.Drill.ID
	}
	return 0
}

// isDown tells a catalog that did not answer (in time) from one that
// refused.
func isDown(err error) bool {
	return err != nil && (errors.Is(err, core.ErrUnreachable) || errors.Is(err, context.DeadlineExceeded))
}

func (w *Journaled) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, w.timeout)
}

// seen notes whether the catalog answered, and says where the results go
// when it stops answering (the scheduler says when it answers again).
func (w *Journaled) seen(err error) {
	down := isDown(err)
	w.mu.Lock()
	was := w.down
	w.down = down
	w.mu.Unlock()
	if down && !was {
		w.log.Warn("the catalog is unreachable; results wait in the journal until it answers",
			"catalog", w.Catalog.path, "journal", w.journal.Path(), "error", err)
	}
}

// The reads the schedules need, with the last answer as fallback.

func (w *Journaled) Service(ctx context.Context, name string) (core.Service, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	s, err := w.Catalog.Service(cctx, name)
	w.seen(err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.services[name], w.servicesByID[s.ID] = s, s
	} else if c, ok := w.services[name]; ok && isDown(err) {
		return c, nil
	}
	return s, err
}

func (w *Journaled) ServiceByID(ctx context.Context, id int64) (core.Service, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	s, err := w.Catalog.ServiceByID(cctx, id)
	w.seen(err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.services[s.Name], w.servicesByID[id] = s, s
	} else if c, ok := w.servicesByID[id]; ok && isDown(err) {
		return c, nil
	}
	return s, err
}

func (w *Journaled) Destination(ctx context.Context, name string) (core.Destination, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	d, err := w.Catalog.Destination(cctx, name)
	w.seen(err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.dests[name], w.destsByID[d.ID] = d, d
	} else if c, ok := w.dests[name]; ok && isDown(err) {
		return c, nil
	}
	return d, err
}

func (w *Journaled) DestinationByID(ctx context.Context, id int64) (core.Destination, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	d, err := w.Catalog.DestinationByID(cctx, id)
	w.seen(err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.dests[d.Name], w.destsByID[id] = d, d
	} else if c, ok := w.destsByID[id]; ok && isDown(err) {
		return c, nil
	}
	return d, err
}

// Services also answers the scheduler's look at which services are its
// host's.
func (w *Journaled) Services(ctx context.Context) ([]core.Service, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	svcs, err := w.Catalog.Services(cctx)
	w.seen(err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.svcList = append([]core.Service(nil), svcs...)
		for _, s := range svcs {
			w.services[s.Name], w.servicesByID[s.ID] = s, s
		}
	} else if w.svcList != nil && isDown(err) {
		return append([]core.Service(nil), w.svcList...), nil
	}
	return svcs, err
}

// AllConfigurations also refreshes the services and destinations the
// configurations name, so a schedule that fires while the catalog is away
// finds all it needs.
func (w *Journaled) AllConfigurations(ctx context.Context) ([]core.Configuration, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	all, err := w.Catalog.AllConfigurations(cctx)
	w.seen(err)
	if err != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.haveConfigs && isDown(err) {
			return append([]core.Configuration(nil), w.configs...), nil
		}
		return nil, err
	}
	svcs, serr := w.Catalog.Services(cctx)
	dests, derr := w.Catalog.Destinations(cctx)
	hooks, herr := w.Catalog.AllServiceHooks(cctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.configs, w.haveConfigs = append([]core.Configuration(nil), all...), true
	if herr == nil {
		w.hooks, w.haveHooks = hooks, true
	}
	if serr == nil {
		w.svcList = append([]core.Service(nil), svcs...)
		for _, s := range svcs {
			w.services[s.Name], w.servicesByID[s.ID] = s, s
		}
	}
	if derr == nil {
		for _, d := range dests {
			w.dests[d.Name], w.destsByID[d.ID] = d, d
		}
	}
	return all, nil
}

// ServiceHooks are read from the catalog, or while it does not answer as
// they were last read: a backup runs its hooks as it would have.
func (w *Journaled) ServiceHooks(ctx context.Context, service string) ([]core.Hook, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	hooks, err := w.Catalog.ServiceHooks(cctx, service)
	w.seen(err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.hooks[service] = hooks
	} else if cached, ok := w.hooks[service]; isDown(err) && (ok || w.haveHooks) {
		return append([]core.Hook(nil), cached...), nil
	}
	return hooks, err
}

func (w *Journaled) Configurations(ctx context.Context, service string) ([]core.Configuration, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	cs, err := w.Catalog.Configurations(cctx, service)
	w.seen(err)
	if err == nil || !isDown(err) {
		return cs, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.haveConfigs {
		return cs, err
	}
	var out []core.Configuration
	for _, c := range w.configs {
		if c.Service == service {
			out = append(out, c)
		}
	}
	return out, nil
}

func (w *Journaled) Primary(ctx context.Context, service string) (core.Configuration, error) {
	cs, err := w.Configurations(ctx, service)
	if err != nil {
		return core.Configuration{}, err
	}
	for _, c := range cs {
		if c.Primary {
			return c, nil
		}
	}
	return w.Catalog.Primary(ctx, service)
}

// ScheduleVersion answers the last version while the catalog is away: the
// schedules stay as they were.
func (w *Journaled) ScheduleVersion(ctx context.Context) (int64, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	v, err := w.Catalog.ScheduleVersion(cctx)
	w.seen(err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.version, w.haveVersion = v, true
	} else if w.haveVersion && isDown(err) {
		return w.version, nil
	}
	return v, err
}

// Reads and leases that have no fallback are only bounded in time.

func (w *Journaled) Backups(ctx context.Context, f core.BackupFilter) ([]core.Backup, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	out, err := w.Catalog.Backups(cctx, f)
	w.seen(err)
	return out, err
}

func (w *Journaled) Backup(ctx context.Context, id int64) (core.Backup, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	b, err := w.Catalog.Backup(cctx, w.realID(id))
	w.seen(err)
	return b, err
}

func (w *Journaled) CurrentLease(ctx context.Context, name string) (core.Lease, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	l, err := w.Catalog.CurrentLease(cctx, name)
	w.seen(err)
	return l, err
}

func (w *Journaled) AcquireLease(ctx context.Context, l core.Lease, takeOver func(core.Lease) bool) (core.Lease, bool, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	cur, ok, err := w.Catalog.AcquireLease(cctx, l, takeOver)
	w.seen(err)
	return cur, ok, err
}

// RenewLease is the daemon's steady look at the catalog: once it answers
// again, the journal is replayed.
func (w *Journaled) RenewLease(ctx context.Context, l core.Lease) error {
	cctx, cancel := w.call(ctx)
	err := w.Catalog.RenewLease(cctx, l)
	cancel()
	w.seen(err)
	if err == nil {
		if rerr := w.flush(ctx); rerr != nil && !isDown(rerr) {
			w.log.Error("replaying the journal failed", "journal", w.journal.Path(), "error", rerr)
		}
	}
	return err
}

func (w *Journaled) ReleaseLease(ctx context.Context, l core.Lease) error {
	cctx, cancel := w.call(ctx)
	defer cancel()
	err := w.Catalog.ReleaseLease(cctx, l)
	w.seen(err)
	return err
}

// AddRestore records a timed restore while the catalog answers; it is not
// journaled. No restore begins without the catalog (the restore lease, the
// backup's row), so only one whose catalog went away while it ran loses its
// record: a measurement of the RTO, which the engine logs, never the
// restore itself.
func (w *Journaled) AddRestore(ctx context.Context, r *core.RestoreRecord) error {
	cctx, cancel := w.call(ctx)
	defer cancel()
	err := w.Catalog.AddRestore(cctx, r)
	w.seen(err)
	return err
}

func (w *Journaled) Restores(ctx context.Context, service string, limit int) ([]core.RestoreRecord, error) {
	cctx, cancel := w.call(ctx)
	defer cancel()
	out, err := w.Catalog.Restores(cctx, service, limit)
	w.seen(err)
	return out, err
}

// The writes the engine records, journaled while the catalog is away.

func (w *Journaled) realID(id int64) int64 {
	if id >= 0 {
		return id
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.ids[id]; ok {
		return r
	}
	return id
}

// newOrigin names a new row across the fleet: this host and a UUID.
func (w *Journaled) newOrigin() string { return w.host + "/" + uuid.NewString() }

// provisional gives a row journaled for the first time its id.
func (w *Journaled) provisional(origin string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	id := w.nextProv
	w.nextProv--
	w.origins[id] = origin
	return id
}

func (w *Journaled) originOf(id int64) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.origins[id]
}

// direct runs a write on the catalog once the journal before it is
// replayed; false means the catalog is away and the write must be
// journaled.
func (w *Journaled) direct(ctx context.Context, write func(ctx context.Context) error) (bool, error) {
	if err := w.flush(ctx); err != nil {
		if isDown(err) {
			return false, nil
		}
		return true, err
	}
	cctx, cancel := w.call(ctx)
	defer cancel()
	err := write(cctx)
	if errors.Is(err, errNotInCatalog) {
		return false, nil
	}
	w.seen(err)
	if isDown(err) {
		return false, nil
	}
	return true, err
}

// errNotInCatalog: an update of a row that has only its provisional id
// (its journal entry was refused): it goes to the journal, which inserts it.
var errNotInCatalog = errors.New("the row is not in the catalog yet")

// CreateBackup gives every new row an origin, also when the catalog
// answers: a row whose commit reached the server just before it went away
// (the answer lost) is journaled under the same origin, and the replay
// finds it instead of inserting it again.
// A backup given its id (a catalog rebuild keeping the ids its metadata
// objects recorded) is no daemon's work and goes to the catalog as it is.
func (w *Journaled) CreateBackup(ctx context.Context, b *core.Backup) error {
	if b.ID != 0 {
		cctx, cancel := w.call(ctx)
		defer cancel()
		return w.Catalog.CreateBackup(cctx, b)
	}
	nb := *b
	now := w.Catalog.now().UTC()
	if nb.Status == "" {
		nb.Status = core.StatusRunning
	}
	if nb.StartedAt.IsZero() {
		nb.StartedAt = now
	}
	// The checks the catalog would make, so a row it would refuse is not
	// journaled.
	if !validKind(nb.Kind) {
		return core.Userf(core.ErrInvalid, "backup kind %q is not one of scheduled, manual, safety, upload, copy", nb.Kind)
	}
	if err := checkBackupFields(nb); err != nil {
		return err
	}
	if err := checkTime("backup start time", nb.StartedAt); err != nil {
		return err
	}
	nb.StartedAt = fromNanos(toNanos(nb.StartedAt))
	nb.UpdatedAt = now
	origin := w.newOrigin()
	if ok, err := w.direct(ctx, func(ctx context.Context) error {
		got, err := w.Catalog.replayBackup(ctx, origin, nb)
		if err == nil {
			*b = got
		}
		return err
	}); ok {
		return err
	}
	nb.ID = w.provisional(origin)
	if _, err := w.journal.Append(JournalEntry{Origin: origin, Backup: journalBackup(nb)}); err != nil {
		return err
	}
	w.log.Info("the catalog is unreachable; the backup is recorded in the journal", "service", nb.Service,
		"destination", nb.Destination, "provisional_id", nb.ID)
	*b = nb
	return nil
}

func (w *Journaled) UpdateBackup(ctx context.Context, b core.Backup) error {
	prov := b.ID
	write := func(ctx context.Context) error {
		b.ID = w.realID(prov)
		if b.ID < 0 {
			return errNotInCatalog
		}
		return w.Catalog.UpdateBackup(ctx, b)
	}
	if ok, err := w.direct(ctx, write); ok {
		if err == nil && prov < 0 && b.Status == core.StatusSucceeded && w.onReplayed != nil {
			w.onReplayed(ctx, b)
		}
		return err
	}
	b.ID = w.realID(prov)
	origin := ""
	if prov < 0 {
		origin = w.originOf(prov)
		b.ID = prov
	}
	_, err := w.journal.Append(JournalEntry{Origin: origin, Backup: journalBackup(b)})
	return err
}

// UpdateProgress drops the progress of a backup the catalog does not have
// yet: progress is advisory.
func (w *Journaled) UpdateProgress(ctx context.Context, id int64, p core.BackupProgress) error {
	if id = w.realID(id); id < 0 {
		return nil
	}
	cctx, cancel := w.call(ctx)
	defer cancel()
	err := w.Catalog.UpdateProgress(cctx, id, p)
	w.seen(err)
	return err
}

func (w *Journaled) AddDrill(ctx context.Context, d *core.Drill) error {
	nd := *d
	if nd.Status == "" {
		nd.Status = core.DrillRunning
	}
	if nd.StartedAt.IsZero() {
		nd.StartedAt = w.Catalog.now().UTC()
	}
	nd.StartedAt = fromNanos(toNanos(nd.StartedAt))
	origin := w.newOrigin()
	if ok, err := w.direct(ctx, func(ctx context.Context) error {
		if nd.ServiceID == 0 {
			s, err := w.Catalog.Service(ctx, nd.Service)
			if err != nil {
				return err
			}
			nd.ServiceID = s.ID
		}
		rd := nd
		rd.BackupID = w.realID(rd.BackupID)
		got, err := w.Catalog.replayDrill(ctx, origin, rd)
		if err == nil {
			*d = got
		}
		return err
	}); ok {
		return err
	}
	nd.ID = w.provisional(origin)
	if _, err := w.journal.Append(JournalEntry{Origin: origin, Drill: journalDrill(nd)}); err != nil {
		return err
	}
	*d = nd
	return nil
}

func (w *Journaled) UpdateDrill(ctx context.Context, d core.Drill) error {
	prov := d.ID
	if ok, err := w.direct(ctx, func(ctx context.Context) error {
		d.ID, d.BackupID = w.realID(prov), w.realID(d.BackupID)
		if d.ID < 0 {
			return errNotInCatalog
		}
		return w.Catalog.UpdateDrill(ctx, d)
	}); ok {
		return err
	}
	d.ID = w.realID(prov)
	origin := ""
	if prov < 0 {
		origin, d.ID = w.originOf(prov), prov
	}
	_, err := w.journal.Append(JournalEntry{Origin: origin, Drill: journalDrill(d)})
	return err
}

func (w *Journaled) AddAudit(ctx context.Context, e *core.AuditEntry) error {
	ne := *e
	if ne.At.IsZero() {
		ne.At = w.Catalog.now().UTC()
	}
	if ne.User == "" {
		a := core.ActorFrom(ctx)
		ne.User, ne.SSHClient = a.User, a.SSHClient
	}
	origin := w.newOrigin()
	if ok, err := w.direct(ctx, func(ctx context.Context) error {
		ne.Detail = w.renumber(ne.Detail)
		id, err := w.Catalog.replayAudit(ctx, origin, ne)
		ne.ID = id
		return err
	}); ok {
		if err == nil {
			*e = ne
		}
		return err
	}
	if _, err := w.journal.Append(JournalEntry{Origin: origin, Audit: &ne}); err != nil {
		return err
	}
	*e = ne
	return nil
}

// provisionalRef finds "backup -N" in an audit entry's detail.
var provisionalRef = regexp.MustCompile(`backup (-[0-9]+)\b`)

// renumber puts the real ids of replayed backups in place of their
// provisional ones.
func (w *Journaled) renumber(s string) string {
	return provisionalRef.ReplaceAllStringFunc(s, func(m string) string {
		id, err := strconv.ParseInt(m[len("backup "):], 10, 64)
		if err != nil {
			return m
		}
		return "backup " + strconv.FormatInt(w.realID(id), 10)
	})
}

func (w *Journaled) flush(ctx context.Context) error {
	if w.journal.Len() == 0 {
		return nil
	}
	return w.Replay(ctx)
}

// Replay writes the journal's entries to the catalog, oldest row first,
// each row in one transaction, removing each row's entries once the
// catalog committed it. An entry the catalog refuses (its service gone and
// its data invalid) is moved to the journal's .rejected file with an error
// in the log. It stops at the first sign that the catalog is away again,
// and returns that error.
func (w *Journaled) Replay(ctx context.Context) error {
	w.replayMu.Lock()
	defer w.replayMu.Unlock()
	entries := w.journal.Entries()
	if len(entries) == 0 {
		return nil
	}
	type group struct {
		key     string
		entries []JournalEntry
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, e := range entries {
		key := "o:" + e.Origin
		switch {
		case e.Origin != "":
		case e.Backup != nil:
			key = fmt.Sprintf("b:%d", e.Backup.ID)
		case e.Drill != nil:
			key = fmt.Sprintf("d:%d", e.Drill.ID)
		default:
			key = fmt.Sprintf("s:%d", e.Seq)
		}
		g, ok := byKey[key]
		if !ok {
			g = &group{key: key}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.entries = append(g.entries, e)
	}
	// Entries go from the file in batches once committed: a replay cut
	// short before their removal finds their rows again by origin, so the
	// file need not be rewritten after every row.
	replayed := 0
	var committed []int64
	removeCommitted := func() error {
		if len(committed) == 0 {
			return nil
		}
		err := w.journal.Remove(committed...)
		committed = nil
		return err
	}
	for _, g := range groups {
		last := g.entries[len(g.entries)-1]
		var prov int64
		var seqs []int64
		for _, e := range g.entries {
			seqs = append(seqs, e.Seq)
			if id := e.provisionalID(); id < 0 {
				prov = id
			}
		}
		var (
			err      error
			backup   *core.Backup
			attrs    []any
			cctx, cn = w.call(ctx)
		)
		switch {
		case last.Backup != nil && last.Origin != "":
			var b core.Backup
			b, err = w.Catalog.replayBackup(cctx, last.Origin, last.Backup.backup())
			if err == nil {
				backup = &b
				w.mapID(prov, b.ID)
			}
			attrs = []any{"backup", b.ID, "provisional_id", prov, "service", b.Service, "destination", b.Destination, "status", b.Status, "key", b.Key}
		case last.Backup != nil:
			b := last.Backup.backup()
			err = w.Catalog.UpdateBackup(cctx, b)
			attrs = []any{"backup", b.ID, "service", b.Service, "destination", b.Destination, "status", b.Status}
		case last.Drill != nil:
			d := last.Drill.drill()
			d.BackupID = w.realID(d.BackupID)
			if last.Origin != "" {
				d, err = w.Catalog.replayDrill(cctx, last.Origin, d)
				if err == nil {
					w.mapID(prov, d.ID)
				}
			} else {
				err = w.Catalog.UpdateDrill(cctx, d)
			}
			attrs = []any{"drill", d.ID, "service", d.Service, "status", d.Status}
		case last.Audit != nil:
			a := *last.Audit
			a.Detail = w.renumber(a.Detail)
			_, err = w.Catalog.replayAudit(cctx, last.Origin, a)
			attrs = []any{"audit", a.Action, "target", a.Target}
		}
		cn()
		w.seen(err)
		if err != nil && !errors.Is(err, core.ErrInvalid) && !errors.Is(err, core.ErrNotFound) && !errors.Is(err, core.ErrExists) {
			// The catalog is away again or busy: the entries stay for the
			// next attempt.
			return errors.Join(err, removeCommitted())
		}
		if err != nil {
			w.log.Error("the catalog refuses a journaled row; it is kept in the rejected file", append(attrs, "error", err, "rejected", w.journal.Path()+".rejected")...)
			if rerr := w.journal.reject(g.entries); rerr != nil {
				return rerr
			}
		} else {
			w.log.Info("replayed from the journal", attrs...)
		}
		if committed = append(committed, seqs...); len(committed) >= replayBatch {
			if err := removeCommitted(); err != nil {
				return err
			}
		}
		replayed++
		if backup != nil && backup.Status == core.StatusSucceeded && w.onReplayed != nil {
			w.onReplayed(ctx, *backup)
		}
	}
	if err := removeCommitted(); err != nil {
		return err
	}
	w.log.Info("the journal is replayed", "rows", replayed, "journal", w.journal.Path())
	return nil
}

// replayBatch is how many committed entries a replay removes from the
// journal file at once.
const replayBatch = 256

func (w *Journaled) mapID(prov, real int64) {
	if prov >= 0 {
		return
	}
	w.mu.Lock()
	w.ids[prov] = real
	w.mu.Unlock()
}

// reject appends entries the catalog refused to the .rejected file beside
// the journal, for a person to look at.
func (j *Journal) reject(entries []JournalEntry) error {
	f, err := os.OpenFile(j.path+".rejected", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("keep rejected journal entries: %w", err)
	}
	defer f.Close()
	for _, e := range entries {
		line, _ := json.Marshal(e)
		if _, err := f.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("keep rejected journal entries: %w", err)
		}
	}
	return f.Sync()
}
