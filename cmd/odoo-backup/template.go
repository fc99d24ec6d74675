package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) templateCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "template", Short: "Named sets of configurations that new services start with"}
	cmd.AddCommand(a.templateAddCommand(), a.templateSetCommand(), a.templateUnsetCommand(), a.templateListCommand(), a.templateRemoveCommand())
	return cmd
}

func (a *app) templateAddCommand() *cobra.Command {
	var fromService string
	cmd := &cobra.Command{
		Use:   "add NAME [--from-service S]",
		Short: "Create a template, empty or with a copy of a service's configurations",
		Example: `  odoo-backup template add standard
  odoo-backup template set standard s3-eu --frequency hourly --keep 24 --primary
  odoo-backup service add shop --db shop --template standard`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := core.ValidateName("template", args[0]); err != nil {
				return usageError{err}
			}
			t := core.Template{Name: args[0]}
			if err := core.AddTemplate(ctx, a.cat, &t, fromService); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Template %s added with %d configuration(s).\n", t.Name, len(t.Configurations))
			return nil
		}),
	}
	cmd.Flags().StringVar(&fromService, "from-service", "", "start with the configurations of this service")
	return cmd
}

func (a *app) templateSetCommand() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "set TEMPLATE DESTINATION",
		Short: "Create or change a template's configuration on a destination",
		Args:  cobra.ExactArgs(2),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := flags.check(); err != nil {
				return err
			}
			c, err := core.SetConfiguration(ctx, a.cat, flags.request(core.ConfigOwner{Template: true, Name: args[0]}, args[1]))
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Template %s → %s: %s, %s%s\n", args[0], args[1], c.Schedule.Describe(c.Frequency), c.Retention, primaryMark(c.Primary))
			return nil
		}),
	}
	flags.register(cmd.Flags())
	return cmd
}

func (a *app) templateUnsetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "unset TEMPLATE DESTINATION",
		Short: "Remove a template's configuration on a destination",
		Args:  cobra.ExactArgs(2),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := core.RemoveConfiguration(ctx, a.cat, core.ConfigOwner{Template: true, Name: args[0]}, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Template %s no longer includes %s.\n", args[0], args[1])
			return nil
		}),
	}
}

func (a *app) templateRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a template (services made from it keep their configurations)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := core.RemoveTemplate(ctx, a.cat, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Template %s removed.\n", args[0])
			return nil
		}),
	}
}

func (a *app) templateListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List templates and their configurations",
		Args:  cobra.NoArgs,
		RunE: a.withCatalog(func(ctx context.Context, _ []string) error {
			ts, err := a.cat.Templates(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				if ts == nil {
					ts = []core.Template{}
				}
				for i := range ts {
					if ts[i].Configurations == nil {
						ts[i].Configurations = []core.TemplateConfiguration{}
					}
				}
				return writeJSON(a.stdout, ts)
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "TEMPLATE\tDESTINATION\tFREQUENCY\tRETENTION\tPRIMARY")
			for _, t := range ts {
				if len(t.Configurations) == 0 {
					fmt.Fprintf(tw, "%s\t—\t\t\t\n", t.Name)
				}
				for _, c := range t.Configurations {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, c.Destination, c.Frequency, c.Retention, map[bool]string{true: "★", false: ""}[c.Primary])
				}
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
