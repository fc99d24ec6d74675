package tui

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// jobRow is one job on the activity screen, whatever recorded it: a backup
// (the catalog's backups), a drill (its drills) or another operation (the
// audit trail).
type jobRow struct {
	// key tells rows apart across refreshes: "b12", "d3", "a55".
	key     string
	at      time.Time
	service string
	job     string
	on      string
	by      string
	// user is by without the SSH client, for a narrow column.
	user    string
	running bool
	failed  bool
	// status is the outcome's mark and word.
	status string
	// backupID is a running backup's, for its live progress.
	backupID int64
	// backup is the running backup's row, for a stall.
	backup        core.Backup
	phase         core.Phase
	bytes         int64
	size          int64
	detail, error string
	// what says which job it is, for the line over its detail.
	what string
}

// jobActions are the audited operations the jobs pane lists; backups and
// drills come from their own tables, which know more.
var jobActions = map[string]bool{
	core.ActionRestore: true, core.ActionRotate: true, core.ActionDrill: true, core.ActionDownload: true,
	core.ActionUpload: true, core.ActionCopy: true, core.ActionDelete: true,
}

// backupInDetail finds the backups a backup's audit entry names
// ("manual: backup 5 on s3-eu, backup 6 on local"), to tell who took them.
var backupInDetail = regexp.MustCompile(`backup (\d+) on `)

// actorOf is who did a: the user, the SSH client, and on a PostgreSQL
// catalog the database user the server recorded.
func actorOf(a core.AuditEntry) string {
	who := core.Actor{User: a.User, SSHClient: a.SSHClient}.String()
	if a.DBUser != "" {
		who += " (database user " + a.DBUser + ")"
	}
	return who
}

// mergeJobs puts backups, drills and the audited operations in one list:
// the running first, then the others newest first.
func mergeJobs(backups []core.Backup, drills []core.Drill, ops []core.AuditEntry) []jobRow {
	backupBy := map[int64]core.AuditEntry{}
	for _, a := range ops {
		if a.Action != core.ActionBackup {
			continue
		}
		for _, m := range backupInDetail.FindAllStringSubmatch(a.Detail, -1) {
			if id, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				backupBy[id] = a
			}
		}
	}
	used := map[int64]bool{}
	var rows []jobRow
	for _, b := range backups {
		running := b.Status == core.StatusRunning
		// A finished upload or copy is listed from its audit entry, which
		// says who did it.
		if !running && (b.Kind == core.KindUpload || b.Kind == core.KindCopy) {
			continue
		}
		job := "backup"
		if b.Kind != core.KindScheduled && b.Kind != core.KindManual {
			job = string(b.Kind) + " backup"
		}
		by, user := "", ""
		if a, ok := backupBy[b.ID]; ok {
			by, user = actorOf(a), a.User
		} else if b.Kind == core.KindScheduled {
			by = "scheduler"
		}
		r := jobRow{key: "b" + strconv.FormatInt(b.ID, 10), at: b.StartedAt, service: b.Service, job: job,
			on: b.Destination, by: by, user: user, running: running, failed: b.Status == core.StatusFailed, status: statusMark(b),
			backupID: b.ID, backup: b, phase: b.Phase, bytes: b.Bytes, size: b.Size, error: b.Error,
			what: fmt.Sprintf("%s %d of %s → %s", job, b.ID, b.Service, b.Destination)}
		if b.FinishedAt != nil && !r.failed {
			r.detail = fmt.Sprintf("%s, %s, took %s", b.Kind, size(b.Size), took(b.Duration()))
		}
		rows = append(rows, r)
	}
	for _, d := range drills {
		r := jobRow{key: "d" + strconv.FormatInt(d.ID, 10), at: d.StartedAt, service: d.Service, job: "drill",
			running: d.Status == core.DrillRunning, failed: d.Status == core.DrillFailed, error: d.Error,
			what: fmt.Sprintf("drill %d of %s", d.ID, d.Service)}
		switch d.Status {
		case core.DrillOK:
			r.status = "✓ passed"
		case core.DrillFailed:
			r.status = "✗ failed"
		default:
			r.status = "◐ " + string(d.Status)
		}
		if d.BackupID != 0 {
			r.on = fmt.Sprintf("backup %d on %s", d.BackupID, d.Destination)
			r.what += ", " + r.on
		}
		if r.error == "" && len(d.Details.Problems) > 0 {
			r.error = strings.Join(d.Details.Problems, "\n")
		}
		if d.Status == core.DrillOK {
			r.detail = fmt.Sprintf("%d files in the filestore, %d key tables checked", d.Details.FilestoreFiles, len(d.Details.Tables))
		}
		if i := drillEntry(d, ops, used); i >= 0 {
			used[ops[i].ID] = true
			r.by, r.user = actorOf(ops[i]), ops[i].User
		}
		rows = append(rows, r)
	}
	for _, a := range ops {
		if !jobActions[a.Action] || used[a.ID] {
			continue
		}
		r := jobRow{key: "a" + strconv.FormatInt(a.ID, 10), at: a.At, service: a.Service, job: a.Action, on: a.Target,
			by: actorOf(a), user: a.User, failed: a.Outcome == core.AuditFailed, status: "✓ succeeded", detail: a.Detail, error: a.Error,
			what: a.Action + " " + a.Target}
		if r.failed {
			r.status = "✗ failed"
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].running != rows[j].running {
			return rows[i].running
		}
		if !rows[i].at.Equal(rows[j].at) {
			return rows[i].at.After(rows[j].at)
		}
		return rows[i].key > rows[j].key
	})
	return rows
}

// drillEntry is the index in ops of the audit entry of finished drill d:
// the drill entry of its service written when it ended (the closest to its
// end), or -1.
func drillEntry(d core.Drill, ops []core.AuditEntry, used map[int64]bool) int {
	if d.FinishedAt == nil {
		return -1
	}
	best, bestGap := -1, time.Duration(0)
	for i, a := range ops {
		if a.Action != core.ActionDrill || a.Service != d.Service || used[a.ID] ||
			a.At.Before(d.StartedAt.Add(-time.Second)) || a.At.After(d.FinishedAt.Add(time.Minute)) {
			continue
		}
		gap := a.At.Sub(*d.FinishedAt)
		if gap < 0 {
			gap = -gap
		}
		if best < 0 || gap < bestGap {
			best, bestGap = i, gap
		}
	}
	return best
}
