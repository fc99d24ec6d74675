package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// IncompleteCleaner is implemented by stores where a process that died in
// the middle of Put can leave invisible partial data behind (an S3 multipart
// upload, a temporary file); CleanupIncomplete removes what is left of puts
// to key. It is idempotent.
type IncompleteCleaner interface {
	CleanupIncomplete(ctx context.Context, key string) error
}

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

// InterruptedMessage is the error of a backup whose process died.
const InterruptedMessage = "interrupted: the process running it stopped before it finished; the next run takes a new backup"

// RecoverInterrupted finds backups left running by a process that is gone
// (on this host: its pid no longer exists; anywhere: no sign of life for
// staleAfter), records them as failed and removes whatever they left on
// their destination. It also drops the loader roles and staged databases
// of restores that died (see DropStaleLoaders). It returns the backups it
// recovered.
func (e *Engine) RecoverInterrupted(ctx context.Context, staleAfter time.Duration) ([]Backup, error) {
	running, err := e.Catalog.Backups(ctx, BackupFilter{Status: StatusRunning})
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	now := e.now()
	var out []Backup
	var errs []error
	for _, b := range running {
		dead := now.Sub(b.UpdatedAt) > staleAfter
		if b.Host == host && b.PID > 0 {
			dead = dead || !ProcessAlive(b.PID)
			if b.PID == os.Getpid() {
				dead = false
			}
		}
		if !dead {
			continue
		}
		if b.Key != "" {
			if err := e.removeLeftovers(ctx, b); err != nil {
				errs = append(errs, fmt.Errorf("clean up backup %d: %w", b.ID, err))
				continue
			}
		}
		fin := now.UTC()
		b.Status, b.Error, b.FinishedAt, b.Phase, b.Bytes, b.Size, b.SHA256 = StatusFailed, InterruptedMessage, &fin, "", 0, 0, ""
		if err := e.Catalog.UpdateBackup(ctx, b); err != nil {
			errs = append(errs, err)
			continue
		}
		e.log().Warn("backup interrupted by a crash recorded as failed", "backup", b.ID, "service", b.Service, "destination", b.Destination)
		out = append(out, b)
	}
	// A restore killed in the middle leaves its loader role and staged
	// database on the PostgreSQL server.
	e.DropStaleLoaders(ctx)
	return out, errors.Join(errs...)
}

func (e *Engine) removeLeftovers(ctx context.Context, b Backup) error {
	d, err := e.Catalog.Destination(ctx, b.Destination)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := e.OpenStore(ctx, d)
	if err != nil {
		return err
	}
	for _, key := range []string{b.Key, MetadataKey(b.Key)} {
		if err := st.Delete(ctx, key); err != nil {
			return err
		}
		if c, ok := st.(IncompleteCleaner); ok {
			if err := c.CleanupIncomplete(ctx, key); err != nil {
				return err
			}
		}
	}
	return nil
}

// ProcessAlive reports whether a process with that pid exists on this host.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
