package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) hookCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hook",
		Short: "Run a program of yours before and after a service's backups and restores",
		Long: `A hook is an executable file run on the host that runs the job:

  pre-backup    before the dump; if it fails, the backup fails and nothing is stored
  post-backup   after every destination finished; if it fails, the backup gets a warning
  pre-restore   before a restore onto the service changes anything (its safety
                backup included); if it fails, the restore is refused
  post-restore  after that restore finished or failed; if it fails, a warning

It is given as an absolute path, with no arguments: what it needs is in its
environment (ODOO_BACKUP_SERVICE, ODOO_BACKUP_DATABASE, ODOO_BACKUP_OUTCOME,
...; see the README). The file must belong to root or to the user running
odoo-backup, and neither it nor its directory may be writable by others.`,
	}
	cmd.AddCommand(a.hookSetCommand(), a.hookRemoveCommand(), a.hookListCommand(), a.hookTestCommand())
	return cmd
}

func parseHookEvent(s string) (core.HookEvent, error) {
	ev, err := core.ParseHookEvent(s)
	if err != nil {
		return "", usageError{err}
	}
	return ev, nil
}

// withHookEvent runs fn on the catalog with the service and the event
// named by the first two arguments; an unknown event is wrong usage, said
// before the catalog is opened.
func (a *app) withHookEvent(fn func(ctx context.Context, service string, ev core.HookEvent) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ev, err := parseHookEvent(args[1])
		if err != nil {
			return err
		}
		return a.withCatalog(func(ctx context.Context, args []string) error { return fn(ctx, args[0], ev) })(cmd, args)
	}
}

func (a *app) hookSetCommand() *cobra.Command {
	timeout := core.DefaultHookTimeout
	cmd := &cobra.Command{
		Use:   "set SERVICE pre-backup|post-backup|pre-restore|post-restore PATH",
		Short: "Set (or replace) a service's hook: the absolute path of an executable file",
		Example: `  odoo-backup hook set production pre-backup /etc/odoo-backup/stop-cron --timeout 2m
  odoo-backup hook set staging pre-restore /etc/odoo-backup/stop-odoo`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ev, err := parseHookEvent(args[1])
			if err != nil {
				return err
			}
			if err := core.CheckHookCommand(ev, args[2]); err != nil {
				return usageError{err}
			}
			if timeout < time.Second {
				return usageError{fmt.Errorf("--timeout %s is too short; give how long the hook may run, at least 1s, such as 30s or 5m", timeout)}
			}
			return a.withCatalog(func(ctx context.Context, args []string) error {
				h := core.Hook{Event: ev, Command: args[2], Timeout: timeout}
				res, err := core.SetHook(ctx, a.cat, args[0], h)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "The %s hook of %s is now %s (timeout %s).\n", ev, args[0], h.Command, timeout.Round(time.Second))
				if !res.Checked {
					fmt.Fprintf(a.stdout, "Its file is checked on host %s, where the service's work runs, each time it runs; try it there with: odoo-backup hook test %s %s\n", res.Host, args[0], ev)
				}
				return nil
			})(cmd, args)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", core.DefaultHookTimeout, "how long the hook may run before it is stopped (and fails)")
	return cmd
}

func (a *app) hookRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove SERVICE pre-backup|post-backup|pre-restore|post-restore",
		Short: "Remove a service's hook",
		Args:  cobra.ExactArgs(2),
		RunE: a.withHookEvent(func(ctx context.Context, service string, ev core.HookEvent) error {
			if err := a.cat.RemoveServiceHook(ctx, service, ev); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Service %s has no %s hook any more.\n", service, ev)
			return nil
		}),
	}
}

// hookJSON is one hook in `hook list --json`.
type hookJSON struct {
	Service        string         `json:"service"`
	Event          core.HookEvent `json:"event"`
	Command        string         `json:"command"`
	TimeoutSeconds int64          `json:"timeout_seconds"`
}

func (a *app) hookListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [SERVICE]",
		Short: "List the hooks of every service, or of one",
		Args:  cobra.MaximumNArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			names := args
			if len(names) == 0 {
				svcs, err := a.cat.Services(ctx)
				if err != nil {
					return err
				}
				for _, s := range svcs {
					names = append(names, s.Name)
				}
			}
			out := []hookJSON{}
			for _, n := range names {
				hooks, err := a.cat.ServiceHooks(ctx, n)
				if err != nil {
					return err
				}
				for _, h := range hooks {
					out = append(out, hookJSON{Service: n, Event: h.Event, Command: h.Command, TimeoutSeconds: int64(h.Timeout / time.Second)})
				}
			}
			if asJSON {
				return writeJSON(a.stdout, out)
			}
			if len(out) == 0 {
				fmt.Fprintln(a.stdout, "No hooks; set one with: odoo-backup hook set SERVICE EVENT PATH")
				return nil
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "SERVICE\tEVENT\tCOMMAND\tTIMEOUT")
			for _, h := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Service, h.Event, h.Command, time.Duration(h.TimeoutSeconds)*time.Second)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) hookTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test SERVICE pre-backup|post-backup|pre-restore|post-restore",
		Short: "Run a service's hook now, with ODOO_BACKUP_OUTCOME=test, and say how it went",
		Args:  cobra.ExactArgs(2),
		RunE: a.withHookEvent(func(ctx context.Context, service string, ev core.HookEvent) error {
			run, err := a.engine.TestHook(ctx, service, ev)
			if err != nil {
				return err
			}
			status := "was stopped"
			if run.ExitCode >= 0 {
				status = fmt.Sprintf("exited with status %d", run.ExitCode)
			}
			if run.Ran {
				fmt.Fprintf(a.stdout, "The %s hook %s of %s %s after %s; it printed %s", ev, run.Hook.Command, service, status, run.Duration.Round(time.Millisecond), core.FormatSize(run.OutputBytes))
				if run.LastLine != "" {
					fmt.Fprintf(a.stdout, ", last: %s", run.LastLine)
				}
				fmt.Fprintln(a.stdout, ".")
			}
			return run.Err
		}),
	}
}
