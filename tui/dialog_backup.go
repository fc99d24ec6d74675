package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// backupDialog asks where to back a service up now: every configured
// destination, manual-only ones included, the primary preselected.
type backupDialog struct {
	ctx     *Context
	service string
	configs []core.Configuration
	chosen  []bool
	cursor  int
	err     string
}

// dialogResult is what a dialog's Update decided.
type dialogResult int

const (
	dialogOpen dialogResult = iota
	dialogCancelled
	dialogConfirmed
)

func newBackupDialog(ctx *Context, service string, configs []core.Configuration) *backupDialog {
	d := &backupDialog{ctx: ctx, service: service, configs: configs, chosen: make([]bool, len(configs))}
	for i, c := range configs {
		if c.Primary {
			d.chosen[i], d.cursor = true, i
		}
	}
	return d
}

func (d *backupDialog) destinations() []string {
	var out []string
	for i, c := range d.configs {
		if d.chosen[i] {
			out = append(out, c.Destination)
		}
	}
	return out
}

func (d *backupDialog) Update(msg tea.Msg) (bool, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return false, nil
	}
	switch d.key(km) {
	case dialogCancelled:
		return true, nil
	case dialogConfirmed:
		return true, startJob(backupJob(d.ctx, d.service, d.destinations()))
	}
	return false, nil
}

func (d *backupDialog) key(msg tea.KeyMsg) dialogResult {
	k := d.ctx.Keys
	switch {
	case key.Matches(msg, k.Back):
		return dialogCancelled
	case key.Matches(msg, k.Up):
		d.cursor = max(d.cursor-1, 0)
	case key.Matches(msg, k.Down):
		d.cursor = min(d.cursor+1, max(len(d.configs)-1, 0))
	case key.Matches(msg, k.Toggle):
		if d.cursor < len(d.chosen) {
			d.chosen[d.cursor] = !d.chosen[d.cursor]
		}
		d.err = ""
	case key.Matches(msg, k.Confirm):
		if len(d.destinations()) == 0 {
			d.err = "choose at least one destination (space)"
			return dialogOpen
		}
		return dialogConfirmed
	}
	return dialogOpen
}

func (d *backupDialog) View() string {
	t := d.ctx.Theme
	var b strings.Builder
	b.WriteString(t.Title.Render("Back up "+d.service+" now") + "\n\n")
	if len(d.configs) == 0 {
		b.WriteString("No destination configured: press a on the screen of " + d.service + " to add one\n")
	}
	for i, c := range d.configs {
		cur := "  "
		if i == d.cursor {
			cur = "▸ "
		}
		box := "[ ] "
		if d.chosen[i] {
			box = "[x] "
		}
		star := "  "
		note := ""
		if c.Primary {
			star, note = t.Primary.Render("★ "), "primary"
		}
		if c.Frequency == core.Manual {
			note = strings.TrimSpace(note + " manual only")
		}
		b.WriteString(cur + box + star + pad(c.Destination, 16) + " " + t.Muted.Render(note) + "\n")
	}
	if d.err != "" {
		b.WriteString("\n" + t.Error.Render(d.err) + "\n")
	}
	b.WriteString("\n" + t.Muted.Render("space select · enter back up · esc cancel"))
	return t.Dialog.Width(50).Render(b.String())
}

func (d *backupDialog) ShortHelp() []key.Binding {
	k := d.ctx.Keys
	return []key.Binding{k.Toggle, k.Confirm, k.Back}
}
