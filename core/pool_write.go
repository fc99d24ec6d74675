package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/flate"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// usesPool reports whether backups to d go to its pool (LayoutPool).
// Encrypting destinations keep the zip layout until their pools get name
// keys.
func (d Destination) usesPool() bool { return d.StoredLayout() == LayoutPool && !d.Encrypted() }

// backupFormat is the format of the backups d stores from now on.
func (d Destination) backupFormat() string {
	if d.usesPool() {
		return FormatOdooPool
	}
	return FormatOdooZip
}

// poolSink is one pool destination of a backup: what it already holds
// (base: the newest earlier backup's file list there, by name), what this
// backup found or stored in its pool (by object id), and the entries of the
// backup's file list.
type poolSink struct {
	t       *target
	service string
	base    map[string]pool.Entry
	known   map[string]pool.Entry
	entries []pool.Entry
	facts   PoolFacts
}

// newPoolSink opens the pool side of target t: its base is the file list
// of the newest succeeded pool backup of the service on that destination.
// A base that cannot be read costs only speed: every file is then read
// and its object looked for in the pool before it is stored.
func (e *Engine) newPoolSink(ctx context.Context, t *target) *poolSink {
	s := &poolSink{t: t, service: t.b.Service, base: map[string]pool.Entry{}, known: map[string]pool.Entry{}}
	t.sink = s
	if err := e.waitPoolSweep(ctx, t.b.Service, t.dest); err != nil {
		t.err = err
		t.pw.CloseWithError(err)
		return s
	}
	prev, err := e.Catalog.Backups(ctx, BackupFilter{Service: t.b.Service, Destination: t.dest.Name, Status: StatusSucceeded, Limit: 20})
	if err != nil {
		return s
	}
	for _, b := range prev {
		if b.Format != FormatOdooPool || b.Pool == nil || b.ID == t.b.ID {
			continue
		}
		_, entries, err := e.readFileList(ctx, readableBackup{b: b, dest: t.dest, store: t.store})
		if err != nil {
			e.log().Warn("cannot read the file list of an earlier backup; every file is read again", "backup", b.ID, "destination", t.dest.Name, "error", err)
			return s
		}
		for _, en := range entries {
			s.base[en.Name] = en
		}
		return s
	}
	return s
}

// poolFile puts the filestore file fname (in dir) into every sink: a file
// whose name, size and modification time the sink's base knows is taken
// from it without being read; any other is read once, hashed, deflated and
// stored in each sink's pool that lacks its object. A file whose content
// does not match its name is recorded as a mismatch. It returns false when
// the file is missing.
func (e *Engine) poolFile(ctx context.Context, sinks []*poolSink, dir, fname string, rep *progressReporter) (bool, error) {
	path := filepath.Join(dir, filepath.FromSlash(fname))
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, Userf(err, "cannot read the filestore file %s: %v; check the permissions of %s", fname, errors.Unwrap(err), dir)
	}
	var need []*poolSink
	for _, s := range sinks {
		if b, ok := s.base[fname]; ok && b.Size == fi.Size() && b.ModTime == fi.ModTime().UnixNano() {
			s.add(b, false)
			continue
		}
		need = append(need, s)
	}
	if len(need) == 0 {
		return true, nil
	}
	content, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, Userf(err, "cannot read the filestore file %s: %v; check the permissions of %s", fname, errors.Unwrap(err), dir)
	}
	sums := pool.NewSums()
	sums.Write(content)
	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, pool.Level(content[:min(len(content), 64<<10)]))
	fw.Write(content)
	if err := fw.Close(); err != nil {
		return false, err
	}
	sha := sums.SHA256.Sum(nil)
	en := pool.Entry{
		Name: fname, Size: int64(len(content)), Deflated: int64(deflated.Len()),
		CRC32: sums.CRC32.Sum32(), SHA256: hex.EncodeToString(sha), ModTime: fi.ModTime().UnixNano(),
	}
	mismatch := !pool.MatchesName(fname, hex.EncodeToString(sums.SHA1.Sum(nil)))
	for _, s := range need {
		en.Object = pool.ID(sha, nil)
		if k, ok := s.known[en.Object]; ok {
			en.Stored = k.Stored
			s.add(en, mismatch)
			continue
		}
		key := pool.ObjectKey(s.service, en.Object)
		info, err := s.t.store.Stat(ctx, key)
		switch {
		case err == nil:
			en.Stored = info.Size
		case errors.Is(err, ErrNotFound):
			if err := s.t.store.Put(ctx, key, bytes.NewReader(deflated.Bytes())); err != nil {
				return false, fmt.Errorf("store filestore file %s in the pool of %s: %w", fname, s.t.dest.Name, err)
			}
			en.Stored = en.Deflated
			s.facts.NewObjects++
			s.facts.NewBytes += en.Stored
			rep.add(en.Stored)
		default:
			return false, fmt.Errorf("look for filestore file %s in the pool of %s: %w", fname, s.t.dest.Name, err)
		}
		s.known[en.Object] = en
		s.add(en, mismatch)
	}
	return true, nil
}

// add puts en into the sink's file list.
func (s *poolSink) add(en pool.Entry, mismatch bool) {
	s.entries = append(s.entries, en)
	s.facts.Files++
	s.facts.Bytes += en.Size
	if mismatch {
		s.facts.MismatchCount++
		if len(s.facts.Mismatched) < MaxMissingNames {
			s.facts.Mismatched = append(s.facts.Mismatched, en.Name)
		}
	}
}

// putList stores the sink's file list next to its archive and records its
// size and checksum in the facts.
func (s *poolSink) putList(ctx context.Context) error {
	var buf bytes.Buffer
	if err := pool.WriteList(&buf, pool.Header{Service: s.service, Archive: s.t.b.Key}, s.entries); err != nil {
		return err
	}
	sum := sha256.Sum256(buf.Bytes())
	s.facts.ListSize, s.facts.ListSHA256 = int64(buf.Len()), hex.EncodeToString(sum[:])
	if err := s.t.store.Put(ctx, pool.ListKey(s.t.b.Key), &buf); err != nil {
		return fmt.Errorf("store the file list on %s: %w", s.t.dest.Name, err)
	}
	return nil
}
