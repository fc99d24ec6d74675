package core

import (
	"context"
)

// leftoverSweep bounds how many earlier backups of a service on a
// destination a successful backup looks back at.
const leftoverSweep = 20

// cleanFailedLeftovers aborts what the backups of b's service on st that
// failed since the last success there may have left invisible: a multipart
// upload whose abort could not reach a server that had gone down is still
// stored (and billed) once the server is back. A successful backup b proves
// the destination works again, so this is when the abort can succeed. It is
// best effort: the backup has succeeded whatever happens here.
func (e *Engine) cleanFailedLeftovers(ctx context.Context, st ObjectStore, b Backup) {
	c, ok := st.(IncompleteCleaner)
	if !ok {
		return
	}
	earlier, err := e.Catalog.Backups(ctx, BackupFilter{Service: b.Service, Destination: b.Destination, Limit: leftoverSweep})
	if err != nil {
		return
	}
	// A backup started in the same second may reuse a failed one's key;
	// its upload in progress must not be aborted.
	live := map[string]bool{b.Key: true}
	for _, old := range earlier {
		if old.Status == StatusRunning {
			live[old.Key] = true
		}
	}
	for _, old := range earlier {
		if old.ID == b.ID || old.Status == StatusRunning {
			continue
		}
		if old.Status != StatusFailed {
			break // the previous success swept what came before it
		}
		if old.Key == "" || live[old.Key] {
			continue
		}
		if err := c.CleanupIncomplete(ctx, old.Key); err != nil {
			e.log().Warn("cannot abort what a failed backup left on its destination", "backup", old.ID, "destination", b.Destination, "error", err)
		}
	}
}
