package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// CopyBackupRequest asks for a backup to be copied to another destination.
type CopyBackupRequest struct {
	BackupID int64
	// Destination is where the copy goes.
	Destination string
	// IdentityFile is an age identity file that decrypts the source when
	// the copy must be re-encrypted and its destination keeps no key on
	// this host.
	IdentityFile string
	Progress     ProgressFunc
}

// CopyResult is a backup copied to another destination.
type CopyResult struct {
	// Backup is the new backup, of kind copy.
	Backup Backup `json:"backup"`
	// Source is the backup that was copied.
	Source Backup `json:"source"`
	// ServerSide says the storage server copied the bytes itself (same S3
	// endpoint); otherwise they were streamed through this process.
	ServerSide bool `json:"server_side"`
}

// CopyBackup copies a succeeded backup to another destination and records it
// as a new backup of kind copy, with the same checksum, size and versions,
// under its own key and metadata object. Any destination is accepted: one
// not configured for the service holds an orphan from the start (Backup.
// Orphaned says so), which is never rotated. When both stores are on the same
// S3 endpoint the server copies the object; otherwise it is streamed. Either
// way the copy is read back and hashed before it is recorded as succeeded; a
// copy that does not match is deleted and the copy fails, as does one whose
// source does not match its recorded checksum.
//
// The copy is stored the way the target destination stores archives: when
// it encrypts differently from the source's (or one of them does not
// encrypt), the archive is streamed through decryption (the source's key,
// or IdentityFile) and encryption for the target; otherwise its bytes are
// copied as they are, no key needed.
//
// The copy also takes the target's layout. A pool backup copied to a pool
// destination copies its archive, writes a file list there and copies only
// the pool objects the target's pool lacks (a backup whose objects are not
// all in its pool is refused before anything is written); copied to a zip
// destination it becomes the standard Odoo zip its download is. A zip
// backup copied to a pool destination is split there into its database zip,
// its files in the pool and a file list. The copy's row and metadata say
// its format, and its pool facts count the objects the copy stored.
func (e *Engine) CopyBackup(ctx context.Context, req CopyBackupRequest) (_ CopyResult, err error) {
	id, toDest, progress := req.BackupID, req.Destination, req.Progress
	var res CopyResult
	defer func() { e.audit(ctx, e.auditCopyBackup(ctx, id, toDest, res), err) }()
	if err := e.permit(ctx, ActionCopy); err != nil {
		return res, err
	}
	defer interrupted(ctx, &err, func() string {
		return fmt.Sprintf("the copy of backup %d to %s was interrupted; nothing was stored there and backup %d is as it was", id, toDest, id)
	})
	rb, err := e.openBackup(ctx, id)
	if err != nil {
		return res, err
	}
	res.Source = rb.b
	if rb.dest.Name == toDest {
		return res, Userf(ErrInvalid, "backup %d is already on destination %q; pick another destination to copy it to", id, toDest)
	}
	d, err := e.Catalog.Destination(ctx, toDest)
	if err != nil {
		return res, err
	}
	dst, err := e.OpenStore(ctx, d)
	if err != nil {
		return res, err
	}
	reseal := !sameEncryption(rb.b.Encryption, rb.dest, d)
	if reseal {
		if rb, err = e.unlock(ctx, rb, req.IdentityFile); err != nil {
			return res, err
		}
		if _, err := destinationRecipients(d); err != nil {
			return res, err
		}
	}
	started := e.now().UTC().Truncate(1e6)
	nb := Backup{
		ServiceID: rb.b.ServiceID, Service: rb.b.Service, DestinationID: d.ID, Destination: d.Name,
		Kind: KindCopy, StartedAt: started,
		Database: rb.b.Database, Format: copyFormat(rb.b.Format, rb.b.Encryption != "", d), OdooVersion: rb.b.OdooVersion, PGVersion: rb.b.PGVersion,
		Encryption: rb.b.Encryption, MissingCount: rb.b.MissingCount, MissingFiles: rb.b.MissingFiles,
	}
	if reseal {
		nb.Encryption = d.Encryption()
	}
	// The key keeps the time the source was taken: that is what its content is.
	if nb.Key, err = freeKey(ctx, dst, rb.b.Service, rb.b.StartedAt, KindCopy, nb.Encryption != ""); err != nil {
		return res, fmt.Errorf("pick a key for the copy on %s: %w", d.Name, err)
	}
	rec, err := e.startRecording(ctx, nb, PhaseCopy, dst)
	if err != nil {
		return res, fmt.Errorf("record the copy of backup %d on %s: %w", id, d.Name, err)
	}
	rep, stopProgress := e.trackProgress(progress, rb.b.Size, rec)
	e.log().Info("copy started", "backup", id, "from", rb.dest.Name, "to", d.Name, "copy", rec.b.ID)

	var serverSide bool
	var copyErr error
	rec.b.Size, rec.b.SHA256 = rb.b.Size, rb.b.SHA256
	leftovers := []string{rec.b.Key, MetadataKey(rec.b.Key)}
	srcPool, dstPool := rb.b.Format == FormatOdooPool, rec.b.Format == FormatOdooPool
	switch {
	case srcPool && dstPool:
		var facts PoolFacts
		serverSide, facts, copyErr = e.copyPoolToPool(ctx, rb, dst, d, rec.b.Key, rep)
		rec.b.Pool = &facts
	case srcPool:
		rec.b.Size, rec.b.SHA256, copyErr = e.copyPoolToZip(ctx, rb, dst, d, rec.b.Key, rep)
	case dstPool:
		var facts PoolFacts
		rec.b.Size, rec.b.SHA256, facts, copyErr = e.copyZipToPool(ctx, rb, dst, d, rec.b.Key, rep)
		rec.b.Pool = &facts
	case reseal:
		rec.b.Size, rec.b.SHA256, copyErr = e.resealArchive(ctx, rb, dst, d, rec.b.Key, rep)
	default:
		serverSide, copyErr = e.copyArchive(ctx, rb, dst, rec.b.Key, rep)
	}
	if dstPool {
		// Its pool objects stay for the sweep: others may share them.
		leftovers = append(leftovers, pool.ListKey(rec.b.Key))
	}
	stopProgress()
	res.ServerSide = serverSide

	saveCtx := context.WithoutCancel(ctx)
	if copyErr == nil {
		copyErr = e.copyMetadata(saveCtx, rb, dst, &rec.b)
	}
	saveErr := rec.finish(ctx, copyErr, leftovers...)
	nb = rec.b
	if copyErr != nil {
		e.log().Error("copy failed", "backup", id, "to", d.Name, "copy", nb.ID, "error", nb.Error)
	} else {
		e.log().Info("copy succeeded", "backup", id, "to", d.Name, "copy", nb.ID, "server_side", serverSide)
		copyErr = saveErr
	}
	if got, err := e.Catalog.Backup(saveCtx, nb.ID); err == nil {
		nb = got
	}
	res.Backup = nb
	if copyErr != nil {
		var ue *UserError
		if !errors.As(copyErr, &ue) {
			copyErr = &UserError{Msg: nb.Error, Cause: copyErr}
		}
		return res, copyErr
	}
	return res, nil
}

