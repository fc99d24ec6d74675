package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// compactAge writes a measured age in at most two units, coarser as it
// grows: "42m", "2h59m", "35h", "3d".
func compactAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return core.FormatTarget(d.Truncate(time.Second))
	case d < 10*time.Hour:
		return core.FormatTarget(d.Truncate(time.Minute))
	case d < 48*time.Hour:
		return core.FormatTarget(d.Truncate(time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// targetText writes a target the way it was most likely given: "2h",
// "30m", "7d".
func targetText(d time.Duration) string {
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return core.FormatTarget(d)
}

// rpoAge is the recovery point's age against its target: compact, yet
// never the same text as a target it misses ("12h" would hide that
// 12h30m is over a 12h target).
func rpoAge(r core.Recovery) string {
	if r.RPO == nil {
		return "—"
	}
	s := compactAge(r.RPO.Age())
	if r.RPOMissed && r.RPOTargetSeconds > 0 && s == targetText(time.Duration(r.RPOTargetSeconds)*time.Second) {
		s = core.FormatTarget(r.RPO.Age().Truncate(time.Second))
	}
	return s
}

// rpoCell is a service's RPO for the home screen in w cells: "42m" without
// a target, "42m/2h" with one, "✗ 3h/2h" when missed, with a small gauge
// of the target used ("▰▰▱▱ 42m/2h") when the column has room for it, and
// only the age ("42m", "✗ 3h") when it has room for nothing more. missed
// says whether to colour it as a failure.
func rpoCell(r core.Recovery, w int) (text string, missed bool) {
	full, short := rpoTexts(r)
	switch {
	case r.RPOTargetSeconds > 0 && rpoGaugeWidth+lipglossWidth(full) <= w:
		return rpoGauge(r, rpoGaugeWidth-1) + " " + full, r.RPOMissed
	case lipglossWidth(full) <= w:
		return full, r.RPOMissed
	}
	return short, r.RPOMissed
}

// rpoTexts are a service's RPO with its target, and without it.
func rpoTexts(r core.Recovery) (full, short string) {
	short = rpoAge(r)
	if r.RPOTargetSeconds <= 0 {
		return short, short
	}
	full = short + "/" + targetText(time.Duration(r.RPOTargetSeconds)*time.Second)
	if r.RPOMissed {
		full, short = "✗ "+full, "✗ "+short
	}
	return full, short
}

// rpoGauge shows how much of its target the recovery point's age uses, in
// n cells: full when missed. The target must be set.
func rpoGauge(r core.Recovery, n int) string {
	filled := n
	if !r.RPOMissed && r.RPO != nil {
		filled = int((r.RPO.Seconds*int64(n) + r.RPOTargetSeconds - 1) / r.RPOTargetSeconds)
		filled = max(1, min(filled, n))
	}
	return strings.Repeat("▰", filled) + strings.Repeat("▱", n-filled)
}

// recoveryLine is a service's measured RPO and RTO against its targets:
// "✓ RPO 42m (target 2h) · RTO 6m12s by drill 2026-12-01 (target 30m)". A
// missed target reads "✗" and is coloured; one met reads "✓"; without a
// target the measure stands alone.
func recoveryLine(t Theme, r core.Recovery, now time.Time) string {
	rpo := "RPO " + rpoAge(r)
	if r.RPO == nil {
		rpo = "RPO — (no good backup yet)"
	}
	rpo = targetPart(t, rpo, r.RPOTargetSeconds, r.RPOMissed)
	rto := "RTO not measured yet (a restore drill measures it)"
	if p := r.RTO; p != nil {
		rto = fmt.Sprintf("RTO %s by %s %s", core.FormatTarget(p.Duration()), p.Source, p.At.In(now.Location()).Format("2006-01-02"))
	}
	rto = targetPart(t, rto, r.RTOTargetSeconds, r.RTOMissed)
	return rpo + " · " + rto
}

// targetPart adds its target to a measure and marks it met or missed.
func targetPart(t Theme, measure string, target int64, missed bool) string {
	if target <= 0 {
		return measure
	}
	s := measure + " (target " + targetText(time.Duration(target)*time.Second) + ")"
	if missed {
		return t.Error.Render("✗ " + s)
	}
	return "✓ " + s
}

// problemLines are a service's problems, one sentence each: a missed RPO
// target fails the service (✗), a missed RTO target is a warning (△).
func problemLines(t Theme, sh core.ServiceHealth) []string {
	var out []string
	for _, p := range sh.Problems {
		if p == sh.Recovery.RPOProblem() {
			out = append(out, t.Error.Render("✗ "+p))
			continue
		}
		out = append(out, t.Health[core.HealthWarning].Render("△ "+p))
	}
	return out
}
