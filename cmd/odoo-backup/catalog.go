package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) catalogCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Look after the catalog itself"}
	cmd.AddCommand(a.catalogRebuildCommand())
	return cmd
}

func (a *app) catalogRebuildCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Recover the backup history from the metadata objects stored next to every backup",
		Long: `Recover the backup history from the destinations: every destination in the
catalog is listed, each backup's metadata object is read, and every backup
whose archive is there with the recorded size is recorded as succeeded, with
its checksum, times and versions, under the id it had (recorded in its
metadata object), so ids noted earlier still name the same backup. When two
objects claim one id (destinations written by two catalogs), the oldest keeps
it and the others get new ids, listed; objects from before ids were recorded
get ids after the highest recorded one. Backups already in the catalog are left
alone, so running it again adds nothing. Objects that are not readable
metadata, or whose archive is missing or of another size, are skipped and
listed.

Destinations and services are configuration, not history: after losing the
catalog, add the destinations again first (odoo-backup destination add, same
names and locations). A service named by a backup but unknown is created as a
placeholder; give it its connection with odoo-backup service add before
restoring its backups. Rebuilt backups are orphaned, and never rotated, until
their configurations are set again with odoo-backup config set.`,
		Example: `  odoo-backup destination add nas --dir /mnt/nas/odoo-backups
  odoo-backup service add production --from-odoo-conf /etc/odoo/odoo.conf --db prod
  odoo-backup catalog rebuild`,
		Args: cobra.NoArgs,
		RunE: a.withCatalog(func(ctx context.Context, _ []string) error {
			dests, err := a.cat.Destinations(ctx)
			if err != nil {
				return err
			}
			if len(dests) == 0 {
				return usageError{fmt.Errorf("the catalog has no destination to read backups from; add them again first with: odoo-backup destination add NAME --dir PATH (or --endpoint HOST:PORT --bucket B)")}
			}
			res, err := a.engine.RebuildCatalog(ctx)
			if asJSON {
				if jerr := writeJSON(a.stdout, res); jerr != nil {
					return jerr
				}
				return err
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "DESTINATION\tFOUND\tADDED\tALREADY KNOWN\tSKIPPED")
			for _, d := range res.Destinations {
				if d.Error != "" {
					fmt.Fprintf(tw, "%s\t—\t—\t—\t—\tnot read: %s\n", d.Destination, d.Error)
					continue
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", d.Destination, d.Found, d.Added, d.AlreadyKnown, len(d.Skipped))
			}
			if ferr := tw.Flush(); ferr != nil {
				return ferr
			}
			for _, d := range res.Destinations {
				for _, s := range d.Skipped {
					fmt.Fprintf(a.stdout, "Skipped %s on %s: %s.\n", s.Key, d.Destination, strings.TrimSuffix(s.Reason, "."))
				}
			}
			for _, r := range res.Renumbered {
				fmt.Fprintf(a.stdout, "Backup %s on %s was backup %d, an id another backup already has here; it is now backup %d.\n", r.Key, r.Destination, r.RecordedID, r.ID)
			}
			if len(res.Placeholders) > 0 {
				fmt.Fprintf(a.stdout, "Created placeholder %s %s for backups of unknown services; give each its connection with odoo-backup service add NAME --db DB ... before restoring them.\n",
					map[bool]string{true: "service", false: "services"}[len(res.Placeholders) == 1], strings.Join(res.Placeholders, ", "))
			}
			if res.Added() > 0 {
				fmt.Fprintf(a.stdout, "%d backups recovered; those without a configuration are orphaned (never rotated) until it is set again with odoo-backup config set.\n", res.Added())
			}
			return err
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
