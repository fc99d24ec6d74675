// Package notifier decides what to tell the notification channels and
// when: a configuration that starts failing and recovers, a missed RPO or
// RTO target, a failed drill, a size anomaly, a daily digest, and the
// pings of scheduled runs. It announces each change of state once, even
// across restarts, rate-limits each channel, and records every delivery
// in the catalog.
package notifier

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/notify"
)

// EventPing is the event of a delivery to a configuration's ping URL.
const EventPing core.NotifyEvent = "ping"

// Catalog is what the watcher reads and records.
type Catalog interface {
	core.NotifyCatalog
	core.HealthSource
	Services(ctx context.Context) ([]core.Service, error)
}

// SendFunc delivers a message (notify.Send); PingFunc pings (notify.Ping).
type (
	SendFunc func(ctx context.Context, url core.Secret, m notify.Message, o notify.Options) notify.Result
	PingFunc func(ctx context.Context, url core.Secret, kind notify.PingKind, text string, o notify.Options) notify.Result
)

// Options set up a Watcher; only Catalog is required.
type Options struct {
	Catalog Catalog
	// Host is the host whose services are watched (default
	// core.HostName()): each daemon of a fleet tells of its own.
	Host string
	// Extra are channels that are not in the catalog (the daemon's
	// webhook given on its command line).
	Extra []core.NotifyChannel
	Send  SendFunc // default notify.Send
	Ping  PingFunc // default notify.Ping
	// Delivery tunes each delivery's tries, backoff and timeout.
	Delivery notify.Options
	Now      func() time.Time // default time.Now
	Location *time.Location   // where digest times are read (default time.Local)
	Log      *slog.Logger
	// RateLimit messages per channel in RateWindow at most (default 5 in
	// 10 minutes); the others are recorded dropped and summed up in the
	// next message sent to that channel.
	RateLimit  int
	RateWindow time.Duration
	// Interval is how often the watcher looks without a run to tell it
	// (default a minute), so a missed RPO is noticed with no run at all.
	Interval time.Duration
}

// Watcher watches the services of one host and tells the channels.
type Watcher struct {
	o Options

	mu      sync.Mutex
	queue   []func(context.Context)
	pending bool // an evaluation is queued
	closing bool
	wake    chan struct{}
	sent    map[string][]time.Time // channel → recent sends
	held    map[string][]string    // channel → subjects dropped since its last message
}

// New makes a watcher; Start runs it, or call Evaluate directly.
func New(o Options) *Watcher {
	if o.Host == "" {
		o.Host = core.HostName()
	}
	if o.Send == nil {
		o.Send = notify.Send
	}
	if o.Ping == nil {
		o.Ping = notify.Ping
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 5
	}
	if o.RateWindow <= 0 {
		o.RateWindow = 10 * time.Minute
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	return &Watcher{o: o, wake: make(chan struct{}, 1), sent: map[string][]time.Time{}, held: map[string][]string{}}
}

// Start evaluates now, then after every run and drill it is told of and
// every Interval until ctx ends, on a goroutine of its own: a slow
// channel never holds a backup up. stop waits for the deliveries queued
// (at most drain), then returns.
func (w *Watcher) Start(ctx context.Context, drain time.Duration) (stop func()) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	w.enqueueEvaluate()
	go func() {
		t := time.NewTicker(w.o.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.enqueueEvaluate()
			}
		}
	}()
	go func() {
		defer close(done)
		for {
			job, ok := w.next(wctx)
			if !ok {
				return
			}
			job(wctx)
		}
	}()
	return func() {
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		w.signal()
		select {
		case <-done:
		case <-time.After(drain):
			cancel()
			<-done
		}
		cancel()
	}
}

func (w *Watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Watcher) enqueue(job func(context.Context)) {
	w.mu.Lock()
	w.queue = append(w.queue, job)
	w.mu.Unlock()
	w.signal()
}

func (w *Watcher) enqueueEvaluate() {
	w.mu.Lock()
	if w.pending {
		w.mu.Unlock()
		return
	}
	w.pending = true
	w.mu.Unlock()
	w.enqueue(func(ctx context.Context) {
		w.mu.Lock()
		w.pending = false
		w.mu.Unlock()
		if err := w.Evaluate(ctx); err != nil {
			w.o.Log.Warn("notifications could not look at the services; trying again at the next run or in a minute", "error", err)
		}
	})
}

