package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/odoo-backup/odoo-backup/core"
)

// addDestination opens the form that adds a destination.
func addDestination(ctx *Context) tea.Cmd {
	return openDialog(newDestinationForm(ctx, nil))
}

// editDestination opens the form on a destination; its secret key is kept
// unless a new one is typed, and is never shown.
func editDestination(ctx *Context, name string) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		d, err := cat.Destination(context.Background(), name)
		if err != nil {
			return statusMsg{err: true, text: "cannot read " + name + ": " + userMessage(err)}
		}
		return openMsg{newDestinationForm(ctx, &d)}
	}
}

// removeDestination asks, then removes a destination; the catalog refuses
// while a service or template uses it, or while backups are recorded on it.
func removeDestination(ctx *Context, name string) tea.Cmd {
	cat := ctx.Catalog
	return confirm(ctx, "Remove destination "+name+"?", "The objects it holds are not touched; only the catalog forgets the destination.",
		func(c context.Context) error { return core.RemoveDestination(c, cat, name, false) },
		"✓ destination "+name+" removed; the objects it holds were not touched", afterChange(ctx, loadDestinations(ctx)))
}

// testDestination writes, reads back and deletes a test object on the
// destination, as a job of this console (it only reads the catalog).
func testDestination(ctx *Context, name string) tea.Cmd {
	cat, open := ctx.Catalog, ctx.OpenStore
	return startJob(JobSpec{
		Label: testLabel(name),
		Run: func(jctx context.Context, progress core.ProgressFunc) (string, error) {
			progress(core.Progress{Phase: "write, read and delete a test object"})
			if _, err := core.TestDestination(jctx, cat, open, name, checkTimeout); err != nil {
				return "", err
			}
			return fmt.Sprintf("destination %s works: a test object was written, read back and deleted", name), nil
		},
	})
}

// checkTimeout bounds the checks a form runs before saving (a database
// connection, a destination probe).
const checkTimeout = 30 * time.Second

func testLabel(name string) string { return "testing " + name }

const (
	kindLocal = "local directory"
	kindS3    = "S3"
)

