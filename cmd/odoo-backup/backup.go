package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func parseBackupID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError{fmt.Errorf("%q is not a backup id; ids are the numbers in the first column of: odoo-backup backups", s)}
	}
	return id, nil
}

func (a *app) backupCommand() *cobra.Command {
	var dests []string
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "backup SERVICE [--destination D | --all-destinations]",
		Short: "Back up a service now (to its primary destination unless told otherwise)",
		Long: `Back up a service now, as a manual backup: to its primary destination, to
the configured destinations named with --destination, or to all of them with
--all-destinations. The database is dumped once and streamed to every
destination at the same time; one that fails does not fail the others.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if all {
				if len(dests) > 0 {
					return usageError{fmt.Errorf("give either --destination or --all-destinations, not both")}
				}
				configs, err := a.cat.Configurations(ctx, args[0])
				if err != nil {
					return err
				}
				for _, c := range configs {
					dests = append(dests, c.Destination)
				}
			}
			host, remote, err := a.remoteHost(ctx, args[0])
			if err != nil {
				return err
			}
			var backups []core.Backup
			if remote {
				backups, err = a.requestBackup(ctx, host, args[0], dests)
			} else {
				progress, done := progressPrinter(a.stderr)
				backups, err = a.engine.Backup(ctx, core.BackupRequest{Service: args[0], Destinations: dests, Kind: core.KindManual, Progress: progress})
				done()
			}
			if asJSON && len(backups) > 0 {
				if jerr := writeJSON(a.stdout, backups); jerr != nil {
					return jerr
				}
			} else {
				for _, b := range backups {
					if b.Status == core.StatusSucceeded {
						fmt.Fprintf(a.stdout, "Backup %d of %s on %s succeeded: %s in %s, sha256 %s\n", b.ID, b.Service, b.Destination, humanSize(b.Size), b.Duration().Round(1e7), b.SHA256)
						if b.Pool != nil {
							fmt.Fprintf(a.stdout, "Filestore in the pool of %s: %s.\n", b.Destination, core.PoolSummary(*b.Pool))
						}
						if lacks := core.LacksFiles(b); lacks != "" {
							fmt.Fprintf(a.stdout, "Warning: %s; their names: odoo-backup backups %s --json\n", lacks, b.Service)
						}
						if mismatched := core.MismatchedFiles(b); mismatched != "" {
							fmt.Fprintf(a.stdout, "Warning: %s; the backup holds their bytes as they are; their names: odoo-backup backups %s --json\n", mismatched, b.Service)
						}
					}
				}
			}
			// A size anomaly is no failure of the backup: it follows the
			// result, JSON or text, as a warning.
			for _, b := range backups {
				if b.Status == core.StatusSucceeded && b.Anomaly != "" {
					fmt.Fprintf(a.stderr, "Warning: %s\n", anomalyText(b))
				}
			}
			// A failed post-backup hook is on every row of the job: say it
			// once. (A failed backup says its failure alone.)
			if err == nil && len(backups) > 0 && backups[0].Warning != "" {
				fmt.Fprintf(a.stderr, "Warning: %s\n", backups[0].Warning)
			}
			return err
		}),
	}
	cmd.Flags().StringSliceVar(&dests, "destination", nil, "configured destination(s) to back up to (default the primary)")
	cmd.Flags().BoolVar(&all, "all-destinations", false, "back up to every configured destination, one dump for all")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the backups as JSON")
	return cmd
}

func (a *app) backupsCommand() *cobra.Command {
	var f core.BackupFilter
	var kind, status string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backups [SERVICE]",
		Short: "List backups, newest first",
		Args:  cobra.MaximumNArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if err := checkListing(f.Limit, kind, status); err != nil {
				return err
			}
			if len(args) == 1 {
				f.Service = args[0]
				if _, err := a.cat.Service(ctx, f.Service); err != nil {
					// History outlives services: only complain when nothing is known.
					if bs, _ := a.cat.Backups(ctx, core.BackupFilter{Service: f.Service, Limit: 1}); len(bs) == 0 {
						return err
					}
				}
			}
			f.Kind, f.Status = core.BackupKind(kind), core.BackupStatus(status)
			backups, err := a.cat.Backups(ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				if backups == nil {
					backups = []core.Backup{}
				}
				return writeJSON(a.stdout, backups)
			}
			tw := table(a.stdout)
			fmt.Fprintln(tw, "ID\tSTARTED\tSERVICE\tKIND\tDESTINATION\tSIZE\tTOOK\tSTATUS")
			var anomalies []string
			for _, b := range backups {
				st := string(b.Status)
				if b.Orphaned {
					st += " (orphaned)"
				}
				if b.Status == core.StatusFailed {
					st += ": " + b.Error
				}
				if b.MissingCount > 0 && b.Status == core.StatusSucceeded {
					st += fmt.Sprintf(", lacks %d attachment file(s)", b.MissingCount)
				}
				if b.Pool != nil && b.Pool.MismatchCount > 0 && b.Status == core.StatusSucceeded {
					st += fmt.Sprintf(", %d file(s) not matching their name", b.Pool.MismatchCount)
				}
				if b.Status == core.StatusSucceeded && b.LockedUntil != nil && b.LockedUntil.After(time.Now()) {
					st += ", locked until " + localTime(*b.LockedUntil)
				}
				size := "—"
				if b.Size > 0 {
					size = humanSize(b.Size)
				}
				if b.Anomaly != "" && (b.Status == core.StatusSucceeded || b.Status == core.StatusRotated) {
					size += " !"
					st += ", size anomaly (below)"
					anomalies = append(anomalies, anomalyText(b))
				}
				if b.Warning != "" {
					st += ", warning (below)"
					anomalies = append(anomalies, fmt.Sprintf("backup %d: %s", b.ID, b.Warning))
				}
				took := "—"
				if b.FinishedAt != nil {
					took = b.Duration().Round(1e9).String()
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, localTime(b.StartedAt), b.Service, b.Kind, b.Destination, size, took, st)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, s := range anomalies {
				fmt.Fprintf(a.stdout, "! %s\n", s)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&f.Destination, "destination", "", "only backups on this destination")
	cmd.Flags().StringVar(&kind, "kind", "", "only backups of this kind")
	cmd.Flags().StringVar(&status, "status", "", "only backups with this status")
	cmd.Flags().IntVar(&f.Limit, "limit", 0, "show at most this many")
	return cmd
}

// checkListing refuses listing flags whose value matches nothing.
func checkListing(limit int, kind, status string) error {
	if limit < 0 {
		return usageError{fmt.Errorf("--limit %d is negative; give 0 for everything, or a count", limit)}
	}
	switch core.BackupKind(kind) {
	case "", core.KindScheduled, core.KindManual, core.KindSafety, core.KindUpload, core.KindCopy:
	default:
		return usageError{fmt.Errorf("--kind %q is not a kind of backup; use scheduled, manual, safety, upload or copy", kind)}
	}
	switch core.BackupStatus(status) {
	case "", core.StatusRunning, core.StatusSucceeded, core.StatusFailed, core.StatusRotated, core.StatusDeleted:
	default:
		return usageError{fmt.Errorf("--status %q is not a backup status; use running, succeeded, failed, rotated or deleted", status)}
	}
	return nil
}

func (a *app) downloadCommand() *cobra.Command {
	var out, identity string
	cmd := &cobra.Command{
		Use:   "download BACKUP_ID -o FILE",
		Short: "Download a backup to a local file, checksum verified",
		Args:  cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			id, err := parseBackupID(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				return usageError{fmt.Errorf("say where to write the file with -o FILE")}
			}
			progress, done := progressPrinter(a.stderr)
			b, err := a.engine.Download(ctx, core.DownloadRequest{BackupID: id, Path: out, Progress: progress, IdentityFile: identity})
			done()
			if err != nil {
				return err
			}
			if b.Encryption != "" {
				fmt.Fprintf(a.stdout, "Backup %d decrypted and written to %s (stored %s, sha256 %s verified; age authenticated every byte).\n", id, out, humanSize(b.Size), b.SHA256)
				return nil
			}
			fmt.Fprintf(a.stdout, "Backup %d written to %s (%s, sha256 %s verified).\n", id, out, humanSize(b.Size), b.SHA256)
			return nil
		}),
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write")
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file that decrypts the backup, when its destination keeps no key on this host")
	return cmd
}

func (a *app) verifyCommand() *cobra.Command {
	var asJSON, readData bool
	var identity, service, dest string
	cmd := &cobra.Command{
		Use:   "verify (BACKUP_ID | --service S [--destination D]) [--read-data]",
		Short: "Check a backup without restoring it: checksum, zip structure, manifest, dump, filestore pool",
		Long: `Check a backup without restoring it: the checksum of what is stored, the zip
structure and every entry, the manifest and the dump. For a backup whose
filestore is in a destination's pool, also its file list and that every file's
object is there with its size; --read-data reads every object back and checks
its content too.

With --service, every succeeded backup of the service (on destination D only
with --destination) is checked, and each damaged one is named: a pool object
removed or changed outside odoo-backup damages every backup that refers to it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			if service != "" || dest != "" {
				if len(args) > 0 || service == "" {
					return usageError{fmt.Errorf("give either a backup id or --service (with --destination to check one destination only)")}
				}
				return a.verifyService(ctx, service, dest, identity, readData, asJSON)
			}
			if len(args) == 0 {
				return usageError{fmt.Errorf("give the id of the backup to check, or --service to check all of a service's backups")}
			}
			id, err := parseBackupID(args[0])
			if err != nil {
				return err
			}
			progress, done := progressPrinter(a.stderr)
			res, err := a.engine.Verify(ctx, core.VerifyRequest{BackupID: id, Progress: progress, IdentityFile: identity, ReadData: readData})
			done()
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, res)
			}
			fmt.Fprintf(a.stdout, "Backup %d is sound: sha256 %s matches; Odoo %s, PostgreSQL %s, %d modules; dump.sql %s; %d filestore files (%s)%s.\n",
				id, res.Backup.SHA256, orDash(res.Manifest.Version), orDash(res.Manifest.PGVersion), len(res.Manifest.Modules),
				humanSize(int64(res.DumpBytes)), res.FilestoreFiles, humanSize(int64(res.FilestoreBytes)), poolChecked(res.Backup, readData))
			if lacks := core.LacksFiles(res.Backup); lacks != "" {
				fmt.Fprintf(a.stdout, "Warning: %s.\n", lacks)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file that decrypts the backup, when its destination keeps no key on this host")
	cmd.Flags().BoolVar(&readData, "read-data", false, "also read back every filestore object of a pool backup and check its content")
	cmd.Flags().StringVar(&service, "service", "", "check every succeeded backup of this service")
	cmd.Flags().StringVar(&dest, "destination", "", "with --service: only the backups on this destination")
	return cmd
}

