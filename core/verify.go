package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

// ActionPickBackup: Backup of Service has no archive to read; pick a
// succeeded one.
const ActionPickBackup Action = "pick-backup"

// readableBackup is a succeeded backup whose archive is where the catalog says.
type readableBackup struct {
	b     Backup
	dest  Destination
	store ObjectStore
	// keys decrypt an encrypted backup (see openReadable), and poolKey
	// the objects and file list of an encrypted pool backup.
	keys    []age.Identity
	poolKey age.Identity
}

func (e *Engine) openBackup(ctx context.Context, id int64) (readableBackup, error) {
	b, err := e.Catalog.Backup(ctx, id)
	if err != nil {
		return readableBackup{}, err
	}
	switch b.Status {
	case StatusSucceeded:
	case StatusRunning:
		return readableBackup{}, Userf(ErrInvalid, "backup %d is still running; wait for it to finish", id)
	case StatusFailed:
		return readableBackup{}, Advise(Advice{Action: ActionPickBackup, Service: b.Service, Backup: id}, ErrInvalid, "backup %d failed and has no archive", id)
	default:
		return readableBackup{}, Advise(Advice{Action: ActionPickBackup, Service: b.Service, Backup: id}, ErrNotFound, "backup %d was %s and its archive is gone", id, b.Status)
	}
	d, err := e.Catalog.Destination(ctx, b.Destination)
	if err != nil {
		return readableBackup{}, err
	}
	st, err := e.OpenStore(ctx, d)
	if err != nil {
		return readableBackup{}, err
	}
	info, err := st.Stat(ctx, b.Key)
	if errors.Is(err, ErrNotFound) {
		return readableBackup{}, Userf(err, "the archive of backup %d (%s) is missing from destination %q; it was removed outside odoo-backup, so pick another backup", id, b.Key, d.Name)
	}
	if err != nil {
		return readableBackup{}, err
	}
	if info.Size != b.Size {
		return readableBackup{}, Userf(ErrCorrupt, "backup %d is corrupt: its archive on %q holds %d bytes but %d were written; do not use it, pick another backup", id, d.Name, info.Size, b.Size)
	}
	return readableBackup{b: b, dest: d, store: st}, nil
}

