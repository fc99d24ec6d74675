package core

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Retention is how many automatic backups a configuration keeps: the last
// KeepLast, or a grandfather-father-son rule. The zero value keeps everything.
type Retention struct {
	KeepLast int  `json:"keep_last,omitempty"`
	GFS      *GFS `json:"gfs,omitempty"`
}

// GFS keeps the newest backup of each of the last N hours, days, weeks,
// months and years.
type GFS struct {
	Hourly  int `json:"hourly,omitempty"`
	Daily   int `json:"daily,omitempty"`
	Weekly  int `json:"weekly,omitempty"`
	Monthly int `json:"monthly,omitempty"`
	Yearly  int `json:"yearly,omitempty"`
}

// DefaultGFS is the rule offered when none is given: 7 daily, 4 weekly, 2 monthly.
var DefaultGFS = GFS{Daily: 7, Weekly: 4, Monthly: 2}

// IsZero reports whether the retention keeps everything.
func (r Retention) IsZero() bool { return r.KeepLast == 0 && (r.GFS == nil || *r.GFS == GFS{}) }

func (r Retention) String() string {
	switch {
	case r.GFS != nil && *r.GFS != GFS{}:
		return "GFS " + r.GFS.String()
	case r.KeepLast > 0:
		return fmt.Sprintf("keep %d", r.KeepLast)
	}
	return "keep all"
}

// String renders the rule the way ParseGFS reads it, e.g. "7d,4w,2m".
func (g GFS) String() string {
	var parts []string
	for _, p := range []struct {
		n    int
		unit string
	}{{g.Hourly, "h"}, {g.Daily, "d"}, {g.Weekly, "w"}, {g.Monthly, "m"}, {g.Yearly, "y"}} {
		if p.n > 0 {
			parts = append(parts, strconv.Itoa(p.n)+p.unit)
		}
	}
	return strings.Join(parts, ",")
}

// ParseGFS reads a rule such as "24h,7d,4w,12m,1y".
func ParseGFS(s string) (GFS, error) {
	var g GFS
	bad := func(why string) (GFS, error) {
		return GFS{}, Userf(ErrInvalid, "retention rule %q %s; write counts with a unit, e.g. 24h,7d,4w,12m,1y", s, why)
	}
	if strings.TrimSpace(s) == "" {
		return bad("is empty")
	}
	seen := map[byte]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if len(part) < 2 {
			return bad(fmt.Sprintf("has a part %q without a count and a unit", part))
		}
		unit := part[len(part)-1]
		n, err := strconv.Atoi(part[:len(part)-1])
		if err != nil || n <= 0 || n > 100000 {
			return bad(fmt.Sprintf("has a count %q that is not a positive number", part[:len(part)-1]))
		}
		if seen[unit] {
			return bad(fmt.Sprintf("names the unit %q twice", string(unit)))
		}
		seen[unit] = true
		switch unit {
		case 'h':
			g.Hourly = n
		case 'd':
			g.Daily = n
		case 'w':
			g.Weekly = n
		case 'm':
			g.Monthly = n
		case 'y':
			g.Yearly = n
		default:
			return bad(fmt.Sprintf("has an unknown unit %q (use h, d, w, m or y)", string(unit)))
		}
	}
	return g, nil
}

// RetentionDecision says whether one backup stays, and why.
type RetentionDecision struct {
	Backup  Backup   `json:"backup"`
	Keep    bool     `json:"keep"`
	Reasons []string `json:"reasons"`
	// Frees is what removing this backup alone frees (would free, in a dry
	// run): its archive, metadata object and file list, and the pool
	// objects no other backup on the destination refers to.
	Frees int64 `json:"frees_bytes,omitempty"`
	// LockedUntil is set on a backup the retention would remove but whose
	// Object Lock has not ended: it is kept, and the first rotation after
	// that date removes it (the retention is decided again at each run).
	LockedUntil *time.Time `json:"locked_until,omitempty"`
}

// keepLocked keeps the backup of d, which the retention would remove,
// because le says its objects are locked.
func (d *RetentionDecision) keepLocked(le *LockedError) {
	until := le.Until.UTC()
	d.Keep, d.Frees, d.LockedUntil = true, 0, &until
	why := "locked until " + until.Format("2006-01-02 15:04:05 UTC")
	if le.Mode != "" {
		why += " (" + string(le.Mode) + " mode)"
	}
	d.Reasons = append(d.Reasons, why+": removed by the first rotation after that date")
}

