package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/odoo-backup/odoo-backup/core"
)

// detailsDialog shows everything the catalog knows of one backup, and acts
// on it: restore, verify, delete. Deleting asks first; the engine's rule
// that a service's last good backup needs force is shown as the engine
// says it, and force is offered only as its own explicit key.
type detailsDialog struct {
	ctx *Context
	b   core.Backup
	ask detailsQuestion
	// lastGood is the engine's refusal to delete the service's last good
	// backup; while set, F offers to delete it anyway.
	lastGood string
	note     string
	job      flowJob
	jobForce bool
	// closing is set by the action that closes the dialog.
	closing bool
}

type detailsQuestion int

const (
	askNothing detailsQuestion = iota
	askDelete
	askForce
)

func newDetailsDialog(ctx *Context, b core.Backup) *detailsDialog {
	return &detailsDialog{ctx: ctx, b: b}
}

// openDetails opens a backup's details; askDelete opens them with the
// delete question asked (x on a history row).
func openDetails(ctx *Context, b core.Backup, askDelete bool) tea.Cmd {
	d := newDetailsDialog(ctx, b)
	if askDelete {
		if cmd := d.askToDelete(); d.ask == askNothing {
			return cmd
		}
	}
	return openDialog(d)
}

// askToDelete asks the delete question, or says why there is none.
func (d *detailsDialog) askToDelete() tea.Cmd {
	if d.note = d.deleteRefusal(); d.note != "" {
		return setStatus(true, d.note)
	}
	d.ask = askDelete
	return nil
}

// deleteRefusal says why the backup has nothing to delete, or "".
func (d *detailsDialog) deleteRefusal() string {
	switch d.b.Status {
	case core.StatusRunning:
		return fmt.Sprintf("backup %d is still running; wait for it to finish before deleting it", d.b.ID)
	case core.StatusDeleted, core.StatusRotated:
		return fmt.Sprintf("backup %d was already %s; there is nothing left to delete", d.b.ID, d.b.Status)
	}
	return ""
}

func (d *detailsDialog) Update(msg tea.Msg) (bool, tea.Cmd) {
	if km, ok := msg.(tea.KeyMsg); ok {
		return d.key(km)
	}
	if k, ok := msg.(verifyKeyMsg); ok && k.id == d.b.ID && !d.job.running() {
		switch {
		case k.err != nil:
			d.note = errorText(k.err)
		case k.recipient != "":
			// The identity file is asked for in a dialog of its own.
			return true, openDialog(newVerifyDialog(d.ctx, d.b, k.recipient))
		default:
			return false, d.job.start(verifyJob(d.ctx, d.b, ""), core.PhaseVerify)
		}
		return false, nil
	}
	before := d.job.state
	d.job.update(msg)
	if before != jobDone && d.job.done() && strings.HasPrefix(d.job.label, "deleting") {
		d.deleted()
	}
	return false, nil
}

// deleted takes the outcome of a delete job.
func (d *detailsDialog) deleted() {
	err := d.job.err
	switch {
	case err == nil && strings.HasPrefix(d.job.summary, lockedDeletePrefix):
		// Its lock kept it: it stays as it was.
		d.lastGood = ""
	case err == nil:
		d.b.Status = core.StatusDeleted
		d.lastGood = ""
	case !d.jobForce && d.b.Status == core.StatusSucceeded && adviceIs(err, core.ActionForceDelete):
		// The one refusal of a succeeded backup: the service's last good one.
		d.lastGood = errorText(err)
	}
}

// key runs the dialog's action for msg; a disabled one says why in the
// dialog's note.
func (d *detailsDialog) key(msg tea.KeyMsg) (bool, tea.Cmd) {
	if d.ask == askNothing {
		d.note = ""
	}
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
}