// next is the next queued job; false once closing with nothing queued, or
// when ctx ends.
func (w *Watcher) next(ctx context.Context) (func(context.Context), bool) {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			job := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return job, true
		}
		closing := w.closing
		w.mu.Unlock()
		if closing {
			return nil, false
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-w.wake:
		}
	}
}

// RunStarted is told that a scheduled run of service to destinations
// starts: each of those configurations with a ping URL is pinged "start".
func (w *Watcher) RunStarted(service string, destinations []string) {
	dests := append([]string(nil), destinations...)
	w.enqueue(func(ctx context.Context) {
		for _, cfg := range w.pingConfigs(ctx, service, dests) {
			w.ping(ctx, cfg, notify.PingStart, fmt.Sprintf("odoo-backup: the backup of %s to %s started", service, cfg.Destination))
		}
	})
}

// RunFinished is told that a scheduled run ended with backups (err when
// it failed before any was recorded): each configuration with a ping URL
// is pinged success or failure, and the services are evaluated.
func (w *Watcher) RunFinished(service string, destinations []string, backups []core.Backup, err error) {
	dests := append([]string(nil), destinations...)
	bs := append([]core.Backup(nil), backups...)
	w.enqueue(func(ctx context.Context) {
		for _, cfg := range w.pingConfigs(ctx, service, dests) {
			kind, text := notify.PingFailure, fmt.Sprintf("odoo-backup: the backup of %s to %s failed", service, cfg.Destination)
			if err != nil {
				text += ": " + oneLine(err.Error())
			}
			for _, b := range bs {
				if b.Destination != cfg.Destination {
					continue
				}
				if b.Status == core.StatusSucceeded {
					kind, text = notify.PingSuccess, fmt.Sprintf("odoo-backup: backup %d of %s to %s succeeded (%s)", b.ID, service, cfg.Destination, core.FormatSize(b.Size))
				} else {
					text = fmt.Sprintf("odoo-backup: backup %d of %s to %s failed: %s", b.ID, service, cfg.Destination, oneLine(b.Error))
				}
			}
			w.ping(ctx, cfg, kind, w.scrub(ctx, text))
		}
	})
	w.enqueueEvaluate()
}

// DrillFinished is told that a scheduled drill ended.
func (w *Watcher) DrillFinished() { w.enqueueEvaluate() }

func (w *Watcher) pingConfigs(ctx context.Context, service string, dests []string) []core.Configuration {
	cfgs, err := w.o.Catalog.Configurations(ctx, service)
	if err != nil {
		w.o.Log.Warn("the ping URLs could not be read", "service", service, "error", err)
		return nil
	}
	var out []core.Configuration
	for _, c := range cfgs {
		for _, d := range dests {
			if c.Destination == d && c.PingURL.IsSet() {
				out = append(out, c)
			}
		}
	}
	return out
}

var pingNames = map[notify.PingKind]string{notify.PingStart: "start", notify.PingSuccess: "success", notify.PingFailure: "failure"}

func (w *Watcher) ping(ctx context.Context, cfg core.Configuration, kind notify.PingKind, text string) {
	d := core.Delivery{Channel: "ping " + cfg.Service + "/" + cfg.Destination, Event: EventPing, Service: cfg.Service,
		Destination: cfg.Destination, Subject: "ping " + pingNames[kind] + ": " + text, Host: w.o.Host}
	url, err := cfg.PingURL.Resolve(fmt.Sprintf("the ping URL of service %q on destination %q", cfg.Service, cfg.Destination))
	var res notify.Result
	if err == nil {
		res = w.o.Ping(ctx, url, kind, text, w.o.Delivery)
	} else {
		res.Err = err
	}
	w.record(ctx, &d, res)
}

// event is one thing to tell.
type event struct {
	core.NotifyEvent
	service, destination string
	subject, body        string
}

