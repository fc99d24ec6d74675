package core

import (
	"testing"
	"time"
)

func TestEvaluateHealth(t *testing.T) {
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	finished := func(d time.Duration) *time.Time { t := ago(d); return &t }
	// b is a backup of prod on s3, started at ago(age) and finished a minute later.
	b := func(kind BackupKind, status BackupStatus, age time.Duration) Backup {
		bk := Backup{Service: "prod", Destination: "s3", Kind: kind, Status: status, StartedAt: ago(age)}
		if status != StatusRunning {
			bk.FinishedAt = finished(age - time.Minute)
		}
		if status == StatusFailed {
			bk.Error = "pg_dump: connection refused"
		}
		return bk
	}
	other := func(bk Backup, service, dest string) Backup { bk.Service, bk.Destination = service, dest; return bk }
	// stuck is a backup running for an hour whose last progress was idle ago,
	// though its heartbeat is fresh: only progress counts.
	stuck := func(idle time.Duration) Backup {
		bk := b(KindScheduled, StatusRunning, time.Hour)
		bk.ProgressAt, bk.UpdatedAt = ago(idle), now
		return bk
	}
	daily := Configuration{Service: "prod", Destination: "s3", Frequency: Daily, Primary: true}
	hourly := Configuration{Service: "prod", Destination: "s3", Frequency: Hourly}
	manual := Configuration{Service: "prod", Destination: "s3", Frequency: Manual}
	const h = time.Hour

	tests := []struct {
		name        string
		conf        Configuration
		backups     []Backup // newest first
		state       string
		reason      string
		lastSuccess *time.Time
	}{
		{"ok", daily, []Backup{b(KindScheduled, StatusSucceeded, 3*h)}, HealthOK, "", finished(3*h - time.Minute)},
		{"ok after an older failure", daily, []Backup{b(KindScheduled, StatusSucceeded, 3*h), b(KindScheduled, StatusFailed, 27*h)}, HealthOK, "", finished(3*h - time.Minute)},
		{"rotated still counts as a success", daily, []Backup{b(KindScheduled, StatusRotated, 30*h)}, HealthOK, "", finished(30*h - time.Minute)},
		{"failed", daily, []Backup{b(KindScheduled, StatusFailed, 1*h), b(KindScheduled, StatusSucceeded, 25*h)}, HealthFailed, "pg_dump: connection refused", finished(25*h - time.Minute)},
		{"failed beats stale", daily, []Backup{b(KindScheduled, StatusFailed, 100*h)}, HealthFailed, "pg_dump: connection refused", nil},
		{"failed beats running", daily, []Backup{b(KindScheduled, StatusRunning, 0), b(KindScheduled, StatusFailed, 24*h)}, HealthFailed, "pg_dump: connection refused", nil},
		{"stale, never run", daily, nil, HealthStale, "no successful backup yet", nil},
		{"stale, only deleted", daily, []Backup{b(KindScheduled, StatusDeleted, 1*h)}, HealthStale, "no successful backup yet", nil},
		{"stale, old", daily, []Backup{b(KindScheduled, StatusSucceeded, 48*h+time.Minute+time.Second)}, HealthStale, "no successful backup within twice its period", finished(48*h + time.Second)},
		{"just within twice the period", daily, []Backup{b(KindScheduled, StatusSucceeded, 48*h+time.Minute)}, HealthOK, "", finished(48 * h)},
		{"hourly stale after 2h", hourly, []Backup{b(KindScheduled, StatusSucceeded, 2*h+2*time.Minute)}, HealthStale, "no successful backup within twice its period", finished(2*h + time.Minute)},
		{"running", daily, []Backup{b(KindScheduled, StatusRunning, 0), b(KindScheduled, StatusSucceeded, 24*h)}, HealthRunning, "", finished(24*h - time.Minute)},
		{"running, never succeeded", daily, []Backup{b(KindScheduled, StatusRunning, 0)}, HealthRunning, "", nil},
		{"manual", manual, []Backup{b(KindManual, StatusSucceeded, 1000*h)}, HealthManual, "", finished(1000*h - time.Minute)},
		{"manual never run", manual, nil, HealthManual, "", nil},
		{"manual counts any kind", manual, []Backup{b(KindSafety, StatusFailed, 1*h), b(KindManual, StatusSucceeded, 2*h)}, HealthFailed, "pg_dump: connection refused", finished(2*h - time.Minute)},
		{"manual running", manual, []Backup{b(KindUpload, StatusRunning, 0)}, HealthRunning, "", nil},
		// SPEC rule 11: every successful backup is a recovery point.
		{"manual backups alone keep a scheduled configuration ok", daily, []Backup{b(KindManual, StatusSucceeded, 1*h), b(KindManual, StatusSucceeded, 2*h)}, HealthOK, "", finished(1*h - time.Minute)},
		{"a safety backup is a recovery point", daily, []Backup{b(KindSafety, StatusSucceeded, 1*h), b(KindScheduled, StatusSucceeded, 70*h)}, HealthOK, "", finished(1*h - time.Minute)},
		{"an upload is a recovery point", hourly, []Backup{b(KindUpload, StatusSucceeded, 1*h)}, HealthOK, "", finished(1*h - time.Minute)},
		{"a copy is a recovery point", daily, []Backup{b(KindCopy, StatusSucceeded, 5*h)}, HealthOK, "", finished(5*h - time.Minute)},
		{"an old manual backup is stale too", daily, []Backup{b(KindManual, StatusSucceeded, 49*h)}, HealthStale, "no successful backup within twice its period", finished(49*h - time.Minute)},
		{"a failed manual backup is the last backup", daily, []Backup{b(KindManual, StatusFailed, 1*h), b(KindScheduled, StatusSucceeded, 3*h)}, HealthFailed, "pg_dump: connection refused", finished(3*h - time.Minute)},
		{"a manual success after a scheduled failure recovers", daily, []Backup{b(KindManual, StatusSucceeded, 1*h), b(KindScheduled, StatusFailed, 3*h)}, HealthOK, "", finished(1*h - time.Minute)},
		{"a running manual backup is running", daily, []Backup{b(KindManual, StatusRunning, 0), b(KindScheduled, StatusSucceeded, 3*h)}, HealthRunning, "", finished(3*h - time.Minute)},
		{"stalled: no progress beyond StallAfter", daily, []Backup{stuck(StallAfter + time.Second), b(KindScheduled, StatusSucceeded, 3*h)}, HealthStalled, "a running backup has made no progress for 31s", finished(3*h - time.Minute)},
		{"not stalled at exactly StallAfter", daily, []Backup{stuck(StallAfter), b(KindScheduled, StatusSucceeded, 3*h)}, HealthRunning, "", finished(3*h - time.Minute)},
		{"stalled beats stale", daily, []Backup{stuck(time.Minute)}, HealthStalled, "a running backup has made no progress for 1m0s", nil},
		{"failed beats stalled", daily, []Backup{stuck(time.Minute), b(KindManual, StatusFailed, 1*h)}, HealthFailed, "pg_dump: connection refused", nil},
		{"stalled on a manual-only configuration", manual, []Backup{stuck(2 * time.Minute)}, HealthStalled, "a running backup has made no progress for 2m0s", nil},
		{"other destination not counted", daily, []Backup{other(b(KindScheduled, StatusFailed, 1*h), "prod", "local"), b(KindScheduled, StatusSucceeded, 3*h)}, HealthOK, "", finished(3*h - time.Minute)},
		{"other destination's success not counted", daily, []Backup{other(b(KindScheduled, StatusSucceeded, 1*h), "prod", "local")}, HealthStale, "no successful backup yet", nil},
		{"other service not counted", daily, []Backup{other(b(KindScheduled, StatusRunning, 0), "staging", "s3"), other(b(KindScheduled, StatusFailed, 1*h), "staging", "s3"), b(KindScheduled, StatusSucceeded, 3*h)}, HealthOK, "", finished(3*h - time.Minute)},
		{"deleted newest is skipped", daily, []Backup{b(KindScheduled, StatusDeleted, 1*h), b(KindScheduled, StatusSucceeded, 3*h)}, HealthOK, "", finished(3*h - time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EvaluateHealth(tc.conf, tc.backups, now)
			if got.State != tc.state || got.Reason != tc.reason {
				t.Errorf("state, reason = %q, %q; want %q, %q", got.State, got.Reason, tc.state, tc.reason)
			}
			switch {
			case tc.lastSuccess == nil && got.LastSuccess != nil:
				t.Errorf("LastSuccess = %v, want none", *got.LastSuccess)
			case tc.lastSuccess != nil && (got.LastSuccess == nil || !got.LastSuccess.Equal(*tc.lastSuccess)):
				t.Errorf("LastSuccess = %v, want %v", got.LastSuccess, *tc.lastSuccess)
			}
			if got.Service != tc.conf.Service || got.Destination != tc.conf.Destination || got.Frequency != tc.conf.Frequency.String() || got.Primary != tc.conf.Primary {
				t.Errorf("identity = %s/%s %s primary=%v, want %s/%s %s primary=%v", got.Service, got.Destination, got.Frequency, got.Primary,
					tc.conf.Service, tc.conf.Destination, tc.conf.Frequency, tc.conf.Primary)
			}
			if want := tc.state == HealthFailed || tc.state == HealthStale || tc.state == HealthStalled; got.Unhealthy() != want {
				t.Errorf("Unhealthy() = %v, want %v", got.Unhealthy(), want)
			}
			if got.LastBackup != nil && (got.LastBackup.Service != tc.conf.Service || got.LastBackup.Destination != tc.conf.Destination) {
				t.Errorf("LastBackup is %s/%s, not this configuration's", got.LastBackup.Service, got.LastBackup.Destination)
			}
		})
	}
}

// A success recorded without a finish time counts from its start.
func TestEvaluateHealthWithoutFinishTime(t *testing.T) {
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	got := EvaluateHealth(Configuration{Service: "p", Destination: "d", Frequency: Daily},
		[]Backup{{Service: "p", Destination: "d", Kind: KindScheduled, Status: StatusSucceeded, StartedAt: start}}, now)
	if got.State != HealthOK || got.LastSuccess == nil || !got.LastSuccess.Equal(start) {
		t.Errorf("state %q, last success %v; want ok, %v", got.State, got.LastSuccess, start)
	}
}
