package core

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
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

// InterruptedMessage is the error of a backup whose process died.
const InterruptedMessage = "interrupted: the process died before the backup finished, and what it had written was removed; run the backup again"

// RecoverInterrupted finds backups left running by a process that is gone,
// records them as failed and removes whatever they left on their
// destination (a temporary file, a multipart upload). On this host a
// process is gone when its pid no longer exists, or now names another
// process (its start time differs from the one recorded); anywhere else
// when it showed no sign of life for staleAfter. A staleAfter of 0 looks
// only at this host's rows: that is what every command does when it opens
// the catalog (RecoverCrashed), while the daemon also takes over for hosts
// that went silent. Only running rows are read, so it is cheap when there
// is nothing to do. A row whose leftovers cannot be removed (its
// destination unreachable) is still recorded as failed: the next successful
// backup there removes them (cleanFailedLeftovers). It logs one warning per
// backup recovered and returns them. The daemon's call (staleAfter > 0)
// also drops the loader roles and staged databases of restores that died
// (see DropStaleLoaders); a command's does not, since that means
// connecting to every service's server (the next restore there drops them
// too).
func (e *Engine) RecoverInterrupted(ctx context.Context, staleAfter time.Duration) ([]Backup, error) {
	if staleAfter > 0 {
		// A restore killed in the middle leaves its loader role and staged
		// database on the PostgreSQL server.
		defer e.DropStaleLoaders(ctx)
	}
	running, err := e.Catalog.Backups(ctx, BackupFilter{Status: StatusRunning})
	if err != nil || len(running) == 0 {
		return nil, err
	}
	host := HostName()
	now := e.now()
	var out []Backup
	var errs []error
	for _, b := range running {
		if !processGone(b, host, now, staleAfter) {
			continue
		}
		if b.Key != "" {
			cctx, cancel := context.WithTimeout(ctx, leftoverCleanupTimeout)
			err := e.removeLeftovers(cctx, b)
			cancel()
			if err != nil {
				e.log().Warn("cannot remove what an interrupted backup left on its destination yet; the next successful backup there will",
					"backup", b.ID, "destination", b.Destination, "error", describe(ctx, err))
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
	return out, errors.Join(errs...)
}

// RecoverCrashed is RecoverInterrupted for this host's dead processes only:
// what any command does first, so the debris of a killed command is cleaned
// by whoever comes next, daemon or not.
func (e *Engine) RecoverCrashed(ctx context.Context) ([]Backup, error) {
	return e.RecoverInterrupted(ctx, 0)
}

// leftoverCleanupTimeout bounds the removal of one interrupted backup's
// leftovers, so a command that merely opens the catalog does not wait long
// on an unreachable destination.
const leftoverCleanupTimeout = 15 * time.Second

// processGone decides whether the process that ran the running backup b is
// gone (see RecoverInterrupted).
func processGone(b Backup, host string, now time.Time, staleAfter time.Duration) bool {
	if b.Host == host && b.PID > 0 {
		if b.PID == os.Getpid() {
			return false
		}
		if !ProcessAlive(b.PID) {
			return true
		}
		if b.ProcessStart != 0 {
			if start, ok := ProcessStartTime(b.PID); ok && start != b.ProcessStart {
				return true // the pid now names another process
			}
		}
		// Alive on this host: only silence says otherwise.
	}
	return staleAfter > 0 && now.Sub(b.UpdatedAt) > staleAfter
}

// ProcessStartTime is when process pid started, in clock ticks since the
// host booted (Linux /proc/PID/stat, field 22): with the pid it names one
// process for the host's uptime. ok is false where it cannot be read.
func ProcessStartTime(pid int) (start int64, ok bool) {
	fields, ok := procStat(pid)
	const startField = 22 - 3 // fields after ')' start at field 3
	if !ok || len(fields) <= startField {
		return 0, false
	}
	start, err := strconv.ParseInt(fields[startField], 10, 64)
	return start, err == nil
}

// procStat is the fields of /proc/PID/stat from the third (the state) on;
// ok is false where it cannot be read.
func procStat(pid int) (fields []string, ok bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields that follow start after its last ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return nil, false
	}
	fields = strings.Fields(string(raw[i+1:]))
	return fields, len(fields) > 0
}

// selfStart is this process's start time, read once.
var selfStart = sync.OnceValue(func() int64 {
	start, _ := ProcessStartTime(os.Getpid())
	return start
})

func (e *Engine) removeLeftovers(ctx context.Context, b Backup) error {
	// A backup started in the same second may have picked the same key
	// (nothing was stored under it): its archive or upload is not debris.
	others, err := e.Catalog.Backups(ctx, BackupFilter{Service: b.Service, Destination: b.Destination, Limit: leftoverSweep})
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID != b.ID && o.Key == b.Key && (o.Status == StatusRunning || o.Status == StatusSucceeded) {
			return nil
		}
	}
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
			if errors.Is(err, ErrLocked) {
				// What an Object Lock keeps stays until it ends.
				continue
			}
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

// ProcessAlive reports whether a process with that pid exists on this host
// and has not ended. A process that died but that its parent has not
// waited for yet (a zombie: a backup killed under a script that does not
// reap it) still has its pid, yet does nothing more: it is not alive.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if fields, ok := procStat(pid); ok && (fields[0] == "Z" || fields[0] == "X") {
		return false
	}
	return true
}
