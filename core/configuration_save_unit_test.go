package core

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// configCatalog keeps configurations of services and templates in memory
// under the catalog's primary rules: the first becomes primary, Primary
// moves the flag, and the flag never leaves otherwise.
type configCatalog struct {
	services  map[string][]TemplateConfiguration
	templates map[string][]TemplateConfiguration
}

func newConfigCatalog() *configCatalog {
	return &configCatalog{services: map[string][]TemplateConfiguration{"prod": nil}, templates: map[string][]TemplateConfiguration{}}
}

func setIn(list []TemplateConfiguration, c TemplateConfiguration) []TemplateConfiguration {
	at := -1
	for i := range list {
		if list[i].Destination == c.Destination {
			at = i
		}
	}
	switch {
	case len(list) == 0:
		c.Primary = true
	case at >= 0 && list[at].Primary:
		c.Primary = true
	}
	if c.Primary {
		for i := range list {
			list[i].Primary = false
		}
	}
	if at >= 0 {
		list[at] = c
		return list
	}
	return append(list, c)
}

func (c *configCatalog) SetConfiguration(_ context.Context, x Configuration) error {
	if _, ok := c.services[x.Service]; !ok {
		return Userf(ErrNotFound, "no service %q", x.Service)
	}
	c.services[x.Service] = setIn(c.services[x.Service], TemplateConfiguration{Destination: x.Destination, Frequency: x.Frequency,
		Schedule: x.Schedule, Retention: x.Retention, Primary: x.Primary, Drill: x.Drill})
	return nil
}

func (c *configCatalog) RemoveConfiguration(_ context.Context, service, destination string) error {
	c.services[service] = withoutDestination(c.services[service], destination)
	return nil
}

func (c *configCatalog) Configurations(_ context.Context, service string) ([]Configuration, error) {
	list, ok := c.services[service]
	if !ok {
		return nil, Userf(ErrNotFound, "no service %q", service)
	}
	var out []Configuration
	for _, x := range list {
		out = append(out, Configuration{Service: service, Destination: x.Destination, Frequency: x.Frequency, Schedule: x.Schedule,
			Retention: x.Retention, Primary: x.Primary, Drill: x.Drill})
	}
	return out, nil
}

func (c *configCatalog) AddTemplate(_ context.Context, t *Template) error {
	if _, ok := c.templates[t.Name]; ok {
		return Userf(ErrExists, "template %q already exists", t.Name)
	}
	c.templates[t.Name] = append([]TemplateConfiguration(nil), t.Configurations...)
	t.ID = int64(len(c.templates))
	return nil
}

func (c *configCatalog) SetTemplateConfiguration(_ context.Context, template string, x TemplateConfiguration) error {
	if _, ok := c.templates[template]; !ok {
		return Userf(ErrNotFound, "no template %q", template)
	}
	c.templates[template] = setIn(c.templates[template], x)
	return nil
}

func (c *configCatalog) RemoveTemplateConfiguration(_ context.Context, template, destination string) error {
	c.templates[template] = withoutDestination(c.templates[template], destination)
	return nil
}

func (c *configCatalog) Template(_ context.Context, name string) (Template, error) {
	list, ok := c.templates[name]
	if !ok {
		return Template{}, Userf(ErrNotFound, "no template %q", name)
	}
	return Template{Name: name, Configurations: list}, nil
}

func (c *configCatalog) RemoveTemplate(_ context.Context, name string) error {
	delete(c.templates, name)
	return nil
}

func keep(n int) func(*TemplateConfiguration) error {
	return func(c *TemplateConfiguration) error { c.Retention = Retention{KeepLast: n}; return nil }
}