// newDestinationForm adds (existing nil) or edits a destination.
func newDestinationForm(ctx *Context, existing *core.Destination) *destinationForm {
	d := core.Destination{Kind: core.DestinationLocal, Layout: core.DefaultLayout()}
	title := "Add a destination"
	if existing != nil {
		d, title = *existing, "Edit destination "+existing.Name
	}
	kindWord := map[core.DestinationKind]string{core.DestinationLocal: kindLocal, core.DestinationS3: kindS3}[d.Kind]
	var name, kind *formField
	if existing != nil {
		name = newFixedField("name", "Name", d.Name)
		kind = newFixedField("kind", "Kind", kindWord)
	} else {
		name = newTextField("name", "Name", "", "Letters, digits, '.', '_' or '-'.")
		kind = newChoiceField("kind", "Kind", []string{kindLocal, kindS3}, kindWord, "A directory on this host, or an S3-compatible bucket.")
	}
	local := func(f *form) bool { return f.value("kind") == kindLocal }
	isS3 := func(f *form) bool { return f.value("kind") == kindS3 }
	secret := newSecretField("secret", "Secret key", "none", "Typed as dots and never shown again.")
	if existing != nil && d.S3.SecretKey.IsSet() {
		secret = newSecretField("secret", "Secret key", "unchanged", "Leave empty to keep the current secret key; type a new one to replace it.")
	}
	pass1 := newSecretField("pass1", "Passphrase", "none", "Typed as dots and never shown again; stored encrypted in the catalog.")
	pass2 := newSecretField("pass2", "Again", "none", "Type the passphrase once more.")
	if existing != nil && d.Encrypt.Passphrase.IsSet() {
		pass1 = newSecretField("pass1", "Passphrase", "unchanged", "Leave both empty to keep the current passphrase; type a new one twice to replace it.")
		pass2 = newSecretField("pass2", "Again", "unchanged", "Type the new passphrase once more.")
	}
	isEnc := func(word string) func(*form) bool { return func(f *form) bool { return f.value("encrypt") == word } }
	keyFile, recipient := d.Encrypt.KeyFile, ""
	if keyFile == "" {
		recipient = d.Encrypt.Recipient
	}
	f := newForm(ctx, title,
		name, kind,
		newTextField("dir", "Directory", d.Local.Dir, "Created if missing; keep it on another disk than the database.").when(local),
		newTextField("endpoint", "Endpoint", d.S3.Endpoint, "HOST:PORT without a scheme, e.g. s3.eu-west-1.amazonaws.com:443.").when(isS3),
		newTextField("bucket", "Bucket", d.S3.Bucket, "The bucket; it must exist.").when(isS3),
		newTextField("region", "Region", d.S3.Region, "The bucket's region, if the provider needs one.").when(isS3),
		newTextField("prefix", "Prefix", d.S3.Prefix, "Key prefix inside the bucket, e.g. prod; empty for none.").when(isS3),
		newTextField("access", "Access key", d.S3.AccessKey, "The access key id.").when(isS3),
		secret.when(isS3),
		newCheckField("notls", "No TLS", d.S3.NoTLS, "Plain HTTP to the endpoint; only for a server on a trusted network.").when(isS3),
		newChoiceField("sse", "Server-side", []string{sseNone, sseS3, sseKMS}, sseWord(d.S3.SSE),
			"Encryption at rest by the bucket: SSE-S3 with its own keys, SSE-KMS with a key of its key management service.").when(isS3),
		newTextField("kmskey", "KMS key", d.S3.SSEKMSKeyID, "The KMS key id, ARN or alias; empty for the service's default key.").
			when(func(f *form) bool { return f.value("sse") == sseKMS }).placeholder("default key"),
		newTextField("cafile", "CA file", d.S3.CAFile, "PEM file of the certificate authority of a private endpoint, trusted besides the system's; empty for none.").when(isS3),
		newChoiceField("encrypt", "Encryption", []string{encNone, encKeyFile, encRecipient, encPassphrase}, encWord(d),
			"Client-side age encryption before upload: a key file on this host, a recipient whose key stays elsewhere, or a passphrase."),
		newTextField("keyfile", "Key file", keyFile, "An age identity file readable by its owner only (odoo-backup key generate -o FILE).").when(isEnc(encKeyFile)),
		newTextField("recipient", "Recipient", recipient, "The age public key (age1…); its identity is kept off this host, so restores need it given.").when(isEnc(encRecipient)),
		pass1.when(isEnc(encPassphrase)),
		pass2.when(isEnc(encPassphrase)),
		newTextField("keynote", "Key kept at", d.Encrypt.KeyNote,
			"Where the key (or passphrase) is kept, for whoever restores on a bad day: a vault entry, a safe, a person. Never the key itself.").
			when(func(f *form) bool { return f.value("encrypt") != encNone }).placeholder("not said"),
		newChoiceField("layout", "Layout", []string{string(core.LayoutPool), string(core.LayoutZip)}, string(d.StoredLayout()),
			layoutHints[core.LayoutPool]+"\n"+layoutHints[core.LayoutZip]),
		newTextField("limitupload", "Upload limit", rateText(d.Limits.Upload),
			"Most bytes per second sent to it by this host, all transfers together, e.g. 20MiB/s, 500KB/s or 100Mbit/s; empty for none.").placeholder("none"),
		newTextField("limitdownload", "Download limit", rateText(d.Limits.Download),
			"Most bytes per second read from it by this host (restores, downloads, verifications), e.g. 20MiB/s; empty for none.").placeholder("none"),
		newChoiceField("lockmode", "Object Lock", []string{lockNone, string(core.LockGovernance), string(core.LockCompliance)}, lockWord(d.Lock),
			"Keeps what a backup writes from being deleted or changed for some days: governance lets a user with the bypass permission delete early, compliance lets nobody. The bucket must have Object Lock on.").when(isS3),
		newTextField("lockdays", "Lock days", lockDaysText(d.Lock), "How many days each object stays locked after it is written, e.g. 30.").
			when(func(f *form) bool { return isS3(f) && f.value("lockmode") != lockNone }),
	)
	df := &destinationForm{form: f, was: encWord(d), wasLayout: d.StoredLayout(), editing: existing != nil}
	f.submit = func(f *form) tea.Cmd { return submitDestination(ctx, f, existing) }
	return df
}

