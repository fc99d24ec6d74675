package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// KeyMap is the one keymap of the console; the help bar and the help overlay
// are generated from it.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Open, Back, Tab, Toggle, Confirm        key.Binding
	Backup, Services, Help, Quit            key.Binding
	Destinations, Templates, Activity       key.Binding
	Yes, No                                 key.Binding
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
	// Forms.
	NextField, PrevField, Save key.Binding
}

// NewKeyMap builds the keymap; read-only keeps the back-up key visible but
// says in its help why it does nothing.
// readOnlyOff ends the help of a key a read-only console turns off.
const readOnlyOff = ": off (--read-only)"

func NewKeyMap(readOnly bool) KeyMap {
	k := KeyMap{
		Up:           key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:         key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:       key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:     key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Top:          key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:       key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Open:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:         key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Tab:          key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Toggle:       key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "select")),
		Confirm:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "back up")),
		Backup:       key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "back up")),
		Services:     key.NewBinding(key.WithKeys("1"), key.WithHelp("1", "services")),
		Destinations: key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "destinations")),
		Templates:    key.NewBinding(key.WithKeys("3"), key.WithHelp("3", "templates")),
		Activity:     key.NewBinding(key.WithKeys("4"), key.WithHelp("4", "activity")),
		Help:         key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:         key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Yes:          key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:           key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "no")),
		Filter:       key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Add:          key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add")),
		Edit:         key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Remove:       key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "remove")),
		MakePrimary:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "make primary")),
		TestDest:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test connection")),
		NewService:   key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new service from template")),
		AddConfig:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "add configuration")),
		EditService:  key.NewBinding(key.WithKeys("E"), key.WithHelp("E", "edit service")),
		NextField:    key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field")),
		PrevField:    key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous field")),
		Save:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")),
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
	if readOnly {
		k.Restore.SetHelp("r", "restore"+readOnlyOff)
		k.Delete.SetHelp("x", "delete"+readOnlyOff)
		k.Upload.SetHelp("u", "upload & restore"+readOnlyOff)
		k.Backup.SetHelp("b", "back up"+readOnlyOff)
		k.Download.SetHelp("D", "download to a file (allowed read-only)")
		for _, b := range []*key.Binding{&k.Add, &k.Edit, &k.Remove, &k.MakePrimary, &k.NewService, &k.AddConfig, &k.EditService} {
			b.SetHelp(b.Help().Key, b.Help().Desc+readOnlyOff)
		}
	}
	return k
}

// cursorMove is how far a list's movement key moves its cursor: a row, a
// page of page rows, or to either end; ok is false for any other key.
func (k KeyMap) cursorMove(msg tea.KeyMsg, page int) (delta int, ok bool) {
	switch {
	case key.Matches(msg, k.Up):
		return -1, true
	case key.Matches(msg, k.Down):
		return 1, true
	case key.Matches(msg, k.PageUp):
		return -max(page, 1), true
	case key.Matches(msg, k.PageDown):
		return max(page, 1), true
	case key.Matches(msg, k.Top):
		return -1 << 30, true
	case key.Matches(msg, k.Bottom):
		return 1 << 30, true
	}
	return 0, false
}

// clampCursor keeps a cursor moved by delta on one of n rows.
func clampCursor(cur, delta, n int) int { return max(0, min(cur+delta, n-1)) }
