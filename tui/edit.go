package tui

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// catalogAction runs one catalog write as a command: its error (the
// catalog's own sentence) goes to the status line, and on success after
// runs (reloads), then ok is shown.
func catalogAction(do func(ctx context.Context) error, ok string, after tea.Cmd) tea.Cmd {
	return func() tea.Msg {
		if err := do(context.Background()); err != nil {
			return statusMsg{err: true, text: "✗ " + userMessage(err)}
		}
		return reloadThenSay(after, ok)()
	}
}

// confirmDialog asks a yes/no question before a catalog write; it starts on
// no: enter and esc cancel, only y goes ahead. A refusal (the catalog's
// sentence: why a removal cannot be done) shows in the dialog, wrapped, so
// nothing of it is cut.
type confirmDialog struct {
	ctx      *Context
	question string
	detail   string
	do       func(context.Context) error
	ok       string
	after    tea.Cmd
	busy     bool
	err      string
}

// confirmResultMsg is the outcome of a confirmed action.
type confirmResultMsg struct {
	d   *confirmDialog
	err error
}

func confirm(ctx *Context, question, detail string, do func(context.Context) error, ok string, after tea.Cmd) tea.Cmd {
	return openDialog(&confirmDialog{ctx: ctx, question: question, detail: detail, do: do, ok: ok, after: after})
}

func (d *confirmDialog) Update(msg tea.Msg) (bool, tea.Cmd) {
	switch msg := msg.(type) {
	case confirmResultMsg:
		if msg.d != d {
			return false, nil
		}
		d.busy = false
		if msg.err != nil {
			d.err = userMessage(msg.err)
			return false, nil
		}
		return true, reloadThenSay(d.after, d.ok)
	case tea.KeyMsg:
		k := d.ctx.Keys
		switch {
		case d.busy:
		case d.err != "":
			if key.Matches(msg, k.No, k.Open) {
				return true, setStatus(true, "✗ "+d.err)
			}
		case key.Matches(msg, k.Yes):
			d.busy = true
			return false, func() tea.Msg { return confirmResultMsg{d: d, err: d.do(context.Background())} }
		case key.Matches(msg, k.No, k.Open):
			return true, setStatus(false, "cancelled: nothing was changed")
		}
	}
	return false, nil
}

func (d *confirmDialog) View() string {
	t := d.ctx.Theme
	w := max(min(d.ctx.Width-4, 64), 40)
	var b strings.Builder
	b.WriteString(t.Title.Render(ansi.Wordwrap(d.question, w-4, "")) + "\n\n")
	if d.detail != "" {
		b.WriteString(ansi.Wordwrap(d.detail, w-4, "") + "\n\n")
	}
	switch {
	case d.busy:
		b.WriteString(t.Status.Render(d.ctx.spin() + " working…"))
	case d.err != "":
		b.WriteString(t.Error.Render(ansi.Wordwrap("✗ "+d.err, w-4, "")) + "\n\n")
		b.WriteString(t.Muted.Render("nothing was changed · esc close"))
	default:
		b.WriteString(t.Muted.Render("y yes · n or esc no (nothing changes)"))
	}
	return t.Dialog.Width(w).Render(b.String())
}

func (d *confirmDialog) ShortHelp() []key.Binding {
	k := d.ctx.Keys
	if d.err != "" {
		return []key.Binding{k.Back}
	}
	return []key.Binding{k.Yes, k.No}
}

// afterChange reloads the screen that changed and the home screen (whose
// rows feed the header).
func afterChange(ctx *Context, reload tea.Cmd) tea.Cmd {
	return tea.Batch(reload, loadServices(ctx))
}
