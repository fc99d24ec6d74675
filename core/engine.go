package core

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// EngineCatalog is what the engine uses of the catalog: it records
// backups, drills and its operations in the audit trail, holds the lease of
// a restore, reads destinations, and keeps services and their
// configurations (a copy of a service, a catalog rebuild). It changes no
// destination or template.
type EngineCatalog interface {
	DestinationReader
	Services
	Configurations
	BackupLog
	Drills
	AuditTrail
	Leases
}

// Engine runs backups, restores, verifications and downloads. It knows
// nothing about consoles: long work reports through the Progress callback of
// each request.
type Engine struct {
	Catalog   EngineCatalog
	OpenStore StoreOpener
	Tools     PGTools
	Log       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now Clock
	// ProgressInterval is how often live progress is written to the catalog
	// (so other processes can show it); 0 means one second.
	ProgressInterval time.Duration
	// PoolCacheDir keeps, for encrypting destinations whose identity is
	// off this host, the key of each pool and its last file list (see
	// pool_crypt.go); "" keeps none, and every backup to such a pool then
	// stores every file.
	PoolCacheDir string
	// PoolGrace is how young an object a pool sweep leaves alone even when
	// no backup refers to it; 0 means DefaultPoolGrace, < 0 none.
	PoolGrace time.Duration
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Progress is a snapshot of long work. Bytes counts archive bytes written (a
// backup) or read (a restore, verify or download); Total is known for reads.
type Progress struct {
	BackupID int64
	Phase    Phase
	Bytes    int64
	Total    int64
}

// ProgressFunc receives progress; it must return quickly.
type ProgressFunc func(Progress)

// progressReporter throttles progress to the caller and to the catalog.
type progressReporter struct {
	mu       sync.Mutex
	e        *Engine
	fn       ProgressFunc
	ids      []int64
	all      int // len(ids) before any drop: 0 reports no backup's progress
	phase    Phase
	bytes    int64
	total    int64
	lastCall time.Time
	lastSave time.Time
}

func (e *Engine) reporter(fn ProgressFunc, ids ...int64) *progressReporter {
	return &progressReporter{e: e, fn: fn, ids: ids, all: len(ids)}
}

// drop stops reporting the progress of backup id, recorded as finished
// while the others of its stream go on.
func (p *progressReporter) drop(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// A new slice: set and heartbeat range over the one they took.
	p.ids = slices.DeleteFunc(slices.Clone(p.ids), func(v int64) bool { return v == id })
}

// set records the phase and the absolute byte count.
func (p *progressReporter) set(phase Phase, bytes int64) {
	p.mu.Lock()
	changed := phase != p.phase
	p.phase, p.bytes = phase, bytes
	now := time.Now()
	callNow := changed || now.Sub(p.lastCall) >= 100*time.Millisecond
	interval := p.e.ProgressInterval
	if interval == 0 {
		interval = time.Second
	}
	saveNow := changed || now.Sub(p.lastSave) >= interval
	if callNow {
		p.lastCall = now
	}
	if saveNow {
		p.lastSave = now
	}
	snap := Progress{Phase: phase, Bytes: bytes, Total: p.total}
	ids, all := p.ids, p.all
	p.mu.Unlock()
	if callNow && p.fn != nil {
		for _, id := range ids {
			s := snap
			s.BackupID = id
			p.fn(s)
		}
		if all == 0 {
			p.fn(snap)
		}
	}
	if saveNow && p.e.Catalog != nil {
		for _, id := range ids {
			// Progress is advisory: a busy catalog must not fail the work.
			_ = p.e.Catalog.UpdateProgress(context.Background(), id, BackupProgress{Phase: phase, Bytes: bytes})
		}
	}
}

func (p *progressReporter) add(n int64) {
	p.mu.Lock()
	b := p.bytes + n
	ph := p.phase
	p.mu.Unlock()
	p.set(ph, b)
}

// HeartbeatInterval is how often a running backup shows a sign of life in
// the catalog even when no byte moves (pg_dump waiting on a lock, a slow
// destination), so other processes do not take it for dead.
const HeartbeatInterval = 15 * time.Second

func (e *Engine) heartbeatInterval() time.Duration { return HeartbeatInterval }

// heartbeat saves the current progress every interval until stopped.
func (p *progressReporter) heartbeat(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.mu.Lock()
				phase, bytes, ids := p.phase, p.bytes, p.ids
				p.mu.Unlock()
				for _, id := range ids {
					_ = p.e.Catalog.UpdateProgress(context.Background(), id, BackupProgress{Phase: phase, Bytes: bytes})
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// countingWriter reports every write to a progress reporter.
type countingWriter struct {
	p *progressReporter
}

func (c countingWriter) Write(b []byte) (int, error) {
	c.p.add(int64(len(b)))
	return len(b), nil
}

// backupKey is where an archive lives on its destination, readable by a
// person browsing the bucket: <service>/<YYYY>/<MM>/<service>_<stamp>_<kind>.zip.
func backupKey(service string, started time.Time, kind BackupKind, n int) string {
	t := started.UTC()
	suffix := ""
	if n > 1 {
		suffix = fmt.Sprintf("-%d", n)
	}
	return fmt.Sprintf("%s/%04d/%02d/%s_%s_%s%s.zip", service, t.Year(), int(t.Month()), service, t.Format("20060102-150405"), kind, suffix)
}

// EncryptedExt ends the key of an age-encrypted archive, after the
// archive's own extension: "..._manual.zip.age" (SPEC). Archives encrypted
// by older versions kept the plain name; keys are read from the catalog and
// the metadata objects, never guessed from the name, so both stay readable.
const EncryptedExt = ".age"

// withEncryptedExt adds EncryptedExt to key when the archive is encrypted.
func withEncryptedExt(key string, encrypted bool) string {
	if encrypted {
		return key + EncryptedExt
	}
	return key
}

// MetadataKey is the key of a backup's metadata object.
func MetadataKey(archiveKey string) string { return archiveKey + ".json" }
