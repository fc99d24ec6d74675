package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// Orphaned is derived, never stored: a backup is an orphan when its service
// no longer has a configuration on its destination, or either is gone. The
// NOT EXISTS probe uses the configurations' UNIQUE(service_id, destination_id).
const backupSelect = `SELECT b.id, COALESCE(b.service_id, 0), b.service_name, COALESCE(b.destination_id, 0), b.destination_name,
	b.kind, b.status, b.size, b.sha256, b.started_at, b.finished_at, b.error,
	b.key, b.database, b.format, b.odoo_version, b.pg_version, b.phase, b.bytes, b.host, b.pid, b.updated_at, b.encryption,
	b.missing_count, b.missing_files, b.process_start, b.progress_at, b.pool, b.anomaly, b.warning, b.locked_until,
	(b.service_id IS NULL OR b.destination_id IS NULL OR NOT EXISTS (
		SELECT 1 FROM configurations c WHERE c.service_id = b.service_id AND c.destination_id = b.destination_id))
	FROM backups b`

func scanBackup(row interface{ Scan(...any) error }) (core.Backup, error) {
	var (
		b        core.Backup
		started  int64
		finished sql.NullInt64
		updated  int64
		missing  string
		progress int64
		pool     string
		locked   sql.NullInt64
	)
	err := row.Scan(&b.ID, &b.ServiceID, &b.Service, &b.DestinationID, &b.Destination,
		&b.Kind, &b.Status, &b.Size, &b.SHA256, &started, &finished, &b.Error,
		&b.Key, &b.Database, &b.Format, &b.OdooVersion, &b.PGVersion, &b.Phase, &b.Bytes, &b.Host, &b.PID, &updated, &b.Encryption,
		&b.MissingCount, &missing, &b.ProcessStart, &progress, &pool, &b.Anomaly, &b.Warning, &locked, &b.Orphaned)
	if err == nil && b.MissingCount > 0 {
		if jerr := json.Unmarshal([]byte(missing), &b.MissingFiles); jerr != nil {
			return b, fmt.Errorf("backup %d: its missing file names are not a JSON list: %w", b.ID, jerr)
		}
	}
	if err == nil && pool != "" {
		b.Pool = new(core.PoolFacts)
		if jerr := json.Unmarshal([]byte(pool), b.Pool); jerr != nil {
			return b, fmt.Errorf("backup %d: its pool facts are not JSON: %w", b.ID, jerr)
		}
	}
	b.StartedAt = fromNanos(started)
	b.UpdatedAt = fromNanos(updated)
	if progress != 0 {
		b.ProgressAt = fromNanos(progress)
	}
	b.FinishedAt = timePtr(finished)
	b.LockedUntil = timePtr(locked)
	return b, err
}

func backupNotFound(id int64) error {
	return core.Advise(core.Advice{Action: core.ActionListBackups, Backup: id}, core.ErrNotFound, "backup %d does not exist", id)
}

func validKind(k core.BackupKind) bool {
	switch k {
	case core.KindScheduled, core.KindManual, core.KindSafety, core.KindUpload, core.KindCopy:
		return true
	}
	return false
}

func validStatus(s core.BackupStatus) bool {
	switch s {
	case core.StatusRunning, core.StatusSucceeded, core.StatusFailed, core.StatusRotated, core.StatusDeleted:
		return true
	}
	return false
}

func checkBackupFields(b core.Backup) error {
	if !validStatus(b.Status) {
		return core.Userf(core.ErrInvalid, "backup status %q is not one of running, succeeded, failed, rotated, deleted", b.Status)
	}
	if b.FinishedAt != nil {
		if err := checkTime("backup finish time", *b.FinishedAt); err != nil {
			return err
		}
	}
	if b.MissingCount < len(b.MissingFiles) || len(b.MissingFiles) > core.MaxMissingNames {
		return core.Userf(core.ErrInvalid, "backup of %q names %d missing files but counts %d (at most %d names are kept)", b.Service, len(b.MissingFiles), b.MissingCount, core.MaxMissingNames)
	}
	return nil
}

// missingJSON is the missing_files column of b.
func missingJSON(b core.Backup) string {
	if len(b.MissingFiles) == 0 {
		return "[]"
	}
	raw, _ := json.Marshal(b.MissingFiles)
	return string(raw)
}

