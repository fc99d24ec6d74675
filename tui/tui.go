package tui

import (
	"context"
	"fmt"
	"slices"
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
	Catalog Catalog
	// CatalogName is the catalog's path or URL, without a password, for
	// the sentence shown while it is unreachable.
	CatalogName string
	Engine      Engine
	// OpenStore opens a destination's storage, for the probe made before a
	// destination is saved and by its test; nil means the engine's, when
	// the engine is a *core.Engine.
	OpenStore core.StoreOpener
	// ReadOnly shows everything and offers no action that changes anything.
	ReadOnly bool
	// Role is the database user of a PostgreSQL catalog and its role, read
	// at start: the header shows it, and the keys it does not allow say
	// why instead of trying. "owner" on SQLite; zero shows no role.
	Role core.RoleMember
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
	// Animate turns the spinners; Run sets it. Off, they show one still
	// frame, which keeps test frames stable.
	Animate bool
	// Scheduler is the scheduler this console runs while no daemon does;
	// nil when it runs none (read-only).
	Scheduler Scheduler
	// Requests is where a backup or restore of a service of another host
	// is asked of that host's daemon; nil runs everything on this host.
	Requests core.RequestQueue
}

// Scheduler is what the console needs of the scheduler it runs: the
// services its scheduled jobs work on now, so quitting asks first.
type Scheduler interface {
	Running() []string
}

// Model is the console's root: it owns the shared context, the stack of
// screens, the open dialog and this console's job, routes messages, and
// draws the header, status and help lines.
type Model struct {
	ctx *Context
	// home is the services screen; it stays loaded whatever is shown, for
	// the header's scheduler state and running count.
	home        *servicesScreen
	stack       []screen
	dialog      dialog
	help        help.Model
	showHelp    bool
	confirmQuit bool
	// quitScheduled lists the scheduled jobs of this console quitting would
	// abort, when confirmQuit asks about them.
	quitScheduled []string
	scheduler     Scheduler
	job           *job
	jobSeq        int
	status        string
	statusErr     bool
	refresh       time.Duration
	// refreshing is set while a periodic reload is being read.
	refreshing bool
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
	if e, ok := o.Engine.(*core.Engine); ok && o.OpenStore == nil {
		o.OpenStore = e.OpenStore
	}
	ctx := &Context{Width: 100, Height: 30, Theme: NewTheme(o.NoColor), Keys: NewKeyMap(o.ReadOnly), Now: o.Now,
		ReadOnly: o.ReadOnly, Role: o.Role.Role, DBUser: o.Role.User, CatalogName: o.CatalogName, Catalog: o.Catalog, Engine: o.Engine, OpenStore: o.OpenStore, PageSize: o.PageSize, Base: o.Context, Animate: o.Animate,
		Requests: o.Requests}
	h := help.New()
	t := ctx.Theme
	h.Styles = help.Styles{ShortKey: t.Header, ShortDesc: t.Muted, ShortSeparator: t.Muted, Ellipsis: t.Muted,
		FullKey: t.Header, FullDesc: t.Muted, FullSeparator: t.Muted}
	home := newServicesScreen(ctx)
	return &Model{ctx: ctx, home: home, stack: []screen{home}, help: h, refresh: o.RefreshEvery, scheduler: o.Scheduler}
}

// Run opens the console on the terminal until the user quits.
func Run(o Options) error {
	if o.NoColor {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	o.Animate = true
	var opts []tea.ProgramOption
	opts = append(opts, tea.WithAltScreen())
	if o.Context != nil {
		opts = append(opts, tea.WithContext(o.Context))
	}
	_, err := tea.NewProgram(New(o), opts...).Run()
	return err
}

func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.home.Reload(), tick(m.refresh), m.spinTick())
}

// refreshedMsg says the periodic reload's messages are all delivered.
type refreshedMsg struct{}

// spinMsg turns the spinners one frame.
type spinMsg struct{}

func (m *Model) spinTick() tea.Cmd {
	if !m.ctx.Animate {
		return nil
	}
	return tea.Tick(150*time.Millisecond, func(time.Time) tea.Msg { return spinMsg{} })
}

func (m *Model) top() screen { return m.stack[len(m.stack)-1] }

func (m *Model) reload() tea.Cmd {
	if top := m.top(); top != screen(m.home) {
		// In order, so a screen that shows a service's new state also shows
		// the header's (running count) from the same moment or later.
		return tea.Sequence(m.home.Reload(), top.Reload())
	}
	return m.home.Reload()
}

// clearStatus drops the last message when the screen changes: it spoke of
// the screen left behind.
func (m *Model) clearStatus() { m.status, m.statusErr = "", false }

