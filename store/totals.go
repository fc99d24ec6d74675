package store

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/odoo-backup/odoo-backup/core"
)

// backupTotalsQuery counts the held (succeeded) and failed backups of every
// service on every destination: one GROUP BY that reads the partial index
// backups_held alone (rotated, deleted and running rows, most of a long
// history, are not in it).
const backupTotalsQuery = `SELECT b.service_name, b.destination_name, b.status, COUNT(*), COALESCE(SUM(b.size), 0)
	FROM backups b WHERE b.status IN ('succeeded', 'failed')
	GROUP BY b.service_name, b.destination_name, b.status`

// totalsQuery is backupTotalsQuery for the backend: SQLite, without
// statistics, would rather search backups_status and sort, so it is told
// the index (PostgreSQL picks it on its own).
func totalsQuery(pg bool) string {
	if pg {
		return backupTotalsQuery
	}
	return strings.Replace(backupTotalsQuery, "FROM backups b ", "FROM backups b INDEXED BY backups_held ", 1)
}

// BackupTotals counts the held and failed backups of each service on each
// destination, in one query: the metrics read it on every scrape. They
// come by service, then destination.
func (c *Catalog) BackupTotals(ctx context.Context) ([]core.BackupTotal, error) {
	var out []core.BackupTotal
	err := c.read(ctx, "count the backups", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, totalsQuery(tx.pg))
		if err != nil {
			return err
		}
		defer rows.Close()
		at := map[[2]string]int{}
		for rows.Next() {
			var (
				svc, dest, status string
				n, bytes          int64
			)
			if err := rows.Scan(&svc, &dest, &status, &n, &bytes); err != nil {
				return err
			}
			k := [2]string{svc, dest}
			i, ok := at[k]
			if !ok {
				i = len(out)
				at[k] = i
				out = append(out, core.BackupTotal{Service: svc, Destination: dest})
			}
			t := &out[i]
			if status == string(core.StatusSucceeded) {
				t.Held, t.HeldBytes = n, bytes
			} else {
				t.Failed = n
			}
		}
		return rows.Err()
	})
	slices.SortFunc(out, func(a, b core.BackupTotal) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Destination, b.Destination))
	})
	return out, err
}
