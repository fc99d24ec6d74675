package tui

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/notifier"
	"github.com/odoo-backup/odoo-backup/core/notify"
)

// NotifyLoadedMsg carries the notification channels and the newest
// deliveries.
type NotifyLoadedMsg struct {
	Channels   []core.NotifyChannel
	Deliveries []core.Delivery
	Err        error
}

// notifyScreen lists the notification channels (key 5): where each goes
// (never its URL), its events and digest, and what was sent lately.
type notifyScreen struct {
	ctx        *Context
	rows       []core.NotifyChannel
	deliveries []core.Delivery
	cursor     int
	loaded     bool
	err        error
}

func newNotifyScreen(ctx *Context) *notifyScreen { return &notifyScreen{ctx: ctx} }

func (s *notifyScreen) Title() string   { return "Notifications" }
func (s *notifyScreen) Reload() tea.Cmd { return loadNotify(s.ctx) }

// recentDeliveries is how many deliveries the screen shows.
const recentDeliveries = 8

func loadNotify(ctx *Context) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		c := context.Background()
		var msg NotifyLoadedMsg
		if msg.Channels, msg.Err = cat.NotifyChannels(c); msg.Err != nil {
			return msg
		}
		msg.Deliveries, msg.Err = cat.Deliveries(c, recentDeliveries)
		return msg
	}
}

func (s *notifyScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case NotifyLoadedMsg:
		s.loaded, s.err = true, msg.Err
		if msg.Err == nil {
			s.rows, s.deliveries = msg.Channels, msg.Deliveries
		}
		s.cursor = min(s.cursor, max(len(s.rows)-1, 0))
	case JobDoneMsg:
		if strings.HasPrefix(msg.Label, "testing channel ") {
			return loadNotify(s.ctx)
		}
	case tea.KeyMsg:
		cmd, _ := s.ctx.press(s.keys(), msg)
		return cmd
	}
	return nil
}

func (s *notifyScreen) selected() (core.NotifyChannel, bool) {
	if !s.loaded || s.cursor < 0 || s.cursor >= len(s.rows) {
		return core.NotifyChannel{}, false
	}
	return s.rows[s.cursor], true
}

func (s *notifyScreen) keys() keyTable {
	k := s.ctx.Keys
	moves := k.moves(len(s.rows), func(d int) tea.Cmd {
		s.cursor = clampCursor(s.cursor, d, len(s.rows))
		return nil
	})
	onChannel := func(run func(ch core.NotifyChannel) tea.Cmd) func() tea.Cmd {
		return func() tea.Cmd {
			ch, _ := s.selected()
			return run(ch)
		}
	}
	none := func() string {
		if _, ok := s.selected(); !ok {
			return "no channel selected"
		}
		return ""
	}
	add := action{key: k.Add, changes: "adding a notification channel", run: func() tea.Cmd { return openDialog(newChannelForm(s.ctx, nil)) }}
	edit := action{key: k.Edit, changes: "editing a notification channel", disabled: none,
		run: onChannel(func(ch core.NotifyChannel) tea.Cmd { return openDialog(newChannelForm(s.ctx, &ch)) })}
	test := action{key: k.TestChannel, role: core.RoleOperator, disabled: none, run: onChannel(func(ch core.NotifyChannel) tea.Cmd { return testChannel(s.ctx, ch) })}
	remove := action{key: k.Remove, changes: "removing a notification channel", disabled: none,
		run: onChannel(func(ch core.NotifyChannel) tea.Cmd { return removeChannel(s.ctx, ch.Name) })}
	return keyTable{
		groups: [][]action{moves, {add, edit, test, remove, globalKey(k.Back)}},
		footer: []action{add, edit, test, remove, globalKey(k.Back), globalKey(k.Help), globalKey(k.Quit)},
	}
}

func (s *notifyScreen) View() string {
	t := s.ctx.Theme
	var b strings.Builder
	b.WriteString(t.Title.Render("Notifications") + "\n")
	switch {
	case s.err != nil || !s.loaded:
		b.WriteString(s.ctx.notReady(s.err, s.loaded))
	case len(s.rows) == 0:
		b.WriteString("No notification channel yet: press a to add one (email, a chat service, a webhook).\n")
	default:
		tbl := newTable(s.ctx.innerWidth()-2,
			column{title: "NAME", min: 8, max: 16},
			column{title: "GOES TO", min: 16, max: 36},
			column{title: "EVENTS", min: 10, max: 60},
			column{title: "DIGEST", min: 6, max: 6})
		b.WriteString(t.Muted.Render("  "+tbl.header()) + "\n")
		for i, ch := range s.rows {
			line := tbl.row(ch.Name, channelTarget(ch), ch.EventsText(), orDash(ch.Digest))
			cur := "  "
			if i == s.cursor {
				cur, line = "▸ ", t.Selected.Render(line)
			}
			b.WriteString(cur + line + "\n")
		}
	}
	if s.loaded && s.err == nil {
		b.WriteString("\n" + t.Title.Render("Sent lately") + "\n")
		if len(s.deliveries) == 0 {
			b.WriteString(t.Muted.Render("nothing yet") + "\n")
		}
		w := s.ctx.innerWidth() - 2
		for _, d := range s.deliveries {
			mark := "✓"
			switch d.Status {
			case core.DeliveryFailed:
				mark = "✗"
			case core.DeliveryDropped:
				mark = "–"
			}
			line := fmt.Sprintf("%s %s %s %s: %s", mark, d.At.Local().Format("01-02 15:04"), d.Channel, d.Status, d.Subject)
			if d.Error != "" {
				line += " — " + d.Error
			}
			line = fit(line, w)
			if d.Status == core.DeliveryFailed {
				line = t.Error.Render(line)
			}
			b.WriteString("  " + line + "\n")
		}
	}
	return t.Box.Width(s.ctx.Width - 2).Height(s.ctx.bodyHeight() - 2).Render(strings.TrimRight(b.String(), "\n"))
}

