package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DeleteRequest asks for one backup to be removed by hand.
type DeleteRequest struct {
	BackupID int64
	// Force deletes even the last succeeded backup of its service.
	Force bool
}

// ActionForceDelete: Backup is the last successful one of Service; deleting
// it anyway needs saying so.
const ActionForceDelete Action = "force-delete"

// DeleteResult is what a deletion did: the backup as now recorded, and
// the sweep of its pool that followed (pool backups only).
type DeleteResult struct {
	Backup Backup `json:"backup"`
	// Locked says the backup was left whole because its objects are under
	// an Object Lock that has not ended: nothing was deleted or recorded
	// as deleted, and it stays restorable (Backup.LockedUntil says until
	// when). It is not an error.
	Locked     *LockedError `json:"locked,omitempty"`
	Sweep      *SweepResult `json:"sweep,omitempty"`
	SweepError string       `json:"sweep_error,omitempty"`
}

// DeleteBackup is Delete's backup: one a lock kept is returned still
// succeeded, with its LockedUntil.
func (e *Engine) DeleteBackup(ctx context.Context, req DeleteRequest) (Backup, error) {
	r, err := e.Delete(ctx, req)
	return r.Backup, err
}

// Delete removes a backup by hand: the archive first, then its metadata
// object (a metadata object without its archive is harmless, and a catalog
// rebuild skips it), then a pool backup's file list, then the backup is
// recorded as deleted so its history stays, and the pool is swept of the
// objects no remaining backup refers to (SweepPool). A failed backup has
// nothing stored and is only recorded as deleted. A backup whose objects
// are locked (S3 Object Lock) is left whole and stays succeeded, with
// DeleteResult.Locked saying until when: not an error. The last succeeded
// backup of a service, counted across all its destinations, is refused
// unless Force is set: deleting it leaves nothing to restore. Running, rotated and
// deleted backups are refused.
func (e *Engine) Delete(ctx context.Context, req DeleteRequest) (res DeleteResult, err error) {
	id, force := req.BackupID, req.Force
	defer func() {
		a := e.auditDelete(ctx, id, force)
		if res.Locked != nil {
			a.Detail = strings.TrimPrefix(a.Detail+"; ", "; ") + "nothing deleted: locked until " + res.Locked.Until.UTC().Format(time.RFC3339)
		}
		e.audit(ctx, a, err)
	}()
	if err := e.permit(ctx, ActionDelete); err != nil {
		return res, err
	}
	b, err := e.Catalog.Backup(ctx, id)
	res.Backup = b
	if err != nil {
		return res, err
	}
	switch b.Status {
	case StatusSucceeded:
	case StatusFailed:
		b.Status = StatusDeleted
		res.Backup = b
		if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
			return res, err
		}
		e.log().Info("failed backup deleted from the history", "backup", b.ID, "service", b.Service, "destination", b.Destination)
		return res, nil
	case StatusRunning:
		return res, Userf(ErrInvalid, "backup %d is still running; wait for it to finish before deleting it", id)
	default:
		return res, Userf(ErrInvalid, "backup %d was already %s and its archive is gone; there is nothing left to delete", id, b.Status)
	}
	if !force {
		others, err := e.Catalog.Backups(ctx, BackupFilter{Service: b.Service, Status: StatusSucceeded})
		if err != nil {
			return res, err
		}
		last := true
		for _, o := range others {
			if o.ID != b.ID {
				last = false
				break
			}
		}
		if last {
			return res, Advise(Advice{Action: ActionForceDelete, Backup: id, Service: b.Service}, ErrInvalid, "backup %d is the last successful backup of service %q, so deleting it would leave nothing to restore", id, b.Service)
		}
	}
	d, err := e.Catalog.Destination(ctx, b.Destination)
	if err != nil {
		return res, err
	}
	if u := b.LockedUntil; u != nil && u.After(e.now()) {
		mode := d.Lock.Mode
		return e.keptLocked(ctx, res, d, &LockedError{Key: b.Key, Until: *u, Mode: mode})
	}
	st, err := e.OpenStore(ctx, d)
	if err != nil {
		return res, err
	}
	if err := e.removeBackupObjects(ctx, st, d, b); err != nil {
		le, ok := errors.AsType[*LockedError](err)
		if !ok {
			return res, fmt.Errorf("delete backup %d: %w", b.ID, err)
		}
		return e.keptLocked(ctx, res, d, le)
	}
	b.Status = StatusDeleted
	if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
		return res, err
	}
	res.Backup = b
	e.log().Info("backup deleted", "backup", b.ID, "service", b.Service, "destination", b.Destination, "key", b.Key)
	if b.Format == FormatOdooPool {
		sw, err := e.sweepPool(ctx, d, st, b.Service)
		res.Sweep = &sw
		if err != nil {
			// The backup is deleted: the next removal sweeps.
			res.SweepError = err.Error()
			e.log().Warn("pool not swept after the deletion", "service", b.Service, "destination", d.Name, "error", err)
		}
	}
	return res, nil
}

// keptLocked is the result of a deletion that le refused: the backup stays
// as it was, its row learning its lock end.
func (e *Engine) keptLocked(ctx context.Context, res DeleteResult, d Destination, le *LockedError) (DeleteResult, error) {
	b := res.Backup
	until := le.Until.UTC()
	if le.Mode == "" {
		le.Mode = d.Lock.Mode
	}
	if b.LockedUntil == nil || !b.LockedUntil.Equal(until) {
		b.LockedUntil = &until
		if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
			return res, err
		}
	}
	res.Backup, res.Locked = b, le
	e.log().Info("backup not deleted: locked", "backup", b.ID, "service", b.Service, "destination", d.Name, "locked_until", until, "mode", le.Mode)
	return res, nil
}
