package tui

import (
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// progressTracker turns the byte counts of running backups, read again on
// every refresh (for those of other processes) or reported live (for this
// console's), into a throughput.
type progressTracker struct {
	seen map[int64]progressSample
}

type progressSample struct {
	bytes int64
	at    time.Time
	rate  float64
}

// observe records that backup id had written bytes at at.
func (p *progressTracker) observe(id, bytes int64, at time.Time) {
	if p.seen == nil {
		p.seen = map[int64]progressSample{}
	}
	s, ok := p.seen[id]
	switch {
	case !ok || bytes < s.bytes:
		p.seen[id] = progressSample{bytes: bytes, at: at}
	case bytes > s.bytes && at.Sub(s.at) >= 500*time.Millisecond:
		p.seen[id] = progressSample{bytes: bytes, at: at, rate: float64(bytes-s.bytes) / at.Sub(s.at).Seconds()}
	}
}

// rate is backup id's latest throughput in bytes per second; 0 when unknown.
func (p *progressTracker) rate(id int64) float64 { return p.seen[id].rate }

// expectedSize is what a running backup will probably weigh: the size of the
// newest succeeded backup of the same service on the same destination among
// others (newest first); 0 when there is none.
func expectedSize(running core.Backup, others []core.Backup) int64 {
	for _, b := range others {
		if b.Status == core.StatusSucceeded && b.ServiceID == running.ServiceID && b.Destination == running.Destination && b.Size > 0 {
			return b.Size
		}
	}
	return 0
}

// stalledText marks a running backup that has made no progress (as its
// catalog row records it, whichever process runs it) for core.StallAfter:
// " · stalled 0:45", or "".
func stalledText(b core.Backup, now time.Time) string {
	if d, ok := b.Stalled(now); ok {
		return " · stalled " + took(d)
	}
	return ""
}

// stalledFirst is a running backup's progress in a column that may be cut:
// "stalled 0:45 · " before it when the backup is stalled, so the cut takes
// the bar and the rate, never the stall.
func stalledFirst(b core.Backup, now time.Time, progress string) string {
	if st := stalledText(b, now); st != "" {
		return strings.TrimPrefix(st, " · ") + " · " + progress
	}
	return progress
}

// runningText renders a running backup or restore: a bar and percentage when
// its total is known, or estimated from its previous size (marked ~), then
// its phase, and its throughput once two readings are apart. Without a bar
// it shows the bytes so far. compact (the home screen's column) shows the
// throughput instead of the phase once it is known.
func runningText(p core.Progress, expected int64, rate float64, compact bool) string {
	phase := string(p.Phase)
	if phase == "" {
		phase = "starting"
	}
	total, mark := p.Total, ""
	if total == 0 && expected > 0 {
		// An estimate never claims to be done.
		total, mark = expected, "~"
	}
	speed := ""
	if rate > 0 {
		speed = " " + size(int64(rate)) + "/s"
	}
	switch {
	case total == 0:
		return phase + " " + size(p.Bytes) + speed
	case mark != "":
		p.Bytes = min(p.Bytes, total*99/100)
	}
	s := bar(p.Bytes, total, 6) + mark
	if compact && speed != "" {
		return s + speed
	}
	return s + " " + phase + speed
}
