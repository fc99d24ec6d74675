package notifier

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/notify"
)

// digest sends ch its daily digest once its time of day has come, once a
// day: the day sent is recorded first, so a restart does not send it
// again.
func (w *Watcher) digest(ctx context.Context, ch core.NotifyChannel, health []core.ServiceHealth, states map[string]string, now time.Time) {
	h, m, err := core.ParseTimeOfDay(ch.Digest)
	if err != nil {
		return
	}
	local := now.In(w.o.Location)
	if local.Before(time.Date(local.Year(), local.Month(), local.Day(), h, m, 0, 0, w.o.Location)) {
		return
	}
	day, key := local.Format("2006-01-02"), "digest:"+ch.Name
	if states[key] == day {
		return
	}
	if err := w.o.Catalog.SetNotifyState(ctx, key, day); err != nil {
		w.o.Log.Warn("the digest's day could not be recorded; it is sent once it can be", "channel", ch.Name, "error", err)
		return
	}
	states[key] = day
	subject, body := w.DigestText(ctx, health, now)
	w.allow(ch.Name, now) // counted, never held back: once a day
	msg := notify.Message{Event: core.EventDigest, Subject: subject, Body: w.scrub(ctx, body)}
	d := core.Delivery{Channel: ch.Name, Event: core.EventDigest, Subject: subject, Host: w.o.Host, At: now}
	w.send(ctx, ch, msg, &d)
}

// DigestText is the digest of the services judged in health at now: each
// one's state, RPO against its target, RTO, last drill and size
// anomalies, then the deliveries that failed in the last day.
func (w *Watcher) DigestText(ctx context.Context, health []core.ServiceHealth, now time.Time) (subject, body string) {
	unhealthy := 0
	var b strings.Builder
	for _, sh := range health {
		if sh.Unhealthy {
			unhealthy++
		}
		parts := []string{sh.Service.Name + ": " + sh.State}
		r := sh.Recovery
		rpo := "RPO none yet"
		if r.RPO != nil {
			rpo = "RPO " + core.FormatTarget(r.RPO.Age())
		}
		if r.RPOTargetSeconds > 0 {
			rpo += " (target " + core.FormatTarget(time.Duration(r.RPOTargetSeconds)*time.Second) + ")"
		}
		parts = append(parts, rpo)
		rto := "RTO not measured"
		if r.RTO != nil {
			rto = fmt.Sprintf("RTO %s (%s of %s)", core.FormatTarget(r.RTO.Duration()), r.RTO.Source, r.RTO.At.In(w.o.Location).Format("2006-01-02"))
		}
		if r.RTOTargetSeconds > 0 {
			rto += " (target " + core.FormatTarget(time.Duration(r.RTOTargetSeconds)*time.Second) + ")"
		}
		parts = append(parts, rto)
		if d := sh.LastDrill; d != nil {
			at := d.StartedAt
			if d.FinishedAt != nil {
				at = *d.FinishedAt
			}
			parts = append(parts, fmt.Sprintf("last drill %s %s", d.Status, at.In(w.o.Location).Format("2006-01-02")))
		} else {
			parts = append(parts, "no drill yet")
		}
		for _, c := range sh.Configurations {
			if c.LastBackup != nil && c.LastBackup.Anomaly != "" {
				parts = append(parts, fmt.Sprintf("size anomaly in backup %d on %s", c.LastBackup.ID, c.Destination))
			}
			if c.Unhealthy() {
				parts = append(parts, fmt.Sprintf("%s %s: %s", c.Destination, c.State, oneLine(c.Reason)))
			}
		}
		b.WriteString("- " + strings.Join(parts, " · ") + "\n")
	}
	if len(health) == 0 {
		b.WriteString("No service is backed up from this host.\n")
	}
	if ds, err := w.o.Catalog.Deliveries(ctx, 500); err == nil {
		failed := map[string]int{}
		var names []string
		for _, d := range ds {
			if d.Status == core.DeliveryFailed && now.Sub(d.At) < 24*time.Hour {
				if failed[d.Channel] == 0 {
					names = append(names, d.Channel)
				}
				failed[d.Channel]++
			}
		}
		if len(names) > 0 {
			var list []string
			for _, n := range names {
				list = append(list, fmt.Sprintf("%s %d", n, failed[n]))
			}
			fmt.Fprintf(&b, "\nDeliveries that failed in the last 24 hours: %s.\n", strings.Join(list, ", "))
		}
	}
	subject = fmt.Sprintf("odoo-backup: daily digest of %s: %d %s, %d unhealthy", w.o.Host, len(health), plural(len(health), "service", "services"), unhealthy)
	return subject, strings.TrimRight(b.String(), "\n")
}
