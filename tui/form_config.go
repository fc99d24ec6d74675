package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// configOwner is a service or a template: both hold a set of
// configurations under the same rules (one per destination, exactly one
// primary), so one form and one set of actions serve both.
type configOwner struct {
	template bool
	name     string
}

func (o configOwner) String() string {
	if o.template {
		return "template " + o.name
	}
	return "service " + o.name
}

func (o configOwner) configurations(c context.Context, cat core.Catalog) ([]core.TemplateConfiguration, error) {
	if o.template {
		t, err := cat.Template(c, o.name)
		return t.Configurations, err
	}
	cfgs, err := cat.Configurations(c, o.name)
	out := make([]core.TemplateConfiguration, len(cfgs))
	for i, x := range cfgs {
		out[i] = core.TemplateConfiguration{Destination: x.Destination, Frequency: x.Frequency, Schedule: x.Schedule,
			Retention: x.Retention, Primary: x.Primary, Drill: x.Drill}
	}
	return out, err
}

func (o configOwner) set(c context.Context, cat core.Catalog, tc core.TemplateConfiguration) error {
	if o.template {
		return cat.SetTemplateConfiguration(c, o.name, tc)
	}
	return cat.SetConfiguration(c, core.Configuration{Service: o.name, Destination: tc.Destination, Frequency: tc.Frequency,
		Schedule: tc.Schedule, Retention: tc.Retention, Primary: tc.Primary, Drill: tc.Drill})
}

func (o configOwner) remove(c context.Context, cat core.Catalog, destination string) error {
	if o.template {
		return cat.RemoveTemplateConfiguration(c, o.name, destination)
	}
	return cat.RemoveConfiguration(c, o.name, destination)
}

// reload reads the owner's screen again, and the home screen.
func (o configOwner) reload(ctx *Context) tea.Cmd {
	if o.template {
		return loadTemplates(ctx)
	}
	return afterChange(ctx, loadService(ctx, o.name))
}

func findConfig(cfgs []core.TemplateConfiguration, destination string) (core.TemplateConfiguration, bool) {
	for _, c := range cfgs {
		if c.Destination == destination {
			return c, true
		}
	}
	return core.TemplateConfiguration{}, false
}

// addConfig opens the form that gives the owner a configuration on one of
// the destinations it does not use yet.
func addConfig(ctx *Context, o configOwner) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		c := context.Background()
		cfgs, err := o.configurations(c, cat)
		if err != nil {
			return statusMsg{err: true, text: "cannot read " + o.String() + ": " + userMessage(err)}
		}
		dests, err := cat.Destinations(c)
		if err != nil {
			return statusMsg{err: true, text: "cannot read the destinations: " + userMessage(err)}
		}
		var free []string
		for _, d := range dests {
			if _, used := findConfig(cfgs, d.Name); !used {
				free = append(free, d.Name)
			}
		}
		if len(free) == 0 {
			return statusMsg{err: true, text: fmt.Sprintf("%s already uses every destination; add a destination first (2, then a)", o)}
		}
		return openMsg{newConfigForm(ctx, o, nil, free, len(cfgs) == 0)}
	}
}

// editConfig opens the form on the owner's configuration on destination.
func editConfig(ctx *Context, o configOwner, destination string) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		cfgs, err := o.configurations(context.Background(), cat)
		if err != nil {
			return statusMsg{err: true, text: "cannot read " + o.String() + ": " + userMessage(err)}
		}
		tc, ok := findConfig(cfgs, destination)
		if !ok {
			return statusMsg{err: true, text: fmt.Sprintf("%s has no configuration on %s any more", o, destination)}
		}
		return openMsg{newConfigForm(ctx, o, &tc, nil, false)}
	}
}

// removeConfig asks, then removes the owner's configuration on destination;
// the catalog refuses to remove the primary while others remain.
func removeConfig(ctx *Context, o configOwner, destination string) tea.Cmd {
	cat := ctx.Catalog
	detail := "Its backups there stay in the history, marked orphaned, and are never rotated."
	if o.template {
		detail = "Services made from the template keep their own configurations."
	}
	return confirm(ctx, fmt.Sprintf("Remove the configuration of %s on %s?", o, destination), detail,
		func(c context.Context) error { return o.remove(c, cat, destination) },
		fmt.Sprintf("✓ %s no longer backs up to %s", o, destination), o.reload(ctx))
}

// makePrimary moves the owner's primary flag to destination.
func makePrimary(ctx *Context, o configOwner, destination string) tea.Cmd {
	cat := ctx.Catalog
	return catalogAction(func(c context.Context) error {
		cfgs, err := o.configurations(c, cat)
		if err != nil {
			return err
		}
		tc, ok := findConfig(cfgs, destination)
		if !ok {
			return core.Userf(core.ErrNotFound, "%s has no configuration on %s any more", o, destination)
		}
		tc.Primary = true
		return o.set(c, cat, tc)
	}, fmt.Sprintf("✓ %s is now the primary destination of %s", destination, o), o.reload(ctx))
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

// retentionText is a retention the way parseRetention reads it back.
func retentionText(r core.Retention) string {
	switch {
	case r.GFS != nil && *r.GFS != (core.GFS{}):
		return r.GFS.String()
	case r.KeepLast > 0:
		return strconv.Itoa(r.KeepLast)
	}
	return ""
}

// parseRetention reads "24" (keep the last 24), a GFS rule such as
// "7d,4w,2m" (core's parser), or nothing (keep all).
func parseRetention(s string) (core.Retention, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "keep"))
	if s == "" || s == "all" {
		return core.Retention{}, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return core.Retention{}, core.Userf(core.ErrInvalid, "keep %d is not a number of backups; give 1 or more, or leave it empty to keep all", n)
		}
		return core.Retention{KeepLast: n}, nil
	}
	g, err := core.ParseGFS(s)
	if err != nil {
		return core.Retention{}, err
	}
	return core.Retention{GFS: &g}, nil
}