func TestSetConfigurationOfAServiceAndATemplate(t *testing.T) {
	ctx := context.Background()
	cat := newConfigCatalog()
	cat.templates["standard"] = nil
	for _, o := range []ConfigOwner{{Name: "prod"}, {Template: true, Name: "standard"}} {
		t.Run(o.String(), func(t *testing.T) {
			// A new configuration starts at the default schedule; the first is primary.
			got, err := SetConfiguration(ctx, cat, ConfigurationRequest{Owner: o, Destination: "a", New: true, Change: keep(3)})
			if err != nil {
				t.Fatal(err)
			}
			want := TemplateConfiguration{Destination: "a", Schedule: DefaultSchedule, Retention: Retention{KeepLast: 3}, Primary: true}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("saved %+v, want %+v", got, want)
			}
			// Adding it again is refused, pointing at the destination and
			// advising to change the one there.
			_, err = SetConfiguration(ctx, cat, ConfigurationRequest{Owner: o, Destination: "a", New: true, Change: keep(5)})
			a, _ := AdviceOf(err)
			if !errors.Is(err, ErrExists) || SettingOf(err) != "destination" || a.Action != ActionEditConfiguration || a.Service != o.Name || a.Destination != "a" ||
				(a.Detail == "template") != o.Template {
				t.Errorf("adding a again: got %v (setting %q, advice %+v), want ErrExists on destination advising to edit it", err, SettingOf(err), a)
			}
			// Changing keeps what the change leaves alone.
			got, err = SetConfiguration(ctx, cat, ConfigurationRequest{Owner: o, Destination: "a", Change: func(c *TemplateConfiguration) error {
				c.Frequency = Hourly
				return nil
			}})
			if err != nil || got.Frequency != Hourly || got.Retention.KeepLast != 3 || !got.Primary {
				t.Errorf("change: got %+v, %v; want hourly, keep 3, still primary", got, err)
			}
			// The flag cannot be taken off; it moves to another.
			_, err = SetConfiguration(ctx, cat, ConfigurationRequest{Owner: o, Destination: "a", Change: func(c *TemplateConfiguration) error {
				c.Primary = false
				return nil
			}})
			if a, _ := AdviceOf(err); !errors.Is(err, ErrInvalid) || SettingOf(err) != "primary" || a.Action != ActionMovePrimary {
				t.Errorf("unsetting the primary: got %v, want ErrInvalid on primary advising to move it", err)
			}
			if _, err := SetConfiguration(ctx, cat, ConfigurationRequest{Owner: o, Destination: "b", Change: keep(1)}); err != nil {
				t.Fatal(err)
			}
			if err := MakePrimary(ctx, cat, o, "b"); err != nil {
				t.Fatal(err)
			}
			cfgs, err := OwnerConfigurations(ctx, cat, o)
			if b, _ := FindConfiguration(cfgs, "b"); err != nil || !b.Primary {
				t.Errorf("after MakePrimary(b): %+v, %v; want b primary", cfgs, err)
			}
			if err := MakePrimary(ctx, cat, o, "nosuch"); !errors.Is(err, ErrNotFound) {
				t.Errorf("MakePrimary on no configuration: got %v, want ErrNotFound", err)
			}
			if err := RemoveConfiguration(ctx, cat, o, "a"); err != nil {
				t.Fatal(err)
			}
			if cfgs, _ := OwnerConfigurations(ctx, cat, o); len(cfgs) != 1 || cfgs[0].Destination != "b" {
				t.Errorf("after removing a: %+v, want b alone", cfgs)
			}
		})
	}
}

func TestSetConfigurationReturnsTheChangesError(t *testing.T) {
	cat := newConfigCatalog()
	bad := &SettingError{Setting: "retention", Err: Userf(ErrInvalid, "no")}
	_, err := SetConfiguration(context.Background(), cat, ConfigurationRequest{Owner: ConfigOwner{Name: "prod"}, Destination: "a",
		Change: func(*TemplateConfiguration) error { return bad }})
	if err != bad || len(cat.services["prod"]) != 0 {
		t.Errorf("got %v with %d configurations saved, want the change's error and nothing saved", err, len(cat.services["prod"]))
	}
}

func TestAddTemplateFromAService(t *testing.T) {
	ctx := context.Background()
	cat := newConfigCatalog()
	cat.services["prod"] = []TemplateConfiguration{{Destination: "a", Frequency: Daily, Schedule: DefaultSchedule, Primary: true}, {Destination: "b", Frequency: Hourly}}
	tp := Template{Name: "copy"}
	if err := AddTemplate(ctx, cat, &tp, "prod"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cat.templates["copy"], cat.services["prod"]) {
		t.Errorf("template has %+v, want prod's %+v", cat.templates["copy"], cat.services["prod"])
	}
	if err := AddTemplate(ctx, cat, &Template{Name: "copy"}, ""); !errors.Is(err, ErrExists) || SettingOf(err) != "name" {
		t.Errorf("a taken name: got %v, want ErrExists on name", err)
	}
	if err := AddTemplate(ctx, cat, &Template{Name: "bad name"}, ""); !errors.Is(err, ErrInvalid) || SettingOf(err) != "name" {
		t.Errorf("a bad name: got %v, want ErrInvalid on name", err)
	}
	if err := AddTemplate(ctx, cat, &Template{Name: "x"}, "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("from an unknown service: got %v, want ErrNotFound", err)
	}
	if err := RemoveTemplate(ctx, cat, "copy"); err != nil || cat.templates["copy"] != nil {
		t.Errorf("remove: %v, left %+v", err, cat.templates["copy"])
	}
}

