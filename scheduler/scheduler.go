// Package scheduler runs every backup configuration on its own schedule with
// gocron: one job per configuration, one dump for configurations of a service
// that fall due together, rotation after each success, catch-up after
// downtime, and a lease per host so only one process per host runs that
// host's schedules (daemons of other hosts run theirs beside it).
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/odoo-backup/odoo-backup/core"
)

// Runner does the work the scheduler decides on; *core.Engine is one.
type Runner interface {
	Backup(ctx context.Context, req core.BackupRequest) ([]core.Backup, error)
	Rotate(ctx context.Context, req core.RotateRequest) ([]core.RetentionDecision, error)
	RecoverInterrupted(ctx context.Context, staleAfter time.Duration) ([]core.Backup, error)
	Drill(ctx context.Context, req core.DrillRequest) (core.DrillResult, error)
}

// Catalog is what the scheduler uses of the catalog: the leases it holds
// and reads (core.RestoreRunning), the version it polls, the configurations
// it schedules (those of its host's services) and the recent backups a
// missed run is judged by.
type Catalog interface {
	core.Leases
	core.ScheduleVersioner
	Services(ctx context.Context) ([]core.Service, error)
	AllConfigurations(ctx context.Context) ([]core.Configuration, error)
	Backups(ctx context.Context, f core.BackupFilter) ([]core.Backup, error)
}

// Options configure a Scheduler; zero values get the defaults.
type Options struct {
	Catalog Catalog
	Runner  Runner
	// Holder names this process in the lease: "daemon" or "console".
	Holder string
	// Host is the host whose schedules this scheduler runs, and whose
	// lease (core.SchedulerLeaseName) it holds: the configurations of the
	// services of that host (core.ServiceHost). Default core.HostName().
	Host string
	// Console makes this a console's scheduler: it runs the schedules only
	// while no daemon wants them. It does not take the lease while a daemon
	// asks for it (core.SchedulerHandoverLeaseName), and when one asks while it
	// holds the lease it starts no new work, lets running jobs finish within
	// ShutdownTimeout, releases the lease and waits to take it again once
	// no daemon holds it. Holder is core.ConsoleHolder.
	Console bool
	// HandoverWait bounds how long a daemon waits for a console's scheduler
	// to hand the lease over before it takes it anyway (default 15m, more
	// than a console's 10m to let its running backups end).
	HandoverWait time.Duration
	// Clock drives every timer; tests pass a clockwork.FakeClock.
	Clock clockwork.Clock
	// Location is where schedules are read (default time.Local).
	Location *time.Location
	// MaxConcurrent caps the backups running at once, host-wide (default 2).
	MaxConcurrent int
	// PollInterval is how often the catalog is checked for changed
	// configurations and the lease renewed (default 2s).
	PollInterval time.Duration
	// LeaseTTL is how long a lease without heartbeat stays its holder's
	// (default 30s).
	LeaseTTL time.Duration
	// StaleRunning is how long a running backup may show no sign of life
	// before it is taken for dead (default 2m).
	StaleRunning time.Duration
	// ShutdownTimeout is how long running backups may finish after the
	// context ends before they are aborted (default 10m).
	ShutdownTimeout time.Duration
	Log             *slog.Logger
	// OnStart, if set, is told about every run as it starts (catch-up
	// runs included), on the run's goroutine: it must not block.
	OnStart func(Run)
	// OnRun, if set, is told about every finished run.
	OnRun func(Run)
	// OnDrill, if set, is told about every finished scheduled drill.
	OnDrill func(core.DrillResult, error)
}

// Run is one scheduled (or catch-up) backup of a service to one or more
// destinations, with its outcome.
type Run struct {
	Service      string
	Destinations []string
	Slot         time.Time
	CatchUp      bool
	Backups      []core.Backup
	Err          error
	Rotated      []core.Backup
}

// Scheduler runs the schedules of one catalog.
type Scheduler struct {
	o    Options
	host string

	lease core.Lease

	mu       sync.Mutex
	sched    gocron.Scheduler
	jobs     map[configKey]jobEntry
	drills   map[configKey]jobEntry
	configs  map[configKey]core.Configuration
	lastSlot map[configKey]time.Time
	svcLocks map[string]*sync.Mutex
	version  int64
	loaded   bool
	running  int
	stopping bool
	// away is set while the catalog is unreachable.
	away bool
	idle *sync.Cond
	// active counts the scheduled jobs running per service, for Running.
	active map[string]int

	abort     chan struct{}
	abortOnce sync.Once

	workCtx    context.Context
	cancelWork context.CancelFunc

	// recovering is set while a look for this host's dead backups runs
	// (recoverCrashed); recovered ends with it.
	recovering atomic.Bool
	recovered  sync.WaitGroup

	// afterPoll lets tests await a look at the catalog, shutdownWaiting the
	// start of the shutdown timeout.
	afterPoll       func()
	shutdownWaiting func()
}

