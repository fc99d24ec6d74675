package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// terminal is a real terminal: a detached tmux session of a fixed size on a
// tmux server of the test's own, driven with send-keys and read with
// capture-pane, the way a person types and reads.
type terminal struct {
	t      *testing.T
	socket string
	target string
	w, h   int
}

// prompt is the shell's prompt in the test terminal.
const prompt = "console-test$ "

// newTerminal opens a w×h terminal running a shell with env added to this
// process's environment. It skips the test when tmux is not installed.
func newTerminal(t *testing.T, w, h int, env ...string) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the real-terminal check of the console needs it (apt-get install tmux)")
	}
	// A short directory: a unix socket path must stay under ~100 bytes.
	dir, err := os.MkdirTemp("", "obtmux")
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, socket: filepath.Join(dir, "s"), target: "console", w: w, h: h}
	args := []string{"new-session", "-d", "-s", term.target, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}
	// A colour terminal whatever this process runs under: termenv draws no
	// colour when CI is set (CI systems set it) or when CLICOLOR=0.
	for _, e := range append([]string{"TERM=xterm-256color", "ENV=", "CI=", "CLICOLOR=", "CLICOLOR_FORCE="}, env...) {
		args = append(args, "-e", e)
	}
	args = append(args, "/bin/sh")
	term.tmux(args...)
	t.Cleanup(func() {
		exec.Command("tmux", "-S", term.socket, "kill-server").Run()
		os.RemoveAll(dir)
	})
	// Fixed size whatever clients attach (none do).
	term.tmux("set-option", "-t", term.target, "window-size", "manual")
	// sh sets its own prompt for root whatever the environment says.
	term.waitUntil(10*time.Second, "a shell", func(rows []string) bool { return strings.TrimSpace(strings.Join(rows, "")) != "" })
	term.typeLine("PS1='" + prompt + "'")
	term.waitFor(10*time.Second, "\n"+strings.TrimSpace(prompt)) // capture-pane drops trailing blanks
	return term
}

