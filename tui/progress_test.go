package tui

import (
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func TestProgressTracker(t *testing.T) {
	var p progressTracker
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	p.observe(7, 10_000_000, t0)
	if r := p.rate(7); r != 0 {
		t.Errorf("one reading gives rate %v, want 0", r)
	}
	// Readings too close together keep the last rate instead of a noisy one.
	p.observe(7, 11_000_000, t0.Add(100*time.Millisecond))
	if r := p.rate(7); r != 0 {
		t.Errorf("a reading 100ms later gives rate %v, want 0", r)
	}
	p.observe(7, 30_000_000, t0.Add(2*time.Second))
	if r := p.rate(7); r != 10_000_000 {
		t.Errorf("20 MB in 2 s gives %v B/s, want 10 MB/s", r)
	}
	// A new phase starting again from zero starts a new measurement.
	p.observe(7, 1_000, t0.Add(3*time.Second))
	if r := p.rate(7); r != 0 {
		t.Errorf("after the count went back the rate is %v, want 0", r)
	}
	if r := p.rate(8); r != 0 {
		t.Errorf("an unknown backup has rate %v", r)
	}
}

func TestRunningText(t *testing.T) {
	for _, c := range []struct {
		name     string
		p        core.Progress
		expected int64
		rate     float64
		compact  bool
		want     string
	}{
		{"nothing known", core.Progress{Phase: core.PhaseDump, Bytes: 12_300_000}, 0, 0, false, "dump 12.3 MB"},
		{"no phase yet", core.Progress{}, 0, 0, false, "starting 0 B"},
		{"rate without estimate", core.Progress{Phase: core.PhaseDump, Bytes: 12_300_000}, 0, 2_000_000, false, "dump 12.3 MB 2.0 MB/s"},
		{"total known", core.Progress{Phase: core.PhaseRestoreDB, Bytes: 500, Total: 1000}, 0, 0, false, "▓▓▓░░░ 50% " + string(core.PhaseRestoreDB)},
		{"estimate", core.Progress{Phase: core.PhaseFilestore, Bytes: 600}, 1000, 0, false, "▓▓▓░░░ 60%~ filestore"},
		{"an estimate never says done", core.Progress{Phase: core.PhaseFilestore, Bytes: 5000}, 1000, 0, false, "▓▓▓▓▓░ 99%~ filestore"},
		{"compact with rate", core.Progress{Phase: core.PhaseFilestore, Bytes: 600}, 1000, 50_000_000, true, "▓▓▓░░░ 60%~ 50.0 MB/s"},
		{"compact without rate", core.Progress{Phase: core.PhaseFilestore, Bytes: 600}, 1000, 0, true, "▓▓▓░░░ 60%~ filestore"},
	} {
		if got := runningText(c.p, c.expected, c.rate, c.compact); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestExpectedSize(t *testing.T) {
	running := core.Backup{ID: 9, ServiceID: 1, Destination: "s3", Status: core.StatusRunning}
	others := []core.Backup{
		{ID: 8, ServiceID: 1, Destination: "s3", Status: core.StatusFailed},
		{ID: 7, ServiceID: 1, Destination: "disk", Status: core.StatusSucceeded, Size: 500},
		{ID: 6, ServiceID: 1, Destination: "s3", Status: core.StatusSucceeded, Size: 1200},
		{ID: 5, ServiceID: 1, Destination: "s3", Status: core.StatusSucceeded, Size: 1100},
	}
	if got := expectedSize(running, others); got != 1200 {
		t.Errorf("expected size %d, want the newest succeeded on the same destination (1200)", got)
	}
	if got := expectedSize(running, others[:2]); got != 0 {
		t.Errorf("expected size %d without a succeeded backup there, want 0", got)
	}
}
