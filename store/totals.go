package store

import (
	"context"

	"github.com/odoo-backup/odoo-backup/core"
)

// backupTotalsQuery counts the held (succeeded) and failed backups of every
// service on every destination: one GROUP BY that reads the partial index
// backups_held alone (rotated, deleted and running rows, most of a long
// history, are not in it).
const backupTotalsQuery = `SELECT b.service_name, b.destination_name, b.status, COUNT(*), COALESCE(SUM(b.size), 0)
	FROM backups b WHERE b.status IN ('succeeded', 'failed')
	GROUP BY b.service_name, b.destination_name, b.status
	ORDER BY b.service_name, b.destination_name`

// BackupTotals counts the held and failed backups of each service on each
// destination, in one query: the metrics read it on every scrape.
func (c *Catalog) BackupTotals(ctx context.Context) ([]core.BackupTotal, error) {
	var out []core.BackupTotal
	err := c.read(ctx, "count the backups", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, backupTotalsQuery)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				svc, dest, status string
				n, bytes          int64
			)
			if err := rows.Scan(&svc, &dest, &status, &n, &bytes); err != nil {
				return err
			}
			if len(out) == 0 || out[len(out)-1].Service != svc || out[len(out)-1].Destination != dest {
				out = append(out, core.BackupTotal{Service: svc, Destination: dest})
			}
			t := &out[len(out)-1]
			if status == string(core.StatusSucceeded) {
				t.Held, t.HeldBytes = n, bytes
			} else {
				t.Failed = n
			}
		}
		return rows.Err()
	})
	return out, err
}
