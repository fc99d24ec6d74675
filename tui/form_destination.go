package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
)

// addDestination opens the form that adds a destination.
func addDestination(ctx *Context) tea.Cmd {
	if r := readOnlyRefusal(ctx, "adding a destination"); r != nil {
		return r
	}
	return openDialog(newDestinationForm(ctx, nil))
}

// editDestination opens the form on a destination; its secret key is kept
// unless a new one is typed, and is never shown.
func editDestination(ctx *Context, name string) tea.Cmd {
	if r := readOnlyRefusal(ctx, "editing a destination"); r != nil {
		return r
	}
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
	if r := readOnlyRefusal(ctx, "removing a destination"); r != nil {
		return r
	}
	cat := ctx.Catalog
	return confirm(ctx, "Remove destination "+name+"?", "The objects it holds are not touched; only the catalog forgets the destination.",
		func(c context.Context) error { return cat.RemoveDestination(c, name, false) },
		"✓ destination "+name+" removed; the objects it holds were not touched", afterChange(ctx, loadDestinations(ctx)))
}

// testDestination writes, reads back and deletes a test object on the
// destination, as a job of this console (it only reads the catalog).
func testDestination(ctx *Context, name string) tea.Cmd {
	cat := ctx.Catalog
	return startJob(JobSpec{
		Label: testLabel(name),
		Run: func(jctx context.Context, progress core.ProgressFunc) (string, error) {
			jctx, cancel := context.WithTimeout(jctx, checkTimeout)
			defer cancel()
			d, err := cat.Destination(jctx, name)
			if err != nil {
				return "", err
			}
			progress(core.Progress{Phase: "write, read and delete a test object"})
			if err := probeDestination(jctx, d); err != nil {
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

// probeDestination is the check the command line runs before saving a
// destination: open its store and write, read and delete a test object.
func probeDestination(c context.Context, d core.Destination) error {
	st, err := s3.Open(c, d)
	if err != nil {
		return err
	}
	return s3.Probe(c, st)
}

const (
	kindLocal = "local directory"
	kindS3    = "S3"
)

// newDestinationForm adds (existing nil) or edits a destination.
func newDestinationForm(ctx *Context, existing *core.Destination) *form {
	d := core.Destination{Kind: core.DestinationLocal}
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
	if existing != nil && d.SecretKey.IsSet() {
		secret = newSecretField("secret", "Secret key", "unchanged", "Leave empty to keep the current secret key; type a new one to replace it.")
	}
	f := newForm(ctx, title,
		name, kind,
		newTextField("dir", "Directory", d.Dir, "Created if missing; keep it on another disk than the database.").when(local),
		newTextField("endpoint", "Endpoint", d.Endpoint, "HOST:PORT without a scheme, e.g. s3.eu-west-1.amazonaws.com:443.").when(isS3),
		newTextField("bucket", "Bucket", d.Bucket, "The bucket; it must exist.").when(isS3),
		newTextField("region", "Region", d.Region, "The bucket's region, if the provider needs one.").when(isS3),
		newTextField("prefix", "Prefix", d.Prefix, "Key prefix inside the bucket, e.g. prod; empty for none.").when(isS3),
		newTextField("access", "Access key", d.AccessKey, "The access key id.").when(isS3),
		secret.when(isS3),
		newCheckField("notls", "No TLS", d.NoTLS, "Plain HTTP to the endpoint; only for a server on a trusted network.").when(isS3),
	)
	f.note = "Saving first writes, reads back and deletes a test object; a destination that does not work is not saved."
	f.submit = func(f *form) tea.Cmd { return submitDestination(ctx, f, existing) }
	return f
}

func submitDestination(ctx *Context, f *form, existing *core.Destination) tea.Cmd {
	d := core.Destination{}
	if existing != nil {
		d = *existing
	}
	d.Name = f.value("name")
	if err := core.ValidateName("destination", d.Name); err != nil {
		return f.fail("name", err)
	}
	mkdir := ""
	switch f.value("kind") {
	case kindLocal:
		d.Kind = core.DestinationLocal
		dir := f.value("dir")
		if dir == "" {
			return f.fail("dir", core.Userf(core.ErrInvalid, "give the directory that holds the backups"))
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return f.fail("dir", err)
		}
		d.Dir, mkdir = abs, abs
	case kindS3:
		d.Kind = core.DestinationS3
		d.Endpoint = f.value("endpoint")
		switch {
		case d.Endpoint == "":
			return f.fail("endpoint", core.Userf(core.ErrInvalid, "give the endpoint as HOST:PORT"))
		case strings.Contains(d.Endpoint, "://"):
			return f.fail("endpoint", core.Userf(core.ErrInvalid, "give the endpoint as HOST:PORT without a scheme; turn on No TLS for plain HTTP"))
		}
		if d.Bucket = f.value("bucket"); d.Bucket == "" {
			return f.fail("bucket", core.Userf(core.ErrInvalid, "an S3 destination needs a bucket"))
		}
		d.Region = f.value("region")
		d.Prefix = strings.Trim(f.value("prefix"), "/")
		d.AccessKey = f.value("access")
		if s := f.value("secret"); s != "" || existing == nil {
			d.SecretKey = core.Secret(s)
		}
		d.NoTLS = f.checked("notls")
	}
	f.busy = "testing " + d.Describe() + " (write, read back, delete a test object)…"
	cat := ctx.Catalog
	return func() tea.Msg {
		c, cancel := context.WithTimeout(context.Background(), checkTimeout)
		defer cancel()
		res := formResultMsg{form: f}
		if existing == nil {
			if _, err := cat.Destination(c, d.Name); err == nil {
				res.Field, res.Err = "name", core.Userf(core.ErrExists, "a destination named %q already exists; choose another name", d.Name)
				return res
			}
		}
		if mkdir != "" {
			// Created now, when asked for; later a missing directory is an
			// error (an unmounted disk must not fill the root one).
			if err := os.MkdirAll(mkdir, 0o700); err != nil {
				res.Field, res.Err = "dir", core.Userf(err, "cannot create %s: %v; check the parent directory's permissions", mkdir, errors.Unwrap(err))
				return res
			}
		}
		if err := probeDestination(c, d); err != nil {
			res.Err = core.Userf(err, "destination %q does not work, so it was not saved: %s", d.Name, userMessage(err))
			return res
		}
		verb := "added"
		if existing == nil {
			res.Err = cat.AddDestination(c, &d)
		} else {
			verb = "saved"
			res.Err = cat.UpdateDestination(c, d)
		}
		if errors.Is(res.Err, core.ErrExists) {
			res.Field = "name"
		}
		if res.Err != nil {
			return res
		}
		res.Status = fmt.Sprintf("✓ destination %s %s (%s %s) and tested", d.Name, verb, d.Kind, d.Describe())
		res.After = loadDestinations(ctx)
		return res
	}
}
