package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
	"github.com/odoo-backup/odoo-backup/tui"
)

// serviceStatus is one service in `status`.
type serviceStatus struct {
	Name string `json:"name"`
	// Host is the host that holds the service's filestore and runs its
	// schedules.
	Host     string `json:"host"`
	Database string `json:"database"`
	// Placeholder: made by a catalog rebuild, no connection yet.
	Placeholder    bool                `json:"placeholder,omitempty"`
	Health         string              `json:"health"`
	Configurations []core.ConfigHealth `json:"configurations"`
	// LastDrill is the service's last finished restore drill, if any; a
	// failed one makes the service failed.
	LastDrill *core.Drill `json:"last_drill"`
	// Recovery is the service's measured RPO (overall and per destination)
	// and RTO against its targets.
	Recovery core.Recovery `json:"recovery"`
	// Problems say what is wrong with the service as a whole, one sentence
	// each: a missed RPO target (a failure) or RTO target (a warning).
	Problems []string `json:"problems"`
}

type statusReport struct {
	Catalog string `json:"catalog"`
	Healthy bool   `json:"healthy"`
	// Scheduler is who runs this host's schedules; null when nobody does.
	Scheduler *schedulerStatus `json:"scheduler"`
	Services  []serviceStatus  `json:"services"`
	// Daemons is every host of the catalog with its daemon: alive, dead
	// (its services' schedules fail), stopped (a warning) or none.
	Daemons []core.HostStatus `json:"daemons"`
	// Warnings are states worth a look that are no failure (a backup that
	// lacks attachment files, a size anomaly, a missed RTO target): status
	// still exits 0 for them (4 with --strict).
	Warnings []string `json:"warnings"`
	// at is when the report was made: the ages it shows are at that time.
	at time.Time
}

type schedulerStatus struct {
	core.Lease
	// Alive is false when the holder stopped heartbeating: it died without
	// releasing the lease, and the next daemon or console takes it over.
	Alive bool `json:"alive"`
}

func (a *app) status(ctx context.Context) (statusReport, error) {
	rep := statusReport{Catalog: store.Redact(a.resolveCatalogPath()), Healthy: true, Services: []serviceStatus{}, Warnings: []string{}, Daemons: []core.HostStatus{}}
	svcs, err := a.cat.Services(ctx)
	if err != nil {
		return rep, err
	}
	now := time.Now()
	rep.at = now
	fleet, err := core.LoadFleet(ctx, a.cat, svcs, now)
	if err != nil {
		return rep, err
	}
	if fleet.Hosts != nil {
		rep.Daemons = fleet.Hosts
	}
	for _, h := range fleet.Hosts {
		if h.Daemon == core.DaemonStopped && len(h.Services) > 0 {
			rep.Warnings = append(rep.Warnings, h.Problem+"; the schedules of "+strings.Join(h.Services, ", ")+" do not run")
		}
	}
	if l, err := a.cat.CurrentLease(ctx, core.SchedulerLeaseName(core.HostName())); err == nil {
		rep.Scheduler = &schedulerStatus{Lease: l, Alive: core.LeaseAlive(l, now)}
	} else if !errors.Is(err, core.ErrNotFound) {
		return rep, err
	}
	// One snapshot of the catalog judges every service: a few queries, not
	// a few per service.
	src, err := core.FleetHealthSource(ctx, a.cat)
	if err != nil {
		return rep, err
	}
	for _, s := range svcs {
		sh, err := core.EvaluateService(ctx, src, s, now)
		if err != nil {
			return rep, err
		}
		fleet.Judge(&sh)
		host, _ := fleet.Host(core.ServiceHost(s))
		if sh.Unhealthy {
			rep.Healthy = false
		}
		for _, c := range sh.Configurations {
			if c.State == core.HealthWarning && (host.Problem == "" || !strings.HasPrefix(c.Reason, host.Problem)) {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s on %s: %s", c.Service, c.Destination, c.Reason))
			}
		}
		if p := sh.Recovery.RTOProblem(); p != "" {
			rep.Warnings = append(rep.Warnings, s.Name+": "+p)
		}
		problems := sh.Problems
		if problems == nil {
			problems = []string{}
		}
		rep.Services = append(rep.Services, serviceStatus{Name: s.Name, Host: core.ServiceHost(s), Database: s.DB.Database, Placeholder: s.Placeholder, Health: sh.State,
			Configurations: sh.Configurations, LastDrill: sh.LastDrill, Recovery: sh.Recovery, Problems: problems})
	}
	return rep, nil
}

