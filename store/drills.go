package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/odoo-backup/odoo-backup/core"
)

// AddDrill records a drill and sets d.ID; an empty status means running and
// a zero StartedAt now.
func (c *Catalog) AddDrill(ctx context.Context, d *core.Drill) error {
	nd := *d
	if nd.Status == "" {
		nd.Status = core.DrillRunning
	}
	if nd.StartedAt.IsZero() {
		nd.StartedAt = c.now()
	}
	details, err := json.Marshal(nd.Details)
	if err != nil {
		return err
	}
	err = c.write(ctx, fmt.Sprintf("record a drill of service %q", nd.Service), func(tx *txn) error {
		var err error
		if nd.ServiceID != 0 {
			err = tx.QueryRowContext(ctx, `SELECT name FROM services WHERE id = ?`, nd.ServiceID).Scan(&nd.Service)
			if errors.Is(err, sql.ErrNoRows) {
				err = core.Advise(core.Advice{Action: core.ActionListServices}, core.ErrNotFound, "service %d does not exist", nd.ServiceID)
			}
		} else {
			nd.ServiceID, err = serviceID(ctx, tx, nd.Service)
		}
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO drills (service_id, service_name, backup_id, destination, status, started_at, finished_at, details, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			nd.ServiceID, nd.Service, nd.BackupID, nd.Destination, nd.Status, toNanos(nd.StartedAt), nullNanos(nd.FinishedAt),
			string(details), nd.Error).Scan(&nd.ID)
	})
	if err != nil {
		return err
	}
	nd.StartedAt = fromNanos(toNanos(nd.StartedAt))
	nd.FinishedAt = timePtr(nullNanos(nd.FinishedAt))
	*d = nd
	return nil
}

// UpdateDrill stores the drill's backup, status, finish time, details and error.
func (c *Catalog) UpdateDrill(ctx context.Context, d core.Drill) error {
	details, err := json.Marshal(d.Details)
	if err != nil {
		return err
	}
	return c.write(ctx, fmt.Sprintf("record drill %d", d.ID), func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE drills SET backup_id = ?, destination = ?, status = ?, finished_at = ?, details = ?, error = ? WHERE id = ?`,
			d.BackupID, d.Destination, d.Status, nullNanos(d.FinishedAt), string(details), d.Error, d.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.Advise(core.Advice{Action: core.ActionListDrills}, core.ErrNotFound, "drill %d does not exist", d.ID)
		}
		return nil
	})
}

// Drills lists the drills of service (all when empty), newest first.
func (c *Catalog) Drills(ctx context.Context, service string, limit int) ([]core.Drill, error) {
	var out []core.Drill
	err := c.read(ctx, "list drills", func(tx *txn) error {
		q := `SELECT d.id, d.service_id, d.service_name, d.backup_id, d.destination, d.status,
			d.started_at, d.finished_at, d.details, d.error
			FROM drills d`
		var args []any
		if service != "" {
			id, err := serviceID(ctx, tx, service)
			if err != nil {
				return err
			}
			q += ` WHERE d.service_id = ?`
			args = append(args, id)
		}
		q += ` ORDER BY d.id DESC`
		if limit > 0 {
			q += ` LIMIT ?`
			args = append(args, limit)
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				d        core.Drill
				started  int64
				finished sql.NullInt64
				details  string
			)
			if err := rows.Scan(&d.ID, &d.ServiceID, &d.Service, &d.BackupID, &d.Destination, &d.Status,
				&started, &finished, &details, &d.Error); err != nil {
				return err
			}
			d.StartedAt, d.FinishedAt = fromNanos(started), timePtr(finished)
			if err := json.Unmarshal([]byte(details), &d.Details); err != nil {
				return fmt.Errorf("drill %d has unreadable details: %w", d.ID, err)
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}
