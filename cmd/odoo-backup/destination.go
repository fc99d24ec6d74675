package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) destinationCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "destination", Short: "Manage storage destinations (S3 buckets, local directories)"}
	cmd.AddCommand(a.destinationAddCommand(), a.destinationListCommand(), a.destinationRemoveCommand(), a.destinationUpdateCommand(), a.destinationTestCommand())
	return cmd
}

func (a *app) destinationAddCommand() *cobra.Command {
	var d core.Destination
	var secretEnv, secretRef, sse string
	var encryptKey, encryptRecipient, encryptPassphraseEnv, layout, keyNote string
	var lockMode, lockDays string
	var cmd *cobra.Command
	cmd = &cobra.Command{
		Use:   "add NAME (--dir PATH | --endpoint HOST:PORT --bucket B) [--layout pool|zip] [--object-lock governance|compliance --lock-days N]",
		Short: "Add a destination, after checking that it can be written, read and deleted",
		Example: `  odoo-backup destination add local --dir /var/backups/odoo
  S3_SECRET=... odoo-backup destination add s3-eu --endpoint s3.eu-west-1.amazonaws.com:443 \
      --bucket acme-odoo --region eu-west-1 --prefix prod --access-key AKIA... --secret-key-env S3_SECRET`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := core.ValidateName("destination", args[0]); err != nil {
				return usageError{err}
			}
			d.Name = args[0]
			switch {
			case d.Local.Dir != "" && d.S3.Endpoint != "":
				return usageError{fmt.Errorf("give either --dir or --endpoint, not both")}
			case d.Local.Dir != "":
				if sse != "" || d.S3.SSEKMSKeyID != "" || d.S3.CAFile != "" || d.S3.NoTLS {
					return usageError{fmt.Errorf("--sse, --sse-kms-key-id, --ca-file and --no-tls are for S3 destinations; drop them with --dir")}
				}
				d.Kind = core.DestinationLocal
			case d.S3.Endpoint != "":
				if d.S3.Bucket == "" {
					return usageError{fmt.Errorf("an S3 destination needs --bucket")}
				}
				d.Kind = core.DestinationS3
				if strings.Contains(d.S3.Endpoint, "://") {
					return usageError{fmt.Errorf("--endpoint takes HOST:PORT without a scheme; use --no-tls for plain HTTP")}
				}
				if secret, ok, err := secretFromFlags("secret-key-env", secretEnv, "secret-key-ref", secretRef); err != nil {
					return err
				} else if ok {
					d.S3.SecretKey = secret
				}
				switch strings.ToLower(sse) {
				case "":
				case "s3", "sse-s3":
					d.S3.SSE = core.SSES3
				case "kms", "sse-kms":
					d.S3.SSE = core.SSEKMS
				default:
					return usageError{fmt.Errorf("--sse %q is not supported; use --sse s3 or --sse kms", sse)}
				}
				if d.S3.SSEKMSKeyID != "" && d.S3.SSE != core.SSEKMS {
					return usageError{fmt.Errorf("--sse-kms-key-id needs --sse kms")}
				}
			default:
				return usageError{fmt.Errorf("give --dir PATH for a local directory or --endpoint HOST:PORT --bucket B for S3")}
			}
			if err := limitFlags(cmd, &d); err != nil {
				return err
			}
			if err := destinationEncryption(&d, encryptKey, encryptRecipient, encryptPassphraseEnv); err != nil {
				return err
			}
			if cmd.Flags().Changed("key-note") {
				encrypted := encryptKey != "" || encryptRecipient != "" || encryptPassphraseEnv != ""
				if err := keyNoteFlag(&d, keyNote, encrypted); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("layout") {
				l, err := layoutFlag(layout)
				if err != nil {
					return err
				}
				d.Layout = l
			}
			if err := lockFlags(&d, cmd, lockMode, lockDays); err != nil {
				return err
			}
			if err := core.AddDestination(ctx, a.cat, a.engine.OpenStore, &d); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Destination %s added (%s %s, layout %s); it was written, read and deleted successfully.\n", d.Name, d.Kind, d.Describe(), d.StoredLayout())
			if d.Lock.Enabled() {
				fmt.Fprintln(a.stdout, lockText(d))
			}
			if d.Encrypted() {
				fmt.Fprintln(a.stderr, encryptionWarning(d))
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&d.Local.Dir, "dir", "", "local directory holding the backups")
	f.StringVar(&d.S3.Endpoint, "endpoint", "", "S3 endpoint as HOST:PORT")
	f.StringVar(&d.S3.Bucket, "bucket", "", "S3 bucket")
	f.StringVar(&d.S3.Region, "region", "", "S3 region")
	f.StringVar(&d.S3.Prefix, "prefix", "", "key prefix inside the bucket")
	f.StringVar(&d.S3.AccessKey, "access-key", "", "S3 access key")
	f.StringVar(&secretEnv, "secret-key-env", "", "name of the environment variable holding the S3 secret key (read now, stored encrypted)")
	f.StringVar(&secretRef, "secret-key-ref", "", "where the S3 secret key is kept, read at each use instead of stored: env:VARIABLE or file:PATH (owner-only)")
	f.BoolVar(&d.S3.NoTLS, "no-tls", false, "talk plain HTTP to the endpoint (TLS is the default)")
	f.StringVar(&sse, "sse", "", `server-side encryption: "s3" for SSE-S3, "kms" for SSE-KMS`)
	f.StringVar(&d.S3.SSEKMSKeyID, "sse-kms-key-id", "", "KMS key (id, ARN or alias) of --sse kms; default: the storage's default key")
	f.StringVar(&encryptKey, "encrypt-key", "", "encrypt backups with age to the identity in this file (from odoo-backup key generate), which decrypts them")
	f.StringVar(&encryptRecipient, "encrypt-recipient", "", "encrypt backups with age to this recipient (age1...), whose identity is kept off this host")
	f.StringVar(&encryptPassphraseEnv, "encrypt-passphrase-env", "", "encrypt backups with age and the passphrase in this environment variable")
	f.StringVar(&d.S3.CAFile, "ca-file", "", "PEM file of the certificate authority of the endpoint's certificate, trusted besides the system's")
	f.StringVar(&layout, "layout", "", layoutHelp+" (default "+string(core.DefaultLayout())+")")
	f.StringVar(&keyNote, "key-note", "", keyNoteHelp)
	f.StringVar(&lockMode, "object-lock", "", lockModeHelp)
	f.StringVar(&lockDays, "lock-days", "", lockDaysHelp)
	addLimitFlags(f)
	return cmd
}

// The lock flags' help.
const (
	lockModeHelp       = "lock every object a backup writes with S3 Object Lock: governance (a user allowed to bypass it can still delete) or compliance (nobody can, root included); the bucket must have been created with Object Lock"
	lockDaysHelp       = "how many days each object stays locked after it is written (with --object-lock)"
	allowShortLockHelp = "accept a lock shorter than what a retention on the destination keeps backups for: those backups stay deletable after the lock ends"
)

// lockFlags sets d's lock from --object-lock and --lock-days: on update,
// --object-lock none turns it off and --lock-days alone changes the days.
func lockFlags(d *core.Destination, cmd *cobra.Command, mode, days string) error {
	modeGiven, daysGiven := cmd.Flags().Changed("object-lock"), cmd.Flags().Changed("lock-days")
	if modeGiven {
		switch m := core.LockMode(strings.ToLower(strings.TrimSpace(mode))); m {
		case "none", "off":
			if daysGiven {
				return usageError{fmt.Errorf("--object-lock none turns the lock off, so --lock-days has nothing to set; drop one of them")}
			}
			d.Lock = core.ObjectLock{}
			return nil
		case core.LockGovernance, core.LockCompliance:
			d.Lock.Mode = m
		default:
			return usageError{fmt.Errorf("--object-lock %q is not a lock mode; use --object-lock governance, compliance or none", mode)}
		}
	}
	if daysGiven {
		n, err := strconv.Atoi(strings.TrimSpace(days))
		if err != nil || n <= 0 {
			return usageError{fmt.Errorf("--lock-days %q is not a number of days; give a whole number of at least 1, such as --lock-days 30", days)}
		}
		d.Lock.Days = n
	}
	switch {
	case d.Lock.Mode != core.LockNone && d.Lock.Days == 0:
		return usageError{fmt.Errorf("--object-lock %s needs --lock-days N: how many days each object stays locked", d.Lock.Mode)}
	case d.Lock.Mode == core.LockNone && d.Lock.Days != 0:
		return usageError{fmt.Errorf("--lock-days needs --object-lock governance or compliance")}
	}
	return nil
}

// addLimitFlags adds --limit-upload and --limit-download.
func addLimitFlags(f *pflag.FlagSet) {
	f.String("limit-upload", "", "most bytes per second sent to the destination, shared by everything this process sends there, e.g. 20MiB/s, 500KB/s, 100Mbit/s, or none")
	f.String("limit-download", "", "most bytes per second read from the destination (restores, downloads, verifications), e.g. 20MiB/s, or none")
}

// limitFlags sets d's bandwidth limits from the flags given.
func limitFlags(cmd *cobra.Command, d *core.Destination) error {
	for _, l := range []struct {
		flag string
		to   *int64
	}{{"limit-upload", &d.Limits.Upload}, {"limit-download", &d.Limits.Download}} {
		if !cmd.Flags().Changed(l.flag) {
			continue
		}
		v, _ := cmd.Flags().GetString(l.flag)
		rate, err := core.ParseRate(v)
		if err != nil {
			return usageError{fmt.Errorf("--%s: %s", l.flag, message(err))}
		}
		*l.to = rate
	}
	return nil
}

// lockText says what a destination's lock does.
func lockText(d core.Destination) string {
	return fmt.Sprintf("Every object a backup writes there is locked for %d days (%s mode): rotation and delete leave a backup whole until its lock ends.", d.Lock.Days, d.Lock.Mode)
}

// lockColumn is the LOCK column of destination list.
func lockColumn(d core.Destination) string {
	if !d.Lock.Enabled() {
		return "—"
	}
	return fmt.Sprintf("%s %dd", d.Lock.Mode, d.Lock.Days)
}

// limitsText shows a destination's bandwidth limits, "—" for none.
func limitsText(d core.Destination) string {
	if d.Limits.Upload == 0 && d.Limits.Download == 0 {
		return "—"
	}
	return "up " + core.FormatRate(d.Limits.Upload) + ", down " + core.FormatRate(d.Limits.Download)
}

// keyNoteHelp is the --key-note flag's help.
const keyNoteHelp = "where the key or passphrase that decrypts this destination's backups is kept, for whoever restores on the worst day (never the key itself)"

// keyNoteFlag sets d's key note from --key-note: one line, on a destination
// that encrypts ("" clears it).
func keyNoteFlag(d *core.Destination, note string, encrypted bool) error {
	note = strings.TrimSpace(note)
	switch {
	case strings.ContainsFunc(note, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return usageError{fmt.Errorf("--key-note takes one line of text without control characters")}
	case note != "" && !encrypted:
		return usageError{fmt.Errorf("--key-note says where the decryption key of an encrypting destination is kept, and %s does not encrypt; give it with --encrypt-key, --encrypt-recipient or --encrypt-passphrase-env", d.Name)}
	}
	d.Encrypt.KeyNote = note
	return nil
}

// layoutHelp is the --layout flag's help: what each layout is for.
const layoutHelp = "how backups are kept: pool (each filestore file stored once; backups cost what changed) or zip (one self-contained Odoo zip per backup, for buckets people download from by hand)"

// layoutFlag reads --layout.
func layoutFlag(s string) (core.Layout, error) {
	l, err := core.ParseLayout(s)
	if err != nil {
		return "", usageError{fmt.Errorf("--layout %q is not a layout; use --layout pool (each file stored once, backups cost what changed) or --layout zip (one self-contained Odoo zip per backup)", s)}
	}
	return l, nil
}

func (a *app) destinationListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List destinations",
		Args:  cobra.NoArgs,
		RunE: a.withCatalog(func(ctx context.Context, _ []string) error {
			dests, err := a.cat.Destinations(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				if dests == nil {
					dests = []core.Destination{}
				}
				return writeJSON(a.stdout, dests)
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "NAME\tKIND\tWHERE\tLAYOUT\tTLS\tSSE\tENCRYPTION\tLOCK\tLIMITS\tKEY NOTE")
			for _, d := range dests {
				tls := "—"
				if d.Kind == core.DestinationS3 {
					tls = map[bool]string{true: "off", false: "on"}[d.S3.NoTLS]
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Kind, d.Describe(), d.StoredLayout(), tls, orDash(d.S3.SSE), encryptionText(d), lockColumn(d), limitsText(d), orDash(d.Encrypt.KeyNote))
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) destinationRemoveCommand() *cobra.Command {
	var forget bool
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a destination that no service uses",
		Args:  cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			var swept []core.SweepResult
			var sweepErr error
			if forget {
				// The forgotten backups stay on the destination, file
				// lists and pool objects included (a rebuild finds them):
				// only what no backup there refers to is swept, while the
				// destination is still known.
				swept, sweepErr = a.engine.SweepDestination(ctx, args[0])
			}
			if err := core.RemoveDestination(ctx, a.cat, args[0], forget); err != nil {
				return err
			}
			if len(swept) == 0 && sweepErr == nil {
				fmt.Fprintf(a.stdout, "Destination %s removed; the objects it holds were not touched.\n", args[0])
				return nil
			}
			fmt.Fprintf(a.stdout, "Destination %s removed; the backups it holds were not touched.\n", args[0])
			for _, sw := range swept {
				fmt.Fprintf(a.stdout, "Pool of %s: %s\n", sw.Service, sweepText(&sw, "", "the first removal after the destination is added again"))
			}
			if sweepErr != nil {
				fmt.Fprintf(a.stdout, "Some pools were not swept (%v); what no backup refers to stays on the destination.\n", sweepErr)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&forget, "forget-backups", false, "also forget the backups recorded on it (their objects stay on the destination)")
	return cmd
}

// destinationUpdateCommand changes a destination's layout, or enters its
// credentials again, e.g. after a key rotation or when the catalog's key
// file was lost.
func (a *app) destinationUpdateCommand() *cobra.Command {
	var accessKey, secretEnv, secretRef, layout, keyNote string
	var lockMode, lockDays string
	var allowShortLock bool
	var cmd *cobra.Command
	cmd = &cobra.Command{
		Use:   "update NAME [--layout pool|zip] [--access-key K] [--secret-key-env VAR | --secret-key-ref REF] [--key-note TEXT] [--object-lock governance|compliance|none --lock-days N] [--limit-upload RATE|none] [--limit-download RATE|none]",
		Short: "Change a destination's layout, key note, object lock or bandwidth limits, or enter the credentials of an S3 destination again, after checking that it works",
		Example: `  odoo-backup destination update nas --layout pool
  S3_SECRET=... odoo-backup destination update s3-eu --secret-key-env S3_SECRET
  odoo-backup destination update s3-eu --access-key AKIA... --secret-key-ref file:/etc/odoo-backup/s3-eu.secret
  odoo-backup destination update s3-eu --key-note "printed in the office safe, envelope 3"
  odoo-backup destination update s3-eu --object-lock compliance --lock-days 30
  odoo-backup destination update s3-eu --limit-upload 20MiB/s --limit-download none`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			var newLayout core.Layout
			if cmd.Flags().Changed("layout") {
				l, err := layoutFlag(layout)
				if err != nil {
					return err
				}
				newLayout = l
			}
			d, err := a.cat.Destination(ctx, args[0])
			if err != nil {
				return err
			}
			limits := cmd.Flags().Changed("limit-upload") || cmd.Flags().Changed("limit-download")
			if err := limitFlags(cmd, &d); err != nil {
				return err
			}
			secret, ok, err := secretFromFlags("secret-key-env", secretEnv, "secret-key-ref", secretRef)
			if err != nil {
				return err
			}
			credentials := ok || accessKey != ""
			note := cmd.Flags().Changed("key-note")
			lock := cmd.Flags().Changed("object-lock") || cmd.Flags().Changed("lock-days")
			switch {
			case credentials && d.Kind != core.DestinationS3:
				return usageError{fmt.Errorf("destination %s is a local directory and has no credentials to update", d.Name)}
			case !credentials && newLayout == "" && !note && !lock && !limits:
				return usageError{fmt.Errorf("say what to change: --layout pool|zip, --key-note TEXT, --object-lock MODE --lock-days N, --limit-upload RATE, --limit-download RATE, or new credentials with --secret-key-env VAR or --secret-key-ref REF (and --access-key K)")}
			}
			if lock {
				if err := lockFlags(&d, cmd, lockMode, lockDays); err != nil {
					return err
				}
			}
			if note {
				if err := keyNoteFlag(&d, keyNote, d.Encrypted()); err != nil {
					return err
				}
			}
			if ok {
				d.S3.SecretKey = secret
			}
			if accessKey != "" {
				d.S3.AccessKey = accessKey
			}
			was := d.StoredLayout()
			if newLayout != "" {
				d.Layout = newLayout
			}
			if err := core.UpdateDestinationWith(ctx, a.cat, a.engine.OpenStore, d, core.DestinationSaveOptions{AllowShortLock: allowShortLock}); err != nil {
				var probe *core.DestinationProbeError
				if errors.As(err, &probe) {
					if !credentials {
						return core.Userf(err, "destination %q does not work, so the change was not saved: %s", d.Name, probe.Err.Error())
					}
					return core.Userf(err, "destination %q does not work with these credentials, so they were not saved: %s", d.Name, probe.Err.Error())
				}
				return err
			}
			fmt.Fprintf(a.stdout, "Destination %s updated (layout %s); it was written, read and deleted successfully.\n", d.Name, d.StoredLayout())
			if note {
				fmt.Fprintf(a.stdout, "Its key note: %s.\n", orDash(d.Encrypt.KeyNote))
			}
			if limits {
				fmt.Fprintf(a.stdout, "Its bandwidth limits: upload %s, download %s.\n", core.FormatRate(d.Limits.Upload), core.FormatRate(d.Limits.Download))
			}
			if change := core.LayoutChange(was, d.StoredLayout()); change != "" {
				fmt.Fprintf(a.stdout, "Its %s.\n", change)
			}
			switch {
			case lock && d.Lock.Enabled():
				fmt.Fprintln(a.stdout, lockText(d))
			case lock:
				fmt.Fprintln(a.stdout, "Objects written from now on are not locked; those already locked stay locked until their lock ends.")
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&layout, "layout", "", layoutHelp)
	f.StringVar(&accessKey, "access-key", "", "new S3 access key")
	f.StringVar(&secretEnv, "secret-key-env", "", "name of the environment variable holding the S3 secret key (read now, stored encrypted)")
	f.StringVar(&secretRef, "secret-key-ref", "", "where the S3 secret key is kept, read at each use: env:VARIABLE or file:PATH (owner-only)")
	f.StringVar(&keyNote, "key-note", "", keyNoteHelp+`; "" clears it`)
	f.StringVar(&lockMode, "object-lock", "", lockModeHelp+"; none turns it off for what is written from now on")
	f.StringVar(&lockDays, "lock-days", "", lockDaysHelp)
	f.BoolVar(&allowShortLock, "allow-short-lock", false, allowShortLockHelp)
	addLimitFlags(f)
	return cmd
}

// destinationTestCommand runs the probe the console's `t` runs: write, read
// back and delete a test object. Exit 0 when it works, 1 when it does not.
func (a *app) destinationTestCommand() *cobra.Command {
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "test NAME",
		Short: "Check that a destination works: write, read back and delete a test object",
		Args:  cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if timeout <= 0 {
				return usageError{fmt.Errorf("--timeout %s is not a duration above zero; give how long to wait for the destination, such as 30s", timeout)}
			}
			start := time.Now()
			d, err := core.TestDestination(ctx, a.cat, a.engine.OpenStore, args[0], timeout)
			if err != nil && d.Name == "" {
				return err
			}
			if err != nil {
				err = core.Userf(err, "destination %s does not work: %s", d.Name, message(err))
			}
			if asJSON {
				res := destinationTestJSON{Destination: d.Name, OK: err == nil, Took: time.Since(start).Round(time.Millisecond).String()}
				if err != nil {
					res.Error = message(err)
				}
				if jerr := writeJSON(a.stdout, res); jerr != nil {
					return jerr
				}
				return err
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Destination %s works (%s %s): a test object was written, read back and deleted in %s.\n", d.Name, d.Kind, d.Describe(), time.Since(start).Round(time.Millisecond))
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up when the destination has not answered within this time")
	return cmd
}

// destinationTestJSON is what `destination test --json` prints.
type destinationTestJSON struct {
	Destination string `json:"destination"`
	OK          bool   `json:"ok"`
	Took        string `json:"took"`
	Error       string `json:"error,omitempty"`
}
