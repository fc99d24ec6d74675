package tui

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// DestinationsLoadedMsg carries every destination and how many services use each.
type DestinationsLoadedMsg struct {
	Destinations []core.Destination
	// Users maps a destination to the services configured on it.
	Users map[string][]string
	Err   error
}

// destinationsScreen lists the storage destinations (key 2).
type destinationsScreen struct {
	ctx    *Context
	rows   []core.Destination
	users  map[string][]string
	cursor int
	// counts are the backups held per destination, counted for the
	// selected row only (the catalog lists them to count).
	counts   map[string]int
	counting string
	loaded   bool
	err      error
	// test is the connection test of this screen: which destination, its
	// job, and its outcome once done.
	test struct {
		name   string
		job    int
		done   bool
		result string
		failed bool
	}
}

func newDestinationsScreen(ctx *Context) *destinationsScreen {
	return &destinationsScreen{ctx: ctx, counts: map[string]int{}}
}

func (s *destinationsScreen) Title() string { return "Destinations" }

// Reload reads the list; the selected row's count is taken again once it
// is back (the one shown stays until then).
func (s *destinationsScreen) Reload() tea.Cmd { return loadDestinations(s.ctx) }

// BackupCountMsg is how many backups a destination holds: succeeded, not
// rotated or deleted.
type BackupCountMsg struct {
	Destination string
	N           int
	Err         error
}

// countSelected counts the selected destination's backups, unless known
// (again when fresh).
func (s *destinationsScreen) countSelected(fresh bool) tea.Cmd {
	d, ok := s.selected()
	if !ok || s.counting == d.Name {
		return nil
	}
	if _, known := s.counts[d.Name]; known && !fresh {
		return nil
	}
	s.counting = d.Name
	cat, name := s.ctx.Catalog, d.Name
	return func() tea.Msg {
		bs, err := cat.Backups(context.Background(), core.BackupFilter{Destination: name, Status: core.StatusSucceeded})
		return BackupCountMsg{Destination: name, N: len(bs), Err: err}
	}
}

func loadDestinations(ctx *Context) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		c := context.Background()
		msg := DestinationsLoadedMsg{Users: map[string][]string{}}
		msg.Destinations, msg.Err = cat.Destinations(c)
		if msg.Err != nil {
			return msg
		}
		svcs, err := cat.Services(c)
		if err != nil {
			msg.Err = err
			return msg
		}
		for _, sv := range svcs {
			cfgs, err := cat.Configurations(c, sv.Name)
			if err != nil {
				msg.Err = err
				return msg
			}
			for _, cf := range cfgs {
				msg.Users[cf.Destination] = append(msg.Users[cf.Destination], sv.Name)
			}
		}
		return msg
	}
}

func (s *destinationsScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case DestinationsLoadedMsg:
		s.loaded, s.err = true, msg.Err
		if msg.Err == nil {
			s.rows, s.users = msg.Destinations, msg.Users
		}
		s.cursor = min(s.cursor, max(len(s.rows)-1, 0))
		return s.countSelected(true)
	case BackupCountMsg:
		if s.counting == msg.Destination {
			s.counting = ""
		}
		if msg.Err == nil {
			s.counts[msg.Destination] = msg.N
		}
		return s.countSelected(false)
	case JobStartedMsg:
		if s.test.name != "" && msg.Label == testLabel(s.test.name) {
			s.test.job = msg.ID
		}
	case JobDoneMsg:
		if s.test.job == msg.ID && s.test.name != "" {
			s.test.done, s.test.failed, s.test.result = true, msg.Err != nil, msg.Summary
			if msg.Err != nil {
				s.test.result = userMessage(msg.Err)
			}
		}
	case tea.KeyMsg:
		cmd := s.key(msg)
		return tea.Batch(cmd, s.countSelected(false))
	}
	return nil
}

func (s *destinationsScreen) key(msg tea.KeyMsg) tea.Cmd {
	cmd, _ := s.ctx.press(s.keys(), msg)
	return cmd
}

