package core

import (
	"testing"
	"time"
)

// A backup whose post-backup hook failed leaves its configuration in
// warning, no failure; a newer backup without one clears it.
func TestHealthWarningForHook(t *testing.T) {
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)
	b := func(id int64, age time.Duration, warning string) Backup {
		fin := now.Add(-age + time.Minute)
		return Backup{ID: id, Service: "prod", Destination: "s3", Kind: KindScheduled, Status: StatusSucceeded, StartedAt: now.Add(-age), FinishedAt: &fin, Warning: warning}
	}
	const hook = "the post-backup hook /etc/odoo-backup/start-cron exited with status 1: cron is masked"
	daily := Configuration{Service: "prod", Destination: "s3", Frequency: Daily}
	h := EvaluateHealth(daily, []Backup{b(7, time.Hour, hook)}, now)
	if h.State != HealthWarning || h.Reason != "backup 7: "+hook || h.Unhealthy() {
		t.Errorf("health %s (%q), unhealthy %v; want a warning naming the backup and the hook's sentence", h.State, h.Reason, h.Unhealthy())
	}
	h = EvaluateHealth(daily, []Backup{b(8, time.Hour, ""), b(7, 2*time.Hour, hook)}, now)
	if h.State != HealthOK {
		t.Errorf("health %s (%q) after a newer backup without warning, want ok", h.State, h.Reason)
	}
}

func TestJoinWarnings(t *testing.T) {
	for _, c := range []struct{ had, more, want string }{
		{"", "the post-backup hook failed.", "the post-backup hook failed."},
		{"the pool's locks were not renewed.", "", "the pool's locks were not renewed."},
		{"the pool's locks were not renewed.", "the post-backup hook failed.", "the pool's locks were not renewed. the post-backup hook failed."},
		{"a. b", "b", "a. b"},
	} {
		if got := joinWarnings(c.had, c.more); got != c.want {
			t.Errorf("joinWarnings(%q, %q) = %q, want %q", c.had, c.more, got, c.want)
		}
	}
}