// checksum reads the whole archive and compares it with what was recorded
// when it was written, before anything trusts its content.
func (e *Engine) checksum(ctx context.Context, rb readableBackup, w io.Writer, rep *progressReporter) error {
	body, err := rb.store.Get(ctx, rb.b.Key, 0, -1)
	if err != nil {
		return fmt.Errorf("read backup %d from %s: %w", rb.b.ID, rb.dest.Name, err)
	}
	defer body.Close()
	h := sha256.New()
	dst := io.MultiWriter(h, countingWriter{rep})
	if w != nil {
		dst = io.MultiWriter(h, countingWriter{rep}, w)
	}
	var n int64
	var decErr error
	if w != nil && rb.b.Encryption != "" {
		// The recorded checksum is of the stored ciphertext; w gets the plaintext.
		var size sizeCounter
		err, decErr = rb.decryptCopy(w, body, io.MultiWriter(h, &size, countingWriter{rep}))
		n = size.n
	} else {
		n, err = io.Copy(dst, body)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// Whatever was read so far says nothing about the archive.
		return fmt.Errorf("read backup %d from %s: %w", rb.b.ID, rb.dest.Name, ctxErr)
	}
	if err != nil {
		return fmt.Errorf("read backup %d from %s: %w", rb.b.ID, rb.dest.Name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if decErr != nil && n == rb.b.Size && sum == rb.b.SHA256 {
		return decErr
	}
	if n != rb.b.Size || sum != rb.b.SHA256 {
		return Userf(ErrCorrupt, "backup %d is corrupt: its archive on %q does not match the checksum recorded when it was taken (sha256 %s…, expected %s…); do not use it, pick another backup",
			rb.b.ID, rb.dest.Name, short(sum), short(rb.b.SHA256))
	}
	return nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// VerifyRequest asks for one backup to be checked end to end.
type VerifyRequest struct {
	BackupID int64
	// IdentityFile is an age identity file that decrypts an encrypted
	// backup whose destination keeps no key on this host.
	IdentityFile string
	// ReadData also reads every pool object of a pool backup back and
	// checks its content; without it each object is only checked to be
	// there with its size.
	ReadData bool
	Progress ProgressFunc
}

// VerifyResult says what a verified archive holds.
type VerifyResult struct {
	Backup         Backup           `json:"backup"`
	Manifest       odoozip.Manifest `json:"manifest"`
	DumpBytes      uint64           `json:"dump_bytes"`
	FilestoreFiles int              `json:"filestore_files"`
	FilestoreBytes uint64           `json:"filestore_bytes"`
}

// Verify checks a backup end to end without restoring it: the checksum of the
// stored bytes, the zip structure and every entry's CRC, the manifest, and
// that dump.sql is a pg_dump plain dump. A pool backup's archive is checked
// so, then its file list's checksum and that every object the list names is
// in the pool with its size (ReadData: and holds the content recorded). An
// encrypted backup is decrypted on
// the way, so its key is needed (IdentityFile when this host keeps none).
func (e *Engine) Verify(ctx context.Context, req VerifyRequest) (_ VerifyResult, err error) {
	id, progress := req.BackupID, req.Progress
	if err := e.permit(ctx, ActionVerify); err != nil {
		// Verifying changes nothing and is not audited, but a refusal is.
		e.audit(ctx, e.auditBackupID(ctx, ActionVerify, id, ""), err)
		return VerifyResult{}, err
	}
	defer interrupted(ctx, &err, func() string {
		return fmt.Sprintf("the check of backup %d was interrupted, the backup was not judged", id)
	})
	rb, err := e.openReadable(ctx, id, req.IdentityFile)
	if err != nil {
		return VerifyResult{}, err
	}
	rep := e.reporter(progress)
	rep.total = rb.b.Size
	rep.set(PhaseVerify, 0)
	if err := e.checksum(ctx, rb, nil, rep); err != nil {
		return VerifyResult{}, err
	}
	if rb.b.Format != "" && rb.b.Format != FormatOdooZip && !isPool(rb.b) {
		res := VerifyResult{Backup: rb.b}
		if err := e.verifyStream(ctx, rb); err != nil {
			return res, Userf(err, "backup %d is not usable: %s", id, message(err))
		}
		return res, nil
	}
	a, closer, err := rb.openZip(ctx)
	if err != nil {
		return VerifyResult{}, err
	}
	defer closer.Close()
	res := VerifyResult{Backup: rb.b, DumpBytes: a.Dump.UncompressedSize64, FilestoreFiles: len(a.Filestore), FilestoreBytes: a.FilestoreSize}
	if a.Manifest == nil {
		return res, Userf(ErrCorrupt, "backup %d has no manifest.json; it is not a complete Odoo backup", id)
	}
	res.Manifest = *a.Manifest
	if err := odoozip.CheckDumpHeader(a.Dump); err != nil {
		return res, Userf(err, "backup %d is not a usable Odoo backup: %v", id, err)
	}
	for _, f := range append(a.Filestore, a.Dump) {
		rc, err := f.Open()
		if err == nil {
			if f == a.Dump {
				err = guardedCopy(io.Discard, rc)
			} else {
				_, err = io.Copy(io.Discard, rc)
			}
			rc.Close()
		}
		if err != nil && isCancellation(ctx, err) {
			return res, err
		}
		if refused := dumpRefusal(err); refused != nil {
			return res, Userf(refused, "backup %d is not usable: %s; it would be refused at restore", id, message(refused))
		}
		if err != nil {
			return res, Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "backup %d is corrupt: entry %s cannot be read back (%v); pick another backup", id, f.Name, err)
		}
	}
	if isPool(rb.b) {
		return res, e.verifyPool(ctx, rb, req.ReadData, &res, rep)
	}
	return res, nil
}

// verifyPool checks the filestore of the pool backup rb: its file list
// (checksum first), every object there with its size, and with readData
// every object's content.
func (e *Engine) verifyPool(ctx context.Context, rb readableBackup, readData bool, res *VerifyResult, rep *progressReporter) error {
	_, entries, err := e.readFileList(ctx, rb)
	if err != nil {
		return err
	}
	res.FilestoreFiles, res.FilestoreBytes = len(entries), 0
	for _, en := range entries {
		res.FilestoreBytes += uint64(en.Size)
	}
	if err := e.checkPoolObjects(ctx, rb, entries); err != nil {
		return err
	}
	if !readData {
		return nil
	}
	seen := map[string]bool{}
	var total int64
	for _, en := range entries {
		if !seen[en.Object] {
			seen[en.Object] = true
			total += en.Deflated
		}
	}
	rep.total = total
	rep.set(PhaseVerify, 0)
	return e.readPoolObjects(ctx, rb, entries, rep)
}

// openArchive validates the zip of a backup.
func openArchive(ra io.ReaderAt, size int64, b Backup) (*odoozip.Archive, error) {
	a, err := odoozip.Open(ra, size, odoozip.DefaultLimits)
	if err != nil {
		cause := err
		if errors.Is(err, odoozip.ErrHostile) || errors.Is(err, odoozip.ErrNotOdooArchive) {
			cause = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil, Userf(cause, "backup %d cannot be used: %v", b.ID, err)
	}
	return a, nil
}
