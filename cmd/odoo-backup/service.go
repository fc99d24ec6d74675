package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) serviceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Manage the Odoo services to protect"}
	cmd.AddCommand(a.serviceAddCommand(), a.serviceUpdateCommand(), a.serviceListCommand(), a.serviceRemoveCommand(), a.serviceCopyCommand())
	return cmd
}

func (a *app) serviceAddCommand() *cobra.Command {
	var (
		db, host, pgUser, passwordEnv, passwordRef, filestore, template, odooConf, svcHost string
		rpo, rto                                                                           string
		port                                                                               int
		noCheck, force                                                                     bool
	)
	var cmd *cobra.Command
	cmd = &cobra.Command{
		Use:   "add NAME --db DB",
		Short: "Add an Odoo service: its database connection and filestore",
		Example: `  odoo-backup service add production --from-odoo-conf /etc/odoo/odoo.conf --db prod
  PGPASSWORD_PROD=... odoo-backup service add production --db prod --pg-host 127.0.0.1 \
      --pg-user odoo --pg-password-env PGPASSWORD_PROD --filestore /var/lib/odoo/filestore/prod --template standard`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			// The name first: nothing should connect for a service that
			// cannot exist.
			if err := core.ValidateName("service", args[0]); err != nil {
				return usageError{err}
			}
			if err := portFlag(cmd, port); err != nil {
				return err
			}
			s := core.Service{Name: args[0]}
			if err := targetFlags(cmd, &s, rpo, rto); err != nil {
				return err
			}
			if cmd.Flags().Changed("host") {
				if err := hostFlag(svcHost); err != nil {
					return err
				}
				s.Host = svcHost
			}
			var conf core.OdooConf
			if odooConf != "" {
				var err error
				if conf, err = core.ReadOdooConf(odooConf); err != nil {
					return err
				}
				s.OdooConf, _ = filepath.Abs(odooConf)
			}
			// odoo.conf first, then explicit flags win, then the defaults.
			s.DB = core.DBConn{Host: conf.DBHost, Port: conf.DBPort, User: conf.DBUser, Password: conf.DBPassword, Database: db}
			overrideConn(&s.DB, host, port, pgUser)
			core.CompleteConnection(&s.DB)
			if pw, ok, err := secretFromFlags("pg-password-env", passwordEnv, "pg-password-ref", passwordRef); err != nil {
				return err
			} else if ok {
				s.DB.Password = pw
			}
			if s.DB.Database == "" && odooConf != "" {
				// db_name, else the one database dbfilter matches, as Odoo picks it.
				name, err := core.OdooConfDatabase(ctx, conf, core.ListOwnedDatabases(s.DB))
				if err != nil {
					return odooConfDatabaseError(err)
				}
				s.DB.Database = name
			}
			if s.DB.Database == "" {
				return usageError{fmt.Errorf("give the database with --db DB, or its odoo.conf with --from-odoo-conf FILE")}
			}
			if err := core.ValidateDatabaseName(s.DB.Database); err != nil {
				if db != "" {
					return usageError{err} // a --db the command cannot use
				}
				return err // odoo.conf's db_name
			}
			s.FilestoreDir = filestore
			if err := core.CompleteFilestore(&s, conf.DataDir); err != nil {
				return err
			}
			if err := core.AddService(ctx, a.cat, &s, core.ServiceOptions{Template: template, Check: !noCheck, Shared: force}); err != nil {
				return serviceSaveError(err, s.Name, "added")
			}
			fmt.Fprintf(a.stdout, "Service %s added: database %s on %s as %s, filestore %s.\n", s.Name, s.DB.Database, s.DB.Address(), s.DB.User, s.FilestoreDir)
			if t := targetsText(s); t != "" {
				fmt.Fprintf(a.stdout, "Recovery targets: %s.\n", t)
			}
			if h := core.ServiceHost(s); h != core.HostName() {
				fmt.Fprintf(a.stdout, "It belongs to host %s: the daemon of %s runs its schedules, and its filestore is read there.\n", h, h)
			}
			if _, err := os.Stat(s.FilestoreDir); err != nil && core.ServiceHost(s) == core.HostName() {
				fmt.Fprintf(a.stdout, "Note: %s does not exist yet; backups fail if the database has attachment files.\n", s.FilestoreDir)
			}
			if template == "" {
				fmt.Fprintf(a.stdout, "Next: give it a destination with: odoo-backup config set %s DESTINATION --frequency daily --keep 7\n", s.Name)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "PostgreSQL database of the service")
	f.StringVar(&host, "pg-host", "", "PostgreSQL host (default localhost, or db_host of odoo.conf)")
	f.IntVar(&port, "pg-port", 0, "PostgreSQL port (default 5432, or db_port of odoo.conf)")
	f.StringVar(&pgUser, "pg-user", "", "PostgreSQL user (default the current user, or db_user of odoo.conf)")
	f.StringVar(&passwordEnv, "pg-password-env", "", "name of the environment variable holding the PostgreSQL password (read now, stored encrypted)")
	f.StringVar(&passwordRef, "pg-password-ref", "", "where the PostgreSQL password is kept, read at each use instead of stored: env:VARIABLE or file:PATH (owner-only)")
	f.StringVar(&filestore, "filestore", "", "the database's filestore directory (default <data_dir>/filestore/<db>)")
	f.StringVar(&template, "template", "", "give the service the configurations of this template")
	f.StringVar(&odooConf, "from-odoo-conf", "", "read db_host, db_port, db_user, db_password, data_dir and, without --db, db_name (or the one database dbfilter matches) from this odoo.conf")
	f.BoolVar(&noCheck, "no-check", false, "add the service without checking that its database answers")
	f.BoolVar(&force, "force", false, "add the service even though another service uses the same database or filestore")
	f.StringVar(&svcHost, "host", "", "the host that holds the service's filestore: its daemon runs the service's schedules (default this host, see --host-name)")
	addTargetFlags(cmd, &rpo, &rto)
	return cmd
}

// addTargetFlags adds --rpo and --rto to a command that saves a service.
func addTargetFlags(cmd *cobra.Command, rpo, rto *string) {
	cmd.Flags().StringVar(rpo, "rpo", "", "RPO target: the newest good backup may be at most this old (30m, 2h, 1d; 0 or none: no target); older fails status")
	cmd.Flags().StringVar(rto, "rto", "", "RTO target: a restore (measured by drills and real restores) may take at most this long (0 or none: no target); longer is a warning in status")
}

// targetFlags reads --rpo and --rto, those given, into s.
func targetFlags(cmd *cobra.Command, s *core.Service, rpo, rto string) error {
	for _, t := range []struct {
		flag, value string
		seconds     *int64
	}{{"rpo", rpo, &s.RPOTargetSeconds}, {"rto", rto, &s.RTOTargetSeconds}} {
		if !cmd.Flags().Changed(t.flag) {
			continue
		}
		d, err := core.ParseTarget(t.value)
		if err != nil {
			return usageError{fmt.Errorf("--%s %s", t.flag, message(err))}
		}
		*t.seconds = int64(d / time.Second)
	}
	return nil
}

// targetsText says a service's recovery targets ("RPO 2h, RTO 30m"); ""
// when it has none.
func targetsText(s core.Service) string {
	var parts []string
	if s.RPOTargetSeconds > 0 {
		parts = append(parts, "RPO "+core.FormatTarget(s.RPOTarget()))
	}
	if s.RTOTargetSeconds > 0 {
		parts = append(parts, "RTO "+core.FormatTarget(s.RTOTarget()))
	}
	return strings.Join(parts, ", ")
}

// hostFlag checks the host given with --host.
func hostFlag(host string) error {
	if err := core.ValidateHostName(host); err != nil {
		return usageError{fmt.Errorf("--host: %s", message(err))}
	}
	return nil
}

func (a *app) serviceListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List services",
		Args:  cobra.NoArgs,
		RunE: a.withCatalog(func(ctx context.Context, _ []string) error {
			svcs, err := a.cat.Services(ctx)
			if err != nil {
				return err
			}
			// A catalog of one host names none: it is this one.
			for i := range svcs {
				svcs[i].Host = core.ServiceHost(svcs[i])
			}
			if asJSON {
				if svcs == nil {
					svcs = []core.Service{}
				}
				return writeJSON(a.stdout, svcs)
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "NAME\tHOST\tDATABASE\tSERVER\tUSER\tFILESTORE\tRPO TARGET\tRTO TARGET")
			for _, s := range svcs {
				rpo, rto := targetText(s.RPOTarget()), targetText(s.RTOTarget())
				if s.Placeholder {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s (give it one with: odoo-backup service add %s --db DB ...)\t—\t—\t%s\t%s\n", s.Name, s.Host, orDash(s.DB.Database), s.ServerLabel(), s.Name, rpo, rto)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Host, s.DB.Database, s.ServerLabel(), s.DB.User, s.FilestoreDir, rpo, rto)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) serviceRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Stop protecting a service (its backups stay in the history)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := a.cat.RemoveService(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Service %s removed; its backups stay in the history.\n", args[0])
			return nil
		}),
	}
}

