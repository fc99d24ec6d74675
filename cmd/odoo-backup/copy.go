package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) copyCommand() *cobra.Command {
	var to, identity string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "copy BACKUP_ID --to DESTINATION",
		Short: "Copy a backup to another destination, checksum verified, as a new backup of kind copy",
		Long: `Copy a succeeded backup to another destination. On the same S3 endpoint the
storage server copies it; otherwise it is streamed through this host. Either way
the copy is read back and must match the backup's SHA-256 before it is recorded.
Any destination is accepted; a copy on a destination the service is not
configured for is an orphan: kept, restorable, never rotated.`,
		Example: `  odoo-backup copy 42 --to offsite`,
		Args:    cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			id, err := parseBackupID(args[0])
			if err != nil {
				return err
			}
			if to == "" {
				return usageError{fmt.Errorf("say where to copy the backup with --to DESTINATION")}
			}
			progress, done := progressPrinter(a.stderr)
			res, err := a.engine.CopyBackup(ctx, core.CopyBackupRequest{BackupID: id, Destination: to, Progress: progress, IdentityFile: identity})
			done()
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, res.Backup)
			}
			how := "streamed"
			if res.ServerSide {
				how = "copied by the storage server"
			}
			fmt.Fprintf(a.stdout, "Backup %d copied to %s as backup %d (%s, %s, sha256 %s verified).\n",
				id, res.Backup.Destination, res.Backup.ID, humanSize(res.Backup.Size), how, res.Backup.SHA256)
			printPoolStored(a.stdout, res.Backup)
			if res.Backup.Orphaned {
				fmt.Fprintf(a.stdout, "Service %s is not configured for %s, so this copy is an orphan: it stays in the history and is never rotated.\n",
					res.Backup.Service, res.Backup.Destination)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&to, "to", "", "destination to copy to")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the new backup as JSON")
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file that decrypts the backup, when its destination keeps no key on this host")
	return cmd
}
