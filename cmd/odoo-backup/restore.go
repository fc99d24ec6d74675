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
	var newDB, filestore, service, identity, owner, onlyFlag string
	var yes, asJSON, acceptErrors bool
	var nf neutralizeFlags
	cmd := &cobra.Command{
		Use:   "restore BACKUP_ID (--service S | --new-db NAME [--filestore DIR] [--owner ROLE]) [--only database|filestore] [--neutralize | --no-neutralize] --yes",
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

With --only database or --only filestore one half of the backup is restored
and the other half of the target is left exactly as it was. Onto a service,
the safety backup is still a whole one and the half is swapped in the same
way: --only database replaces the database (checked as above; attachment files
it refers to that the kept filestore lacks are counted as a warning) and
leaves the filestore directory untouched; --only filestore replaces the
filestore directory and leaves the database and its sessions untouched (it is
never neutralized). Into a new database, --only database creates the database
without a filestore directory and --only filestore creates only the filestore
directory, for a database made another way. A backup that holds no filestore
cannot give --only filestore.

Ctrl-C or SIGTERM stops the restore; the target is left as it was.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			id, err := parseBackupID(args[0])
			if err != nil {
				return err
			}
			only, err := parseOnly(onlyFlag, nf, owner)
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
				return usageError{fmt.Errorf("restoring onto %s replaces %s (a safety backup of it goes to its primary destination first); add --yes to go ahead", service, replacedWhat(only))}
			}
			if newDB != "" {
				if err := core.ValidateDatabaseName(newDB); err != nil {
					return usageError{err}
				}
			}
			if err := nf.check(); err != nil {
				return err
			}
			b, err := a.engine.Catalog.Backup(ctx, id)
			if err != nil {
				return err
			}
			rule := core.DefaultNeutralize(b, core.RestoreOnto{Service: service})
			neutralize := false
			if only != core.RestoreFilestoreOnly {
				// The filestore alone has no database to neutralize.
				if neutralize, err = nf.resolve(rule, cmp.Or(service, "the new database")); err != nil {
					return err
				}
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
					Target: service, NewDB: newDB, FilestoreDir: filestore, Owner: owner, Neutralize: neutralize, AcceptErrors: acceptErrors, Confirmed: yes, Only: only})
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
				res, err = a.engine.RestoreToService(ctx, core.ServiceRestoreRequest{BackupID: id, Service: service, Neutralize: neutralize, IdentityFile: identity, AcceptErrors: acceptErrors, Only: only, Progress: progress})
			} else {
				res, err = a.engine.RestoreNewDB(ctx, core.RestoreRequest{BackupID: id, NewDB: newDB, FilestoreDir: filestore, Owner: owner, Neutralize: neutralize, IdentityFile: identity, AcceptErrors: acceptErrors, Only: only, Progress: progress})
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
	f.StringVar(&onlyFlag, "only", "", "restore one half of the backup, database or filestore, and leave the other half of the target as it is")
	return cmd
}

// parseOnly reads --only: "" is the whole backup. The filestore alone has
// no database to neutralize or own, so --neutralize and --owner do not go
// with it.
func parseOnly(value string, nf neutralizeFlags, owner string) (core.RestorePart, error) {
	if value == "" {
		return core.RestoreAll, nil
	}
	only, err := core.ParseRestorePart(value)
	if err != nil {
		return "", usageError{fmt.Errorf("--only %q is not a half of a backup; give --only database or --only filestore, or leave --only out to restore the whole backup", value)}
	}
	switch {
	case only == core.RestoreFilestoreOnly && nf.on:
		return "", usageError{fmt.Errorf("--neutralize does not go with --only filestore: neutralizing changes the database, which a restore of the filestore alone leaves as it is")}
	case only == core.RestoreFilestoreOnly && owner != "":
		return "", usageError{fmt.Errorf("--owner does not go with --only filestore: it names the owner of a new database, and a restore of the filestore alone creates none")}
	}
	return only, nil
}

// replacedWhat is what a restore of part only onto a service replaces.
func replacedWhat(only core.RestorePart) string {
	switch only {
	case core.RestoreDatabaseOnly:
		return "its database (its filestore is left as it is)"
	case core.RestoreFilestoreOnly:
		return "its filestore (its database is left as it is)"
	}
	return "all of its data"
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
	}
	switch {
	case res.Only == core.RestoreDatabaseOnly && service != "":
		fmt.Fprintf(w, "Backup %d: database restored onto %s as %s; its filestore was left untouched.\n", id, service, res.Database)
	case res.Only == core.RestoreDatabaseOnly:
		fmt.Fprintf(w, "Backup %d: database restored into %s; no filestore was restored.\n", id, res.Database)
	case res.Only == core.RestoreFilestoreOnly && service != "":
		fmt.Fprintf(w, "Backup %d: filestore restored onto %s in %s (%d files); its database was left untouched.\n", id, service, res.FilestoreDir, res.FilestoreFiles)
	case res.Only == core.RestoreFilestoreOnly:
		fmt.Fprintf(w, "Backup %d: filestore restored into %s (%d files); no database was restored or created.\n", id, res.FilestoreDir, res.FilestoreFiles)
	case service != "":
		fmt.Fprintf(w, "Backup %d restored onto %s: database %s, filestore %s (%d files).\n", id, service, res.Database, res.FilestoreDir, res.FilestoreFiles)
	default:
		fmt.Fprintf(w, "Backup %d restored into database %s, filestore %s (%d files).\n", id, res.Database, res.FilestoreDir, res.FilestoreFiles)
	}
	if res.Only != core.RestoreFilestoreOnly {
		fmt.Fprintln(w, neutralized)
	}
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
	switch {
	case res.MissingCount == 0:
	case res.Only == core.RestoreDatabaseOnly:
		fmt.Fprintf(w, "Warning: %d attachment file(s) the restored database refers to are not in the filestore it uses, which was not restored, e.g. %s\n", res.MissingCount, res.MissingFiles[0])
	case res.Only == core.RestoreFilestoreOnly:
		fmt.Fprintf(w, "Warning: %d attachment file(s) the database refers to are not in the restored filestore, e.g. %s\n", res.MissingCount, res.MissingFiles[0])
	default:
		fmt.Fprintf(w, "Warning: %d attachment file(s) the database refers to are not in the backup, e.g. %s\n", res.MissingCount, res.MissingFiles[0])
	}
	for _, l := range res.Warnings {
		fmt.Fprintln(w, "Warning: "+l)
	}
}
