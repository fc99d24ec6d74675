package core

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// DownloadRequest asks for a backup's archive as a local file.
type DownloadRequest struct {
	BackupID int64
	// Path is the file to create; it must not exist.
	Path string
	// IdentityFile is an age identity file that decrypts an encrypted
	// backup whose destination keeps no key on this host.
	IdentityFile string
	Progress     ProgressFunc
}

// Download copies a backup's archive to a local file, verifying its checksum
// on the way. The file appears only when complete and verified; an existing
// file is never overwritten. An encrypted backup is decrypted on the way (the
// file is the plain archive), with its destination's key or IdentityFile.
func (e *Engine) Download(ctx context.Context, req DownloadRequest) (_ Backup, err error) {
	id, out, progress := req.BackupID, req.Path, req.Progress
	defer func() { e.audit(ctx, e.auditBackupID(ctx, ActionDownload, id, "to "+out), err) }()
	if err := e.permit(ctx, ActionDownload); err != nil {
		return Backup{}, err
	}
	defer interrupted(ctx, &err, func() string {
		return fmt.Sprintf("the download of backup %d was interrupted; the partial file was removed and %s was not created", id, out)
	})
	if _, err := os.Lstat(out); err == nil {
		return Backup{}, Userf(ErrExists, "%s already exists; choose another file name or remove it first", out)
	}
	rb, err := e.openReadable(ctx, id, req.IdentityFile)
	if err != nil {
		return Backup{}, err
	}
	dir := filepath.Dir(out)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".part-*")
	if err != nil {
		return Backup{}, Userf(err, "cannot write in %s: %v; choose a directory you can write to", dir, errors.Unwrap(err))
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	rep := e.reporter(progress)
	write := func() error {
		rep.total = rb.b.Size
		rep.set(PhaseDownload, 0)
		return e.checksum(ctx, rb, tmp, rep)
	}
	if rb.b.Format == FormatOdooPool && rb.b.Pool != nil {
		// The standard Odoo zip, assembled from the archive and the pool;
		// its total is known once the file list is read.
		write = func() error { return e.writePoolZip(ctx, rb, tmp, rep) }
	}
	if err := write(); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return Backup{}, Userf(fmt.Errorf("%w: %w", ErrNoSpace, err), "the disk holding %s is full; free %d bytes or download elsewhere", dir, rb.b.Size)
		}
		return Backup{}, err
	}
	if err := tmp.Sync(); err != nil {
		return Backup{}, fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return Backup{}, fmt.Errorf("write %s: %w", out, err)
	}
	// Link rather than rename so a file created meanwhile is not replaced.
	if err := os.Link(tmp.Name(), out); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Backup{}, Userf(ErrExists, "%s already exists; choose another file name or remove it first", out)
		}
		return Backup{}, fmt.Errorf("write %s: %w", out, err)
	}
	os.Remove(tmp.Name())
	committed = true
	return rb.b, nil
}