type configKey struct{ service, destination string }

type jobEntry struct {
	id        uuid.UUID
	signature string
}

// New checks the options and fills in the defaults.
func New(o Options) (*Scheduler, error) {
	if o.Catalog == nil || o.Runner == nil {
		return nil, errors.New("scheduler: a catalog and a runner are required")
	}
	if o.Console {
		o.Holder = core.ConsoleHolder
	}
	if o.Holder == "" {
		o.Holder = "daemon"
	}
	if o.HandoverWait <= 0 {
		o.HandoverWait = 15 * time.Minute
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 2
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.StaleRunning <= 0 {
		o.StaleRunning = 2 * time.Minute
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	host := o.Host
	if host == "" {
		host = core.HostName()
	}
	s := &Scheduler{
		o: o, host: host,
		jobs: map[configKey]jobEntry{}, drills: map[configKey]jobEntry{}, configs: map[configKey]core.Configuration{},
		lastSlot: map[configKey]time.Time{}, svcLocks: map[string]*sync.Mutex{}, active: map[string]int{},
		abort: make(chan struct{}),
	}
	s.idle = sync.NewCond(&s.mu)
	return s, nil
}

// errHandedOver ends a console's turn at the schedules: a daemon asked
// for them, or took the lease.
var errHandedOver = errors.New("the schedules were handed over to a daemon")

// Run holds the lease (waiting for it while another live process has it),
// recovers backups interrupted by a crash, catches up on missed slots, and
// runs every schedule until ctx ends. Then it stops starting work, lets
// running backups finish within ShutdownTimeout (or until Abort), aborts the
// rest cleanly and releases the lease. It returns nil after a clean stop, or
// an error if the lease was taken over. A console's scheduler (Options.Console)
// that hands over to a daemon waits to take the lease again until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		err := s.runOnce(ctx)
		if !errors.Is(err, errHandedOver) {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		s.mu.Lock()
		s.jobs, s.drills, s.configs = map[configKey]jobEntry{}, map[configKey]jobEntry{}, map[configKey]core.Configuration{}
		s.lastSlot, s.version, s.loaded, s.stopping = map[configKey]time.Time{}, 0, false, false
		s.mu.Unlock()
	}
}

// Abort makes a stopping scheduler cancel its running jobs at once instead
// of giving them ShutdownTimeout: a console that quits calls it after the
// person said so. Their backups fail as interrupted and leave no files.
func (s *Scheduler) Abort() { s.abortOnce.Do(func() { close(s.abort) }) }

// Running lists the services a job of this scheduler is backing up or
// drilling now, sorted.
func (s *Scheduler) Running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for svc, n := range s.active {
		if n > 0 {
			out = append(out, svc)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Scheduler) markActive(service string, delta int) {
	s.mu.Lock()
	s.active[service] += delta
	s.mu.Unlock()
}

func (s *Scheduler) runOnce(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer func() { _ = s.o.Catalog.ReleaseLease(context.WithoutCancel(ctx), s.lease) }()

	s.workCtx, s.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	defer s.cancelWork()

	// The runner logs each backup it recovers; logging them here as well
	// said everything twice.
	if _, err := s.o.Runner.RecoverInterrupted(ctx, s.o.StaleRunning); err != nil {
		s.o.Log.Error("cleaning up after interrupted backups failed", "error", err)
	}

	sched, err := gocron.NewScheduler(
		gocron.WithClock(s.o.Clock),
		gocron.WithLocation(s.o.Location),
		gocron.WithLimitConcurrentJobs(uint(s.o.MaxConcurrent), gocron.LimitModeWait),
		gocron.WithStopTimeout(time.Second),
	)
	if err != nil {
		return fmt.Errorf("start the scheduler: %w", err)
	}
	s.sched = sched
	if err := s.reload(ctx); err != nil {
		_ = sched.Shutdown()
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	sched.Start()
	s.catchUp(ctx)
	for _, n := range s.NextRuns() {
		s.o.Log.Info("scheduled", "service", n.Service, "destination", n.Destination, "schedule", n.Schedule, "next_run", n.Next.Format(time.RFC3339))
	}

	err = s.watch(ctx)
	s.recovered.Wait()
	s.shutdown()
	return err
}

// watch renews the lease and reloads changed configurations until ctx ends.
func (s *Scheduler) watch(ctx context.Context) error {
	t := s.o.Clock.NewTicker(s.o.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
		s.lease.Heartbeat = s.o.Clock.Now()
		err := s.o.Catalog.RenewLease(ctx, s.lease)
		if s.catalogAway(err) {
			// Not a lost lease: nobody can take it while the catalog is
			// away. The schedules it last gave keep running.
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, core.ErrNotFound) {
				if s.o.Console {
					s.o.Log.Warn("the scheduler lease was taken; this console stops running the schedules", "error", err)
					return errHandedOver
				}
				return err
			}
			s.o.Log.Error("renewing the scheduler lease failed", "error", err)
			continue
		}
		if s.o.Console {
			if d, asked := s.handoverAsked(ctx); asked {
				s.o.Log.Info("a daemon asks for the schedules; handing them over once running jobs end",
					"daemon_pid", d.PID, "daemon_host", d.Host, "running", len(s.Running()))
				return errHandedOver
			}
		}
		if err := s.reload(ctx); err != nil && ctx.Err() == nil {
			s.o.Log.Error("reloading the configurations failed", "error", err)
		}
		s.recoverCrashed(ctx)
		if s.afterPoll != nil {
			s.afterPoll()
		}
	}
}

// recoverCrashed records the backups of this host whose process died while
// this scheduler runs (a command-line backup killed under cron) as
// interrupted and removes what they left, within a poll instead of at the
// next command. It reads only the running rows. It runs beside the poll,
// one look at a time: a destination slow to answer while its leftovers are
// removed must not hold back the lease's renewal.
func (s *Scheduler) recoverCrashed(ctx context.Context) {
	if !s.recovering.CompareAndSwap(false, true) {
		return
	}
	s.recovered.Add(1)
	go func() {
		defer s.recovered.Done()
		defer s.recovering.Store(false)
		// The runner logs each backup it recovers.
		if _, err := s.o.Runner.RecoverInterrupted(ctx, 0); err != nil && ctx.Err() == nil {
			s.o.Log.Error("cleaning up after interrupted backups failed", "error", err)
		}
	}()
}

// consoleMustWait says whether this is a console's scheduler and a daemon
// asks for the lease, and returns the request.
func (s *Scheduler) consoleMustWait(ctx context.Context) (core.Lease, bool) {
	if !s.o.Console {
		return core.Lease{}, false
	}
	return s.handoverAsked(ctx)
}

// handoverAsked returns the handover request of a live daemon, if any.
func (s *Scheduler) handoverAsked(ctx context.Context) (core.Lease, bool) {
	l, err := s.o.Catalog.CurrentLease(ctx, core.SchedulerHandoverLeaseName(s.host))
	if err != nil || s.holderGone(l) {
		return core.Lease{}, false
	}
	return l, true
}

// acquire takes the lease, waiting while a live process holds it. A
// console's scheduler leaves it to a daemon that asks for it. A daemon that
// finds a console holding it asks for it (core.SchedulerHandoverLeaseName) and
// takes it once the console lets go, or after HandoverWait at the latest.
func (s *Scheduler) acquire(ctx context.Context) error {
	now := s.o.Clock.Now()
	s.lease = core.Lease{Name: core.SchedulerLeaseName(s.host), Holder: s.o.Holder, PID: os.Getpid(), Host: s.host, AcquiredAt: now, Heartbeat: now}
	ask := core.Lease{Name: core.SchedulerHandoverLeaseName(s.host), Holder: s.o.Holder, PID: os.Getpid(), Host: s.host}
	var askedUntil time.Time
	defer func() {
		if !askedUntil.IsZero() {
			_ = s.o.Catalog.ReleaseLease(context.WithoutCancel(ctx), ask)
		}
	}()
	logged := false
	for {
		now := s.o.Clock.Now()
		s.lease.Heartbeat = now
		var (
			cur core.Lease
			ok  bool
			err error
		)
		if d, asked := s.consoleMustWait(ctx); asked {
			cur = d // a daemon is about to take the schedules: leave them to it
		} else {
			cur, ok, err = s.o.Catalog.AcquireLease(ctx, s.lease, func(cur core.Lease) bool {
				return s.holderGone(cur) || cur.Holder == core.ConsoleHolder && !askedUntil.IsZero() && !now.Before(askedUntil)
			})
		}
		if s.catalogAway(err) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-s.o.Clock.After(s.o.PollInterval):
			}
			continue
		}
		if err != nil {
			return err
		}
		if ok {
			s.lease = cur
			if !askedUntil.IsZero() {
				_ = s.o.Catalog.ReleaseLease(context.WithoutCancel(ctx), ask)
				askedUntil = time.Time{}
			}
			s.o.Log.Info("running the schedules", "holder", cur.Holder, "pid", cur.PID, "host", cur.Host)
			return nil
		}
		s.o.Log.Debug("the scheduler lease is taken; trying again later", "holder", cur.Holder, "pid", cur.PID)
		if !s.o.Console && cur.Holder == core.ConsoleHolder {
			ask.Heartbeat = now
			if _, _, err := s.o.Catalog.AcquireLease(ctx, ask, s.holderGone); err != nil {
				return err
			}
			if askedUntil.IsZero() {
				askedUntil = now.Add(s.o.HandoverWait)
				s.o.Log.Info("a console runs the schedules; asking it to hand them over", "pid", cur.PID, "host", cur.Host,
					"at_most", s.o.HandoverWait.String())
			}
			logged = true
		}
		if !logged {
			s.o.Log.Info("another process runs the schedules; waiting for it to stop", "holder", cur.Holder, "pid", cur.PID, "host", cur.Host)
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.o.Clock.After(s.o.PollInterval):
		}
	}
}

