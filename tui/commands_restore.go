package tui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/odoo-backup/odoo-backup/core"
)

// restoreTarget is a service a backup can be restored onto, with the
// primary destination its safety backup goes to ("" when it has none, and
// why in noPrimary).
type restoreTarget struct {
	svc       core.Service
	primary   string
	noPrimary error
}

// noArchive says why backup b has no archive to act on (verb: "restore",
// "download"...), or "".
func noArchive(b core.Backup, verb string) string {
	switch b.Status {
	case core.StatusSucceeded:
		return ""
	case core.StatusRunning:
		return fmt.Sprintf("backup %d is still running; wait for it to finish before you %s it", b.ID, verb)
	case core.StatusFailed:
		return fmt.Sprintf("backup %d failed and has no archive; pick a succeeded backup to %s", b.ID, verb)
	}
	return fmt.Sprintf("backup %d was %s and its archive is gone; pick a succeeded backup to %s", b.ID, b.Status, verb)
}

// restoreNewest opens the restore flow for a service's newest succeeded
// backup, on any destination (the home screen's r).
func restoreNewest(ctx *Context, service string) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		bs, err := cat.Backups(context.Background(), core.BackupFilter{Service: service, Status: core.StatusSucceeded, Limit: 1})
		switch {
		case err != nil:
			return statusMsg{err: true, text: fmt.Sprintf("cannot read the backups of %s: %s", service, errorText(err))}
		case len(bs) == 0:
			return statusMsg{err: true, text: fmt.Sprintf("%s has no succeeded backup to restore; press b to back it up", service)}
		}
		if open := openRestore(ctx, bs[0]); open != nil {
			return open()
		}
		return nil
	}
}

// openRestore loads every service and its primary, then opens the restore
// flow for backup b.
func openRestore(ctx *Context, b core.Backup) tea.Cmd {
	if why := noArchive(b, "restore"); why != "" {
		return setStatus(true, why)
	}
	cat := ctx.Catalog
	return func() tea.Msg {
		targets, err := loadTargets(context.Background(), cat)
		if err != nil {
			return statusMsg{err: true, text: fmt.Sprintf("cannot read the services: %s", errorText(err))}
		}
		recipient, err := core.OffHostRecipient(context.Background(), cat, b)
		if err != nil {
			return statusMsg{err: true, text: errorText(err)}
		}
		d := newRestoreDialog(ctx, b, targets)
		d.recipient = recipient
		// A backup without a filestore does not offer its filestore alone;
		// when that cannot be told, the restore itself refuses it.
		if holds, err := ctx.Engine.HoldsFilestore(context.Background(), b); err == nil && !holds {
			d.noFilestore = true
		}
		return openMsg{d}
	}
}

