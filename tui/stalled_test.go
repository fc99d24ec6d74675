package tui

import (
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// A running backup says it is stalled once its catalog row shows no
// progress for core.StallAfter, whoever runs it; a heartbeat alone does not
// count as progress.
func TestStalledText(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	running := func(progress time.Time) core.Backup {
		return core.Backup{Status: core.StatusRunning, StartedAt: now.Add(-time.Hour), UpdatedAt: now, BackupProgress: core.BackupProgress{ProgressAt: progress}}
	}
	for _, tc := range []struct {
		name string
		b    core.Backup
		want string
	}{
		{"moving", running(now.Add(-time.Second)), ""},
		{"at the threshold", running(now.Add(-core.StallAfter)), ""},
		{"stalled", running(now.Add(-core.StallAfter - 15*time.Second)), " · stalled 0:45"},
		{"stalled long, fresh heartbeat", running(now.Add(-2 * time.Hour)), " · stalled 2:00:00"},
		{"finished", core.Backup{Status: core.StatusFailed, BackupProgress: core.BackupProgress{ProgressAt: now.Add(-time.Hour)}}, ""},
	} {
		if got := stalledText(tc.b, now); got != tc.want {
			t.Errorf("%s: stalledText = %q, want %q", tc.name, got, tc.want)
		}
	}
}
