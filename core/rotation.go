package core

import (
	"fmt"
	"sort"
	"time"
)

// RetentionDecision says whether one backup stays, and why.
type RetentionDecision struct {
	Backup  Backup   `json:"backup"`
	Keep    bool     `json:"keep"`
	Reasons []string `json:"reasons"`
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