// Evaluate looks at every service of the host once, announces each
// change of state (recorded before it is told, so it is never told
// twice), sends the digests that are due, and the summaries the rate
// limit held back.
func (w *Watcher) Evaluate(ctx context.Context) error {
	cat := w.o.Catalog
	now := w.o.Now()
	states, err := cat.NotifyStates(ctx)
	if err != nil {
		return err
	}
	services, err := cat.Services(ctx)
	if err != nil {
		return err
	}
	var (
		events []event
		health []core.ServiceHealth
	)
	change := func(key, state string, ev event) {
		if states[key] == state {
			return
		}
		if err := cat.SetNotifyState(ctx, key, state); err != nil {
			// Not told now: told when the state can be recorded, so
			// never twice.
			w.o.Log.Warn("an announced state could not be recorded; the event waits", "key", key, "error", err)
			return
		}
		states[key] = state
		if ev.NotifyEvent != "" {
			events = append(events, ev)
		}
	}
	for _, s := range services {
		if core.ServiceHost(s) != w.o.Host {
			continue
		}
		sh, err := core.EvaluateService(ctx, cat, s, now)
		if err != nil {
			return err
		}
		health = append(health, sh)
		for _, c := range sh.Configurations {
			w.judgeConfiguration(s.Name, c, states, change)
		}
		w.judgeService(sh, states, change)
	}
	channels, err := w.channels(ctx)
	if err != nil {
		return err
	}
	for _, ev := range events {
		ev.subject = w.scrub(ctx, ev.subject)
		ev.body = w.scrub(ctx, ev.body)
		for _, ch := range channels {
			if ch.Wants(ev.NotifyEvent) {
				w.deliver(ctx, ch, ev, now)
			}
		}
	}
	for _, ch := range channels {
		w.flushHeld(ctx, ch, now)
		if ch.Digest != "" {
			w.digest(ctx, ch, health, states, now)
		}
	}
	return nil
}

func (w *Watcher) channels(ctx context.Context) ([]core.NotifyChannel, error) {
	chs, err := w.o.Catalog.NotifyChannels(ctx)
	if err != nil {
		return nil, err
	}
	return append(chs, w.o.Extra...), nil
}

// interrupted: a run a crash cut short is not the configuration failing.
func interrupted(b *core.Backup) bool { return b != nil && b.Error == core.InterruptedMessage }

func (w *Watcher) judgeConfiguration(service string, c core.ConfigHealth, states map[string]string, change func(string, string, event)) {
	where := service + "/" + c.Destination
	b := c.LastBackup
	switch failed := c.State == core.HealthFailed; {
	case interrupted(b) && failed:
		// Neither a failure nor a recovery: the run is taken again.
	case failed:
		ev := event{NotifyEvent: core.EventFailure, service: service, destination: c.Destination,
			subject: fmt.Sprintf("odoo-backup: the backup of %s to %s failed", service, c.Destination)}
		ev.body = fmt.Sprintf("Service %s, destination %s: %s failed: %s\n\nNext: fix what the error names; the next scheduled run tries again, and a message tells when it works again.",
			service, c.Destination, backupName(b), sentence(c.Reason))
		change("failure:"+where, "failed", ev)
	case states["failure:"+where] == "failed":
		ev := event{NotifyEvent: core.EventRecovery, service: service, destination: c.Destination,
			subject: fmt.Sprintf("odoo-backup: the backup of %s to %s works again", service, c.Destination)}
		ev.body = fmt.Sprintf("Service %s, destination %s: %s succeeded after the failure told before.\n\nNext: nothing to do.", service, c.Destination, recoveredBy(b))
		change("failure:"+where, "ok", ev)
	}
	if b != nil && b.Status == core.StatusSucceeded && b.Anomaly != "" {
		if last, _ := strconv.ParseInt(states["anomaly:"+where], 10, 64); b.ID > last {
			ev := event{NotifyEvent: core.EventAnomaly, service: service, destination: c.Destination,
				subject: fmt.Sprintf("odoo-backup: size anomaly in backup %d of %s on %s", b.ID, service, c.Destination)}
			ev.body = fmt.Sprintf("Service %s, destination %s, backup %d (%s): %s\n\nNext: check that no data was deleted by mistake and that the filestore was not encrypted by ransomware before you rely on this backup; keep the older backups until you know.",
				service, c.Destination, b.ID, core.FormatSize(b.Size), sentence(b.Anomaly))
			change("anomaly:"+where, strconv.FormatInt(b.ID, 10), ev)
		}
	}
}

