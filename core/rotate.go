package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RotateRequest asks for the retention of one configuration to be applied.
type RotateRequest struct {
	Service, Destination string
	// DryRun only says what would be rotated and why.
	DryRun bool
}

// RotateResult is one configuration's rotation: the decisions, newest
// first, and what the removals free.
type RotateResult struct {
	Decisions []RetentionDecision `json:"decisions"`
	// Frees is every byte the removals free together (would free, in a dry
	// run): their archives, metadata objects and file lists, the pool
	// objects no kept backup refers to, and what earlier crashes left in the
	// pool (objects no backup refers to, lists of removed backups). A real
	// rotation counts what it removed.
	Frees int64 `json:"frees_bytes"`
	// Sweep is the pool sweep that followed a real rotation of pool
	// backups; SweepError why it removed nothing, when it failed.
	Sweep      *SweepResult `json:"sweep,omitempty"`
	SweepError string       `json:"sweep_error,omitempty"`
	// Note says what Frees could not count (a destination that does not
	// answer, a file list that cannot be read).
	Note string `json:"note,omitempty"`
}

// Rotate is RotateWithSweep's decisions.
func (e *Engine) Rotate(ctx context.Context, req RotateRequest) ([]RetentionDecision, error) {
	r, err := e.RotateWithSweep(ctx, req)
	return r.Decisions, err
}

// RotateWithSweep applies the retention of the configuration of service on
// destination to its backups: the archives, metadata objects and file lists
// of the backups it does not keep are deleted, the backups are recorded as
// rotated, and the service's pool on the destination is swept (SweepPool).
// With DryRun nothing changes, and each removal says what it would free
// (RetentionDecision.Frees). Orphaned backups (their configuration was
// removed) are never rotated; setting the configuration again adopts them:
// they are its scheduled backups once more and its retention applies to
// them.
func (e *Engine) RotateWithSweep(ctx context.Context, req RotateRequest) (res RotateResult, err error) {
	service, destination, dryRun := req.Service, req.Destination, req.DryRun
	defer func() { e.auditRotate(ctx, service, destination, dryRun, res.Decisions, err) }()
	if !dryRun {
		if err := e.permit(ctx, ActionRotate); err != nil {
			return res, err
		}
	}
	configs, err := e.Catalog.Configurations(ctx, service)
	if err != nil {
		return res, err
	}
	var cfg *Configuration
	for i := range configs {
		if configs[i].Destination == destination {
			cfg = &configs[i]
		}
	}
	if cfg == nil {
		return res, Userf(ErrNotFound, "service %q has no configuration on destination %q, so there is no retention to apply", service, destination)
	}
	backups, err := e.Catalog.Backups(ctx, BackupFilter{Service: service, Destination: destination, Kind: KindScheduled})
	if err != nil {
		return res, err
	}
	res.Decisions = ApplyRetention(service, destination, backups, cfg.Retention, time.Local)
	var removed []Backup
	for i, d := range res.Decisions {
		if d.Keep {
			continue
		}
		// A backup its catalog row says is locked stays as it is; the
		// first rotation after its lock ends removes it.
		if u := d.Backup.LockedUntil; u != nil && u.After(e.now()) {
			res.Decisions[i].keepLocked(&LockedError{Key: d.Backup.Key, Until: *u})
			e.log().Info("backup kept: locked", "service", service, "destination", destination, "backup", d.Backup.ID, "locked_until", u.UTC())
			continue
		}
		removed = append(removed, d.Backup)
	}
	if len(removed) == 0 {
		return res, nil
	}
	dest, err := e.Catalog.Destination(ctx, destination)
	if err != nil {
		return res, err
	}
	st, err := e.OpenStore(ctx, dest)
	if err != nil {
		if dryRun {
			e.fillFrees(&res, removalPlan{}, removed, err)
			return res, nil
		}
		return res, err
	}
	plan := e.planRemoval(ctx, st, dest, service, removed)
	e.fillFrees(&res, plan, removed, nil)
	if dryRun {
		return res, nil
	}
	// What is removed is counted as the plan saw it; the sweep counts its
	// own.
	res.Frees = 0
	pooled := false
	for i, d := range res.Decisions {
		if d.Keep {
			continue
		}
		b := d.Backup
		if err := e.removeBackupObjects(ctx, st, dest, b); err != nil {
			le, ok := errors.AsType[*LockedError](err)
			if !ok {
				return res, fmt.Errorf("rotate backup %d: %w", b.ID, err)
			}
			// The storage keeps it: so does the rotation, and the row
			// learns until when.
			res.Decisions[i].keepLocked(le)
			until := le.Until.UTC()
			b.LockedUntil = &until
			if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
				return res, err
			}
			res.Decisions[i].Backup = b
			e.log().Info("backup kept: locked", "service", service, "destination", destination, "backup", b.ID, "locked_until", until)
			continue
		}
		res.Frees += plan.stored[b.ID]
		pooled = pooled || b.Format == FormatOdooPool
		b.Status = StatusRotated
		if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
			return res, err
		}
		res.Decisions[i].Backup = b
		e.log().Info("backup rotated", "service", service, "destination", destination, "backup", b.ID, "key", b.Key, "why", strings.Join(d.Reasons, "; "))
	}
	if pooled {
		sw, err := e.sweepPool(ctx, dest, st, service)
		res.Sweep = &sw
		res.Frees += sw.Freed()
		if err != nil {
			// The rotation itself is done: the next one sweeps.
			res.SweepError = err.Error()
			e.log().Warn("pool not swept after the rotation", "service", service, "destination", destination, "error", err)
		}
	}
	return res, nil
}

// fillFrees puts plan's figures into res; with err (the destination could
// not be opened) only what the catalog knows.
func (e *Engine) fillFrees(res *RotateResult, plan removalPlan, removed []Backup, err error) {
	if err != nil {
		plan = removalPlan{each: map[int64]int64{}, note: "the destination could not be reached, so only the archives are counted: " + err.Error()}
		for _, b := range removed {
			plan.each[b.ID] = b.Size
			plan.total += b.Size
		}
	}
	res.Frees, res.Note = plan.total, plan.note
	for i, d := range res.Decisions {
		if !d.Keep {
			res.Decisions[i].Frees = plan.each[d.Backup.ID]
		}
	}
}
