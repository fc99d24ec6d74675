package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

func TestBackupsFilter(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	// ids 1..6
	addBackup(t, c, "prod", "s3-eu", core.KindScheduled, core.StatusSucceeded)  // 1
	addBackup(t, c, "prod", "local", core.KindManual, core.StatusFailed)        // 2
	addBackup(t, c, "staging", "local", core.KindScheduled, core.StatusRotated) // 3
	addBackup(t, c, "prod", "s3-eu", core.KindScheduled, core.StatusRotated)    // 4
	addBackup(t, c, "staging", "local", core.KindSafety, core.StatusSucceeded)  // 5
	addBackup(t, c, "prod", "s3-eu", core.KindManual, core.StatusRunning)       // 6

	tests := []struct {
		name   string
		filter core.BackupFilter
		want   []int64
	}{
		{"everything, newest first", core.BackupFilter{}, []int64{6, 5, 4, 3, 2, 1}},
		{"one service", core.BackupFilter{Service: "prod"}, []int64{6, 4, 2, 1}},
		{"one destination", core.BackupFilter{Destination: "local"}, []int64{5, 3, 2}},
		{"service and destination", core.BackupFilter{Service: "prod", Destination: "s3-eu"}, []int64{6, 4, 1}},
		{"kind", core.BackupFilter{Kind: core.KindScheduled}, []int64{4, 3, 1}},
		{"status", core.BackupFilter{Status: core.StatusRotated}, []int64{4, 3}},
		{"limit", core.BackupFilter{Limit: 2}, []int64{6, 5}},
		{"page before an id", core.BackupFilter{BeforeID: 5, Limit: 2}, []int64{4, 3}},
		{"page of a service", core.BackupFilter{Service: "prod", BeforeID: 6, Limit: 2}, []int64{4, 2}},
		{"all filters", core.BackupFilter{Service: "prod", Destination: "s3-eu", Kind: core.KindScheduled, Status: core.StatusSucceeded}, []int64{1}},
		{"unknown service finds nothing", core.BackupFilter{Service: "nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := c.Backups(ctx, tt.filter)
			must(t, err)
			var got []int64
			for _, b := range list {
				got = append(got, b.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got ids %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := c.Backups(ctx, core.BackupFilter{Limit: -1}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("negative limit: got %v, want ErrInvalid", err)
	}
}

func TestOrphaned(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	onLocal := addBackup(t, c, "prod", "local", core.KindScheduled, core.StatusSucceeded)
	onS3 := addBackup(t, c, "prod", "s3-eu", core.KindScheduled, core.StatusSucceeded)
	// A destination the service never had a configuration on, as after a
	// catalog rebuild.
	onSpare := addBackup(t, c, "prod", "spare", core.KindManual, core.StatusSucceeded)

	orphaned := func() map[int64]bool {
		t.Helper()
		out := map[int64]bool{}
		list, err := c.Backups(ctx, core.BackupFilter{Service: "prod"})
		must(t, err)
		for _, b := range list {
			out[b.ID] = b.Orphaned
			one, err := c.Backup(ctx, b.ID)
			must(t, err)
			if one.Orphaned != b.Orphaned {
				t.Errorf("backup %d: Backup says orphaned %v, Backups says %v", b.ID, one.Orphaned, b.Orphaned)
			}
		}
		return out
	}
	steps := []struct {
		name string
		do   func()
		want map[int64]bool
	}{
		{"configured", func() {}, map[int64]bool{onLocal.ID: false, onS3.ID: false, onSpare.ID: true}},
		{"configuration removed", func() { must(t, c.RemoveConfiguration(ctx, "prod", "local")) },
			map[int64]bool{onLocal.ID: true, onS3.ID: false, onSpare.ID: true}},
		{"configuration added again", func() { setConfig(t, c, "prod", "local", false) },
			map[int64]bool{onLocal.ID: false, onS3.ID: false, onSpare.ID: true}},
		{"spare configured", func() { setConfig(t, c, "prod", "spare", false) },
			map[int64]bool{onLocal.ID: false, onS3.ID: false, onSpare.ID: false}},
		{"service removed", func() { must(t, c.RemoveService(ctx, "prod")) },
			map[int64]bool{onLocal.ID: true, onS3.ID: true, onSpare.ID: true}},
		{"a new service of the same name", func() {
			addService(t, c, "prod")
			setConfig(t, c, "prod", "local", false)
		}, map[int64]bool{onLocal.ID: true, onS3.ID: true, onSpare.ID: true}},
	}
	for _, step := range steps {
		step.do()
		if got := orphaned(); !reflect.DeepEqual(got, step.want) {
			t.Errorf("%s: got orphaned %v, want %v", step.name, got, step.want)
		}
	}
}

func TestCreateBackupReportsOrphaned(t *testing.T) {
	c := world(t)
	configured := addBackup(t, c, "prod", "local", core.KindManual, core.StatusRunning)
	unconfigured := addBackup(t, c, "prod", "spare", core.KindManual, core.StatusRunning)
	if configured.Orphaned || !unconfigured.Orphaned {
		t.Errorf("got orphaned %v and %v, want false and true", configured.Orphaned, unconfigured.Orphaned)
	}
}

func TestUpdateProgress(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	b := addBackup(t, c, "prod", "local", core.KindManual, core.StatusRunning)
	for _, p := range []struct {
		phase core.Phase
		bytes int64
	}{{"dump", 10}, {"filestore", 1 << 33}, {"", 0}} {
		must(t, c.UpdateProgress(ctx, b.ID, core.BackupProgress{Phase: p.phase, Bytes: p.bytes}))
		got, err := c.Backup(ctx, b.ID)
		must(t, err)
		if got.Phase != p.phase || got.Bytes != p.bytes || got.Status != core.StatusRunning {
			t.Errorf("got %q %d %s, want %q %d running", got.Phase, got.Bytes, got.Status, p.phase, p.bytes)
		}
	}
}

// A heartbeat (the same phase and bytes again) is a sign of life but not
// progress: only a change moves the progress time, so a stall shows.
func TestUpdateProgressHeartbeatIsNotProgress(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	b := addBackup(t, c, "prod", "local", core.KindManual, core.StatusRunning)
	read := func() core.Backup {
		got, err := c.Backup(ctx, b.ID)
		must(t, err)
		return got
	}
	created := read()
	if created.ProgressAt.IsZero() || !created.ProgressAt.Equal(created.UpdatedAt) {
		t.Fatalf("a new running backup has progress time %v, want its creation %v", created.ProgressAt, created.UpdatedAt)
	}
	must(t, c.UpdateProgress(ctx, b.ID, core.BackupProgress{Phase: "dump", Bytes: 10}))
	moved := read()
	if !moved.ProgressAt.After(created.ProgressAt) || !moved.ProgressAt.Equal(moved.UpdatedAt) {
		t.Errorf("after progress: progress time %v, updated %v; want both moved past %v", moved.ProgressAt, moved.UpdatedAt, created.ProgressAt)
	}
	must(t, c.UpdateProgress(ctx, b.ID, core.BackupProgress{Phase: "dump", Bytes: 10}))
	beat := read()
	if !beat.UpdatedAt.After(moved.UpdatedAt) || !beat.ProgressAt.Equal(moved.ProgressAt) {
		t.Errorf("after a heartbeat: updated %v, progress %v; want updated moved and progress kept at %v", beat.UpdatedAt, beat.ProgressAt, moved.ProgressAt)
	}
	must(t, c.UpdateProgress(ctx, b.ID, core.BackupProgress{Phase: "filestore", Bytes: 10}))
	if phase := read(); !phase.ProgressAt.After(beat.ProgressAt) {
		t.Errorf("a new phase left the progress time at %v", phase.ProgressAt)
	}
}

// The page the console shows most is one service's newest backups; it must
// walk the index backwards, not sort the table.
func TestBackupsPageUsesIndex(t *testing.T) {
	c := openTest(t)
	for _, tt := range []struct {
		f     core.BackupFilter
		index string
	}{
		{core.BackupFilter{Service: "prod", Limit: 50}, "backups_service_name"},
		{core.BackupFilter{Service: "prod", BeforeID: 1000, Limit: 50}, "backups_service_name"},
		{core.BackupFilter{Destination: "local", Limit: 50}, "backups_destination_name"},
		{core.BackupFilter{Service: "prod", Destination: "local", Kind: core.KindScheduled}, "backups_service_destination_name"},
		{core.BackupFilter{Status: core.StatusRunning}, "backups_status"},
	} {
		f := tt.f
		q, args, err := backupsQuery(f)
		must(t, err)
		rows, err := c.db.Query("EXPLAIN QUERY PLAN "+q, args...)
		must(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			must(t, rows.Scan(&id, &parent, &notused, &detail))
			plan = append(plan, detail)
		}
		must(t, rows.Err())
		rows.Close()
		text := strings.Join(plan, "; ")
		if !strings.Contains(text, "SEARCH b USING INDEX "+tt.index+" ") || strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("filter %+v: got plan %q, want a search of %s without a sort", f, text, tt.index)
		}
	}
}

// BenchmarkBackupsPage lists the newest 50 backups of one service among
// 100,000 backups of 100 services.
func BenchmarkBackupsPage(b *testing.B) {
	c := openTest(b)
	ctx := context.Background()
	const services, backups = 100, 100_000
	addLocal(b, c, "local")
	addLocal(b, c, "s3")
	for i := range services {
		name := fmt.Sprintf("svc-%03d", i)
		addService(b, c, name)
		setConfig(b, c, name, "local", false)
	}
	// Bulk insert in one transaction: the benchmark is about reading.
	tx, err := c.db.Begin()
	must(b, err)
	stmt, err := tx.Prepare(`INSERT INTO backups (service_id, service_name, destination_id, destination_name, kind, status, started_at, key, size)
		VALUES ((SELECT id FROM services WHERE name = ?1), ?1, (SELECT id FROM destinations WHERE name = ?2), ?2, 'scheduled', 'succeeded', ?3, ?4, ?5)`)
	must(b, err)
	for i := range backups {
		svc := fmt.Sprintf("svc-%03d", i%services)
		dest := []string{"local", "s3"}[i%7%2]
		_, err := stmt.Exec(svc, dest, int64(i)*1e9, fmt.Sprintf("%s/2026/01/%s_%d_scheduled.zip", svc, svc, i), int64(i)*1000)
		must(b, err)
	}
	must(b, stmt.Close())
	must(b, tx.Commit())

	for b.Loop() {
		list, err := c.Backups(ctx, core.BackupFilter{Service: "svc-042", Limit: 50})
		if err != nil {
			b.Fatal(err)
		}
		if len(list) != 50 {
			b.Fatalf("got %d backups, want 50", len(list))
		}
	}
}

// What a backup lacks survives the catalog: created with it, updated, read
// back by id and in listings; more names than the count, or than the bound,
// are refused.
func TestBackupMissingFiles(t *testing.T) {
	c := world(t)
	ctx := context.Background()
	b := addBackup(t, c, "prod", "s3-eu", core.KindManual, core.StatusRunning)
	if b.MissingCount != 0 || len(b.MissingFiles) != 0 {
		t.Fatalf("new backup %+v: want nothing missing", b)
	}
	b.Status, b.MissingCount, b.MissingFiles = core.StatusSucceeded, 150, []string{"ab/ab01", "cd/cd02"}
	must(t, c.UpdateBackup(ctx, b))
	got, err := c.Backup(ctx, b.ID)
	must(t, err)
	if got.MissingCount != 150 || !reflect.DeepEqual(got.MissingFiles, b.MissingFiles) {
		t.Errorf("read back %d missing %v, want 150 %v", got.MissingCount, got.MissingFiles, b.MissingFiles)
	}
	list, err := c.Backups(ctx, core.BackupFilter{Service: "prod"})
	must(t, err)
	if len(list) != 1 || !reflect.DeepEqual(list[0].MissingFiles, b.MissingFiles) {
		t.Errorf("listing %+v: want the missing files", list)
	}
	copied := core.Backup{Service: "prod", Destination: "s3-eu", Kind: core.KindCopy, MissingCount: 1, MissingFiles: []string{"ef/ef03"}}
	must(t, c.CreateBackup(ctx, &copied))
	if got, _ := c.Backup(ctx, copied.ID); got.MissingCount != 1 || !reflect.DeepEqual(got.MissingFiles, copied.MissingFiles) {
		t.Errorf("created with missing files, read back %+v", got)
	}

	tooMany := b
	tooMany.MissingCount = 1
	refuse(t, c, core.ErrInvalid, func() error { return c.UpdateBackup(ctx, tooMany) }, "names 2 missing files but counts 1")
	unbounded := b
	unbounded.MissingFiles = make([]string, core.MaxMissingNames+1)
	unbounded.MissingCount = len(unbounded.MissingFiles)
	refuse(t, c, core.ErrInvalid, func() error { return c.UpdateBackup(ctx, unbounded) }, "at most 100 names")
}

// TestGivenIDsAreNeverGivenAgain: a rebuild or a migration records backups
// with the ids they had; the ids handed out afterwards come after them, and
// an id once used, even by a backup since deleted, is not handed out again.
func TestGivenIDsAreNeverGivenAgain(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	addLocal(t, c, "local")
	addService(t, c, "prod")
	setConfig(t, c, "prod", "local", false)
	given := core.Backup{ID: 1000, Service: "prod", Destination: "local", Kind: core.KindScheduled, Status: core.StatusSucceeded}
	must(t, c.CreateBackup(ctx, &given))
	if given.ID != 1000 {
		t.Fatalf("given id 1000 recorded as %d", given.ID)
	}
	next := addBackup(t, c, "prod", "local", core.KindManual, core.StatusSucceeded)
	if next.ID <= 1000 {
		t.Errorf("next backup got id %d, want one after the given 1000", next.ID)
	}
	again := core.Backup{ID: 1000, Service: "prod", Destination: "local", Kind: core.KindScheduled, Status: core.StatusSucceeded}
	if err := c.CreateBackup(ctx, &again); !errors.Is(err, core.ErrExists) {
		t.Errorf("recording id 1000 twice: %v, want ErrExists", err)
	}
	// Removing a destination with its history deletes the rows themselves.
	addLocal(t, c, "spare")
	setConfig(t, c, "prod", "spare", false)
	gone := addBackup(t, c, "prod", "spare", core.KindManual, core.StatusSucceeded)
	must(t, c.RemoveConfiguration(ctx, "prod", "spare"))
	must(t, c.RemoveDestination(ctx, "spare", true))
	if _, err := c.Backup(ctx, gone.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("backup %d after its destination was removed with its history: %v, want ErrNotFound", gone.ID, err)
	}
	next = gone
	last := addBackup(t, c, "prod", "local", core.KindManual, core.StatusSucceeded)
	if last.ID <= next.ID {
		t.Errorf("backup after a deleted one got id %d, want one after %d", last.ID, next.ID)
	}
}
