package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/tui/runbook"
)

// runbookDialog shows a service's disaster-recovery runbook, the page the
// command line's runbook command writes, in a scrollable view, and writes
// it to a file in the current directory.
type runbookDialog struct {
	ctx     *Context
	service string
	seq     uint64
	page    string
	err     error
	view    viewport.Model
	// width is the width the page was wrapped to.
	width int
	note  string
	// wrote is where the page was written, once it was.
	wrote   string
	closing bool
}

type (
	runbookLoadedMsg struct {
		seq  uint64
		page string
		err  error
	}
	runbookWrittenMsg struct {
		seq  uint64
		path string
		err  error
	}
)

// openRunbook opens service's runbook and starts gathering it.
func openRunbook(ctx *Context, service string) tea.Cmd {
	d := &runbookDialog{ctx: ctx, service: service, seq: ctx.nextSeq()}
	return tea.Batch(openDialog(d), d.load())
}

func (d *runbookDialog) load() tea.Cmd {
	c, seq, name := d.ctx, d.seq, d.service
	return func() tea.Msg {
		base := c.Base
		if base == nil {
			base = context.Background()
		}
		rb, err := core.GatherRunbook(base, c.Catalog, name, c.now())
		if err != nil {
			return runbookLoadedMsg{seq: seq, err: err}
		}
		return runbookLoadedMsg{seq: seq, page: runbook.Render(rb, runbook.Options{Catalog: c.CatalogName})}
	}
}

// write writes the page to runbook-SERVICE.md in the current directory,
// replacing an older one.
func (d *runbookDialog) write() tea.Cmd {
	seq, page, name := d.seq, d.page, runbook.FileName(d.service)
	return func() tea.Msg {
		path, err := filepath.Abs(name)
		if err == nil {
			err = os.WriteFile(path, []byte(page), 0o600)
		}
		return runbookWrittenMsg{seq: seq, path: path, err: err}
	}
}

func (d *runbookDialog) Update(msg tea.Msg) (bool, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		d.note = ""
		a, ok := d.keys().lookup(msg)
		if !ok {
			return false, nil
		}
		if why := d.ctx.disabledReason(a); why != "" {
			d.note = why
			return false, nil
		}
		cmd := a.run()
		return d.closing, cmd
	case runbookLoadedMsg:
		if msg.seq == d.seq {
			d.page, d.err = msg.page, msg.err
			d.width = 0
		}
	case runbookWrittenMsg:
		if msg.seq != d.seq {
			break
		}
		if msg.err != nil {
			d.note = fmt.Sprintf("the runbook could not be written to %s: %v", msg.path, msg.err)
		} else {
			d.wrote = msg.path
		}
	}
	return false, nil
}

// noPage says why there is no page to act on yet, or "".
func (d *runbookDialog) noPage() string {
	switch {
	case d.err != nil:
		return "there is no runbook to write: " + errorText(d.err)
	case d.page == "":
		return "the runbook is still being gathered"
	}
	return ""
}

func (d *runbookDialog) keys() keyTable {
	k := d.ctx.Keys
	d.layout()
	scroll := func(f func()) func() tea.Cmd { return func() tea.Cmd { f(); return nil } }
	moves := []action{
		{key: k.Up, run: scroll(func() { d.view.ScrollUp(1) })},
		{key: k.Down, run: scroll(func() { d.view.ScrollDown(1) })},
		{key: k.PageUp, run: scroll(func() { d.view.PageUp() })},
		{key: k.PageDown, run: scroll(func() { d.view.PageDown() })},
		{key: k.Top, run: scroll(func() { d.view.GotoTop() })},
		{key: k.Bottom, run: scroll(func() { d.view.GotoBottom() })},
	}
	write := action{key: k.WriteRunbook, disabled: d.noPage, run: d.write}
	back := action{key: k.Close, run: func() tea.Cmd { d.closing = true; return nil }}
	return keyTable{groups: [][]action{moves, {write, back}}, footer: []action{write, back}}
}

func (d *runbookDialog) ShortHelp() []key.Binding {
	k := d.ctx.Keys
	return []key.Binding{k.Down, k.PageDown, k.WriteRunbook, k.Close}
}

func (d *runbookDialog) dialogWidth() int { return max(min(d.ctx.Width-2, 100), 20) }

// layout sizes the view to the terminal and wraps the page to it.
func (d *runbookDialog) layout() {
	w := d.dialogWidth() - 4
	h := max(d.ctx.bodyHeight()-7, 3)
	if d.width == w && d.view.Height == h {
		return
	}
	off := d.view.YOffset
	d.view = viewport.New(w, h)
	d.view.SetContent(ansi.Wrap(d.page, w, ""))
	d.view.SetYOffset(off)
	d.width = w
}

func (d *runbookDialog) View() string {
	t := d.ctx.Theme
	d.layout()
	title := t.Title.Render("Runbook of " + d.service)
	var body string
	switch {
	case d.err != nil:
		body = t.Error.Render("✗ " + errorText(d.err))
	case d.page == "":
		body = d.ctx.spin() + " gathering the runbook…"
	default:
		body = d.view.View()
	}
	foot := fmt.Sprintf("%d%% · w writes it to ./%s", int(d.view.ScrollPercent()*100), runbook.FileName(d.service))
	switch {
	case d.note != "":
		foot = t.Error.Render(d.note)
	case d.wrote != "":
		foot = "✓ written to " + d.wrote
	}
	return t.Dialog.Width(d.dialogWidth()).Render(strings.Join([]string{title, "", body, "", foot}, "\n"))
}
