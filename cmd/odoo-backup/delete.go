package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) deleteCommand() *cobra.Command {
	var yes, force, asJSON bool
	cmd := &cobra.Command{
		Use:   "delete BACKUP_ID --yes [--force]",
		Short: "Delete a backup: its archive and metadata on the destination (the history keeps it as deleted)",
		Long: `Delete one backup by hand: its archive and its metadata object are removed from
the destination, and the backup stays in the history as deleted. It needs --yes.
The last successful backup of a service (on any destination) is kept unless
--force is given too, since without it there is nothing left to restore.
A backup whose objects are under an S3 Object Lock that has not ended is left
whole: the command says until when and exits 0, since nothing failed.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			id, err := parseBackupID(args[0])
			if err != nil {
				return err
			}
			before, err := a.cat.Backup(ctx, id)
			if err != nil {
				return err
			}
			if !yes && (before.Status == core.StatusSucceeded || before.Status == core.StatusFailed) {
				return usageError{fmt.Errorf("this would delete %s; run it again with --yes to delete it", describeBackup(before))}
			}
			res, err := a.engine.Delete(ctx, core.DeleteRequest{BackupID: id, Force: force})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, res.Backup)
			}
			if res.Locked != nil {
				// Not an error: the lock does what it was asked to.
				fmt.Fprintln(a.stdout, lockedText(res.Backup, res.Locked))
				return nil
			}
			fmt.Fprintln(a.stdout, deletedText(before))
			if s := sweepText(res.Sweep, res.SweepError, "the next deletion or rotation"); s != "" {
				fmt.Fprintln(a.stdout, s)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "really delete it")
	cmd.Flags().BoolVar(&force, "force", false, "delete it even if it is the service's last successful backup")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the deleted backup as JSON")
	return cmd
}

// describeBackup names a backup the way a person recognises it.
func describeBackup(b core.Backup) string {
	what := humanSize(b.Size)
	if b.Status != core.StatusSucceeded {
		what = string(b.Status) + ", nothing stored"
	}
	return fmt.Sprintf("backup %d of service %s on destination %s, taken %s (%s)", b.ID, b.Service, b.Destination, localTime(b.StartedAt), what)
}

// deletedText says what a deletion did, from the backup as it was before.
func deletedText(b core.Backup) string {
	if b.Status == core.StatusFailed {
		return fmt.Sprintf("Deleted failed backup %d (%s on %s, taken %s): it had stored nothing, so nothing was removed from %s; the row stays in the history as deleted.",
			b.ID, b.Service, b.Destination, localTime(b.StartedAt), b.Destination)
	}
	what := "the archive and its metadata were"
	if b.Format == core.FormatOdooPool {
		what = "the archive, its metadata and its file list were"
	}
	return fmt.Sprintf("Deleted backup %d (%s on %s, %s, taken %s): %s removed from %s; the row stays in the history as deleted.",
		b.ID, b.Service, b.Destination, humanSize(b.Size), localTime(b.StartedAt), what, b.Destination)
}

// lockedText says that a deletion left b whole because of its lock.
func lockedText(b core.Backup, le *core.LockedError) string {
	mode := ""
	if le.Mode != "" {
		mode = fmt.Sprintf(" (%s mode)", le.Mode)
	}
	after := "delete it again after that date"
	if b.Kind == core.KindScheduled {
		after += " (rotation removes it then, if its retention no longer keeps it)"
	}
	return fmt.Sprintf("Nothing was deleted: backup %d is locked on destination %s until %s%s, so it stays whole and restorable; %s.",
		b.ID, b.Destination, localTime(le.Until), mode, after)
}