func (term *terminal) tmux(args ...string) string {
	term.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", term.socket}, args...)...).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the terminal shows now, one string per row.
func (term *terminal) screen() []string {
	term.t.Helper()
	return strings.Split(strings.TrimSuffix(term.tmux("capture-pane", "-p", "-t", term.target), "\n"), "\n")
}

// display reads a tmux format of the pane, such as #{alternate_on}.
func (term *terminal) display(format string) string {
	term.t.Helper()
	return strings.TrimSpace(term.tmux("display-message", "-p", "-t", term.target, format))
}

// keys sends keys by tmux's names: "Enter", "Escape", "Down", or literal text.
func (term *terminal) keys(keys ...string) {
	term.t.Helper()
	term.tmux(append([]string{"send-keys", "-t", term.target}, keys...)...)
}

// typeLine types text literally and presses Enter.
func (term *terminal) typeLine(text string) {
	term.t.Helper()
	term.tmux("send-keys", "-t", term.target, "-l", text)
	term.keys("Enter")
}

// waitFor polls the screen until every wanted text shows, and returns it;
// past the deadline the test fails with the last screen.
func (term *terminal) waitFor(deadline time.Duration, want ...string) []string {
	term.t.Helper()
	return term.waitUntil(deadline, fmt.Sprintf("%q", want), func(rows []string) bool {
		s := strings.Join(rows, "\n")
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
}

func (term *terminal) waitUntil(deadline time.Duration, what string, ok func(rows []string) bool) []string {
	term.t.Helper()
	end := time.Now().Add(deadline)
	for {
		rows := term.screen()
		if ok(rows) {
			return rows
		}
		if time.Now().After(end) {
			term.t.Fatalf("after %s the %dx%d terminal does not show %s; it shows:\n%s", deadline, term.w, term.h, what, strings.Join(rows, "\n"))
		}
		time.Sleep(20 * time.Millisecond) // the poll interval, not a wait for something
	}
}

// checkFrame checks the console's frame fits the terminal: the header on
// the first row, the key help on the last one written.
func (term *terminal) checkFrame(rows []string) {
	term.t.Helper()
	if len(rows) != term.h {
		term.t.Fatalf("the pane has %d rows, want %d", len(rows), term.h)
	}
	if !strings.HasPrefix(rows[0], " odoo-backup") || !strings.HasSuffix(strings.TrimRight(rows[0], " "), "? help") {
		term.t.Errorf("row 1 should be the header, ending with ? help, got %q; screen:\n%s", rows[0], strings.Join(rows, "\n"))
	}
	// The key help: keys and words separated by •, cut with … when too long.
	if last := lastNonEmpty(rows); !strings.HasPrefix(last, " ") || !strings.Contains(last, " • ") && !strings.Contains(last, "esc") {
		term.t.Errorf("the last row should be the key help, got %q; screen:\n%s", last, strings.Join(rows, "\n"))
	}
}

// typeText types text literally, as a person types it.
func (term *terminal) typeText(text string) {
	term.t.Helper()
	term.tmux("send-keys", "-t", term.target, "-l", text)
}

// focusRow waits until the open form has the focus on the field labelled
// label, and returns that row.
func (term *terminal) focusRow(label string) string {
	term.t.Helper()
	var row string
	term.waitUntil(10*time.Second, "the focus on the field "+label, func(rows []string) bool {
		for _, r := range rows {
			if strings.Contains(r, "▸ "+label+" ") {
				row = r
				return true
			}
		}
		return false
	})
	return row
}

// fill types value into the form's field labelled label, which must have
// the focus, replacing what it holds (ctrl+u), and waits until the field
// shows it: its end, as a field narrower than the value scrolls, or dots
// for a secret. Then tab moves on.
func (term *terminal) fill(label, value string, secret bool) {
	term.t.Helper()
	term.focusRow(label)
	term.keys("C-u")
	term.typeText(value)
	shown := value[max(len(value)-20, 0):]
	if secret {
		shown = strings.Repeat("•", len(value))
	}
	term.waitUntil(10*time.Second, fmt.Sprintf("%q typed into %s", shown, label), func(rows []string) bool {
		return hasRow(rows, "▸ "+label+" ", shown)
	})
	term.keys("Tab")
}

// choose moves the choice field labelled label (which must have the focus)
// with → until it shows want, as "‹ want ›" or, the only choice, "want".
func (term *terminal) choose(label, want string) {
	term.t.Helper()
	row := term.focusRow(label)
	for range 10 {
		if strings.Contains(row, fmt.Sprintf("▸ %-14s ‹ %s ›", label, want)) || strings.Contains(row, fmt.Sprintf("▸ %-14s %s ", label, want)) {
			return
		}
		term.keys("Right")
		before := row
		term.waitUntil(10*time.Second, "the choice of "+label+" to change", func(rows []string) bool {
			for _, r := range rows {
				if strings.Contains(r, "▸ "+label+" ") {
					row = r
					return r != before
				}
			}
			return false
		})
	}
	term.t.Fatalf("the choice %s never offered %q; it shows %q", label, want, row)
}

// setupWithKeys creates, by typing into the console the way a person does,
// a local destination "disk", the service of the Odoo database odoo (its
// database checked by the form) and the service's configuration on disk,
// daily, keeping 7, primary as the first; it starts and ends on the
// console's services screen.
func setupWithKeys(t *testing.T, c *cli, term *terminal, service string, odoo *testbed.OdooDB) {
	t.Helper()
	pg := servers.Postgres(t)
	dir := filepath.Join(c.dir, "disk") // the form creates it

	// Destinations screen, a: the add-destination form; it probes the
	// directory before saving.
	term.keys("2")
	term.checkFrame(term.waitFor(30*time.Second, "odoo-backup › Destinations"))
	term.keys("a")
	term.checkFrame(term.waitFor(10*time.Second, "Add a destination", "Directory"))
	term.fill("Name", "disk", false)
	term.choose("Kind", "local directory")
	term.keys("Tab")
	term.fill("Directory", dir, false)
	term.choose("Encryption", "none")
	term.keys("Enter")
	// The list is read again before the status says it was added.
	rows := term.waitUntil(30*time.Second, "disk added and listed", func(rows []string) bool {
		return hasRow(rows, "✓ destination disk added (local ") && hasRow(rows, "│ ▸ disk ", " local ")
	})
	term.checkFrame(rows)

	// Services screen, a: the add-service form; Check DB connects to the
	// database before saving. The password is typed, shown as dots.
	term.keys("1")
	term.waitUntil(30*time.Second, "the services screen", func(rows []string) bool {
		return strings.Contains(rows[0], " 0 services") && !strings.Contains(rows[0], "›") && hasRow(rows, "No service yet")
	})
	term.keys("a")
	term.checkFrame(term.waitFor(10*time.Second, "Add a service", "Check DB"))
	term.fill("Name", service, false)
	term.fill("Database", odoo.Name, false)
	term.fill("PG host", pg.Host, false)
	term.fill("PG port", fmt.Sprint(pg.Port), false)
	term.fill("PG user", pg.User, false)
	term.fill("PG password", pg.Password, true)
	term.fill("Filestore", odoo.FilestoreDir, false)
	term.choose("Template", "none")
	term.keys("Tab")
	if row := term.focusRow("Check DB"); !strings.Contains(row, "[x] yes") {
		t.Fatalf("Check DB should be on by default; its row is %q", row)
	}
	rows = term.screen()
	term.checkFrame(rows)
	if s := strings.Join(rows, "\n"); strings.Contains(s, pg.Password) {
		t.Fatalf("the form shows the typed password:\n%s", s)
	}
	term.keys("Enter")
	rows = term.waitUntil(30*time.Second, service+" added and listed", func(rows []string) bool {
		return hasRow(rows, "✓ service "+service+" added: database "+odoo.Name) && hasRow(rows, "▸ "+service+" ", " never ")
	})
	term.checkFrame(rows)

	// The service's screen, a in its configurations pane: the first
	// configuration, which becomes the primary.
	term.keys("Enter")
	term.waitFor(30*time.Second, "odoo-backup › "+service, "[Destinations]")
	term.keys("a")
	term.checkFrame(term.waitFor(10*time.Second, "Add a configuration to service "+service, "Retention"))
	term.choose("Destination", "disk")
	term.keys("Tab")
	term.choose("Frequency", "daily")
	term.keys("Tab")
	term.fill("At", "01:00", false)
	term.fill("Retention", "7", false)
	if row := term.focusRow("Primary"); !strings.Contains(row, "[x] yes") {
		t.Fatalf("the first configuration should be primary by default; its row is %q", row)
	}
	term.checkFrame(term.screen())
	term.keys("Enter")
	rows = term.waitUntil(30*time.Second, "the configuration saved and shown as the primary", func(rows []string) bool {
		return hasRow(rows, "✓ service "+service+" → disk: daily 01:00, keep 7, primary") && hasRow(rows, "★ disk", "daily 01:00", "keep 7")
	})
	term.checkFrame(rows)
	term.keys("Escape")
	term.waitUntil(10*time.Second, "the services screen", func(rows []string) bool {
		return strings.Contains(rows[0], " 1 service ") && !strings.Contains(rows[0], "›")
	})
}

var consoleRuns int

// TestConsoleInRealTerminal drives the console in a real terminal (tmux) at
// 100x30 and at 80x24 against the real PostgreSQL: open the service, back
// it up now, see the backup succeed in the history, quit and find the shell
// as it was.
func TestConsoleInRealTerminal(t *testing.T) {
	for _, size := range []struct{ w, h int }{{100, 30}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			c := newCLI(t)
			service := fmt.Sprintf("tmux%d", size.w)
			consoleRuns++ // -count=N runs on the same PostgreSQL
			odoo := generate(t, fmt.Sprintf("%s_%d", service, consoleRuns))
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			term := newTerminal(t, size.w, size.h, "ODOO_BACKUP_TEST_AS_MAIN=1", "NO_COLOR=1",
				"XDG_DATA_HOME="+os.Getenv("XDG_DATA_HOME"))
			term.typeLine(fmt.Sprintf("%s --catalog %s", exe, c.catalog))
			term.checkFrame(term.waitFor(time.Minute, "0 services", "No service yet"))

			setupWithKeys(t, c, term, service, odoo)
			rows := term.waitFor(time.Minute, "1 service ", service, "! stale")
			if term.display("#{alternate_on}") != "1" {
				t.Error("the console should draw on the alternate screen")
			}
			term.checkFrame(rows)

			term.keys("Enter")
			rows = term.waitFor(30*time.Second, "odoo-backup › "+service, "[Destinations]", "no backup yet")
			term.checkFrame(rows)
			if !hasRow(rows, "★ disk", "daily 01:00", "keep 7", "! stale") {
				t.Errorf("the configuration should read on one row; screen:\n%s", strings.Join(rows, "\n"))
			}
			term.keys("b")
			rows = term.waitFor(30*time.Second, "Back up "+service+" now", "[x] ★ disk")
			term.checkFrame(rows)
			term.keys("Enter")
			// The history (read from the catalog) and the status line (the
			// backup's result) are drawn by different messages, either first.
			rows = term.waitUntil(2*time.Minute, "a succeeded manual backup in the history and the status line saying so", func(rows []string) bool {
				return hasRow(rows, "manual", "disk", "✓ succeeded") && strings.Contains(strings.Join(rows, "\n"), "✓ backup of "+service+" succeeded: disk")
			})
			term.checkFrame(rows)

			// q quits and gives the terminal back: main screen, cursor on,
			// the shell's prompt under the command line, no console left.
			term.keys("q")
			rows = term.waitUntil(30*time.Second, "the shell's prompt after the console", func(rows []string) bool {
				return term.display("#{alternate_on}") == "0" && strings.TrimRight(lastNonEmpty(rows), " ") == strings.TrimRight(prompt, " ")
			})
			s := strings.Join(rows, "\n")
			if !strings.Contains(s, prompt+exe) {
				t.Errorf("the command line should still show after quitting; screen:\n%s", s)
			}
			if strings.Contains(s, "odoo-backup ›") || strings.Contains(s, "? help") {
				t.Errorf("the console's frame is left on the terminal after quitting:\n%s", s)
			}
			if term.display("#{cursor_flag}") != "1" {
				t.Error("the cursor is still hidden after quitting")
			}
			term.typeLine("echo exit=$?")
			term.waitFor(10*time.Second, "exit=0")
			checkConsoleCatalog(t, c, service, odoo)
		})
	}
}

// checkConsoleCatalog checks, through the command line, that the catalog
// holds what was typed into the console: the destination disk, the service
// with its connection and filestore, its primary configuration on disk, and
// the succeeded manual backup.
func checkConsoleCatalog(t *testing.T, c *cli, service string, odoo *testbed.OdooDB) {
	t.Helper()
	pg := servers.Postgres(t)
	var dests []core.Destination
	c.json(&dests, "destination", "list")
	var disk *core.Destination
	for i := range dests {
		if dests[i].Name == "disk" {
			disk = &dests[i]
		}
	}
	if want := filepath.Join(c.dir, "disk"); disk == nil || disk.Kind != core.DestinationLocal || disk.Local.Dir != want {
		t.Errorf("destinations %+v, want disk, local in %s", dests, want)
	} else if fi, err := os.Stat(disk.Local.Dir); err != nil || !fi.IsDir() {
		t.Errorf("the form should have created %s: %v", disk.Local.Dir, err)
	}

	var svcs []core.Service
	c.json(&svcs, "service", "list")
	want := core.DBConn{Host: pg.Host, Port: pg.Port, User: pg.User, Database: odoo.Name}
	if len(svcs) != 1 || svcs[0].Name != service || svcs[0].DB != want || svcs[0].FilestoreDir != odoo.FilestoreDir {
		t.Errorf("services %+v, want only %s on %+v with filestore %s", svcs, service, want, odoo.FilestoreDir)
	}
	if got := c.configs(service); got != "disk:daily*" {
		t.Errorf("configurations of %s: %q, want disk:daily*", service, got)
	}

	var bs []backupJSON
	c.json(&bs, "backups", service)
	if len(bs) != 1 || bs[0].Destination != "disk" || bs[0].Kind != "manual" || bs[0].Status != "succeeded" || bs[0].Size == 0 {
		t.Errorf("backups of %s: %+v, want one succeeded manual backup on disk", service, bs)
	}
}

// hasRow reports whether one row holds every part.
func hasRow(rows []string, parts ...string) bool {
	for _, r := range rows {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(r, p)
		}
		if all {
			return true
		}
	}
	return false
}

