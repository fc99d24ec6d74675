package tui

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// DestinationsLoadedMsg carries every destination and how many services use each.
type DestinationsLoadedMsg struct {
	Destinations []core.Destination
	// Users maps a destination to the services configured on it.
	Users map[string][]string
	Err   error
}

// destinationsScreen lists the storage destinations (key 2).
type destinationsScreen struct {
	ctx    *Context
	rows   []core.Destination
	users  map[string][]string
	cursor int
	loaded bool
	err    error
	// test is the connection test of this screen: which destination, its
	// job, and its outcome once done.
	test struct {
		name   string
		job    int
		done   bool
		result string
		failed bool
	}
}

func newDestinationsScreen(ctx *Context) *destinationsScreen { return &destinationsScreen{ctx: ctx} }

func (s *destinationsScreen) Title() string { return "Destinations" }

func (s *destinationsScreen) Reload() tea.Cmd { return loadDestinations(s.ctx) }

func loadDestinations(ctx *Context) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		c := context.Background()
		msg := DestinationsLoadedMsg{Users: map[string][]string{}}
		msg.Destinations, msg.Err = cat.Destinations(c)
		if msg.Err != nil {
			return msg
		}
		svcs, err := cat.Services(c)
		if err != nil {
			msg.Err = err
			return msg
		}
		for _, sv := range svcs {
			cfgs, err := cat.Configurations(c, sv.Name)
			if err != nil {
				msg.Err = err
				return msg
			}
			for _, cf := range cfgs {
				msg.Users[cf.Destination] = append(msg.Users[cf.Destination], sv.Name)
			}
		}
		return msg
	}
}

func (s *destinationsScreen) Update(msg tea.Msg) tea.Cmd {
	k := s.ctx.Keys
	switch msg := msg.(type) {
	case DestinationsLoadedMsg:
		s.loaded, s.err = true, msg.Err
		if msg.Err == nil {
			s.rows, s.users = msg.Destinations, msg.Users
		}
		s.cursor = min(s.cursor, max(len(s.rows)-1, 0))
	case JobStartedMsg:
		if s.test.name != "" && msg.Label == testLabel(s.test.name) {
			s.test.job = msg.ID
		}
	case JobDoneMsg:
		if s.test.job == msg.ID && s.test.name != "" {
			s.test.done, s.test.failed, s.test.result = true, msg.Err != nil, msg.Summary
			if msg.Err != nil {
				s.test.result = userMessage(msg.Err)
			}
		}
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Up):
			s.cursor = max(s.cursor-1, 0)
		case key.Matches(msg, k.Down):
			s.cursor = min(s.cursor+1, max(len(s.rows)-1, 0))
		case key.Matches(msg, k.Top):
			s.cursor = 0
		case key.Matches(msg, k.Bottom):
			s.cursor = max(len(s.rows)-1, 0)
		case key.Matches(msg, k.Add):
			return addDestination(s.ctx)
		}
		if d, ok := s.selected(); ok {
			switch {
			case key.Matches(msg, k.Edit):
				return editDestination(s.ctx, d.Name)
			case key.Matches(msg, k.TestDest):
				s.test.name, s.test.job, s.test.done, s.test.result = d.Name, 0, false, ""
				return testDestination(s.ctx, d.Name)
			case key.Matches(msg, k.Remove):
				return removeDestination(s.ctx, d.Name)
			}
		}
	}
	return nil
}

func (s *destinationsScreen) selected() (core.Destination, bool) {
	if !s.loaded || s.cursor < 0 || s.cursor >= len(s.rows) {
		return core.Destination{}, false
	}
	return s.rows[s.cursor], true
}

func (s *destinationsScreen) View() string {
	t := s.ctx.Theme
	var b strings.Builder
	b.WriteString(t.Title.Render("Destinations") + "\n")
	switch {
	case s.err != nil:
		b.WriteString(t.Error.Render("cannot read the catalog: "+s.err.Error()) + "\n")
	case !s.loaded:
		b.WriteString(t.Muted.Render(s.ctx.spin()+" loading…") + "\n")
	case len(s.rows) == 0:
		b.WriteString("No destination yet: press a to add one.\n")
	default:
		tbl := newTable(s.ctx.innerWidth()-2,
			column{title: "NAME", min: 10, max: 16},
			column{title: "KIND", min: 5, max: 5},
			column{title: "WHERE", min: 24, max: 44},
			column{title: "USED BY", min: 12})
		b.WriteString(t.Muted.Render("  "+tbl.header()) + "\n")
		for i, d := range s.rows {
			used := strings.Join(s.users[d.Name], ", ")
			if used == "" {
				used = "—"
			}
			line := tbl.row(d.Name, string(d.Kind), d.Describe(), used)
			cur := "  "
			if i == s.cursor {
				cur, line = "▸ ", t.Selected.Render(line)
			}
			b.WriteString(cur + line + "\n")
		}
	}
	if s.test.name != "" {
		b.WriteString("\n" + s.testView() + "\n")
	}
	return t.Box.Width(s.ctx.Width - 2).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}

func (s *destinationsScreen) ShortHelp() []key.Binding {
	k := s.ctx.Keys
	return []key.Binding{k.Add, k.Edit, k.TestDest, k.Remove, k.Back, k.Help, k.Quit}
}

func (s *destinationsScreen) FullHelp() [][]key.Binding {
	k := s.ctx.Keys
	return [][]key.Binding{{k.Up, k.Down, k.Top, k.Bottom}, {k.Add, k.Edit, k.TestDest, k.Remove, k.Back}}
}

// testView is the outcome of the last connection test, whole (the status
// line may cut a long one).
func (s *destinationsScreen) testView() string {
	t := s.ctx.Theme
	w := s.ctx.Width - 6
	switch {
	case !s.test.done:
		return t.Status.Render(s.ctx.spin() + " testing " + s.test.name + ": writing, reading back and deleting a test object…")
	case s.test.failed:
		return t.Error.Width(w).Render("✗ test of " + s.test.name + " failed: " + s.test.result)
	}
	return t.Status.Width(w).Render("✓ " + s.test.result)
}
