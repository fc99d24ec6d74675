package tui

import (
	"context"
	"fmt"
	"strconv"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// reload reads the owner's screen again, and the home screen.
func reloadOwner(ctx *Context, o core.ConfigOwner) tea.Cmd {
	if o.Template {
		return loadTemplates(ctx)
	}
	return afterChange(ctx, loadService(ctx, o.Name))
}

// addConfig opens the form that gives the owner a configuration on one of
// the destinations it does not use yet.
func addConfig(ctx *Context, o core.ConfigOwner) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		c := context.Background()
		cfgs, err := core.OwnerConfigurations(c, cat, o)
		if err != nil {
			return statusMsg{err: true, text: "cannot read " + o.String() + ": " + userMessage(err)}
		}
		dests, err := cat.Destinations(c)
		if err != nil {
			return statusMsg{err: true, text: "cannot read the destinations: " + userMessage(err)}
		}
		var free []string
		for _, d := range dests {
			if _, used := core.FindConfiguration(cfgs, d.Name); !used {
				free = append(free, d.Name)
			}
		}
		if len(free) == 0 {
			return statusMsg{err: true, text: fmt.Sprintf("%s already uses every destination; add a destination first (2, then a)", o)}
		}
		return openMsg{newConfigForm(ctx, o, nil, free, len(cfgs) == 0, false)}
	}
}

// editConfig opens the form on the owner's configuration on destination.
func editConfig(ctx *Context, o core.ConfigOwner, destination string) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		cfgs, err := core.OwnerConfigurations(context.Background(), cat, o)
		if err != nil {
			return statusMsg{err: true, text: "cannot read " + o.String() + ": " + userMessage(err)}
		}
		tc, ok := core.FindConfiguration(cfgs, destination)
		if !ok {
			return statusMsg{err: true, text: fmt.Sprintf("%s has no configuration on %s any more", o, destination)}
		}
		hasPing := false
		if !o.Template {
			// The ping URL is a service's own, never shown: only whether
			// one is set.
			all, err := cat.Configurations(context.Background(), o.Name)
			if err != nil {
				return statusMsg{err: true, text: "cannot read " + o.String() + ": " + userMessage(err)}
			}
			for _, c := range all {
				hasPing = hasPing || (c.Destination == destination && c.PingURL.IsSet())
			}
		}
		return openMsg{newConfigForm(ctx, o, &tc, nil, false, hasPing)}
	}
}

// removeConfig asks, then removes the owner's configuration on destination;
// the catalog refuses to remove the primary while others remain.
func removeConfig(ctx *Context, o core.ConfigOwner, destination string) tea.Cmd {
	cat := ctx.Catalog
	detail := "Its backups there stay in the history, marked orphaned, and are never rotated."
	if o.Template {
		detail = "Services made from the template keep their own configurations."
	}
	return confirm(ctx, fmt.Sprintf("Remove the configuration of %s on %s?", o, destination), detail,
		func(c context.Context) error { return core.RemoveConfiguration(c, cat, o, destination) },
		fmt.Sprintf("✓ %s no longer backs up to %s", o, destination), reloadOwner(ctx, o))
}

// makePrimary moves the owner's primary flag to destination.
func makePrimary(ctx *Context, o core.ConfigOwner, destination string) tea.Cmd {
	cat := ctx.Catalog
	return catalogAction(func(c context.Context) error { return core.MakePrimary(c, cat, o, destination) },
		fmt.Sprintf("✓ %s is now the primary destination of %s", destination, o), reloadOwner(ctx, o))
}

var frequencies = []string{"hourly", "daily", "weekly", "monthly", "manual"}

var weekdays = func() []string {
	var out []string
	for d := time.Sunday; d <= time.Saturday; d++ {
		out = append(out, d.String())
	}
	return out
}()

func frequencyWord(f core.Frequency) string {
	if f == core.Manual {
		return "manual"
	}
	return string(f)
}

