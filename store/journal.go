package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// Journal is a host's local record of what its daemon would have written to
// a shared catalog that did not answer: backup rows and their final state,
// drills and audit entries. It is a file of JSON lines, one entry a line,
// each appended and fsynced before the call that made it returns, so a
// crash loses at most the line being written (dropped with a warning when
// the journal is read again). JSON lines rather than a local SQLite file:
// the journal is written rarely and read whole, a person can read it when
// the catalog has been away for long, and a torn last line is all a crash
// can leave.
//
// An entry is removed only after the catalog committed it (Remove), and
// every row an entry creates carries the entry's origin in a UNIQUE column,
// so a replay interrupted between the commit and the removal finds the row
// and does not insert it twice.
type Journal struct {
	path string
	mu   sync.Mutex
	// entries are the entries not yet removed, in the order they were
	// appended; seq the last sequence number given.
	entries []JournalEntry
	seq     int64
}

// JournalEntry is one line of the journal: the whole state of one row at
// one moment. Later entries of the same origin replace earlier ones.
type JournalEntry struct {
	Seq int64     `json:"seq"`
	At  time.Time `json:"at"`
	// Origin names the row the entry creates or updates, unique across the
	// fleet (host/uuid); it is stored with the row. An update of a row the
	// catalog already had (a real, positive id) has none: storing its whole
	// state again is harmless.
	Origin string           `json:"origin,omitempty"`
	Backup *journaledBackup `json:"backup,omitempty"`
	Drill  *journaledDrill  `json:"drill,omitempty"`
	Audit  *core.AuditEntry `json:"audit,omitempty"`
}

// journaledBackup keeps the fields core.Backup's JSON leaves out.
type journaledBackup struct {
	core.Backup
	ServiceID     int64 `json:"service_id"`
	DestinationID int64 `json:"destination_id"`
	ProcessStart  int64 `json:"process_start"`
}

func journalBackup(b core.Backup) *journaledBackup {
	return &journaledBackup{Backup: b, ServiceID: b.ServiceID, DestinationID: b.DestinationID, ProcessStart: b.ProcessStart}
}

func (j *journaledBackup) backup() core.Backup {
	b := j.Backup
	b.ServiceID, b.DestinationID, b.ProcessStart = j.ServiceID, j.DestinationID, j.ProcessStart
	return b
}

type journaledDrill struct {
	core.Drill
	ServiceID int64 `json:"service_id"`
}

func journalDrill(d core.Drill) *journaledDrill {
	return &journaledDrill{Drill: d, ServiceID: d.ServiceID}
}

func (j *journaledDrill) drill() core.Drill {
	d := j.Drill
	d.ServiceID = j.ServiceID
	return d
}

// JournalPath is the journal file of host in dir.
func JournalPath(dir, host string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, host)
	return filepath.Join(dir, safe+".jsonl")
}

// OpenJournal reads the journal at path, creating its directory (owner
// only) when needed. Lines that cannot be read are dropped, each with a
// warning: a torn last line is what a crash while appending leaves; damage
// elsewhere keeps a copy of the file beside it (.damaged) before the
// journal is next rewritten.
func OpenJournal(path string) (*Journal, []string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, core.Userf(err, "the journal directory %s cannot be created (%v); it must be a directory this user can write to", filepath.Dir(path), cause(err))
	}
	if err := syscall.Access(filepath.Dir(path), 2|1); err != nil { // W_OK|X_OK
		return nil, nil, core.Userf(err, "the journal directory %s is not writable (%v); it must be a directory this user can write to", filepath.Dir(path), cause(err))
	}
	j := &Journal{path: path}
	var warnings []string
	err := j.locked(func() error {
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the journal %s: %w", path, err)
		}
		lines := bytes.Split(raw, []byte("\n"))
		damaged := false
		for i, line := range lines {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var e JournalEntry
			if err := json.Unmarshal(line, &e); err != nil || e.Seq <= 0 || e.Backup == nil && e.Drill == nil && e.Audit == nil {
				if i == len(lines)-1 && !bytes.HasSuffix(raw, []byte("\n")) {
					warnings = append(warnings, fmt.Sprintf("the last line of the journal %s is incomplete (the process stopped while writing it); it is dropped", path))
				} else {
					warnings = append(warnings, fmt.Sprintf("line %d of the journal %s cannot be read; it is dropped (a copy of the file is kept as %s.damaged)", i+1, path, path))
					damaged = true
				}
				continue
			}
			j.entries = append(j.entries, e)
			j.seq = max(j.seq, e.Seq)
		}
		if damaged {
			if err := os.WriteFile(path+".damaged", raw, 0o600); err != nil {
				return fmt.Errorf("keep a copy of the damaged journal %s: %w", path, err)
			}
		}
		if len(warnings) > 0 {
			// Rewrite it now, so the next append does not follow a torn line.
			return j.rewrite(j.entries)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return j, warnings, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Len is the number of entries waiting for the catalog.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// Entries are the waiting entries, oldest first.
func (j *Journal) Entries() []JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]JournalEntry(nil), j.entries...)
}

// Append gives e the next sequence number and writes it durably (fsync)
// before it returns e.
func (j *Journal) Append(e JournalEntry) (JournalEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e.Seq = j.seq + 1
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return e, err
	}
	err = j.locked(func() error {
		f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err != nil {
		return e, fmt.Errorf("write to the journal %s: %w", j.path, err)
	}
	j.seq = e.Seq
	j.entries = append(j.entries, e)
	return e, nil
}

// Remove drops the entries with these sequence numbers (the catalog has
// committed them) and rewrites the file atomically.
func (j *Journal) Remove(seqs ...int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	drop := map[int64]bool{}
	for _, s := range seqs {
		drop[s] = true
	}
	keep := j.entries[:0:0]
	for _, e := range j.entries {
		if !drop[e.Seq] {
			keep = append(keep, e)
		}
	}
	if err := j.locked(func() error { return j.rewrite(keep) }); err != nil {
		return fmt.Errorf("rewrite the journal %s: %w", j.path, err)
	}
	j.entries = keep
	return nil
}

// rewrite replaces the file with entries: a new file, fsynced, renamed over
// the old one, the directory fsynced.
func (j *Journal) rewrite(entries []JournalEntry) error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			f.Close()
			return err
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(j.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// locked runs fn holding an exclusive lock on the journal's lock file, so
// two processes of one host (a daemon starting while another stops) never
// interleave their writes.
func (j *Journal) locked(fn func() error) error {
	f, err := os.OpenFile(j.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	return fn()
}
