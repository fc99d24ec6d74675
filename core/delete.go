package core

import (
	"context"
	"fmt"
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

// DeleteBackup removes a backup by hand: the archive first, then its
// metadata object (a metadata object without its archive is harmless, and a
// catalog rebuild skips it), then the backup is recorded as deleted so its
// history stays. A failed backup has nothing stored and is only recorded as
// deleted. The last succeeded backup of a service, counted across all its
// destinations, is refused unless Force is set: deleting it leaves nothing to
// restore. Running, rotated and deleted backups are refused.
func (e *Engine) DeleteBackup(ctx context.Context, req DeleteRequest) (_ Backup, err error) {
	id, force := req.BackupID, req.Force
	defer func() { e.audit(ctx, e.auditDelete(ctx, id, force), err) }()
	b, err := e.Catalog.Backup(ctx, id)
	if err != nil {
		return Backup{}, err
	}
	switch b.Status {
	case StatusSucceeded:
	case StatusFailed:
		b.Status = StatusDeleted
		if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
			return b, err
		}
		e.log().Info("failed backup deleted from the history", "backup", b.ID, "service", b.Service, "destination", b.Destination)
		return b, nil
	case StatusRunning:
		return b, Userf(ErrInvalid, "backup %d is still running; wait for it to finish before deleting it", id)
	default:
		return b, Userf(ErrInvalid, "backup %d was already %s and its archive is gone; there is nothing left to delete", id, b.Status)
	}
	if !force {
		others, err := e.Catalog.Backups(ctx, BackupFilter{Service: b.Service, Status: StatusSucceeded})
		if err != nil {
			return b, err
		}
		last := true
		for _, o := range others {
			if o.ID != b.ID {
				last = false
				break
			}
		}
		if last {
			return b, Advise(Advice{Action: ActionForceDelete, Backup: id, Service: b.Service}, ErrInvalid, "backup %d is the last successful backup of service %q, so deleting it would leave nothing to restore", id, b.Service)
		}
	}
	d, err := e.Catalog.Destination(ctx, b.Destination)
	if err != nil {
		return b, err
	}
	st, err := e.OpenStore(ctx, d)
	if err != nil {
		return b, err
	}
	for _, key := range []string{b.Key, MetadataKey(b.Key)} {
		if err := st.Delete(ctx, key); err != nil {
			return b, fmt.Errorf("delete backup %d: delete %s from %s: %w", b.ID, key, d.Name, err)
		}
	}
	b.Status = StatusDeleted
	if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
		return b, err
	}
	e.log().Info("backup deleted", "backup", b.ID, "service", b.Service, "destination", b.Destination, "key", b.Key)
	return b, nil
}
