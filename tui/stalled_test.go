package tui

import (
	"context"
	"strings"
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

// A backup whose catalog row has shown no progress for longer than
// core.StallAfter (one the daemon on another host runs against an endpoint
// that answers nothing) is stalled on the home screen, the state of its
// service and the row of its configuration, and in its service's history.
func TestConsoleShowsStalledBackup(t *testing.T) {
	cat := seed(t)
	b := core.Backup{Service: "production", Destination: "s3-eu", Kind: core.KindScheduled, Host: "backup-host", PID: 4121,
		StartedAt: clock.Add(-3 * time.Minute), BackupProgress: core.BackupProgress{Phase: core.PhaseDump, Bytes: 1 << 20, ProgressAt: clock.Add(-2 * time.Minute)}}
	if err := cat.CreateBackup(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	// At 80 columns the row's progress is cut; the stall comes first, so
	// the cut never takes it.
	narrow := startSized(t, Options{Catalog: cat}, 80, 24)
	view(t, narrow, "production", "stalled")
	if row := lineWith(snapshot(t, narrow), "production"); !strings.Contains(row, "stalled 2:00") {
		t.Errorf("at 80 columns production's row should still say for how long its backup is stalled:\n%s", row)
	}
	quit(t, narrow)

	tm := start(t, Options{Catalog: cat})
	view(t, tm, "production", "stalled")
	home := snapshot(t, tm)
	row := lineWith(home, "production")
	if !strings.Contains(row, "◐ stalled 2:00 · ") || strings.Count(row, "stalled") != 2 {
		t.Errorf("production's row should say its backup is stalled, and so is the service:\n%s", home)
	}
	press(tm, "down", "enter")
	view(t, tm, "odoo-backup › production", "dump")
	frame := snapshot(t, tm)
	if cfg := lineWith(frame, "s3-eu"); !strings.HasSuffix(strings.TrimRight(cfg, " │║"), "stalled") {
		t.Errorf("the s3-eu configuration should be stalled:\n%s", frame)
	}
	if !strings.Contains(frame, "· stalled 2:00") {
		t.Errorf("the history should mark the running backup stalled:\n%s", frame)
	}
	quit(t, tm)
}

// lineWith is the first line of frame containing s, or "".
func lineWith(frame, s string) string {
	for _, l := range strings.Split(frame, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
