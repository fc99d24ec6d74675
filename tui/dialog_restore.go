package tui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// restoreDialog walks through a restore: the target, the identity file when
// the backup's key is not kept on this host, the options, a summary of what
// is replaced, the target's name typed to confirm, then the job with every
// phase and the outcome. Nothing happens before the name is typed; esc goes
// back a step, and closes the flow from the first.
type restoreDialog struct {
	ctx     *Context
	b       core.Backup
	targets []restoreTarget
	// own is the backup's own service among the targets, if it still exists.
	own  *restoreTarget
	step restoreStep
	// cursor is on one of the choices: 0 this service, 1..n another service
	// (others[cursor-1]), n+1 a new database.
	cursor int
	others []restoreTarget
	newDB  lineInput
	// neutralize is the option, preset by core.DefaultNeutralize for the
	// chosen target (rule); when the rule has no default (an uploaded
	// file) it stays unchosen until the person ticks or unticks it.
	neutralize bool
	chosen     bool
	rule       core.NeutralizeRule
	// acceptErrors puts the restored database in place even when it fails
	// its checks; off unless the person ticks it. option is the option
	// under the cursor at the options step.
	acceptErrors bool
	option       int
	confirm      lineInput
	err          string
	job          flowJob
	result       chan core.RestoreResult
	res          *core.RestoreResult
	// recipient is set when the backup's key is not kept on this host: the
	// key step asks for its identity file, checked into identityFile.
	recipient    string
	identity     lineInput
	identityFile string

	// part is what is restored: the whole backup, its database or its
	// filestore alone, cycled at the options step; noFilestore (a backup
	// that holds none) leaves the filestore alone out.
	part        core.RestorePart
	noFilestore bool
}

type restoreStep int

const (
	stepTarget restoreStep = iota
	stepKey
	stepOptions
	stepSummary
	stepConfirm
	stepRun
)

// maxListed is how many other services the target step lists at once.
const maxListed = 6

func newRestoreDialog(ctx *Context, b core.Backup, targets []restoreTarget) *restoreDialog {
	d := &restoreDialog{ctx: ctx, b: b, targets: targets, result: make(chan core.RestoreResult, 1)}
	for i := range targets {
		if targets[i].svc.Name == b.Service {
			d.own = &targets[i]
		} else {
			d.others = append(d.others, targets[i])
		}
	}
	if d.own == nil {
		d.cursor = 1
	}
	return d
}

func (d *restoreDialog) newDBChoice() int { return len(d.others) + 1 }

// target is the chosen service, or nil for a new database.
func (d *restoreDialog) target() *restoreTarget {
	switch {
	case d.cursor == 0:
		return d.own
	case d.cursor <= len(d.others):
		return &d.others[d.cursor-1]
	}
	return nil
}

// targetName is what the user types to confirm: the service, or the new
// database.
func (d *restoreDialog) targetName() string {
	if t := d.target(); t != nil {
		return t.svc.Name
	}
	return d.newDB.String()
}

func (d *restoreDialog) TakesText() bool {
	return (d.step == stepTarget && d.cursor == d.newDBChoice()) || d.step == stepKey || d.step == stepConfirm
}

