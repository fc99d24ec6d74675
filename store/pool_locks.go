package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

var _ core.PoolLockCatalog = (*Catalog)(nil)

// PoolLockedUntil reads the date every object of the pool of service on
// the destination destinationID is locked until at least; zero when none
// is recorded.
func (c *Catalog) PoolLockedUntil(ctx context.Context, destinationID int64, service string) (time.Time, error) {
	var n int64
	err := c.db.QueryRowContext(ctx, `SELECT locked_until FROM pool_locks WHERE destination_id = ? AND service_name = ?`, destinationID, service).Scan(&n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, c.dbError(fmt.Sprintf("read how long the pool of %s is locked", service), err)
	}
	return fromNanos(n), nil
}

// RaisePoolLock records until for the pool of service on the destination
// destinationID, unless a later date is recorded: two backups that renew
// the locks at once leave the later date.
func (c *Catalog) RaisePoolLock(ctx context.Context, destinationID int64, service string, until time.Time) error {
	_, err := c.db.ExecContext(ctx, `INSERT INTO pool_locks (destination_id, service_name, locked_until) VALUES (?, ?, ?)
		ON CONFLICT (destination_id, service_name) DO UPDATE SET locked_until = excluded.locked_until
		WHERE pool_locks.locked_until < excluded.locked_until`, destinationID, service, toNanos(until))
	if err != nil {
		return c.dbError(fmt.Sprintf("record how long the pool of %s is locked", service), err)
	}
	return nil
}
