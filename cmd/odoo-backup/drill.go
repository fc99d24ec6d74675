package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) drillCommand() *cobra.Command {
	var dest, identity string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "drill SERVICE [--destination D]",
		Short: "Restore the latest backup into a scratch database, check it, and remove it again",
		Long: `Answer "is this service's latest backup restorable?": restore it into a scratch
database on the service's PostgreSQL server and a scratch directory under the
system's temporary directory, check that the dump loads without an SQL error,
that the database passes the checks every restore makes (key tables, the row
counts recorded at backup time, module base installed) and that every
attachment file the backup holds is there (those it recorded as missing when
it was taken are reported, not a failure), then remove the scratch copy. The result is kept in
the history (odoo-backup drills) and a failed drill makes status unhealthy.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			host, remote, err := a.remoteHost(ctx, args[0])
			if err != nil {
				return err
			}
			var res core.DrillResult
			if remote {
				if err := noIdentityRemote(identity, host); err != nil {
					return err
				}
				var r core.Request
				r, err = a.request(ctx, core.Request{Kind: core.RequestDrill, Host: host, Service: args[0],
					Params: core.RequestParams{Destination: dest}}, "drill "+args[0])
				if rerr := requestResult(r, &res); rerr != nil && err == nil {
					err = rerr
				}
			} else {
				progress, done := progressPrinter(a.stderr)
				res, err = a.engine.Drill(ctx, core.DrillRequest{Service: args[0], Destination: dest, IdentityFile: identity, Progress: progress})
				done()
			}
			if asJSON && res.Drill.ID != 0 {
				if jerr := writeJSON(a.stdout, res.Drill); jerr != nil {
					return jerr
				}
			} else if err == nil {
				fmt.Fprintf(a.stdout, "Drill %d of %s passed: backup %d on %s restores in %s, %s, %d attachment files present.\n",
					res.Drill.ID, res.Drill.Service, res.Drill.BackupID, res.Drill.Destination, restoreTime(res.Drill), countsText(res.Drill.Details.Tables), res.Drill.Details.FilestoreFiles)
				if n := res.Drill.Details.KnownMissing; n > 0 {
					fmt.Fprintf(a.stdout, "The backup lacks %d attachment file(s) the filestore had lost when it was taken; they were never in it, so they are no failure of the drill.\n", n)
				}
			}
			return err
		}),
	}
	cmd.Flags().StringVar(&dest, "destination", "", "drill the latest backup on this destination (default the latest anywhere)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the drill as JSON")
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file that decrypts the backup, when its destination keeps no key on this host")
	return cmd
}

func countsText(tables map[string]int64) string {
	names := make([]string, 0, len(tables))
	for t := range tables {
		names = append(names, t)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, t := range names {
		parts[i] = fmt.Sprintf("%s %d", t, tables[t])
	}
	if len(parts) == 0 {
		return "no key table counted"
	}
	return strings.Join(parts, ", ")
}

func (a *app) drillsCommand() *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "drills [SERVICE]",
		Short: "List the restore drills, newest first",
		Args:  cobra.MaximumNArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			service := ""
			if len(args) == 1 {
				service = args[0]
			}
			drills, err := a.cat.Drills(ctx, service, limit)
			if err != nil {
				return err
			}
			if asJSON {
				if drills == nil {
					drills = []core.Drill{}
				}
				return writeJSON(a.stdout, drills)
			}
			if len(drills) == 0 {
				fmt.Fprintln(a.stdout, "No drill yet; run one with: odoo-backup drill SERVICE")
				return nil
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "ID\tSERVICE\tBACKUP\tDESTINATION\tSTARTED\tRESTORE\tSTATUS")
			for _, d := range drills {
				status := string(d.Status)
				if d.Error != "" {
					status += ": " + d.Error
				}
				backup := "—"
				if d.BackupID != 0 {
					backup = fmt.Sprint(d.BackupID)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Service, backup, orDash(d.Destination), localTime(d.StartedAt), restoreTime(d), status)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many (default all)")
	return cmd
}

// restoreTime is how long a drill's restore took (its measured RTO), "—"
// when it did not get that far.
func restoreTime(d core.Drill) string {
	if d.Details.RestoreSeconds <= 0 {
		return "—"
	}
	return timeTaken(time.Duration(d.Details.RestoreSeconds * float64(time.Second)))
}

// timeTaken is a measured time as people read it: to the tenth of a
// second under a minute ("1.4s"), else to the second ("12m5s").
func timeTaken(d time.Duration) string {
	if d < time.Minute {
		return max(d, 0).Round(100 * time.Millisecond).String()
	}
	return core.FormatTarget(d.Round(time.Second))
}