func lastNonEmpty(rows []string) string {
	for i := len(rows) - 1; i >= 0; i-- {
		if strings.TrimSpace(rows[i]) != "" {
			return rows[i]
		}
	}
	return ""
}

// sgrColour finds an SGR escape that sets a colour (30–38, 40–48, 90–97,
// 100–107) in text captured with its escapes.
var sgrColour = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

func hasColour(s string) bool {
	for _, m := range sgrColour.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			n, err := strconv.Atoi(p)
			if err == nil && (n >= 30 && n <= 38 || n >= 40 && n <= 48 || n >= 90 && n <= 97 || n >= 100 && n <= 107) {
				return true
			}
		}
	}
	return false
}

// TestConsoleNoColor: the console draws in colour in a colour terminal, and
// with NO_COLOR set it draws none, marks and words only.
func TestConsoleNoColor(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, noColor := range []string{"", "1"} {
		t.Run("NO_COLOR="+noColor, func(t *testing.T) {
			c := newCLI(t)
			term := newTerminal(t, 80, 24, "ODOO_BACKUP_TEST_AS_MAIN=1", "NO_COLOR="+noColor, "XDG_DATA_HOME="+os.Getenv("XDG_DATA_HOME"))
			term.typeLine(fmt.Sprintf("%s --catalog %s", exe, c.catalog))
			term.waitFor(time.Minute, "0 services", "No service yet")
			styled := term.tmux("capture-pane", "-p", "-e", "-t", term.target)
			switch {
			case noColor == "" && !hasColour(styled):
				t.Errorf("without NO_COLOR the console should use colours; it drew:\n%q", styled)
			case noColor != "" && hasColour(styled):
				t.Errorf("with NO_COLOR=1 the console drew colours:\n%q", styled)
			}
			term.keys("q")
			term.waitUntil(30*time.Second, "the shell after the console", func([]string) bool { return term.display("#{alternate_on}") == "0" })
		})
	}
}
