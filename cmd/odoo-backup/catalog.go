package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

func (a *app) catalogCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Look after the catalog itself"}
	cmd.AddCommand(a.catalogRebuildCommand(), a.catalogMigrateCommand())
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

func (a *app) catalogMigrateCommand() *cobra.Command {
	var (
		to, keyFile string
		asJSON      bool
		renumber    bool
	)
	cmd := &cobra.Command{
		Use:   "migrate --to postgres://USER@HOST:PORT/DATABASE",
		Short: "Move this host's SQLite catalog into a PostgreSQL catalog shared by a fleet of hosts",
		Long: `Move this host's catalog (the SQLite file --catalog or ODOO_BACKUP_CATALOG
names, or the default) into the PostgreSQL catalog at --to, which other hosts
may share already, in one transaction: everything moves or nothing does.

Destinations, services, their configurations, templates, the backup history
(under the same ids, so ids noted earlier still name the same backup), drills
and the audit trail move; leases do not. A destination or template the shared
catalog already has with the same settings is shared; with other settings,
the migration is refused. A service name the shared catalog already has, or a
backup id it already gives to another backup, is refused too: nothing is ever
overwritten. With --renumber-backups those backups get new ids instead, each
listed (as catalog rebuild does when two backups claim one id); ids noted
before for them then name other backups. Services that name no host get this
host's name.

Secrets are decrypted with this catalog's key and sealed again with the
shared catalog's key: --key, else $ODOO_BACKUP_CATALOG_KEY, else catalog.key
in this host's data directory, created if missing. Every host of the fleet
needs that one key: export it here with odoo-backup key export-catalog and
install it on the others with odoo-backup key install-catalog. Secrets kept
as references (env:, file:) stay references, read on each host.

Stop this host's daemon first. This catalog is only read: keep it until the
shared one has served a while.`,
		Example: `  systemctl stop odoo-backup
  odoo-backup catalog migrate --to postgres://odoo_backup@db.example.com:5432/odoo_backup
  export ODOO_BACKUP_CATALOG=postgres://odoo_backup@db.example.com:5432/odoo_backup`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if to == "" {
				return usageError{fmt.Errorf("say which PostgreSQL catalog to move into with --to postgres://USER@HOST:PORT/DATABASE")}
			}
			if !store.IsPostgres(to) {
				return usageError{fmt.Errorf("--to %s is not a PostgreSQL URL; give postgres://USER@HOST:PORT/DATABASE", to)}
			}
			source := a.resolveCatalogPath()
			if store.IsPostgres(source) {
				return usageError{fmt.Errorf("this host's catalog %s is already in PostgreSQL; catalog migrate moves an SQLite catalog: name it with --catalog PATH", store.Redact(source))}
			}
			if _, err := os.Stat(source); errors.Is(err, fs.ErrNotExist) {
				return core.Userf(core.ErrNotFound, "there is no catalog at %s to migrate; name this host's catalog with --catalog PATH or ODOO_BACKUP_CATALOG", source)
			}
			// Backups whose process died are marked failed first, so only
			// live ones hold the migration back.
			if err := a.openReconciled(ctx); err != nil {
				return err
			}
			if err := a.checkNoDaemon(ctx); err != nil {
				return err
			}
			if keyFile == "" {
				keyFile = a.catalogKeyFile()
			}
			target, err := store.Open(ctx, to, store.WithKeyFile(keyFile))
			if err != nil {
				return err
			}
			defer target.Close()
			res, err := store.Migrate(ctx, a.cat, target, store.MigrateOptions{RenumberBackups: renumber})
			if adv, ok := core.AdviceOf(err); ok && (adv.Action == core.ActionInstallCatalogKey || adv.Action == core.ActionReplaceCatalogKey) {
				// This host's key may be its SQLite catalog's own, at the
				// same path: moving it away would lose that catalog's secrets.
				var ue *core.UserError
				errors.As(err, &ue)
				return core.Userf(core.ErrAccessDenied, "%s; give the fleet's key with --key FILE (copy it from a host of the fleet: odoo-backup key export-catalog -o FILE)", ue.Msg)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, res)
			}
			a.printMigration(source, to, keyFile, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "the shared PostgreSQL catalog: postgres://USER@HOST:PORT/DATABASE")
	f.StringVar(&keyFile, "key", "", "the shared catalog's key file (default $ODOO_BACKUP_CATALOG_KEY, else catalog.key in this host's data directory)")
	f.BoolVar(&asJSON, "json", false, "print the counts as JSON")
	f.BoolVar(&renumber, "renumber-backups", false, "give backups whose ids the shared catalog already gives to others new ids (listed), instead of refusing")
	return cmd
}

// checkNoDaemon refuses to move a catalog whose schedules a process of this
// host still runs: it would go on writing to the old catalog.
func (a *app) checkNoDaemon(ctx context.Context) error {
	for _, name := range []string{core.SchedulerLease, core.SchedulerLeaseName(core.HostName())} {
		l, err := a.cat.CurrentLease(ctx, name)
		if errors.Is(err, core.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if core.LeaseAlive(l, time.Now()) {
			return core.Userf(core.ErrInvalid, "a daemon (pid %d on %s) runs the schedules of %s and would go on writing to it; stop it first (e.g. systemctl stop odoo-backup), then migrate", l.PID, l.Host, a.cat.Path())
		}
	}
	return nil
}

func (a *app) printMigration(source, to, keyFile string, r store.MigrateResult) {
	w := a.stdout
	fmt.Fprintf(w, "Moved %s into %s:\n", source, store.Redact(to))
	fmt.Fprintf(w, "  %d destinations added, %d shared with the catalog's other hosts\n", r.Destinations, r.SharedDestinations)
	fmt.Fprintf(w, "  %d services (those without a host now on %s), %d configurations\n", r.Services, r.Host, r.Configurations)
	fmt.Fprintf(w, "  %d templates added, %d shared, %d template configurations\n", r.Templates, r.SharedTemplates, r.TemplateConfigurations)
	fmt.Fprintf(w, "  %d backups under the same ids, %d drills, %d audit entries\n", r.Backups-len(r.Renumbered), r.Drills, r.Audit)
	for _, b := range r.Renumbered {
		fmt.Fprintf(w, "  backup %d is now backup %d: the shared catalog gives %d to another backup\n", b.Was, b.ID, b.Was)
	}
	fmt.Fprintf(w, "  %d secrets sealed with the key %s, %d references kept as references\n", r.Secrets, keyFile, r.References)
	fmt.Fprintln(w, "Next:")
	fmt.Fprintf(w, "  point this host at it: ODOO_BACKUP_CATALOG=%s (its password in ~/.pgpass or PGPASSWORD; for the daemon, in its service unit), then start the daemon again\n", store.Redact(to))
	if keyFile != a.catalogKeyFile() {
		fmt.Fprintf(w, "  and read its secrets with that key: ODOO_BACKUP_CATALOG_KEY=%s\n", keyFile)
	}
	fmt.Fprintln(w, "  give every other host of the fleet the key: odoo-backup key export-catalog -o FILE here, copy FILE over, odoo-backup key install-catalog FILE there")
	fmt.Fprintf(w, "  %s was only read: keep it until the shared catalog has served a while\n", source)
}
