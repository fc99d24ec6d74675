package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/odoo-backup/odoo-backup/core"
)

const restoreSelect = `SELECT r.id, r.service, r.backup_id, r.target, r.status, r.error, r.host, r.started_at, r.finished_at FROM restores r`

func scanRestore(row interface{ Scan(...any) error }) (core.RestoreRecord, error) {
	var (
		r                 core.RestoreRecord
		started, finished int64
	)
	err := row.Scan(&r.ID, &r.Service, &r.BackupID, &r.Target, &r.Status, &r.Error, &r.Host, &started, &finished)
	r.StartedAt, r.FinishedAt = fromNanos(started), fromNanos(finished)
	return r, err
}

// AddRestore records a finished restore and sets r.ID.
func (c *Catalog) AddRestore(ctx context.Context, r *core.RestoreRecord) error {
	if r.Status != core.RestoreSucceeded && r.Status != core.RestoreFailed {
		return core.Userf(core.ErrInvalid, "a restore is recorded succeeded or failed, not %q", r.Status)
	}
	return c.write(ctx, fmt.Sprintf("record a restore of service %q", r.Service), func(tx *txn) error {
		return tx.QueryRowContext(ctx, `INSERT INTO restores (service, backup_id, target, status, error, host, started_at, finished_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.Service, r.BackupID, r.Target, r.Status, r.Error, r.Host, toNanos(r.StartedAt), toNanos(r.FinishedAt)).Scan(&r.ID)
	})
}

// Restores lists the restores of service (all when empty), newest first,
// at most limit (0: all).
func (c *Catalog) Restores(ctx context.Context, service string, limit int) ([]core.RestoreRecord, error) {
	var out []core.RestoreRecord
	err := c.read(ctx, "list restores", func(tx *txn) error {
		q, args := restoreSelect, []any{}
		if service != "" {
			q += ` WHERE r.service = ?`
			args = append(args, service)
		}
		q += ` ORDER BY r.id DESC`
		if limit > 0 {
			q += fmt.Sprintf(` LIMIT %d`, limit)
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRestore(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// healthRestoreIDs is each service's newest successful restore (restores_service).
const healthRestoreIDs = `SELECT (SELECT r.id FROM restores r WHERE r.service = s.name AND r.status = 'succeeded'
	ORDER BY r.id DESC LIMIT 1) FROM services s`

func readHealthRestores(ctx context.Context, tx *txn, snap *core.HealthSnapshot) error {
	ids, err := queryIDs(ctx, tx, healthRestoreIDs)
	if err != nil {
		return err
	}
	return byIDs(ctx, tx, restoreSelect+` WHERE r.id IN `, ids, func(rows *sql.Rows) error {
		r, err := scanRestore(rows)
		snap.Restores = append(snap.Restores, r)
		return err
	})
}