func (d *restoreDialog) Update(msg tea.Msg) (bool, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		before := d.job.state
		d.job.update(msg)
		if before != jobDone && d.job.done() {
			select {
			case r := <-d.result:
				d.res = &r
			default:
			}
		}
		return false, nil
	}
	k := d.ctx.Keys
	if d.step == stepRun {
		// The job goes on when the dialog closes; its outcome shows in the
		// status line too.
		if key.Matches(km, k.Back) || (d.job.done() && key.Matches(km, k.Open)) {
			return true, nil
		}
		return false, nil
	}
	if d.step == stepTarget && key.Matches(km, k.Cancel) {
		return true, nil
	}
	if key.Matches(km, k.StepBack) {
		if d.step > stepTarget {
			d.step--
		}
		if d.step == stepKey && d.recipient == "" {
			d.step--
		}
		d.err = ""
		return false, nil
	}
	switch d.step {
	case stepTarget:
		return false, d.keyTarget(km)
	case stepKey:
		if km.Type == tea.KeyEnter {
			d.identityFile, d.err = "", ""
			abs, err := checkIdentity(d.identity.String(), d.recipient)
			if err != nil {
				d.err = userMessage(err)
				return false, nil
			}
			d.identityFile, d.step = abs, stepOptions
			return false, nil
		}
		if d.identity.update(km) {
			d.err = ""
		}
	case stepOptions:
		fsOnly := d.part == core.RestoreFilestoreOnly
		switch {
		case key.Matches(km, k.Up):
			d.option = max(d.option-1, 0)
		case key.Matches(km, k.Down):
			d.option = min(d.option+1, optionPart)
		case d.option == optionPart && (key.Matches(km, k.Toggle) || km.Type == tea.KeyRight):
			d.cyclePart(1)
		case d.option == optionPart && km.Type == tea.KeyLeft:
			d.cyclePart(-1)
		case fsOnly && key.Matches(km, k.Toggle):
			// The filestore alone has no database to neutralize or check.
		case fsOnly && km.Type == tea.KeyEnter:
			d.step, d.err = stepSummary, ""
		case key.Matches(km, k.Toggle) && d.option == 1:
			d.acceptErrors = !d.acceptErrors
		case key.Matches(km, k.Toggle):
			// The first press of an unchosen box ticks it; each press
			// after that flips it.
			d.neutralize = !d.neutralize || !d.chosen
			d.chosen, d.err = true, ""
		case km.Type == tea.KeyEnter && !d.chosen:
			d.err = fmt.Sprintf("choose first: %s ticks neutralize if this is another service's data, and a second %s unticks it if it is %s's own",
				k.Toggle.Help().Key, k.Toggle.Help().Key, d.targetName())
		case km.Type == tea.KeyEnter:
			d.step = stepSummary
		}
	case stepSummary:
		if km.Type == tea.KeyEnter {
			d.step, d.err = stepConfirm, ""
			d.confirm.set("")
		}
	case stepConfirm:
		if km.Type == tea.KeyEnter {
			return false, d.start()
		}
		if d.confirm.update(km) {
			d.err = ""
		}
	}
	return false, nil
}

// optionPart is the row of the part to restore at the options step, below
// neutralize (0) and restore even if the checks fail (1).
const optionPart = 2

// parts are what the options step offers, in the order it cycles them.
func (d *restoreDialog) parts() []core.RestorePart {
	if d.noFilestore {
		return []core.RestorePart{core.RestoreAll, core.RestoreDatabaseOnly}
	}
	return []core.RestorePart{core.RestoreAll, core.RestoreDatabaseOnly, core.RestoreFilestoreOnly}
}

// cyclePart moves the part to the next (step 1) or previous (-1) choice.
func (d *restoreDialog) cyclePart(step int) {
	ps := d.parts()
	i := 0
	for j, p := range ps {
		if p == d.part {
			i = j
		}
	}
	d.part, d.err = ps[(i+step+len(ps))%len(ps)], ""
}

// partName is a part as the dialog names it.
func partName(p core.RestorePart) string {
	switch p {
	case core.RestoreDatabaseOnly:
		return "database only"
	case core.RestoreFilestoreOnly:
		return "filestore only"
	}
	return "whole backup"
}

func (d *restoreDialog) keyTarget(km tea.KeyMsg) tea.Cmd {
	typing := d.cursor == d.newDBChoice()
	switch {
	case km.Type == tea.KeyUp || (!typing && key.Matches(km, d.ctx.Keys.Up)):
		d.cursor--
		if d.cursor == 0 && d.own == nil {
			d.cursor = 1
		}
		d.cursor = max(d.cursor, 0)
		d.err = ""
	case km.Type == tea.KeyDown || km.Type == tea.KeyTab || (!typing && key.Matches(km, d.ctx.Keys.Down)):
		d.cursor = min(d.cursor+1, d.newDBChoice())
		d.err = ""
	case km.Type == tea.KeyEnter:
		d.err = d.targetProblem()
		if d.err == "" {
			// The engine's one rule (SPEC rule 8), as the command line
			// applies it: neutralize anything but the backup's own
			// service, and ask for an upload.
			onto := core.RestoreOnto{}
			if t := d.target(); t != nil {
				onto.Service = t.svc.Name
			}
			d.rule = core.DefaultNeutralize(d.b, onto)
			d.neutralize, d.chosen = d.rule.Neutralize, !d.rule.MustChoose
			d.step = stepOptions
			if d.recipient != "" {
				d.step = stepKey
			}
		}
	case typing:
		if d.newDB.update(km) {
			d.err = ""
		}
	}
	return nil
}