// CreateBackup records b and sets b.ID. The service and the destination are
// taken by id when set, else by name, and both are filled in; an empty
// Status means running and a zero StartedAt means now.
func (c *Catalog) CreateBackup(ctx context.Context, b *core.Backup) error {
	nb := *b
	if nb.Status == "" {
		nb.Status = core.StatusRunning
	}
	if nb.StartedAt.IsZero() {
		nb.StartedAt = c.now()
	}
	if !validKind(nb.Kind) {
		return core.Userf(core.ErrInvalid, "backup kind %q is not one of scheduled, manual, safety, upload, copy", nb.Kind)
	}
	if err := checkBackupFields(nb); err != nil {
		return err
	}
	if err := checkTime("backup start time", nb.StartedAt); err != nil {
		return err
	}
	err := c.write(ctx, fmt.Sprintf("record backup of service %q", nb.Service), func(tx *txn) error {
		var err error
		if nb.ServiceID != 0 {
			err = tx.QueryRowContext(ctx, `SELECT name FROM services WHERE id = ?`, nb.ServiceID).Scan(&nb.Service)
			if errors.Is(err, sql.ErrNoRows) {
				err = core.Advise(core.Advice{Action: core.ActionListServices}, core.ErrNotFound, "service %d does not exist", nb.ServiceID)
			}
		} else {
			nb.ServiceID, err = serviceID(ctx, tx, nb.Service)
		}
		if err != nil {
			return err
		}
		if nb.DestinationID != 0 {
			err = tx.QueryRowContext(ctx, `SELECT name FROM destinations WHERE id = ?`, nb.DestinationID).Scan(&nb.Destination)
			if errors.Is(err, sql.ErrNoRows) {
				err = core.Advise(core.Advice{Action: core.ActionListDestinations}, core.ErrNotFound, "destination %d does not exist", nb.DestinationID)
			}
		} else {
			nb.DestinationID, err = destinationID(ctx, tx, nb.Destination)
		}
		if err != nil {
			return err
		}
		nb.UpdatedAt = c.now()
		if nb.Status == core.StatusRunning && nb.ProgressAt.IsZero() {
			nb.ProgressAt = nb.UpdatedAt
		}
		// A zero id lets SQLite pick the next one; a given id (a rebuild
		// keeping the id recorded in a metadata object) must be free.
		var id any
		if nb.ID != 0 {
			id = nb.ID
			var taken bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM backups WHERE id = ?)`, nb.ID).Scan(&taken); err != nil {
				return err
			}
			if taken {
				return core.Userf(core.ErrExists, "backup id %d is already taken in the catalog", nb.ID)
			}
		}
		return tx.QueryRowContext(ctx, `INSERT INTO backups (id, service_id, service_name, destination_id, destination_name,
			kind, status, key, size, sha256, started_at, finished_at, error, database, format, odoo_version, pg_version, phase, bytes,
			host, pid, updated_at, encryption, missing_count, missing_files, process_start, progress_at, pool, anomaly, warning, locked_until)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id, NOT EXISTS (SELECT 1 FROM configurations c WHERE c.service_id = ? AND c.destination_id = ?)`,
			id, nb.ServiceID, nb.Service, nb.DestinationID, nb.Destination,
			nb.Kind, nb.Status, nb.Key, nb.Size, nb.SHA256, toNanos(nb.StartedAt), nullNanos(nb.FinishedAt), nb.Error,
			nb.Database, nb.Format, nb.OdooVersion, nb.PGVersion, nb.Phase, nb.Bytes,
			nb.Host, nb.PID, toNanos(nb.UpdatedAt), nb.Encryption, nb.MissingCount, missingJSON(nb), nb.ProcessStart, progressNanos(nb.ProgressAt), poolJSON(nb), nb.Anomaly, nb.Warning, nullNanos(nb.LockedUntil),
			nb.ServiceID, nb.DestinationID).Scan(&nb.ID, &nb.Orphaned)
	})
	if err != nil {
		return err
	}
	nb.StartedAt = fromNanos(toNanos(nb.StartedAt))
	nb.FinishedAt = timePtr(nullNanos(nb.FinishedAt))
	nb.LockedUntil = timePtr(nullNanos(nb.LockedUntil))
	*b = nb
	return nil
}

// UpdateBackup stores the mutable fields of b: status, size, sha256,
// finished_at, error, key, database, format, versions, phase, bytes and the
// missing files, the anomaly, the warning and the lock's end. The
// service, destination, kind and start time are fixed at creation.
func (c *Catalog) UpdateBackup(ctx context.Context, b core.Backup) error {
	if err := checkBackupFields(b); err != nil {
		return err
	}
	res, err := c.db.ExecContext(ctx, `UPDATE backups SET status = ?, size = ?, sha256 = ?, finished_at = ?, error = ?,
		key = ?, database = ?, format = ?, odoo_version = ?, pg_version = ?, phase = ?, bytes = ?, encryption = ?,
		missing_count = ?, missing_files = ?, pool = ?, anomaly = ?, warning = ?, locked_until = ?, updated_at = ? WHERE id = ?`,
		b.Status, b.Size, b.SHA256, nullNanos(b.FinishedAt), b.Error,
		b.Key, b.Database, b.Format, b.OdooVersion, b.PGVersion, b.Phase, b.Bytes, b.Encryption,
		b.MissingCount, missingJSON(b), poolJSON(b), b.Anomaly, b.Warning, nullNanos(b.LockedUntil), toNanos(c.now()), b.ID)
	return c.refused(c.updated(res, err, fmt.Sprintf("update backup %d", b.ID), b.ID))
}

// poolJSON is how a backup's pool facts are stored: ” when it has none.
func poolJSON(b core.Backup) string {
	if b.Pool == nil {
		return ""
	}
	raw, _ := json.Marshal(b.Pool)
	return string(raw)
}

// progressNanos stores an unknown progress time as 0.
func progressNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return toNanos(t)
}

// UpdateProgress is one UPDATE, cheap enough to call every second. It is
// also the heartbeat: the progress time moves only when the phase or the
// byte count does.
func (c *Catalog) UpdateProgress(ctx context.Context, id int64, p core.BackupProgress) error {
	phase, bytes := p.Phase, p.Bytes
	now := toNanos(c.now())
	res, err := c.db.ExecContext(ctx, `UPDATE backups SET progress_at = CASE WHEN phase <> ? OR bytes <> ? OR progress_at = 0 THEN ? ELSE progress_at END,
		phase = ?, bytes = ?, updated_at = ? WHERE id = ?`, phase, bytes, now, phase, bytes, now, id)
	return c.refused(c.updated(res, err, fmt.Sprintf("update progress of backup %d", id), id))
}

func (c *Catalog) updated(res sql.Result, err error, op string, id int64) error {
	if err != nil {
		return c.dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return c.dbError(op, err)
	}
	if n == 0 {
		return backupNotFound(id)
	}
	return nil
}

// Backup returns one backup, with Orphaned derived.
func (c *Catalog) Backup(ctx context.Context, id int64) (core.Backup, error) {
	b, err := scanBackup(c.db.QueryRowContext(ctx, backupSelect+` WHERE b.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return core.Backup{}, backupNotFound(id)
	}
	if err != nil {
		return core.Backup{}, c.dbError(fmt.Sprintf("read backup %d", id), err)
	}
	return b, nil
}

// Backups lists newest first (by id, which never goes back), with Orphaned
// derived. Service and Destination match the names recorded on each backup,
// so the history of a removed service is still found by its name; an
// unknown name finds nothing rather than an error.
func (c *Catalog) Backups(ctx context.Context, f core.BackupFilter) ([]core.Backup, error) {
	q, args, err := backupsQuery(f)
	if err != nil {
		return nil, err
	}
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.dbError("list backups", err)
	}
	defer rows.Close()
	var out []core.Backup
	for rows.Next() {
		b, err := scanBackup(rows)
		if err != nil {
			return nil, c.dbError("list backups", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, c.dbError("list backups", err)
	}
	return out, nil
}

func backupsQuery(f core.BackupFilter) (string, []any, error) {
	if f.Limit < 0 || f.BeforeID < 0 {
		return "", nil, core.Userf(core.ErrInvalid, "a backup listing needs a limit and a starting id of 0 or more")
	}
	var (
		where []string
		args  []any
	)
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Service != "" {
		add("b.service_name = ?", f.Service)
	}
	if f.Destination != "" {
		add("b.destination_name = ?", f.Destination)
	}
	if f.Kind != "" {
		add("b.kind = ?", string(f.Kind))
	}
	if f.Status != "" {
		add("b.status = ?", string(f.Status))
	}
	if f.BeforeID > 0 {
		add("b.id < ?", f.BeforeID)
	}
	q := backupSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY b.id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return q, args, nil
}
