package core

import (
	"strings"
	"testing"
	"time"
)

// A configuration whose newest finished backup lacks attachment files, or
// holds files whose content does not match their name, is in
// warning, which is no failure: a newer complete backup clears it, and a
// failure or a stale configuration stays what it is.
func TestHealthWarningForMissingFiles(t *testing.T) {
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)
	b := func(id int64, status BackupStatus, age time.Duration, missing int) Backup {
		fin := now.Add(-age + time.Minute)
		bk := Backup{ID: id, Service: "prod", Destination: "s3", Kind: KindScheduled, Status: status, StartedAt: now.Add(-age), FinishedAt: &fin, MissingCount: missing}
		if missing > 0 {
			bk.MissingFiles = []string{"ab/ab12"}
		}
		return bk
	}
	mismatching := func(bk Backup) Backup {
		bk.Format, bk.Pool = FormatOdooPool, &PoolFacts{Files: 5, MismatchCount: 2, Mismatched: []string{"cd/cd34", "ef/ef56"}}
		return bk
	}
	daily := Configuration{Service: "prod", Destination: "s3", Frequency: Daily}
	manual := Configuration{Service: "prod", Destination: "s3", Frequency: Manual}
	for _, tc := range []struct {
		name    string
		conf    Configuration
		backups []Backup
		state   string
	}{
		{"newest lacks files", daily, []Backup{b(7, StatusSucceeded, time.Hour, 3)}, HealthWarning},
		{"manual newest lacks files", manual, []Backup{b(7, StatusSucceeded, time.Hour, 3)}, HealthWarning},
		{"a newer complete backup clears it", daily, []Backup{b(8, StatusSucceeded, time.Hour, 0), b(7, StatusSucceeded, 2*time.Hour, 3)}, HealthOK},
		{"failed stays failed", daily, []Backup{b(8, StatusFailed, time.Hour, 0), b(7, StatusSucceeded, 2*time.Hour, 3)}, HealthFailed},
		{"stale stays stale", daily, []Backup{b(7, StatusSucceeded, 72*time.Hour, 3)}, HealthStale},
		{"newest holds mismatching files", daily, []Backup{mismatching(b(7, StatusSucceeded, time.Hour, 0))}, HealthWarning},
		{"a newer sound backup clears mismatches", daily, []Backup{b(8, StatusSucceeded, time.Hour, 0), mismatching(b(7, StatusSucceeded, 2*time.Hour, 0))}, HealthOK},
		{"failed stays failed with mismatches", daily, []Backup{b(8, StatusFailed, time.Hour, 0), mismatching(b(7, StatusSucceeded, 2*time.Hour, 0))}, HealthFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := EvaluateHealth(tc.conf, tc.backups, now)
			if h.State != tc.state {
				t.Fatalf("state %q (%s), want %q", h.State, h.Reason, tc.state)
			}
			if h.Unhealthy() != (tc.state == HealthFailed || tc.state == HealthStale) {
				t.Errorf("unhealthy %v for state %s", h.Unhealthy(), h.State)
			}
			if tc.state != HealthWarning {
				return
			}
			switch b := tc.backups[0]; {
			case b.MissingCount > 0 && (!strings.Contains(h.Reason, "backup 7 lacks 3 attachment file(s)") || !strings.Contains(h.Reason, "ab/ab12")):
				t.Errorf("reason %q: want the backup, the count and the first name", h.Reason)
			case b.Pool != nil && (!strings.Contains(h.Reason, "backup 7 holds 2 filestore file(s) whose content does not match their name") || !strings.Contains(h.Reason, "cd/cd34")):
				t.Errorf("reason %q: want the backup, the count of mismatching files and the first name", h.Reason)
			}
		})
	}
}
