package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

const noTemplate = "none"

// addService opens the form that adds a service, the template preselected
// when given (the templates screen's "new service from template").
func addService(ctx *Context, template string) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		tps, err := cat.Templates(context.Background())
		if err != nil {
			return statusMsg{err: true, text: "cannot read the templates: " + userMessage(err)}
		}
		names := []string{noTemplate}
		for _, t := range tps {
			names = append(names, t.Name)
		}
		return openMsg{newServiceForm(ctx, nil, names, template)}
	}
}

// editService opens the form that changes a service's connection and
// filestore; its password is kept unless a new one is typed.
func editService(ctx *Context, name string) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		svc, err := cat.Service(context.Background(), name)
		if err != nil {
			return statusMsg{err: true, text: "cannot read " + name + ": " + userMessage(err)}
		}
		return openMsg{newServiceForm(ctx, &svc, nil, "")}
	}
}

// serviceForm is the service form drawn within the terminal's height.
type serviceForm struct{ *form }

func (f serviceForm) View() string { return fitForm(f.form) }

// newServiceForm adds a service (existing nil) or edits one.
func newServiceForm(ctx *Context, existing *core.Service, templates []string, template string) serviceForm {
	s := core.Service{DB: core.DBConn{Host: "localhost", Port: 5432}}
	title := "Add a service"
	if existing != nil {
		s, title = *existing, "Edit service "+existing.Name
	}
	port := ""
	if s.DB.Port != 0 {
		port = strconv.Itoa(s.DB.Port)
	}
	var name *formField
	if existing != nil {
		name = newFixedField("name", "Name", s.Name)
	} else {
		name = newTextField("name", "Name", "", "Used in object keys: letters, digits, '.', '_' or '-'.")
	}
	password := newSecretField("password", "PG password", "none", "Typed as dots and never shown again; empty means none (or ~/.pgpass).")
	if existing != nil && s.DB.Password.IsSet() {
		password = newSecretField("password", "PG password", "unchanged", "Leave empty to keep the current password; type a new one to replace it.")
	}
	fields := []*formField{
		name,
		newTextField("db", "Database", s.DB.Database, "The PostgreSQL database of this Odoo instance."),
		newTextField("host", "PG host", s.DB.Host, "PostgreSQL host name or address, or a socket directory."),
		newTextField("port", "PG port", port, "PostgreSQL port, 5432 by default."),
		newTextField("user", "PG user", s.DB.User, "PostgreSQL user; empty means the user running odoo-backup.").placeholder("the current user"),
		password,
		newTextField("filestore", "Filestore", s.FilestoreDir,
			"The database's own filestore: <data_dir>/filestore/<database>; empty finds the default.").placeholder("default for the database"),
	}
	if existing == nil {
		fields = append(fields,
			newChoiceField("template", "Template", templates, template, "Start with the configurations of a template, or none."),
			newCheckField("check", "Check DB", true, "Connect to the database before saving; turn off to add a service whose database is not up yet."))
	}
	fields = append(fields, newTextField("svchost", "Host", core.ServiceHost(s),
		"The host that holds the filestore: its daemon runs the service's schedules. This host by default."),
		newTextField("rpo", "RPO target", targetField(s.RPOTarget()),
			"The most data you accept to lose: how old the newest good backup may be, like 2h or 30m; empty for none. Missed, the service fails.").placeholder("none"),
		newTextField("rto", "RTO target", targetField(s.RTOTarget()),
			"How long bringing the service back may take, as restore drills measure it, like 30m or 1h; empty for none. Missed, the service warns.").placeholder("none"))
	f := newForm(ctx, title, fields...)
	f.submit = func(f *form) tea.Cmd { return submitService(ctx, f, existing) }
	return serviceForm{f}
}

// targetField is a target as the form shows it, "" for none.
func targetField(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return core.FormatTarget(d)
}