// copyArchive puts the archive under key on dst, server-side when possible,
// and checks that what dst now holds is what the source recorded.
func (e *Engine) copyArchive(ctx context.Context, rb readableBackup, dst ObjectStore, key string, rep *progressReporter) (bool, error) {
	if c, ok := dst.(ServerSideCopier); ok {
		rep.set(PhaseCopyServer, 0)
		done, err := c.CopyFrom(ctx, rb.store, rb.b.Key, key)
		if err != nil {
			return true, fmt.Errorf("copy %s to %s: %w", rb.b.Key, dst, err)
		}
		if done {
			rep.set(PhaseVerify, 0)
			err := e.checkCopy(ctx, rb, dst, key, rep)
			if errors.Is(err, ErrCorrupt) {
				// Say whether the source itself is the corrupt one.
				if srcErr := e.checksum(ctx, rb, nil, rep); srcErr != nil {
					return true, srcErr
				}
			}
			return true, err
		}
	}
	rep.set(PhaseCopy, 0)
	body, err := rb.store.Get(ctx, rb.b.Key, 0, -1)
	if err != nil {
		return false, fmt.Errorf("read backup %d from %s: %w", rb.b.ID, rb.dest.Name, err)
	}
	defer body.Close()
	h := sha256.New()
	vr := &verifyingReader{r: io.TeeReader(body, io.MultiWriter(h, countingWriter{rep})), h: h, rb: rb}
	if err := dst.Put(ctx, key, vr); err != nil {
		return false, err
	}
	// Put saw EOF only after the hash matched; the stored bytes are read
	// back all the same, so a store that mangled them is caught too.
	rep.set(PhaseVerify, 0)
	return false, e.checkCopy(ctx, rb, dst, key, rep)
}

