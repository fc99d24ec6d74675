package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/odoo-backup/odoo-backup/core"
)

func scanLease(row interface{ Scan(...any) error }) (core.Lease, error) {
	var (
		l                   core.Lease
		acquired, heartbeat int64
	)
	err := row.Scan(&l.Name, &l.Holder, &l.PID, &l.Host, &acquired, &heartbeat)
	l.AcquiredAt, l.Heartbeat = fromNanos(acquired), fromNanos(heartbeat)
	return l, err
}

const leaseQuery = `SELECT name, holder, pid, host, acquired_at, heartbeat FROM leases WHERE name = ?`

// leaseTimes fills in the heartbeat (now when not given) and the acquisition
// time (the heartbeat when not given), exactly as they will read back.
func (c *Catalog) leaseTimes(l core.Lease) (core.Lease, error) {
	if l.Heartbeat.IsZero() {
		l.Heartbeat = c.now()
	}
	if l.AcquiredAt.IsZero() {
		l.AcquiredAt = l.Heartbeat
	}
	if err := checkTime("lease heartbeat", l.Heartbeat); err != nil {
		return l, err
	}
	if err := checkTime("lease acquisition time", l.AcquiredAt); err != nil {
		return l, err
	}
	l.Heartbeat, l.AcquiredAt = fromNanos(toNanos(l.Heartbeat)), fromNanos(toNanos(l.AcquiredAt))
	return l, nil
}

func validateLease(l core.Lease) error {
	if l.Name == "" {
		return core.Userf(core.ErrInvalid, "a lease needs a name, such as %q", core.SchedulerLease)
	}
	if l.Holder == "" {
		return core.Userf(core.ErrInvalid, "the %s lease needs a holder, such as \"daemon\" or \"console\"", l.Name)
	}
	return nil
}

// lost is the sentence a holder reads when its lease is gone.
func lost(name string, current *core.Lease) error {
	stop := "this process no longer holds it"
	if _, scheduler := core.SchedulerLeaseHost(name); scheduler || name == core.SchedulerLease {
		stop = "this process stops running schedules"
	}
	if current == nil {
		return core.Userf(core.ErrNotFound, "the %s lease was released or never taken by this process; %s", name, stop)
	}
	return core.Userf(core.ErrNotFound, "the %s lease was taken over by %s pid %d on host %s; %s",
		name, current.Holder, current.PID, current.Host, stop)
}