func (a *app) printStatus(rep statusReport) {
	switch {
	case rep.Scheduler == nil:
		fmt.Fprintln(a.stdout, "Scheduler: none running; start odoo-backup --daemon to run the schedules all the time (an open console runs them while no daemon does).")
	case !rep.Scheduler.Alive:
		fmt.Fprintf(a.stdout, "Scheduler: %s pid %d on %s stopped answering at %s; the next daemon or console takes over.\n",
			rep.Scheduler.Holder, rep.Scheduler.PID, rep.Scheduler.Host, localTime(rep.Scheduler.Heartbeat))
	case rep.Scheduler.Holder == core.ConsoleHolder:
		fmt.Fprintf(a.stdout, "Scheduler: the console pid %d on %s, since %s, while it is open; a daemon that starts takes over.\n",
			rep.Scheduler.PID, rep.Scheduler.Host, localTime(rep.Scheduler.AcquiredAt))
	default:
		fmt.Fprintf(a.stdout, "Scheduler: %s pid %d on %s, since %s.\n", rep.Scheduler.Holder, rep.Scheduler.PID, rep.Scheduler.Host, localTime(rep.Scheduler.AcquiredAt))
	}
	a.printDaemons(rep)
	if len(rep.Services) == 0 {
		fmt.Fprintln(a.stdout, "No service yet.")
		return
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, "SERVICE\tHOST\tDESTINATION\tSCHEDULE\tLAST SUCCESS\tRPO\tNEXT RUN\tSTATE")
	for _, s := range rep.Services {
		if s.Placeholder && len(s.Configurations) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t—\t\t\t\t\t%s: give it one with odoo-backup service add %s --db DB ...\n", s.Name, s.Host, core.NoConnectionYet, s.Name)
			continue
		}
		if len(s.Configurations) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t—\t\t\t\t\tnone: add a destination with odoo-backup config set %s DESTINATION\n", s.Name, s.Host, s.Name)
		}
		for _, c := range s.Configurations {
			last, rpo := "never", "—"
			if c.LastSuccess != nil {
				last = localTime(*c.LastSuccess)
				rpo = ageText(rep.at.Sub(*c.LastSuccess))
			}
			state := c.State
			switch {
			case c.State == core.HealthFailed && c.LastBackup != nil && c.LastBackup.Status == core.StatusFailed:
				state += fmt.Sprintf(" (backup %d)", c.LastBackup.ID)
			case c.State == core.HealthStalled && c.Running != nil:
				state += fmt.Sprintf(" (backup %d)", c.Running.ID)
			}
			if c.Reason != "" {
				state += ": " + c.Reason
			}
			dest := c.Destination
			if c.Primary {
				dest = "★ " + dest
			}
			next := "—"
			if c.NextRun != nil {
				next = localTime(*c.NextRun)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Host, dest, c.Schedule, last, rpo, next, state)
		}
		if d := s.LastDrill; d != nil {
			state := "ok"
			if d.Status == core.DrillFailed {
				state = "failed: " + d.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\trestore drill\t%s\t\t\t%s\n", s.Name, s.Host, orDash(d.Destination), localTime(d.StartedAt), state)
		}
	}
	tw.Flush()
	a.printRecovery(rep)
	for _, w := range rep.Warnings {
		service, _, _ := strings.Cut(w, " ")
		switch {
		case strings.HasPrefix(w, "daemon on host "):
			fmt.Fprintf(a.stdout, "Warning (not a failure until their backups go stale): %s; start odoo-backup --daemon there to run them\n", w)
		case strings.Contains(w, ": RTO target "):
			service, _, _ = strings.Cut(w, ":")
			fmt.Fprintf(a.stdout, "Warning (not a failure): %s; a drill measures it again: odoo-backup drill %s\n", w, service)
		default:
			fmt.Fprintf(a.stdout, "Warning (not a failure): %s; see odoo-backup backups %s\n", w, service)
		}
	}
}

