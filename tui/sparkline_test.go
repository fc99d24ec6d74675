package tui

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func values(vs ...float64) []sparkPoint {
	out := make([]sparkPoint, len(vs))
	for i, v := range vs {
		out[i] = sparkPoint{Value: v}
	}
	return out
}

func TestSparkline(t *testing.T) {
	failed := sparkPoint{Failed: true}
	for _, c := range []struct {
		name   string
		points []sparkPoint
		line   string
		lo, hi float64
		ok     bool
	}{
		{"rising", values(0, 1, 2, 3, 4, 5, 6, 7), "▁▂▃▄▅▆▇█", 0, 7, true},
		{"scaled to its own range", values(100, 150, 200), "▁▅█", 100, 200, true},
		{"flat", values(5, 5, 5, 5), "▄▄▄▄", 5, 5, true},
		{"one point", values(1_200_000_000), "▄", 1_200_000_000, 1_200_000_000, true},
		{"empty", nil, "", 0, 0, false},
		{"all failures", []sparkPoint{failed, failed, failed}, "×××", 0, 0, false},
		{"failures keep their place", []sparkPoint{{Value: 1}, failed, {Value: 3}}, "▁×█", 1, 3, true},
		{"a failure does not stretch the scale", []sparkPoint{failed, {Value: 10}, {Value: 10}}, "×▄▄", 10, 10, true},
		{"huge range", values(1, math.MaxInt64, float64(math.MaxInt64)/2), "▁█▅", 1, math.MaxInt64, true},
		{"not a number is no value", []sparkPoint{{Value: math.NaN()}, {Value: math.Inf(1)}, {Value: 2}}, "××▄", 2, 2, true},
		{"an anomaly is marked, outside the scale", []sparkPoint{{Value: 1}, {Value: 2}, {Value: 9, Anomaly: true}, {Value: 3}}, "▁▅!█", 1, 3, true},
		{"only anomalies still give a range", []sparkPoint{{Value: 1, Anomaly: true}, {Value: 9, Anomaly: true}}, "!!", 1, 9, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			line, lo, hi, ok := sparkline(c.points)
			if line != c.line || ok != c.ok || ok && (lo != c.lo || hi != c.hi) {
				t.Errorf("sparkline = %q [%v, %v] %v, want %q [%v, %v] %v", line, lo, hi, ok, c.line, c.lo, c.hi, c.ok)
			}
			if n := len([]rune(line)); n != len(c.points) {
				t.Errorf("%d cells for %d points", n, len(c.points))
			}
		})
	}
}