func (m *Model) setStatus(err bool, format string, args ...any) {
	m.status, m.statusErr = fmt.Sprintf(format, args...), err
}

// broadcast gives a data message to the dialog and every screen: each
// takes what is its own.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	if m.dialog != nil {
		done, cmd := m.dialog.Update(msg)
		if done {
			m.dialog = nil
		}
		cmds = append(cmds, cmd)
	}
	for _, s := range m.stack {
		cmds = append(cmds, s.Update(msg))
	}
	if m.top() != screen(m.home) && !m.inStack(m.home) {
		cmds = append(cmds, m.home.Update(msg))
	}
	return tea.Batch(cmds...)
}

func (m *Model) inStack(s screen) bool {
	for _, x := range m.stack {
		if x == s {
			return true
		}
	}
	return false
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height = msg.Width, msg.Height
		m.help.Width = msg.Width
		return m, nil
	case TickMsg:
		if m.refreshing {
			// The last periodic read is not back yet (a slow or locked
			// catalog): skip this one rather than pile reads up.
			return m, tick(m.refresh)
		}
		m.refreshing = true
		return m, tea.Batch(tea.Sequence(m.reload(), func() tea.Msg { return refreshedMsg{} }), tick(m.refresh))
	case refreshedMsg:
		m.refreshing = false
		return m, nil
	case spinMsg:
		m.ctx.frame++
		return m, m.spinTick()
	case pushMsg:
		m.clearStatus()
		m.stack = append(m.stack, msg.s)
		return m, msg.s.Reload()
	case openMsg:
		m.dialog = msg.d
		return m, nil
	case statusMsg:
		m.setStatus(msg.err, "%s", msg.text)
		return m, nil
	case startJobMsg:
		return m, m.startJob(msg.job)
	case JobStartedMsg:
		if m.job != nil && m.job.id == msg.ID {
			m.job.updates, m.job.cancel = msg.Updates, msg.Cancel
		}
		return m, tea.Batch(waitForJob(msg.Updates), m.reload(), m.broadcast(msg))
	case JobProgressMsg:
		if m.job == nil || m.job.id != msg.ID {
			return m, nil
		}
		m.job.observe(msg.Progress, time.Now())
		return m, tea.Batch(waitForJob(m.job.updates), m.broadcast(msg))
	case JobDoneMsg:
		if m.job != nil && m.job.id == msg.ID {
			m.job = nil
		}
		if msg.Err != nil {
			m.setStatus(true, "✗ %s failed: %s", msg.Label, errorText(msg.Err))
		} else {
			m.setStatus(false, "✓ %s", msg.Summary)
		}
		return m, tea.Batch(m.reload(), m.broadcast(msg))
	case tea.KeyMsg:
		return m, m.handleKey(msg)
	}
	return m, m.broadcast(msg)
}

func (m *Model) startJob(j JobSpec) tea.Cmd {
	what := ""
	if j.Changes {
		what = j.Label
	}
	switch why := m.ctx.readOnlyReason(what); {
	case why != "":
		// Screens refuse first; this keeps a job that writes from ever
		// starting in a read-only console.
		m.setStatus(true, "%s", why)
		return m.broadcast(JobRefusedMsg{Label: j.Label, Reason: m.status})
	case m.job != nil:
		m.setStatus(true, "%s is already running in this console; wait for it to end", m.job.label)
		return m.broadcast(JobRefusedMsg{Label: j.Label, Reason: m.status})
	}
	m.jobSeq++
	now := time.Now()
	m.job = &job{id: m.jobSeq, label: j.Label, started: now, phaseStart: now}
	m.setStatus(false, "")
	return runJob(m.ctx.Base, m.jobSeq, j)
}

// back closes the top screen; the home screen stays.
func (m *Model) back() tea.Cmd {
	m.clearStatus()
	if len(m.stack) == 1 {
		if m.top() == screen(m.home) {
			return nil
		}
		m.stack = []screen{m.home}
		return m.home.Reload()
	}
	m.stack = m.stack[:len(m.stack)-1]
	return m.top().Reload()
}

// switchTo shows a top-level screen (keys 1 to 4) with nothing under it.
func (m *Model) switchTo(s screen) tea.Cmd {
	m.clearStatus()
	m.stack = []screen{s}
	if s == screen(m.home) {
		return m.home.Reload()
	}
	return tea.Batch(m.home.Reload(), s.Reload())
}

func takesText(x any) bool {
	t, ok := x.(textTaker)
	return ok && t.TakesText()
}

