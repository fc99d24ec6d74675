package tui

import (
	"context"
	"errors"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// screen is one full-body view: the home screen, a service, the
// destinations... The root keeps them in a stack; esc pops.
type screen interface {
	// Title is the screen's part of the breadcrumb in the header.
	Title() string
	// Reload reads the screen's data again (on open and on every tick).
	Reload() tea.Cmd
	// Update gets keys (when no dialog is open) and every data message.
	Update(msg tea.Msg) tea.Cmd
	View() string
	// keys is the screen's keyboard now (it may change with the pane or
	// the selection): Update dispatches through it, the help is drawn
	// from it.
	keys() keyTable
}

// textTaker is a screen or dialog that is taking typed text right now (a
// filter, a form field): every key goes to it, q and ? included.
type textTaker interface{ TakesText() bool }

// dialog is a modal box over the screen: a question, a form, a flow. It gets
// every key while open and every message; it closes by returning done.
type dialog interface {
	Update(msg tea.Msg) (done bool, cmd tea.Cmd)
	View() string
	ShortHelp() []key.Binding
}

// keyedDialog is a dialog whose keys are a keyTable (its help bar then
// shows which keys a read-only console turns off).
type keyedDialog interface {
	dialog
	keys() keyTable
}

// Navigation and job requests: screens and dialogs return these as
// commands; only the root acts on them.
type (
	pushMsg   struct{ s screen }
	openMsg   struct{ d dialog }
	statusMsg struct {
		text string
		err  bool
	}
	startJobMsg struct {
		job JobSpec
	}
)

func push(s screen) tea.Cmd       { return func() tea.Msg { return pushMsg{s} } }
func openDialog(d dialog) tea.Cmd { return func() tea.Msg { return openMsg{d} } }

func setStatus(err bool, text string) tea.Cmd {
	return func() tea.Msg { return statusMsg{text: text, err: err} }
}

// reloadThenSay runs the reloads of a change, then says it was done: the
// frame that says "added" or "removed" already lists the change, and keys
// pressed on reading it move over the new list.
func reloadThenSay(reload tea.Cmd, text string) tea.Cmd {
	return tea.Sequence(reload, setStatus(false, text))
}

// JobFunc is the work of a job; it reports progress and returns a one-line
// summary of what it did.
type JobFunc func(ctx context.Context, progress core.ProgressFunc) (summary string, err error)

// JobSpec describes a job this console runs: a backup, a restore, an upload.
type JobSpec struct {
	// Label says what runs, for the status line: "backing up production → s3".
	Label string
	// Changes says the job writes (everything but reads); read-only
	// consoles refuse it.
	Changes bool
	Run     JobFunc
}

func startJob(j JobSpec) tea.Cmd { return func() tea.Msg { return startJobMsg{j} } }

// JobStartedMsg says this console's job runs; updates arrive on Updates.
type JobStartedMsg struct {
	ID      int
	Label   string
	Updates <-chan tea.Msg
	Cancel  context.CancelFunc
}

// JobProgressMsg is live progress of this console's job.
type JobProgressMsg struct {
	ID       int
	Progress core.Progress
}

// JobDoneMsg ends this console's job.
type JobDoneMsg struct {
	ID      int
	Label   string
	Summary string
	Err     error
}

// job is the job this console runs: one at a time.
type job struct {
	id       int
	label    string
	progress core.Progress
	started  time.Time
	// rate is bytes per second in the current phase, smoothed.
	rate       float64
	phaseStart time.Time
	phaseBytes int64
	updates    <-chan tea.Msg
	cancel     context.CancelFunc
}

// observe updates the throughput from a progress report.
func (j *job) observe(p core.Progress, now time.Time) {
	if p.Phase != j.progress.Phase || p.Bytes < j.phaseBytes {
		j.phaseStart, j.phaseBytes, j.rate = now, p.Bytes, 0
	}
	if el := now.Sub(j.phaseStart).Seconds(); el >= 0.5 {
		j.rate = float64(p.Bytes-j.phaseBytes) / el
	}
	j.progress = p
}

// runJob starts fn in its own goroutine; progress and the outcome come back
// through a channel that waitForJob reads one message at a time.
func runJob(base context.Context, id int, j JobSpec) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithCancel(base)
		updates := make(chan tea.Msg, 16)
		go func() {
			defer close(updates)
			defer cancel()
			summary, err := j.Run(ctx, func(p core.Progress) {
				select { // progress may be dropped when the console lags; the outcome never is
				case updates <- JobProgressMsg{ID: id, Progress: p}:
				default:
				}
			})
			updates <- JobDoneMsg{ID: id, Label: j.Label, Summary: summary, Err: err}
		}()
		return JobStartedMsg{ID: id, Label: j.Label, Updates: updates, Cancel: cancel}
	}
}

func waitForJob(updates <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-updates
		if !ok {
			return nil
		}
		return msg
	}
}

// notReady is the line a list screen shows instead of its rows while its
// first load runs or when the catalog could not be read; "" once it has
// rows to show.
func (c *Context) notReady(err error, loaded bool) string {
	switch {
	case errors.Is(err, core.ErrCatalogUnreachable):
		// The periodic reload is the retry.
		return c.Theme.Error.Render(catalogUnreachable(c.CatalogName)) + "\n"
	case adviceIs(err, core.ActionRepairCatalog):
		// The sentence names the catalog and says it is damaged.
		return c.Theme.Error.Render(errorText(err)) + "\n"
	case err != nil:
		return c.Theme.Error.Render("cannot read the catalog: "+errorText(err)) + "\n"
	case !loaded:
		return c.Theme.Muted.Render(c.spin()+" loading…") + "\n"
	}
	return ""
}