// targetProblem says why the chosen target cannot take the restore, in the
// engine's words, or "".
func (d *restoreDialog) targetProblem() string {
	t := d.target()
	if t == nil {
		name := d.newDB.String()
		if name == "" {
			return "type the name of the new database"
		}
		if err := core.ValidateDatabaseName(name); err != nil {
			return errorText(err)
		}
		for _, o := range d.targets {
			if o.svc.DB.Database == name && o.svc.DB.Address() == d.server() {
				return fmt.Sprintf("database %q is service %s's; choose another name, or restore onto %s", name, o.svc.Name, o.svc.Name)
			}
		}
		if d.own == nil {
			return fmt.Sprintf("backup %d belongs to service %q, which no longer exists, so there is no PostgreSQL server to restore it to; restore it onto another service", d.b.ID, d.b.Service)
		}
		return ""
	}
	if err := core.CheckRestoreTarget(t.svc, t.noPrimary); err != nil {
		return errorText(err)
	}
	return ""
}

// server is the PostgreSQL server a new database goes to: the backup's
// service's.
func (d *restoreDialog) server() string {
	if d.own == nil {
		return ""
	}
	return d.own.svc.DB.Address()
}

func (d *restoreDialog) start() tea.Cmd {
	want := d.targetName()
	if got := d.confirm.String(); got != want {
		if got == "" {
			d.err = fmt.Sprintf("type %s to confirm, or esc to go back", want)
		} else {
			d.err = fmt.Sprintf("%q is not %q: type it exactly, or esc to go back", got, want)
		}
		return nil
	}
	if d.recipient != "" {
		// The file was checked at the key step; it is checked again as it
		// is now, before anything runs.
		if _, err := checkIdentity(d.identityFile, d.recipient); err != nil {
			d.err = userMessage(err)
			return nil
		}
	}
	d.step = stepRun
	target := ""
	plan := []core.Phase{core.PhaseVerify}
	if d.part != core.RestoreFilestoreOnly {
		plan = append(plan, core.PhaseRestoreDB)
	}
	if d.part != core.RestoreDatabaseOnly {
		plan = append(plan, core.PhaseRestoreFS)
	}
	if t := d.target(); t != nil {
		target = t.svc.Name
		plan = append([]core.Phase{core.PhaseSafety}, plan...)
	}
	neutralize, accept := d.neutralize, d.acceptErrors
	if d.part == core.RestoreFilestoreOnly {
		neutralize, accept = false, false
	}
	if neutralize {
		plan = append(plan, core.PhaseNeutralize)
	}
	plan = append(plan, core.PhaseSwap)
	return d.job.start(restoreJob(d.ctx, d.b, target, d.newDB.String(), d.part, neutralize, accept, d.identityFile, d.result), plan...)
}

func (d *restoreDialog) width() int { return min(d.ctx.Width-2, 96) }

