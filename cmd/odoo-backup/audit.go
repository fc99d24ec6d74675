package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) auditCommand() *cobra.Command {
	var (
		asJSON  bool
		limit   int
		service string
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show who backed up, restored, downloaded, deleted or changed what, newest first",
		Long: `Show the audit trail: every backup, restore, download, upload, copy, deletion,
rotation and drill, and every change to destinations, services, configurations
and templates, with the user who did it (and the SSH client they came from, and on a
PostgreSQL catalog the database user, as the server recorded it),
when, and whether it worked. Newest first.`,
		Example: `  odoo-backup audit --limit 20
  odoo-backup audit --service production --json`,
		Args: cobra.NoArgs,
		RunE: a.withCatalog(func(ctx context.Context, _ []string) error {
			if limit < 0 {
				return usageError{fmt.Errorf("--limit %d is negative; give 0 for everything, or a count", limit)}
			}
			if service != "" {
				if _, err := a.cat.Service(ctx, service); err != nil {
					// A removed service keeps its trail: only refuse a name
					// that never appears in it.
					entries, aerr := a.cat.Audit(ctx, core.AuditFilter{Service: service, Limit: 1})
					if aerr != nil {
						return aerr
					}
					if len(entries) == 0 {
						return err
					}
				}
			}
			entries, err := a.cat.Audit(ctx, core.AuditFilter{Service: service, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				if entries == nil {
					entries = []core.AuditEntry{}
				}
				return writeJSON(a.stdout, entries)
			}
			if len(entries) == 0 {
				fmt.Fprintln(a.stdout, "Nothing recorded yet.")
				return nil
			}
			// A PostgreSQL catalog records the database user too.
			dbUsers := slices.ContainsFunc(entries, func(e core.AuditEntry) bool { return e.DBUser != "" })
			tw := table(a.stdout)
			if dbUsers {
				fmt.Fprintln(tw, "TIME\tUSER\tDB USER\tACTION\tTARGET\tOUTCOME\tDETAIL")
			} else {
				fmt.Fprintln(tw, "TIME\tUSER\tACTION\tTARGET\tOUTCOME\tDETAIL")
			}
			for _, e := range entries {
				who := e.User
				if e.SSHClient != "" {
					who += " (" + e.SSHClient + ")"
				}
				if dbUsers {
					who += "\t" + orDash(e.DBUser)
				}
				detail := e.Detail
				if e.Error != "" {
					detail = e.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", localTime(e.At), who, e.Action, e.Target, e.Outcome, orDash(detail))
			}
			return tw.Flush()
		}),
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.IntVar(&limit, "limit", 50, "show at most this many entries (0: all)")
	f.StringVar(&service, "service", "", "only entries about this service")
	return cmd
}
