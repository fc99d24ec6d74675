package tui

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// TemplatesLoadedMsg carries every template.
type TemplatesLoadedMsg struct {
	Templates []core.Template
	Err       error
}

// templatesScreen lists the templates (key 3): named sets of configurations
// a new service can start from.
type templatesScreen struct {
	ctx    *Context
	rows   []core.Template
	cursor int
	loaded bool
	err    error
}

func newTemplatesScreen(ctx *Context) *templatesScreen { return &templatesScreen{ctx: ctx} }

func (s *templatesScreen) Title() string { return "Templates" }

func (s *templatesScreen) Reload() tea.Cmd {
	cat := s.ctx.Catalog
	return func() tea.Msg {
		ts, err := cat.Templates(context.Background())
		return TemplatesLoadedMsg{Templates: ts, Err: err}
	}
}

func (s *templatesScreen) Update(msg tea.Msg) tea.Cmd {
	k := s.ctx.Keys
	switch msg := msg.(type) {
	case TemplatesLoadedMsg:
		s.loaded, s.err = true, msg.Err
		if msg.Err == nil {
			s.rows = msg.Templates
		}
		s.cursor = min(s.cursor, max(len(s.rows)-1, 0))
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Up):
			s.cursor = max(s.cursor-1, 0)
		case key.Matches(msg, k.Down):
			s.cursor = min(s.cursor+1, max(len(s.rows)-1, 0))
		}
	}
	return nil
}

func (s *templatesScreen) View() string {
	t := s.ctx.Theme
	var b strings.Builder
	b.WriteString(t.Title.Render("Templates") + "\n")
	switch {
	case s.err != nil:
		b.WriteString(t.Error.Render("cannot read the catalog: "+s.err.Error()) + "\n")
	case !s.loaded:
		b.WriteString(t.Muted.Render(s.ctx.spin()+" loading…") + "\n")
	case len(s.rows) == 0:
		b.WriteString("No template yet.\n")
	}
	tbl := newTable(s.ctx.innerWidth()-6,
		column{title: "DESTINATION", min: 10, max: 20},
		column{title: "SCHEDULE", min: 11, max: 24},
		column{title: "RETENTION", min: 8})
	for i, tp := range s.rows {
		cur := "  "
		name := tp.Name
		if i == s.cursor {
			cur, name = "▸ ", t.Selected.Render(name)
		}
		b.WriteString(cur + name + "\n")
		for _, c := range tp.Configurations {
			star := "  "
			if c.Primary {
				star = t.Primary.Render("★ ")
			}
			b.WriteString("    " + star + tbl.row(c.Destination, c.Schedule.Describe(c.Frequency), c.Retention.String()) + "\n")
		}
	}
	return t.Box.Width(s.ctx.Width - 2).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}

func (s *templatesScreen) ShortHelp() []key.Binding {
	k := s.ctx.Keys
	return []key.Binding{k.Services, k.Back, k.Help, k.Quit}
}

func (s *templatesScreen) FullHelp() [][]key.Binding {
	k := s.ctx.Keys
	return [][]key.Binding{{k.Up, k.Down}, {k.Back}}
}
