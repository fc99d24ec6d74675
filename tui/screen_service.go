package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

const (
	paneConfigs = iota
	paneHistory
)

// serviceScreen shows one service: its configurations and its history,
// loaded a page at a time so a long history costs nothing until scrolled to.
type serviceScreen struct {
	ctx     *Context
	name    string
	health  core.ServiceHealth
	configs []core.Configuration
	history []core.Backup
	loaded  bool
	err     error
	pane    int
	cfgCur  int
	histCur int
	offset  int
	// more is false once a page came back short: the history's end.
	more, loadingMore bool
	// seq is the newest load applied.
	seq uint64
	// live is this console's job progress, by backup id.
	live map[int64]core.Progress
}

func newServiceScreen(ctx *Context, name string) *serviceScreen {
	return &serviceScreen{ctx: ctx, name: name, pane: paneConfigs, live: map[int64]core.Progress{}}
}

func (s *serviceScreen) Title() string   { return s.name }
func (s *serviceScreen) Reload() tea.Cmd { return loadService(s.ctx, s.name) }

func (s *serviceScreen) historyRows() int {
	n := s.ctx.bodyHeight() - 2 - (len(s.configs) + 1) - 2 - 2 - 2
	return max(n, 3)
}

func (s *serviceScreen) Update(msg tea.Msg) tea.Cmd {
	k := s.ctx.Keys
	switch msg := msg.(type) {
	case ServiceLoadedMsg:
		if msg.Service != s.name || msg.Seq < s.seq {
			return nil
		}
		s.seq = msg.Seq
		s.loaded, s.err = true, msg.Err
		if msg.Err != nil {
			return nil
		}
		s.health, s.configs = msg.Health, msg.Configs
		s.mergeNewest(msg.History)
		for _, b := range msg.History {
			if b.Status == core.StatusRunning {
				if _, mine := s.live[b.ID]; !mine {
					s.ctx.progress.observe(b.ID, b.Bytes, s.ctx.now())
				}
			}
		}
		s.cfgCur = min(s.cfgCur, max(len(s.configs)-1, 0))
	case HistoryPageMsg:
		if msg.Service != s.name {
			return nil
		}
		s.loadingMore = false
		if msg.Err != nil {
			s.err = msg.Err
			return nil
		}
		if n := len(s.history); n > 0 && s.history[n-1].ID == msg.BeforeID {
			s.history = append(s.history, msg.Rows...)
			s.more = len(msg.Rows) == s.ctx.PageSize
		}
	case JobProgressMsg:
		s.live[msg.Progress.BackupID] = msg.Progress
		s.ctx.progress.observe(msg.Progress.BackupID, msg.Progress.Bytes, s.ctx.now())
	case tea.KeyMsg:
		if d, ok := k.cursorMove(msg, s.historyRows()); ok {
			s.move(d)
			return s.maybeLoadMore()
		}
		switch {
		case key.Matches(msg, k.Tab):
			s.pane = 1 - s.pane
		case key.Matches(msg, k.Backup):
			return backupNow(s.ctx, s.name)
		case key.Matches(msg, k.Upload):
			return openUpload(s.ctx, s.name)
		case s.pane == paneHistory && key.Matches(msg, k.Details, k.Restore, k.Verify, k.Delete, k.Download):
			return s.onBackup(msg)
		case key.Matches(msg, k.Restore, k.Verify):
			return setStatus(true, "pick a backup in the history first (tab moves to it)")
		case key.Matches(msg, k.EditService):
			return editService(s.ctx, s.name)
		case key.Matches(msg, k.Add):
			return addConfig(s.ctx, configOwner{name: s.name})
		case s.pane == paneConfigs && key.Matches(msg, k.Edit, k.Remove, k.MakePrimary):
			return s.configKey(msg)
		}
		return s.maybeLoadMore()
	}
	return nil
}

// mergeNewest puts a fresh newest page of the history in front of the older
// rows already loaded.
func (s *serviceScreen) mergeNewest(page []core.Backup) {
	s.history, s.more = mergeNewest(page, s.history, func(b core.Backup) int64 { return b.ID }, s.ctx.PageSize, s.more)
	s.histCur = min(s.histCur, max(len(s.history)-1, 0))
}

func (s *serviceScreen) move(d int) {
	if s.pane == paneConfigs {
		s.cfgCur = max(0, min(s.cfgCur+d, len(s.configs)-1))
		return
	}
	s.histCur = max(0, min(s.histCur+d, len(s.history)-1))
	rows := s.historyRows()
	if s.histCur < s.offset {
		s.offset = s.histCur
	}
	if s.histCur >= s.offset+rows {
		s.offset = s.histCur - rows + 1
	}
}

func (s *serviceScreen) maybeLoadMore() tea.Cmd {
	if !s.more || s.loadingMore || len(s.history) == 0 || s.histCur < len(s.history)-s.historyRows() {
		return nil
	}
	s.loadingMore = true
	return loadHistoryPage(s.ctx, s.name, s.history[len(s.history)-1].ID)
}