// channelTarget says where a channel goes without its credentials.
func channelTarget(ch core.NotifyChannel) string {
	if ref := ch.URL.Ref(); ref != "" {
		return "URL from " + ref
	}
	if _, bad := ch.URL.Unreadable(); bad {
		return "(URL hidden)"
	}
	u, err := url.Parse(ch.URL.Reveal())
	if err != nil || u.Scheme == "" {
		return "(URL not readable)"
	}
	return notify.Redact(u)
}

// testChannel sends a test message to the channel now, as a job of this
// console.
func testChannel(ctx *Context, ch core.NotifyChannel) tea.Cmd {
	cat := ctx.Catalog
	return startJob(JobSpec{
		Label: "testing channel " + ch.Name,
		Run: func(jctx context.Context, progress core.ProgressFunc) (string, error) {
			progress(core.Progress{Phase: "send a test message"})
			d := notifier.New(notifier.Options{Catalog: cat}).Test(jctx, ch)
			if d.Status != core.DeliverySent {
				return "", core.Userf(core.ErrInvalid, "the test message to channel %s was not delivered after %d tries: %s", ch.Name, d.Tries, d.Error)
			}
			return fmt.Sprintf("✓ test message sent to channel %s (%s)", ch.Name, channelTarget(ch)), nil
		},
	})
}

// removeChannel asks, then removes a channel; what was sent to it stays in
// the log.
func removeChannel(ctx *Context, name string) tea.Cmd {
	cat := ctx.Catalog
	return confirm(ctx, "Remove notification channel "+name+"?", "It is told nothing more; what was sent to it stays in the log.",
		func(c context.Context) error { return cat.DeleteNotifyChannel(c, name) },
		"✓ notification channel "+name+" removed", loadNotify(ctx))
}

// newChannelForm adds (existing nil) or edits a channel; its URL is typed
// as dots, kept unless a new one is typed, and never shown.
func newChannelForm(ctx *Context, existing *core.NotifyChannel) *form {
	title := "Add a notification channel"
	name := newTextField("name", "Name", "", "Letters, digits, '.', '_' or '-'.")
	urlField := newSecretField("url", "URL", "none",
		"smtp://user:password@host:587/?from=…&to=…, a chat service's URL (slack://, teams://, telegram://, discord://, ntfy://) or a webhook https://…; typed as dots, stored encrypted, never shown.")
	events, digest := "", ""
	if existing != nil {
		title = "Edit notification channel " + existing.Name
		name = newFixedField("name", "Name", existing.Name)
		urlField = newSecretField("url", "URL", "unchanged", "Leave empty to keep the current URL; type a new one to replace it.")
		if len(existing.Events) > 0 {
			events = existing.EventsText()
		}
		digest = existing.Digest
	}
	names := make([]string, len(core.NotifyEvents))
	for i, e := range core.NotifyEvents {
		names[i] = string(e)
	}
	f := newForm(ctx, title,
		name,
		urlField,
		newTextField("events", "Events", events, "Comma-separated: "+strings.Join(names, ", ")+"; empty for every event.").placeholder("all"),
		newTextField("digest", "Digest", digest, "A daily summary of every service at this local time, HH:MM; empty for none.").placeholder("none"),
	)
	f.submit = func(f *form) tea.Cmd { return submitChannel(ctx, f, existing) }
	return f
}

func submitChannel(ctx *Context, f *form, existing *core.NotifyChannel) tea.Cmd {
	ch := core.NotifyChannel{Name: f.value("name")}
	if existing != nil {
		ch = *existing
	}
	if u := f.value("url"); u != "" || existing == nil {
		ch.URL = core.Secret(strings.TrimSpace(u))
	}
	evs, err := core.ParseNotifyEvents(f.value("events"))
	if err != nil {
		return f.fail("events", err)
	}
	ch.Events, ch.Digest = evs, strings.TrimSpace(f.value("digest"))
	if err := core.ValidateNotifyChannel(ch); err != nil {
		return f.fail(core.SettingOf(err), err)
	}
	cat := ctx.Catalog
	return func() tea.Msg {
		res := formResultMsg{form: f}
		if res.Err = core.SaveNotifyChannel(context.Background(), cat, &ch, existing != nil); res.Err != nil {
			res.Field = core.SettingOf(res.Err)
			return res
		}
		verb := "added"
		if existing != nil {
			verb = "saved"
		}
		res.Status = fmt.Sprintf("✓ notification channel %s %s (%s, events %s)", ch.Name, verb, channelTarget(ch), ch.EventsText())
		res.After = loadNotify(ctx)
		return res
	}
}
