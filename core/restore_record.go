package core

import (
	"context"
	"time"
)

// recordRestore records a restore of backup b into target (a service or a
// new database) that began at start and ended now with err, for the
// measured RTO (RestoreRecord). The time is that of bringing the data back:
// from reading the archive (download and checksum) through the database,
// the filestore and the checks to the swap or the publication under the
// real names; a safety backup taken before does not count, as the data
// would be brought back without it on the worst day. A failed restore is
// recorded failed, and is no RTO. A restore refused before it began (no
// permission, a name taken, a failed safety backup) is no restore and is
// not recorded: the audit trail has it.
//
// Recording is best effort: a catalog that cannot record it (or does not
// keep restores) costs the measurement, never the restore, and is logged.
func (e *Engine) recordRestore(ctx context.Context, b Backup, target string, start time.Time, err error) {
	rh, ok := e.Catalog.(RestoreHistory)
	if !ok {
		return
	}
	r := RestoreRecord{Service: b.Service, BackupID: b.ID, Target: target, Status: RestoreSucceeded, Host: HostName(),
		StartedAt: start.UTC(), FinishedAt: e.now().UTC()}
	if err != nil {
		r.Status, r.Error = RestoreFailed, describe(ctx, err)
	}
	if rerr := rh.AddRestore(context.WithoutCancel(ctx), &r); rerr != nil {
		e.log().Warn("the restore could not be recorded; its time is missing from the measured RTO",
			"backup", b.ID, "target", target, "status", r.Status, "error", rerr)
	}
}
