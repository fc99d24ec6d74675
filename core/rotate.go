package core

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Rotate applies the retention of the configuration of service on
// destination to its backups: the archives and metadata objects of the
// backups it does not keep are deleted, then the backups are recorded as
// rotated. With dryRun nothing changes. It returns every decision, newest
// first. Orphaned backups (their configuration was removed) are never
// rotated; setting the configuration again adopts them: they are its
// scheduled backups once more and its retention applies to them.
func (e *Engine) Rotate(ctx context.Context, service, destination string, dryRun bool) (decisions []RetentionDecision, err error) {
	defer func() { e.auditRotate(ctx, service, destination, dryRun, decisions, err) }()
	configs, err := e.Catalog.Configurations(ctx, service)
	if err != nil {
		return nil, err
	}
	var cfg *Configuration
	for i := range configs {
		if configs[i].Destination == destination {
			cfg = &configs[i]
		}
	}
	if cfg == nil {
		return nil, Userf(ErrNotFound, "service %q has no configuration on destination %q, so there is no retention to apply", service, destination)
	}
	backups, err := e.Catalog.Backups(ctx, BackupFilter{Service: service, Destination: destination, Kind: KindScheduled})
	if err != nil {
		return nil, err
	}
	decisions = ApplyRetention(service, destination, backups, cfg.Retention, time.Local)
	if dryRun {
		return decisions, nil
	}
	var st ObjectStore
	for i, d := range decisions {
		if d.Keep {
			continue
		}
		if st == nil {
			dest, err := e.Catalog.Destination(ctx, destination)
			if err != nil {
				return decisions, err
			}
			if st, err = e.OpenStore(ctx, dest); err != nil {
				return decisions, err
			}
		}
		b := d.Backup
		// The archive goes first: a metadata object without its archive is
		// harmless, an archive without its metadata is a backup nobody sees.
		if err := st.Delete(ctx, b.Key); err != nil {
			return decisions, fmt.Errorf("rotate backup %d: delete %s: %w", b.ID, b.Key, err)
		}
		if err := st.Delete(ctx, MetadataKey(b.Key)); err != nil {
			return decisions, fmt.Errorf("rotate backup %d: delete %s: %w", b.ID, MetadataKey(b.Key), err)
		}
		b.Status = StatusRotated
		if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
			return decisions, err
		}
		decisions[i].Backup = b
		e.log().Info("backup rotated", "service", service, "destination", destination, "backup", b.ID, "key", b.Key, "why", strings.Join(d.Reasons, "; "))
	}
	return decisions, nil
}
