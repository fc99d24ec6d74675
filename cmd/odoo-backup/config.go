package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/odoo-backup/odoo-backup/core"
)

// configFlags are the settings of a configuration, shared by services and
// templates; only the flags given change an existing configuration.
type configFlags struct {
	frequency string
	keep      int
	keepGFS   string
	primary   bool
	at        string
	minute    int
	weekday   string
	day       int
	drill     string
	fs        *pflag.FlagSet
}

func (c *configFlags) register(fs *pflag.FlagSet) {
	c.fs = fs
	fs.StringVar(&c.frequency, "frequency", "", "hourly, daily, weekly, monthly, or manual (no schedule)")
	fs.IntVar(&c.keep, "keep", 0, "keep the last N scheduled backups")
	fs.StringVar(&c.keepGFS, "keep-gfs", "", "keep scheduled backups by a GFS rule such as 24h,7d,4w,12m,1y (7d,4w,2m is a sensible start)")
	fs.BoolVar(&c.primary, "primary", false, "make this destination the service's primary")
	fs.StringVar(&c.at, "at", "", "time of day HH:MM for daily, weekly and monthly runs (default 01:00, local time)")
	fs.IntVar(&c.minute, "minute", 0, "minute past the hour for hourly runs (default 0)")
	fs.StringVar(&c.weekday, "weekday", "", "day of the week for weekly runs: sun, mon, ... (default sun)")
	fs.IntVar(&c.day, "day", 0, "day of the month for monthly runs, 1 to 28 (default 1)")
	fs.StringVar(&c.drill, "drill", "", "run a restore drill of this destination's latest backup hourly, daily, weekly or monthly, at the schedule's time (manual: never)")
}

// check reads every flag given before anything is looked up, so a value it
// cannot read is wrong usage whatever the catalog holds.
func (c *configFlags) check() error {
	var f, d core.Frequency
	var r core.Retention
	var p bool
	s := core.DefaultSchedule
	return c.apply(&f, &s, &r, &p, &d)
}

// apply changes freq/schedule/retention/primary from the flags given; every
// error it returns is a flag value it cannot use (exit 2).
func (c *configFlags) apply(freq *core.Frequency, sched *core.Schedule, ret *core.Retention, primary *bool, drill *core.Frequency) error {
	err := c.applyValues(freq, sched, ret, primary, drill)
	if err != nil && !isUsage(err) {
		return usageError{err}
	}
	return err
}

func (c *configFlags) applyValues(freq *core.Frequency, sched *core.Schedule, ret *core.Retention, primary *bool, drill *core.Frequency) error {
	if c.fs.Changed("drill") {
		d, err := core.ParseFrequency(c.drill)
		if err != nil {
			return core.Userf(core.ErrInvalid, "--drill %q is not one of hourly, daily, weekly, monthly, manual", c.drill)
		}
		*drill = d
	}
	var in core.ScheduleInput
	if c.fs.Changed("at") {
		in.At = c.at
	}
	if c.fs.Changed("minute") {
		in.Minute = strconv.Itoa(c.minute)
	}
	if c.fs.Changed("weekday") {
		in.Weekday = c.weekday
	}
	if c.fs.Changed("day") {
		in.Day = strconv.Itoa(c.day)
	}
	if err := in.Apply(sched); err != nil {
		return err
	}
	if err := sched.Validate(); err != nil {
		return err
	}
	if c.fs.Changed("keep") && c.fs.Changed("keep-gfs") {
		return usageError{errors.New("give either --keep or --keep-gfs, not both")}
	}
	if c.fs.Changed("frequency") {
		f, err := core.ParseFrequency(c.frequency)
		if err != nil {
			return err
		}
		*freq = f
	}
	if c.fs.Changed("keep") {
		if c.keep < 1 {
			return usageError{errors.New("--keep needs a number of backups of at least 1")}
		}
		*ret = core.Retention{KeepLast: c.keep}
	}
	if c.fs.Changed("keep-gfs") {
		g, err := core.ParseGFS(c.keepGFS)
		if err != nil {
			return err
		}
		*ret = core.Retention{GFS: &g}
	}
	// Without --primary the flag stays where it is.
	if c.primary {
		*primary = true
	}
	return nil
}

func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Link services to destinations, with a schedule, a retention and the primary flag"}
	cmd.AddCommand(a.configSetCommand(), a.configRemoveCommand(), a.configListCommand())
	return cmd
}

// pingFlags set a service configuration's ping URL.
type pingFlags struct {
	url, env string
	none     bool
}

func (p *pingFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.url, "ping-url", "", "ping this healthchecks.io / Uptime Kuma style URL when a scheduled backup starts (URL/start), succeeds (URL) and fails (URL/fail); stored encrypted")
	fs.StringVar(&p.env, "ping-url-env", "", "the same, from this environment variable (keeps it out of the shell's history)")
	fs.BoolVar(&p.none, "no-ping-url", false, "stop pinging")
}

