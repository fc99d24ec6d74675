package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// listFilter narrows a list as the user types (/): esc clears it, enter
// keeps it and gives the keys back to the list.
type listFilter struct {
	input  textinput.Model
	typing bool
}

func (f *listFilter) start() {
	if f.input.Prompt == "" {
		f.input = textinput.New()
		f.input.Prompt = "/"
		f.input.Cursor.SetMode(cursor.CursorStatic)
	}
	f.typing = true
	f.input.Focus()
}

// key handles a key while typing; it reports whether the text changed.
func (f *listFilter) key(msg tea.KeyMsg) {
	switch msg.Type {
	case tea.KeyEsc:
		f.input.SetValue("")
		f.stop()
	case tea.KeyEnter:
		f.stop()
	default:
		f.input, _ = f.input.Update(msg)
	}
}

func (f *listFilter) stop() {
	f.typing = false
	f.input.Blur()
}

func (f *listFilter) text() string { return strings.TrimSpace(f.input.Value()) }

// match reports whether any field contains the filter, ignoring case.
func (f *listFilter) match(fields ...string) bool {
	q := strings.ToLower(f.text())
	if q == "" {
		return true
	}
	for _, s := range fields {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// title is what the list's title shows: the filter being typed, or the one
// kept.
func (f *listFilter) title(t Theme) string {
	switch {
	case f.typing:
		return "  filter " + f.input.View() + t.Muted.Render("  enter keep · esc clear")
	case f.text() != "":
		return "  filter: " + f.text() + t.Muted.Render("  (/ to change)")
	}
	return ""
}
