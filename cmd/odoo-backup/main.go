// Command odoo-backup backs up Odoo services (a PostgreSQL database and its
// filestore) to S3-compatible buckets and local directories, and restores them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// app is what every command shares: where the catalog is, and the engine
// wired to the real catalog and stores once a command needs them.
type app struct {
	catalogPath string
	hostName    string // --host-name
	daemonFlags daemonFlags
	// readOnly opens the console without backup, restore, delete or edit.
	readOnly bool
	stdout   io.Writer
	stderr   io.Writer
	cat      *store.Catalog
	engine   *core.Engine
	// verbose sends the engine's log to stderr (see logs.go).
	verbose bool
	// warnings gathers the engine's warnings when its log is not shown.
	warnings warningSink
	// flags are the root's persistent flags, to see which were given.
	flags *pflag.FlagSet
}

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ error }

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	// Everything this command changes is recorded as done by this user.
	ctx = core.WithActor(ctx, core.CurrentActor())
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	applyUsageRules(root)
	helpRefused := refuseUnknownUnderHelp(root)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil && *helpRefused != nil {
		err = *helpRefused
	}
	if a.cat != nil {
		a.cat.Close()
	}
	if err == nil {
		// A failure is one sentence; the warnings on its way are in the
		// log, shown with --verbose.
		a.warnings.print(stderr)
	}
	if err == nil {
		return 0
	}
	var exit exitCode
	if errors.As(err, &exit) {
		return int(exit)
	}
	if errors.Is(err, core.ErrCatalogUnreachable) {
		return a.catalogUnreachable(cmd, err)
	}
	if ctx.Err() != nil && !errors.Is(err, core.ErrInterrupted) {
		// Ctrl-C or SIGTERM outside the engine's operations, which say
		// themselves what an interruption left.
		err = fmt.Errorf("interrupted before it finished: %s", message(err))
	}
	// An interruption exits 1 like any operation that did not finish; the
	// message says what it left.
	fmt.Fprintln(stderr, "odoo-backup: "+message(err))
	if isUsage(err) {
		return 2
	}
	return 1
}

// exitCode ends a command with a code and no message (the command already
// printed what it had to say).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// message is the one sentence shown for an error.
func message(err error) string {
	var unreachable *store.UnreachableError
	var ue *core.UserError
	switch {
	case errors.As(err, &unreachable):
		return withAdvice(fmt.Sprintf("cannot open the catalog %s: the directory %s does not exist or is not writable (%v)", unreachable.Path, unreachable.Dir, unreachable.Cause), err)
	case errors.As(err, &ue):
		return withAdvice(ue.Msg, err)
	}
	return withAdvice(err.Error(), err)
}

// daemonFlagNames are the root's flags that set how the daemon runs; the
// console (which runs the schedules with its own fixed settings while no
// daemon does) takes none of them.
var daemonFlagNames = []string{"shutdown-timeout", "max-concurrent", "notify-webhook", "notify-timeout", "metrics-listen"}

