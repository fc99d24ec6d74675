package tui

import (
	"fmt"
	"strconv"
	"strings"

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
	ctx    *Context
	name   string
	health core.ServiceHealth
	// host is the service's host and its daemon, hosts how many hosts
	// the catalog's services are on.
	host    core.HostStatus
	hosts   int
	configs []core.Configuration
	history []core.Backup
	// trends are each configuration's newest backups, by destination:
	// its sparklines.
	trends  map[string][]core.Backup
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

// historyRows is the room left for the history under the connection and
// recovery lines, the problems, and the configurations with their
// sparklines.
func (s *serviceScreen) historyRows() int {
	n := s.ctx.bodyHeight() - 2 - (2*len(s.configs) + 1) - 2 - 2 - 2 - 1 - len(s.health.Problems)
	return max(n, 3)
}

func (s *serviceScreen) Update(msg tea.Msg) tea.Cmd {
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
		s.health, s.configs, s.host, s.hosts, s.trends = msg.Health, msg.Configs, msg.Host, msg.Hosts, msg.Trends
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
		if cmd, ok := s.ctx.press(s.keys(), msg); ok {
			return cmd
		}
		return s.maybeLoadMore()
	}
	return nil
}

// keys: the keys of the configurations pane act on its selected
// configuration, those of the history on its selected backup; each pane
// says so when the other one has the cursor.
func (s *serviceScreen) keys() keyTable {
	k := s.ctx.Keys
	inHistory := s.pane == paneHistory
	moves := k.moves(s.historyRows(), func(d int) tea.Cmd {
		s.move(d)
		return s.maybeLoadMore()
	})
	tab := action{key: k.Tab, run: func() tea.Cmd { s.pane = 1 - s.pane; return s.maybeLoadMore() }}
	backup := action{key: k.Backup, changes: "backing up", role: core.RoleOperator, run: func() tea.Cmd { return backupNow(s.ctx, s.name) }}
	upload := action{key: k.Upload, changes: "upload & restore", run: func() tea.Cmd { return openUpload(s.ctx, s.name) }}
	back := globalKey(k.Back)

	onBackup := func(run func(b core.Backup) tea.Cmd) func() tea.Cmd {
		return func() tea.Cmd { return run(s.history[s.histCur]) }
	}
	details := action{key: k.Details, disabled: s.noBackup,
		run: onBackup(func(b core.Backup) tea.Cmd { return openDetails(s.ctx, b, false) })}
	restore := action{key: k.Restore, changes: "restoring", disabled: s.noBackup,
		run: onBackup(func(b core.Backup) tea.Cmd { return openRestore(s.ctx, b) })}
	verify := action{key: k.Verify, role: core.RoleOperator, disabled: s.noBackup,
		run: onBackup(func(b core.Backup) tea.Cmd { return startVerify(s.ctx, b) })}
	del := action{key: k.Delete, changes: "deleting", disabled: s.noBackup, inactive: !inHistory,
		run: onBackup(func(b core.Backup) tea.Cmd { return openDetails(s.ctx, b, true) })}
	download := action{key: k.Download, role: core.RoleOperator, disabled: s.noBackup,
		run: onBackup(func(b core.Backup) tea.Cmd { return openDownload(s.ctx, b) })}

	o := core.ConfigOwner{Name: s.name}
	onConfig := func(run func(o core.ConfigOwner, dest string) tea.Cmd) func() tea.Cmd {
		return func() tea.Cmd { return run(o, s.configs[s.cfgCur].Destination) }
	}
	add := action{key: k.Add, changes: "adding a configuration", run: func() tea.Cmd { return addConfig(s.ctx, o) }}
	edit := action{key: k.Edit, changes: "editing a configuration", disabled: s.noConfig,
		run: onConfig(func(o core.ConfigOwner, d string) tea.Cmd { return editConfig(s.ctx, o, d) })}
	remove := action{key: k.Remove, changes: "removing a configuration", disabled: s.noConfig, inactive: inHistory,
		run: onConfig(func(o core.ConfigOwner, d string) tea.Cmd { return removeConfig(s.ctx, o, d) })}
	primary := action{key: k.MakePrimary, changes: "moving the primary", disabled: s.noConfig,
		run: onConfig(func(o core.ConfigOwner, d string) tea.Cmd { return makePrimary(s.ctx, o, d) })}
	editService := action{key: k.EditService, changes: "editing a service", run: func() tea.Cmd { return editService(s.ctx, s.name) }}
	book := action{key: k.Runbook, run: func() tea.Cmd { return openRunbook(s.ctx, s.name) }}
	hooks := action{key: k.Hooks, run: func() tea.Cmd { return openHooks(s.ctx, s.name) }}

	t := keyTable{groups: [][]action{moves, {tab, backup, upload, book, back}, {details, restore, verify, del, download},
		{add, edit, remove, primary, editService, hooks}}}
	if inHistory {
		t.footer = []action{details, restore, verify, del, download, tab, backup, upload, book, back}
	} else {
		t.footer = []action{tab, backup, add, edit, editService, upload, book, back}
	}
	return t
}

// noBackup says why there is no backup to act on, or "".
func (s *serviceScreen) noBackup() string {
	switch {
	case s.pane != paneHistory:
		return "pick a backup in the history first (tab moves to it)"
	case !s.loaded:
		return "the history is still loading"
	case s.histCur >= len(s.history):
		return "no backup to act on yet: press b to back up now"
	}
	return ""
}

// noConfig says why there is no configuration to act on, or "".
func (s *serviceScreen) noConfig() string {
	if s.pane != paneConfigs || s.cfgCur >= len(s.configs) {
		return "select a destination in the Destinations pane first (tab)"
	}
	return ""
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
	b.WriteString(fit(recoveryLine(t, s.health.Recovery, now), s.ctx.Width) + "\n")
	for _, p := range problemLines(t, s.health) {
		b.WriteString(fit(p, s.ctx.Width) + "\n")
	}
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
			last = "last " + age(now, h.LastBackup.StartedAt) + " " + strings.Fields(statusMark(*h.LastBackup))[0]
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
		// Under it, the sizes and times of its newest backups.
		trend, drawn := trendLine(s.trends[c.Destination], s.ctx.innerWidth()-6)
		if trend = fit(trend, s.ctx.innerWidth()-6); drawn {
			trend = styleSpark(t, trend)
		} else {
			trend = t.Muted.Render(trend)
		}
		cfg.WriteString("      " + trend + "\n")
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
	conn := fmt.Sprintf("%s @ %s · filestore %s", svc.DB.Database, svc.DB.Address(), svc.FilestoreDir)
	if s.hosts > 1 || core.ServiceHost(svc) != core.HostName() || s.host.Problem != "" {
		conn = "host " + s.hostText(svc) + " · " + conn
	}
	return conn
}

// hostText is the service's host and, when its daemon is down, since when.
func (s *serviceScreen) hostText(svc core.Service) string {
	h := core.ServiceHost(svc)
	switch s.host.Daemon {
	case core.DaemonDead:
		h += " (no daemon since " + when(s.ctx.now(), *s.host.Since) + ")"
	case core.DaemonStopped:
		h += " (daemon stopped at " + when(s.ctx.now(), *s.host.Since) + ")"
	}
	return h
}
