package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/odoo-backup/odoo-backup/core"
)

// The replay of a journal entry is one write transaction: it finds the row
// the entry's origin already created (a replay interrupted after its commit)
// or inserts it with that origin, then stores the entry's state. The
// INSERTs name the columns a journaled row fills; a service or destination
// removed meanwhile leaves its id NULL, as removing it would have.

// replayBackup records b, the last state the journal kept of the backup
// origin names, and returns it with the catalog's id. A daemon also records
// its new rows this way (recordBackup): a write whose commit reached the
// server but whose answer was lost is then found by its origin when the
// journal replays it, not inserted twice.
func (c *Catalog) replayBackup(ctx context.Context, origin string, b core.Backup) (core.Backup, error) {
	if !validKind(b.Kind) || !validStatus(b.Status) {
		return b, core.Userf(core.ErrInvalid, "the journaled backup of %s has kind %q and status %q, which the catalog does not know", b.Service, b.Kind, b.Status)
	}
	if err := checkBackupFields(b); err != nil {
		return b, err
	}
	if err := checkTime("backup start time", b.StartedAt); err != nil {
		return b, err
	}
	err := c.write(ctx, fmt.Sprintf("replay the journaled backup of service %q", b.Service), func(tx *txn) error {
		b.UpdatedAt = c.now()
		err := tx.QueryRowContext(ctx, `SELECT id FROM backups WHERE origin = ?`, origin).Scan(&b.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return tx.QueryRowContext(ctx, `INSERT INTO backups (service_id, service_name, destination_id, destination_name,
				kind, status, key, size, sha256, started_at, finished_at, error, database, format, odoo_version, pg_version, phase, bytes,
				host, pid, updated_at, encryption, missing_count, missing_files, process_start, progress_at, pool, anomaly, origin)
				VALUES (COALESCE((SELECT id FROM services WHERE id = ?), (SELECT id FROM services WHERE name = ?)), ?,
				COALESCE((SELECT id FROM destinations WHERE id = ?), (SELECT id FROM destinations WHERE name = ?)), ?,
				?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				RETURNING id`,
				b.ServiceID, b.Service, b.Service, b.DestinationID, b.Destination, b.Destination,
				b.Kind, b.Status, b.Key, b.Size, b.SHA256, toNanos(b.StartedAt), nullNanos(b.FinishedAt), b.Error,
				b.Database, b.Format, b.OdooVersion, b.PGVersion, b.Phase, b.Bytes,
				b.Host, b.PID, toNanos(b.UpdatedAt), b.Encryption, b.MissingCount, missingJSON(b), b.ProcessStart,
				toNanos(b.UpdatedAt), poolJSON(b), b.Anomaly, origin).Scan(&b.ID)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE backups SET status = ?, size = ?, sha256 = ?, finished_at = ?, error = ?,
			key = ?, database = ?, format = ?, odoo_version = ?, pg_version = ?, phase = ?, bytes = ?, encryption = ?,
			missing_count = ?, missing_files = ?, pool = ?, anomaly = ?, updated_at = ? WHERE id = ?`,
			b.Status, b.Size, b.SHA256, nullNanos(b.FinishedAt), b.Error,
			b.Key, b.Database, b.Format, b.OdooVersion, b.PGVersion, b.Phase, b.Bytes, b.Encryption,
			b.MissingCount, missingJSON(b), poolJSON(b), b.Anomaly, toNanos(b.UpdatedAt), b.ID)
		return err
	})
	return b, err
}

// replayDrill records d, the last state the journal kept of the drill
// origin names, and returns it with the catalog's id.
func (c *Catalog) replayDrill(ctx context.Context, origin string, d core.Drill) (core.Drill, error) {
	details, err := json.Marshal(d.Details)
	if err != nil {
		return d, err
	}
	err = c.write(ctx, fmt.Sprintf("replay the journaled drill of service %q", d.Service), func(tx *txn) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM drills WHERE origin = ?`, origin).Scan(&d.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return tx.QueryRowContext(ctx, `INSERT INTO drills (service_id, service_name, backup_id, destination, status, started_at,
				finished_at, details, error, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				d.ServiceID, d.Service, d.BackupID, d.Destination, d.Status, toNanos(d.StartedAt), nullNanos(d.FinishedAt),
				string(details), d.Error, origin).Scan(&d.ID)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE drills SET backup_id = ?, destination = ?, status = ?, finished_at = ?, details = ?, error = ? WHERE id = ?`,
			d.BackupID, d.Destination, d.Status, nullNanos(d.FinishedAt), string(details), d.Error, d.ID)
		return err
	})
	return d, err
}

// replayAudit appends e, kept by the journal under origin, to the audit
// trail unless a replay already did, and returns its id.
func (c *Catalog) replayAudit(ctx context.Context, origin string, e core.AuditEntry) (int64, error) {
	if e.Action == "" {
		return 0, core.Userf(core.ErrInvalid, "a journaled audit entry has no action")
	}
	err := c.write(ctx, "replay a journaled audit entry", func(tx *txn) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM audit WHERE origin = ?`, origin).Scan(&e.ID)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return c.insertAuditFrom(ctx, tx, &e, origin)
	})
	return e.ID, err
}
