package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// hooksDialog shows a service's four hooks (pre-backup, post-backup,
// pre-restore, post-restore) with their commands and timeouts, and sets or
// removes each: setting asks for the path and the timeout, checked as the
// command line checks them (core.SetHook). t runs the selected hook now, as
// the command line's hook test does.
type hooksDialog struct {
	ctx     *Context
	service string
	seq     uint64
	loaded  bool
	hooks   map[core.HookEvent]core.Hook
	host    string
	cur     int
	// editing is set while a hook's path and timeout are typed.
	editing bool
	path    lineInput
	timeout lineInput
	// focus is the field typed into: 0 the path, 1 the timeout.
	focus int
	err   string
	note  string
	// saving is set while a change is written; testing while a hook runs.
	saving  bool
	testing core.HookEvent
	closing bool
}

type (
	hooksLoadedMsg struct {
		seq   uint64
		hooks []core.Hook
		host  string
		err   error
	}
	// hookChangedMsg: the hook of event is now hook (nil: removed).
	hookTestedMsg struct {
		seq uint64
		run core.HookRun
		err error
	}
	hookChangedMsg struct {
		seq   uint64
		event core.HookEvent
		hook  *core.Hook
		note  string
		err   error
	}
)

// openHooks opens the hooks of service.
func openHooks(ctx *Context, service string) tea.Cmd {
	d := &hooksDialog{ctx: ctx, service: service, seq: ctx.nextSeq()}
	// In order: the hooks, read fast, must find the dialog open.
	return tea.Sequence(openDialog(d), d.load())
}

func (d *hooksDialog) base() context.Context {
	if d.ctx.Base != nil {
		return d.ctx.Base
	}
	return context.Background()
}

func (d *hooksDialog) load() tea.Cmd {
	cat, seq, name, base := d.ctx.Catalog, d.seq, d.service, d.base()
	return func() tea.Msg {
		svc, err := cat.Service(base, name)
		if err != nil {
			return hooksLoadedMsg{seq: seq, err: err}
		}
		hooks, err := cat.ServiceHooks(base, name)
		return hooksLoadedMsg{seq: seq, hooks: hooks, host: core.ServiceHost(svc), err: err}
	}
}

func (d *hooksDialog) event() core.HookEvent { return core.HookEvents[d.cur] }

// TakesText: the path and the timeout are typed while a hook is edited.
func (d *hooksDialog) TakesText() bool { return d.editing }

func (d *hooksDialog) Update(msg tea.Msg) (bool, tea.Cmd) {
	switch msg := msg.(type) {
	case hooksLoadedMsg:
		if msg.seq != d.seq {
			break
		}
		d.loaded = true
		if msg.err != nil {
			d.err = userMessage(msg.err)
			break
		}
		d.host = msg.host
		d.hooks = map[core.HookEvent]core.Hook{}
		for _, h := range msg.hooks {
			d.hooks[h.Event] = h
		}
	case hookTestedMsg:
		if msg.seq != d.seq {
			break
		}
		d.testing = ""
		switch {
		case msg.err != nil:
			d.err = userMessage(msg.err)
		case msg.run.Err != nil:
			d.err = userMessage(msg.run.Err)
		default:
			d.note = fmt.Sprintf("✓ the %s hook exited with status 0 after %s", msg.run.Hook.Event, msg.run.Duration.Round(time.Millisecond))
			if msg.run.LastLine != "" {
				d.note += ": " + msg.run.LastLine
			}
		}
	case hookChangedMsg:
		if msg.seq != d.seq {
			break
		}
		d.saving = false
		if msg.err != nil {
			d.err = userMessage(msg.err)
			break
		}
		d.editing, d.err, d.note = false, "", msg.note
		// Shown at once, then read back from the catalog.
		if msg.hook != nil {
			d.hooks[msg.event] = *msg.hook
		} else {
			delete(d.hooks, msg.event)
		}
		return false, d.load()
	case tea.KeyMsg:
		if d.editing {
			return false, d.edit(msg)
		}
		d.err, d.note = "", ""
		a, ok := d.keys().lookup(msg)
		if !ok {
			return false, nil
		}
		if why := d.ctx.disabledReason(a); why != "" {
			d.err = why
			return false, nil
		}
		cmd := a.run()
		return d.closing, cmd
	}
	return false, nil
}

