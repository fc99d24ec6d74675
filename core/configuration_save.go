package core

import (
	"context"
	"strconv"
	"strings"
)

// ConfigurationCatalog is what changing the configurations of services and
// templates, and the templates themselves, needs of the catalog.
type ConfigurationCatalog interface {
	SetConfiguration(ctx context.Context, c Configuration) error
	RemoveConfiguration(ctx context.Context, service, destination string) error
	Configurations(ctx context.Context, service string) ([]Configuration, error)
	AddTemplate(ctx context.Context, t *Template) error
	SetTemplateConfiguration(ctx context.Context, template string, c TemplateConfiguration) error
	RemoveTemplateConfiguration(ctx context.Context, template, destination string) error
	Template(ctx context.Context, name string) (Template, error)
	RemoveTemplate(ctx context.Context, name string) error
}

// ActionEditConfiguration: a configuration was to be added on a destination
// the service or template already has one on; change that one instead.
// Advice.Service is the service or template, Advice.Destination the
// destination, Advice.Detail "template" for a template.
const ActionEditConfiguration Action = "edit-configuration"

// ActionMovePrimary: the primary flag cannot be taken off a configuration;
// it moves when another configuration takes it. Advice.Service is the
// service or template, Advice.Detail "template" for a template.
const ActionMovePrimary Action = "move-primary"

// ConfigOwner is a service or a template: both hold a set of configurations
// under the same rules (one per destination, exactly one primary), so one
// set of use cases serves both.
type ConfigOwner struct {
	Template bool
	Name     string
}

// Kind is "service" or "template".
func (o ConfigOwner) Kind() string {
	if o.Template {
		return "template"
	}
	return "service"
}

func (o ConfigOwner) String() string { return o.Kind() + " " + o.Name }

func (o ConfigOwner) advice(a Action, destination string) Advice {
	ad := Advice{Action: a, Service: o.Name, Destination: destination}
	if o.Template {
		ad.Detail = "template"
	}
	return ad
}

// OwnerConfigurations lists o's configurations (a service's in the shape of
// a template's).
func OwnerConfigurations(ctx context.Context, cat ConfigurationCatalog, o ConfigOwner) ([]TemplateConfiguration, error) {
	if o.Template {
		t, err := cat.Template(ctx, o.Name)
		return t.Configurations, err
	}
	cfgs, err := cat.Configurations(ctx, o.Name)
	out := make([]TemplateConfiguration, len(cfgs))
	for i, x := range cfgs {
		out[i] = TemplateConfiguration{Destination: x.Destination, Frequency: x.Frequency, Schedule: x.Schedule,
			Retention: x.Retention, Primary: x.Primary, Drill: x.Drill}
	}
	return out, err
}

// FindConfiguration is the configuration on destination among cfgs.
func FindConfiguration(cfgs []TemplateConfiguration, destination string) (TemplateConfiguration, bool) {
	for _, c := range cfgs {
		if c.Destination == destination {
			return c, true
		}
	}
	return TemplateConfiguration{}, false
}

// ConfigurationRequest asks for the configuration of Owner on Destination
// to be created or changed.
type ConfigurationRequest struct {
	Owner       ConfigOwner
	Destination string
	// New refuses (ErrExists) a destination the owner already has a
	// configuration on: the person meant to add one.
	New bool
	// Change sets what the person gave on the configuration as it stands
	// (a new one starts at DefaultSchedule, everything else zero); its
	// errors are returned as they are.
	Change func(*TemplateConfiguration) error
	// AllowShortLock saves a retention that keeps a service's backups
	// longer than the lock of its destination (ActionAllowShortLock).
	AllowShortLock bool
}

// SetConfiguration creates or changes a configuration of a service or a
// template and returns it as saved. The primary flag moves to it when
// Change sets Primary; it cannot be taken off the primary (it moves when
// another configuration takes it). The command line's config set and
// template set, and the console's configuration form, all go through it.
func SetConfiguration(ctx context.Context, cat ConfigurationCatalog, req ConfigurationRequest) (TemplateConfiguration, error) {
	o := req.Owner
	cfgs, err := OwnerConfigurations(ctx, cat, o)
	if err != nil {
		return TemplateConfiguration{}, err
	}
	tc, found := FindConfiguration(cfgs, req.Destination)
	if found && req.New {
		return tc, settingErr("destination", Advise(o.advice(ActionEditConfiguration, req.Destination), ErrExists,
			"%s already has a configuration on %s (a destination appears once per %s)", o, req.Destination, o.Kind()))
	}
	if !found {
		tc = TemplateConfiguration{Destination: req.Destination, Schedule: DefaultSchedule}
	}
	wasPrimary := found && tc.Primary
	before := tc
	if req.Change != nil {
		if err := req.Change(&tc); err != nil {
			return tc, err
		}
	}
	tc.Destination = req.Destination
	if wasPrimary && !tc.Primary {
		return tc, settingErr("primary", Advise(o.advice(ActionMovePrimary, req.Destination), ErrInvalid,
			"%s always has exactly one primary destination", o))
	}
	// Only a retention that now keeps longer is checked: one accepted
	// before stays accepted.
	if !o.Template && !req.AllowShortLock && (!found || LongestKeep(tc.Retention, tc.Frequency) > LongestKeep(before.Retention, before.Frequency)) {
		if err := checkConfigurationLock(ctx, cat, o.Name, tc); err != nil {
			return tc, err
		}
	}
	if err := setOwnerConfiguration(ctx, cat, o, tc); err != nil {
		return tc, err
	}
	cfgs, err = OwnerConfigurations(ctx, cat, o)
	if saved, ok := FindConfiguration(cfgs, tc.Destination); err == nil && ok {
		tc = saved
	}
	return tc, nil
}