// keys are the root's own keys, the same on every screen.
func (m *Model) keys() []action {
	k := m.ctx.Keys
	return []action{
		{key: k.Services, run: func() tea.Cmd { return m.switchTo(m.home) }},
		{key: k.Destinations, run: func() tea.Cmd { return m.switchTo(newDestinationsScreen(m.ctx)) }},
		{key: k.Templates, run: func() tea.Cmd { return m.switchTo(newTemplatesScreen(m.ctx)) }},
		{key: k.Activity, run: func() tea.Cmd { return m.switchTo(newActivityScreen(m.ctx)) }},
		{key: k.Notifications, run: func() tea.Cmd { return m.switchTo(newNotifyScreen(m.ctx)) }},
		{key: k.Help, run: func() tea.Cmd { m.showHelp = true; return nil }},
		{key: k.Quit, run: m.quit},
		{key: k.Back, run: m.back},
	}
}

// quit ends the console, or asks first when that would abort a job.
func (m *Model) quit() tea.Cmd {
	if m.scheduler != nil {
		m.quitScheduled = m.scheduler.Running()
	}
	if m.job != nil || len(m.quitScheduled) > 0 {
		m.confirmQuit = true
		return nil
	}
	return tea.Quit
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
	typing := takesText(m.dialog) || (m.dialog == nil && takesText(m.top()))
	if msg.String() == "ctrl+c" || (key.Matches(msg, k.Quit) && m.dialog == nil && !typing) {
		return m.quit()
	}
	if m.showHelp {
		if key.Matches(msg, k.Help, k.Back) {
			m.showHelp = false
		}
		return nil
	}
	if m.dialog != nil {
		done, cmd := m.dialog.Update(msg)
		if done {
			m.dialog = nil
		}
		return cmd
	}
	if typing {
		return m.top().Update(msg)
	}
	for _, a := range m.keys() {
		if key.Matches(msg, a.key) {
			return a.run()
		}
	}
	return m.top().Update(msg)
}

func (m *Model) View() string {
	t := m.ctx.Theme
	title := " odoo-backup"
	for _, s := range m.stack {
		if s != screen(m.home) {
			title += " › " + s.Title()
		}
	}
	right := "? help "
	infoFor := func(sched string, role bool) string {
		info := fmt.Sprintf("%s · scheduler: %s", plural(len(m.home.rows), "service"), sched)
		if n := m.home.running(); n > 0 {
			info += fmt.Sprintf(" · %d running", n)
		}
		if role && m.ctx.Role != "" {
			info += " · role: " + string(m.ctx.Role)
		}
		return info
	}
	fits := func(info string) bool {
		return lipgloss.Width(title)+lipgloss.Width(info)+lipgloss.Width(right)+5 <= m.ctx.Width
	}
	// A narrow terminal keeps who runs the schedules, the user's role and
	// the help key: it gives up the detail in parentheses first, then the
	// owner's role, which limits nothing.
	short, _, _ := strings.Cut(m.schedulerState(), " (")
	info := infoFor(m.schedulerState(), true)
	for _, next := range []string{infoFor(short, true), infoFor(short, m.ctx.Role != core.RoleOwner)} {
		if fits(info) {
			break
		}
		info = next
	}
	gap := max(m.ctx.Width-lipgloss.Width(title)-lipgloss.Width(info)-lipgloss.Width(right)-4, 1)
	header := t.Header.Render(title) + "  " + info + strings.Repeat(" ", gap) + right
	if lipgloss.Width(header) > m.ctx.Width {
		header = fit(t.Header.Render(title)+"  "+info, m.ctx.Width)
	}

	var body string
	switch {
	case m.showHelp:
		body = lipgloss.Place(m.ctx.Width, m.ctx.bodyHeight(), lipgloss.Center, lipgloss.Center,
			t.Dialog.Render(t.Title.Render("Keys")+"\n\n"+m.fullHelpView(m.ctx.Width-6, m.ctx.bodyHeight()-6)+"\n\n"+t.Muted.Render("? or esc closes")))
	case m.dialog != nil:
		body = lipgloss.Place(m.ctx.Width, m.ctx.bodyHeight(), lipgloss.Center, lipgloss.Center, m.dialog.View())
	default:
		body = m.top().View()
	}
	body = lipgloss.PlaceVertical(m.ctx.bodyHeight(), lipgloss.Top, body)
	if lines := strings.Split(body, "\n"); len(lines) > m.ctx.bodyHeight() {
		// A screen taller than the terminal would push the header out.
		body = strings.Join(lines[:m.ctx.bodyHeight()], "\n")
	}

	status := ""
	switch {
	case m.confirmQuit:
		status = t.Error.Render(" " + m.quitQuestion())
	case m.job != nil:
		status = t.Status.Render(" " + m.ctx.spin() + " " + m.job.label + ": " + jobProgress(m.job, m.ctx.Width-lipgloss.Width(m.job.label)-6))
	case m.status != "" && m.statusErr:
		status = t.Error.Render(" " + m.status)
	case m.status != "":
		status = t.Status.Render(" " + m.status)
	}
	if lipgloss.Width(status) > m.ctx.Width {
		status = pad(status, m.ctx.Width)
	}
	helpLine := m.shortHelpView()
	if lipgloss.Width(helpLine) > m.ctx.Width-1 {
		// help.Model lets the last key overflow when its ellipsis does not fit.
		helpLine = pad(helpLine, m.ctx.Width-1)
	}
	return header + "\n" + body + "\n" + status + "\n " + helpLine
}