// lockNone is the Object Lock choice that locks nothing.
const lockNone = "none"

func lockWord(l core.ObjectLock) string {
	if l.Mode == core.LockNone {
		return lockNone
	}
	return string(l.Mode)
}

func lockDaysText(l core.ObjectLock) string {
	if l.Days == 0 {
		return ""
	}
	return fmt.Sprint(l.Days)
}

// rateText is a limit as the form shows it: empty for none.
func rateText(b int64) string {
	if b == 0 {
		return ""
	}
	return strings.ReplaceAll(core.FormatRate(b), " ", "")
}

// formLimit reads a limit field: empty is none, and a value left as the
// form showed it keeps the limit exactly (the shown one may be rounded).
func formLimit(f *form, id string, was int64) (int64, error) {
	v := strings.TrimSpace(f.value(id))
	switch {
	case v == "":
		return 0, nil
	case was != 0 && v == rateText(was):
		return was, nil
	}
	return core.ParseRate(v)
}

// layoutHints explain each layout in one line, in the form and the list.
var layoutHints = map[core.Layout]string{
	core.LayoutPool: "pool: each file stored once; backups cost what changed.",
	core.LayoutZip:  "zip: one self-contained Odoo zip per backup, for buckets people download from by hand.",
}

// Choices of the destination form.
const (
	sseNone       = "none"
	sseS3         = "SSE-S3"
	sseKMS        = "SSE-KMS"
	encNone       = "none"
	encKeyFile    = "key file"
	encRecipient  = "recipient"
	encPassphrase = "passphrase"
)

func sseWord(sse string) string {
	switch sse {
	case core.SSES3:
		return sseS3
	case core.SSEKMS:
		return sseKMS
	}
	return sseNone
}

func encWord(d core.Destination) string {
	switch {
	case d.Encrypt.Passphrase.IsSet():
		return encPassphrase
	case d.Encrypt.KeyFile != "":
		return encKeyFile
	case d.Encrypt.Recipient != "":
		return encRecipient
	}
	return encNone
}

// destinationForm is the destination form with its note following the
// encryption and layout chosen: the lost-key warning shows before anything
// is saved, and an edit says that new encryption or a new layout applies
// to new backups only.
type destinationForm struct {
	*form
	was       string
	wasLayout core.Layout
	editing   bool
}

const formSaveNote = "Saving first writes, reads back and deletes a test object; a destination that does not work is not saved."

func (f *destinationForm) View() string {
	note := formSaveNote
	enc := f.value("encrypt")
	if enc != encNone {
		what := map[string]string{encKeyFile: "the key file", encRecipient: "the recipient's identity", encPassphrase: "the passphrase"}[enc]
		if p := f.value("keyfile"); enc == encKeyFile && p != "" {
			what = p
		}
		note = encryptedWarning(what)
	}
	if f.editing && enc != f.was {
		note += " Changed encryption applies to new backups only; those stored keep theirs."
	}
	if change := core.LayoutChange(f.wasLayout, core.Layout(f.value("layout"))); f.editing && change != "" {
		note += " New layout: " + change + "."
	}
	f.form.note = note
	return fitForm(f.form)
}

