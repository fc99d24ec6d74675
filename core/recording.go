package core

import (
	"context"
	"fmt"
	"os"
)

// recording is the bookkeeping of one recorded operation: the backup row a
// backup, an upload or a copy keeps while it stores an archive. Each of them
// goes through the same steps, written here once:
//
//  1. startRecording creates the row as running, stamped with this host, pid
//     and process start, before anything is written: crash recovery
//     (RecoverInterrupted, RecoverCrashed) tells a live operation from one
//     whose process is gone by them and by the row's last sign of life;
//  2. trackProgress reports the work to the caller and to the row (every
//     ProgressInterval, and a heartbeat every HeartbeatInterval even while
//     nothing moves, so the operation is never taken for dead);
//  3. stop ends the live progress and sets the finish time, which the
//     metadata object written next records;
//  4. finish records the outcome: succeeded as the operation filled the row
//     (size, checksum, versions), or failed with the error's sentence, no
//     size, checksum or missing files, and the objects the failure left on
//     the destination removed.
//
// What the operation stores and how it phrases its failure stay with it.
type recording struct {
	e *Engine
	b Backup
	// store is where the archive b.Key goes; nil until it is open.
	store ObjectStore
}

// startRecording creates b's row as a running operation of this process, in
// phase (its live progress), and returns its recording. b names the
// service, destination, kind and what is known of the content.
func (e *Engine) startRecording(ctx context.Context, b Backup, phase Phase, st ObjectStore) (*recording, error) {
	host := HostName()
	b.Status, b.Phase = StatusRunning, phase
	b.Host, b.PID, b.ProcessStart = host, os.Getpid(), selfStart()
	if err := e.Catalog.CreateBackup(ctx, &b); err != nil {
		return nil, err
	}
	return &recording{e: e, b: b, store: st}, nil
}

// trackProgress reports the progress of recs, which share one stream of
// work, to fn and to their rows; total is the byte count when known (0
// otherwise). The rows get a heartbeat until stop is called.
func (e *Engine) trackProgress(fn ProgressFunc, total int64, recs ...*recording) (rep *progressReporter, stop func()) {
	ids := make([]int64, len(recs))
	for i, r := range recs {
		ids[i] = r.b.ID
	}
	rep = e.reporter(fn, ids...)
	rep.total = total
	return rep, rep.heartbeat(e.heartbeatInterval())
}

// save stores what the row knows so far (its key, once picked).
func (r *recording) save(ctx context.Context) error {
	if err := r.e.Catalog.UpdateBackup(ctx, r.b); err != nil {
		return fmt.Errorf("record backup %d: %w", r.b.ID, err)
	}
	return nil
}

// stop ends the row's live progress: the work is over and the row's finish
// time is now.
func (r *recording) stop() {
	finished := r.e.now().UTC()
	r.b.FinishedAt = &finished
	r.b.Phase, r.b.Bytes = "", 0
}

// finish records the outcome of the work: with err nil the row succeeds as
// the operation filled it; otherwise it fails with err's sentence, and the
// leftovers (keys on the recording's store that the failure left behind)
// are removed first. It runs even when ctx has ended, and returns only the
// error of saving the row.
func (r *recording) finish(ctx context.Context, err error, leftovers ...string) error {
	saveCtx := context.WithoutCancel(ctx)
	if r.b.FinishedAt == nil {
		r.stop()
	}
	if err != nil {
		if r.store != nil {
			for _, key := range leftovers {
				_ = r.store.Delete(saveCtx, key)
			}
		}
		r.b.Status, r.b.Error = StatusFailed, describe(ctx, err)
		r.b.Size, r.b.SHA256 = 0, ""
		r.b.MissingCount, r.b.MissingFiles = 0, nil
		r.b.Pool = nil
	} else {
		r.b.Status = StatusSucceeded
		r.e.judgeSize(saveCtx, &r.b)
		if r.store != nil {
			r.e.recordLock(saveCtx, r.store, &r.b)
		}
	}
	return r.save(saveCtx)
}