// keys: all but a act on the selected destination.
func (s *destinationsScreen) keys() keyTable {
	k := s.ctx.Keys
	moves := k.moves(len(s.rows), func(d int) tea.Cmd {
		s.cursor = clampCursor(s.cursor, d, len(s.rows))
		return nil
	})
	onDest := func(run func(name string) tea.Cmd) func() tea.Cmd {
		return func() tea.Cmd {
			d, _ := s.selected()
			return run(d.Name)
		}
	}
	noDest := func() string {
		if _, ok := s.selected(); !ok {
			return "no destination selected"
		}
		return ""
	}
	add := action{key: k.Add, changes: "adding a destination", run: func() tea.Cmd { return addDestination(s.ctx) }}
	edit := action{key: k.Edit, changes: "editing a destination", disabled: noDest,
		run: onDest(func(n string) tea.Cmd { return editDestination(s.ctx, n) })}
	test := action{key: k.TestDest, role: core.RoleOperator, disabled: noDest, run: onDest(func(n string) tea.Cmd {
		s.test.name, s.test.job, s.test.done, s.test.result = n, 0, false, ""
		return testDestination(s.ctx, n)
	})}
	remove := action{key: k.Remove, changes: "removing a destination", disabled: noDest,
		run: onDest(func(n string) tea.Cmd { return removeDestination(s.ctx, n) })}
	return keyTable{
		groups: [][]action{moves, {add, edit, test, remove, globalKey(k.Back)}, {globalKey(k.Notifications)}},
		footer: []action{add, edit, test, remove, globalKey(k.Back), globalKey(k.Help), globalKey(k.Quit)},
	}
}

func (s *destinationsScreen) selected() (core.Destination, bool) {
	if !s.loaded || s.cursor < 0 || s.cursor >= len(s.rows) {
		return core.Destination{}, false
	}
	return s.rows[s.cursor], true
}

func (s *destinationsScreen) View() string {
	t := s.ctx.Theme
	var b strings.Builder
	b.WriteString(t.Title.Render("Destinations") + "\n")
	switch {
	case s.err != nil || !s.loaded:
		b.WriteString(s.ctx.notReady(s.err, s.loaded))
	case len(s.rows) == 0:
		b.WriteString("No destination yet: press a to add one.\n")
	default:
		tbl := newTable(s.ctx.innerWidth()-2,
			column{title: "NAME", min: 10, max: 16},
			column{title: "KIND", min: 5, max: 5},
			column{title: "WHERE", min: 16, max: 44},
			column{title: "LAYOUT", min: 6, max: 6, drop: 2},
			column{title: "ENCRYPTION", short: "ENCRYPT", min: 10, max: 18},
			column{title: "SSE", min: 7, max: 7, drop: 1},
			column{title: "USED BY", min: 10})
		b.WriteString(t.Muted.Render("  "+tbl.header()) + "\n")
		for i, d := range s.rows {
			line := tbl.row(d.Name, string(d.Kind), d.Describe(), string(d.StoredLayout()), encryptionShort(d), orDash(d.S3.SSE), s.usedBy(d.Name))
			cur := "  "
			if i == s.cursor {
				cur, line = "▸ ", t.Selected.Render(line)
			}
			b.WriteString(cur + line + "\n")
		}
		if d, ok := s.selected(); ok {
			b.WriteString("\n" + s.detailsView(d) + "\n")
		}
	}
	if s.test.name != "" {
		b.WriteString("\n" + s.testView() + "\n")
	}
	return t.Box.Width(s.ctx.Width - 2).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}

// testView is the outcome of the last connection test, whole (the status
// line may cut a long one).
func (s *destinationsScreen) testView() string {
	t := s.ctx.Theme
	w := s.ctx.Width - 6
	switch {
	case !s.test.done:
		return t.Status.Render(s.ctx.spin() + " testing " + s.test.name + ": writing, reading back and deleting a test object…")
	case s.test.failed:
		return t.Error.Width(w).Render("✗ test of " + s.test.name + " failed: " + s.test.result)
	}
	return t.Status.Width(w).Render("✓ " + s.test.result)
}

func (s *destinationsScreen) usedBy(name string) string {
	if used := strings.Join(s.users[name], ", "); used != "" {
		return used
	}
	return "—"
}

