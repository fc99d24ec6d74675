package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/notifier"
	"github.com/odoo-backup/odoo-backup/core/notify"
	"github.com/odoo-backup/odoo-backup/scheduler"
	"github.com/odoo-backup/odoo-backup/store"
)

// daemonFlags are the options of odoo-backup --daemon.
type daemonFlags struct {
	enabled         bool
	logFormat       string
	shutdownTimeout time.Duration
	maxConcurrent   int
	notifyWebhook   string
	notifyTimeout   time.Duration
	metricsListen   string
}

// notifyDrain bounds how long a stopping daemon delivers the notifications
// still queued.
const notifyDrain = time.Minute

// daemon runs the schedules headless until ctx ends (SIGTERM or SIGINT).
func (a *app) daemon(ctx context.Context) error {
	var handler slog.Handler
	switch a.daemonFlags.logFormat {
	case "text":
		handler = slog.NewTextHandler(a.stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(a.stderr, nil)
	default:
		return usageError{fmt.Errorf("--log-format %q is not text or json", a.daemonFlags.logFormat)}
	}
	if err := checkMetricsListen(a.daemonFlags.metricsListen); err != nil {
		return err
	}
	if n := a.daemonFlags.maxConcurrent; n < 1 {
		return usageError{fmt.Errorf("--max-concurrent %d is not a number of backups to run at once; give 1 or more", n)}
	}
	if d := a.daemonFlags.shutdownTimeout; d <= 0 {
		return usageError{fmt.Errorf("--shutdown-timeout %s is not a duration above zero; give how long running backups may finish on SIGTERM, such as 10m", d)}
	}
	log := slog.New(handler)
	// What the schedules do is the daemon's doing, whoever started it.
	ctx = core.WithActor(ctx, core.Actor{User: "daemon:" + core.CurrentActor().User})
	if err := a.openWaiting(ctx, log); err != nil || a.cat == nil {
		return err // nil: stopped while waiting for the catalog
	}
	a.engine.Log = log
	var cat scheduler.Catalog = a.cat
	if a.cat.Postgres() {
		jc, err := a.journaled(ctx, log)
		if err != nil {
			return err
		}
		cat = jc
	}
	w, err := a.notifyWatcher(log)
	if err != nil {
		return err
	}
	s, err := scheduler.New(scheduler.Options{
		Catalog: cat, Runner: a.engine, Holder: "daemon", Log: log,
		MaxConcurrent: a.daemonFlags.maxConcurrent, ShutdownTimeout: a.daemonFlags.shutdownTimeout,
		PollInterval: a.pollInterval(),
		// Notifications and pings go out on the watcher's goroutine: a
		// slow channel never holds a backup up.
		OnStart: func(r scheduler.Run) { w.RunStarted(r.Service, r.Destinations) },
		OnRun:   func(r scheduler.Run) { w.RunFinished(r.Service, r.Destinations, r.Backups, r.Err) },
		OnDrill: func(core.DrillResult, error) { w.DrillFinished() },
	})
	if err != nil {
		return err
	}
	// What is queued when the schedules stop is still delivered.
	defer w.Start(ctx, notifyDrain)()
	log.Info("odoo-backup daemon starting", "catalog", store.Redact(a.resolveCatalogPath()), "host", core.HostName(), "pid", os.Getpid(),
		"max_concurrent", a.daemonFlags.maxConcurrent, "shutdown_timeout", a.daemonFlags.shutdownTimeout.String())
	// Work other hosts ask of this one runs beside the schedules, while
	// this daemon holds the host's scheduler lease.
	requestsDone := a.startRequestLoop(ctx, "daemon", a.engine, log, a.daemonFlags.maxConcurrent, a.daemonFlags.shutdownTimeout)
	stopMetrics := a.serveMetrics(ctx, log)
	err = s.Run(ctx)
	stopMetrics()
	requestsDone()
	if err != nil {
		log.Error("daemon stopped", "error", err)
		return err
	}
	log.Info("odoo-backup daemon stopped")
	return nil
}

// catalogRetry is how often a daemon started while its catalog is
// unreachable tries again.
var catalogRetry = 5 * time.Second

// openWaiting opens the catalog, waiting while its server is unreachable:
// a daemon started before the shared catalog's server (a fleet rebooting)
// starts its schedules once it answers.
func (a *app) openWaiting(ctx context.Context, log *slog.Logger) error {
	logged := false
	for {
		err := a.open(ctx)
		if err == nil || !errors.Is(err, core.ErrCatalogUnreachable) {
			return err
		}
		if !logged {
			log.Warn("the catalog is unreachable; retrying", "catalog", store.Redact(a.resolveCatalogPath()),
				"every", catalogRetry.String(), "error", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(catalogRetry):
		}
	}
}

// journalDir is where a daemon keeps the rows a shared catalog could not
// take while it was unreachable.
func journalDir() string { return filepath.Join(dataDir(), "journal") }

// journaled wraps a shared catalog for the daemon: bounded calls, the last
// schedules while it is unreachable, and this host's journal for the rows
// it could not take, replayed now and whenever it answers again.
func (a *app) journaled(ctx context.Context, log *slog.Logger) (*store.Journaled, error) {
	j, warnings, err := store.OpenJournal(store.JournalPath(journalDir(), core.HostName()))
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	jc := store.NewJournaled(a.cat, store.JournaledOptions{Journal: j, Log: log,
		OnReplayed: func(ctx context.Context, b core.Backup) {
			if err := a.engine.RecordBackupID(ctx, b); err != nil {
				log.Warn("the metadata object of a replayed backup keeps no id; a catalog rebuild would give it a new one",
					"backup", b.ID, "key", b.Key, "error", err)
			}
		}})
	a.engine.Catalog = jc
	if n := j.Len(); n > 0 {
		log.Info("replaying the journal", "journal", j.Path(), "entries", n)
		if err := jc.Replay(ctx); err != nil {
			log.Warn("replaying the journal failed; it is tried again when the catalog answers", "error", err)
		}
	}
	return jc, nil
}

// webhookChannel is the daemon's --notify-webhook as a channel: the old
// form, told when a configuration starts failing and when it recovers.
func webhookChannel(url string) core.NotifyChannel {
	return core.NotifyChannel{Name: "notify-webhook", URL: core.Secret(url), Events: []core.NotifyEvent{core.EventFailure, core.EventRecovery}}
}

// notifyWatcher is the daemon's notifications: the catalog's channels and
// the --notify-webhook, the pings of its configurations.
func (a *app) notifyWatcher(log *slog.Logger) (*notifier.Watcher, error) {
	var extra []core.NotifyChannel
	if u := a.daemonFlags.notifyWebhook; u != "" {
		if err := core.CheckNotifyURL("--notify-webhook URL", core.Secret(u)); err != nil {
			return nil, usageError{err}
		}
		extra = append(extra, webhookChannel(u))
	}
	if a.daemonFlags.notifyTimeout <= 0 {
		return nil, usageError{fmt.Errorf("--notify-timeout %s is not a duration above zero; give one such as 10s", a.daemonFlags.notifyTimeout)}
	}
	return notifier.New(notifier.Options{Catalog: a.cat, Extra: extra, Log: log,
		Delivery: notify.Options{Timeout: a.daemonFlags.notifyTimeout}}), nil
}

// fleetPollInterval is how often a daemon on a shared PostgreSQL catalog
// renews its lease and looks for changed schedules: a third of
// core.LeaseTTL, so two renewals can be missed before the lease is taken
// for dead, and a fleet of tens of daemons makes a few transactions a
// second in all instead of one per daemon every two seconds. A change of
// schedule reaches the daemon within it; requests wake it at once.
const fleetPollInterval = core.LeaseTTL / 3

// pollInterval is the scheduler's: the default on an SQLite catalog (one
// host), fleetPollInterval on a PostgreSQL one.
func (a *app) pollInterval() time.Duration {
	if a.cat != nil && a.cat.Postgres() {
		return fleetPollInterval
	}
	return 0
}