func (w *Watcher) judgeService(sh core.ServiceHealth, states map[string]string, change func(string, string, event)) {
	s := sh.Service.Name
	r := sh.Recovery
	switch {
	case r.RPOMissed:
		change("rpo:"+s, "missed", event{NotifyEvent: core.EventRPOExceeded, service: s,
			subject: fmt.Sprintf("odoo-backup: service %s missed its RPO target", s),
			body: fmt.Sprintf("Service %s: %s.\n\nNext: make sure its scheduled backups run and succeed (this host's daemon, its destinations), or back it up now.",
				s, sentence(r.RPOProblem()))})
	case states["rpo:"+s] == "missed":
		change("rpo:"+s, "ok", event{NotifyEvent: core.EventRPOExceeded, service: s,
			subject: fmt.Sprintf("odoo-backup: service %s is within its RPO target again", s),
			body:    fmt.Sprintf("Service %s: the newest good backup is %s old, within the target of %s.\n\nNext: nothing to do.", s, rpoAge(r), core.FormatTarget(time.Duration(r.RPOTargetSeconds)*time.Second))})
	}
	switch {
	case r.RTOMissed:
		change("rto:"+s, "missed", event{NotifyEvent: core.EventRTOExceeded, service: s,
			subject: fmt.Sprintf("odoo-backup: service %s missed its RTO target", s),
			body: fmt.Sprintf("Service %s: %s.\n\nNext: make the restore faster (a destination nearer to the host, a smaller filestore) or agree on a target the service can meet.",
				s, sentence(r.RTOProblem()))})
	case states["rto:"+s] == "missed":
		change("rto:"+s, "ok", event{NotifyEvent: core.EventRTOExceeded, service: s,
			subject: fmt.Sprintf("odoo-backup: service %s is within its RTO target again", s),
			body:    fmt.Sprintf("Service %s: the last measured restore took %s, within the target.\n\nNext: nothing to do.", s, rtoTook(r))})
	}
	if d := sh.LastDrill; d != nil && d.Status == core.DrillFailed {
		if last, _ := strconv.ParseInt(states["drill:"+s], 10, 64); d.ID > last {
			change("drill:"+s, strconv.FormatInt(d.ID, 10), event{NotifyEvent: core.EventDrillFailed, service: s, destination: d.Destination,
				subject: fmt.Sprintf("odoo-backup: the restore drill of %s failed", s),
				body: fmt.Sprintf("Service %s, destination %s: drill %d of backup %d failed: %s\n\nNext: this backup may not restore; read the drill's error, fix the cause, take a new backup and drill it again.",
					s, d.Destination, d.ID, d.BackupID, sentence(d.Error))})
		}
	}
}

// deliver sends ev to ch, or holds it back when ch had its share of
// messages in the window; the next message sent there says what was held.
func (w *Watcher) deliver(ctx context.Context, ch core.NotifyChannel, ev event, now time.Time) {
	d := core.Delivery{Channel: ch.Name, Event: ev.NotifyEvent, Service: ev.service, Destination: ev.destination, Subject: ev.subject, Host: w.o.Host, At: now}
	if !w.allow(ch.Name, now) {
		d.Status = core.DeliveryDropped
		w.mu.Lock()
		w.held[ch.Name] = append(w.held[ch.Name], ev.subject)
		w.mu.Unlock()
		w.store(ctx, &d)
		w.o.Log.Warn("notification held back by the rate limit", "channel", ch.Name, "event", string(ev.NotifyEvent), "subject", ev.subject)
		return
	}
	m := notify.Message{Event: ev.NotifyEvent, Service: ev.service, Destination: ev.destination, Subject: ev.subject, Body: ev.body}
	m.Body += w.takeHeld(ch.Name)
	w.send(ctx, ch, m, &d)
}