func (d *restoreDialog) View() string {
	t := d.ctx.Theme
	cw := d.width() - 2
	var b strings.Builder
	b.WriteString(t.Title.Render(fmt.Sprintf("Restore backup %d", d.b.ID)) + "  " + t.Muted.Render(d.stepsLine()) + "\n\n")
	b.WriteString(hang("backup   ", d.backupLine(), cw))
	if d.step > stepTarget {
		b.WriteString(hang("onto     ", d.ontoLine(), cw))
	}
	if d.step > stepKey && d.recipient != "" {
		b.WriteString(hang("key      ", d.identityFile, cw))
	}
	b.WriteString("\n")
	switch d.step {
	case stepTarget:
		b.WriteString(d.viewTarget(cw))
	case stepKey:
		b.WriteString(hang("", offHostNote(d.recipient), cw))
		b.WriteString("\n" + identityField(&d.identity, min(cw, 80)) + "\n")
		b.WriteString(t.Muted.Render("It is read to decrypt the backup, never copied.") + "\n")
	case stepOptions:
		cur := func(i int) string {
			if i == d.option {
				return "▸ "
			}
			return "  "
		}
		fsOnly := d.part == core.RestoreFilestoreOnly
		box := "[ ]"
		switch {
		case fsOnly:
			box = "[-]"
		case !d.chosen:
			box = "[?]"
		case d.neutralize:
			box = "[x]"
		}
		b.WriteString(hang(cur(0)+box+" ", "neutralize: mail servers and scheduled actions off, live payment providers disabled, database.is_neutralized set, a new database uuid and secret", cw))
		switch {
		case fsOnly:
			b.WriteString(t.Muted.Render("  not for the filestore alone: the database is left as it is") + "\n")
		case !d.chosen:
			b.WriteString(hang("  ", fmt.Sprintf("%s: choose with %s, ticked if it is another service's data, unticked if it is %s's own", d.rule.Why, d.ctx.Keys.Toggle.Help().Key, d.targetName()), cw))
		case d.neutralize && d.target() != nil && d.target().svc.Name == d.b.Service:
			b.WriteString(t.Muted.Render("  this is the backup's own service: neutralizing it turns its mail and crons off") + "\n")
		case d.neutralize == d.rule.Neutralize && !d.rule.MustChoose:
			b.WriteString(t.Muted.Render(strings.TrimSuffix(hang("  ", "the default: "+d.rule.Why, cw), "\n")) + "\n")
		}
		accept := "[ ] "
		switch {
		case fsOnly:
			accept = "[-] "
		case d.acceptErrors:
			accept = "[x] "
		}
		b.WriteString(hang(cur(1)+accept, "restore even if the checks fail: the restored database is checked first (key tables, the row counts the backup recorded, module base installed) and one that fails is discarded; tick this to put it in place anyway", cw))
		note := d.partNote()
		if d.option == optionPart {
			note += "; space or ←/→ changes it"
		}
		b.WriteString(hang(cur(optionPart)+"restore ", "‹ "+partName(d.part)+" ›  "+t.Muted.Render(note), cw))
	case stepSummary, stepConfirm:
		b.WriteString(d.viewSummary(cw))
		if d.step == stepConfirm {
			d.confirm.width = min(cw-30, 40)
			b.WriteString("\nType " + t.Header.Render(d.targetName()) + " to confirm: " + d.confirm.view() + "\n")
		}
	case stepRun:
		if d.job.done() {
			b.WriteString(hang("", d.job.phasesDone(), cw) + "\n" + d.viewOutcome(cw))
		} else {
			b.WriteString(d.job.phases(d.ctx) + "\n")
		}
	}
	if d.err != "" {
		b.WriteString("\n" + t.Error.Render(d.err) + "\n")
	}
	if d.step == stepRun && !d.job.done() {
		b.WriteString("\n" + t.Muted.Render("esc closes this; the restore goes on and its outcome shows in the status line"))
	}
	return t.Dialog.Width(d.width()).Render(strings.TrimRight(b.String(), "\n"))
}

func (d *restoreDialog) stepsLine() string {
	names := []string{"target", "key", "options", "summary", "confirm", "restore"}
	n, total := int(d.step)+1, len(names)
	if d.recipient == "" {
		names = append(names[:stepKey], names[stepKey+1:]...)
		total--
		if d.step > stepKey {
			n--
		}
	}
	return fmt.Sprintf("step %d of %d: %s", n, total, names[n-1])
}

func (d *restoreDialog) backupLine() string {
	b := d.b
	sum := ""
	if len(b.SHA256) >= 8 {
		sum = " · sha256 " + b.SHA256[:4] + "…" + b.SHA256[len(b.SHA256)-4:]
	}
	return fmt.Sprintf("%s · %s · %s · %s · %s%s", b.Service, b.StartedAt.In(d.ctx.now().Location()).Format("2006-01-02 15:04"),
		b.Kind, b.Destination, size(b.Size), sum)
}

func (d *restoreDialog) ontoLine() string {
	if t := d.target(); t != nil {
		return fmt.Sprintf("%s (database %s, filestore %s)", t.svc.Name, t.svc.DB.Database, t.svc.FilestoreDir)
	}
	return fmt.Sprintf("new database %s on %s (filestore %s)", d.newDB.String(), d.server(), core.NewDatabaseFilestore(d.own.svc, d.newDB.String()))
}

