package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// sparkPoint is one finished backup in a sparkline: its value (bytes or
// seconds), whether it failed (then it has no value worth drawing) and
// whether its size was judged anomalous.
type sparkPoint struct {
	Value   float64
	Failed  bool
	Anomaly bool
}

// The marks of a sparkline besides its levels: a failed backup, and one
// whose size is anomalous. Both are characters, so they read without
// colour.
const (
	sparkFailed  = '×'
	sparkAnomaly = '!'
)

// sparkLevels are the eight heights of a sparkline, lowest first.
var sparkLevels = []rune("▁▂▃▄▅▆▇█")

// sparkline draws points in order (oldest first), one cell each, scaled to
// the smallest and largest value of the ordinary points: a failed point is
// sparkFailed, an anomalous one sparkAnomaly, and neither stretches the
// scale (a backup of three times the size would flatten the others),
// unless every point with a value is anomalous. A flat series (or a single
// point) sits at mid height. ok is false when no point has a value; lo and
// hi are the range drawn.
func sparkline(points []sparkPoint) (line string, lo, hi float64, ok bool) {
	valued := func(p sparkPoint) bool { return !p.Failed && !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) }
	for _, anomalies := range []bool{false, true} {
		for _, p := range points {
			if !valued(p) || p.Anomaly && !anomalies {
				continue
			}
			if !ok {
				lo, hi, ok = p.Value, p.Value, true
				continue
			}
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
		}
		if ok {
			break
		}
	}
	var b strings.Builder
	top := len(sparkLevels) - 1
	for _, p := range points {
		switch {
		case !valued(p):
			b.WriteRune(sparkFailed)
		case p.Anomaly:
			b.WriteRune(sparkAnomaly)
		case hi == lo:
			b.WriteRune(sparkLevels[top/2])
		default:
			// Divided first, so a range of petabytes cannot overflow.
			level := int(math.Round((p.Value - lo) / (hi - lo) * float64(top)))
			b.WriteRune(sparkLevels[max(0, min(level, top))])
		}
	}
	return b.String(), lo, hi, ok
}

// sparkBackups are the points of a configuration's sparklines: its
// finished backups (newest first, as the catalog lists them), at most n,
// oldest first. Running and deleted backups are left out; rotated ones
// were good backups, and stay.
func sparkBackups(backups []core.Backup, n int) []core.Backup {
	var out []core.Backup
	for _, b := range backups {
		if len(out) == n {
			break
		}
		switch b.Status {
		case core.StatusSucceeded, core.StatusRotated, core.StatusFailed:
			out = append(out, b)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// sizePoints and durationPoints are the backups' sizes and times taken. A
// size anomaly is marked on the size line only; a failure on both, so the
// two lines stay aligned backup for backup.
func sizePoints(bs []core.Backup) []sparkPoint {
	out := make([]sparkPoint, len(bs))
	for i, b := range bs {
		out[i] = sparkPoint{Value: float64(b.Size), Failed: b.Status == core.StatusFailed, Anomaly: b.Anomaly != ""}
	}
	return out
}

func durationPoints(bs []core.Backup) []sparkPoint {
	out := make([]sparkPoint, len(bs))
	for i, b := range bs {
		out[i] = sparkPoint{Value: b.Duration().Seconds(), Failed: b.Status == core.StatusFailed}
	}
	return out
}

// sizeRange and timeRange write a sparkline's range: "1.2 GB–1.4 GB",
// "0:41–1:30", one value when the series is flat. Sizes that differ but
// read the same get a second decimal ("1.25 GB–1.33 GB"): the line's ups
// and downs would seem to come from nowhere otherwise.
func sizeRange(lo, hi float64) string {
	l, h := size(int64(lo)), size(int64(hi))
	if l == h && lo != hi && hi >= 1000 {
		l, h = sizeFine(lo, hi), sizeFine(hi, hi)
	}
	return spanText(l, h)
}

// sizeFine writes n with two decimals in the unit size uses for of.
func sizeFine(n, of float64) string {
	div, unit := 1000.0, 0
	for m := of / 1000; m >= 1000 && unit < 5; m /= 1000 {
		div *= 1000
		unit++
	}
	return fmt.Sprintf("%.2f %cB", n/div, "kMGTPE"[unit])
}

func timeRange(lo, hi float64) string {
	return spanText(took(time.Duration(lo*float64(time.Second))), took(time.Duration(hi*float64(time.Second))))
}

func spanText(lo, hi string) string {
	if lo == hi {
		return lo
	}
	return lo + "–" + hi
}

// trendLine is a configuration's size and time sparklines with their
// ranges, over as many of its newest finished backups (at most trendMax)
// as fit in width cells. It is plain text: styleSpark colours it. ok is
// false when there is no finished backup to draw.
func trendLine(backups []core.Backup, width int) (line string, ok bool) {
	all := sparkBackups(backups, trendMax)
	if len(all) == 0 {
		return "no finished backup yet", false
	}
	// As many points as fit; then the anomaly's legend, if it still fits.
	for n := len(all); ; n-- {
		line, legend := trendText(all[len(all)-n:])
		if n <= 1 || lipglossWidth(line) <= width {
			if legend != "" && lipglossWidth(line+legend) <= width {
				line += legend
			}
			return line, true
		}
	}
}

// trendMax is how many backups a sparkline shows at most.
const trendMax = 30

// trendText is the two sparklines with their ranges, and the legend to
// add when the size line marks an anomaly.
func trendText(bs []core.Backup) (line, legend string) {
	sz, slo, shi, sok := sparkline(sizePoints(bs))
	tm, tlo, thi, tok := sparkline(durationPoints(bs))
	sr, tr := "all failed", "all failed"
	if sok {
		sr = sizeRange(slo, shi)
	}
	if tok {
		tr = timeRange(tlo, thi)
	}
	line = "size " + sz + " " + sr + "   time " + tm + " " + tr
	if strings.ContainsRune(sz, sparkAnomaly) {
		legend = "   ! size anomaly"
	}
	return line, legend
}

// styleSpark colours a sparkline's marks: failures as errors, anomalies as
// warnings. The marks themselves stay, so NO_COLOR reads the same.
func styleSpark(t Theme, line string) string {
	var b strings.Builder
	for _, r := range line {
		switch r {
		case sparkFailed:
			b.WriteString(t.Error.Render(string(r)))
		case sparkAnomaly:
			b.WriteString(t.Health["warning"].Render(string(r)))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
