package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) restoreCommand() *cobra.Command {
	var newDB, filestore, service, identity, owner string
	var yes, asJSON, acceptErrors bool
	var nf neutralizeFlags
	cmd := &cobra.Command{
		Use:   "restore BACKUP_ID (--service S | --new-db NAME [--filestore DIR] [--owner ROLE]) [--neutralize | --no-neutralize] --yes",
		Short: "Restore a backup onto a service, or into a new database",
		Long: `Restore a backup onto an existing service (--service), replacing all its data,
or into a new database on the PostgreSQL server of the backup's service
(--new-db). The backup may come from any service: restore production into
staging with --service staging.

Onto a service, a safety backup of it goes to its primary destination first;
if that fails nothing is restored. The archive's checksum is verified, the
database and filestore are built under temporary names beside the target's,
and only once both are complete are they swapped in (the target's sessions
are ended). A failure at any step before the swap leaves the target as it was.

Ownership is kept: onto a service, the restored database and every object in
it belong to the owner of the database it replaces, and the filestore gets
the replaced one's owner, group and modes. A new database belongs to --owner
(an existing role that is not a superuser; default the owner of the backup's
service's database), its filestore to the owner of the directory it goes in.
The dump's SQL itself runs as a throwaway role that owns only the new
database, never as a superuser.

Before it is put in place the restored database is checked as a drill checks
it: the key tables are there (ir_module_module, res_users and res_partner not
empty), the row counts the backup recorded are found again, and module base
is installed. A copy that fails is discarded and the target kept as it was,
unless --accept-errors is given. SQL errors while loading the dump are
reported; they alone do not stop a restore whose checks pass, as Odoo
tolerates them.

Neutralizing turns mail servers and scheduled actions off (the auto-vacuum job
excepted), disables live payment providers, sets database.is_neutralized and
gives the copy a new database.uuid and database.secret, as Odoo does. It is
the default onto another service than the backup's own and into a new
database (--no-neutralize keeps the data as it was); onto the backup's own
service it is done only with --neutralize. A backup uploaded from a file needs
one of the two said, since nobody knows where it came from.

Ctrl-C or SIGTERM stops the restore; the target is left as it was.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			id, err := parseBackupID(args[0])
			if err != nil {
				return err
			}
			switch {
			case service != "" && newDB != "":
				return usageError{fmt.Errorf("give either --service (replace a service's data) or --new-db (create a database), not both")}
			case service == "" && newDB == "":
				return usageError{fmt.Errorf("say where to restore: --service SERVICE to replace a service's data, or --new-db NAME for a new database")}
			case service != "" && owner != "":
				return usageError{fmt.Errorf("--owner only goes with --new-db; a restore onto %s keeps the owner of the database it replaces", service)}
			case service != "" && filestore != "":
				return usageError{fmt.Errorf("--filestore only goes with --new-db; a restore onto %s uses its own filestore directory", service)}
			case service != "" && !yes:
				return usageError{fmt.Errorf("restoring onto %s replaces all of its data (a safety backup of it goes to its primary destination first); add --yes to go ahead", service)}
			}
			if err := nf.check(); err != nil {
				return err
			}
			b, err := a.engine.Catalog.Backup(ctx, id)
			if err != nil {
				return err
			}
			rule := core.DefaultNeutralize(b, core.RestoreOnto{Service: service})
			neutralize, err := nf.resolve(rule, cmp.Or(service, "the new database"))
			if err != nil {
				return err
			}
			// The host of the service replaced, or for a new database the
			// host of the backup's service, does the work.
			host, remote, err := a.remoteHost(ctx, cmp.Or(service, b.Service))
			if err != nil {
				return err
			}
			if remote {
				if err := noIdentityRemote(identity, host); err != nil {
					return err
				}
				res, err := a.requestRestore(ctx, core.RequestRestore, host, cmp.Or(service, b.Service), core.RequestParams{BackupID: id,
					Target: service, NewDB: newDB, FilestoreDir: filestore, Owner: owner, Neutralize: neutralize, AcceptErrors: acceptErrors, Confirmed: yes})
				if err != nil {
					return checksAdvice(err)
				}
				if asJSON {
					return writeJSON(a.stdout, res)
				}
				a.printRestore(id, service, res, neutralizedLine(res, nf, rule))
				return nil
			}
			progress, done := progressPrinter(a.stderr)
			var res core.RestoreResult
			if service != "" {
				res, err = a.engine.RestoreToService(ctx, core.ServiceRestoreRequest{BackupID: id, Service: service, Neutralize: neutralize, IdentityFile: identity, AcceptErrors: acceptErrors, Progress: progress})
			} else {
				res, err = a.engine.RestoreNewDB(ctx, core.RestoreRequest{BackupID: id, NewDB: newDB, FilestoreDir: filestore, Owner: owner, Neutralize: neutralize, IdentityFile: identity, AcceptErrors: acceptErrors, Progress: progress})
			}
			done()
			if err != nil {
				return checksAdvice(err)
			}
			if asJSON {
				return writeJSON(a.stdout, res)
			}
			a.printRestore(id, service, res, neutralizedLine(res, nf, rule))
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&service, "service", "", "replace the data of this service (needs --yes)")
	f.StringVar(&newDB, "new-db", "", "name of the database to create")
	f.StringVar(&filestore, "filestore", "", "filestore directory of the new database (default beside the service's)")
	f.StringVar(&owner, "owner", "", "role that owns the new database and every object in it (default the owner of the backup's service's database)")
	nf.add(cmd)
	f.BoolVar(&yes, "yes", false, "confirm that the service's data is replaced")
	f.StringVar(&identity, "identity", "", "age identity file that decrypts the backup, when its destination keeps no key on this host")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.BoolVar(&acceptErrors, "accept-errors", false, "put the restored database in place even when it fails its checks (key tables, recorded row counts, base installed)")
	return cmd
}

// checksAdvice adds to a refusal of a restored database that failed its
// checks how to restore it anyway.
func checksAdvice(err error) error {
	if !errors.Is(err, core.ErrChecksFailed) {
		return err
	}
	return core.Userf(err, "%s; to put it in place anyway, run the same command with --accept-errors", strings.TrimSuffix(message(err), "."))
}

func (a *app) printRestore(id int64, service string, res core.RestoreResult, neutralized string) {
	w := a.stdout
	if service != "" {
		fmt.Fprintf(w, "Safety backup %d of %s taken first; restore it with: odoo-backup restore %d --service %s --yes\n", res.SafetyBackupID, service, res.SafetyBackupID, service)
		fmt.Fprintf(w, "Backup %d restored onto %s: database %s, filestore %s (%d files).\n", id, service, res.Database, res.FilestoreDir, res.FilestoreFiles)
	} else {
		fmt.Fprintf(w, "Backup %d restored into database %s, filestore %s (%d files).\n", id, res.Database, res.FilestoreDir, res.FilestoreFiles)
	}
	fmt.Fprintln(w, neutralized)
	if res.IsNeutralized {
		for _, l := range res.Neutralized {
			fmt.Fprintln(w, "  "+l)
		}
	}
	switch {
	case res.Checks.Accepted:
		fmt.Fprintf(w, "Warning: the restored database failed its checks (%s) and was put in place because --accept-errors was given.\n", res.Checks.Summary())
	case len(res.Checks.Ran) > 0:
		fmt.Fprintf(w, "Checks passed: %s.\n", strings.Join(res.Checks.Ran, ", "))
	}
	for _, s := range res.Checks.Skipped {
		fmt.Fprintf(w, "Not checked: %s.\n", s)
	}
	if res.SQLErrorCount > 0 {
		fmt.Fprintf(w, "psql reported %d error(s) while loading dump.sql, as Odoo tolerates; the first:\n", res.SQLErrorCount)
		for _, l := range res.SQLErrors {
			fmt.Fprintln(w, "  "+l)
		}
	}
	if res.MissingCount > 0 {
		fmt.Fprintf(w, "Warning: %d attachment file(s) the database refers to are not in the backup, e.g. %s\n", res.MissingCount, res.MissingFiles[0])
	}
	for _, l := range res.Warnings {
		fmt.Fprintln(w, "Warning: "+l)
	}
}