func (d *restoreDialog) viewTarget(cw int) string {
	t := d.ctx.Theme
	var b strings.Builder
	radio := func(i int) string {
		cur, mark := "  ", "( )"
		if i == d.cursor {
			cur, mark = "▸ ", "(•)"
		}
		return cur + mark + " "
	}
	b.WriteString("Restore onto\n")
	if d.own != nil {
		b.WriteString(radio(0) + "this service: " + d.own.svc.Name + "\n")
	} else {
		b.WriteString(t.Muted.Render(fmt.Sprintf("  ( ) this service: %s no longer exists", d.b.Service)) + "\n")
	}
	b.WriteString("  another service:\n")
	if len(d.others) == 0 {
		k := d.ctx.Keys
		b.WriteString(t.Muted.Render(fmt.Sprintf("      none: %s on the services screen (%s) adds one", k.Add.Help().Key, k.Services.Help().Key)) + "\n")
	}
	from := 0
	if d.cursor > maxListed {
		from = min(d.cursor-maxListed, len(d.others)-maxListed)
	}
	if from > 0 {
		b.WriteString(t.Muted.Render(fmt.Sprintf("      … %d more above", from)) + "\n")
	}
	for i := from; i < len(d.others) && i < from+maxListed; i++ {
		o := d.others[i]
		note := "database " + o.svc.DB.Database
		switch {
		case o.svc.Placeholder:
			note = "no database connection yet"
		case o.noPrimary != nil:
			note += " · no primary destination"
		default:
			note += " · safety backup to " + o.primary
		}
		b.WriteString("  " + radio(i+1) + pad(o.svc.Name, 16) + " " + t.Muted.Render(note) + "\n")
	}
	if n := len(d.others) - from - maxListed; n > 0 {
		b.WriteString(t.Muted.Render(fmt.Sprintf("      … %d more below", n)) + "\n")
	}
	d.newDB.width = min(cw-24, 40)
	b.WriteString(radio(d.newDBChoice()) + "a new database: " + d.newDB.view() + "\n")
	if d.cursor == d.newDBChoice() && d.own != nil {
		fs := core.NewDatabaseFilestore(d.own.svc, orDash(d.newDB.String()))
		b.WriteString(t.Muted.Render("      on "+d.server()+", filestore "+fs) + "\n")
	}
	return b.String()
}

// partNote says what the chosen part replaces and leaves untouched.
func (d *restoreDialog) partNote() string {
	note := ""
	switch d.part {
	case core.RestoreDatabaseOnly:
		note = "the filestore is left untouched"
	case core.RestoreFilestoreOnly:
		note = "the database is left untouched"
	default:
		note = "database and filestore"
	}
	if d.noFilestore {
		note += " (the backup holds no filestore)"
	}
	return note
}

func (d *restoreDialog) viewSummary(cw int) string {
	if d.part != core.RestoreAll {
		return d.viewPartSummary(cw)
	}
	t := d.ctx.Theme
	var b strings.Builder
	tg := d.target()
	if tg == nil {
		db := d.newDB.String()
		b.WriteString(hang("", fmt.Sprintf("This creates database %q on %s and the filestore %s.", db, d.server(), core.NewDatabaseFilestore(d.own.svc, db)), cw))
		b.WriteString("Nothing is replaced, so no safety backup is taken.\n")
		b.WriteString("  1. the backup's checksum is verified;\n")
		b.WriteString("  2. it is restored under a temporary name;\n")
		b.WriteString(hang("  3. ", "only once complete does it appear as "+db+".", cw))
	} else {
		s := tg.svc
		warn := hang("", fmt.Sprintf("This replaces ALL data of %s: database %q and filestore %s.", s.Name, s.DB.Database, s.FilestoreDir), cw)
		b.WriteString(t.Error.Render(strings.TrimSuffix(warn, "\n")) + "\n")
		b.WriteString(hang("  1. ", fmt.Sprintf("a safety backup of %s goes first to its primary, %q;", s.Name, tg.primary), cw))
		b.WriteString("  2. the backup's checksum is verified;\n")
		b.WriteString(hang("  3. ", fmt.Sprintf("it is restored beside %s, untouched until that succeeds;", s.Name), cw))
		b.WriteString(hang("  4. ", fmt.Sprintf("then the two are swapped and the old %s data is dropped.", s.Name), cw))
	}
	if d.neutralize {
		b.WriteString("Neutralized: mail servers and crons off, new database uuid and secret.\n")
	} else {
		b.WriteString("Not neutralized: the restored database sends mail and runs crons as the original did.\n")
	}
	if d.acceptErrors {
		b.WriteString(t.Error.Render(strings.TrimSuffix(hang("", "Put in place even if it fails its checks (key tables, recorded row counts, base installed).", cw), "\n")) + "\n")
	} else {
		b.WriteString(hang("", "Checked before it is put in place; if the checks fail nothing is replaced.", cw))
	}
	return b.String()
}