// newConfigForm adds (existing nil, on one of free) or edits a configuration.
func newConfigForm(ctx *Context, o configOwner, existing *core.TemplateConfiguration, free []string, first bool) *form {
	tc := core.TemplateConfiguration{Frequency: core.Daily, Schedule: core.DefaultSchedule, Primary: first}
	title := "Add a configuration to " + o.String()
	var dest *formField
	if existing != nil {
		tc = *existing
		title = fmt.Sprintf("Edit the configuration of %s on %s", o, tc.Destination)
		dest = newFixedField("destination", "Destination", tc.Destination)
	} else {
		dest = newChoiceField("destination", "Destination", free, "", "A destination this "+map[bool]string{true: "template", false: "service"}[o.template]+" does not use yet.")
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
	f := newForm(ctx, title,
		dest,
		freq,
		newTextField("minute", "Minute", strconv.Itoa(sc.Minute), "Minute past the hour, 0 to 59.").when(is("hourly")),
		newTextField("at", "At", fmt.Sprintf("%02d:%02d", sc.Hour, sc.Minute), "Time of day HH:MM, local time.").when(is("daily", "weekly", "monthly")),
		newChoiceField("weekday", "Weekday", weekdays, sc.Weekday.String(), "Day of the week of weekly runs.").when(is("weekly")),
		newTextField("day", "Day of month", strconv.Itoa(sc.MonthDay), "Day of the month of monthly runs, 1 to 28.").when(is("monthly")),
		newTextField("retention", "Retention", retentionText(tc.Retention),
			"Keep the last N scheduled backups (e.g. 24), or a GFS rule such as 7d,4w,2m; empty keeps all.").placeholder("keep all"),
		newCheckField("primary", "Primary", tc.Primary, primaryHint),
	)
	f.submit = func(f *form) tea.Cmd { return submitConfig(ctx, f, o, existing, tc) }
	return f
}

func submitConfig(ctx *Context, f *form, o configOwner, existing *core.TemplateConfiguration, tc core.TemplateConfiguration) tea.Cmd {
	tc.Destination = f.value("destination")
	freq, err := core.ParseFrequency(f.value("frequency"))
	if err != nil {
		return f.fail("frequency", err)
	}
	tc.Frequency = freq
	switch freq {
	case core.Hourly:
		n, err := strconv.Atoi(f.value("minute"))
		if err != nil || n < 0 || n > 59 {
			return f.fail("minute", core.Userf(core.ErrInvalid, "minute %q is not a number from 0 to 59", f.value("minute")))
		}
		tc.Schedule.Minute = n
	case core.Daily, core.Weekly, core.Monthly:
		h, m, err := core.ParseTimeOfDay(f.value("at"))
		if err != nil {
			return f.fail("at", err)
		}
		tc.Schedule.Hour, tc.Schedule.Minute = h, m
	}
	if freq == core.Weekly {
		d, err := core.ParseWeekday(f.value("weekday"))
		if err != nil {
			return f.fail("weekday", err)
		}
		tc.Schedule.Weekday = d
	}
	if freq == core.Monthly {
		n, err := strconv.Atoi(f.value("day"))
		if err != nil {
			return f.fail("day", core.Userf(core.ErrInvalid, "day of the month %q is not a number from 1 to 28", f.value("day")))
		}
		if err := (core.Schedule{MonthDay: n}).Validate(); err != nil {
			return f.fail("day", err)
		}
		tc.Schedule.MonthDay = n
	}
	ret, err := parseRetention(f.value("retention"))
	if err != nil {
		return f.fail("retention", err)
	}
	tc.Retention = ret
	wasPrimary := existing != nil && existing.Primary
	tc.Primary = f.checked("primary")
	if wasPrimary && !tc.Primary {
		return f.fail("primary", core.Userf(core.ErrInvalid,
			"%s always has exactly one primary destination; to move the flag, press p on another of its destinations", o))
	}
	cat := ctx.Catalog
	return func() tea.Msg {
		c := context.Background()
		res := formResultMsg{form: f}
		if existing == nil {
			// The form offered only destinations not used yet; another
			// console or the command line may have used one since.
			cfgs, err := o.configurations(c, cat)
			if err != nil {
				res.Err = err
				return res
			}
			if _, used := findConfig(cfgs, tc.Destination); used {
				res.Field, res.Err = "destination", core.Userf(core.ErrExists,
					"%s already has a configuration on %s (a destination appears once per %s); edit that one instead (e)",
					o, tc.Destination, map[bool]string{true: "template", false: "service"}[o.template])
				return res
			}
		}
		if res.Err = o.set(c, cat, tc); res.Err != nil {
			return res
		}
		cfgs, err := o.configurations(c, cat)
		if saved, ok := findConfig(cfgs, tc.Destination); err == nil && ok {
			tc = saved
		}
		res.Status = fmt.Sprintf("✓ %s → %s: %s, %s", o, tc.Destination, tc.Schedule.Describe(tc.Frequency), tc.Retention)
		if tc.Primary {
			res.Status += ", primary"
		}
		res.After = o.reload(ctx)
		return res
	}
}