// poolChecked says how a sound pool backup's filestore was checked.
func poolChecked(b core.Backup, readData bool) string {
	switch {
	case b.Format != core.FormatOdooPool:
		return ""
	case readData:
		return ", every pool object read back"
	}
	return ", every pool object present"
}

// verifyService checks every succeeded backup of service (on dest if not
// empty) and names each damaged one; it fails when one is.
func (a *app) verifyService(ctx context.Context, service, dest, identity string, readData, asJSON bool) error {
	if _, err := a.cat.Service(ctx, service); err != nil {
		return err
	}
	if dest != "" {
		if _, err := a.cat.Destination(ctx, dest); err != nil {
			return err
		}
	}
	backups, err := a.cat.Backups(ctx, core.BackupFilter{Service: service, Destination: dest, Status: core.StatusSucceeded})
	if err != nil {
		return err
	}
	type checked struct {
		Backup      int64  `json:"backup"`
		Destination string `json:"destination"`
		Sound       bool   `json:"sound"`
		Error       string `json:"error,omitempty"`
	}
	out := []checked{}
	var damaged []string
	for _, b := range backups {
		_, err := a.engine.Verify(ctx, core.VerifyRequest{BackupID: b.ID, IdentityFile: identity, ReadData: readData})
		if err != nil && ctx.Err() != nil {
			return err
		}
		c := checked{Backup: b.ID, Destination: b.Destination, Sound: err == nil}
		if err != nil {
			c.Error = message(err)
			damaged = append(damaged, strconv.FormatInt(b.ID, 10))
		}
		out = append(out, c)
		if !asJSON {
			if err != nil {
				fmt.Fprintf(a.stdout, "Backup %d on %s: %s\n", b.ID, b.Destination, c.Error)
			} else {
				fmt.Fprintf(a.stdout, "Backup %d on %s is sound.\n", b.ID, b.Destination)
			}
		}
	}
	if asJSON {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	}
	where := ""
	if dest != "" {
		where = " on " + dest
	}
	switch {
	case len(backups) == 0:
		if !asJSON {
			fmt.Fprintf(a.stdout, "Service %s has no succeeded backup%s to check.\n", service, where)
		}
	case len(damaged) > 0:
		fmt.Fprintf(a.stderr, "%d of the %d backups of %s%s are damaged: %s.\n", len(damaged), len(backups), service, where, strings.Join(damaged, ", "))
		return exitCode(1)
	}
	return nil
}

