package tui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// column is one column of a table that adapts to the terminal's width.
type column struct {
	title string
	// short is the title when the column is narrower than title.
	short string
	// min and max bound the column's width; max 0 means it takes whatever
	// is left.
	min, max int
	// drop orders the columns given up when even their minimum widths do
	// not fit: the highest goes first; 0 is never dropped.
	drop int
}

// table is a set of columns laid out for one width: each row is cut or
// padded to its column, columns that do not fit are left out.
type table struct {
	cols   []column
	widths []int // 0: left out
}

// newTable fits cols into width cells, one blank between columns: it leaves
// out the droppable columns that do not fit, then shares the room left over
// among the others, up to their maximum, the growable last.
func newTable(width int, cols ...column) table {
	kept := make([]bool, len(cols))
	for i := range kept {
		kept[i] = true
	}
	need := func() int {
		n, k := 0, 0
		for i, c := range cols {
			if kept[i] {
				n += c.min
				k++
			}
		}
		return n + max(k-1, 0)
	}
	for need() > width {
		worst := -1
		for i, c := range cols {
			if kept[i] && c.drop > 0 && (worst < 0 || c.drop > cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		kept[worst] = false
	}
	t := table{cols: cols, widths: make([]int, len(cols))}
	for i, c := range cols {
		if kept[i] {
			t.widths[i] = c.min
		}
	}
	// Share the spare cells one at a time, so the columns grow evenly.
	spare := width - need()
	for spare > 0 {
		grew := false
		for i, c := range cols {
			if spare > 0 && kept[i] && c.max > 0 && t.widths[i] < c.max {
				t.widths[i]++
				spare--
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	// The rest goes to the unbounded columns.
	for i := len(cols) - 1; i >= 0 && spare > 0; i-- {
		if kept[i] && cols[i].max == 0 {
			t.widths[i] += spare
			spare = 0
		}
	}
	return t
}

// header is the row of column titles.
func (t table) header() string {
	titles := make([]string, len(t.cols))
	for i, c := range t.cols {
		titles[i] = c.title
		if c.short != "" && len(c.title) > t.widths[i] {
			titles[i] = c.short
		}
	}
	return t.row(titles...)
}

// row lays out one value per column (values of left-out columns are
// skipped); the last kept column is not padded.
func (t table) row(values ...string) string {
	var parts []string
	last := -1
	for i := range t.widths {
		if t.widths[i] > 0 {
			last = i
		}
	}
	for i, v := range values {
		if i >= len(t.widths) || t.widths[i] == 0 {
			continue
		}
		if i == last {
			parts = append(parts, fit(v, t.widths[i]))
			continue
		}
		parts = append(parts, pad(v, t.widths[i]))
	}
	return strings.Join(parts, " ")
}

// fit cuts s to at most w cells with an ellipsis, keeping its styles.
func fit(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// wrap breaks text into lines of at most w cells, at spaces where it can,
// and keeps at most maxLines, the last one ending with an ellipsis when
// text was left out.
func wrap(text string, w, maxLines int) []string {
	var lines []string
	for _, para := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		lines = append(lines, strings.Split(ansi.Wrap(para, max(w, 1), ""), "\n")...)
	}
	if maxLines > 0 && len(lines) > maxLines {
		lines = lines[:maxLines]
		lines[maxLines-1] = ansi.Truncate(lines[maxLines-1], max(w-1, 1), "") + "…"
	}
	return lines
}

// innerWidth is the room inside a full-width box: the borders and the
// padding take four cells.
func (c *Context) innerWidth() int { return max(c.Width-4, 20) }

// tables lays out the service screen's configurations (after the cursor
// and the primary's star) and history (after the cursor) for the width.
func (s *serviceScreen) tables() (configs, history table) {
	w := s.ctx.innerWidth()
	configs = newTable(w-4,
		column{title: "DESTINATION", min: 8, max: 24},
		column{title: "SCHEDULE", min: 16, max: 22},
		column{title: "RETENTION", min: 8, max: 26, drop: 1},
		column{title: "LAST", min: 14, max: 18},
		column{title: "NEXT", min: 12, max: 18},
		column{title: "HEALTH", min: 9})
	// The id is what every command takes (restore ID, verify ID): it is
	// the last column given up, after the time a backup took and its kind.
	// Its width is that of the largest id loaded, so short ids cost little.
	idw := 2
	for _, b := range s.history {
		idw = max(idw, len(strconv.FormatInt(b.ID, 10)))
	}
	history = newTable(w-2,
		column{title: "ID", min: idw, max: idw, drop: 1},
		column{title: "STARTED", min: 16, max: 16},
		column{title: "KIND", min: 9, max: 9, drop: 2},
		column{title: "DESTINATION", short: "DEST", min: 8, max: 11},
		column{title: "SIZE", min: 8, max: 9},
		column{title: "TOOK", min: 7, max: 7, drop: 3},
		column{title: "STATUS", min: 19})
	return configs, history
}

func lipglossWidth(s string) int { return ansi.StringWidth(s) }
