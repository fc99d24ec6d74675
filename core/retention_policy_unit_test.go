package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestApplyRetention(t *testing.T) {
	base := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	var nextID int64
	mk := func(ago time.Duration, opts ...func(*Backup)) Backup {
		nextID++
		b := Backup{ID: nextID, Service: "prod", Destination: "s3", Kind: KindScheduled, Status: StatusSucceeded, StartedAt: base.Add(-ago)}
		for _, o := range opts {
			o(&b)
		}
		return b
	}
	kind := func(k BackupKind) func(*Backup) { return func(b *Backup) { b.Kind = k } }
	status := func(s BackupStatus) func(*Backup) { return func(b *Backup) { b.Status = s } }
	orphan := func(b *Backup) { b.Orphaned = true }
	dest := func(d string) func(*Backup) { return func(b *Backup) { b.Destination = d } }
	svc := func(s string) func(*Backup) { return func(b *Backup) { b.Service = s } }
	day := 24 * time.Hour
	daily := func(n int) []Backup {
		var bs []Backup
		for i := 0; i < n; i++ {
			bs = append(bs, mk(time.Duration(i)*day))
		}
		return bs
	}

	tests := []struct {
		name    string
		backups []Backup
		r       Retention
		// removed lists the ages (in days, as StartedAt offsets) of what goes.
		removedIDs func(bs []Backup) []int64
		// reason that must appear in the decisions of kept backups, by index.
		reasons map[int]string
	}{
		{
			name:       "keep last 3 of 5",
			backups:    daily(5),
			r:          Retention{KeepLast: 3},
			removedIDs: func(bs []Backup) []int64 { return []int64{bs[3].ID, bs[4].ID} },
			reasons:    map[int]string{0: "newest succeeded backup", 1: "last 3 (#2)", 3: "beyond the retention: keep 3"},
		},
		{
			name:       "zero retention keeps all",
			backups:    daily(4),
			r:          Retention{},
			removedIDs: func([]Backup) []int64 { return nil },
			reasons:    map[int]string{2: "no retention set"},
		},
		{
			name: "manual, safety, upload and copy backups are never touched",
			backups: []Backup{mk(0), mk(1*day, kind(KindManual)), mk(2*day, kind(KindSafety)), mk(3*day, kind(KindUpload)),
				mk(4*day, kind(KindCopy)), mk(5 * day)},
			r:          Retention{KeepLast: 1},
			removedIDs: func(bs []Backup) []int64 { return []int64{bs[5].ID} },
			reasons:    map[int]string{1: "manual backups are never rotated", 2: "safety backups", 3: "upload backups", 4: "copy backups"},
		},
		{
			name:       "orphaned backups are never touched",
			backups:    []Backup{mk(0), mk(1*day, orphan), mk(2 * day)},
			r:          Retention{KeepLast: 1},
			removedIDs: func(bs []Backup) []int64 { return []int64{bs[2].ID} },
			reasons:    map[int]string{1: "orphaned"},
		},
		{
			name:       "other services and destinations are not counted or touched",
			backups:    []Backup{mk(0), mk(1*day, dest("nas")), mk(2*day, svc("staging")), mk(3 * day)},
			r:          Retention{KeepLast: 1},
			removedIDs: func(bs []Backup) []int64 { return []int64{bs[3].ID} },
			reasons:    map[int]string{1: "another configuration", 2: "another configuration"},
		},
		{
			name: "failed, running and already rotated backups are not candidates",
			backups: []Backup{mk(0, status(StatusFailed)), mk(1 * day), mk(2*day, status(StatusRunning)), mk(3*day, status(StatusRotated)),
				mk(4 * day)},
			r:          Retention{KeepLast: 1},
			removedIDs: func(bs []Backup) []int64 { return []int64{bs[4].ID} },
			reasons:    map[int]string{0: "failed, not a succeeded backup", 1: "newest succeeded backup"},
		},
		{
			name: "the newest succeeded backup is kept even when the newest run failed",
			// The rule keeps "last 1" = the newest candidate, which is the newest success.
			backups:    []Backup{mk(0, status(StatusFailed)), mk(1 * day), mk(2 * day)},
			r:          Retention{KeepLast: 1},
			removedIDs: func(bs []Backup) []int64 { return []int64{bs[2].ID} },
			reasons:    map[int]string{1: "newest succeeded backup"},
		},
		{
			name: "GFS 2 daily keeps the newest of each of the last two days",
			backups: []Backup{mk(0), mk(1 * time.Hour), mk(1*day + 0), mk(1*day + time.Hour),
				mk(2 * day)},
			r:          Retention{GFS: &GFS{Daily: 2}},
			removedIDs: func(bs []Backup) []int64 { return []int64{bs[1].ID, bs[3].ID, bs[4].ID} },
			reasons:    map[int]string{0: "daily 2026-11-22", 2: "daily 2026-11-21"},
		},
		{
			name:       "GFS 7d,4w,2m over 90 days",
			backups:    daily(90),
			r:          Retention{GFS: &GFS{Daily: 7, Weekly: 4, Monthly: 2}},
			removedIDs: nil, // checked by count below
			reasons:    map[int]string{0: "daily 2026-11-22", 6: "daily 2026-11-16", 7: "weekly 2026-W46"},
		},
		{
			name:    "GFS hourly and yearly",
			backups: []Backup{mk(0), mk(30 * time.Minute), mk(time.Hour), mk(400 * day)},
			r:       Retention{GFS: &GFS{Hourly: 2, Yearly: 2}},
			// 00:30 is the newest of the 00h bucket, so 00:00 goes.
			removedIDs: func(bs []Backup) []int64 { return []int64{bs[2].ID} },
			reasons:    map[int]string{0: "hourly 2026-11-22 01h", 1: "hourly 2026-11-22 00h", 3: "yearly 2025"},
		},
		{
			name:       "nothing to rotate",
			backups:    nil,
			r:          Retention{KeepLast: 2},
			removedIDs: func([]Backup) []int64 { return nil },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decisions := ApplyRetention("prod", "s3", tt.backups, tt.r, time.UTC)
			if len(decisions) != len(tt.backups) {
				t.Fatalf("got %d decisions for %d backups", len(decisions), len(tt.backups))
			}
			var removed []int64
			byID := map[int64]RetentionDecision{}
			for _, d := range decisions {
				byID[d.Backup.ID] = d
				if !d.Keep {
					removed = append(removed, d.Backup.ID)
				}
				if len(d.Reasons) == 0 {
					t.Errorf("backup %d has no reason", d.Backup.ID)
				}
			}
			if tt.removedIDs != nil {
				want := tt.removedIDs(tt.backups)
				if fmt.Sprint(sorted(removed)) != fmt.Sprint(sorted(want)) {
					t.Errorf("removed %v, want %v", removed, want)
				}
			}
			for i, reason := range tt.reasons {
				d := byID[tt.backups[i].ID]
				if !strings.Contains(strings.Join(d.Reasons, "; "), reason) {
					t.Errorf("backup #%d: reasons %q, want one containing %q", i, d.Reasons, reason)
				}
			}
			// Whatever the rule, the newest succeeded scheduled backup stays.
			for _, d := range decisions {
				b := d.Backup
				if b.Kind == KindScheduled && b.Status == StatusSucceeded && !b.Orphaned && b.Service == "prod" && b.Destination == "s3" {
					if !d.Keep {
						t.Errorf("the newest succeeded backup %d was removed", b.ID)
					}
					break
				}
			}
		})
	}
	// 7 daily + 4 weekly + 2 monthly over 90 consecutive days: the weekly and
	// monthly picks overlap the daily ones partly.
	decisions := ApplyRetention("prod", "s3", daily(90), Retention{GFS: &GFS{Daily: 7, Weekly: 4, Monthly: 2}}, time.UTC)
	kept := 0
	for _, d := range decisions {
		if d.Keep {
			kept++
		}
	}
	if kept < 7 || kept > 13 {
		t.Errorf("7d,4w,2m kept %d of 90 daily backups, want between 7 and 13", kept)
	}
}

func sorted(ids []int64) []int64 {
	out := append([]int64(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
