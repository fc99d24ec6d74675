package core

import (
	"context"
	"fmt"
	"slices"
)

// Size anomalies: a backup whose size falls below AnomalyLow times, or
// rises above AnomalyHigh times, the median size of the AnomalyWindow
// successful backups of its service on its destination before it. At
// least AnomalyMinHistory of them are needed: the first backups of a
// service have nothing to be compared with.
const (
	AnomalyWindow     = 7
	AnomalyMinHistory = 3
	AnomalyLow        = 0.5
	AnomalyHigh       = 3.0
)

// SizeAnomaly judges size against the sizes of the successful backups
// before it (newest first; only the first AnomalyWindow count). It returns
// the sentence that says what is wrong, "" when the size is ordinary or
// there is too little history to tell.
func SizeAnomaly(size int64, before []int64) string {
	if len(before) > AnomalyWindow {
		before = before[:AnomalyWindow]
	}
	if len(before) < AnomalyMinHistory {
		return ""
	}
	med := median(before)
	if med <= 0 {
		return ""
	}
	switch {
	case float64(size) < AnomalyLow*med:
		return fmt.Sprintf("its size %s is below half the median %s of the %d backups before it: was data deleted?",
			FormatSize(size), FormatSize(int64(med)), len(before))
	case float64(size) > AnomalyHigh*med:
		return fmt.Sprintf("its size %s is above three times the median %s of the %d backups before it: was the filestore encrypted or flooded?",
			FormatSize(size), FormatSize(int64(med)), len(before))
	}
	return ""
}

func median(v []int64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return (float64(s[n/2-1]) + float64(s[n/2])) / 2
}

// judgeSize sets b.Anomaly from the successful backups of its service on
// its destination before it. The history is read, never written: a catalog
// that cannot be read leaves b unjudged, which is no failure of the backup.
func (e *Engine) judgeSize(ctx context.Context, b *Backup) {
	b.Anomaly = ""
	if b.Status != StatusSucceeded || b.ID == 0 {
		return
	}
	prev, err := e.Catalog.Backups(ctx, BackupFilter{Service: b.Service, Destination: b.Destination, BeforeID: b.ID, Limit: 50})
	if err != nil {
		e.log().Warn("the backups before this one could not be read; its size is not compared with theirs", "backup", b.ID, "error", err)
		return
	}
	var sizes []int64
	for _, p := range prev {
		if (p.Status == StatusSucceeded || p.Status == StatusRotated) && p.Size > 0 {
			sizes = append(sizes, p.Size)
		}
		if len(sizes) == AnomalyWindow {
			break
		}
	}
	b.Anomaly = SizeAnomaly(b.Size, sizes)
}
