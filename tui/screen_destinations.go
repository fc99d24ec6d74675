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
}

func newDestinationsScreen(ctx *Context) *destinationsScreen { return &destinationsScreen{ctx: ctx} }

func (s *destinationsScreen) Title() string { return "Destinations" }

func (s *destinationsScreen) Reload() tea.Cmd {
	cat := s.ctx.Catalog
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
		}
	}
	return nil
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
		b.WriteString("No destination yet.\n")
	default:
		tbl := newTable(s.ctx.innerWidth()-2,
			column{title: "NAME", min: 10, max: 16},
			column{title: "KIND", min: 5, max: 5},
			column{title: "WHERE", min: 24, max: 60},
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
	return t.Box.Width(s.ctx.Width - 2).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}

func (s *destinationsScreen) ShortHelp() []key.Binding {
	k := s.ctx.Keys
	return []key.Binding{k.Services, k.Back, k.Help, k.Quit}
}

func (s *destinationsScreen) FullHelp() [][]key.Binding {
	k := s.ctx.Keys
	return [][]key.Binding{{k.Up, k.Down, k.Top, k.Bottom}, {k.Back}}
}