// keys: y and n while a question is asked; else the backup's actions,
// one job at a time from this dialog.
func (d *detailsDialog) keys() keyTable {
	k := d.ctx.Keys
	if d.ask != askNothing {
		yes := action{key: k.Yes, changes: "deleting", run: func() tea.Cmd {
			force := d.ask == askForce
			d.ask, d.jobForce, d.lastGood = askNothing, force, ""
			return d.job.start(deleteJob(d.ctx, d.b, force), "delete")
		}}
		no := action{key: k.No, run: func() tea.Cmd { d.ask = askNothing; return nil }}
		return keyTable{groups: [][]action{{yes, no}}, footer: []action{yes, no}}
	}
	busy := func() string {
		if d.job.running() {
			return d.job.label + " is running; wait for it to end"
		}
		return ""
	}
	archive := func(verb string) func() string { return func() string { return noArchive(d.b, verb) } }
	closeWith := func(open func(*Context, core.Backup) tea.Cmd) func() tea.Cmd {
		return func() tea.Cmd { d.closing = true; return open(d.ctx, d.b) }
	}
	restore := action{key: k.Restore, changes: "restoring", disabled: archive("restore"), run: closeWith(openRestore)}
	verify := action{key: k.Verify, role: core.RoleOperator, disabled: firstReason(busy, archive("verify")), run: d.verify}
	del := action{key: k.Delete, changes: "deleting", disabled: firstReason(busy, d.deleteRefusal),
		run: func() tea.Cmd { d.ask = askDelete; return nil }}
	download := action{key: k.Download, role: core.RoleOperator, disabled: firstReason(busy, archive("download")), run: closeWith(openDownload)}
	force := action{key: k.Force, changes: "deleting", inactive: d.lastGood == "",
		run: func() tea.Cmd { d.ask = askForce; return nil }}
	back := action{key: k.Back, run: func() tea.Cmd { d.closing = true; return nil }}
	t := keyTable{groups: [][]action{{restore, verify, del, download, force, back}},
		footer: []action{restore, verify, del, download}}
	if !force.inactive {
		t.footer = append(t.footer, force)
	}
	t.footer = append(t.footer, back)
	return t
}

// verify checks the backup's archive, once its identity is known when its
// key may be kept off this host.
func (d *detailsDialog) verify() tea.Cmd {
	if core.BackupRecipient(d.b) != "" {
		// Its key may be kept off this host: the catalog says.
		load := verifyKey(d.ctx, d.b)
		return func() tea.Msg { return load() }
	}
	return d.job.start(verifyJob(d.ctx, d.b, ""), core.PhaseVerify)
}

// width leaves a sha256 on one line at 80 columns.
func (d *detailsDialog) width() int { return min(d.ctx.Width-2, 90) }

