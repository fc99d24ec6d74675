package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) serviceCopyCommand() *cobra.Command {
	var db, filestore, identity, owner string
	var asJSON, acceptErrors bool
	var nf neutralizeFlags
	cmd := &cobra.Command{
		Use:   "copy SOURCE NEW --db NEWDB [--filestore DIR] [--owner ROLE] [--no-neutralize]",
		Short: "Copy a service into a new database and register it as a new service",
		Long: `Copy a service as Odoo's "duplicate database" does: a fresh backup of SOURCE
goes to its primary destination (kind copy), is restored into the new database
NEWDB on the same PostgreSQL server and a new filestore, and NEW is registered
with the same connection and the same backup configurations as SOURCE. SOURCE
is not changed.

The copy is neutralized (mail servers and crons off, payments disabled,
database.is_neutralized set, a new database.uuid and database.secret), since
it runs beside SOURCE; --no-neutralize keeps SOURCE's mail servers and crons
and only gives it a new database.uuid and database.secret, as Odoo's
duplicate does.

The new database is checked as a restore checks it before it gets its name;
--accept-errors keeps one that fails its checks.

The copy belongs to --owner (an existing role that is not a superuser; default
the owner of SOURCE's database), its filestore to the owner of the directory it
goes in.`,
		Args: cobra.ExactArgs(2),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if db == "" {
				return usageError{fmt.Errorf("give the new database's name with --db")}
			}
			if err := core.ValidateName("service", args[1]); err != nil {
				return usageError{err}
			}
			if err := core.ValidateDatabaseName(db); err != nil {
				return usageError{err}
			}
			rule := core.DefaultNeutralize(core.Backup{Service: args[0], Kind: core.KindCopy}, core.RestoreOnto{ServiceCopy: true})
			neutralize, err := nf.resolve(rule, args[1])
			if err != nil {
				return err
			}
			host, remote, err := a.remoteHost(ctx, args[0])
			if err != nil {
				return err
			}
			var res core.CopyServiceResult
			if remote {
				if err := noIdentityRemote(identity, host); err != nil {
					return err
				}
				var r core.Request
				r, err = a.request(ctx, core.Request{Kind: core.RequestServiceCopy, Host: host, Service: args[0], Params: core.RequestParams{
					NewName: args[1], NewDB: db, FilestoreDir: filestore, Neutralize: neutralize, Owner: owner, AcceptErrors: acceptErrors}}, "copy "+args[0])
				if err == nil {
					err = requestResult(r, &res)
				}
			} else {
				progress, done := progressPrinter(a.stderr)
				res, err = a.engine.CopyService(ctx, core.CopyServiceRequest{Source: args[0], NewName: args[1], NewDB: db, FilestoreDir: filestore, Neutralize: neutralize, Owner: owner, IdentityFile: identity, AcceptErrors: acceptErrors, Progress: progress})
				done()
			}
			if err != nil {
				return checksAdvice(err)
			}
			if asJSON {
				return writeJSON(a.stdout, res)
			}
			fmt.Fprintf(a.stdout, "Backup %d of %s taken to %s.\n", res.Backup.ID, args[0], res.Backup.Destination)
			fmt.Fprintf(a.stdout, "Service %s created: database %s, filestore %s (%d files), new database.uuid and database.secret, %d configuration(s) as %s.\n",
				res.Service.Name, res.Restore.Database, res.Restore.FilestoreDir, res.Restore.FilestoreFiles, len(res.Configurations), args[0])
			fmt.Fprintln(a.stdout, neutralizedLine(res.Restore, nf, rule))
			if res.Restore.IsNeutralized {
				for _, l := range res.Restore.Neutralized {
					fmt.Fprintln(a.stdout, "  "+l)
				}
			}
			if c := res.Restore.Checks; c.Accepted {
				fmt.Fprintf(a.stdout, "Warning: the copied database failed its checks (%s) and was kept because --accept-errors was given.\n", c.Summary())
			} else if len(c.Ran) > 0 {
				fmt.Fprintf(a.stdout, "Checks passed: %s.\n", strings.Join(c.Ran, ", "))
			}
			if res.Restore.MissingCount > 0 {
				fmt.Fprintf(a.stdout, "Warning: %d attachment file(s) the database refers to were not in the source's filestore, e.g. %s\n", res.Restore.MissingCount, res.Restore.MissingFiles[0])
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "the new database, on the source's PostgreSQL server")
	f.StringVar(&filestore, "filestore", "", "the new filestore directory (default beside the source's)")
	f.StringVar(&owner, "owner", "", "role that owns the new database and every object in it (default the owner of SOURCE's database)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.BoolVar(&acceptErrors, "accept-errors", false, "create the copy even when the restored database fails its checks")
	f.BoolVar(&nf.off, "no-neutralize", false, "keep the copy's mail servers and crons on (it still gets a new database uuid and secret)")
	f.StringVar(&identity, "identity", "", "age identity file that decrypts the copy backup, when the source's primary keeps no key on this host")
	return cmd
}