// newConfigForm adds (existing nil, on one of free) or edits a
// configuration; hasPing says a service's configuration has a ping URL.
func newConfigForm(ctx *Context, o core.ConfigOwner, existing *core.TemplateConfiguration, free []string, first, hasPing bool) *form {
	tc := core.TemplateConfiguration{Frequency: core.Daily, Schedule: core.DefaultSchedule, Primary: first}
	title := "Add a configuration to " + o.String()
	var dest *formField
	if existing != nil {
		tc = *existing
		title = fmt.Sprintf("Edit the configuration of %s on %s", o, tc.Destination)
		dest = newFixedField("destination", "Destination", tc.Destination)
	} else {
		dest = newChoiceField("destination", "Destination", free, "", "A destination this "+o.Kind()+" does not use yet.")
	}
	freq := newChoiceField("frequency", "Frequency", frequencies, frequencyWord(tc.Frequency),
		"How often it runs on its own; manual only runs when asked (b).")
	is := func(words ...string) func(*form) bool {
		return func(f *form) bool {
			v := f.value("frequency")
			for _, w := range words {
				if v == w {
					return true
				}
			}
			return false
		}
	}
	sc := tc.Schedule
	primaryHint := "The primary receives manual, safety and uploaded backups by default."
	if tc.Primary && existing != nil {
		primaryHint = "This is the primary; to move the flag, press p on another destination."
	}
	fields := []*formField{
		dest,
		freq,
		newTextField("minute", "Minute", strconv.Itoa(sc.Minute), "Minute past the hour, 0 to 59.").when(is("hourly")),
		newTextField("at", "At", fmt.Sprintf("%02d:%02d", sc.Hour, sc.Minute), "Time of day HH:MM, local time.").when(is("daily", "weekly", "monthly")),
		newChoiceField("weekday", "Weekday", weekdays, sc.Weekday.String(), "Day of the week of weekly runs.").when(is("weekly")),
		newTextField("day", "Day of month", strconv.Itoa(sc.MonthDay), "Day of the month of monthly runs, 1 to 28.").when(is("monthly")),
		newTextField("retention", "Retention", core.RetentionInput(tc.Retention),
			"Keep the last N scheduled backups (e.g. 24), or a GFS rule such as 7d,4w,2m; empty keeps all.").placeholder("keep all"),
		newCheckField("primary", "Primary", tc.Primary, primaryHint),
	}
	if !o.Template {
		pingHint := "A healthchecks.io / Uptime Kuma style URL, pinged when a scheduled backup starts, succeeds and fails; typed as dots, stored encrypted, never shown."
		if hasPing {
			fields = append(fields,
				newSecretField("ping_url", "Ping URL", "unchanged", "Leave empty to keep the current ping URL; type a new one to replace it. "+pingHint),
				newCheckField("no_ping", "No ping", false, "Stop pinging: the ping URL is forgotten."))
		} else {
			fields = append(fields, newSecretField("ping_url", "Ping URL", "none", pingHint))
		}
	}
	f := newForm(ctx, title, fields...)
	f.submit = func(f *form) tea.Cmd { return submitConfig(ctx, f, o, existing, tc) }
	return f
}

func submitConfig(ctx *Context, f *form, o core.ConfigOwner, existing *core.TemplateConfiguration, tc core.TemplateConfiguration) tea.Cmd {
	tc.Destination = f.value("destination")
	var in core.ScheduleInput
	freq, err := core.ParseFrequency(f.value("frequency"))
	if err != nil {
		return f.fail("frequency", err)
	}
	switch freq {
	case core.Hourly:
		in.Minute = f.value("minute")
	case core.Daily, core.Weekly, core.Monthly:
		in.At = f.value("at")
	}
	if freq == core.Weekly {
		in.Weekday = f.value("weekday")
	}
	if freq == core.Monthly {
		in.Day = f.value("day")
	}
	// What was typed is read here, at once, on the form's configuration;
	// the use case applies it again to the configuration as it stands, in
	// the job's goroutine, which must not touch the form the screen draws.
	retention, primary := f.value("retention"), f.checked("primary")
	change := func(c *core.TemplateConfiguration) error {
		c.Frequency = freq
		if err := in.Apply(&c.Schedule); err != nil {
			return err
		}
		ret, err := core.ParseRetention(retention)
		if err != nil {
			return &core.SettingError{Setting: "retention", Err: err}
		}
		c.Retention = ret
		c.Primary = primary
		return nil
	}
	check := tc
	if err := change(&check); err != nil {
		return f.fail(core.SettingOf(err), err)
	}
	ping, noPing := core.Secret(f.value("ping_url")), f.checked("no_ping")
	if err := core.CheckPingURL(ping); err != nil {
		return f.fail("ping_url", err)
	}
	cat := ctx.Catalog
	return func() tea.Msg {
		res := formResultMsg{form: f}
		saved, err := core.SetConfiguration(context.Background(), cat, core.ConfigurationRequest{
			Owner: o, Destination: tc.Destination, New: existing == nil, Change: change})
		if err == nil && (noPing || ping.IsSet()) {
			if noPing {
				ping = ""
			}
			err = core.SetPingURL(context.Background(), cat, o.Name, tc.Destination, ping)
		}
		if err != nil {
			res.Field, res.Err = core.SettingOf(err), err
			return res
		}
		res.Status = fmt.Sprintf("✓ %s → %s: %s, %s", o, saved.Destination, saved.Schedule.Describe(saved.Frequency), saved.Retention)
		if saved.Primary {
			res.Status += ", primary"
		}
		switch {
		case noPing:
			res.Status += ", ping URL removed"
		case ping.IsSet():
			res.Status += ", ping URL set"
		}
		res.After = reloadOwner(ctx, o)
		return res
	}
}
