package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/odoo-backup/odoo-backup/core"
)

// newestWhere is the id of the configuration's newest backup that matches
// cond: a backward walk of backups_service_destination_name that stops at
// the first match (a finished, a good, a sized backup is nearly always
// among the newest few).
func newestWhere(cond string) string {
	return `(SELECT b.id FROM backups b WHERE b.service_name = s.name AND b.destination_name = d.name
		AND ` + cond + ` ORDER BY b.id DESC LIMIT 1)`
}

// The statements of HealthSnapshot: a few whatever the number of services,
// each an index lookup per configuration or service, so status and the
// console stay fast on a fleet with a long history
// (BenchmarkFleetExplain shows their plans).
var (
	// The backups that decide each configuration's health.
	healthBackupIDs = `SELECT ` + newestWhere(`b.status IN ('succeeded', 'failed', 'rotated')`) + `,
		` + newestWhere(`b.status IN ('succeeded', 'rotated')`) + `
	FROM configurations c JOIN services s ON s.id = c.service_id JOIN destinations d ON d.id = c.destination_id`
	// For each running backup, the newest succeeded one with a size of its
	// service on its destination, which the console takes for its expected
	// size: only for the few running ones, not for every configuration.
	healthSizedIDs = `SELECT (SELECT b2.id FROM backups b2 WHERE b2.service_name = b.service_name AND b2.destination_name = b.destination_name
		AND b2.status = 'succeeded' AND b2.size > 0 ORDER BY b2.id DESC LIMIT 1), NULL
	FROM backups b WHERE b.status = 'running'`
	// Every running backup (backups_status) among the newest 50 of its
	// service on its destination, the ones EvaluateService reads: an older
	// one is a leftover it does not see either.
	healthRunning = backupSelect + ` WHERE b.status = 'running' AND b.id >= COALESCE((SELECT b2.id FROM backups b2
		WHERE b2.service_name = b.service_name AND b2.destination_name = b.destination_name
		ORDER BY b2.id DESC LIMIT 1 OFFSET 49), 0)`
	// Each service's newest finished drill (drills_service).
	healthDrillIDs = `SELECT (SELECT d.id FROM drills d WHERE d.service_id = s.id AND d.status <> 'running'
		ORDER BY d.id DESC LIMIT 1) FROM services s`
	drillSelect = `SELECT d.id, d.service_id, d.service_name, d.backup_id, d.destination, d.status,
		d.started_at, d.finished_at, d.details, d.error FROM drills d`
)

// HealthSnapshot reads what core.EvaluateService needs of every service in
// one read transaction, so the picture is consistent: each configuration's
// newest finished and newest successful backup, the running backups with
// the newest succeeded backup with a size of their service on their
// destination, and each service's newest finished drill.
// Unlike EvaluateService over the full history, which reads a
// configuration's newest 50 backups, its newest success may be older than
// those 50 (the newest finished one then failed, so the state is the same).
func (c *Catalog) HealthSnapshot(ctx context.Context) (core.HealthSnapshot, error) {
	var snap core.HealthSnapshot
	err := c.read(ctx, "read the health of every service", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, configurationQuery+` ORDER BY s.name, c.is_primary DESC, d.name`)
		if err != nil {
			return err
		}
		if snap.Configurations, err = c.scanConfigurations(rows); err != nil {
			return err
		}
		ids, err := queryIDs(ctx, tx, healthBackupIDs+` UNION `+healthSizedIDs)
		if err != nil {
			return err
		}
		if err := byIDs(ctx, tx, backupSelect+` WHERE b.id IN `, ids, func(r *sql.Rows) error {
			b, err := scanBackup(r)
			snap.Backups = append(snap.Backups, b)
			return err
		}); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, healthRunning)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			b, err := scanBackup(rows)
			if err != nil {
				return err
			}
			snap.Backups = append(snap.Backups, b)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if ids, err = queryIDs(ctx, tx, healthDrillIDs); err != nil {
			return err
		}
		if err := byIDs(ctx, tx, drillSelect+` WHERE d.id IN `, ids, func(r *sql.Rows) error {
			d, err := scanDrill(r)
			snap.Drills = append(snap.Drills, d)
			return err
		}); err != nil {
			return err
		}
		return readHealthRestores(ctx, tx, &snap)
	})
	return snap, err
}

// queryIDs reads every non-NULL id of every column of q's rows, once each.
func queryIDs(ctx context.Context, tx *txn, q string) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.NullInt64, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	seen := map[int64]bool{}
	var ids []int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for _, v := range vals {
			if v.Valid && !seen[v.Int64] {
				seen[v.Int64] = true
				ids = append(ids, v.Int64)
			}
		}
	}
	return ids, rows.Err()
}

// byIDs runs prefix + "(?, ?, ...)" over ids, 500 at a time (well under
// either backend's limit of parameters), and scans each row.
func byIDs(ctx context.Context, tx *txn, prefix string, ids []int64, scan func(*sql.Rows) error) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		ids = ids[n:]
		rows, err := tx.QueryContext(ctx, prefix+"(?"+strings.Repeat(", ?", n-1)+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func scanDrill(row interface{ Scan(...any) error }) (core.Drill, error) {
	var (
		d        core.Drill
		started  int64
		finished sql.NullInt64
		details  string
	)
	if err := row.Scan(&d.ID, &d.ServiceID, &d.Service, &d.BackupID, &d.Destination, &d.Status,
		&started, &finished, &details, &d.Error); err != nil {
		return d, err
	}
	d.StartedAt, d.FinishedAt = fromNanos(started), timePtr(finished)
	if err := json.Unmarshal([]byte(details), &d.Details); err != nil {
		return d, fmt.Errorf("drill %d has unreadable details: %w", d.ID, err)
	}
	return d, nil
}