// edit takes a key while a hook's path and timeout are typed.
func (d *hooksDialog) edit(km tea.KeyMsg) tea.Cmd {
	k := d.ctx.Keys
	switch {
	case d.saving:
		return nil
	case key.Matches(km, k.Cancel):
		d.editing, d.err = false, ""
		return nil
	case key.Matches(km, k.Save):
		return d.save()
	case key.Matches(km, k.NextField, k.PrevField):
		d.focus = 1 - d.focus
		return nil
	}
	f := &d.path
	if d.focus == 1 {
		f = &d.timeout
	}
	if f.update(km) {
		d.err = ""
	}
	return nil
}

// save reads the timeout and sets the hook; the catalog's and the file's
// checks say what is wrong, one sentence in the dialog's error line.
func (d *hooksDialog) save() tea.Cmd {
	ev := d.event()
	timeout, err := time.ParseDuration(strings.TrimSpace(d.timeout.String()))
	if err != nil || timeout < time.Second {
		d.err, d.focus = fmt.Sprintf("the timeout %q is not a duration of at least one second; give how long the hook may run, such as 30s or 5m", d.timeout.String()), 1
		return nil
	}
	h := core.Hook{Event: ev, Command: strings.TrimSpace(d.path.String()), Timeout: timeout}
	if err := core.CheckHookCommand(ev, h.Command); err != nil {
		d.err, d.focus = userMessage(err), 0
		return nil
	}
	d.saving = true
	cat, seq, name, base := d.ctx.Catalog, d.seq, d.service, d.base()
	return func() tea.Msg {
		res, err := core.SetHook(base, cat, name, h)
		if err != nil {
			return hookChangedMsg{seq: seq, err: err}
		}
		h.Timeout = h.Timeout.Round(time.Second)
		note := fmt.Sprintf("✓ the %s hook is now %s (timeout %s)", ev, h.Command, h.Timeout)
		if !res.Checked {
			note += fmt.Sprintf("; its file is checked on host %s each time it runs", res.Host)
		}
		return hookChangedMsg{seq: seq, event: ev, hook: &h, note: note}
	}
}

// test runs the selected hook now (ODOO_BACKUP_OUTCOME=test), in the
// background: the dialog shows it running and then how it went.
func (d *hooksDialog) test() tea.Cmd {
	ev := d.event()
	d.testing = ev
	eng, seq, name, base := d.ctx.Engine, d.seq, d.service, d.base()
	return func() tea.Msg {
		run, err := eng.TestHook(base, name, ev)
		return hookTestedMsg{seq: seq, run: run, err: err}
	}
}

func (d *hooksDialog) remove() tea.Cmd {
	ev := d.event()
	cat, seq, name, base := d.ctx.Catalog, d.seq, d.service, d.base()
	return func() tea.Msg {
		if err := cat.RemoveServiceHook(base, name, ev); err != nil {
			return hookChangedMsg{seq: seq, err: err}
		}
		return hookChangedMsg{seq: seq, event: ev, note: fmt.Sprintf("✓ the %s hook is removed", ev)}
	}
}

// startEdit opens the selected hook's fields, filled with what it has.
func (d *hooksDialog) startEdit() tea.Cmd {
	h, ok := d.hooks[d.event()]
	d.path.set(h.Command)
	timeout := core.DefaultHookTimeout
	if ok && h.Timeout > 0 {
		timeout = h.Timeout
	}
	d.timeout.set(shortDuration(timeout))
	d.editing, d.focus, d.err = true, 0, ""
	return nil
}

// shortDuration writes d as a person types it: 5m, not 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (d *hooksDialog) notLoaded() string {
	if !d.loaded || d.hooks == nil {
		return "the hooks are still being read"
	}
	return ""
}

func (d *hooksDialog) noHook() string {
	if why := d.notLoaded(); why != "" {
		return why
	}
	if _, ok := d.hooks[d.event()]; !ok {
		return fmt.Sprintf("%s has no %s hook", d.service, d.event())
	}
	if d.testing != "" {
		return fmt.Sprintf("the %s hook is running; wait for it to end", d.testing)
	}
	return ""
}