// fitForm draws a form within the terminal's height: when its fields do
// not all fit (an S3 destination with encryption, at 80x24), it shows a
// window of them around the focused one and says which part is shown.
func fitForm(f *form) string {
	out := f.View()
	room := f.ctx.bodyHeight()
	over := lipgloss.Height(out) - room
	if over <= 0 {
		return out
	}
	vis := f.visible()
	at := 0
	for i, fl := range vis {
		if fl == f.focused() {
			at = i
		}
	}
	title := f.title
	defer func() { f.title = title }()
	for n := len(vis) - over - 1; n >= 1; n-- {
		lo := max(0, min(at-n/2, len(vis)-n))
		hi := lo + n
		// Every field shows or not as decided here, once: a condition
		// that reads a field hidden for the window would otherwise change.
		in := map[*formField]bool{}
		for _, fl := range vis[lo:hi] {
			in[fl] = true
		}
		saved := make([]func(*form) bool, len(f.fields))
		for i, fl := range f.fields {
			saved[i] = fl.shown
		}
		for _, fl := range f.fields {
			show := in[fl]
			fl.shown = func(*form) bool { return show }
		}
		f.title = fmt.Sprintf("%s · fields %d–%d of %d (tab for more)", title, lo+1, hi, len(vis))
		out = f.View()
		for i, fl := range f.fields {
			fl.shown = saved[i]
		}
		if lipgloss.Height(out) <= room {
			break
		}
	}
	return out
}

