package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// ActivityLoadedMsg carries the running backups and the newest others of
// every service.
type ActivityLoadedMsg struct {
	Backups []core.Backup
	Err     error
}

// activityLimit is how many recent jobs the activity screen shows.
const activityLimit = 200

// activityScreen shows what runs now and what ran lately across every
// service (key 4): the running first, then the newest; the selected one's
// full error shows under the list, wrapped to the width.
type activityScreen struct {
	ctx    *Context
	rows   []core.Backup
	cursor int
	offset int
	loaded bool
	err    error
	// live is this console's job progress, by backup id.
	live map[int64]core.Progress
}

func newActivityScreen(ctx *Context) *activityScreen {
	return &activityScreen{ctx: ctx, live: map[int64]core.Progress{}}
}

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

func (s *activityScreen) Update(msg tea.Msg) tea.Cmd {
	k := s.ctx.Keys
	switch msg := msg.(type) {
	case ActivityLoadedMsg:
		s.loaded, s.err = true, msg.Err
		if msg.Err == nil {
			s.keepSelection(msg.Backups)
		}
		s.move(0)
	case JobProgressMsg:
		s.live[msg.Progress.BackupID] = msg.Progress
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

// keepSelection takes the new rows and keeps the cursor on the backup it
// was on, so a refresh does not move what the user reads.
func (s *activityScreen) keepSelection(rows []core.Backup) {
	if s.cursor < len(s.rows) {
		id := s.rows[s.cursor].ID
		for i, b := range rows {
			if b.ID == id {
				s.offset += i - s.cursor
				s.cursor = i
				break
			}
		}
	}
	s.rows = rows
}

func (s *activityScreen) move(d int) {
	s.cursor = max(0, min(s.cursor+d, len(s.rows)-1))
	n := s.listRows()
	s.offset = max(0, min(s.offset, s.cursor, len(s.rows)-n))
	if s.cursor >= s.offset+n {
		s.offset = s.cursor - n + 1
	}
}

// contentRows is the room inside the box.
func (s *activityScreen) contentRows() int { return max(s.ctx.bodyHeight()-2, 6) }

// detail is the selected backup's error, headed by which backup it is,
// wrapped to the width; it leaves the list at least three rows.
func (s *activityScreen) detail() []string {
	if s.cursor >= len(s.rows) || s.rows[s.cursor].Error == "" {
		return nil
	}
	bk := s.rows[s.cursor]
	room := s.contentRows() - 2 - 3 - 1 // title and column titles, three rows, a blank line
	if room < 2 {
		return nil
	}
	w := s.ctx.innerWidth()
	head := fmt.Sprintf("%s backup %d of %s → %s, %s:", statusMark(bk), bk.ID, bk.Service, bk.Destination,
		bk.StartedAt.In(s.ctx.now().Location()).Format("2006-01-02 15:04"))
	lines := []string{s.ctx.Theme.Error.Render(fit(head, w))}
	for _, l := range wrap(bk.Error, w-2, room-1) {
		lines = append(lines, "  "+l)
	}
	return lines
}

// listRows is how many backups show: what the box holds under the title,
// the column titles and the selected backup's error.
func (s *activityScreen) listRows() int {
	n := s.contentRows() - 2
	if d := s.detail(); len(d) > 0 {
		n -= len(d) + 1
	}
	return max(n, 3)
}

func (s *activityScreen) activityTable() table {
	return newTable(s.ctx.innerWidth()-2,
		column{title: "STARTED", min: 16, max: 16},
		column{title: "SERVICE", min: 10, max: 16},
		column{title: "DESTINATION", short: "DEST", min: 8, max: 14, drop: 2},
		column{title: "KIND", min: 9, max: 9, drop: 1},
		column{title: "SIZE", min: 8, max: 9, drop: 3},
		column{title: "STATUS", min: 24})
}

// summary counts the running and failed backups listed.
func (s *activityScreen) summary() string {
	running, failed := 0, 0
	for _, b := range s.rows {
		switch b.Status {
		case core.StatusRunning:
			running++
		case core.StatusFailed:
			failed++
		}
	}
	return fmt.Sprintf("%d running · %d failed of the last %d backups", running, failed, len(s.rows)-running)
}

func (s *activityScreen) View() string {
	t, now := s.ctx.Theme, s.ctx.now()
	var b strings.Builder
	b.WriteString(t.Title.Render("Activity"))
	switch {
	case s.err != nil:
		b.WriteString("\n" + t.Error.Render(fit("cannot read the catalog: "+s.err.Error(), s.ctx.innerWidth())) + "\n")
	case !s.loaded:
		b.WriteString("\n" + t.Muted.Render(s.ctx.spin()+" loading…") + "\n")
	case len(s.rows) == 0:
		b.WriteString("\nNothing ran yet: back up a service with b on the services screen (key 1).\n")
	default:
		b.WriteString(t.Muted.Render(fit("  "+s.summary(), s.ctx.innerWidth()-lipglossWidth("Activity"))) + "\n")
		tbl := s.activityTable()
		b.WriteString(t.Muted.Render("  "+tbl.header()) + "\n")
		for i := s.offset; i < len(s.rows) && i < s.offset+s.listRows(); i++ {
			bk := s.rows[i]
			status, sz := statusMark(bk), size(bk.Size)
			switch bk.Status {
			case core.StatusRunning:
				p, ok := s.live[bk.ID]
				if !ok {
					p = core.Progress{Phase: bk.Phase, Bytes: bk.Bytes}
				}
				status, sz = s.ctx.spin()+" "+progressText(p.Phase, p.Bytes, p.Total), ""
			case core.StatusFailed:
				status += ": " + firstLine(bk.Error)
				sz = ""
			}
			line := tbl.row(bk.StartedAt.In(now.Location()).Format("2006-01-02 15:04"), bk.Service, bk.Destination,
				string(bk.Kind), sz, status)
			cur := "  "
			if i == s.cursor {
				cur, line = "▸ ", t.Selected.Render(line)
			}
			b.WriteString(cur + line + "\n")
		}
		if d := s.detail(); len(d) > 0 {
			b.WriteString("\n" + strings.Join(d, "\n") + "\n")
		}
	}
	return t.Box.Width(s.ctx.Width - 2).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}

// firstLine is a message's first line, for a one-row summary.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func (s *activityScreen) ShortHelp() []key.Binding {
	k := s.ctx.Keys
	return []key.Binding{k.Up, k.Down, k.Services, k.Back, k.Help, k.Quit}
}

func (s *activityScreen) FullHelp() [][]key.Binding {
	k := s.ctx.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Back}}
}
