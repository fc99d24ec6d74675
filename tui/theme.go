package tui

import (
	"os"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Theme holds every style of the console, built once. Colour is only ever a
// second signal: every state also has a word and a mark.
type Theme struct {
	Header   lipgloss.Style
	Title    lipgloss.Style
	Muted    lipgloss.Style
	Selected lipgloss.Style
	Box      lipgloss.Style
	Dialog   lipgloss.Style
	Primary  lipgloss.Style
	Error    lipgloss.Style
	Status   lipgloss.Style
	Health   map[string]lipgloss.Style
}

// NewTheme builds the theme; noColor (NO_COLOR) drops colours and attributes.
func NewTheme(noColor bool) Theme {
	r := lipgloss.NewRenderer(os.Stdout)
	if noColor {
		r.SetColorProfile(termenv.Ascii)
	}
	s := r.NewStyle
	return Theme{
		Header:   s().Bold(true),
		Title:    s().Bold(true).Foreground(lipgloss.Color("12")),
		Muted:    s().Foreground(lipgloss.Color("8")),
		Selected: s().Bold(true).Reverse(true),
		Box:      s().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		Dialog:   s().Border(lipgloss.DoubleBorder()).Padding(0, 1),
		Primary:  s().Foreground(lipgloss.Color("11")),
		Error:    s().Foreground(lipgloss.Color("9")).Bold(true),
		Status:   s().Foreground(lipgloss.Color("14")),
		Health: map[string]lipgloss.Style{
			"ok":      s().Foreground(lipgloss.Color("10")),
			"running": s().Foreground(lipgloss.Color("14")),
			"stalled": s().Foreground(lipgloss.Color("11")).Bold(true),
			"failed":  s().Foreground(lipgloss.Color("9")).Bold(true),
			"stale":   s().Foreground(lipgloss.Color("11")).Bold(true),
			"warning": s().Foreground(lipgloss.Color("11")),
			"none":    s().Foreground(lipgloss.Color("8")),
		},
	}
}

// health renders a state as mark and word, coloured when colour is on.
func (t Theme) health(state string) string {
	mark := map[string]string{"ok": "✓", "running": "◐", "failed": "✗", "stale": "!", "stalled": "!", "none": "·", "manual": "✓", "warning": "△"}[state]
	if mark == "" {
		mark = "?"
	}
	st, ok := t.Health[state]
	if !ok {
		st = t.Health["ok"]
	}
	return st.Render(mark + " " + state)
}
