package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// uploadDialog is upload & restore: a file on this host is inspected and
// shown for what it is, stored on the service's primary as an upload
// backup, then offered to the restore flow onto the service.
type uploadDialog struct {
	ctx     *Context
	service string
	primary string
	step    uploadStep
	path    lineInput
	// choices are the names tab completion found, when more than one.
	choices []string
	info    core.UploadInfo
	err     string
	job     flowJob
	result  chan core.Backup
	backup  *core.Backup
}

type uploadStep int

const (
	uploadPath uploadStep = iota
	uploadInspecting
	uploadFound
	uploadRun
)

func newUploadDialog(ctx *Context, service, primary string) *uploadDialog {
	return &uploadDialog{ctx: ctx, service: service, primary: primary, result: make(chan core.Backup, 1)}
}

func (d *uploadDialog) TakesText() bool { return d.step == uploadPath }

// PathCompletedMsg is tab completion of a path: the longest path every
// match shares, and the names matched when there are several.
type PathCompletedMsg struct {
	From, To string
	Choices  []string
}

func completePath(from string) tea.Cmd {
	return func() tea.Msg {
		p := expandHome(from)
		dir, base := filepath.Split(p)
		entries, err := os.ReadDir(cmpOr(dir, "."))
		if err != nil {
			return PathCompletedMsg{From: from, To: from}
		}
		var names []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), base) && (strings.HasPrefix(base, ".") || !strings.HasPrefix(e.Name(), ".")) {
				n := e.Name()
				if e.IsDir() {
					n += "/"
				}
				names = append(names, n)
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			return PathCompletedMsg{From: from, To: from}
		}
		common := names[0]
		for _, n := range names[1:] {
			for !strings.HasPrefix(n, common) {
				common = common[:len(common)-1]
			}
		}
		msg := PathCompletedMsg{From: from, To: from + strings.TrimPrefix(common, base)}
		if len(names) > 1 {
			msg.Choices = names
		}
		return msg
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// expandHome reads ~/ as the home directory, as a shell would.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

func (d *uploadDialog) Update(msg tea.Msg) (bool, tea.Cmd) {
	switch m := msg.(type) {
	case tea.KeyMsg:
		return d.key(m)
	case InspectedMsg:
		if d.step != uploadInspecting || m.Path != expandHome(d.path.String()) {
			return false, nil
		}
		if m.Err != nil {
			d.step, d.err = uploadPath, errorText(m.Err)
			return false, nil
		}
		d.step, d.info = uploadFound, m.Info
	case PathCompletedMsg:
		if d.step == uploadPath && m.From == d.path.String() {
			d.path.set(m.To)
			d.choices = m.Choices
		}
	default:
		before := d.job.state
		d.job.update(msg)
		if before != jobDone && d.job.done() && d.job.err == nil {
			select {
			case b := <-d.result:
				d.backup = &b
			default:
			}
		}
	}
	return false, nil
}

func (d *uploadDialog) key(km tea.KeyMsg) (bool, tea.Cmd) {
	k := d.ctx.Keys
	if km.Type == tea.KeyEsc {
		return true, nil
	}
	switch d.step {
	case uploadPath:
		switch km.Type {
		case tea.KeyEnter:
			p := expandHome(strings.TrimSpace(d.path.String()))
			if p == "" {
				d.err = "type the path of a backup file on this host"
				return false, nil
			}
			d.step, d.err, d.choices = uploadInspecting, "", nil
			return false, inspectUpload(d.ctx, p)
		case tea.KeyTab:
			return false, completePath(d.path.String())
		}
		if d.path.update(km) {
			d.err, d.choices = "", nil
		}
	case uploadFound:
		switch {
		case key.Matches(km, k.PrevStep):
			d.step = uploadPath
		case km.Type == tea.KeyEnter:
			d.step = uploadRun
			return false, d.job.start(uploadJob(d.ctx, d.service, d.primary, d.info.Path, d.result), core.PhaseUpload)
		}
	case uploadRun:
		if km.Type == tea.KeyEnter && d.backup != nil {
			b := *d.backup
			return true, openRestore(d.ctx, b)
		}
		if km.Type == tea.KeyEnter && d.job.done() {
			return true, nil
		}
	}
	return false, nil
}

func (d *uploadDialog) width() int { return min(d.ctx.Width-2, 96) }

