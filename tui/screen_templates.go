package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// TemplatesLoadedMsg carries every template.
type TemplatesLoadedMsg struct {
	Templates []core.Template
	Err       error
}

// templateRow is one line of the templates screen: a template, or one of
// its configurations (config >= 0).
type templateRow struct {
	template int
	config   int
}

// templatesScreen lists the templates (key 3): named sets of configurations
// a new service can start from, each with its configurations under it.
type templatesScreen struct {
	ctx    *Context
	rows   []core.Template
	lines  []templateRow
	cursor int
	loaded bool
	err    error
}

func newTemplatesScreen(ctx *Context) *templatesScreen { return &templatesScreen{ctx: ctx} }

func (s *templatesScreen) Title() string   { return "Templates" }
func (s *templatesScreen) Reload() tea.Cmd { return loadTemplates(s.ctx) }

func loadTemplates(ctx *Context) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		ts, err := cat.Templates(context.Background())
		return TemplatesLoadedMsg{Templates: ts, Err: err}
	}
}

// selected is the template under the cursor and, on a configuration line,
// that configuration.
func (s *templatesScreen) selected() (core.Template, *core.TemplateConfiguration, bool) {
	if s.cursor < 0 || s.cursor >= len(s.lines) {
		return core.Template{}, nil, false
	}
	l := s.lines[s.cursor]
	t := s.rows[l.template]
	if l.config < 0 {
		return t, nil, true
	}
	return t, &t.Configurations[l.config], true
}

func (s *templatesScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case TemplatesLoadedMsg:
		s.loaded, s.err = true, msg.Err
		if msg.Err == nil {
			s.rows, s.lines = msg.Templates, nil
			for i, t := range s.rows {
				s.lines = append(s.lines, templateRow{template: i, config: -1})
				for j := range t.Configurations {
					s.lines = append(s.lines, templateRow{template: i, config: j})
				}
			}
		}
		s.cursor = min(s.cursor, max(len(s.lines)-1, 0))
	case tea.KeyMsg:
		cmd, _ := s.ctx.press(s.keys(), msg)
		return cmd
	}
	return nil
}

// keys: all but a act on the selected template, and e and p on one of its
// configurations; x removes whichever is selected.
func (s *templatesScreen) keys() keyTable {
	k := s.ctx.Keys
	moves := k.moves(len(s.lines), func(d int) tea.Cmd {
		s.cursor = clampCursor(s.cursor, d, len(s.lines))
		return nil
	})
	t, c, ok := s.selected()
	o := core.ConfigOwner{Template: true, Name: t.Name}
	noTemplate := func() string {
		if !ok {
			return "no template selected"
		}
		return ""
	}
	noConfig := func(why string) func() string {
		return func() string {
			if c == nil && ok {
				return why
			}
			return noTemplate()
		}
	}
	add := action{key: k.Add, changes: "creating a template", run: func() tea.Cmd { return addTemplate(s.ctx) }}
	addConf := action{key: k.AddConfig, changes: "adding a configuration", disabled: noTemplate,
		run: func() tea.Cmd { return addConfig(s.ctx, o) }}
	edit := action{key: k.Edit, changes: "editing a configuration",
		disabled: noConfig("select one of " + t.Name + "'s configurations to edit it, or press c to add one"),
		run:      func() tea.Cmd { return editConfig(s.ctx, o, c.Destination) }}
	primary := action{key: k.MakePrimary, changes: "moving the primary",
		disabled: noConfig("select one of " + t.Name + "'s configurations to make it the primary"),
		run:      func() tea.Cmd { return makePrimary(s.ctx, o, c.Destination) }}
	remove := action{key: k.Remove, changes: "removing a template", disabled: noTemplate,
		run: func() tea.Cmd { return removeTemplate(s.ctx, t.Name) }}
	if c != nil {
		remove.changes = "removing a configuration"
		remove.run = func() tea.Cmd { return removeConfig(s.ctx, o, c.Destination) }
	}
	newService := action{key: k.NewService, changes: "adding a service", disabled: noTemplate,
		run: func() tea.Cmd { return addService(s.ctx, t.Name) }}
	return keyTable{
		groups: [][]action{moves, {add, addConf, edit, primary, remove, newService, globalKey(k.Back)}, {globalKey(k.Notifications)}},
		footer: []action{add, addConf, edit, primary, remove, newService, globalKey(k.Help)},
	}
}

func (s *templatesScreen) View() string {
	t := s.ctx.Theme
	var b strings.Builder
	b.WriteString(t.Title.Render("Templates") + "\n")
	switch {
	case s.err != nil || !s.loaded:
		b.WriteString(s.ctx.notReady(s.err, s.loaded))
	case len(s.rows) == 0:
		b.WriteString("No template yet: press a to create one.\n")
	}
	tbl := newTable(s.ctx.innerWidth()-6,
		column{title: "DESTINATION", min: 10, max: 20},
		column{title: "SCHEDULE", min: 11, max: 24},
		column{title: "RETENTION", min: 8})
	for i, l := range s.lines {
		cur := "  "
		if i == s.cursor {
			cur = "▸ "
		}
		tp := s.rows[l.template]
		if l.config < 0 {
			line := tp.Name
			if len(tp.Configurations) == 0 {
				line += t.Muted.Render("  no configuration yet: press c to add one")
			}
			if i == s.cursor {
				line = t.Selected.Render(tp.Name) + strings.TrimPrefix(line, tp.Name)
			}
			b.WriteString(cur + line + "\n")
			continue
		}
		c := tp.Configurations[l.config]
		star := "  "
		if c.Primary {
			star = t.Primary.Render("★ ")
		}
		line := tbl.row(c.Destination, c.Schedule.Describe(c.Frequency), c.Retention.String())
		if i == s.cursor {
			line = t.Selected.Render(line)
		}
		b.WriteString("  " + cur + star + line + "\n")
	}
	return t.Box.Width(s.ctx.Width - 2).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}

// addTemplate opens the form that creates an empty template; its
// configurations are added on the templates screen (c).
func addTemplate(ctx *Context) tea.Cmd {
	f := newForm(ctx, "Create a template",
		newTextField("name", "Name", "", "The template's name: letters, digits, '.', '_' or '-'."))
	f.note = "A template is a named set of configurations; a service made from it starts with exactly that set."
	cat := ctx.Catalog
	f.submit = func(f *form) tea.Cmd {
		tp := core.Template{Name: f.value("name")}
		if err := core.ValidateName("template", tp.Name); err != nil {
			return f.fail("name", err)
		}
		return func() tea.Msg {
			res := formResultMsg{form: f, Err: core.AddTemplate(context.Background(), cat, &tp, "")}
			if res.Err != nil {
				if res.Field = core.SettingOf(res.Err); errors.Is(res.Err, core.ErrInvalid) {
					res.Field = "name"
				}
				return res
			}
			res.Status = fmt.Sprintf("✓ template %s created; add its configurations with c", tp.Name)
			res.After = loadTemplates(ctx)
			return res
		}
	}
	return openDialog(f)
}

// removeTemplate asks, then removes a template; services made from it keep
// their configurations.
func removeTemplate(ctx *Context, name string) tea.Cmd {
	cat := ctx.Catalog
	return confirm(ctx, "Remove template "+name+"?", "Services made from it keep their configurations.",
		func(c context.Context) error { return core.RemoveTemplate(c, cat, name) },
		"✓ template "+name+" removed", loadTemplates(ctx))
}
