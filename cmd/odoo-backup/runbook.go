package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
	"github.com/odoo-backup/odoo-backup/tui/runbook"
)

func (a *app) runbookCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "runbook SERVICE [-o FILE]",
		Short: "Write the service's disaster-recovery runbook: where its copies are, its RPO and RTO, and the commands that bring it back",
		Long: `Write the page a person needs on the worst day, from what the catalog knows
now (Markdown, readable as plain text): the service, where each copy is
(destination, region, layout, schedule, retention, encryption and where its key
is said to be kept), the newest good backup on each, the measured RPO and RTO,
the last drill, who may restore, and the commands, in order, that bring the
service back on a fresh host: install, destinations, catalog rebuild, service,
restore, verify, drill. It never holds a secret: it names the environment
variable (or file) each one is given through. Write it again after any change.`,
		Example: `  odoo-backup runbook production
  odoo-backup runbook production -o /srv/docs/runbook-production.md`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			rb, err := core.GatherRunbook(ctx, a.cat, args[0], time.Now())
			if err != nil {
				return err
			}
			page := runbook.Render(rb, runbook.Options{Catalog: store.Redact(a.resolveCatalogPath())})
			if out == "" {
				_, err := fmt.Fprint(a.stdout, page)
				return err
			}
			if err := os.WriteFile(out, []byte(page), 0o600); err != nil {
				return core.Userf(err, "the runbook could not be written to %s: %v; give another file with -o", out, err)
			}
			fmt.Fprintf(a.stdout, "Runbook of %s written to %s.\n", args[0], out)
			return nil
		}),
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the runbook to this file (replaced if it exists) instead of printing it")
	return cmd
}