func TestSparkRanges(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{sizeRange(1_200_000_000, 1_400_000_000), "1.2 GB–1.4 GB"},
		{sizeRange(1_200_000_000, 1_200_000_000), "1.2 GB"},
		{sizeRange(1_310_000_000, 1_340_000_000), "1.31 GB–1.34 GB"},
		{sizeRange(0, 5_000_000_000_000), "0 B–5.0 TB"},
		{timeRange(41, 90), "0:41–1:30"},
		{timeRange(3725, 3725), "1:02:05"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// trendBackups are n backups of a configuration, newest first as the
// catalog lists them.
func trendBackups(n int) []core.Backup {
	var out []core.Backup
	for i := n; i >= 1; i-- {
		start := clock.Add(-time.Duration(i) * time.Hour)
		end := start.Add(time.Duration(60+i) * time.Second)
		out = append([]core.Backup{{ID: int64(n - i + 1), Status: core.StatusSucceeded, StartedAt: start, FinishedAt: &end, Size: int64(1000 + i)}}, out...)
	}
	return out
}

func TestSparkBackupsOldestFirstFinishedOnly(t *testing.T) {
	bs := trendBackups(5)
	running := core.Backup{ID: 9, Status: core.StatusRunning}
	deleted := core.Backup{ID: 8, Status: core.StatusDeleted}
	rotated := core.Backup{ID: 7, Status: core.StatusRotated}
	got := sparkBackups(append([]core.Backup{running, deleted, rotated}, bs...), 4)
	var ids []int64
	for _, b := range got {
		ids = append(ids, b.ID)
	}
	if want := []int64{3, 4, 5, 7}; !equalIDs(ids, want) {
		t.Errorf("ids %v, want %v: the newest finished ones, oldest first, rotated ones kept", ids, want)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTrendLineFitsItsWidth(t *testing.T) {
	bs := trendBackups(40)
	line, ok := trendLine(bs, 200)
	if !ok || !strings.HasPrefix(line, "size ") {
		t.Fatalf("trendLine = %q, %v", line, ok)
	}
	if n := len([]rune(strings.Fields(line)[1])); n != trendMax {
		t.Errorf("%d points on a wide screen, want the last %d: %q", n, trendMax, line)
	}
	for _, w := range []int{70, 50, 40} {
		line, _ := trendLine(bs, w)
		if lipglossWidth(line) > w {
			t.Errorf("at %d cells the line is %d wide: %q", w, lipglossWidth(line), line)
		}
	}
	if line, ok := trendLine([]core.Backup{{Status: core.StatusRunning}}, 70); ok || line != "no finished backup yet" {
		t.Errorf("a configuration with only a running backup: %q, %v", line, ok)
	}
	failed := []core.Backup{{Status: core.StatusFailed}, {Status: core.StatusFailed}}
	if line, _ := trendLine(failed, 70); line != "size ×× all failed   time ×× all failed" {
		t.Errorf("only failures: %q", line)
	}
}

func TestTrendLineMarksAnAnomaly(t *testing.T) {
	bs := trendBackups(5)
	bs[1].Anomaly, bs[1].Size = "its size is above three times the median", 9000
	line, _ := trendLine(bs, 200)
	if !strings.Contains(line, "!") || !strings.HasSuffix(line, "! size anomaly") {
		t.Errorf("trendLine = %q, want the anomaly marked and named", line)
	}
	// Without colour the marks are the same characters.
	if got := styleSpark(NewTheme(true), line); got != line {
		t.Errorf("without colour styleSpark changed %q to %q", line, got)
	}
}

func TestRPOCell(t *testing.T) {
	rpo := func(age time.Duration) *core.RPOPoint {
		return &core.RPOPoint{Seconds: int64(age / time.Second)}
	}
	for _, c := range []struct {
		name   string
		r      core.Recovery
		w      int
		want   string
		missed bool
	}{
		{"no target", core.Recovery{RPO: rpo(42 * time.Minute)}, 20, "42m", false},
		{"no backup, no target", core.Recovery{}, 20, "—", false},
		{"met", core.Recovery{RPO: rpo(42 * time.Minute), RPOTargetSeconds: 7200}, 6, "42m/2h", false},
		{"met, with room for the gauge", core.Recovery{RPO: rpo(42 * time.Minute), RPOTargetSeconds: 7200}, 20, "▰▰▱▱ 42m/2h", false},
		{"missed", core.Recovery{RPO: rpo(3 * time.Hour), RPOTargetSeconds: 7200, RPOMissed: true}, 7, "✗ 3h/2h", true},
		{"missed, with room for the gauge", core.Recovery{RPO: rpo(3 * time.Hour), RPOTargetSeconds: 7200, RPOMissed: true}, 20, "▰▰▰▰ ✗ 3h/2h", true},
		{"missed, narrow", core.Recovery{RPO: rpo(34 * time.Hour), RPOTargetSeconds: 12 * 3600, RPOMissed: true}, 6, "✗ 34h", true},
		{"missed without any backup", core.Recovery{RPOTargetSeconds: 7200, RPOMissed: true}, 7, "✗ —/2h", true},
		{"just over a target that reads the same", core.Recovery{RPO: rpo(12*time.Hour + 30*time.Minute), RPOTargetSeconds: 12 * 3600, RPOMissed: true}, 12, "✗ 12h30m/12h", true},
		{"days", core.Recovery{RPO: rpo(80 * time.Hour), RPOTargetSeconds: 7 * 24 * 3600}, 8, "3d/7d", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, missed := rpoCell(c.r, c.w)
			if got != c.want || missed != c.missed {
				t.Errorf("rpoCell(%d) = %q, %v; want %q, %v", c.w, got, missed, c.want, c.missed)
			}
		})
	}
}

func TestRecoveryLine(t *testing.T) {
	th := NewTheme(true)
	drillAt := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	r := core.Recovery{RPO: &core.RPOPoint{Seconds: 42 * 60}, RPOTargetSeconds: 7200,
		RTO: &core.RTOPoint{Seconds: 372, At: drillAt, Source: "drill"}, RTOTargetSeconds: 1800}
	if got, want := recoveryLine(th, r, clock), "✓ RPO 42m (target 2h) · ✓ RTO 6m12s by drill 2026-12-01 (target 30m)"; got != want {
		t.Errorf("met:\n got %q\nwant %q", got, want)
	}
	r.RPO.Seconds, r.RPOMissed = 3*3600, true
	if got, want := recoveryLine(th, r, clock), "✗ RPO 3h (target 2h) · ✓ RTO 6m12s by drill 2026-12-01 (target 30m)"; got != want {
		t.Errorf("missed:\n got %q\nwant %q", got, want)
	}
	if got, want := recoveryLine(th, core.Recovery{}, clock), "RPO — (no good backup yet) · RTO not measured yet (a restore drill measures it)"; got != want {
		t.Errorf("nothing measured, no target:\n got %q\nwant %q", got, want)
	}
}

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"", 0}, {"  ", 0}, {"0", 0}, {"2h", 7200}, {"30m", 1800}, {"1h30m", 5400}, {" 90s ", 90}, {"1.5h", 5400}, {"7d", 7 * 86400}, {"none", 0}} {
		got, err := parseTarget("RPO target", c.in)
		if err != nil || got != c.want {
			t.Errorf("parseTarget(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for in, want := range map[string]string{
		"2 hours": `RPO target "2 hours" is not a duration; give one like 30m, 2h or 1d`,
		"-1h":     `RPO target "-1h" is negative`,
		"10ms":    `RPO target "10ms" is below 1m`,
	} {
		if _, err := parseTarget("RPO target", in); err == nil || !strings.Contains(userMessage(err), want) {
			t.Errorf("parseTarget(%q) = %v, want %q", in, err, want)
		}
	}
}