// quitQuestion asks whether to quit and abort what this console runs.
func (m *Model) quitQuestion() string {
	var what []string
	if m.job != nil {
		what = append(what, m.job.label)
	}
	if len(m.quitScheduled) > 0 {
		what = append(what, "the scheduled backup of "+strings.Join(m.quitScheduled, ", "))
	}
	verb, it := "runs", "it"
	if len(what) > 1 {
		verb, it = "run", "them"
	}
	return fmt.Sprintf("%s %s in this console: quit and abort %s? y / n", strings.Join(what, " and "), verb, it)
}

func (m *Model) schedulerState() string {
	if !m.home.loaded {
		return "…"
	}
	return m.home.scheduler
}

// fullHelpView lays the screen's groups of keys side by side, as many as
// fit in width, and the rest in rows below, then the keys that work
// everywhere on one line, so no key is cut off at 80x24. A read-only
// console says once which keys are off.
func (m *Model) fullHelpView(width, height int) string {
	h := m.help
	h.Width = 0 // fitted here, not cut
	var groups [][]key.Binding
	var off []string
	for _, g := range m.top().keys().groups {
		var bs []key.Binding
		for _, a := range g {
			b := a.key
			if m.ctx.offReason(a) != "" {
				// "off" once for all the keys it concerns, below, not on each.
				if !slices.Contains(off, b.Help().Key) {
					off = append(off, b.Help().Key)
				}
				b.SetHelp(b.Help().Key, b.Help().Desc+" (off)")
			}
			bs = append(bs, b)
		}
		groups = append(groups, bs)
	}
	var rows []string
	var row [][]key.Binding
	for _, g := range groups {
		if len(row) > 0 && lipgloss.Width(h.FullHelpView(append(row, g))) > width {
			rows = append(rows, h.FullHelpView(row))
			row = nil
		}
		row = append(row, g)
	}
	if len(row) > 0 {
		rows = append(rows, h.FullHelpView(row))
	}
	h.Width = width
	var everywhere []key.Binding
	for _, a := range m.keys() {
		// esc is in the screen's own groups: what it goes back to is the
		// screen's business.
		// 5 is listed by the screens it belongs with (destinations,
		// templates): the row would not fit 80 columns.
		if a.key.Help() != m.ctx.Keys.Back.Help() && a.key.Help() != m.ctx.Keys.Notifications.Help() {
			everywhere = append(everywhere, a.key)
		}
	}
	rows = append(rows, h.ShortHelpView(everywhere))
	if len(off) > 0 {
		rows = append(rows, m.ctx.Theme.Muted.Render(fit("off: "+strings.Join(off, " ")+" ("+m.ctx.offBecause()+")", width)))
	}
	if out := strings.Join(rows, "\n\n"); lipgloss.Height(out) <= height {
		return out
	}
	return strings.Join(rows, "\n")
}

// shortHelpView is the key help line. In a read-only console the keys that
// are off come first, together in one short item, so the line says so even
// at 80 columns and still has room for the keys that work.
func (m *Model) shortHelpView() string {
	var on []key.Binding
	var off []string
	for _, a := range m.footer() {
		if m.ctx.offReason(a) != "" {
			off = append(off, a.key.Help().Key)
			continue
		}
		on = append(on, a.key)
	}
	if len(off) == 0 {
		return m.help.ShortHelpView(on)
	}
	why := "off (--read-only)"
	if !m.ctx.ReadOnly {
		why = "off (" + string(m.ctx.Role) + ")"
	}
	lead := key.NewBinding(key.WithKeys(off...), key.WithHelp(strings.Join(off, " "), why))
	return m.help.ShortHelpView(append([]key.Binding{lead}, on...))
}

// footer is what the help line shows: the open dialog's keys, else the
// screen's.
func (m *Model) footer() []action {
	switch d := m.dialog.(type) {
	case nil:
		return m.top().keys().footer
	case keyedDialog:
		return d.keys().footer
	default:
		return actionsOf(d.ShortHelp())
	}
}