// viewPartSummary is the summary of a restore of one half: what is
// replaced or created, and what is left untouched.
func (d *restoreDialog) viewPartSummary(cw int) string {
	t := d.ctx.Theme
	var b strings.Builder
	dbOnly := d.part == core.RestoreDatabaseOnly
	tg := d.target()
	if tg == nil {
		db := d.newDB.String()
		fs := core.NewDatabaseFilestore(d.own.svc, db)
		if dbOnly {
			b.WriteString(hang("", fmt.Sprintf("This creates database %q on %s, without a filestore: %s is not made.", db, d.server(), fs), cw))
		} else {
			b.WriteString(hang("", fmt.Sprintf("This creates the filestore %s alone, for database %q; no database is created or changed.", fs, db), cw))
		}
		b.WriteString("Nothing is replaced, so no safety backup is taken.\n")
		b.WriteString("  1. the backup's checksum is verified;\n")
		b.WriteString("  2. it is restored under a temporary name;\n")
		b.WriteString(hang("  3. ", "only once complete does it appear under its name.", cw))
	} else {
		s := tg.svc
		half, kept := fmt.Sprintf("database %q", s.DB.Database), fmt.Sprintf("Its filestore %s is left untouched.", s.FilestoreDir)
		if !dbOnly {
			half, kept = s.FilestoreDir, fmt.Sprintf("Its database %q is left untouched, its sessions too.", s.DB.Database)
		}
		warn := hang("", fmt.Sprintf("This replaces the %s of %s: %s.", string(d.part), s.Name, half), cw)
		b.WriteString(t.Error.Render(strings.TrimSuffix(warn, "\n")) + "\n")
		b.WriteString(hang("", kept, cw))
		b.WriteString(hang("  1. ", fmt.Sprintf("a safety backup of the whole of %s goes first to its primary, %q;", s.Name, tg.primary), cw))
		b.WriteString("  2. the backup's checksum is verified;\n")
		b.WriteString(hang("  3. ", fmt.Sprintf("its %s is restored beside %s's, untouched until that succeeds;", d.part, s.Name), cw))
		b.WriteString(hang("  4. ", fmt.Sprintf("then the two are swapped and the old %s is removed.", d.part), cw))
	}
	switch {
	case !dbOnly:
		b.WriteString("No database is restored, so none is neutralized or checked.\n")
	case d.neutralize:
		b.WriteString("Neutralized: mail servers and crons off, new database uuid and secret.\n")
	default:
		b.WriteString("Not neutralized: the restored database sends mail and runs crons as the original did.\n")
	}
	switch {
	case !dbOnly:
	case d.acceptErrors:
		b.WriteString(t.Error.Render(strings.TrimSuffix(hang("", "Put in place even if it fails its checks (key tables, recorded row counts, base installed).", cw), "\n")) + "\n")
	default:
		b.WriteString(hang("", "Checked before it is put in place; if the checks fail nothing is replaced.", cw))
	}
	return b.String()
}