// encryptionShort is a destination's encryption for the list: "age → "
// and the start of the recipient, "passphrase", or "—".
func encryptionShort(d core.Destination) string {
	switch {
	case d.Encrypt.Passphrase.IsSet():
		return "passphrase"
	case d.Encrypt.Recipient != "":
		r := d.Encrypt.Recipient
		if len(r) > 10 {
			r = r[:10] + "…"
		}
		return "age → " + r
	}
	return "—"
}

// detailsView is the selected destination's settings (never a secret), the
// backups it holds and, when it encrypts, the lost-key warning.
func (s *destinationsScreen) detailsView(d core.Destination) string {
	t := s.ctx.Theme
	w := s.ctx.innerWidth()
	var lines []string
	field := func(label, value string) {
		lines = append(lines, strings.TrimRight(hang(t.Muted.Render(pad(label, 12)), value, w), "\n"))
	}
	lines = append(lines, t.Title.Render(d.Name))
	if d.Kind == core.DestinationLocal {
		field("directory", d.Local.Dir)
	} else {
		where := d.S3.Endpoint + " · bucket " + d.S3.Bucket
		if d.S3.Prefix != "" {
			where += " · prefix " + d.S3.Prefix
		}
		if d.S3.Region != "" {
			where += " · region " + d.S3.Region
		}
		field("s3", where)
		tls := "TLS on"
		if d.S3.NoTLS {
			tls = "TLS off (plain HTTP)"
		}
		if d.S3.CAFile != "" {
			tls += " · CA file " + d.S3.CAFile
		}
		secret := "no secret key"
		if d.S3.SecretKey.IsSet() {
			secret = "secret key set (never shown)"
		}
		field("access", orDash(d.S3.AccessKey)+" · "+secret+" · "+tls)
		sse := "—"
		switch d.S3.SSE {
		case "":
		case "SSE-KMS":
			sse = "SSE-KMS, key " + d.S3.SSEKMSKeyID
			if d.S3.SSEKMSKeyID == "" {
				sse = "SSE-KMS, the service's default key"
			}
		default:
			sse = d.S3.SSE
		}
		field("server-side", sse)
	}
	field("layout", core.DescribeLayout(d.StoredLayout()))
	enc := "none: archives are stored as they are"
	switch {
	case d.Encrypt.Passphrase.IsSet():
		enc = "age with a passphrase (stored encrypted, never shown)"
	case d.Encrypt.KeyFile != "":
		enc = "age to " + d.Encrypt.Recipient + " · key file on this host: " + d.Encrypt.KeyFile
	case d.Encrypt.Recipient != "":
		enc = "age to " + d.Encrypt.Recipient + " · its key is kept off this host"
	}
	field("encryption", enc)
	if d.Encrypted() && d.Encrypt.KeyNote != "" {
		field("key kept at", d.Encrypt.KeyNote)
	}
	if d.Limits.Upload > 0 || d.Limits.Download > 0 {
		field("bandwidth", "upload "+core.FormatRate(d.Limits.Upload)+" · download "+core.FormatRate(d.Limits.Download)+" (this host, all transfers together)")
	}
	if d.Lock.Enabled() {
		field("object lock", fmt.Sprintf("%s, %d days: what a backup writes cannot be deleted or changed before then", d.Lock.Mode, d.Lock.Days))
	}
	field("used by", s.usedBy(d.Name))
	n, known := s.counts[d.Name]
	count := s.ctx.spin() + " counting…"
	if known {
		count = fmt.Sprintf("%d succeeded (not rotated or deleted)", n)
	}
	field("backups", count)
	if d.Encrypted() {
		// Wrapped at spaces only, so the key file's path stays whole.
		for i, l := range wrapWords(encryptedWarning(keyToKeep(d)), w-2) {
			mark := "  "
			if i == 0 {
				mark = "! "
			}
			lines = append(lines, t.Error.Render(mark+l))
		}
	}
	return strings.Join(lines, "\n")
}

// wrapWords fills lines of at most w cells with the words of text, breaking
// at spaces only; a word longer than w has a line of its own.
func wrapWords(text string, w int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case lipglossWidth(line)+1+lipglossWidth(word) <= w:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