func loadTargets(c context.Context, cat interface {
	core.ServiceReader
	core.ConfigurationReader
}) ([]restoreTarget, error) {
	svcs, err := cat.Services(c)
	if err != nil {
		return nil, err
	}
	var out []restoreTarget
	for _, s := range svcs {
		t := restoreTarget{svc: s}
		p, err := cat.Primary(c, s.Name)
		switch {
		case err == nil:
			t.primary = p.Destination
		case errors.Is(err, core.ErrNotFound):
			t.noPrimary = err
		default:
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// restoreJob restores backup b (the part only of it, "" all) onto service
// target, or into the new database newDB when target is "", decrypting it
// with the identity file when one is given; acceptErrors puts a restored
// database that fails its checks in place anyway. The result goes to out
// (buffered) before the job ends, for the dialog to show.
func restoreJob(ctx *Context, b core.Backup, target, newDB string, only core.RestorePart, neutralize, acceptErrors bool, identity string, out chan<- core.RestoreResult) JobSpec {
	eng := ctx.Engine
	what := fmt.Sprintf("backup %d", b.ID)
	if only != core.RestoreAll {
		what = fmt.Sprintf("the %s of backup %d", only, b.ID)
	}
	label := fmt.Sprintf("restoring %s onto %s", what, target)
	if target == "" {
		label = fmt.Sprintf("restoring %s into new database %s", what, newDB)
	}
	return JobSpec{
		Label:   label,
		Changes: true,
		Run: func(jctx context.Context, progress core.ProgressFunc) (string, error) {
			var res core.RestoreResult
			// The host of the service replaced, or for a new database the
			// host of the backup's service, does the work.
			on := cmp.Or(target, b.Service)
			host, remote, err := remoteHost(jctx, ctx, on)
			switch {
			case err != nil:
				return "", err
			case remote:
				if err := noIdentityRemote(identity, host); err != nil {
					return "", err
				}
				// The dialog had the person type the target's name: that is
				// the confirmation the request carries.
				var r core.Request
				r, err = runRequest(jctx, ctx, core.Request{Kind: core.RequestRestore, Host: host, Service: on, Params: core.RequestParams{
					BackupID: b.ID, Target: target, NewDB: newDB, Neutralize: neutralize, AcceptErrors: acceptErrors, Confirmed: true, Only: only}},
					"restore onto "+on, progress)
				if err == nil {
					err = requestResult(r, &res)
				}
			case target != "":
				res, err = eng.RestoreToService(jctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: target, Neutralize: neutralize, AcceptErrors: acceptErrors, IdentityFile: identity, Only: only, Progress: progress})
			default:
				res, err = eng.RestoreNewDB(jctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, Neutralize: neutralize, AcceptErrors: acceptErrors, IdentityFile: identity, Only: only, Progress: progress})
			}
			out <- res
			if errors.Is(err, core.ErrChecksFailed) {
				return "", core.Userf(err, "%s; to put it in place anyway, restore again and tick \"restore even if the checks fail\" in the options", strings.TrimSuffix(userMessage(err), "."))
			}
			if err != nil {
				return "", err
			}
			switch {
			case target == "" && only == core.RestoreFilestoreOnly:
				return fmt.Sprintf("the filestore of backup %d restored into %s", b.ID, res.FilestoreDir), nil
			case target == "":
				return fmt.Sprintf("%s restored into new database %s", what, res.Database), nil
			}
			return fmt.Sprintf("%s restored onto %s; to put the old data back, %s", what, target, undoRestore(res.SafetyBackupID, target)), nil
		},
	}
}

// undoRestore says how this console restores the safety backup, which puts
// the old data back.
func undoRestore(safetyID int64, service string) string {
	return fmt.Sprintf("restore safety backup %d onto %s (r on it in the history of %s)", safetyID, service, service)
}

// verifyJob verifies a backup end to end, decrypting it with the identity
// file when one is given; it changes nothing.
func verifyJob(ctx *Context, b core.Backup, identity string) JobSpec {
	eng := ctx.Engine
	return JobSpec{
		Label: fmt.Sprintf("verifying backup %d", b.ID),
		Run: func(jctx context.Context, progress core.ProgressFunc) (string, error) {
			res, err := eng.Verify(jctx, core.VerifyRequest{BackupID: b.ID, Progress: progress, IdentityFile: identity})
			if err != nil {
				return "", err
			}
			if res.FilestoreFiles > 0 {
				return fmt.Sprintf("backup %d is sound: checksum matches, %s of dump and %d filestore files read back", b.ID, size(int64(res.DumpBytes)), res.FilestoreFiles), nil
			}
			return fmt.Sprintf("backup %d is sound: checksum matches and the archive reads back", b.ID), nil
		},
	}
}

// startVerify starts verifying a backup from the history; a backup whose
// key is not kept on this host first asks for its identity file.
func startVerify(ctx *Context, b core.Backup) tea.Cmd {
	if why := noArchive(b, "verify"); why != "" {
		return setStatus(true, why)
	}
	if core.BackupRecipient(b) == "" {
		return startJob(verifyJob(ctx, b, ""))
	}
	load := verifyKey(ctx, b)
	return func() tea.Msg {
		k := load()
		switch {
		case k.err != nil:
			return statusMsg{err: true, text: errorText(k.err)}
		case k.recipient == "":
			return startJobMsg{verifyJob(ctx, b, "")}
		}
		return openMsg{newVerifyDialog(ctx, b, k.recipient)}
	}
}

// deleteJob deletes a backup; force deletes a service's last good one.
func deleteJob(ctx *Context, b core.Backup, force bool) JobSpec {
	eng := ctx.Engine
	label := fmt.Sprintf("deleting backup %d", b.ID)
	if force {
		label = fmt.Sprintf("deleting backup %d (forced)", b.ID)
	}
	return JobSpec{
		Label:   label,
		Changes: true,
		Run: func(jctx context.Context, _ core.ProgressFunc) (string, error) {
			d, err := eng.DeleteBackup(jctx, core.DeleteRequest{BackupID: b.ID, Force: force})
			if err != nil {
				return "", err
			}
			if d.Status == core.StatusSucceeded && d.LockedUntil != nil {
				// Its lock kept it, which is not an error: the lock
				// does what it was asked to.
				return lockedDeleteText(d), nil
			}
			return fmt.Sprintf("backup %d of %s deleted from %s", d.ID, d.Service, d.Destination), nil
		},
	}
}

// openUpload opens upload & restore for a service, once its primary (where
// the upload goes) is known.
func openUpload(ctx *Context, service string) tea.Cmd {
	cat := ctx.Catalog
	return func() tea.Msg {
		p, err := cat.Primary(context.Background(), service)
		if errors.Is(err, core.ErrNotFound) {
			return statusMsg{err: true, text: errorText(core.NoPrimaryError(service, "to upload to", err))}
		}
		if err != nil {
			return statusMsg{err: true, text: fmt.Sprintf("cannot read %s: %s", service, errorText(err))}
		}
		return openMsg{newUploadDialog(ctx, service, p.Destination)}
	}
}

// InspectedMsg carries what a file to upload is, or why it is refused.
type InspectedMsg struct {
	Path string
	Info core.UploadInfo
	Err  error
}

func inspectUpload(ctx *Context, path string) tea.Cmd {
	eng, base := ctx.Engine, ctx.Base
	return func() tea.Msg {
		info, err := eng.InspectUpload(base, path)
		return InspectedMsg{Path: path, Info: info, Err: err}
	}
}

// uploadJob stores a file on the service's primary as an upload backup;
// the new backup goes to out before the job ends.
func uploadJob(ctx *Context, service, primary, path string, out chan<- core.Backup) JobSpec {
	eng := ctx.Engine
	return JobSpec{
		Label:   fmt.Sprintf("uploading %s to %s", filepath.Base(path), primary),
		Changes: true,
		Run: func(jctx context.Context, progress core.ProgressFunc) (string, error) {
			b, _, err := eng.Upload(jctx, core.UploadRequest{Path: path, Service: service, Progress: progress})
			if err != nil {
				return "", err
			}
			out <- b
			return fmt.Sprintf("uploaded as backup %d to %s", b.ID, b.Destination), nil
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// lockedDeletePrefix starts what a delete that a lock refused says.
const lockedDeletePrefix = "nothing was deleted"

// lockedDeleteText says that a deletion left b whole because of its lock.
func lockedDeleteText(b core.Backup) string {
	return fmt.Sprintf("%s: backup %d is locked on %s until %s, so it stays whole and restorable; delete it after that date",
		lockedDeletePrefix, b.ID, b.Destination, b.LockedUntil.Local().Format("2006-01-02 15:04"))
}