func (d *detailsDialog) View() string {
	t, now := d.ctx.Theme, d.ctx.now()
	b := d.b
	w := d.width()
	cw := w - 2
	var lines []string
	field := func(label, value string) {
		wrapped := strings.Split(ansi.Wrap(value, cw-12, " /"), "\n")
		for i, l := range wrapped {
			if i == 0 {
				lines = append(lines, t.Muted.Render(pad(label, 11))+" "+l)
			} else {
				lines = append(lines, strings.Repeat(" ", 12)+l)
			}
		}
	}
	stamp := func(at time.Time) string { return at.In(now.Location()).Format("2006-01-02 15:04:05 MST") }
	field("service", b.Service+" (database "+orDash(b.Database)+")")
	dest := b.Destination
	if b.Orphaned {
		dest += " · orphaned: the service no longer backs up to it"
	}
	field("destination", dest)
	field("kind", string(b.Kind))
	status := statusMark(b)
	if b.Status == core.StatusRunning {
		status += " · " + progressText(string(b.Phase), b.Bytes, 0)
	}
	field("status", status)
	field("started", stamp(b.StartedAt))
	fin := "—"
	if b.FinishedAt != nil {
		fin = stamp(*b.FinishedAt) + " · took " + took(b.Duration())
	}
	field("finished", fin)
	sz := "—"
	if b.Size > 0 {
		sz = size(b.Size)
	}
	if b.Size >= 1000 {
		sz += fmt.Sprintf(" (%d bytes)", b.Size)
	}
	field("size", sz)
	field("sha256", orDash(b.SHA256))
	field("key", orDash(b.Key))
	format := "—"
	if b.Key != "" {
		format = core.DescribeFormat(b.Format)
	}
	if b.Encryption != "" {
		format += " · encrypted (" + b.Encryption + ")"
	}
	field("format", format)
	field("versions", "Odoo "+orDash(b.OdooVersion)+" · PostgreSQL "+orDash(b.PGVersion))
	if b.Pool != nil {
		field("filestore", "in the pool: "+core.PoolSummary(*b.Pool))
	}
	if b.MissingCount > 0 {
		field("lacks", lacksText(b))
	}
	if b.Pool != nil && b.Pool.MismatchCount > 0 {
		field("mismatched", mismatchedText(b))
	}
	if b.Anomaly != "" {
		field("anomaly", "! "+b.Anomaly)
	}
	if b.LockedUntil != nil && b.Status == core.StatusSucceeded {
		field("locked", lockedText(*b.LockedUntil, d.ctx.now()))
	}
	if b.Warning != "" {
		field("warning", "△ "+b.Warning)
	}
	errLines := len(lines)
	if b.Error != "" {
		field("error", b.Error)
		// The full error, as far as the screen lets it.
		room := max(d.ctx.bodyHeight()-2-2-errLines-d.footLines(), 1)
		if len(lines)-errLines > room {
			lines = append(lines[:errLines+room-1], lines[errLines+room-1]+"…")
		}
		for i := errLines; i < len(lines); i++ {
			lines[i] = t.Error.Render(lines[i])
		}
	}

	var foot []string
	switch {
	case d.ask == askDelete:
		foot = append(foot, t.Error.Render(fmt.Sprintf("Delete backup %d? Its archive is removed from %s; the history keeps the row.", b.ID, b.Destination)),
			"y delete · n keep it")
	case d.ask == askForce:
		foot = append(foot, t.Error.Render(fmt.Sprintf("Delete backup %d anyway? It is the last good backup of %s: nothing will be left to restore.", b.ID, b.Service)),
			"y delete it anyway · n keep it")
	case d.job.running():
		foot = append(foot, strings.Split(d.job.phases(d.ctx), "\n")...)
	case d.job.failed():
		foot = append(foot, t.Error.Render("✗ "+errorText(d.job.err)))
		if d.lastGood != "" {
			foot = append(foot, "F delete it anyway · esc keep it")
		}
	case d.job.done():
		foot = append(foot, "✓ "+d.job.summary)
	}
	if d.note != "" {
		foot = append(foot, t.Error.Render(d.note))
	}
	body := t.Title.Render(fmt.Sprintf("Backup %d", b.ID)) + "\n\n" + strings.Join(lines, "\n")
	if len(foot) > 0 {
		body += "\n\n" + strings.Join(foot, "\n")
	}
	return t.Dialog.Width(w).Render(body)
}

// lacksText says which attachment files a backup lacks: the first few
// names, and where to read them all.
func lacksText(b core.Backup) string {
	const shown = 3
	names := b.MissingFiles[:min(len(b.MissingFiles), shown)]
	s := fmt.Sprintf("%d attachment file(s) the filestore had lost when it was taken: %s", b.MissingCount, strings.Join(names, ", "))
	if more := b.MissingCount - len(names); more > 0 {
		s += fmt.Sprintf(" and %d more (all recorded names: odoo-backup backups %s --json)", more, b.Service)
	}
	return s
}

// mismatchedText says which files of a backup had content that does not
// match their name: the first few, and where to read them all.
func mismatchedText(b core.Backup) string {
	const shown = 3
	p := b.Pool
	names := p.Mismatched[:min(len(p.Mismatched), shown)]
	s := fmt.Sprintf("%d filestore file(s) whose content does not match their name, kept as they are: %s", p.MismatchCount, strings.Join(names, ", "))
	if more := p.MismatchCount - len(names); more > 0 {
		s += fmt.Sprintf(" and %d more (all recorded names: odoo-backup backups %s --json)", more, b.Service)
	}
	return s
}

// footLines is the room the question, job or note below the fields takes.
func (d *detailsDialog) footLines() int {
	n := 0
	switch {
	case d.ask != askNothing:
		n = 3
	case d.job.running():
		n = 2
	case d.job.done():
		n = 3
	}
	if d.note != "" {
		n += 2
	}
	return n
}

func (d *detailsDialog) ShortHelp() []key.Binding { return bindings(d.keys().footer) }

// lockedText says until when a backup's objects are locked.
func lockedText(until, now time.Time) string {
	at := until.Local().Format("2006-01-02 15:04")
	if until.After(now) {
		return "until " + at + " (S3 Object Lock): nothing can delete it before"
	}
	return "the lock ended " + at + ": it can be deleted"
}