// daemonOnly refuses, as wrong usage, a daemon's flag given to the console,
// where it would be dropped without a word.
func daemonOnly(flags *pflag.FlagSet) error {
	for _, name := range daemonFlagNames {
		if flags.Changed(name) {
			return usageError{fmt.Errorf("--%s only goes with --daemon; the console does not take it", name)}
		}
	}
	return nil
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "odoo-backup",
		Short: "Back up and restore Odoo services to S3-compatible buckets and local directories",
		Long: `odoo-backup backs up Odoo services (a PostgreSQL database and its filestore)
to several destinations, each with its own schedule and retention, and restores
them safely. Run it without a command to see the status of every service.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.daemonFlags.enabled {
				return a.daemon(cmd.Context())
			}
			if err := daemonOnly(cmd.Flags()); err != nil {
				return err
			}
			return a.home(cmd.Context())
		},
	}
	root.PersistentFlags().StringVar(&a.catalogPath, "catalog", "", "catalog: an SQLite file, or postgres://USER@HOST:PORT/DATABASE for a catalog shared by several hosts (default $ODOO_BACKUP_CATALOG or $XDG_DATA_HOME/odoo-backup/catalog.db)")
	root.PersistentFlags().StringVar(&a.hostName, "host-name", "", "this host's name in a fleet sharing one catalog (default $ODOO_BACKUP_HOST, else the machine's name)")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "show the engine's log on stderr (the daemon always logs)")
	root.PersistentFlags().StringVar(&a.daemonFlags.logFormat, "log-format", "text", "log format, text or json: the daemon's, or a command's with it shown")
	a.flags = root.PersistentFlags()
	f := root.Flags()
	f.BoolVar(&a.readOnly, "read-only", false, "open the console showing everything but offering no backup, restore, delete or edit")
	f.BoolVar(&a.daemonFlags.enabled, "daemon", false, "run the schedules headless (for systemd)")
	f.DurationVar(&a.daemonFlags.shutdownTimeout, "shutdown-timeout", 10*time.Minute, "on SIGTERM, how long running backups may finish before they are aborted")
	f.IntVar(&a.daemonFlags.maxConcurrent, "max-concurrent", 2, "most backups the daemon runs at once, across all services")
	f.StringVar(&a.daemonFlags.notifyWebhook, "notify-webhook", "", "post a JSON message (Slack-compatible \"text\") here when a configuration fails and when it recovers (the old form of: odoo-backup notify add)")
	f.DurationVar(&a.daemonFlags.notifyTimeout, "notify-timeout", 10*time.Second, "how long one attempt to deliver a notification or a ping may take")
	f.StringVar(&a.daemonFlags.metricsListen, "metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics (HOST:PORT or :PORT; off by default)")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		a.destinationCommand(),
		a.keyCommand(),
		a.serviceCommand(),
		a.configCommand(),
		a.templateCommand(),
		a.backupCommand(),
		a.backupsCommand(),
		a.restoreCommand(), a.uploadCommand(),
		a.downloadCommand(),
		a.verifyCommand(),
		a.statusCommand(),
		a.rotateCommand(),
		a.deleteCommand(),
		a.catalogCommand(),
		a.copyCommand(),
		a.drillCommand(), a.drillsCommand(),
		a.auditCommand(),
		a.requestsCommand(),
		a.roleCommand(),
		a.runbookCommand(),
		a.notifyCommand(),
		a.hookCommand(),
	)
	return root
}

// dataDir is where odoo-backup keeps its own files by default.
func dataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "odoo-backup")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "odoo-backup")
	}
	return filepath.Join(home, ".local", "share", "odoo-backup")
}

// catalogKeyFile is the file holding the key that seals the secrets of a
// catalog kept in PostgreSQL: $ODOO_BACKUP_CATALOG_KEY, else catalog.key in
// this host's data directory. Every host of a fleet needs the same key.
func (a *app) catalogKeyFile() string {
	if k := os.Getenv("ODOO_BACKUP_CATALOG_KEY"); k != "" {
		return k
	}
	return filepath.Join(dataDir(), "catalog.key")
}

func (a *app) resolveCatalogPath() string {
	switch {
	case a.catalogPath != "":
		return a.catalogPath
	case os.Getenv("ODOO_BACKUP_CATALOG") != "":
		return os.Getenv("ODOO_BACKUP_CATALOG")
	}
	return filepath.Join(dataDir(), "catalog.db")
}

// open opens the catalog and wires the engine.
func (a *app) open(ctx context.Context) error {
	if a.cat != nil {
		return nil
	}
	if err := a.checkLogFormat(); err != nil {
		return err
	}
	switch {
	case a.hostName != "":
		if err := core.ValidateHostName(a.hostName); err != nil {
			return usageError{fmt.Errorf("--host-name: %s", message(err))}
		}
		core.SetHostName(a.hostName)
	case os.Getenv("ODOO_BACKUP_HOST") != "":
		if err := core.ValidateHostName(os.Getenv("ODOO_BACKUP_HOST")); err != nil {
			return usageError{fmt.Errorf("ODOO_BACKUP_HOST: %s", message(err))}
		}
		core.SetHostName(os.Getenv("ODOO_BACKUP_HOST"))
	default:
		// The machine's name: a run in a process that ran another as
		// another host (the tests run many in one) is this machine again.
		core.SetHostName("")
	}
	catalogPath := a.resolveCatalogPath()
	// Beside the catalog, as its key is; a catalog on PostgreSQL keeps both
	// in this host's data directory, since each host needs its own copy.
	localDir := filepath.Dir(catalogPath)
	var opts []store.Option
	if store.IsPostgres(catalogPath) {
		localDir = dataDir()
		opts = append(opts, store.WithKeyFile(a.catalogKeyFile()))
	}
	cat, err := store.Open(ctx, catalogPath, opts...)
	if err != nil {
		return err
	}
	a.cat = cat
	a.engine = &core.Engine{
		Catalog:      cat,
		OpenStore:    s3.Open,
		PoolCacheDir: filepath.Join(localDir, "pool-keys"),
		// Commands print their own outcome; the log only when asked.
		Log: a.commandLogger(),
	}
	return nil
}

// withCatalog wraps a command body that needs the catalog.
func (a *app) withCatalog(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := a.openReconciled(cmd.Context()); err != nil {
			return err
		}
		return fn(cmd.Context(), args)
	}
}

// openReconciled opens the catalog and first cleans up after backups of
// this host whose process died (kill -9, a power cut): their rows become
// failed and their partial files go, whoever comes next, daemon or not.
// It reads only the running rows, so it costs nothing when there is none.
// A failure to reconcile is a warning: the command itself can still run.
func (a *app) openReconciled(ctx context.Context) error {
	if err := a.open(ctx); err != nil {
		return err
	}
	if _, err := a.engine.RecoverCrashed(ctx); err != nil {
		a.engine.Log.Warn("cleaning up after interrupted backups failed", "error", err)
	}
	return nil
}