func submitDestination(ctx *Context, f *form, existing *core.Destination) tea.Cmd {
	d := core.Destination{}
	if existing != nil {
		d = *existing
	}
	d.Name = f.value("name")
	d.Layout = core.Layout(f.value("layout"))
	switch f.value("kind") {
	case kindLocal:
		d.Kind, d.Local.Dir = core.DestinationLocal, f.value("dir")
	case kindS3:
		d.Kind = core.DestinationS3
		d.S3.Endpoint, d.S3.Bucket, d.S3.Region = f.value("endpoint"), f.value("bucket"), f.value("region")
		d.S3.Prefix, d.S3.AccessKey = f.value("prefix"), f.value("access")
		if s := f.value("secret"); s != "" || existing == nil {
			d.S3.SecretKey = core.Secret(s)
		}
		d.S3.NoTLS = f.checked("notls")
		d.S3.SSE, d.S3.SSEKMSKeyID = "", ""
		switch f.value("sse") {
		case sseS3:
			d.S3.SSE = core.SSES3
		case sseKMS:
			d.S3.SSE, d.S3.SSEKMSKeyID = core.SSEKMS, f.value("kmskey")
		}
		d.S3.CAFile = f.value("cafile")
	}
	switch f.value("encrypt") {
	case encNone:
		d.Encrypt.Recipient, d.Encrypt.KeyFile, d.Encrypt.Passphrase = "", "", ""
	case encKeyFile:
		p := f.value("keyfile")
		if p == "" {
			return f.fail("keyfile", core.Userf(core.ErrInvalid, "give the age identity file that decrypts the backups; odoo-backup key generate -o FILE writes one"))
		}
		// Read (and its mode checked) when saving, off the console's loop.
		d.Encrypt.KeyFile, d.Encrypt.Recipient, d.Encrypt.Passphrase = p, "", ""
	case encRecipient:
		d.Encrypt.Recipient, d.Encrypt.KeyFile, d.Encrypt.Passphrase = f.value("recipient"), "", ""
	case encPassphrase:
		p1, p2 := f.value("pass1"), f.value("pass2")
		keep := p1 == "" && p2 == "" && existing != nil && existing.Encrypt.Passphrase.IsSet()
		switch {
		case keep:
		case p1 == "":
			return f.fail("pass1", core.Userf(core.ErrInvalid, "type the passphrase, then once more in the next field"))
		case p1 != p2:
			return f.fail("pass2", core.Userf(core.ErrInvalid, "the two passphrases differ; type the same passphrase in both fields"))
		default:
			d.Encrypt.Passphrase = core.Secret(p1)
		}
		d.Encrypt.Recipient, d.Encrypt.KeyFile = "", ""
	}
	d.Encrypt.KeyNote = ""
	if f.value("encrypt") != encNone {
		d.Encrypt.KeyNote = strings.TrimSpace(f.value("keynote"))
		if strings.Contains(strings.ToUpper(d.Encrypt.KeyNote), "AGE-SECRET-KEY-") {
			return f.fail("keynote", core.Userf(core.ErrInvalid, "this field says where the key is kept, not the key itself: write where it is (a vault entry, a safe, a person)"))
		}
	}
	var err error
	var was core.BandwidthLimits
	if existing != nil {
		was = existing.Limits
	}
	if d.Limits.Upload, err = formLimit(f, "limitupload", was.Upload); err != nil {
		return f.fail("limitupload", err)
	}
	if d.Limits.Download, err = formLimit(f, "limitdownload", was.Download); err != nil {
		return f.fail("limitdownload", err)
	}
	d.Lock = core.ObjectLock{}
	if mode := f.value("lockmode"); d.Kind == core.DestinationS3 && mode != lockNone {
		days, err := strconv.Atoi(strings.TrimSpace(f.value("lockdays")))
		if err != nil || days <= 0 {
			return f.fail("lockdays", core.Userf(core.ErrInvalid, "give the number of days each object stays locked, a whole number such as 30"))
		}
		d.Lock = core.ObjectLock{Mode: core.LockMode(mode), Days: days}
	}
	// The settings are checked here, at once; reading the key file, making
	// the directory and the probe wait for the command below.
	if err := core.CheckDestination(&d); err != nil {
		return f.fail(formSetting(err), err)
	}
	f.busy = "testing " + d.Describe() + " (write, read back, delete a test object)…"
	cat, open := ctx.Catalog, ctx.OpenStore
	return func() tea.Msg {
		c, cancel := context.WithTimeout(context.Background(), checkTimeout)
		defer cancel()
		res := formResultMsg{form: f}
		verb := "added"
		if existing == nil {
			res.Err = core.AddDestination(c, cat, open, &d)
		} else {
			verb = "saved"
			res.Err = core.UpdateDestination(c, cat, open, d)
		}
		if res.Err != nil {
			res.Field = formSetting(res.Err)
			return res
		}
		res.Status = fmt.Sprintf("✓ destination %s %s (%s %s) and tested", d.Name, verb, d.Kind, d.Describe())
		if existing != nil {
			if change := core.LayoutChange(existing.StoredLayout(), d.StoredLayout()); change != "" {
				res.Status += "; " + change
			}
		}
		if d.Encrypted() {
			res.Status += "; it encrypts: keep a copy of " + keyToKeep(d) + " away from this host"
		}
		res.After = loadDestinations(ctx)
		return res
	}
}

// formSetting is the form field an error of saving is about: the
// setting it names, the Object Lock ones under either of their names.
func formSetting(err error) string {
	switch s := core.SettingOf(err); s {
	case "lock", "lock_mode", "lockmode":
		return "lockmode"
	case "lock_days", "lockdays":
		return "lockdays"
	case "limit_upload", "limitupload":
		return "limitupload"
	case "limit_download", "limitdownload":
		return "limitdownload"
	default:
		return s
	}
}

// encryptedWarning is the plain sentence about an encrypting destination;
// what names the key to keep a copy of.
func encryptedWarning(what string) string {
	return "Backups here are encrypted: a lost key means lost backups. Keep a copy of " + what + " away from this host."
}

// keyToKeep names what decrypts a destination's backups, for the warning.
func keyToKeep(d core.Destination) string {
	switch {
	case d.Encrypt.Passphrase.IsSet():
		return "the passphrase"
	case d.Encrypt.KeyFile != "":
		return d.Encrypt.KeyFile
	}
	return "the identity of " + d.Encrypt.Recipient
}
