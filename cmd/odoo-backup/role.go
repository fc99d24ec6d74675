package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) roleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role",
		Short: "Grant database users the viewer, operator or admin role on a PostgreSQL catalog",
		Long: `Roles say what each database user may do with a catalog kept in PostgreSQL,
and PostgreSQL itself enforces them with its grants:

  viewer    services, history, status and the audit trail; never a secret,
            no download
  operator  also backs up, verifies, rotates, drills and downloads; it reads
            the destinations' and services' secrets, since it must reach them
  admin     also restores, uploads, deletes, changes every configuration and
            grants roles

The catalog's owner (the user that created it) can do everything, and its
first grant creates the roles. Users log in with their own database user in
the catalog URL; create each one first, as a PostgreSQL superuser:
  CREATE ROLE alice LOGIN PASSWORD '...';
On an SQLite catalog there are no roles: the file's owner can do everything.`,
	}
	cmd.AddCommand(a.roleGrantCommand(), a.roleRevokeCommand(), a.roleListCommand())
	return cmd
}

func (a *app) roleGrantCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "grant USER viewer|operator|admin",
		Short: "Give an existing database user a role on the catalog, in place of any other",
		Example: `  odoo-backup --catalog postgres://admin@db/catalog role grant alice operator
  odoo-backup role grant bob viewer`,
		Args: cobra.ExactArgs(2),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			role, err := core.ParseRole(args[1])
			if err != nil {
				return usageError{err}
			}
			if err := a.cat.GrantRole(ctx, args[0], role); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Database user %s now has the %s role on this catalog.\n", args[0], role)
			return nil
		}),
	}
}

func (a *app) roleRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke USER",
		Short: "Take every role on the catalog from a database user",
		Args:  cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := a.cat.RevokeRole(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Database user %s has no role on this catalog any more.\n", args[0])
			return nil
		}),
	}
}

func (a *app) roleListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the database users with a role on the catalog, and its owner",
		Args:  cobra.NoArgs,
		RunE: a.withCatalog(func(ctx context.Context, _ []string) error {
			members, err := a.cat.Roles(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, members)
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "USER\tROLE")
			for _, m := range members {
				fmt.Fprintf(tw, "%s\t%s\n", m.User, m.Role)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
