package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// verifyDialog asks for the identity file of a backup whose key is not kept
// on this host, checks it, then follows the verify job. It changes nothing,
// so it works read-only too.
type verifyDialog struct {
	ctx       *Context
	b         core.Backup
	recipient string
	identity  lineInput
	err       string
	job       flowJob
}

func newVerifyDialog(ctx *Context, b core.Backup, recipient string) *verifyDialog {
	return &verifyDialog{ctx: ctx, b: b, recipient: recipient}
}

// verifyKeyMsg says whether verifying backup id needs an identity file: the
// recipient it is encrypted to when it does.
type verifyKeyMsg struct {
	id        int64
	recipient string
	err       error
}

// verifyKey finds out, from the catalog, whether backup b needs an identity
// file to be verified.
func verifyKey(ctx *Context, b core.Backup) func() verifyKeyMsg {
	cat := ctx.Catalog
	return func() verifyKeyMsg {
		r, err := core.OffHostRecipient(context.Background(), cat, b)
		return verifyKeyMsg{id: b.ID, recipient: r, err: err}
	}
}

// TakesText: the identity file is typed until the verify starts.
func (d *verifyDialog) TakesText() bool { return d.job.state == jobIdle }

func (d *verifyDialog) Update(msg tea.Msg) (bool, tea.Cmd) {
	km, handled, done := d.job.intercept(d.ctx.Keys, msg)
	if handled {
		return done, nil
	}
	k := d.ctx.Keys
	switch {
	case key.Matches(km, k.Cancel):
		return true, nil
	case key.Matches(km, k.DoVerify):
		abs, err := checkIdentity(d.identity.String(), d.recipient)
		if err != nil {
			d.err = userMessage(err)
			return false, nil
		}
		return false, d.job.start(verifyJob(d.ctx, d.b, abs), core.PhaseVerify)
	}
	if d.identity.update(km) {
		d.err = ""
	}
	return false, nil
}

func (d *verifyDialog) width() int { return min(d.ctx.Width-2, 90) }

func (d *verifyDialog) View() string {
	t := d.ctx.Theme
	w := d.width() - 4
	var b strings.Builder
	b.WriteString(t.Title.Render(fmt.Sprintf("Verify backup %d", d.b.ID)) + "\n\n")
	b.WriteString(hang("", fmt.Sprintf("%s of %s on %s, %s", d.b.Kind, d.b.Service, d.b.Destination, size(d.b.Size)), w))
	b.WriteString(hang("", offHostNote(d.recipient), w))
	b.WriteString("\n")
	if d.job.state == jobIdle {
		b.WriteString(identityField(&d.identity, w) + "\n")
		if d.err != "" {
			b.WriteString(t.Error.Width(w).Render("✗ "+d.err) + "\n")
		}
		b.WriteString("\n" + t.Muted.Render("The checksum is checked, the archive decrypted and read back; nothing is written.") + "\n")
		b.WriteString(t.Muted.Render("enter verify · esc cancel"))
		return t.Dialog.Width(d.width()).Render(b.String())
	}
	b.WriteString(d.job.view(d.ctx, w))
	return t.Dialog.Width(d.width()).Render(b.String())
}

func (d *verifyDialog) ShortHelp() []key.Binding {
	k := d.ctx.Keys
	if d.job.state == jobIdle {
		return []key.Binding{k.DoVerify, k.Cancel}
	}
	return []key.Binding{k.Close}
}

// offHostNote says why an identity file is asked for.
func offHostNote(recipient string) string {
	return fmt.Sprintf("It is encrypted to %s and this host keeps no key for it: give the age identity file of that recipient (readable by you only).", recipient)
}

// identityLabel is the label of the identity file field, as wide as the
// other fields' labels beside it.
const identityLabel = "Identity file "

// identityField renders the identity file field in w columns.
func identityField(f *lineInput, w int) string {
	f.width = w - len(identityLabel) - 2
	return identityLabel + f.view()
}