// parseTarget reads a recovery target typed in a form as the command line
// reads it (core.ParseTarget: 2h, 30m, 1d12h); empty is none.
func parseTarget(what, text string) (int64, error) {
	if strings.TrimSpace(text) == "" {
		return 0, nil
	}
	d, err := core.ParseTarget(text)
	if err != nil {
		return 0, core.Userf(core.ErrInvalid, "%s %s", what, err.Error())
	}
	return int64(d / time.Second), nil
}

func submitService(ctx *Context, f *form, existing *core.Service) tea.Cmd {
	s := core.Service{}
	if existing != nil {
		s = *existing
	}
	s.Name = f.value("name")
	if err := core.ValidateName("service", s.Name); err != nil {
		return f.fail("name", err)
	}
	s.DB.Database = f.value("db")
	if s.DB.Database == "" {
		return f.fail("db", core.Userf(core.ErrInvalid, "give the PostgreSQL database of the service"))
	}
	if err := core.ValidateDatabaseName(s.DB.Database); err != nil {
		return f.fail("db", err)
	}
	s.DB.Host, s.DB.Port = f.value("host"), 0
	if p := f.value("port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return f.fail("port", core.Userf(core.ErrInvalid, "port %q is not a number between 1 and 65535", p))
		}
		s.DB.Port = n
	}
	s.DB.User = f.value("user")
	core.CompleteConnection(&s.DB)
	if pw := f.value("password"); pw != "" || existing == nil {
		s.DB.Password = core.Secret(pw)
	}
	s.Host = f.value("svchost")
	if err := core.ValidateHostName(s.Host); err != nil {
		return f.fail("svchost", err)
	}
	s.FilestoreDir = f.value("filestore")
	if err := core.CompleteFilestore(&s, ""); err != nil {
		return f.fail("filestore", err)
	}
	var err error
	if s.RPOTargetSeconds, err = parseTarget("RPO target", f.value("rpo")); err != nil {
		return f.fail("rpo", err)
	}
	if s.RTOTargetSeconds, err = parseTarget("RTO target", f.value("rto")); err != nil {
		return f.fail("rto", err)
	}
	template := f.value("template")
	if template == noTemplate {
		template = ""
	}
	check := f.checked("check")
	if check {
		f.busy = "connecting to " + s.DB.Database + " on " + s.DB.Address() + "…"
	}
	cat := ctx.Catalog
	return func() tea.Msg {
		// A host that drops packets must not keep the form waiting for ever.
		c, cancel := context.WithTimeout(context.Background(), checkTimeout)
		defer cancel()
		res := formResultMsg{form: f}
		opt := core.ServiceOptions{Template: template, Check: check}
		if existing == nil {
			res.Err = core.AddService(c, cat, &s, opt)
		} else {
			res.Err = core.UpdateService(c, cat, s, opt)
		}
		var connErr *core.ConnectionCheckError
		switch sr, shared := core.IsSharedResource(res.Err); {
		case errors.As(res.Err, &connErr):
			verb, do := "added", "add"
			if existing != nil {
				verb, do = "saved", "save"
			}
			res.Err = core.Userf(res.Err, "%s; the service was not %s (turn off Check DB to %s it anyway)", userMessage(connErr.Err), verb, do)
		case shared:
			res.Field = "db"
			if sr.What == "filestore" {
				res.Field = "filestore"
			}
			res.Err = core.Userf(res.Err, "%s; a restore of one would replace the other's data, so give this service its own", sr)
		case errors.Is(res.Err, core.ErrExists):
			res.Field = "name"
		}
		if res.Err != nil {
			return res
		}
		verb := "added"
		if existing != nil {
			verb = "saved"
		}
		res.Status = fmt.Sprintf("✓ service %s %s: database %s on %s as %s, filestore %s", s.Name, verb, s.DB.Database, s.DB.Address(), s.DB.User, s.FilestoreDir)
		if s.Host != core.HostName() {
			res.Status += ", on host " + s.Host
		} else if _, err := os.Stat(s.FilestoreDir); err != nil {
			res.Status += " (it does not exist yet)"
		}
		res.After = loadServices(ctx)
		if existing != nil {
			res.After = tea.Batch(res.After, loadService(ctx, s.Name))
		}
		return res
	}
}
