package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// KeyMap is the one keymap of the console; the help bar and the help overlay
// are generated from it.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Open, Back, Tab, Toggle, Confirm        key.Binding
	Backup, Services, Help, Quit            key.Binding
	Destinations, Templates, Activity       key.Binding
	// Notifications is the channels' screen; TestChannel sends a channel
	// a test message.
	Notifications, TestChannel key.Binding
	Yes, No                    key.Binding
	// A backup in the history: its details, restore, verify, delete; and
	// upload & restore on a service.
	Details, Restore, Verify, Delete, Force, Upload    key.Binding
	PrevStep, StepBack, Next, Cancel, Close, DoRestore key.Binding
	Complete, DoUpload                                 key.Binding
	// Download a backup to a file on this host.
	Download, DoDownload key.Binding
	// Verify a backup once its identity file is given.
	DoVerify key.Binding
	// Editing the catalog: services, configurations, destinations, templates.
	Filter, Add, Edit, Remove, MakePrimary, TestDest, NewService, AddConfig, EditService key.Binding
	// A service's disaster-recovery runbook, and writing it to a file.
	Runbook, WriteRunbook key.Binding
	// A service's hooks, and setting and trying the selected one.
	Hooks, SetHook, TestHook key.Binding
	// Forms.
	NextField, PrevField, Save key.Binding
}

// NewKeyMap builds the keymap. Which keys a read-only console turns off is
// not the keymap's business: each screen's actions say what they change
// (see action), and Context.readOnlyReason decides.
func NewKeyMap(readOnly bool) KeyMap {
	k := KeyMap{
		Up:            key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:          key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:        key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:      key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Top:           key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:        key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Open:          key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:          key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Tab:           key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Toggle:        key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "select")),
		Confirm:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "back up")),
		Backup:        key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "back up")),
		Services:      key.NewBinding(key.WithKeys("1"), key.WithHelp("1", "services")),
		Destinations:  key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "destinations")),
		Templates:     key.NewBinding(key.WithKeys("3"), key.WithHelp("3", "templates")),
		Activity:      key.NewBinding(key.WithKeys("4"), key.WithHelp("4", "activity")),
		Notifications: key.NewBinding(key.WithKeys("5"), key.WithHelp("5", "notifications")),
		TestChannel:   key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "send a test message")),
		Help:          key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:          key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Yes:           key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:            key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "no")),
		Filter:        key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Add:           key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add")),
		Edit:          key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Remove:        key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "remove")),
		MakePrimary:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "make primary")),
		TestDest:      key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test connection")),
		NewService:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new service from template")),
		AddConfig:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "add configuration")),
		EditService:   key.NewBinding(key.WithKeys("E"), key.WithHelp("E", "edit service")),
		NextField:     key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field")),
		PrevField:     key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous field")),
		Save:          key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")),
	}
	k.Details = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details"))
	k.Restore = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restore"))
	k.Verify = key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "verify"))
	k.Delete = key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "delete"))
	k.Force = key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "delete anyway"))
	k.Upload = key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "upload & restore"))
	k.PrevStep = key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous step"))
	k.StepBack = key.NewBinding(key.WithKeys("esc", "shift+tab"), key.WithHelp("esc", "back a step"))
	k.Next = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next"))
	k.Close = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close"))
	k.DoRestore = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "restore"))
	k.Complete = key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete the path"))
	k.DoUpload = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "upload"))
	k.Cancel = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))
	// Allowed read-only: it writes a file on this host, not the catalog.
	k.Download = key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "download"))
	k.DoDownload = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "download"))
	k.DoVerify = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "verify"))
	k.Runbook = key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "runbook"))
	// Allowed read-only: it writes a file on this host, not the catalog.
	k.WriteRunbook = key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "write to a file"))
	k.Hooks = key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "hooks"))
	k.SetHook = key.NewBinding(key.WithKeys("enter", "e"), key.WithHelp("enter", "set"))
	k.TestHook = key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "run it now"))
	if readOnly {
		k.Download.SetHelp("D", "download to a file (allowed read-only)")
	}
	return k
}

// moves are a list's movement keys: a row, a page of page rows, or to
// either end; move gets how far the cursor goes.
func (k KeyMap) moves(page int, move func(delta int) tea.Cmd) []action {
	page = max(page, 1)
	by := func(delta int) func() tea.Cmd { return func() tea.Cmd { return move(delta) } }
	return []action{
		{key: k.Up, run: by(-1)}, {key: k.Down, run: by(1)},
		{key: k.PageUp, run: by(-page)}, {key: k.PageDown, run: by(page)},
		{key: k.Top, run: by(-1 << 30)}, {key: k.Bottom, run: by(1 << 30)},
	}
}

// clampCursor keeps a cursor moved by delta on one of n rows.
func clampCursor(cur, delta, n int) int { return max(0, min(cur+delta, n-1)) }

