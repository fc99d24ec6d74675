package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/odoo-backup/odoo-backup/core"
)

// Options configure the console.
type Options struct {
	Catalog core.Catalog
	Engine  Engine
	// ReadOnly shows everything and offers no action that changes anything.
	ReadOnly bool
	// NoColor drops colours (NO_COLOR); marks and words carry every state.
	NoColor bool
	// Now is the clock; nil means time.Now.
	Now core.Clock
	// RefreshEvery is how often the visible screen reloads; 0 means 2s.
	RefreshEvery time.Duration
	// PageSize is how many history rows one query loads; 0 means 100.
	PageSize int
	// Context ends running jobs when cancelled; nil means Background.
	Context context.Context
}

// job is the backup this console runs.
type job struct {
	service  string
	dests    []string
	progress core.Progress
	updates  <-chan tea.Msg
	cancel   context.CancelFunc
}

// Model is the console's root: it owns the shared context, routes messages
// to the visible screen and draws the header, status and help lines.
type Model struct {
	ctx         *Context
	services    *servicesScreen
	service     *serviceScreen
	dialog      *backupDialog
	help        help.Model
	showHelp    bool
	confirmQuit bool
	job         *job
	status      string
	statusErr   bool
	refresh     time.Duration
}

// New builds the console.
func New(o Options) *Model {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RefreshEvery == 0 {
		o.RefreshEvery = 2 * time.Second
	}
	if o.PageSize == 0 {
		o.PageSize = 100
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	ctx := &Context{Width: 100, Height: 30, Theme: NewTheme(o.NoColor), Keys: NewKeyMap(o.ReadOnly), Now: o.Now,
		ReadOnly: o.ReadOnly, Catalog: o.Catalog, Engine: o.Engine, PageSize: o.PageSize, Base: o.Context}
	h := help.New()
	t := ctx.Theme
	h.Styles = help.Styles{ShortKey: t.Header, ShortDesc: t.Muted, ShortSeparator: t.Muted, Ellipsis: t.Muted,
		FullKey: t.Header, FullDesc: t.Muted, FullSeparator: t.Muted}
	return &Model{ctx: ctx, services: newServicesScreen(ctx), help: h, refresh: o.RefreshEvery}
}

// Run opens the console on the terminal until the user quits.
func Run(o Options) error {
	if o.NoColor {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	var opts []tea.ProgramOption
	opts = append(opts, tea.WithAltScreen())
	if o.Context != nil {
		opts = append(opts, tea.WithContext(o.Context))
	}
	_, err := tea.NewProgram(New(o), opts...).Run()
	return err
}

func (m *Model) Init() tea.Cmd {
	return tea.Batch(loadServices(m.ctx), tick(m.refresh))
}

func (m *Model) reload() tea.Cmd {
	if m.service != nil {
		// In order, so a screen that shows the service's new state also
		// shows the header's (running count) from the same moment or later.
		return tea.Sequence(loadServices(m.ctx), loadService(m.ctx, m.service.name))
	}
	return loadServices(m.ctx)
}

func (m *Model) setStatus(err bool, format string, args ...any) {
	m.status, m.statusErr = fmt.Sprintf(format, args...), err
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height = msg.Width, msg.Height
		m.help.Width = msg.Width
		return m, nil
	case TickMsg:
		return m, tea.Batch(m.reload(), tick(m.refresh))
	case ServicesLoadedMsg:
		return m, m.services.Update(msg)
	case ServiceLoadedMsg, HistoryPageMsg:
		if m.service != nil {
			return m, m.service.Update(msg)
		}
		return m, nil
	case BackupDialogMsg:
		if msg.Err != nil {
			m.setStatus(true, "cannot read %s: %v", msg.Service, msg.Err)
			return m, nil
		}
		m.dialog = newBackupDialog(m.ctx, msg.Service, msg.Configs)
		return m, nil
	case BackupStartedMsg:
		if m.job != nil {
			m.job.updates, m.job.cancel = msg.Updates, msg.Cancel
		}
		return m, tea.Batch(waitForJob(msg.Updates), m.reload())
	case BackupProgressMsg:
		if m.job == nil {
			return m, nil
		}
		m.job.progress = msg.Progress
		if m.service != nil {
			m.service.Update(msg)
		}
		return m, waitForJob(m.job.updates)
	case BackupDoneMsg:
		m.job = nil
		m.backupOutcome(msg)
		return m, m.reload()
	case tea.KeyMsg:
		return m, m.handleKey(msg)
	}
	return m, nil
}

func (m *Model) backupOutcome(msg BackupDoneMsg) {
	if msg.Err != nil {
		m.setStatus(true, "✗ backup of %s failed: %v", msg.Service, msg.Err)
		return
	}
	var parts []string
	for _, b := range msg.Backups {
		parts = append(parts, fmt.Sprintf("%s (%s)", b.Destination, size(b.Size)))
	}
	m.setStatus(false, "✓ backup of %s succeeded: %s", msg.Service, strings.Join(parts, ", "))
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.ctx.Keys
	if m.confirmQuit {
		switch {
		case key.Matches(msg, k.Yes):
			if m.job != nil && m.job.cancel != nil {
				m.job.cancel()
			}
			return tea.Quit
		case key.Matches(msg, k.No):
			m.confirmQuit = false
		}
		return nil
	}
	if key.Matches(msg, k.Quit) && (m.dialog == nil || msg.String() == "ctrl+c") {
		if m.job != nil {
			m.confirmQuit = true
			return nil
		}
		return tea.Quit
	}
	if m.showHelp {
		if key.Matches(msg, k.Help, k.Back) {
			m.showHelp = false
		}
		return nil
	}
	if m.dialog != nil {
		switch m.dialog.Update(msg) {
		case dialogCancelled:
			m.dialog = nil
		case dialogConfirmed:
			d := m.dialog
			m.dialog = nil
			m.job = &job{service: d.service, dests: d.destinations()}
			m.setStatus(false, "")
			return startBackup(m.ctx, d.service, m.job.dests)
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return nil
	case key.Matches(msg, k.Services):
		m.service = nil
		return loadServices(m.ctx)
	case key.Matches(msg, k.Back):
		if m.service != nil {
			m.service = nil
			return loadServices(m.ctx)
		}
		return nil
	case key.Matches(msg, k.Backup):
		return m.backupNow()
	case m.service == nil && key.Matches(msg, k.Open):
		row, ok := m.services.selected()
		if !ok {
			return nil
		}
		m.service = newServiceScreen(m.ctx, row.Health.Service.Name)
		return loadService(m.ctx, m.service.name)
	}
	if m.service != nil {
		return m.service.Update(msg)
	}
	return m.services.Update(msg)
}

func (m *Model) backupNow() tea.Cmd {
	if m.ctx.ReadOnly {
		m.setStatus(true, "read-only: backing up is off (the console was started with --read-only)")
		return nil
	}
	if m.job != nil {
		m.setStatus(true, "a backup of %s is already running in this console", m.job.service)
		return nil
	}
	name := ""
	if m.service != nil {
		name = m.service.name
	} else if row, ok := m.services.selected(); ok {
		name = row.Health.Service.Name
	}
	if name == "" {
		return nil
	}
	return loadBackupDialog(m.ctx, name)
}

func (m *Model) View() string {
	t := m.ctx.Theme
	title := " odoo-backup"
	if m.service != nil {
		title += " › " + m.service.name
	}
	info := fmt.Sprintf("%d services · scheduler: %s", len(m.services.rows), m.schedulerState())
	if n := m.services.running(); n > 0 {
		info += fmt.Sprintf(" · %d running", n)
	}
	right := "? help "
	gap := max(m.ctx.Width-lipgloss.Width(title)-lipgloss.Width(info)-lipgloss.Width(right)-4, 1)
	header := t.Header.Render(title) + "  " + info + strings.Repeat(" ", gap) + right

	var body string
	switch {
	case m.showHelp:
		body = lipgloss.Place(m.ctx.Width, m.ctx.bodyHeight(), lipgloss.Center, lipgloss.Center,
			t.Dialog.Render(t.Title.Render("Keys")+"\n\n"+m.help.FullHelpView(m.fullHelp())+"\n\n"+t.Muted.Render("? or esc closes")))
	case m.dialog != nil:
		body = lipgloss.Place(m.ctx.Width, m.ctx.bodyHeight(), lipgloss.Center, lipgloss.Center, m.dialog.View())
	case m.service != nil:
		body = m.service.View()
	default:
		body = m.services.View()
	}
	body = lipgloss.PlaceVertical(m.ctx.bodyHeight(), lipgloss.Top, body)

	status := ""
	switch {
	case m.confirmQuit:
		status = t.Error.Render(fmt.Sprintf(" A backup of %s runs in this console: quit and abort it? y / n", m.job.service))
	case m.job != nil:
		p := m.job.progress
		status = t.Status.Render(fmt.Sprintf(" ◐ backing up %s → %s: %s", m.job.service, strings.Join(m.job.dests, ", "),
			progressText(p.Phase, p.Bytes, p.Total)))
	case m.status != "" && m.statusErr:
		status = t.Error.Render(" " + m.status)
	case m.status != "":
		status = t.Status.Render(" " + m.status)
	}
	return header + "\n" + body + "\n" + status + "\n " + m.help.ShortHelpView(m.shortHelp())
}

func (m *Model) schedulerState() string {
	if !m.services.loaded {
		return "…"
	}
	return m.services.scheduler
}

func (m *Model) shortHelp() []key.Binding {
	switch {
	case m.dialog != nil:
		return m.dialog.ShortHelp()
	case m.service != nil:
		return m.service.ShortHelp()
	}
	return m.services.ShortHelp()
}

func (m *Model) fullHelp() [][]key.Binding {
	if m.service != nil {
		return m.service.FullHelp()
	}
	return m.services.FullHelp()
}