func (a *app) rotateCommand() *cobra.Command {
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "rotate [SERVICE] [--dry-run]",
		Short: "Apply each configuration's retention now (the daemon does it after every scheduled backup)",
		Args:  cobra.MaximumNArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			configs, err := a.configurations(ctx, args)
			if err != nil {
				return err
			}
			type rotation struct {
				Service     string `json:"service"`
				Destination string `json:"destination"`
				Retention   string `json:"retention"`
				core.RotateResult
			}
			out := []rotation{}
			for _, c := range configs {
				res, err := a.engine.RotateWithSweep(ctx, core.RotateRequest{Service: c.Service, Destination: c.Destination, DryRun: dryRun})
				if err != nil {
					return err
				}
				out = append(out, rotation{c.Service, c.Destination, c.Retention.String(), res})
				if !asJSON {
					printRotation(a.stdout, c, res, dryRun)
				}
			}
			if asJSON {
				return writeJSON(a.stdout, out)
			}
			if len(configs) == 0 {
				fmt.Fprintln(a.stdout, "No configuration to rotate.")
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only show what would be removed, and why")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printRotation shows one configuration's rotation: a sentence with the
// outcome, then each backup with what happens to it, what that frees and
// why, then what the removals free together and what the pool sweep did.
func printRotation(w io.Writer, c core.Configuration, res core.RotateResult, dryRun bool) {
	decisions := res.Decisions
	removed := 0
	for _, d := range decisions {
		if !d.Keep {
			removed++
		}
	}
	verb := "removed"
	if dryRun {
		verb = "would be removed"
	}
	switch {
	case len(decisions) == 0:
		fmt.Fprintf(w, "%s on %s (%s): no scheduled backups (only those are rotated).\n\n", c.Service, c.Destination, c.Retention)
		return
	case removed == 0:
		fmt.Fprintf(w, "%s on %s (%s): nothing to remove; all %d scheduled backups stay.\n", c.Service, c.Destination, c.Retention, len(decisions))
	default:
		fmt.Fprintf(w, "%s on %s (%s): %d of %d scheduled backups %s.\n", c.Service, c.Destination, c.Retention, removed, len(decisions), verb)
	}
	tw := table(w)
	fmt.Fprintln(tw, "  ID\tSTARTED\tACTION\tFREES\tWHY")
	for _, d := range decisions {
		action, frees := "keep", "-"
		if d.LockedUntil != nil {
			action = "keep (locked)"
		}
		if !d.Keep {
			action = map[bool]string{true: "would remove", false: "removed"}[dryRun]
			frees = humanSize(d.Frees)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", d.Backup.ID, localTime(d.Backup.StartedAt), action, frees, strings.Join(d.Reasons, "; "))
	}
	tw.Flush()
	if removed > 0 {
		for _, line := range rotationFrees(res, dryRun) {
			fmt.Fprintln(w, "  "+line)
		}
	}
	fmt.Fprintln(w)
}

// rotationFrees says what a rotation's removals free together, and what
// its pool sweep did.
func rotationFrees(res core.RotateResult, dryRun bool) []string {
	var lines []string
	if dryRun {
		lines = append(lines, fmt.Sprintf("Would free %s in all: the archives, metadata and file lists, and the pool objects no kept backup refers to (with any a failed backup left).", humanSize(res.Frees)))
	} else {
		lines = append(lines, fmt.Sprintf("Freed %s in all.", humanSize(res.Frees)))
	}
	if res.Note != "" {
		lines = append(lines, "Not counted: "+res.Note+".")
	}
	if s := sweepText(res.Sweep, res.SweepError, "the next rotation"); s != "" {
		lines = append(lines, s)
	}
	return lines
}

// sweepText says what a pool sweep did; next names what sweeps again when
// this one could not.
func sweepText(sw *core.SweepResult, sweepErr, next string) string {
	switch {
	case sweepErr != "":
		return fmt.Sprintf("The pool was not swept: %s. Nothing in it was removed; %s sweeps it again.", sweepErr, next)
	case sw == nil:
		return ""
	case sw.Postponed != "":
		return fmt.Sprintf("The pool was not swept now (%s): %s sweeps it.", sw.Postponed, next)
	}
	s := fmt.Sprintf("The pool sweep removed %s (%s) no remaining backup refers to, after reading %s", counted(sw.Removed, "object"), humanSize(sw.RemovedBytes), counted(sw.Lists, "file list"))
	if sw.DebrisLists > 0 {
		s += fmt.Sprintf(", and %s of backups whose archives were gone", counted(sw.DebrisLists, "file list"))
	}
	if sw.Locked > 0 && sw.LockedUntil != nil {
		s += fmt.Sprintf("; %s still locked (the last until %s) stay, and the first sweep after that removes them", counted(sw.Locked, "object"), localTime(*sw.LockedUntil))
	}
	return s + "."
}

// counted is "1 object", "2 objects".
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// anomalyText says which backup has a size anomaly and what it is.
func anomalyText(b core.Backup) string {
	return fmt.Sprintf("size anomaly in backup %d of %s on %s: %s", b.ID, b.Service, b.Destination, b.Anomaly)
}