func (d *hooksDialog) keys() keyTable {
	k := d.ctx.Keys
	if d.editing {
		flow := actionsOf([]key.Binding{k.NextField, k.Save, k.Cancel})
		return keyTable{groups: [][]action{flow}, footer: flow}
	}
	moves := k.moves(len(core.HookEvents), func(delta int) tea.Cmd {
		d.cur = clampCursor(d.cur, delta, len(core.HookEvents))
		return nil
	})
	set := action{key: k.SetHook, changes: "setting a hook", disabled: d.notLoaded, run: d.startEdit}
	remove := action{key: k.Remove, changes: "removing a hook", disabled: d.noHook, run: d.remove}
	// Running a hook changes what it changes on this host (it may stop
	// Odoo): a read-only console does not.
	test := action{key: k.TestHook, changes: "running a hook", role: core.RoleOperator, disabled: d.noHook, run: d.test}
	closeKey := action{key: k.Close, run: func() tea.Cmd { d.closing = true; return nil }}
	return keyTable{groups: [][]action{moves, {set, remove, test, closeKey}}, footer: []action{moves[0], moves[1], set, remove, test, closeKey}}
}

func (d *hooksDialog) ShortHelp() []key.Binding { return bindings(d.keys().footer) }

func (d *hooksDialog) width() int { return max(min(d.ctx.Width-2, 96), 40) }

func (d *hooksDialog) View() string {
	t := d.ctx.Theme
	w := d.width() - 4
	var b strings.Builder
	b.WriteString(t.Title.Render("Hooks of "+d.service) + "\n\n")
	intro := "Programs run before and after this service's backups and restores: a failing pre hook stops the backup or restore, a failing post hook is a warning."
	if d.host != "" && d.host != core.HostName() {
		intro += " They run on host " + d.host + ", which checks their files each time they run."
	}
	b.WriteString(t.Muted.Render(strings.TrimRight(hang("", intro, w), "\n")) + "\n\n")
	if !d.loaded {
		b.WriteString(d.ctx.spin() + " reading the hooks…\n")
		return t.Dialog.Width(d.width()).Render(strings.TrimRight(b.String(), "\n"))
	}
	cmdW := max(w-2-14-10, 10)
	b.WriteString(t.Muted.Render("  "+pad("EVENT", 14)+pad("COMMAND", cmdW)+"TIMEOUT") + "\n")
	for i, ev := range core.HookEvents {
		mark := "  "
		if i == d.cur {
			mark = "▸ "
		}
		command, timeout := "—", ""
		if h, ok := d.hooks[ev]; ok {
			command, timeout = h.Command, shortDuration(h.Timeout)
		}
		line := pad(string(ev), 14) + pad(fit(command, cmdW-1), cmdW) + timeout
		if i == d.cur && !d.editing {
			line = t.Selected.Render(line)
		}
		b.WriteString(mark + line + "\n")
	}
	if d.editing {
		b.WriteString("\n" + t.Header.Render("Set the "+string(d.event())+" hook") + "\n")
		fw := w - 2 - len("Timeout  ") - 2
		d.path.width, d.timeout.width = fw, 10
		b.WriteString(d.mark(0) + "Path     " + d.path.view() + "\n")
		b.WriteString(d.mark(1) + "Timeout  " + d.timeout.view() + "\n")
		b.WriteString(t.Muted.Render(strings.TrimRight(hang("", "The absolute path of an executable file owned by root (or the user running odoo-backup) that nobody else can write; no arguments: what it needs is in its environment (ODOO_BACKUP_SERVICE, ODOO_BACKUP_OUTCOME, …).", w), "\n")) + "\n")
	}
	switch {
	case d.saving:
		b.WriteString("\n" + d.ctx.spin() + " saving…\n")
	case d.testing != "":
		b.WriteString("\n" + d.ctx.spin() + " running the " + string(d.testing) + " hook…\n")
	case d.err != "":
		b.WriteString("\n" + t.Error.Width(w).Render("✗ "+d.err) + "\n")
	case d.note != "":
		b.WriteString("\n" + fit(d.note, w) + "\n")
	}
	return t.Dialog.Width(d.width()).Render(strings.TrimRight(b.String(), "\n"))
}

// mark points at the field typed into.
func (d *hooksDialog) mark(field int) string {
	if d.focus == field {
		return "▸ "
	}
	return "  "
}
