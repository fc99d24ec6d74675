package core

import (
	"context"
	"io"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// PoolFilesForTest reads every filestore file of the pool backup id as the
// readers do: the backup opened with identityFile (its key checked first),
// its file list read and checked, and each file streamed through
// openPoolFile and checked at its end. It returns the contents by name and
// the list.
func (e *Engine) PoolFilesForTest(ctx context.Context, id int64, identityFile string) (map[string][]byte, []pool.Entry, error) {
	rb, err := e.openReadable(ctx, id, identityFile)
	if err != nil {
		return nil, nil, err
	}
	_, entries, err := e.readFileList(ctx, rb)
	if err != nil {
		return nil, nil, err
	}
	out := map[string][]byte{}
	for _, en := range entries {
		rc, err := e.openPoolFile(ctx, rb, en)
		if err != nil {
			return nil, entries, err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, entries, err
		}
		out[en.Name] = data
	}
	return out, entries, nil
}

// FileListForTest reads the file list of backup id as a writer does, with
// no key given: an encrypted one with the key this host keeps.
func (e *Engine) FileListForTest(ctx context.Context, id int64) ([]pool.Entry, error) {
	rb, err := e.openBackup(ctx, id)
	if err != nil {
		return nil, err
	}
	_, entries, err := e.readFileList(ctx, rb)
	return entries, err
}
