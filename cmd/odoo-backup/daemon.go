package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
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
	metricsListen   string
}

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
	n := &notifier{url: a.daemonFlags.notifyWebhook, log: log, client: &http.Client{Timeout: 10 * time.Second}, failed: map[string]bool{}}
	if n.url != "" {
		if err := n.load(ctx, a.cat); err != nil {
			return err
		}
	}
	s, err := scheduler.New(scheduler.Options{
		Catalog: cat, Runner: a.engine, Holder: "daemon", Log: log,
		MaxConcurrent: a.daemonFlags.maxConcurrent, ShutdownTimeout: a.daemonFlags.shutdownTimeout,
		OnRun: n.observe, PollInterval: a.pollInterval(),
	})
	if err != nil {
		return err
	}
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

// notifier posts to a Slack-compatible webhook when a configuration starts
// failing and when it recovers, not on every run.
type notifier struct {
	url    string
	log    *slog.Logger
	client *http.Client
	mu     sync.Mutex
	failed map[string]bool // service/destination → last scheduled run failed
	// sleep waits between retries; nil means time.Sleep.
	sleep func(time.Duration)
}

// load starts from what the catalog says, so a failure from before a
// restart still gets its recovery message.
func (n *notifier) load(ctx context.Context, cat interface {
	core.ConfigurationReader
	core.BackupHistory
}) error {
	configs, err := cat.AllConfigurations(ctx)
	if err != nil {
		return err
	}
	for _, c := range configs {
		last, err := cat.Backups(ctx, core.BackupFilter{Service: c.Service, Destination: c.Destination, Kind: core.KindScheduled, Limit: 1})
		if err != nil {
			return err
		}
		// A run a crash interrupted is not the configuration failing: the
		// webhook did not say it failed, so it has no recovery to announce.
		if len(last) == 1 && last[0].Status == core.StatusFailed && last[0].Error != core.InterruptedMessage {
			n.failed[c.Service+"/"+c.Destination] = true
		}
	}
	return nil
}

func (n *notifier) observe(run scheduler.Run) {
	if n.url == "" {
		return
	}
	for _, b := range run.Backups {
		key := b.Service + "/" + b.Destination
		n.mu.Lock()
		was := n.failed[key]
		now := b.Status == core.StatusFailed
		n.failed[key] = now
		n.mu.Unlock()
		switch {
		case now && !was:
			n.post(fmt.Sprintf("odoo-backup: the scheduled backup of %s to %s failed: %s", b.Service, b.Destination, b.Error))
		case !now && was:
			n.post(fmt.Sprintf("odoo-backup: the scheduled backup of %s to %s works again (backup %d, %s).", b.Service, b.Destination, b.ID, humanSize(b.Size)))
		}
	}
}

// Webhook deliveries are retried: a chat service that times out or answers
// 5xx (or 429, too many requests) once should not lose the news that backups
// fail. webhookTries attempts in all, waiting webhookBackoff(1), (2), ...
// between them; a 4xx other than 429 is the request's fault and is not
// retried.
const webhookTries = 3

// webhookBackoff is the wait after the try-th failed attempt: 2s, then 4s.
func webhookBackoff(try int) time.Duration { return time.Duration(1<<try) * time.Second }

// post delivers text, retrying as above; the wait is n.sleep (time.Sleep
// when nil), so tests need not wait.
func (n *notifier) post(text string) error {
	body, _ := json.Marshal(map[string]string{"text": text})
	sleep := n.sleep
	if sleep == nil {
		sleep = time.Sleep
	}
	var err error
	for try := 1; try <= webhookTries; try++ {
		var retry bool
		retry, err = n.deliver(body)
		if err == nil {
			n.log.Info("webhook notified", "text", text, "tries", try)
			return nil
		}
		if !retry || try == webhookTries {
			break
		}
		n.log.Warn("posting to the webhook failed; trying again", "error", err.Error(), "try", try, "wait", webhookBackoff(try).String())
		sleep(webhookBackoff(try))
	}
	n.log.Error("posting to the webhook failed", "error", err.Error())
	return err
}

// deliver makes one attempt; retry says whether another may succeed.
func (n *notifier) deliver(body []byte) (retry bool, err error) {
	resp, err := n.client.Post(n.url, "application/json", bytes.NewReader(body))
	if err != nil {
		// Timeouts, refused connections, resets: the server may come back.
		return true, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
		return true, errors.New(resp.Status)
	}
	return false, errors.New(resp.Status)
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
