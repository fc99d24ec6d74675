package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

// uploadResult is what upload --json prints.
type uploadResult struct {
	Found   core.UploadInfo     `json:"found"`
	Backup  core.Backup         `json:"backup"`
	Restore *core.RestoreResult `json:"restore,omitempty"`
}

func (a *app) uploadCommand() *cobra.Command {
	var service, identity, onlyFlag string
	var restore, yes, asJSON, acceptErrors bool
	var nf neutralizeFlags
	cmd := &cobra.Command{
		Use:   "upload FILE --service S [--restore [--only database|filestore] (--neutralize | --no-neutralize) --yes]",
		Short: "Upload a backup file from elsewhere to a service's primary destination, and restore it",
		Long: `Upload a backup made elsewhere — an Odoo database manager zip (with or without
filestore), an odoo.sh export, a plain .sql or .sql.gz pg_dump, or a pg_dump
custom-format file — to the service's primary destination as an "upload"
backup. The format is recognised by content. The file is validated completely
first: a hostile or broken file is refused before anything is uploaded.

With --restore --yes it is then restored onto the service as restore --service
does (safety backup first, then the checks of the restored database, then a
swap; --accept-errors puts a copy that fails its checks in place anyway). An
uploaded file records no row counts: its tables and module base are checked.
A backup without filestore leaves the service with an empty filestore
directory. Nobody knows where a file came from, so --restore needs
--neutralize (another service's data: mail servers and crons off, a new
database uuid) or --no-neutralize (the service's own data, kept as it is).
--only database or --only filestore restores that half alone, as restore
--only does, and leaves the other half of the service as it is (the filestore
alone needs neither neutralize flag, and a file without filestore is refused
for it before anything is uploaded).`,
		Args: cobra.ExactArgs(1),
		RunE: a.withCatalog(func(ctx context.Context, args []string) error {
			switch {
			case service == "":
				return usageError{fmt.Errorf("say which service the backup is for with --service")}
			case restore && !yes:
				return usageError{fmt.Errorf("restoring onto %s replaces all of its data (a safety backup of it goes to its primary destination first); add --yes to go ahead", service)}
			case (nf.on || nf.off) && !restore:
				return usageError{fmt.Errorf("--neutralize and --no-neutralize only go with --restore")}
			case acceptErrors && !restore:
				return usageError{fmt.Errorf("--accept-errors only goes with --restore")}
			case onlyFlag != "" && !restore:
				return usageError{fmt.Errorf("--only only goes with --restore")}
			}
			only, err := parseOnly(onlyFlag, nf, "")
			if err != nil {
				return err
			}
			// Decided before anything is read or stored: a refusal
			// leaves everything as it was.
			rule := core.DefaultNeutralize(core.Backup{Service: service, Kind: core.KindUpload}, core.RestoreOnto{Service: service})
			rule.Why = "nobody knows where an uploaded file came from"
			neutralize := false
			if restore && only != core.RestoreFilestoreOnly {
				if neutralize, err = nf.resolve(rule, service); err != nil {
					return err
				}
			}
			// The file is uploaded from here; the restore is the work of
			// the service's host, refused before anything is uploaded when
			// no daemon runs there.
			host, remote, err := a.remoteHost(ctx, service)
			if err != nil {
				return err
			}
			if remote && restore {
				if err := noIdentityRemote(identity, host); err != nil {
					return err
				}
				if err := a.checkRemote(ctx, host, "restore onto "+service); err != nil {
					return err
				}
			}
			info, err := a.engine.InspectUpload(ctx, args[0])
			if err != nil {
				return err
			}
			if only == core.RestoreFilestoreOnly && !info.WithFilestore {
				return fmt.Errorf("%s holds no filestore, so there is none to restore and nothing was uploaded; restore it whole (without --only), or only its database with --only database", args[0])
			}
			if !asJSON {
				a.printFound(info)
			}
			progress, done := progressPrinter(a.stderr)
			b, _, err := a.engine.Upload(ctx, core.UploadRequest{Path: args[0], Service: service, Progress: progress})
			done()
			if err != nil {
				return err
			}
			out := uploadResult{Found: info, Backup: b}
			if !asJSON {
				fmt.Fprintf(a.stdout, "Uploaded as backup %d to %s (%s).\n", b.ID, b.Destination, b.Key)
				printPoolStored(a.stdout, b)
			}
			if restore {
				var res core.RestoreResult
				if remote {
					res, err = a.requestRestore(ctx, core.RequestUploadRestore, host, service, core.RequestParams{BackupID: b.ID,
						Target: service, Neutralize: neutralize, AcceptErrors: acceptErrors, Confirmed: yes, Only: only})
				} else {
					progress, done := progressPrinter(a.stderr)
					res, err = a.engine.RestoreToService(ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: service, Neutralize: neutralize, IdentityFile: identity, AcceptErrors: acceptErrors, Only: only, Progress: progress})
					done()
				}
				if err != nil {
					return checksAdvice(err)
				}
				out.Restore = &res
				if !asJSON {
					a.printRestore(b.ID, service, res, neutralizedLine(res, nf, rule))
				}
			} else if !asJSON {
				fmt.Fprintf(a.stdout, "Restore it with: odoo-backup restore %d --service %s --yes and --neutralize (another service's data) or --no-neutralize (%s's own)\n", b.ID, service, service)
			}
			if asJSON {
				return writeJSON(a.stdout, out)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&service, "service", "", "the service the backup is for; it goes to its primary destination")
	f.BoolVar(&restore, "restore", false, "restore it onto the service once uploaded (needs --yes)")
	f.BoolVar(&yes, "yes", false, "confirm that the service's data is replaced")
	nf.add(cmd)
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.BoolVar(&acceptErrors, "accept-errors", false, "with --restore: put the restored database in place even when it fails its checks")
	f.StringVar(&identity, "identity", "", "with --restore: age identity file that decrypts the upload, when the primary keeps no key on this host")
	f.StringVar(&onlyFlag, "only", "", "with --restore: restore one half, database or filestore, and leave the other half of the service as it is")
	return cmd
}

func (a *app) printFound(info core.UploadInfo) {
	w := a.stdout
	fmt.Fprintf(w, "Found: %s, %s\n", core.DescribeFormat(info.Format), humanSize(info.Size))
	fmt.Fprintf(w, "  database:     %s\n", orDash(info.Database))
	fmt.Fprintf(w, "  Odoo version: %s\n", orDash(info.OdooVersion))
	if info.Modules >= 0 {
		fmt.Fprintf(w, "  modules:      %d\n", info.Modules)
	} else {
		fmt.Fprintln(w, "  modules:      -")
	}
	if info.WithFilestore {
		fmt.Fprintf(w, "  filestore:    %d files, %s\n", info.FilestoreFiles, humanSize(int64(info.FilestoreBytes)))
	} else {
		fmt.Fprintln(w, "  filestore:    none (the database only)")
	}
}

// printPoolStored says what a copy or an upload that keeps its filestore
// in a pool stored there, as backup does: the files, the objects the pool
// lacked, and the files whose content does not match their names.
func printPoolStored(w io.Writer, b core.Backup) {
	if b.Pool == nil {
		return
	}
	fmt.Fprintf(w, "Filestore in the pool of %s: %s.\n", b.Destination, core.PoolSummary(*b.Pool))
	if mismatched := core.MismatchedFiles(b); mismatched != "" {
		fmt.Fprintf(w, "Warning: %s; the backup holds their bytes as they are; their names: odoo-backup backups %s --json\n", mismatched, b.Service)
	}
}