func (d *restoreDialog) viewOutcome(cw int) string {
	t := d.ctx.Theme
	var b strings.Builder
	line := func(prefix, format string, args ...any) {
		b.WriteString(hang(prefix, fmt.Sprintf(format, args...), cw))
	}
	res := d.res
	if d.job.err != nil {
		what := "restore failed: " + errorText(d.job.err)
		if errors.Is(d.job.err, core.ErrInterrupted) {
			// It did not fail: it was stopped, and says what it left.
			what = errorText(d.job.err)
		}
		b.WriteString(t.Error.Render(strings.TrimSuffix(hang("✗ ", what, cw), "\n")) + "\n")
		if res != nil && res.SafetyBackupID != 0 {
			line("", "Safety backup %d of %s was taken first.", res.SafetyBackupID, d.targetName())
		}
		return b.String()
	}
	if res == nil {
		line("✓ ", "%s", d.job.summary)
		return b.String()
	}
	tg := d.target()
	switch {
	case tg != nil && d.part == core.RestoreDatabaseOnly:
		line("✓ ", "The database of backup %d restored onto %s as %s; its filestore was left untouched.", d.b.ID, tg.svc.Name, res.Database)
	case tg != nil && d.part == core.RestoreFilestoreOnly:
		line("✓ ", "The filestore of backup %d restored onto %s in %s (%d files); its database was left untouched.", d.b.ID, tg.svc.Name, res.FilestoreDir, res.FilestoreFiles)
	case tg != nil:
		line("✓ ", "Backup %d restored onto %s: database %s, filestore %s (%d files).", d.b.ID, tg.svc.Name, res.Database, res.FilestoreDir, res.FilestoreFiles)
	case d.part == core.RestoreDatabaseOnly:
		line("✓ ", "The database of backup %d restored into new database %s; no filestore was restored.", d.b.ID, res.Database)
	case d.part == core.RestoreFilestoreOnly:
		line("✓ ", "The filestore of backup %d restored into %s (%d files); no database was created.", d.b.ID, res.FilestoreDir, res.FilestoreFiles)
	default:
		line("✓ ", "Backup %d restored into new database %s, filestore %s (%d files).", d.b.ID, res.Database, res.FilestoreDir, res.FilestoreFiles)
	}
	if tg != nil {
		line("", "Safety backup %d of %s was taken first; to put the old data back, %s.", res.SafetyBackupID, tg.svc.Name, undoRestore(res.SafetyBackupID, tg.svc.Name))
	}
	if len(res.Neutralized) > 0 {
		line("Neutralized: ", "%s", strings.Join(res.Neutralized, "; "))
	}
	if res.Checks.Accepted {
		line("Warning: ", "the restored database failed its checks (%s) and was put in place as asked", res.Checks.Summary())
	} else if len(res.Checks.Ran) > 0 {
		line("", "Checks passed: %s.", strings.Join(res.Checks.Ran, ", "))
	}
	if res.SQLErrorCount > 0 {
		line("", "psql reported %d error(s) while loading the dump, as Odoo tolerates; the first: %s", res.SQLErrorCount, strings.Join(res.SQLErrors, " "))
	}
	switch {
	case res.MissingCount == 0:
	case d.part == core.RestoreDatabaseOnly:
		line("Warning: ", "%d attachment file(s) the restored database refers to are not in the filestore it uses, which was not restored, e.g. %s", res.MissingCount, res.MissingFiles[0])
	case d.part == core.RestoreFilestoreOnly:
		line("Warning: ", "%d attachment file(s) the database refers to are not in the restored filestore, e.g. %s", res.MissingCount, res.MissingFiles[0])
	default:
		line("Warning: ", "%d attachment file(s) the database refers to are not in the backup, e.g. %s", res.MissingCount, res.MissingFiles[0])
	}
	for _, w := range res.Warnings {
		line("Warning: ", "%s", w)
	}
	return b.String()
}

func (d *restoreDialog) ShortHelp() []key.Binding {
	k := d.ctx.Keys
	switch d.step {
	case stepTarget:
		return []key.Binding{k.Up, k.Down, k.Next, k.Cancel}
	case stepKey:
		return []key.Binding{k.Next, k.StepBack}
	case stepOptions:
		return []key.Binding{k.Up, k.Down, k.Toggle, k.Next, k.StepBack}
	case stepSummary:
		return []key.Binding{k.Next, k.StepBack}
	case stepConfirm:
		return []key.Binding{k.DoRestore, k.StepBack}
	}
	return []key.Binding{k.Close}
}