// verifyingReader fails the stream, instead of ending it, when the source
// does not match its recorded checksum, so an atomic Put publishes nothing.
type verifyingReader struct {
	r  io.Reader
	h  interface{ Sum([]byte) []byte }
	n  int64
	rb readableBackup
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n += int64(n)
	if err == io.EOF {
		if sum := hex.EncodeToString(v.h.Sum(nil)); v.n != v.rb.b.Size || sum != v.rb.b.SHA256 {
			return n, Userf(ErrCorrupt, "backup %d is corrupt: its archive on %q does not match the checksum recorded when it was taken (sha256 %s…, expected %s…); it was not copied, pick another backup",
				v.rb.b.ID, v.rb.dest.Name, short(sum), short(v.rb.b.SHA256))
		}
	}
	return n, err
}

// checkCopy reads the copied object back and compares size and sha256.
func (e *Engine) checkCopy(ctx context.Context, rb readableBackup, dst ObjectStore, key string, rep *progressReporter) error {
	info, err := dst.Stat(ctx, key)
	if err != nil {
		return fmt.Errorf("look up the copy %s on %s: %w", key, dst, err)
	}
	if info.Size != rb.b.Size {
		return Userf(ErrCorrupt, "the copy on %s holds %d bytes instead of %d; it was removed", dst, info.Size, rb.b.Size)
	}
	body, err := dst.Get(ctx, key, 0, -1)
	if err != nil {
		return fmt.Errorf("read back the copy %s on %s: %w", key, dst, err)
	}
	defer body.Close()
	h := sha256.New()
	var w io.Writer = h
	if rep != nil {
		w = io.MultiWriter(h, countingWriter{rep})
	}
	if _, err := io.Copy(w, body); err != nil {
		return fmt.Errorf("read back the copy %s on %s: %w", key, dst, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != rb.b.SHA256 {
		return Userf(ErrCorrupt, "the copy on %s does not match the checksum of backup %d (sha256 %s…, expected %s…); it was removed, copy it again",
			dst, rb.b.ID, short(sum), short(rb.b.SHA256))
	}
	return nil
}

// copyMetadata writes the copy's metadata object: the source's, when it is
// readable (so recorded facts such as table counts travel along), with the
// copy's own archive, kind and times.
func (e *Engine) copyMetadata(ctx context.Context, rb readableBackup, dst ObjectStore, nb *Backup) error {
	m, err := e.readMetadata(ctx, rb.store, rb.b.Key)
	if err != nil {
		e.log().Warn("the source's metadata object is unreadable; writing one from the catalog", "backup", rb.b.ID, "error", err)
		m = BackupMetadata{MetadataVersion: MetadataVersion, Tool: "odoo-backup", Service: rb.b.Service, Database: rb.b.Database,
			Format: rb.b.Format, OdooVersion: rb.b.OdooVersion, PGVersion: rb.b.PGVersion,
			MissingFiles: rb.b.MissingCount, MissingNames: rb.b.MissingFiles}
	}
	m.ID, m.Archive, m.Kind = nb.ID, nb.Key, KindCopy
	m.StartedAt, m.FinishedAt = nb.StartedAt, e.now().UTC()
	m.Size, m.SHA256, m.Encryption = nb.Size, nb.SHA256, nb.Encryption
	m.Format, m.Pool = nb.Format, nb.Pool
	return putMetadata(ctx, dst, m)
}

// readMetadata reads and parses the metadata object of an archive.
func (e *Engine) readMetadata(ctx context.Context, st ObjectStore, key string) (BackupMetadata, error) {
	rc, err := st.Get(ctx, MetadataKey(key), 0, -1)
	if err != nil {
		return BackupMetadata{}, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return BackupMetadata{}, err
	}
	return ParseMetadata(raw)
}