// ApplyRetention decides which backups of one configuration (service on
// destination) a retention removes. It is pure: the same backups, rule and
// location always give the same answer. Only succeeded scheduled backups of
// that service on that destination that are not orphaned can be removed;
// every other backup is kept with the reason. The newest succeeded scheduled
// backup is always kept. A zero retention keeps everything. GFS buckets are
// calendar hours, days, ISO weeks, months and years in loc, and the newest
// backup of each of the last N buckets is kept. Decisions come newest first.
func ApplyRetention(service, destination string, backups []Backup, r Retention, loc *time.Location) []RetentionDecision {
	sorted := append([]Backup(nil), backups...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].StartedAt.Equal(sorted[j].StartedAt) {
			return sorted[i].StartedAt.After(sorted[j].StartedAt)
		}
		return sorted[i].ID > sorted[j].ID
	})
	out := make([]RetentionDecision, len(sorted))
	var candidates []int
	for i, b := range sorted {
		d := RetentionDecision{Backup: b, Keep: true}
		switch {
		case b.Service != service || b.Destination != destination:
			d.Reasons = []string{"belongs to another configuration"}
		case b.Kind != KindScheduled:
			d.Reasons = []string{fmt.Sprintf("%s backups are never rotated", b.Kind)}
		case b.Status != StatusSucceeded:
			d.Reasons = []string{fmt.Sprintf("%s, not a succeeded backup", b.Status)}
		case b.Orphaned:
			d.Reasons = []string{"orphaned: its configuration was removed"}
		default:
			candidates = append(candidates, i)
			continue
		}
		out[i] = d
	}
	for _, i := range candidates {
		out[i] = RetentionDecision{Backup: sorted[i]}
	}
	if len(candidates) == 0 {
		return out
	}
	out[candidates[0]].Keep = true
	out[candidates[0]].Reasons = append(out[candidates[0]].Reasons, "newest succeeded backup")

	if r.IsZero() {
		for _, i := range candidates {
			out[i].Keep = true
			out[i].Reasons = append(out[i].Reasons, "no retention set: keep all")
		}
		return out
	}
	if r.KeepLast > 0 {
		for n, i := range candidates {
			if n < r.KeepLast {
				out[i].Keep = true
				out[i].Reasons = append(out[i].Reasons, fmt.Sprintf("last %d (#%d)", r.KeepLast, n+1))
			}
		}
	}
	if g := r.GFS; g != nil {
		rules := []struct {
			name  string
			count int
			key   func(time.Time) string
		}{
			{"hourly", g.Hourly, func(t time.Time) string { return t.Format("2006-01-02 15h") }},
			{"daily", g.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
			{"weekly", g.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }},
			{"monthly", g.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
			{"yearly", g.Yearly, func(t time.Time) string { return t.Format("2006") }},
		}
		for _, rule := range rules {
			if rule.count <= 0 {
				continue
			}
			seen := map[string]bool{}
			for _, i := range candidates {
				if len(seen) == rule.count {
					break
				}
				k := rule.key(sorted[i].StartedAt.In(loc))
				if seen[k] {
					continue
				}
				seen[k] = true
				out[i].Keep = true
				out[i].Reasons = append(out[i].Reasons, rule.name+" "+k)
			}
		}
	}
	for _, i := range candidates {
		if !out[i].Keep {
			out[i].Reasons = append(out[i].Reasons, "beyond the retention: "+r.String())
		}
	}
	return out
}

// LongestKeep is about how long r keeps a scheduled backup of a
// configuration run at f: the last KeepLast runs, or for each GFS rule its
// count of buckets, each at least a run apart (a rule keeps one backup in
// each of the last N buckets that have one). It is 0 when nothing is
// rotated: a manual configuration, or a retention that keeps everything.
func LongestKeep(r Retention, f Frequency) time.Duration {
	period := f.Period()
	if period == 0 || r.IsZero() {
		return 0
	}
	longest := time.Duration(r.KeepLast) * period
	if g := r.GFS; g != nil {
		for _, rule := range []struct {
			n    int
			unit time.Duration
		}{{g.Hourly, time.Hour}, {g.Daily, 24 * time.Hour}, {g.Weekly, 7 * 24 * time.Hour}, {g.Monthly, 31 * 24 * time.Hour}, {g.Yearly, 366 * 24 * time.Hour}} {
			longest = max(longest, time.Duration(rule.n)*max(rule.unit, period))
		}
	}
	return longest
}
