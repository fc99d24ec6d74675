package tui

import (
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// fieldKind says how a form field is edited.
type fieldKind int

const (
	textField   fieldKind = iota
	secretField           // typed text shown as dots, never read back into the field
	choiceField           // one of a few words, changed with ←/→ or space
	checkField            // on or off, changed with space
	fixedField            // shown for context, not editable (a name being edited)
)

// formField is one line of a form.
type formField struct {
	name    string
	label   string
	kind    fieldKind
	input   textinput.Model
	choices []string
	choice  int
	checked bool
	fixed   string
	// hint is shown under the form while the field has the focus.
	hint string
	err  string
	// shown says whether the field applies, given the other fields (a
	// weekday only for weekly runs); nil means always.
	shown func(*form) bool
}

func (f *formField) editable() bool { return f.kind != fixedField }
func (f *formField) typed() bool    { return f.kind == textField || f.kind == secretField }

// form is a modal dialog of fields: tab, shift+tab, ↑ and ↓ move between
// them, enter submits, esc cancels. Submitting runs a command (a catalog
// write, a probe) while the form shows a spinner; what it refuses comes back
// as an error under the field concerned or under the form, and the form
// stays open with everything typed.
type form struct {
	ctx    *Context
	title  string
	note   string
	fields []*formField
	focus  int
	err    string
	// busy says what runs after a submit ("saving…"); keys wait meanwhile.
	busy string
	// submit checks the fields (setting their errors) and returns the
	// command that saves, whose result is a formResultMsg; nil means the
	// fields were refused.
	submit func(*form) tea.Cmd
}

// formResultMsg is the outcome of a form's submit command. Err goes under
// Field when named, else under the form; without an error the form closes,
// runs After (reloads), then shows Status.
type formResultMsg struct {
	form   *form
	Field  string
	Err    error
	Status string
	After  tea.Cmd
}

func newForm(ctx *Context, title string, fields ...*formField) *form {
	f := &form{ctx: ctx, title: title, fields: fields}
	for _, fl := range fields {
		if fl.typed() {
			fl.input.PlaceholderStyle = ctx.Theme.Muted
		}
	}
	f.focus = -1
	f.moveFocus(1)
	return f
}

func newTextField(name, label, value, hint string) *formField {
	in := textinput.New()
	in.Prompt = ""
	in.SetValue(value)
	in.Cursor.SetMode(cursor.CursorStatic)
	return &formField{name: name, label: label, kind: textField, input: in, hint: hint}
}

// newSecretField is masked as typed; placeholder says what an empty field
// means ("unchanged" when editing).
func newSecretField(name, label, placeholder, hint string) *formField {
	fl := newTextField(name, label, "", hint)
	fl.kind = secretField
	fl.input.EchoMode = textinput.EchoPassword
	fl.input.EchoCharacter = '•'
	return fl.placeholder(placeholder)
}

func newChoiceField(name, label string, choices []string, selected, hint string) *formField {
	fl := &formField{name: name, label: label, kind: choiceField, choices: choices, hint: hint}
	for i, c := range choices {
		if c == selected {
			fl.choice = i
		}
	}
	return fl
}

func newCheckField(name, label string, checked bool, hint string) *formField {
	return &formField{name: name, label: label, kind: checkField, checked: checked, hint: hint}
}

func newFixedField(name, label, value string) *formField {
	return &formField{name: name, label: label, kind: fixedField, fixed: value}
}

// when makes the field apply only while cond holds.
func (fl *formField) when(cond func(*form) bool) *formField { fl.shown = cond; return fl }

// placeholder sets what an empty text field shows, in parentheses so it
// reads as no value without colour.
func (fl *formField) placeholder(p string) *formField {
	fl.input.Placeholder = "(" + p + ")"
	return fl
}

func (f *form) field(name string) *formField {
	for _, fl := range f.fields {
		if fl.name == name {
			return fl
		}
	}
	return nil
}

// value is a text field's trimmed text, a choice's word, a fixed value,
// or "" for a field that does not apply.
func (f *form) value(name string) string {
	fl := f.field(name)
	if fl == nil || !f.applies(fl) {
		return ""
	}
	switch fl.kind {
	case choiceField:
		return fl.choices[fl.choice]
	case fixedField:
		return fl.fixed
	case secretField:
		return fl.input.Value() // secrets may start or end with spaces
	}
	return strings.TrimSpace(fl.input.Value())
}

func (f *form) checked(name string) bool {
	fl := f.field(name)
	return fl != nil && f.applies(fl) && fl.checked
}

// fail puts a one-sentence error under the field (or the form when the
// field is unknown); it returns nil so submit can `return f.fail(...)`.
func (f *form) fail(name string, err error) tea.Cmd {
	msg := userMessage(err)
	if fl := f.field(name); fl != nil && f.applies(fl) {
		fl.err = msg
		f.focusOn(fl)
	} else {
		f.err = msg
	}
	return nil
}

func (f *form) applies(fl *formField) bool { return fl.shown == nil || fl.shown(f) }

func (f *form) visible() []*formField {
	var out []*formField
	for _, fl := range f.fields {
		if f.applies(fl) {
			out = append(out, fl)
		}
	}
	return out
}

func (f *form) focused() *formField {
	if f.focus < 0 || f.focus >= len(f.fields) {
		return nil
	}
	return f.fields[f.focus]
}

func (f *form) focusOn(target *formField) {
	for i, fl := range f.fields {
		if fl == target {
			f.setFocus(i)
		}
	}
}

func (f *form) setFocus(i int) {
	for j, fl := range f.fields {
		if fl.typed() {
			if j == i {
				fl.input.Focus()
			} else {
				fl.input.Blur()
			}
		}
	}
	f.focus = i
}

// moveFocus goes to the next (d=1) or previous (d=-1) editable field that
// applies, wrapping around.
func (f *form) moveFocus(d int) {
	n := len(f.fields)
	for step, i := 1, f.focus; step <= n; step++ {
		i = ((i+d)%n + n) % n
		if fl := f.fields[i]; fl.editable() && f.applies(fl) {
			f.setFocus(i)
			return
		}
	}
}

// TakesText: keys go to the form while a text field has the focus, so q,
// ? and the digits are typed rather than acted on.
func (f *form) TakesText() bool {
	fl := f.focused()
	return f.busy == "" && fl != nil && fl.typed()
}

func (f *form) Update(msg tea.Msg) (bool, tea.Cmd) {
	switch msg := msg.(type) {
	case formResultMsg:
		if msg.form != f {
			return false, nil
		}
		f.busy = ""
		if msg.Err != nil {
			f.fail(msg.Field, msg.Err)
			return false, nil
		}
		return true, reloadThenSay(msg.After, msg.Status)
	case tea.KeyMsg:
		if f.busy != "" {
			return false, nil
		}
		return f.key(msg)
	}
	return false, nil
}

func (f *form) key(msg tea.KeyMsg) (bool, tea.Cmd) {
	k := f.ctx.Keys
	fl := f.focused()
	switch {
	case key.Matches(msg, k.Cancel):
		return true, nil
	case key.Matches(msg, k.NextField):
		f.moveFocus(1)
		return false, nil
	case key.Matches(msg, k.PrevField):
		f.moveFocus(-1)
		return false, nil
	case key.Matches(msg, k.Save):
		for _, x := range f.fields {
			x.err = ""
		}
		f.err = ""
		cmd := f.submit(f)
		if cmd != nil && f.busy == "" {
			f.busy = "saving…"
		}
		return false, cmd
	}
	if fl == nil {
		return false, nil
	}
	switch fl.kind {
	case choiceField:
		switch msg.String() {
		case "right", "l", " ":
			fl.choice = (fl.choice + 1) % len(fl.choices)
			fl.err = ""
		case "left", "h":
			fl.choice = (fl.choice + len(fl.choices) - 1) % len(fl.choices)
			fl.err = ""
		}
	case checkField:
		if msg.String() == " " || msg.String() == "x" {
			fl.checked = !fl.checked
			fl.err = ""
		}
	case textField, secretField:
		var cmd tea.Cmd
		before := fl.input.Value()
		fl.input, cmd = fl.input.Update(msg)
		if fl.input.Value() != before {
			fl.err = ""
		}
		return false, cmd
	}
	return false, nil
}

const formLabelWidth = 14

func (f *form) width() int { return max(min(f.ctx.Width-4, 78), 40) }

func (f *form) View() string {
	t := f.ctx.Theme
	inner := f.width() - 4
	valueWidth := inner - 2 - formLabelWidth - 1
	var b strings.Builder
	b.WriteString(t.Title.Render(f.title) + "\n")
	if f.note != "" {
		b.WriteString(t.Muted.Width(inner).Render(f.note) + "\n")
	}
	b.WriteString("\n")
	indent := strings.Repeat(" ", 2+formLabelWidth+1)
	for i, fl := range f.fields {
		if !f.applies(fl) {
			continue
		}
		mark := "  "
		if i == f.focus {
			mark = "▸ "
		}
		var v string
		switch fl.kind {
		case textField, secretField:
			fl.input.Width = valueWidth - 1
			v = fl.input.View()
		case choiceField:
			v = "‹ " + fl.choices[fl.choice] + " ›"
			if len(fl.choices) == 1 {
				v = fl.choices[0]
			}
		case checkField:
			v = "[ ] no"
			if fl.checked {
				v = "[x] yes"
			}
		case fixedField:
			v = pad(fl.fixed, valueWidth)
		}
		label := pad(fl.label, formLabelWidth)
		if i == f.focus {
			label = t.Header.Render(label)
		}
		b.WriteString(mark + label + " " + v + "\n")
		if fl.err != "" {
			for _, line := range strings.Split(t.Error.Width(valueWidth).Render("✗ "+fl.err), "\n") {
				b.WriteString(indent + line + "\n")
			}
		}
	}
	b.WriteString("\n")
	switch {
	case f.busy != "":
		b.WriteString(t.Status.Render(f.ctx.spin()+" "+f.busy) + "\n")
	case f.err != "":
		b.WriteString(t.Error.Width(inner).Render("✗ "+f.err) + "\n")
	default:
		if fl := f.focused(); fl != nil && fl.hint != "" {
			b.WriteString(t.Muted.Width(inner).Render(fl.hint) + "\n")
		}
	}
	b.WriteString(t.Muted.Render(f.helpLine()))
	return t.Dialog.Width(f.width()).Render(b.String())
}

func (f *form) helpLine() string {
	s := "tab/↑↓ move · enter save · esc cancel"
	if fl := f.focused(); fl != nil {
		switch fl.kind {
		case choiceField:
			s = "←/→ change · " + s
		case checkField:
			s = "space toggle · " + s
		}
	}
	return s
}

func (f *form) ShortHelp() []key.Binding {
	k := f.ctx.Keys
	return []key.Binding{k.NextField, k.PrevField, k.Save, k.Cancel}
}

// userMessage is the one sentence of an error for the screen: a
// core.UserError's own message, or the error's text.
func userMessage(err error) string {
	var ue *core.UserError
	if errors.As(err, &ue) {
		return withConsoleAdvice(ue.Msg, err)
	}
	return errorText(err)
}