// catalogAway says whether err is the catalog being unreachable, and logs
// when it goes away and when it answers again (err nil), once each.
func (s *Scheduler) catalogAway(err error) bool {
	away := errors.Is(err, core.ErrCatalogUnreachable)
	s.mu.Lock()
	was := s.away
	s.away = away
	s.mu.Unlock()
	switch {
	case away && !was:
		s.o.Log.Warn("the catalog is unreachable; the schedules it last gave keep running",
			"error", err)
	case !away && was && err == nil:
		s.o.Log.Info("the catalog answers again")
	}
	return away
}

// holderGone says whether the current lease holder is dead: no heartbeat
// for LeaseTTL, or a process of this host that no longer exists.
func (s *Scheduler) holderGone(cur core.Lease) bool {
	if s.o.Clock.Now().Sub(cur.Heartbeat) > s.o.LeaseTTL {
		return true
	}
	return cur.Host == s.host && cur.PID != os.Getpid() && !core.ProcessAlive(cur.PID)
}

// reload brings the jobs in line with the configurations of this host's
// services when the catalog changed since the last look.
func (s *Scheduler) reload(ctx context.Context) error {
	v, err := s.o.Catalog.ScheduleVersion(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.version == v && s.loaded {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	configs, err := s.ownConfigurations(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
	backups := func(c core.Configuration) core.Frequency { return c.Frequency }
	drills := func(c core.Configuration) core.Frequency { return c.Drill }
	var err1, err2 error
	s.configs, err1 = s.reconcile("schedule", s.jobs, configs, backups, s.fire)
	_, err2 = s.reconcile("drill schedule", s.drills, configs, drills, s.fireDrill)
	// A host with no schedule of its own looks again only when the
	// catalog changes; one whose jobs could not all be made, at each poll.
	err = errors.Join(err1, err2)
	s.loaded = err == nil
	return err
}

// ownConfigurations are the configurations of this host's services: the
// schedules of other hosts' services are their daemons' to run.
func (s *Scheduler) ownConfigurations(ctx context.Context) ([]core.Configuration, error) {
	svcs, err := s.o.Catalog.Services(ctx)
	if err != nil {
		return nil, err
	}
	own := map[string]bool{}
	for _, svc := range svcs {
		own[svc.Name] = core.ServiceHost(svc) == s.host
	}
	configs, err := s.o.Catalog.AllConfigurations(ctx)
	if err != nil {
		return nil, err
	}
	out := configs[:0]
	for _, c := range configs {
		if own[c.Service] {
			out = append(out, c)
		}
	}
	return out, nil
}

// reconcile brings one kind of jobs (backups or drills) in line with the
// configurations: a job whose configuration is gone or whose schedule
// changed is removed, a missing one is added. It returns the configurations
// that have such a job. Called with s.mu held.
func (s *Scheduler) reconcile(what string, jobs map[configKey]jobEntry, configs []core.Configuration,
	freq func(core.Configuration) core.Frequency, task func(configKey)) (map[configKey]core.Configuration, error) {
	spec := func(c core.Configuration) string {
		return cronSpec(core.Configuration{Frequency: freq(c), Schedule: c.Schedule})
	}
	want := map[configKey]core.Configuration{}
	for _, c := range configs {
		if freq(c) != core.Manual {
			want[configKey{c.Service, c.Destination}] = c
		}
	}
	for k, j := range jobs {
		if c, ok := want[k]; ok && spec(c) == j.signature {
			continue
		}
		if err := s.sched.RemoveJob(j.id); err != nil {
			s.o.Log.Error("removing a job failed", "what", what, "service", k.service, "destination", k.destination, "error", err)
		}
		delete(jobs, k)
		s.o.Log.Info(what+" removed", "service", k.service, "destination", k.destination)
	}
	for k, c := range want {
		if _, ok := jobs[k]; ok {
			continue
		}
		job, err := s.sched.NewJob(gocron.CronJob(spec(c), false),
			gocron.NewTask(task, k),
			gocron.WithName(what+" "+k.service+"→"+k.destination),
		)
		if err != nil {
			return want, fmt.Errorf("%s of %s on %s: %w", what, k.service, k.destination, err)
		}
		jobs[k] = jobEntry{id: job.ID(), signature: spec(c)}
		s.o.Log.Info(what+" added", "service", k.service, "destination", k.destination, "schedule", c.Schedule.Describe(freq(c)))
	}
	return want, nil
}

// fireDrill runs the restore drill of one configuration on the backups of
// its destination. It waits for a backup of the service in progress, so a
// drill due at the same time as a backup drills that backup. Missed drills
// are not caught up: the next slot comes soon enough.
func (s *Scheduler) fireDrill(k configKey) {
	if !s.begin() {
		return
	}
	defer s.end()
	lock := s.serviceLock(k.service)
	lock.Lock()
	s.markActive(k.service, 1)
	defer s.markActive(k.service, -1)
	s.o.Log.Info("scheduled drill starting", "service", k.service, "destination", k.destination)
	res, err := s.o.Runner.Drill(s.workCtx, core.DrillRequest{Service: k.service, Destination: k.destination})
	lock.Unlock()
	if err != nil {
		s.o.Log.Error("scheduled drill failed", "service", k.service, "destination", k.destination, "drill", res.Drill.ID, "error", err)
	} else {
		s.o.Log.Info("scheduled drill succeeded", "service", k.service, "destination", k.destination, "drill", res.Drill.ID, "backup", res.Drill.BackupID)
	}
	if s.o.OnDrill != nil {
		s.o.OnDrill(res, err)
	}
}

// cronSpec turns a configuration's schedule into a crontab line.
func cronSpec(c core.Configuration) string {
	s := c.Schedule
	switch c.Frequency {
	case core.Hourly:
		return fmt.Sprintf("%d * * * *", s.Minute)
	case core.Daily:
		return fmt.Sprintf("%d %d * * *", s.Minute, s.Hour)
	case core.Weekly:
		return fmt.Sprintf("%d %d * * %d", s.Minute, s.Hour, int(s.Weekday))
	case core.Monthly:
		return fmt.Sprintf("%d %d %d * *", s.Minute, s.Hour, s.MonthDay)
	}
	return ""
}

// fire is the job of one configuration. Configurations of the same service
// that fall due in the same slot are backed up together, one dump for all:
// whichever job runs first takes its siblings along, and theirs find the
// slot already done.
func (s *Scheduler) fire(k configKey) {
	if !s.begin() {
		return
	}
	defer s.end()
	now := s.o.Clock.Now().In(s.o.Location)
	// A service's backups never overlap. A job that finds its service busy
	// gives its slot up, unless the backup in progress takes it along: that
	// one claims every configuration due in its slot once it holds the lock.
	lock := s.serviceLock(k.service)
	if !lock.TryLock() {
		s.o.Log.Debug("service busy; this slot is covered by the backup in progress or skipped", "service", k.service, "destination", k.destination)
		return
	}
	if l, restoring := core.RestoreRunning(s.workCtx, s.o.Catalog, k.service, s.o.Clock.Now()); restoring {
		// The restore took a safety backup of the service moments ago, and
		// its swap would end this dump's connection: the slot is its.
		lock.Unlock()
		s.o.Log.Info("a restore onto the service is running; its safety backup covers this slot", "service", k.service,
			"destination", k.destination, "restore_pid", l.PID, "restore_host", l.Host)
		return
	}
	run, ok := s.claimSlot(k, now)
	if ok {
		run = s.runBackup(run)
	}
	lock.Unlock()
	if ok && s.o.OnRun != nil {
		s.o.OnRun(run)
	}
}

// claimSlot marks the slot of k done, and that of every configuration of the
// same service due at the same time, and returns the run that covers them.
func (s *Scheduler) claimSlot(k configKey, now time.Time) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.configs[k]
	if !ok {
		return Run{}, false
	}
	slot, _ := core.PreviousRun(c.Frequency, c.Schedule, now)
	if !s.lastSlot[k].Before(slot) {
		return Run{}, false
	}
	var dests []string
	for ok, oc := range s.configs {
		if ok.service != k.service || !s.lastSlot[ok].Before(slot) {
			continue
		}
		if prev, _ := core.PreviousRun(oc.Frequency, oc.Schedule, now); prev.Equal(slot) {
			dests = append(dests, ok.destination)
			s.lastSlot[ok] = slot
		}
	}
	sort.Strings(dests)
	return Run{Service: k.service, Destinations: dests, Slot: slot}, true
}

// catchUp runs, once, every configuration whose last slot passed without a
// successful scheduled backup (after downtime, or for a new configuration),
// one dump per service.
func (s *Scheduler) catchUp(ctx context.Context) {
	now := s.o.Clock.Now().In(s.o.Location)
	s.mu.Lock()
	configs := make([]core.Configuration, 0, len(s.configs))
	for _, c := range s.configs {
		configs = append(configs, c)
	}
	s.mu.Unlock()
	due := map[string][]string{}
	for _, c := range configs {
		prev, ok := core.PreviousRun(c.Frequency, c.Schedule, now)
		if !ok {
			continue
		}
		// Ids follow time except after a catalog rebuild: look at a few.
		recent, err := s.o.Catalog.Backups(ctx, core.BackupFilter{Service: c.Service, Destination: c.Destination, Kind: core.KindScheduled, Status: core.StatusSucceeded, Limit: 10})
		if err != nil {
			s.o.Log.Error("reading the last backup failed", "service", c.Service, "destination", c.Destination, "error", err)
			continue
		}
		covered := false
		for _, b := range recent {
			covered = covered || !b.StartedAt.Before(prev)
		}
		if covered {
			continue
		}
		s.mu.Lock()
		s.lastSlot[configKey{c.Service, c.Destination}] = prev
		s.mu.Unlock()
		due[c.Service] = append(due[c.Service], c.Destination)
	}
	if len(due) == 0 {
		s.o.Log.Info("no missed backup to catch up on")
	}
	services := make([]string, 0, len(due))
	for svc := range due {
		services = append(services, svc)
	}
	sort.Strings(services)
	for _, svc := range services {
		dests := due[svc]
		sort.Strings(dests)
		s.o.Log.Info("catching up on a missed backup", "service", svc, "destinations", strings.Join(dests, ","))
		run := Run{Service: svc, Destinations: dests, Slot: now, CatchUp: true}
		_, err := s.sched.NewJob(gocron.OneTimeJob(gocron.OneTimeJobStartImmediately()),
			gocron.NewTask(func() {
				if !s.begin() {
					return
				}
				defer s.end()
				lock := s.serviceLock(svc)
				lock.Lock()
				done := s.runBackup(run)
				lock.Unlock()
				if s.o.OnRun != nil {
					s.o.OnRun(done)
				}
			}),
			gocron.WithName("catch-up "+svc))
		if err != nil {
			s.o.Log.Error("scheduling a catch-up failed", "service", svc, "error", err)
		}
	}
}

// runBackup takes one scheduled backup and, for each destination where it
// succeeded, applies that configuration's retention.
func (s *Scheduler) runBackup(run Run) Run {
	if s.o.OnStart != nil {
		s.o.OnStart(run)
	}
	s.markActive(run.Service, 1)
	defer s.markActive(run.Service, -1)
	s.o.Log.Info("scheduled backup starting", "service", run.Service, "destinations", strings.Join(run.Destinations, ","), "catch_up", run.CatchUp)
	run.Backups, run.Err = s.o.Runner.Backup(s.workCtx, core.BackupRequest{Service: run.Service, Destinations: run.Destinations, Kind: core.KindScheduled})
	for _, b := range run.Backups {
		if b.Status != core.StatusSucceeded {
			s.o.Log.Error("scheduled backup failed", "service", b.Service, "destination", b.Destination, "backup", b.ID, "error", b.Error)
			continue
		}
		s.o.Log.Info("scheduled backup succeeded", "service", b.Service, "destination", b.Destination, "backup", b.ID, "size", b.Size)
		decisions, err := s.o.Runner.Rotate(s.workCtx, core.RotateRequest{Service: b.Service, Destination: b.Destination})
		if err != nil {
			s.o.Log.Error("rotation failed", "service", b.Service, "destination", b.Destination, "error", err)
		}
		for _, d := range decisions {
			if !d.Keep {
				run.Rotated = append(run.Rotated, d.Backup)
			}
		}
	}
	if run.Err != nil && len(run.Backups) == 0 {
		s.o.Log.Error("scheduled backup failed", "service", run.Service, "error", run.Err)
	}
	s.o.Log.Info("scheduled run finished", "service", run.Service, "backups", len(run.Backups), "rotated", len(run.Rotated))
	return run
}

// begin counts a running job, unless the scheduler is stopping.
func (s *Scheduler) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.running++
	return true
}

func (s *Scheduler) end() {
	s.mu.Lock()
	s.running--
	s.idle.Broadcast()
	s.mu.Unlock()
}

func (s *Scheduler) serviceLock(service string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.svcLocks[service]
	if !ok {
		l = &sync.Mutex{}
		s.svcLocks[service] = l
	}
	return l
}

// shutdown starts no new job, gives running ones ShutdownTimeout to finish,
// then cancels them (their backups fail cleanly, leaving nothing behind).
func (s *Scheduler) shutdown() {
	s.mu.Lock()
	s.stopping = true
	running := s.running
	s.mu.Unlock()
	if running > 0 {
		s.o.Log.Info("waiting for running backups to finish", "running", running, "timeout", s.o.ShutdownTimeout.String())
	}
	done := make(chan struct{})
	go func() {
		s.mu.Lock()
		for s.running > 0 {
			s.idle.Wait()
		}
		s.mu.Unlock()
		close(done)
	}()
	timer := s.o.Clock.NewTimer(s.o.ShutdownTimeout)
	defer timer.Stop()
	// The lease stays this process's while its jobs end, so nobody else
	// runs the same slots meanwhile.
	renew := s.o.Clock.NewTicker(s.o.PollInterval)
	defer renew.Stop()
	if s.shutdownWaiting != nil {
		s.shutdownWaiting()
	}
wait:
	for {
		select {
		case <-done:
			break wait
		case <-renew.Chan():
			s.lease.Heartbeat = s.o.Clock.Now()
			_ = s.o.Catalog.RenewLease(context.WithoutCancel(s.workCtx), s.lease)
		case <-s.abort:
			s.o.Log.Info("aborting the running backups", "running", running)
			s.cancelWork()
			<-done
			break wait
		case <-timer.Chan():
			s.o.Log.Warn("running backups did not finish in time; aborting them", "timeout", s.o.ShutdownTimeout.String())
			s.cancelWork()
			<-done
			break wait
		}
	}
	if err := s.sched.Shutdown(); err != nil {
		s.o.Log.Error("stopping the scheduler", "error", err)
	}
}

// NextRun is when a configuration runs next.
type NextRun struct {
	Service     string    `json:"service"`
	Destination string    `json:"destination"`
	Schedule    string    `json:"schedule"`
	Next        time.Time `json:"next_run"`
}

// NextRuns lists the next run of every scheduled configuration.
func (s *Scheduler) NextRuns() []NextRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Clock.Now().In(s.o.Location)
	var out []NextRun
	for k, c := range s.configs {
		next, _ := core.NextRun(c.Frequency, c.Schedule, now)
		out = append(out, NextRun{Service: k.service, Destination: k.destination, Schedule: c.Schedule.Describe(c.Frequency), Next: next})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Next.Equal(out[j].Next) {
			return out[i].Next.Before(out[j].Next)
		}
		return out[i].Service+out[i].Destination < out[j].Service+out[j].Destination
	})
	return out
}
