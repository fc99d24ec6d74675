package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/odoo-backup/odoo-backup/core"
)

// age says how long ago t was, in the largest whole unit.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// size renders bytes as everywhere in the product.
func size(n int64) string { return core.FormatSize(n) }

// took renders a duration as m:ss or h:mm:ss.
func took(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// when renders a coming time compactly relative to now.
func when(now, t time.Time) string {
	t = t.In(now.Location())
	y1, m1, d1 := now.Date()
	y2, m2, d2 := t.Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return t.Format("15:04")
	case t.Sub(now) < 6*24*time.Hour:
		return t.Format("Mon 15:04")
	}
	return t.Format("Jan 02 15:04")
}

// pad fits s into exactly w cells, cutting with an ellipsis when too long.
// Styled text keeps its styles (see fit).
func pad(s string, w int) string {
	s = fit(s, w)
	return s + strings.Repeat(" ", max(w-lipgloss.Width(s), 0))
}

// statusMark renders a backup's status with its mark.
func statusMark(b core.Backup) string {
	switch b.Status {
	case core.StatusSucceeded:
		if b.MissingCount > 0 {
			// A warning, not a failure: the backup lacks what the filestore
			// had lost when it was taken.
			return fmt.Sprintf("△ lacks %d files", b.MissingCount)
		}
		if b.Pool != nil && b.Pool.MismatchCount > 0 {
			// A warning too: files whose content does not match their name.
			return fmt.Sprintf("△ %d mismatched", b.Pool.MismatchCount)
		}
		if b.Anomaly != "" {
			// And its size far from the backups' before it (the details
			// say how far).
			return "! anomaly"
		}
		if b.Warning != "" {
			// Something after it went wrong (its post-backup hook).
			return "△ warning"
		}
		return "✓ succeeded"
	case core.StatusFailed:
		return "✗ failed"
	case core.StatusRotated:
		return "– rotated"
	case core.StatusDeleted:
		return "– deleted"
	}
	return "◐ " + string(b.Status)
}

// progressText renders live progress: a bar when the total is known.
func progressText(phase string, bytes, total int64) string {
	if phase == "" {
		phase = "starting"
	}
	if total > 0 {
		return bar(bytes, total, 10) + " " + phase
	}
	return fmt.Sprintf("%s %s", phase, size(bytes))
}

// bar is a w-cell progress bar with the percentage.
func bar(n, total int64, w int) string {
	pct := int(n * 100 / total)
	pct = max(0, min(pct, 100))
	filled := pct * w / 100
	return fmt.Sprintf("%s%s %d%%", strings.Repeat("▓", filled), strings.Repeat("░", w-filled), pct)
}

// jobProgress renders this console's job: phase, a bar and percentage when
// the total is known, bytes, throughput and elapsed time, in width cells.
func jobProgress(j *job, width int) string {
	p := j.progress
	phase := string(p.Phase)
	if phase == "" {
		phase = "starting"
	}
	parts := []string{phase}
	if p.Total > 0 {
		parts = append(parts, bar(p.Bytes, p.Total, 16), size(p.Bytes)+" of "+size(p.Total))
	} else {
		parts = append(parts, size(p.Bytes))
	}
	if j.rate > 0 {
		parts = append(parts, size(int64(j.rate))+"/s")
	}
	out := strings.Join(parts, " · ")
	if lipgloss.Width(out) > width && width > 0 {
		out = pad(out, width)
	}
	return out
}

// plural counts things in English: "1 service", "0 services", "3 services".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