func (s *serviceScreen) View() string {
	t, now := s.ctx.Theme, s.ctx.now()
	w := s.ctx.Width - 2
	if s.err != nil {
		return t.Box.Width(w).Render(t.Error.Render("cannot read " + s.name + ": " + errorText(s.err)))
	}
	if !s.loaded {
		return t.Box.Width(w).Render(t.Muted.Render("loading " + s.name + "…"))
	}
	svc := s.health.Service
	var b strings.Builder
	state := " · " + t.health(s.health.State)
	b.WriteString(fit(s.connection(svc), s.ctx.Width-lipglossWidth(state)) + state + "\n")
	cfgTbl, histTbl := s.tables()

	var cfg strings.Builder
	cfg.WriteString(s.paneTitle("Destinations", paneConfigs) + "\n")
	if len(s.configs) == 0 {
		cfg.WriteString("No destination yet: press a to add one")
	}
	for i, c := range s.configs {
		mark := "  "
		if c.Primary {
			mark = t.Primary.Render("★ ")
		}
		h := s.healthOf(c.Destination)
		last := "last never"
		if h.LastBackup != nil {
			last = "last " + age(now, h.LastBackup.StartedAt) + " " + statusMark(*h.LastBackup)[:len("✓")]
		}
		next := "—"
		if h.NextRun != nil {
			next = "next " + when(now, *h.NextRun)
		}
		line := cfgTbl.row(c.Destination, c.Schedule.Describe(c.Frequency), c.Retention.String(), last, next, "")
		b := s.cursorMark(paneConfigs, i == s.cfgCur) + mark
		if s.pane == paneConfigs && i == s.cfgCur {
			line = t.Selected.Render(line)
		}
		cfg.WriteString(b + line + t.health(h.State) + "\n")
	}
	b.WriteString(t.Box.Width(w).Render(strings.TrimRight(cfg.String(), "\n")) + "\n")

	var hist strings.Builder
	title := fmt.Sprintf("History %d", len(s.history))
	if s.more {
		title += "+"
	}
	hist.WriteString(s.paneTitle(title, paneHistory) + "\n")
	hist.WriteString(t.Muted.Render("  "+histTbl.header()) + "\n")
	rows := s.historyRows()
	if len(s.history) == 0 {
		hist.WriteString("  no backup yet: press b to back up now\n")
	}
	for i := s.offset; i < len(s.history) && i < s.offset+rows; i++ {
		bk := s.history[i]
		status := statusMark(bk)
		sz, dur := historySize(bk), took(bk.Duration())
		if bk.Status == core.StatusRunning {
			p, ok := s.live[bk.ID]
			if !ok {
				p = core.Progress{Phase: bk.Phase, Bytes: bk.Bytes}
			}
			status = s.ctx.spin() + " " + runningText(p, expectedSize(bk, s.history[i+1:]), s.ctx.progress.rate(bk.ID), false) + stalledText(bk, now)
			sz, dur = size(p.Bytes), took(now.Sub(bk.StartedAt))
		}
		if bk.Orphaned {
			status += "  orphaned"
		}
		line := histTbl.row(strconv.FormatInt(bk.ID, 10), bk.StartedAt.In(now.Location()).Format("2006-01-02 15:04"), string(bk.Kind), bk.Destination, sz, dur, status)
		if s.pane == paneHistory && i == s.histCur {
			line = t.Selected.Render(line)
		}
		hist.WriteString(s.cursorMark(paneHistory, i == s.histCur) + line + "\n")
	}
	if s.loadingMore {
		hist.WriteString(t.Muted.Render("  loading older backups…") + "\n")
	}
	b.WriteString(t.Box.Width(w).Render(strings.TrimRight(hist.String(), "\n")))
	return b.String()
}

func (s *serviceScreen) paneTitle(title string, pane int) string {
	if s.pane == pane {
		return s.ctx.Theme.Title.Render("[" + title + "]")
	}
	return s.ctx.Theme.Muted.Render(" " + title + " ")
}

func (s *serviceScreen) cursorMark(pane int, at bool) string {
	if at && s.pane == pane {
		return "▸ "
	}
	return "  "
}

func (s *serviceScreen) healthOf(dest string) core.ConfigHealth {
	for _, h := range s.health.Configurations {
		if h.Destination == dest {
			return h
		}
	}
	return core.ConfigHealth{State: core.HealthNone}
}

func (s *serviceScreen) ShortHelp() []key.Binding {
	k := s.ctx.Keys
	if s.pane == paneHistory {
		return []key.Binding{k.Details, k.Restore, k.Verify, k.Delete, k.Download, k.Tab, k.Backup, k.Upload, k.Back}
	}
	return []key.Binding{k.Tab, k.Backup, k.Add, k.Edit, k.EditService, k.Upload, k.Back}
}

func (s *serviceScreen) FullHelp() [][]key.Binding {
	k := s.ctx.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Tab, k.Backup, k.Upload, k.Back},
		{k.Details, k.Restore, k.Verify, k.Delete, k.Download}, {k.Add, k.Edit, k.Remove, k.MakePrimary, k.EditService}}
}

// historySize is a finished backup's size; one that failed stored nothing,
// which "0 B" would hide behind a number.
func historySize(b core.Backup) string {
	if b.Status == core.StatusFailed || b.Size <= 0 && b.Status != core.StatusSucceeded {
		return "—"
	}
	return size(b.Size)
}

// connection is the service's database and filestore line. A placeholder
// (left by a catalog rebuild) has no server yet, not one at ":0".
func (s *serviceScreen) connection(svc core.Service) string {
	if svc.Placeholder || svc.DB.Host == "" && svc.DB.Port == 0 {
		return fmt.Sprintf("%s · no connection yet: add %s again with a on the services screen (1)", svc.DB.Database, svc.Name)
	}
	return fmt.Sprintf("%s @ %s · filestore %s", svc.DB.Database, svc.DB.Address(), svc.FilestoreDir)
}