// value is the ping URL given; ok is false when no ping flag was given.
// Every error is wrong usage, found before the catalog is touched.
func (p *pingFlags) value() (u core.Secret, ok bool, err error) {
	given := 0
	for _, g := range []bool{p.url != "", p.env != "", p.none} {
		if g {
			given++
		}
	}
	switch {
	case given > 1:
		return "", false, usageError{errors.New("give one of --ping-url, --ping-url-env and --no-ping-url")}
	case p.none:
		return "", true, nil
	case p.env != "":
		if u, ok, err = secretFromFlags("ping-url-env", p.env, "ping-url-ref", ""); err != nil {
			return "", false, err
		}
	case p.url != "":
		u, ok = core.Secret(p.url), true
	}
	if err := core.CheckPingURL(u); err != nil {
		return "", false, usageError{err}
	}
	return u, ok, nil
}

func (a *app) configSetCommand() *cobra.Command {
	var (
		flags          configFlags
		ping           pingFlags
		allowShortLock bool
	)
	cmd := &cobra.Command{
		Use:   "set SERVICE DESTINATION",
		Short: "Create or change the configuration of a service on a destination",
		Example: `  odoo-backup config set production s3-eu --frequency hourly --keep 24 --primary
  odoo-backup config set production own-bucket --frequency daily --at 02:30 --keep-gfs 7d,4w,2m
  odoo-backup config set production archive --frequency monthly --day 1 --at 03:00 --keep-gfs 12m
  odoo-backup config set production local --frequency manual
  odoo-backup config set production s3-eu --drill weekly --weekday sun --at 04:00
  odoo-backup config set production s3-eu --ping-url-env HC_URL    (HC_URL=https://hc-ping.com/UUID)
  odoo-backup config set production s3-eu --no-ping-url`,
		Args: cobra.ExactArgs(2),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := flags.check(); err != nil {
				return err
			}
			pingURL, setPing, err := ping.value()
			if err != nil {
				return err
			}
			req := flags.request(core.ConfigOwner{Name: args[0]}, args[1])
			req.AllowShortLock = allowShortLock
			s, err := core.SetConfiguration(ctx, a.cat, req)
			if err != nil {
				return err
			}
			pinged := ""
			if setPing {
				if err := core.SetPingURL(ctx, a.cat, args[0], args[1], pingURL); err != nil {
					return err
				}
				pinged = ", no ping"
				if pingURL.IsSet() {
					pinged = ", pings " + secretTarget(pingURL)
				}
			}
			fmt.Fprintf(a.stdout, "%s → %s: %s, %s%s%s%s\n", args[0], s.Destination, s.Schedule.Describe(s.Frequency), s.Retention, primaryMark(s.Primary), drillMark(s), pinged)
			return nil
		}),
	}
	flags.register(cmd.Flags())
	ping.register(cmd.Flags())
	cmd.Flags().BoolVar(&allowShortLock, "allow-short-lock", false, allowShortLockHelp)
	return cmd
}

// request is the use case's request for the owner's configuration on
// destination, with the flags given applied.
func (c *configFlags) request(o core.ConfigOwner, destination string) core.ConfigurationRequest {
	return core.ConfigurationRequest{Owner: o, Destination: destination, Change: func(tc *core.TemplateConfiguration) error {
		return c.apply(&tc.Frequency, &tc.Schedule, &tc.Retention, &tc.Primary, &tc.Drill)
	}}
}

func drillMark(c core.TemplateConfiguration) string {
	if c.Drill == core.Manual {
		return ""
	}
	return ", restore drill " + c.Schedule.Describe(c.Drill)
}

func primaryMark(p bool) string {
	if p {
		return ", primary"
	}
	return ""
}

func (a *app) configRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove SERVICE DESTINATION",
		Short: "Remove a configuration (its backups stay, marked orphaned)",
		Args:  cobra.ExactArgs(2),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := core.RemoveConfiguration(ctx, a.cat, core.ConfigOwner{Name: args[0]}, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s no longer backs up to %s; its backups there stay in the history, marked orphaned.\n", args[0], args[1])
			return nil
		}),
	}
}

func (a *app) configListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [SERVICE]",
		Short: "List configurations",
		Args:  cobra.MaximumNArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			configs, err := a.configurations(ctx, args)
			if err != nil {
				return err
			}
			if asJSON {
				if configs == nil {
					configs = []core.Configuration{}
				}
				return writeJSON(a.stdout, configs)
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "SERVICE\tDESTINATION\tSCHEDULE\tRETENTION\tPRIMARY")
			for _, c := range configs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Service, c.Destination, c.Schedule.Describe(c.Frequency), c.Retention, map[bool]string{true: "★", false: ""}[c.Primary])
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// configurations are those of the service named in args, or all of them.
func (a *app) configurations(ctx context.Context, args []string) ([]core.Configuration, error) {
	if len(args) == 1 {
		return a.cat.Configurations(ctx, args[0])
	}
	return a.cat.AllConfigurations(ctx)
}