// action is one key of a screen or dialog, as lazygit's Binding: the key
// with its help, what it does, and why it does nothing now. A screen's
// actions are its whole keyboard: its Update dispatches through them, and
// the help bar and the ? help are drawn from them.
type action struct {
	key key.Binding
	// run is what the key does; it may change the screen's own state (a
	// cursor, a pane) and returns the command that does the rest.
	run func() tea.Cmd
	// changes names what the action changes, as a read-only console's
	// refusal says it ("adding a destination"); "" when it changes
	// nothing (moving, opening, verifying, downloading to a file).
	changes string
	// role is the role the action needs on a PostgreSQL catalog: "" for
	// the admin's when it changes something, else none (Context.roleReason).
	role core.Role
	// disabled says why the action cannot run now ("no service
	// selected"); nil or "" when it can.
	disabled func() string
	// inactive is set on a key that means something else at this moment
	// (x deletes a backup in the history pane and removes a configuration
	// in the other): the ? help lists it, the help bar and the keyboard
	// skip it.
	inactive bool
	// global marks a key the root handles for every screen (esc, ?, q, 1
	// to 4), listed in a screen's help where it belongs; it has no run.
	global bool
}

// globalKey lists one of the root's keys in a screen's help.
func globalKey(b key.Binding) action { return action{key: b, global: true} }

// keyTable is the keyboard of a screen or dialog: its actions in groups,
// as the ? help lays them out (the keyboard tries them in this order),
// and the ones its help bar shows, in the bar's order.
type keyTable struct {
	groups [][]action
	footer []action
}

// readOnlyReason is the one rule of a read-only console: an action that
// changes something (what, e.g. "backing up") is off, and this is why;
// "" when it may run.
func (c *Context) readOnlyReason(what string) string {
	if !c.ReadOnly || what == "" {
		return ""
	}
	return "read-only: " + what + " is off (the console was started with --read-only)"
}

// roleReason is the one rule of roles: an action needs the role it names,
// or the admin's when it changes something, and a user with a weaker role
// is told which ("viewer: backing up needs the operator role") instead of
// being refused by the catalog's server; "" when it may run. The server
// decides in the end: this only spares the user the attempt.
func (c *Context) roleReason(a action) string {
	need := a.role
	if need == "" && a.changes != "" {
		need = core.RoleAdmin
	}
	if need == "" || c.Role == "" || c.Role.Allows(need) {
		return ""
	}
	what := a.changes
	if what == "" {
		what = a.key.Help().Desc
	}
	return fmt.Sprintf("%s: %s needs the %s role", c.Role, what, need)
}

// offReason is why a is off in this console, whatever is selected: it is
// read-only, or the user's role does not allow it; "" when it is on.
func (c *Context) offReason(a action) string {
	if why := c.readOnlyReason(a.changes); why != "" {
		return why
	}
	return c.roleReason(a)
}

// offBecause is what turns keys off in this console, for the help.
func (c *Context) offBecause() string {
	if c.ReadOnly {
		return "the console was started with --read-only"
	}
	return fmt.Sprintf("database user %s has the %s role", c.DBUser, c.Role)
}

// disabledReason is why a cannot run now: read-only or the user's role
// first, then its own reason; "" when it can.
func (c *Context) disabledReason(a action) string {
	if why := c.offReason(a); why != "" {
		return why
	}
	if a.disabled != nil {
		return a.disabled()
	}
	return ""
}

// lookup finds the action msg presses in t, skipping the root's keys and
// the inactive ones; ok is false when the key is not t's.
func (t keyTable) lookup(msg tea.KeyMsg) (action, bool) {
	for _, g := range t.groups {
		for _, a := range g {
			if !a.global && !a.inactive && key.Matches(msg, a.key) {
				return a, true
			}
		}
	}
	return action{}, false
}

// press runs the action msg presses in t, or, when that action is
// disabled, says why in the status line instead of doing nothing; ok is
// false when the key is not t's.
func (c *Context) press(t keyTable, msg tea.KeyMsg) (cmd tea.Cmd, ok bool) {
	a, ok := t.lookup(msg)
	if !ok {
		return nil, false
	}
	if why := c.disabledReason(a); why != "" {
		return setStatus(true, why), true
	}
	return a.run(), true
}

// bindings are the keys of actions, for help.Model.
func bindings(actions []action) []key.Binding {
	out := make([]key.Binding, len(actions))
	for i, a := range actions {
		out[i] = a.key
	}
	return out
}

// actionsOf lists plain keys (a dialog's flow keys) as actions that
// change nothing, for the help bar.
func actionsOf(bs []key.Binding) []action {
	out := make([]action, len(bs))
	for i, b := range bs {
		out[i] = action{key: b}
	}
	return out
}

// firstReason is the first of reasons that says something.
func firstReason(reasons ...func() string) func() string {
	return func() string {
		for _, r := range reasons {
			if why := r(); why != "" {
				return why
			}
		}
		return ""
	}
}
