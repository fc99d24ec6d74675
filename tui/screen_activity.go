package tui

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// ActivityLoadedMsg carries the newest backups of every service.
type ActivityLoadedMsg struct {
	Backups []core.Backup
	Err     error
}

// activityLimit is how many recent jobs the activity screen shows.
const activityLimit = 200

// activityScreen shows what runs now and what ran lately across every
// service (key 4); a failure's full error shows under the list.
type activityScreen struct {
	ctx    *Context
	rows   []core.Backup
	cursor int
	offset int
	loaded bool
	err    error
}

func newActivityScreen(ctx *Context) *activityScreen { return &activityScreen{ctx: ctx} }

func (s *activityScreen) Title() string { return "Activity" }

func (s *activityScreen) Reload() tea.Cmd {
	cat := s.ctx.Catalog
	return func() tea.Msg {
		c := context.Background()
		running, err := cat.Backups(c, core.BackupFilter{Status: core.StatusRunning})
		if err != nil {
			return ActivityLoadedMsg{Err: err}
		}
		recent, err := cat.Backups(c, core.BackupFilter{Limit: activityLimit})
		if err != nil {
			return ActivityLoadedMsg{Err: err}
		}
		rows := running
		for _, b := range recent {
			if b.Status != core.StatusRunning {
				rows = append(rows, b)
			}
		}
		return ActivityLoadedMsg{Backups: rows}
	}
}

func (s *activityScreen) listRows() int { return max(s.ctx.bodyHeight()-8, 3) }

func (s *activityScreen) Update(msg tea.Msg) tea.Cmd {
	k := s.ctx.Keys
	switch msg := msg.(type) {
	case ActivityLoadedMsg:
		s.loaded, s.err = true, msg.Err
		if msg.Err == nil {
			s.rows = msg.Backups
		}
		s.move(0)
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Up):
			s.move(-1)
		case key.Matches(msg, k.Down):
			s.move(1)
		case key.Matches(msg, k.PageUp):
			s.move(-s.listRows())
		case key.Matches(msg, k.PageDown):
			s.move(s.listRows())
		case key.Matches(msg, k.Top):
			s.move(-len(s.rows))
		case key.Matches(msg, k.Bottom):
			s.move(len(s.rows))
		}
	}
	return nil
}

func (s *activityScreen) move(d int) {
	s.cursor = max(0, min(s.cursor+d, len(s.rows)-1))
	if s.cursor < s.offset {
		s.offset = s.cursor
	}
	if n := s.listRows(); s.cursor >= s.offset+n {
		s.offset = s.cursor - n + 1
	}
}

func (s *activityScreen) View() string {
	t, now := s.ctx.Theme, s.ctx.now()
	var b strings.Builder
	b.WriteString(t.Title.Render("Activity") + "\n")
	switch {
	case s.err != nil:
		b.WriteString(t.Error.Render("cannot read the catalog: "+s.err.Error()) + "\n")
	case !s.loaded:
		b.WriteString(t.Muted.Render(s.ctx.spin()+" loading…") + "\n")
	case len(s.rows) == 0:
		b.WriteString("Nothing ran yet.\n")
	default:
		b.WriteString(t.Muted.Render("  "+pad("STARTED", 16)+" "+pad("SERVICE", 14)+" "+pad("KIND", 9)+" "+pad("DESTINATION", 12)+" STATUS") + "\n")
		for i := s.offset; i < len(s.rows) && i < s.offset+s.listRows(); i++ {
			bk := s.rows[i]
			status := statusMark(bk)
			if bk.Status == core.StatusRunning {
				status = s.ctx.spin() + " " + progressText(bk.Phase, bk.Bytes, 0)
			}
			line := pad(bk.StartedAt.In(now.Location()).Format("2006-01-02 15:04"), 16) + " " + pad(bk.Service, 14) + " " +
				pad(string(bk.Kind), 9) + " " + pad(bk.Destination, 12) + " " + status
			cur := "  "
			if i == s.cursor {
				cur, line = "▸ ", t.Selected.Render(line)
			}
			b.WriteString(cur + line + "\n")
		}
		if s.cursor < len(s.rows) {
			if bk := s.rows[s.cursor]; bk.Error != "" {
				b.WriteString("\n" + t.Error.Render("error: ") + bk.Error + "\n")
			}
		}
	}
	return t.Box.Width(s.ctx.Width - 2).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}

func (s *activityScreen) ShortHelp() []key.Binding {
	k := s.ctx.Keys
	return []key.Binding{k.Services, k.Back, k.Help, k.Quit}
}

func (s *activityScreen) FullHelp() [][]key.Binding {
	k := s.ctx.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Back}}
}