// AcquireLease takes the lease l.Name for l's holder when it is free, keeps
// it (with its AcquiredAt) when l's holder already has it, and takes it from
// another holder only when takeOver, called with the current lease inside the
// IMMEDIATE transaction, returns true. A zero l.Heartbeat means now, a zero
// l.AcquiredAt the heartbeat. It returns the lease as it now stands and
// whether l's holder has it.
//
// takeOver runs while this catalog holds the write lock: it must not use the
// catalog, and should be quick (a liveness check of the current holder).
func (c *Catalog) AcquireLease(ctx context.Context, l core.Lease, takeOver func(current core.Lease) bool) (core.Lease, bool, error) {
	if err := validateLease(l); err != nil {
		return core.Lease{}, false, err
	}
	l, err := c.leaseTimes(l)
	if err != nil {
		return core.Lease{}, false, err
	}
	var (
		out  core.Lease
		held bool
	)
	err = c.write(ctx, fmt.Sprintf("acquire the %s lease", l.Name), func(tx *txn) error {
		current, err := scanLease(tx.QueryRowContext(ctx, leaseQuery, l.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO leases (name, holder, pid, host, acquired_at, heartbeat)
				VALUES (?, ?, ?, ?, ?, ?)`, l.Name, l.Holder, l.PID, l.Host, toNanos(l.AcquiredAt), toNanos(l.Heartbeat))
			if err != nil {
				return err
			}
			out, held = l, true
			return recordDaemonStart(ctx, tx, l)
		case err != nil:
			return err
		case current.SameHolder(l):
			_, err = tx.ExecContext(ctx, `UPDATE leases SET heartbeat = ? WHERE name = ?`, toNanos(l.Heartbeat), l.Name)
			if err != nil {
				return err
			}
			current.Heartbeat = l.Heartbeat
			out, held = current, true
			return recordDaemonSeen(ctx, tx, current)
		case takeOver == nil || !takeOver(current):
			out, held = current, false
			return nil
		default:
			_, err = tx.ExecContext(ctx, `UPDATE leases SET holder = ?, pid = ?, host = ?, acquired_at = ?, heartbeat = ?
				WHERE name = ?`, l.Holder, l.PID, l.Host, toNanos(l.AcquiredAt), toNanos(l.Heartbeat), l.Name)
			if err != nil {
				return err
			}
			out, held = l, true
			return recordDaemonStart(ctx, tx, l)
		}
	})
	if err != nil {
		return core.Lease{}, false, err
	}
	return out, held, nil
}

// RenewLease moves the heartbeat of the lease l's holder has to l.Heartbeat
// (now when zero). When someone else holds it, or nobody does, it wraps
// ErrNotFound and says who has it: the caller has lost the lease.
func (c *Catalog) RenewLease(ctx context.Context, l core.Lease) error {
	if err := validateLease(l); err != nil {
		return err
	}
	l, err := c.leaseTimes(l)
	if err != nil {
		return err
	}
	return c.write(ctx, fmt.Sprintf("renew the %s lease", l.Name), func(tx *txn) error {
		current, err := scanLease(tx.QueryRowContext(ctx, leaseQuery, l.Name))
		if errors.Is(err, sql.ErrNoRows) {
			return lost(l.Name, nil)
		}
		if err != nil {
			return err
		}
		if !current.SameHolder(l) {
			return lost(l.Name, &current)
		}
		if _, err = tx.ExecContext(ctx, `UPDATE leases SET heartbeat = ? WHERE name = ?`, toNanos(l.Heartbeat), l.Name); err != nil {
			return err
		}
		return recordDaemonSeen(ctx, tx, l)
	})
}

// ReleaseLease frees the lease if l's holder has it; otherwise it does
// nothing, so a process that lost its lease cannot free its successor's.
func (c *Catalog) ReleaseLease(ctx context.Context, l core.Lease) error {
	if _, ok := daemonHost(l); ok {
		// A daemon's record says it stopped, with the lease row's going.
		return c.write(ctx, fmt.Sprintf("release the %s lease", l.Name), func(tx *txn) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ? AND pid = ? AND host = ?`,
				l.Name, l.Holder, l.PID, l.Host)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err
			}
			return recordDaemonStop(ctx, tx, l, toNanos(c.now()))
		})
	}
	_, err := c.db.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ? AND pid = ? AND host = ?`,
		l.Name, l.Holder, l.PID, l.Host)
	if err != nil {
		return c.refused(c.dbError(fmt.Sprintf("release the %s lease", l.Name), err))
	}
	return nil
}

// CurrentLease returns the lease named name; nobody holding it wraps
// ErrNotFound.
func (c *Catalog) CurrentLease(ctx context.Context, name string) (core.Lease, error) {
	l, err := scanLease(c.db.QueryRowContext(ctx, leaseQuery, name))
	if errors.Is(err, sql.ErrNoRows) {
		return core.Lease{}, core.Userf(core.ErrNotFound, "no process holds the %s lease", name)
	}
	if err != nil {
		return core.Lease{}, c.dbError(fmt.Sprintf("read the %s lease", name), err)
	}
	return l, nil
}

// ScheduleVersion reads the counter the catalog's triggers bump whenever a
// service, destination, configuration or template changes, whichever process
// changed it. It is one primary-key read, cheap enough to poll every second.
func (c *Catalog) ScheduleVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := c.db.QueryRowContext(ctx, `SELECT version FROM schedule_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, c.dbError("read the schedule version", err)
	}
	return v, nil
}
