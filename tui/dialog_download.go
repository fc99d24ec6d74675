package tui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// downloadDialog copies a backup's archive to a file on this host: it asks
// for the path, then follows the download job (checksum verified, an
// encrypted archive decrypted with the key its destination keeps here, or
// with the identity file asked for when the key is kept elsewhere).
// It changes nothing in the catalog, so it works read-only too; it writes
// the one file asked for and never overwrites one.
type downloadDialog struct {
	ctx  *Context
	b    core.Backup
	path lineInput
	// recipient is set when the backup's key is not kept on this host: its
	// identity file is asked for in identity.
	recipient string
	identity  lineInput
	// focus is the field typed into: 0 the path, 1 the identity file.
	focus int
	err   string
	job   flowJob
}

// openDownload opens the download dialog for a backup of the history.
func openDownload(ctx *Context, b core.Backup) tea.Cmd {
	if why := noArchive(b, "download"); why != "" {
		return setStatus(true, why)
	}
	d := &downloadDialog{ctx: ctx, b: b}
	d.path.set(core.DownloadFileName(b))
	if core.BackupRecipient(b) == "" {
		return openDialog(d)
	}
	cat := ctx.Catalog
	return func() tea.Msg {
		r, err := core.OffHostRecipient(context.Background(), cat, b)
		if err != nil {
			return statusMsg{err: true, text: errorText(err)}
		}
		d.recipient = r
		return openMsg{d}
	}
}

func downloadLabel(b core.Backup) string { return fmt.Sprintf("downloading backup %d", b.ID) }

// downloadJob runs the engine's download to out (an absolute path),
// decrypting with the identity file when one is given.
func downloadJob(ctx *Context, b core.Backup, out, identity string) JobSpec {
	eng := ctx.Engine
	return JobSpec{
		Label: downloadLabel(b),
		// It writes a file on this host but changes nothing in the catalog
		// or on a destination.
		Changes: false,
		Run: func(jctx context.Context, progress core.ProgressFunc) (string, error) {
			got, err := eng.Download(jctx, core.DownloadRequest{BackupID: b.ID, Path: out, Progress: progress, IdentityFile: identity})
			if err != nil {
				return "", err
			}
			how := "checksum verified"
			if got.Encryption != "" {
				how += ", decrypted"
			}
			written := got.Size
			if fi, err := os.Stat(out); err == nil {
				written = fi.Size()
			}
			return fmt.Sprintf("backup %d downloaded to %s (%s, %s)", b.ID, out, size(written), how), nil
		},
	}
}

// TakesText: the path is typed until the download starts.
func (d *downloadDialog) TakesText() bool { return d.job.state == jobIdle }

func (d *downloadDialog) Update(msg tea.Msg) (bool, tea.Cmd) {
	km, handled, done := d.job.intercept(d.ctx.Keys, msg)
	if handled {
		return done, nil
	}
	k := d.ctx.Keys
	switch {
	case key.Matches(km, k.Cancel):
		return true, nil
	case key.Matches(km, k.DoDownload):
		return false, d.submit()
	case d.recipient != "" && key.Matches(km, k.NextField, k.PrevField):
		d.focus = 1 - d.focus
		return false, nil
	}
	f := &d.path
	if d.focus == 1 {
		f = &d.identity
	}
	if f.update(km) {
		d.err = ""
	}
	return false, nil
}

// submit checks the path and starts the download; an existing file is
// refused here (and again by the engine, which never overwrites one).
func (d *downloadDialog) submit() tea.Cmd {
	p := strings.TrimSpace(d.path.String())
	d.focus = 0 // a refusal of the path points at it
	if p == "" {
		d.err = "give the path of the file to write, e.g. " + core.DownloadFileName(d.b)
		return nil
	}
	abs, err := filepath.Abs(expandHome(p))
	if err != nil {
		d.err = errorText(err)
		return nil
	}
	if _, err := os.Lstat(abs); err == nil {
		d.err = abs + " already exists; choose another file name or remove it first"
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		d.err = "cannot check " + abs + ": " + errorText(err)
		return nil
	}
	if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
		d.err = filepath.Dir(abs) + " is not a directory; choose a file in an existing directory"
		return nil
	}
	identity := ""
	if d.recipient != "" {
		if identity, err = checkIdentity(d.identity.String(), d.recipient); err != nil {
			d.err, d.focus = userMessage(err), 1
			return nil
		}
	}
	return d.job.start(downloadJob(d.ctx, d.b, abs, identity), core.PhaseDownload)
}

func (d *downloadDialog) width() int { return min(d.ctx.Width-2, 90) }

func (d *downloadDialog) View() string {
	t := d.ctx.Theme
	w := d.width() - 4
	var b strings.Builder
	b.WriteString(t.Title.Render(fmt.Sprintf("Download backup %d", d.b.ID)) + "\n\n")
	what := fmt.Sprintf("%s of %s on %s, %s", d.b.Kind, d.b.Service, d.b.Destination, size(d.b.Size))
	b.WriteString(hang("", what, w))
	switch {
	case d.recipient != "":
		b.WriteString(hang("", offHostNote(d.recipient), w))
	case d.b.Encryption != "":
		b.WriteString(hang("", "It is encrypted ("+d.b.Encryption+"): the file written is the decrypted archive, when this host keeps the key.", w))
	}
	b.WriteString("\n")
	if d.job.state == jobIdle {
		label := "Save to "
		if d.recipient != "" {
			label = pad(label, len(identityLabel))
		}
		fw := w // the fields' width, after the mark of the one typed into
		if d.recipient != "" {
			fw -= 2
		}
		d.path.width = fw - len(label) - 2
		b.WriteString(d.mark(0) + label + d.path.view() + "\n")
		if d.recipient != "" {
			b.WriteString(d.mark(1) + identityField(&d.identity, fw) + "\n")
		}
		if d.err != "" {
			b.WriteString(t.Error.Width(w).Render("✗ "+d.err) + "\n")
		}
		b.WriteString("\n" + t.Muted.Render("A file on this host; an existing file is never overwritten.") + "\n")
		if d.recipient != "" {
			b.WriteString(t.Muted.Render("tab next field · enter download · esc cancel"))
		} else {
			b.WriteString(t.Muted.Render("enter download · esc cancel"))
		}
		return t.Dialog.Width(d.width()).Render(b.String())
	}
	b.WriteString(d.job.view(d.ctx, w))
	return t.Dialog.Width(d.width()).Render(b.String())
}

// mark points at the field typed into when there are two.
func (d *downloadDialog) mark(field int) string {
	switch {
	case d.recipient == "":
		return ""
	case d.focus == field:
		return "▸ "
	}
	return "  "
}

func (d *downloadDialog) ShortHelp() []key.Binding {
	k := d.ctx.Keys
	if d.job.state == jobIdle && d.recipient != "" {
		return []key.Binding{k.NextField, k.DoDownload, k.Cancel}
	}
	if d.job.state == jobIdle {
		return []key.Binding{k.DoDownload, k.Cancel}
	}
	return []key.Binding{k.Close}
}