func setOwnerConfiguration(ctx context.Context, cat ConfigurationCatalog, o ConfigOwner, tc TemplateConfiguration) error {
	if o.Template {
		return cat.SetTemplateConfiguration(ctx, o.Name, tc)
	}
	return cat.SetConfiguration(ctx, Configuration{Service: o.Name, Destination: tc.Destination, Frequency: tc.Frequency,
		Schedule: tc.Schedule, Retention: tc.Retention, Primary: tc.Primary, Drill: tc.Drill})
}

// MakePrimary moves o's primary flag to its configuration on destination.
func MakePrimary(ctx context.Context, cat ConfigurationCatalog, o ConfigOwner, destination string) error {
	cfgs, err := OwnerConfigurations(ctx, cat, o)
	if err != nil {
		return err
	}
	tc, ok := FindConfiguration(cfgs, destination)
	if !ok {
		return Userf(ErrNotFound, "%s has no configuration on %s any more", o, destination)
	}
	tc.Primary = true
	return setOwnerConfiguration(ctx, cat, o, tc)
}

// RemoveConfiguration removes o's configuration on destination; the catalog
// refuses to remove the primary while others remain. A service's backups
// there stay in the history, marked orphaned; services made from a
// template keep their own configurations.
func RemoveConfiguration(ctx context.Context, cat ConfigurationCatalog, o ConfigOwner, destination string) error {
	if o.Template {
		return cat.RemoveTemplateConfiguration(ctx, o.Name, destination)
	}
	return cat.RemoveConfiguration(ctx, o.Name, destination)
}

// AddTemplate creates the template t, with a copy of the configurations of
// the service fromService when that is not empty, and sets t.ID and
// t.Configurations.
func AddTemplate(ctx context.Context, cat ConfigurationCatalog, t *Template, fromService string) error {
	if err := ValidateName("template", t.Name); err != nil {
		return settingErr("name", err)
	}
	if fromService != "" {
		cfgs, err := OwnerConfigurations(ctx, cat, ConfigOwner{Name: fromService})
		if err != nil {
			return err
		}
		t.Configurations = cfgs
	}
	return nameTaken(cat.AddTemplate(ctx, t))
}

// RemoveTemplate removes a template; services made from it keep their
// configurations.
func RemoveTemplate(ctx context.Context, cat ConfigurationCatalog, name string) error {
	return cat.RemoveTemplate(ctx, name)
}

// ScheduleInput is a schedule as a person types it; an empty value keeps
// what the schedule has.
type ScheduleInput struct {
	// Minute past the hour, 0 to 59 (hourly runs).
	Minute string
	// At is the time of day HH:MM (daily, weekly and monthly runs).
	At string
	// Weekday is the day of weekly runs: sun, monday, ...
	Weekday string
	// Day is the day of the month of monthly runs, 1 to 28.
	Day string
}

// Apply checks the values given and sets them on s. Its errors are
// *SettingError naming "minute", "at", "weekday" or "day".
func (in ScheduleInput) Apply(s *Schedule) error {
	if in.At != "" {
		h, m, err := ParseTimeOfDay(in.At)
		if err != nil {
			return settingErr("at", err)
		}
		s.Hour, s.Minute = h, m
	}
	if in.Minute != "" {
		n, err := strconv.Atoi(strings.TrimSpace(in.Minute))
		if err != nil || n < 0 || n > 59 {
			return settingErr("minute", Userf(ErrInvalid, "minute %q is not a number from 0 to 59", in.Minute))
		}
		s.Minute = n
	}
	if in.Weekday != "" {
		d, err := ParseWeekday(in.Weekday)
		if err != nil {
			return settingErr("weekday", err)
		}
		s.Weekday = d
	}
	if in.Day != "" {
		n, err := strconv.Atoi(strings.TrimSpace(in.Day))
		if err != nil {
			return settingErr("day", Userf(ErrInvalid, "day of the month %q is not a number from 1 to 28", in.Day))
		}
		s.MonthDay = n
		if err := (Schedule{MonthDay: n}).Validate(); err != nil {
			return settingErr("day", err)
		}
	}
	return nil
}

// ParseRetention reads "24" (keep the last 24 scheduled backups), a GFS
// rule such as "7d,4w,2m" (ParseGFS), or nothing or "all" (keep all); a
// leading "keep" is allowed. RetentionInput writes it back.
func ParseRetention(s string) (Retention, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "keep"))
	if s == "" || s == "all" {
		return Retention{}, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return Retention{}, Userf(ErrInvalid, "keep %d is not a number of backups; give 1 or more, or leave it empty to keep all", n)
		}
		return Retention{KeepLast: n}, nil
	}
	g, err := ParseGFS(s)
	if err != nil {
		return Retention{}, err
	}
	return Retention{GFS: &g}, nil
}

// RetentionInput is r the way ParseRetention reads it back: "24", a GFS
// rule, or "" for keep all.
func RetentionInput(r Retention) string {
	switch {
	case r.GFS != nil && *r.GFS != (GFS{}):
		return r.GFS.String()
	case r.KeepLast > 0:
		return strconv.Itoa(r.KeepLast)
	}
	return ""
}
