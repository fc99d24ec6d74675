package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// keyMsgs are the named keys of the keymap as the terminal sends them.
var keyMsgs = map[string]tea.KeyType{
	"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab,
	"up": tea.KeyUp, "down": tea.KeyDown, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
	"home": tea.KeyHome, "end": tea.KeyEnd, "ctrl+c": tea.KeyCtrlC,
}

// keyMsg is the message of pressing s ("b", "enter", " ").
func keyMsg(s string) tea.KeyMsg {
	if t, ok := keyMsgs[s]; ok {
		return tea.KeyMsg{Type: t}
	}
	if s == " " {
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune(" ")}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

type keyed interface{ keys() keyTable }

// keyedStates are the screens and the details dialog in each state that
// changes their keys, with nothing loaded (a unit test needs no catalog).
func keyedStates(ctx *Context) map[string]keyed {
	history := newServiceScreen(ctx, "production")
	history.pane, history.loaded = paneHistory, true
	templates := newTemplatesScreen(ctx)
	templates.Update(TemplatesLoadedMsg{Templates: []core.Template{{Name: "basic",
		Configurations: []core.TemplateConfiguration{{Destination: "local", Frequency: core.Daily}}}}})
	onConfig := newTemplatesScreen(ctx)
	onConfig.Update(TemplatesLoadedMsg{Templates: templates.rows})
	onConfig.cursor = 1
	lastGood := newDetailsDialog(ctx, core.Backup{ID: 3, Status: core.StatusSucceeded})
	lastGood.lastGood = "backup 3 is the last good backup of production"
	asking := newDetailsDialog(ctx, core.Backup{ID: 3, Status: core.StatusSucceeded})
	asking.ask = askDelete
	return map[string]keyed{
		"services":                  newServicesScreen(ctx),
		"service, configurations":   newServiceScreen(ctx, "production"),
		"service, history":          history,
		"destinations":              newDestinationsScreen(ctx),
		"templates, empty":          newTemplatesScreen(ctx),
		"templates, a template":     templates,
		"templates, a config":       onConfig,
		"activity":                  newActivityScreen(ctx),
		"details":                   newDetailsDialog(ctx, core.Backup{ID: 3, Status: core.StatusSucceeded}),
		"details, last good backup": lastGood,
		"details, asking":           asking,
	}
}

// TestEveryKeyHasHelpAndHandler: every action of every screen and of the
// details dialog has a key, a help text and a handler (or is one of the
// root's keys, which has them); the help bar shows only keys of the table;
// no two actions of a table answer the same key, and no screen's action
// hides behind a key the root takes first.
func TestEveryKeyHasHelpAndHandler(t *testing.T) {
	for _, ro := range []bool{false, true} {
		m := New(Options{ReadOnly: ro})
		root := map[string]bool{}
		for _, a := range m.keys() {
			if a.run == nil || a.key.Help().Desc == "" {
				t.Errorf("the root's key %v has no handler or no help", a.key.Keys())
			}
			for _, k := range a.key.Keys() {
				root[k] = true
			}
		}
		for name, s := range keyedStates(m.ctx) {
			_, isDialog := s.(dialog)
			table := s.keys()
			taken := map[string]string{}
			listed := map[string]bool{}
			for _, g := range table.groups {
				for _, a := range g {
					h := a.key.Help()
					listed[h.Key+" "+h.Desc] = true
					switch {
					case len(a.key.Keys()) == 0 || h.Key == "" || h.Desc == "":
						t.Errorf("%s: key %v has no help text (%q %q)", name, a.key.Keys(), h.Key, h.Desc)
					case a.global && !root[a.key.Keys()[0]]:
						t.Errorf("%s: %q is listed as the root's key, and the root has no such key", name, h.Key)
					case !a.global && a.run == nil:
						t.Errorf("%s: %q %s has no handler", name, h.Key, h.Desc)
					}
					if a.global || a.inactive {
						continue
					}
					for _, k := range a.key.Keys() {
						if other, dup := taken[k]; dup {
							t.Errorf("%s: %q answers both %q and %q", name, k, other, h.Desc)
						}
						taken[k] = h.Desc
						if root[k] && !isDialog {
							t.Errorf("%s: %q (%s) is taken by the root before the screen sees it", name, k, h.Desc)
						}
					}
				}
			}
			if len(table.footer) == 0 {
				t.Errorf("%s: the help bar shows no key", name)
			}
			for _, a := range table.footer {
				if h := a.key.Help(); !listed[h.Key+" "+h.Desc] && !a.global {
					t.Errorf("%s: the help bar shows %q %s, which the table does not have", name, h.Key, h.Desc)
				}
				if a.inactive {
					t.Errorf("%s: the help bar shows %q, which does nothing now", name, a.key.Help().Key)
				}
			}
		}
	}
}

// statusOf runs cmd and returns the status line it sets; ok is false when
// it does anything else.
func statusOf(cmd tea.Cmd) (statusMsg, bool) {
	if cmd == nil {
		return statusMsg{}, false
	}
	st, ok := cmd().(statusMsg)
	return st, ok
}

// TestReadOnlyRefusesChanges: in a read-only console every key that
// changes something says why it does nothing, on every screen that has
// such keys, and the keys that only read are not refused.
func TestReadOnlyRefusesChanges(t *testing.T) {
	m := New(Options{ReadOnly: true})
	states := keyedStates(m.ctx)
	for _, tc := range []struct {
		state string
		// refused maps a key to what the refusal names.
		refused map[string]string
		// allowed keys are not refused for being read-only.
		allowed []string
	}{
		{"services", map[string]string{"b": "backing up", "r": "restoring", "u": "upload & restore", "a": "adding a service"},
			[]string{"enter", "/"}},
		{"service, configurations", map[string]string{"b": "backing up", "u": "upload & restore", "a": "adding a configuration",
			"e": "editing a configuration", "x": "removing a configuration", "p": "moving the primary", "E": "editing a service"},
			[]string{"v", "D", "enter"}},
		{"service, history", map[string]string{"r": "restoring", "x": "deleting", "b": "backing up", "u": "upload & restore"},
			[]string{"v", "D", "enter"}},
		{"destinations", map[string]string{"a": "adding a destination", "e": "editing a destination", "x": "removing a destination"},
			[]string{"t"}},
		{"templates, a template", map[string]string{"a": "creating a template", "c": "adding a configuration", "n": "adding a service",
			"e": "editing a configuration", "p": "moving the primary", "x": "removing a template"}, nil},
		{"templates, a config", map[string]string{"e": "editing a configuration", "p": "moving the primary", "x": "removing a configuration"}, nil},
	} {
		s := states[tc.state].(screen)
		for k, what := range tc.refused {
			want := "read-only: " + what + " is off (the console was started with --read-only)"
			if st, ok := statusOf(s.Update(keyMsg(k))); !ok || !st.err || st.text != want {
				t.Errorf("%s: %s in a read-only console says %q (did only that: %v), want %q", tc.state, k, st.text, ok, want)
			}
		}
		for _, k := range tc.allowed {
			if st, _ := statusOf(s.Update(keyMsg(k))); strings.HasPrefix(st.text, "read-only") {
				t.Errorf("%s: %s changes nothing, and a read-only console refuses it: %q", tc.state, k, st.text)
			}
		}
	}
	// The details dialog says it in its own note.
	for k, what := range map[string]string{"r": "restoring", "x": "deleting"} {
		d := newDetailsDialog(m.ctx, core.Backup{ID: 3, Status: core.StatusSucceeded})
		want := "read-only: " + what + " is off (the console was started with --read-only)"
		if done, cmd := d.Update(keyMsg(k)); done || cmd != nil || d.note != want || d.ask != askNothing {
			t.Errorf("details: %s in a read-only console: closed %v, note %q, asking %v; want the note %q", k, done, d.note, d.ask, want)
		}
	}
}

// TestNothingSelectedReason: a key that acts on a selection says so when
// there is none, instead of doing nothing.
func TestNothingSelectedReason(t *testing.T) {
	m := New(Options{})
	states := keyedStates(m.ctx)
	unloaded := newServiceScreen(m.ctx, "production")
	unloaded.pane = paneHistory
	const pickBackup, pickConfig = "pick a backup in the history first (tab moves to it)", "select a destination in the Destinations pane first (tab)"
	for _, tc := range []struct {
		name string
		s    screen
		why  map[string]string
	}{
		{"services", states["services"].(screen), map[string]string{"enter": "no service selected", "b": "no service selected",
			"r": "no service selected", "u": "no service selected"}},
		{"destinations", states["destinations"].(screen), map[string]string{"e": "no destination selected",
			"t": "no destination selected", "x": "no destination selected"}},
		{"templates, empty", states["templates, empty"].(screen), map[string]string{"n": "no template selected",
			"c": "no template selected", "e": "no template selected", "p": "no template selected", "x": "no template selected"}},
		{"templates, a template", states["templates, a template"].(screen), map[string]string{
			"e": "select one of basic's configurations to edit it, or press c to add one",
			"p": "select one of basic's configurations to make it the primary"}},
		{"service, configurations", states["service, configurations"].(screen), map[string]string{"e": pickConfig,
			"x": pickConfig, "p": pickConfig, "r": pickBackup, "v": pickBackup, "enter": pickBackup, "D": pickBackup}},
		{"service, history", states["service, history"].(screen), map[string]string{"e": pickConfig, "p": pickConfig,
			"enter": "no backup to act on yet: press b to back up now", "r": "no backup to act on yet: press b to back up now",
			"v": "no backup to act on yet: press b to back up now", "x": "no backup to act on yet: press b to back up now",
			"D": "no backup to act on yet: press b to back up now"}},
		{"service, history loading", unloaded, map[string]string{"r": "the history is still loading"}},
	} {
		for k, want := range tc.why {
			if st, ok := statusOf(tc.s.Update(keyMsg(k))); !ok || !st.err || st.text != want {
				t.Errorf("%s: %s with nothing to act on says %q (did only that: %v), want %q", tc.name, k, st.text, ok, want)
			}
		}
	}
	running := newDetailsDialog(m.ctx, core.Backup{ID: 3, Status: core.StatusRunning})
	for k, want := range map[string]string{
		"r": "backup 3 is still running; wait for it to finish before you restore it",
		"x": "backup 3 is still running; wait for it to finish before deleting it",
		"D": "backup 3 is still running; wait for it to finish before you download it",
	} {
		if done, _ := running.Update(keyMsg(k)); done || running.note != want {
			t.Errorf("details of a running backup: %s closed %v with the note %q, want %q", k, done, running.note, want)
		}
	}
}

// TestKeyMsgMatchesTheKeymap keeps the tests' key presses honest: each
// key of the keymap, pressed, matches its binding.
func TestKeyMsgMatchesTheKeymap(t *testing.T) {
	m := New(Options{})
	for name, s := range keyedStates(m.ctx) {
		for _, g := range s.keys().groups {
			for _, a := range g {
				for _, k := range a.key.Keys() {
					if !key.Matches(keyMsg(k), a.key) {
						t.Errorf("%s: pressing %q does not match %v", name, k, a.key.Keys())
					}
				}
			}
		}
	}
}