// allow counts a message to channel in the window, or says the window is
// full.
func (w *Watcher) allow(channel string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	recent := w.sent[channel][:0]
	for _, t := range w.sent[channel] {
		if now.Sub(t) < w.o.RateWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= w.o.RateLimit {
		w.sent[channel] = recent
		return false
	}
	w.sent[channel] = append(recent, now)
	return true
}

// takeHeld is the summary of what was held back from channel, and
// forgets it.
func (w *Watcher) takeHeld(channel string) string {
	w.mu.Lock()
	held := w.held[channel]
	delete(w.held, channel)
	w.mu.Unlock()
	if len(held) == 0 {
		return ""
	}
	shown := held[:min(len(held), 10)]
	s := fmt.Sprintf("\n\nAnd %d more %s held back by the rate limit: %s", len(held), plural(len(held), "event", "events"), strings.Join(shown, "; "))
	if len(held) > len(shown) {
		s += fmt.Sprintf("; and %d more", len(held)-len(shown))
	}
	return s
}

// flushHeld tells channel what was held back from it once its window
// lets a message through, when no other message did.
func (w *Watcher) flushHeld(ctx context.Context, ch core.NotifyChannel, now time.Time) {
	w.mu.Lock()
	n := len(w.held[ch.Name])
	w.mu.Unlock()
	if n == 0 || !w.allow(ch.Name, now) {
		return
	}
	subject := fmt.Sprintf("odoo-backup: %d %s held back by the rate limit", n, plural(n, "event", "events"))
	m := notify.Message{Subject: subject, Body: strings.TrimPrefix(w.takeHeld(ch.Name), "\n\n")}
	d := core.Delivery{Channel: ch.Name, Event: core.EventDigest, Subject: subject, Host: w.o.Host, At: now}
	w.send(ctx, ch, m, &d)
}

// send delivers m to ch now and records the delivery d.
func (w *Watcher) send(ctx context.Context, ch core.NotifyChannel, m notify.Message, d *core.Delivery) {
	url, err := ch.URL.Resolve(fmt.Sprintf("the URL of notification channel %q", ch.Name))
	var res notify.Result
	if err == nil {
		res = w.o.Send(ctx, url, m, w.o.Delivery)
	} else {
		res.Err = err
	}
	w.record(ctx, d, res)
}

// record stores a delivery made, sent or failed after its tries.
func (w *Watcher) record(ctx context.Context, d *core.Delivery, res notify.Result) {
	d.Tries, d.Status = res.Tries, core.DeliverySent
	if res.Err != nil {
		d.Status, d.Error = core.DeliveryFailed, w.scrub(ctx, oneLine(res.Err.Error()))
		w.o.Log.Error("notification failed", "channel", d.Channel, "event", string(d.Event), "tries", d.Tries, "error", d.Error)
	} else {
		w.o.Log.Info("notification sent", "channel", d.Channel, "event", string(d.Event), "subject", d.Subject, "tries", d.Tries)
	}
	w.store(ctx, d)
}

func (w *Watcher) store(ctx context.Context, d *core.Delivery) {
	if d.At.IsZero() {
		d.At = w.o.Now()
	}
	if err := w.o.Catalog.AddDelivery(ctx, d); err != nil {
		w.o.Log.Warn("a notification could not be recorded in the catalog", "channel", d.Channel, "status", d.Status, "error", err)
	}
}

// Test sends a test message to ch now, past the rate limit, and returns
// the delivery as recorded.
func (w *Watcher) Test(ctx context.Context, ch core.NotifyChannel) core.Delivery {
	subject := fmt.Sprintf("odoo-backup: test message to channel %s from %s", ch.Name, w.o.Host)
	m := notify.Message{Event: core.EventTest, Subject: subject,
		Body: "This channel is told of: " + ch.EventsText() + digestNote(ch) + ".\n\nNext: nothing to do; this message only shows that the channel works."}
	d := core.Delivery{Channel: ch.Name, Event: core.EventTest, Subject: subject, Host: w.o.Host, At: w.o.Now()}
	w.send(ctx, ch, m, &d)
	return d
}

func digestNote(ch core.NotifyChannel) string {
	if ch.Digest == "" {
		return ""
	}
	return ", and a daily digest at " + ch.Digest
}

// scrub takes out of text any secret the watcher knows of (a channel's
// URL, a ping URL, a service's password), should an error have quoted one.
func (w *Watcher) scrub(ctx context.Context, text string) string {
	var secrets []string
	if chs, err := w.channels(ctx); err == nil {
		for _, ch := range chs {
			secrets = append(secrets, ch.URL.Reveal())
		}
	}
	if cfgs, err := w.o.Catalog.AllConfigurations(ctx); err == nil {
		for _, c := range cfgs {
			secrets = append(secrets, c.PingURL.Reveal())
		}
	}
	if svcs, err := w.o.Catalog.Services(ctx); err == nil {
		for _, s := range svcs {
			secrets = append(secrets, s.DB.Password.Reveal())
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		if len(s) >= 4 {
			text = strings.ReplaceAll(text, s, "**redacted**")
		}
	}
	return text
}

func backupName(b *core.Backup) string {
	if b == nil {
		return "the backup"
	}
	return fmt.Sprintf("backup %d", b.ID)
}

func recoveredBy(b *core.Backup) string {
	if b == nil || b.Status != core.StatusSucceeded {
		return "the configuration"
	}
	return fmt.Sprintf("backup %d (%s)", b.ID, core.FormatSize(b.Size))
}

func rpoAge(r core.Recovery) string {
	if r.RPO == nil {
		return "unknown"
	}
	return core.FormatTarget(r.RPO.Age())
}

func rtoTook(r core.Recovery) string {
	if r.RTO == nil {
		return "unknown"
	}
	return core.FormatTarget(r.RTO.Duration())
}

// sentence is s as one line ending with its full stop.
func sentence(s string) string {
	s = strings.TrimRight(oneLine(s), ". ")
	if s == "" {
		return "no reason was recorded."
	}
	return s + "."
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