// printRecovery shows each service's measured RPO and RTO against its
// targets, and what a missed target does to the service.
func (a *app) printRecovery(rep statusReport) {
	if len(rep.Services) == 0 {
		return
	}
	fmt.Fprintln(a.stdout, "Recovery (RPO: age of the newest good backup; RTO: the last measured restore):")
	tw := table(a.stdout)
	fmt.Fprintln(tw, "  SERVICE\tRPO\tRPO TARGET\tRTO\tRTO TARGET\tSTATE")
	for _, s := range rep.Services {
		r := s.Recovery
		rpo := "no good backup"
		if r.RPO != nil {
			rpo = ageText(r.RPO.Age())
		}
		rto := "not measured: run odoo-backup drill " + s.Name
		if r.RTO != nil {
			rto = fmt.Sprintf("%s (%s, %s)", timeTaken(r.RTO.Duration()), r.RTO.Source, localTime(r.RTO.At))
		}
		// No "ok" here: the configurations' states say how the service
		// is; this says how it stands against its targets.
		state := "—"
		if r.RPOTargetSeconds > 0 || r.RTOTargetSeconds > 0 {
			state = "on target"
		}
		if len(s.Problems) > 0 {
			state = "warning: " + strings.Join(s.Problems, "; ")
			if r.RPOMissed {
				state = "failed: " + strings.Join(s.Problems, "; ")
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", s.Name, rpo, targetText(time.Duration(r.RPOTargetSeconds)*time.Second),
			rto, targetText(time.Duration(r.RTOTargetSeconds)*time.Second), state)
	}
	tw.Flush()
}

// ageText is how old a recovery point is, to the second under a minute,
// else to the minute.
func ageText(d time.Duration) string {
	if d < time.Minute {
		return core.FormatTarget(max(d, 0).Round(time.Second))
	}
	return core.FormatTarget(d.Round(time.Minute))
}

// printDaemons lists each host's daemon when the catalog has more than one
// host or a daemon ever ran: alive since when, dead since when, stopped.
func (a *app) printDaemons(rep statusReport) {
	shown := len(rep.Daemons) > 1
	for _, h := range rep.Daemons {
		shown = shown || h.Daemon != core.DaemonNone
	}
	if !shown {
		return
	}
	fmt.Fprintln(a.stdout, "Daemons:")
	tw := table(a.stdout)
	for _, h := range rep.Daemons {
		var what string
		switch h.Daemon {
		case core.DaemonAlive:
			what = fmt.Sprintf("%s pid %d, since %s", h.Holder, h.PID, localTime(*h.Since))
			if h.Holder == core.ConsoleHolder {
				what += " (a console, while it is open)"
			}
		case core.DaemonDead:
			what = fmt.Sprintf("%s (pid %d); start odoo-backup --daemon on %s", h.Problem, h.PID, h.Name)
		case core.DaemonStopped:
			what = fmt.Sprintf("%s (pid %d)", h.Problem, h.PID)
		default:
			what = "no daemon has run there (cron or a console runs its schedules)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", h.Name, h.Daemon, counted(len(h.Services), "service"), what)
	}
	tw.Flush()
}

func (a *app) statusCommand() *cobra.Command {
	var asJSON, strict bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the health of every configuration; exits 1 when any is failed or stale (a warning is no failure)",
		Long: `Show the health of every configuration, and each service's measured RPO (age
of its newest good backup, overall and per destination) and RTO (its last
drill's or real restore's time) against its targets. Exit codes: 0 healthy
(warnings included), 1 a configuration is failed, stale or stalled, a restore
drill failed or a service missed its RPO target, 3 the catalog is unreachable
(its PostgreSQL server does not answer), so nothing is known, 4 with --strict:
nothing is unhealthy but there are warnings (a size anomaly, a missed RTO
target, a backup lacking attachment files, a stopped daemon).`,
		Args: cobra.NoArgs,
		RunE: a.withCatalog(func(ctx context.Context, _ []string) error {
			rep, err := a.status(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(a.stdout, rep); err != nil {
					return err
				}
			} else {
				a.printStatus(rep)
			}
			switch {
			case !rep.Healthy:
				return exitCode(1)
			case strict && len(rep.Warnings) > 0:
				return exitCode(4)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 4 when nothing is unhealthy but there are warnings")
	return cmd
}

// home is what `odoo-backup` alone shows: on a fresh machine it creates the
// catalog and a local destination, then shows the status and what to do next.
func (a *app) home(ctx context.Context) error {
	if err := a.openReconciled(ctx); err != nil {
		if !errors.Is(err, core.ErrCatalogUnreachable) || !a.interactive() {
			return err
		}
		// The console waits for a shared catalog that does not answer,
		// saying so, instead of failing or hanging.
		err = tui.WaitForCatalog(tui.WaitOptions{Catalog: store.Redact(a.resolveCatalogPath()), Open: a.openReconciled,
			NoColor: os.Getenv("NO_COLOR") != "", Context: ctx})
		if errors.Is(err, tui.ErrQuitWaiting) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	dests, err := a.cat.Destinations(ctx)
	if err != nil {
		return err
	}
	// Only who may add destinations starts a new catalog with one.
	if len(dests) == 0 && a.cat.Role().Role.Allows(core.RoleAdmin) {
		d := core.Destination{Name: "local", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(dataDir(), "backups")}, Layout: core.DefaultLayout()}
		err := os.MkdirAll(d.Local.Dir, 0o700)
		var st core.ObjectStore
		if err == nil {
			st, err = s3.Open(ctx, d)
		}
		if err == nil {
			err = s3.Probe(ctx, st)
		}
		if err != nil {
			return core.Userf(err, "cannot set up the default local destination in %s: %s", d.Local.Dir, message(err))
		}
		if err := a.cat.AddDestination(ctx, &d); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Created the catalog %s and a local destination \"local\" in %s.\n\n", a.resolveCatalogPath(), d.Local.Dir)
	}
	if a.interactive() {
		cs, err := a.startConsoleScheduler(ctx)
		if err != nil {
			return err
		}
		err = tui.Run(tui.Options{Catalog: a.cat, CatalogName: store.Redact(a.resolveCatalogPath()), Engine: a.engine, OpenStore: a.engine.OpenStore, ReadOnly: a.readOnly, Role: a.cat.Role(),
			NoColor: os.Getenv("NO_COLOR") != "", Context: ctx, Scheduler: cs, Requests: a.cat})
		return errors.Join(err, cs.shutdown(func(s string) { fmt.Fprintln(a.stderr, s) }))
	}
	rep, err := a.status(ctx)
	if err != nil {
		return err
	}
	a.printStatus(rep)
	if len(rep.Services) == 0 {
		fmt.Fprint(a.stdout, `
Next: add an Odoo service and back it up:
  odoo-backup service add production --from-odoo-conf /etc/odoo/odoo.conf --db prod
  odoo-backup config set production local --frequency daily --keep 7
  odoo-backup backup production
`)
	}
	return nil
}

// interactive says whether odoo-backup without a command opens the console
// (a terminal on both ends) rather than printing the status.
func (a *app) interactive() bool {
	return a.stdout == io.Writer(os.Stdout) && isatty.IsTerminal(os.Stdin.Fd()) && isatty.IsTerminal(os.Stdout.Fd())
}