// serviceUpdateCommand changes how a service's database is reached: its
// server, user and password (entered again, e.g. after the catalog's key
// file was lost).
func (a *app) serviceUpdateCommand() *cobra.Command {
	var (
		host, pgUser, passwordEnv, passwordRef, svcHost string
		rpo, rto                                        string
		port                                            int
		noCheck, force                                  bool
	)
	var cmd *cobra.Command
	cmd = &cobra.Command{
		Use:   "update NAME [--pg-host H] [--pg-port P] [--pg-user U] [--pg-password-env VAR | --pg-password-ref REF] [--host H] [--rpo D] [--rto D]",
		Short: "Change a service's PostgreSQL connection or password (after checking that it works), move it to another host, or set its recovery targets",
		Example: `  PGPASSWORD_PROD=... odoo-backup service update production --pg-password-env PGPASSWORD_PROD
  odoo-backup service update production --pg-password-ref file:/etc/odoo-backup/production.pgpass
  odoo-backup service update production --host odoo-2
  odoo-backup service update production --rpo 2h --rto 30m
  odoo-backup service update production --rto none`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := portFlag(cmd, port); err != nil {
				return err
			}
			s, err := a.cat.Service(ctx, args[0])
			if err != nil {
				return err
			}
			pw, havePW, err := secretFromFlags("pg-password-env", passwordEnv, "pg-password-ref", passwordRef)
			if err != nil {
				return err
			}
			moving := cmd.Flags().Changed("host")
			if moving {
				if err := hostFlag(svcHost); err != nil {
					return err
				}
			}
			connection := havePW || host != "" || port != 0 || pgUser != ""
			targets := cmd.Flags().Changed("rpo") || cmd.Flags().Changed("rto")
			if !connection && !moving && !targets {
				return usageError{fmt.Errorf("say what to change with --pg-host, --pg-port, --pg-user, --pg-password-env, --pg-password-ref, --host, --rpo or --rto")}
			}
			if err := targetFlags(cmd, &s, rpo, rto); err != nil {
				return err
			}
			if havePW {
				s.DB.Password = pw
			}
			overrideConn(&s.DB, host, port, pgUser)
			from := core.ServiceHost(s)
			if moving {
				s.Host = svcHost
			}
			// A move alone changes no connection: nothing to check, and the
			// database may answer only on the host it moves to.
			if err := core.UpdateService(ctx, a.cat, s, core.ServiceOptions{Check: !noCheck && connection, Shared: force}); err != nil {
				return serviceSaveError(err, s.Name, "changed")
			}
			if connection {
				fmt.Fprintf(a.stdout, "Service %s updated: database %s on %s as %s.\n", s.Name, s.DB.Database, s.DB.Address(), s.DB.User)
			}
			switch {
			case moving && from != svcHost:
				fmt.Fprintf(a.stdout, "Service %s moved from host %s to host %s: the daemon of %s runs its schedules from now on.\n", s.Name, from, svcHost, svcHost)
			case moving:
				fmt.Fprintf(a.stdout, "Service %s is already on host %s.\n", s.Name, svcHost)
			}
			if targets {
				fmt.Fprintf(a.stdout, "Service %s recovery targets: RPO %s, RTO %s.\n", s.Name, targetText(s.RPOTarget()), targetText(s.RTOTarget()))
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&host, "pg-host", "", "new PostgreSQL host")
	f.IntVar(&port, "pg-port", 0, "new PostgreSQL port")
	f.StringVar(&pgUser, "pg-user", "", "new PostgreSQL user")
	f.StringVar(&passwordEnv, "pg-password-env", "", "name of the environment variable holding the PostgreSQL password (read now, stored encrypted)")
	f.StringVar(&passwordRef, "pg-password-ref", "", "where the PostgreSQL password is kept, read at each use instead of stored: env:VARIABLE or file:PATH (owner-only)")
	f.BoolVar(&noCheck, "no-check", false, "change the service without checking that its database answers")
	f.BoolVar(&force, "force", false, "change the service even though another service uses the same database or filestore")
	f.StringVar(&svcHost, "host", "", "move the service to this host: the one that now holds its filestore, whose daemon runs its schedules")
	addTargetFlags(cmd, &rpo, &rto)
	return cmd
}

// odooConfDatabaseError asks for --db when odoo.conf does not name one
// database, naming the candidates.
func odooConfDatabaseError(err error) error {
	var ce *core.OdooConfDatabaseError
	if !errors.As(err, &ce) {
		return core.Userf(err, "cannot list the databases to find the one odoo.conf means: %s; give the database with --db", message(err))
	}
	if len(ce.Candidates) == 0 {
		return usageError{core.Userf(err, "%s; give the database with --db", ce)}
	}
	return usageError{core.Userf(err, "%s; give the database with --db (candidates: %s)", ce, strings.Join(ce.Candidates, ", "))}
}

// serviceSaveError phrases why a service was not added or changed.
func serviceSaveError(err error, name, verb string) error {
	var check *core.ConnectionCheckError
	if errors.As(err, &check) {
		return core.Userf(err, "%s (the service was not %s; use --no-check to save it anyway)", message(check.Err), verb)
	}
	if sr, ok := core.IsSharedResource(err); ok {
		return core.Userf(err, "%s, so %s was not %s: a restore of one would replace the other's data; give another --db, --pg-host/--pg-port or --filestore, or add --force if both really are one Odoo", sr, name, verb)
	}
	return err
}

// secretFromFlags reads a secret given by value through an environment
// variable (--X-env: read now, stored encrypted in the catalog) or by
// reference (--X-ref env:VAR or file:PATH: only the reference is stored, and
// the secret is read each time it is used). ok is false when neither flag
// was given.
func secretFromFlags(envFlag, envVar, refFlag, ref string) (s core.Secret, ok bool, err error) {
	switch {
	case envVar != "" && ref != "":
		return "", false, usageError{fmt.Errorf("give either --%s or --%s, not both", envFlag, refFlag)}
	case envVar != "":
		v, set := os.LookupEnv(envVar)
		if !set || v == "" {
			return "", false, usageError{fmt.Errorf("the environment variable %s named by --%s is not set", envVar, envFlag)}
		}
		return core.Secret(v), true, nil
	case ref != "":
		// A relative file means the same file to the daemon, which runs
		// from another directory.
		if path, isFile := strings.CutPrefix(ref, "file:"); isFile && path != "" {
			abs, err := filepath.Abs(path)
			if err != nil {
				return "", false, err
			}
			ref = "file:" + abs
		}
		s, err := core.SecretRef(ref)
		if err != nil {
			return "", false, usageError{fmt.Errorf("--%s: %s", refFlag, message(err))}
		}
		return s, true, nil
	}
	return "", false, nil
}

// portFlag refuses a --pg-port that is no TCP port as wrong usage, like
// any flag value the command cannot use.
func portFlag(cmd *cobra.Command, port int) error {
	if cmd.Flags().Changed("pg-port") && (port < 1 || port > 65535) {
		return usageError{fmt.Errorf("--pg-port %d is not a port; give one between 1 and 65535", port)}
	}
	return nil
}

// overrideConn applies the connection flags that were given over what
// odoo.conf or the catalog said.
func overrideConn(c *core.DBConn, host string, port int, user string) {
	if host != "" {
		c.Host = host
	}
	if port != 0 {
		c.Port = port
	}
	if user != "" {
		c.User = user
	}
}

// targetText is a recovery target as a table shows it: "2h", or "none".
func targetText(d time.Duration) string {
	if d <= 0 {
		return "none"
	}
	return core.FormatTarget(d)
}
