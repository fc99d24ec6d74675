package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/odoo-backup/odoo-backup/core"
)

// JobRefusedMsg says the root did not start a job (read-only, or another
// job runs in this console), so the dialog that asked for it can say so
// instead of waiting.
type JobRefusedMsg struct {
	Label  string
	Reason string
}

// flowJob follows the one job a dialog started: it claims the job when the
// root reports it started, lists the phases it went through and keeps its
// outcome. A dialog is modal, so the job that starts while it waits is its.
type flowJob struct {
	label   string
	id      int
	state   flowJobState
	plan    []core.Phase
	reached int
	cur     core.Progress
	summary string
	err     error
}

type flowJobState int

const (
	jobIdle flowJobState = iota
	jobWaiting
	jobRunning
	jobDone
)

// start asks the root for the job; plan is the phases it is expected to go
// through, shown ahead as pending (a phase the engine reports that is not in
// the plan is added where it comes).
func (f *flowJob) start(spec JobSpec, plan ...core.Phase) tea.Cmd {
	*f = flowJob{label: spec.Label, state: jobWaiting, plan: plan, reached: -1}
	return startJob(spec)
}

func (f *flowJob) running() bool { return f.state == jobWaiting || f.state == jobRunning }
func (f *flowJob) done() bool    { return f.state == jobDone }
func (f *flowJob) failed() bool  { return f.state == jobDone && f.err != nil }

// update takes the job messages that are this job's.
func (f *flowJob) update(msg tea.Msg) {
	switch m := msg.(type) {
	case JobStartedMsg:
		if f.state == jobWaiting && m.Label == f.label {
			f.id, f.state = m.ID, jobRunning
		}
	case JobRefusedMsg:
		if f.state == jobWaiting && m.Label == f.label {
			f.state, f.err = jobDone, fmt.Errorf("%s", m.Reason)
		}
	case JobProgressMsg:
		if f.state == jobRunning && m.ID == f.id {
			f.observe(m.Progress)
		}
	case JobDoneMsg:
		if f.state == jobRunning && m.ID == f.id {
			f.state, f.summary, f.err = jobDone, m.Summary, m.Err
		}
	}
}

func (f *flowJob) observe(p core.Progress) {
	f.cur = p
	if p.Phase == "" {
		return
	}
	for i, ph := range f.plan {
		if ph == p.Phase {
			f.reached = max(f.reached, i)
			return
		}
	}
	at := f.reached + 1
	f.plan = slices.Insert(f.plan, at, p.Phase)
	f.reached = at
}

// phases renders the plan: ✓ for the phases passed, the current one with
// its progress, · for those to come; a failure marks where it stopped.
func (f *flowJob) phases(ctx *Context) string {
	t := ctx.Theme
	var b strings.Builder
	for i, phase := range f.plan {
		ph := string(phase)
		switch {
		case i < f.reached || (f.state == jobDone && f.err == nil):
			b.WriteString("✓ " + ph + "\n")
		case i == f.reached && f.state == jobDone:
			b.WriteString(t.Error.Render("✗ "+ph) + "\n")
		case i == f.reached:
			line := ctx.spin() + " " + ph
			if f.cur.Total > 0 {
				line += "  " + bar(f.cur.Bytes, f.cur.Total, 16) + "  " + size(f.cur.Bytes) + " of " + size(f.cur.Total)
			} else if f.cur.Bytes > 0 {
				line += "  " + size(f.cur.Bytes)
			}
			b.WriteString(line + "\n")
		default:
			b.WriteString(t.Muted.Render("· "+ph) + "\n")
		}
	}
	if f.state == jobWaiting || (f.state == jobRunning && f.reached < 0) {
		b.WriteString(ctx.spin() + " starting…\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// view renders, in w columns, a started job's phases, then its outcome once
// it has ended, and the key that closes the dialog.
func (f *flowJob) view(ctx *Context, w int) string {
	t := ctx.Theme
	s := f.phases(ctx) + "\n"
	switch {
	case f.failed():
		s += "\n" + t.Error.Width(w).Render("✗ "+userMessage(f.err)) + "\n"
	case f.done():
		s += "\n" + t.Status.Width(w).Render("✓ "+f.summary) + "\n"
	}
	return s + "\n" + t.Muted.Render("esc close")
}

// phasesDone renders a finished job's phases on one line: ✓ for each it
// passed, ✗ where it failed.
func (f *flowJob) phasesDone() string {
	var parts []string
	for i, phase := range f.plan {
		ph := string(phase)
		switch {
		case f.err == nil || i < f.reached:
			parts = append(parts, "✓ "+ph)
		case i == f.reached:
			parts = append(parts, "✗ "+ph)
		}
	}
	return strings.Join(parts, " · ")
}

// lineInput is a one-line text input whose cursor stays visible without
// colour (NO_COLOR): the value, a bar for the cursor, in brackets.
type lineInput struct {
	value []rune
	width int
}

// update edits the value with a key; it says whether the key was taken.
func (f *lineInput) update(msg tea.KeyMsg) bool {
	switch msg.Type {
	case tea.KeyRunes, tea.KeySpace:
		f.value = append(f.value, msg.Runes...)
	case tea.KeyBackspace:
		if len(f.value) > 0 {
			f.value = f.value[:len(f.value)-1]
		}
	case tea.KeyCtrlU:
		f.value = nil
	case tea.KeyCtrlW:
		s := strings.TrimRight(string(f.value), " /")
		if i := strings.LastIndexAny(s, " /"); i >= 0 {
			f.value = []rune(s[:i+1])
		} else {
			f.value = nil
		}
	default:
		return false
	}
	return true
}

func (f *lineInput) String() string { return string(f.value) }

func (f *lineInput) set(s string) { f.value = []rune(s) }

// view shows the field; the tail is kept when the value is wider.
func (f *lineInput) view() string {
	w := max(f.width, 8)
	v := f.value
	if len(v) > w-1 {
		v = append([]rune("…"), v[len(v)-(w-2):]...)
	}
	return "[" + pad(string(v)+"▏", w) + "]"
}

// hang writes text after prefix, wrapped to width cells, continuation lines
// indented under the text.
func hang(prefix, text string, width int) string {
	pw := lipgloss.Width(prefix)
	lines := strings.Split(ansi.Wrap(text, max(width-pw, 10), ""), "\n")
	for i := 1; i < len(lines); i++ {
		lines[i] = strings.Repeat(" ", pw) + lines[i]
	}
	return prefix + strings.Join(lines, "\n") + "\n"
}

// intercept is the start of the Update of a dialog that runs one job: it
// gives the job its messages and, once the job has started, closes the
// dialog on esc or enter (a running job goes on in the status line). It
// returns the key for the dialog's own form when handled is false.
func (j *flowJob) intercept(k KeyMap, msg tea.Msg) (km tea.KeyMsg, handled, done bool) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		j.update(msg)
		return km, true, false
	}
	if j.state != jobIdle {
		return km, true, key.Matches(km, k.Close, k.Open)
	}
	return km, false, false
}