func TestScheduleInput(t *testing.T) {
	start := Schedule{Hour: 1, Minute: 0, Weekday: time.Sunday, MonthDay: 1}
	for _, tc := range []struct {
		in      ScheduleInput
		want    Schedule
		setting string
	}{
		{ScheduleInput{}, start, ""},
		{ScheduleInput{Minute: "15"}, Schedule{Hour: 1, Minute: 15, MonthDay: 1}, ""},
		{ScheduleInput{At: "02:30", Weekday: "mon"}, Schedule{Hour: 2, Minute: 30, Weekday: time.Monday, MonthDay: 1}, ""},
		{ScheduleInput{At: "03:00", Minute: "5"}, Schedule{Hour: 3, Minute: 5, MonthDay: 1}, ""},
		{ScheduleInput{Day: "28"}, Schedule{Hour: 1, MonthDay: 28}, ""},
		{ScheduleInput{Minute: "60"}, start, "minute"},
		{ScheduleInput{Minute: "x"}, start, "minute"},
		{ScheduleInput{At: "25:00"}, start, "at"},
		{ScheduleInput{Weekday: "someday"}, start, "weekday"},
		{ScheduleInput{Day: "31"}, start, "day"},
		{ScheduleInput{Day: "first"}, start, "day"},
	} {
		s := start
		err := tc.in.Apply(&s)
		if got := SettingOf(err); got != tc.setting || (err == nil) != (tc.setting == "") {
			t.Errorf("%+v: error %v (setting %q), want setting %q", tc.in, err, got, tc.setting)
		}
		if err == nil && s != tc.want {
			t.Errorf("%+v: schedule %+v, want %+v", tc.in, s, tc.want)
		}
	}
}

func TestParseRetentionReadsBackItsInput(t *testing.T) {
	for _, tc := range []struct {
		in, back string
		ok       bool
	}{
		{"", "", true}, {"all", "", true}, {"keep 24", "24", true}, {"24", "24", true},
		{"7d,4w,2m", "7d,4w,2m", true}, {"0", "", false}, {"-3", "", false}, {"7x", "", false},
	} {
		r, err := ParseRetention(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRetention(%q) error %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if got := RetentionInput(r); tc.ok && got != tc.back {
			t.Errorf("RetentionInput(ParseRetention(%q)) = %q, want %q", tc.in, got, tc.back)
		}
	}
}

func TestRulesBothFrontEndsShare(t *testing.T) {
	svc := Service{Name: "prod", FilestoreDir: "/var/lib/odoo/filestore/prod"}
	if got := NewDatabaseFilestore(svc, "prod_copy"); got != "/var/lib/odoo/filestore/prod_copy" {
		t.Errorf("NewDatabaseFilestore = %q, want /var/lib/odoo/filestore/prod_copy", got)
	}
	if got := NewDatabaseFilestore(Service{Name: "ghost"}, "x"); got != "" {
		t.Errorf("NewDatabaseFilestore of a service without a filestore = %q, want empty", got)
	}
	for format, want := range map[string]string{"": "./prod_7.zip", FormatPlainSQL: "./prod_7.sql", FormatSQLGz: "./prod_7.sql.gz", FormatPGCustom: "./prod_7.dump"} {
		if got := DownloadFileName(Backup{ID: 7, Service: "prod", Format: format}); got != want {
			t.Errorf("DownloadFileName(format %q) = %q, want %q", format, got, want)
		}
	}
	err := NoPrimaryError("prod", "to upload to", Userf(ErrNotFound, "no primary"))
	a, _ := AdviceOf(err)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrNotFound) || a.Action != ActionSetPrimary || a.Service != "prod" ||
		err.Error() != `service "prod" has no primary destination to upload to` {
		t.Errorf("NoPrimaryError = %q (advice %+v), want the plain sentence, ErrInvalid and ErrNotFound, advising a primary for prod", err, a)
	}
}

func withoutDestination(cs []TemplateConfiguration, destination string) []TemplateConfiguration {
	return slices.DeleteFunc(cs, func(x TemplateConfiguration) bool { return x.Destination == destination })
}