func (d *uploadDialog) View() string {
	t := d.ctx.Theme
	cw := d.width() - 2
	var b strings.Builder
	b.WriteString(t.Title.Render("Upload & restore onto "+d.service) + "\n\n")
	if d.step == uploadRun {
		b.WriteString(hang("file     ", d.info.Path, cw))
		b.WriteString(hang("found    ", d.foundLine(), cw))
		b.WriteString(hang("to       ", d.primary+", the primary destination of "+d.service, cw) + "\n")
		if d.job.done() {
			b.WriteString(d.job.phasesDone() + "\n")
		} else {
			b.WriteString(d.job.phases(d.ctx) + "\n")
		}
		switch {
		case d.job.failed():
			b.WriteString("\n" + t.Error.Render(strings.TrimSuffix(hang("✗ ", errorText(d.job.err), cw), "\n")) + "\n")
		case d.backup != nil:
			b.WriteString("\n" + hang("✓ ", fmt.Sprintf("Uploaded as backup %d to %s (%s).", d.backup.ID, d.backup.Destination, d.backup.Key), cw))
			b.WriteString(hang("", fmt.Sprintf("Restore it onto %s now? enter goes on to the restore, where you choose whether to neutralize it (nobody knows where the file came from) and nothing happens before you confirm; esc closes, and it stays in the history.", d.service), cw))
		default:
			b.WriteString("\n" + t.Muted.Render(strings.TrimSuffix(hang("", "esc closes this; the upload goes on and its outcome shows in the status line", cw), "\n")))
		}
		return t.Dialog.Width(d.width()).Render(strings.TrimRight(b.String(), "\n"))
	}
	b.WriteString("A backup file on this host (Odoo zip, .sql, .sql.gz or pg_dump custom):\n")
	d.path.width = cw - 2
	b.WriteString(d.path.view() + "\n")
	if len(d.choices) > 0 {
		shown := d.choices
		if len(shown) > 6 {
			shown = append(shown[:6:6], fmt.Sprintf("… %d more", len(d.choices)-6))
		}
		b.WriteString(t.Muted.Render(strings.TrimSuffix(hang("", strings.Join(shown, "  "), cw), "\n")) + "\n")
	}
	switch d.step {
	case uploadInspecting:
		b.WriteString("\n" + d.ctx.spin() + " reading the whole file to check it…\n")
	case uploadFound:
		b.WriteString("\n" + d.found())
		b.WriteString(hang("", fmt.Sprintf("It goes to %s, the primary destination of %s, as an upload backup.", d.primary, d.service), cw))
	}
	if d.err != "" {
		b.WriteString("\n" + t.Error.Render(strings.TrimSuffix(hang("", d.err, cw), "\n")) + "\n")
	}
	return t.Dialog.Width(d.width()).Render(strings.TrimRight(b.String(), "\n"))
}

// foundLine is what the file is, in one line.
func (d *uploadDialog) foundLine() string {
	i := d.info
	parts := []string{core.DescribeFormat(i.Format), size(i.Size)}
	if i.Database != "" {
		parts = append(parts, "database "+i.Database)
	}
	if i.OdooVersion != "" {
		parts = append(parts, "Odoo "+i.OdooVersion)
	}
	if !i.WithFilestore {
		parts = append(parts, "no filestore")
	}
	return strings.Join(parts, " · ")
}

// found says what the file is, as the CLI's upload does.
func (d *uploadDialog) found() string {
	i := d.info
	var b strings.Builder
	b.WriteString(fmt.Sprintf("Found: %s, %s\n", core.DescribeFormat(i.Format), size(i.Size)))
	b.WriteString("  database:     " + orDash(i.Database) + "\n")
	b.WriteString("  Odoo version: " + orDash(i.OdooVersion) + "\n")
	if i.Modules >= 0 {
		b.WriteString(fmt.Sprintf("  modules:      %d\n", i.Modules))
	}
	if i.WithFilestore {
		b.WriteString(fmt.Sprintf("  filestore:    %d files, %s\n", i.FilestoreFiles, size(int64(i.FilestoreBytes))))
	} else {
		b.WriteString("  filestore:    none (the database only)\n")
	}
	return b.String()
}

func (d *uploadDialog) ShortHelp() []key.Binding {
	k := d.ctx.Keys
	switch d.step {
	case uploadPath:
		return []key.Binding{k.Next, k.Complete, k.Cancel}
	case uploadInspecting:
		return []key.Binding{k.Cancel}
	case uploadFound:
		return []key.Binding{k.DoUpload, k.Cancel, k.PrevStep}
	}
	if d.backup != nil {
		return []key.Binding{k.DoRestore, k.Close}
	}
	return []key.Binding{k.Close}
}
