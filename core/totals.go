package core

import "context"

// BackupTotal is what the catalog holds of one service on one destination:
// the succeeded backups kept there (rotated and deleted ones are gone from
// the store) and their bytes, and the failed backups it has recorded.
type BackupTotal struct {
	Service     string `json:"service"`
	Destination string `json:"destination"`
	Held        int64  `json:"held"`
	HeldBytes   int64  `json:"held_bytes"`
	Failed      int64  `json:"failed"`
}

// BackupTotaler counts the catalog's backups in one query, whatever the
// length of the history, for every service on every destination that has
// any held or failed backup.
type BackupTotaler interface {
	BackupTotals(ctx context.Context) ([]BackupTotal, error)
}
