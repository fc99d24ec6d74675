package core

import (
	"context"
	"fmt"
)

// RecordBackupID makes the metadata object beside b's archive carry b's id.
// A daemon whose catalog was unreachable while it took b recorded it in its
// journal under a provisional id and wrote the metadata object without one;
// once the catalog gave b its real id, this writes it there, so a catalog
// rebuilt from the destinations gives b the same id. A metadata object that
// already carries it is left alone.
func (e *Engine) RecordBackupID(ctx context.Context, b Backup) error {
	if b.ID <= 0 || b.Key == "" || b.Status != StatusSucceeded {
		return nil
	}
	d, err := e.Catalog.Destination(ctx, b.Destination)
	if err != nil {
		return err
	}
	st, err := e.OpenStore(ctx, d)
	if err != nil {
		return err
	}
	m, err := readMetadata(ctx, st, MetadataKey(b.Key))
	if err != nil {
		return fmt.Errorf("read the metadata object of backup %d: %w", b.ID, err)
	}
	if m.ID == b.ID {
		return nil
	}
	m.ID = b.ID
	return putMetadata(ctx, st, m)
}
