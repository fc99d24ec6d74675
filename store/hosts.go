package store

import (
	"context"

	"github.com/odoo-backup/odoo-backup/core"
)

// The hosts table keeps the life of each host's daemon (core.HostRecord).
// It is written by the lease functions, in the same transaction as the
// scheduler lease of a host (core.SchedulerLeaseName) held by a daemon: a
// console's scheduler runs the schedules only while it is open, so its
// closing is no daemon stopping.

// daemonHost returns the host whose daemon holds l, if l is a host's
// scheduler lease held by anything but a console.
func daemonHost(l core.Lease) (string, bool) {
	host, ok := core.SchedulerLeaseHost(l.Name)
	return host, ok && l.Holder != core.ConsoleHolder
}

// recordDaemonStart notes that l's holder took its host's schedules.
func recordDaemonStart(ctx context.Context, tx *txn, l core.Lease) error {
	host, ok := daemonHost(l)
	if !ok {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO hosts (name, holder, pid, started_at, seen_at, stopped_at)
		VALUES (?, ?, ?, ?, ?, 0)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, pid = excluded.pid,
			started_at = excluded.started_at, seen_at = excluded.seen_at, stopped_at = 0`,
		host, l.Holder, l.PID, toNanos(l.AcquiredAt), toNanos(l.Heartbeat))
	return err
}

// recordDaemonSeen notes a heartbeat of l's holder.
func recordDaemonSeen(ctx context.Context, tx *txn, l core.Lease) error {
	host, ok := daemonHost(l)
	if !ok {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE hosts SET seen_at = ? WHERE name = ? AND holder = ? AND pid = ?`,
		toNanos(l.Heartbeat), host, l.Holder, l.PID)
	return err
}

// recordDaemonStop notes that l's holder stopped cleanly at.
func recordDaemonStop(ctx context.Context, tx *txn, l core.Lease, at int64) error {
	host, ok := daemonHost(l)
	if !ok {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE hosts SET stopped_at = ?, seen_at = ? WHERE name = ? AND holder = ? AND pid = ? AND stopped_at = 0`,
		at, at, host, l.Holder, l.PID)
	return err
}

// Hosts lists the daemon record of every host that ever ran one, by name.
func (c *Catalog) Hosts(ctx context.Context) ([]core.HostRecord, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT name, holder, pid, started_at, seen_at, stopped_at FROM hosts ORDER BY name`)
	if err != nil {
		return nil, c.dbError("list the hosts' daemons", err)
	}
	defer rows.Close()
	out := []core.HostRecord{}
	for rows.Next() {
		var (
			r                      core.HostRecord
			started, seen, stopped int64
		)
		if err := rows.Scan(&r.Name, &r.Holder, &r.PID, &started, &seen, &stopped); err != nil {
			return nil, c.dbError("list the hosts' daemons", err)
		}
		r.StartedAt, r.SeenAt = fromNanos(started), fromNanos(seen)
		if stopped != 0 {
			t := fromNanos(stopped)
			r.StoppedAt = &t
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, c.dbError("list the hosts' daemons", err)
	}
	return out, nil
}
