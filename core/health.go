package core

import (
	"context"
	"fmt"
	"time"
)

// Health states of a configuration, from best to worst.
const (
	HealthOK      = "ok"
	HealthRunning = "running"
	// HealthWarning: backing up works, but the newest backup lacks
	// attachment files the filestore had lost, or holds files whose content
	// does not match their name (BackupWarning). Not a failure: status
	// exits 0.
	HealthWarning = "warning"
	HealthManual  = "manual"
	HealthStalled = "stalled"
	HealthStale   = "stale"
	HealthFailed  = "failed"
)

// StallAfter is how long a running backup may make no progress (no byte
// written, no phase changed) before status and the console call it
// stalled. Object stores fail a frozen endpoint on their own within a bound
// of the same order (s3.DefaultStallTimeout); this only makes the wait
// visible while it lasts.
const StallAfter = 30 * time.Second

// LastProgress is when a running backup last moved: its last progress,
// else its last sign of life, else its start.
func (b Backup) LastProgress() time.Time {
	switch {
	case !b.ProgressAt.IsZero():
		return b.ProgressAt
	case !b.UpdatedAt.IsZero():
		return b.UpdatedAt
	}
	return b.StartedAt
}

// Stalled reports whether b is running and has made no progress for
// StallAfter at now, and for how long.
func (b Backup) Stalled(now time.Time) (time.Duration, bool) {
	if b.Status != StatusRunning || b.Phase == PhaseHook {
		return 0, false
	}
	d := now.Sub(b.LastProgress())
	return d, d > StallAfter
}

// ConfigHealth is how one configuration is doing.
type ConfigHealth struct {
	Service     string     `json:"service"`
	Destination string     `json:"destination"`
	Frequency   string     `json:"frequency"`
	Schedule    string     `json:"schedule"`
	Primary     bool       `json:"primary"`
	State       string     `json:"state"`
	Reason      string     `json:"reason,omitempty"`
	LastSuccess *time.Time `json:"last_success"`
	NextRun     *time.Time `json:"next_run"`
	LastBackup  *Backup    `json:"last_backup,omitempty"`
	// Running is the newest running backup (the stalled one when a backup
	// is stalled), if any.
	Running *Backup `json:"running,omitempty"`
}

// Unhealthy reports whether a monitoring check should fail on this state.
func (h ConfigHealth) Unhealthy() bool {
	return h.State == HealthFailed || h.State == HealthStale || h.State == HealthStalled
}

// EvaluateHealth judges a configuration from the backups of its service on
// its destination (newest first). Every backup there counts, whatever its
// kind (scheduled, manual, safety, upload, copy): any success is a recovery
// point, and only rotation is limited to scheduled backups (SPEC rule 11).
// It is failed when the last finished backup failed, stalled while a
// running one has made no progress for StallAfter, stale when a scheduled
// configuration has had no success within twice its period, and never
// calls time.Now.
func EvaluateHealth(c Configuration, backups []Backup, now time.Time) ConfigHealth {
	h := ConfigHealth{Service: c.Service, Destination: c.Destination, Frequency: c.Frequency.String(),
		Schedule: c.Schedule.Describe(c.Frequency), Primary: c.Primary}
	if next, ok := NextRun(c.Frequency, c.Schedule, now); ok {
		h.NextRun = &next
	}
	var lastFinished *Backup
	running := false
	var stalled time.Duration
	for i := range backups {
		b := &backups[i]
		if b.Service != c.Service || b.Destination != c.Destination {
			continue
		}
		switch b.Status {
		case StatusRunning:
			running = true
			if h.Running == nil {
				h.Running = b
			}
			if d, ok := b.Stalled(now); ok && d > stalled {
				stalled, h.Running = d, b
			}
			continue
		case StatusDeleted:
			continue
		}
		if lastFinished == nil {
			lastFinished = b
			h.LastBackup = b
		}
		if (b.Status == StatusSucceeded || b.Status == StatusRotated) && h.LastSuccess == nil {
			t := b.StartedAt
			if b.FinishedAt != nil {
				t = *b.FinishedAt
			}
			h.LastSuccess = &t
		}
	}
	switch {
	case lastFinished != nil && lastFinished.Status == StatusFailed:
		h.State, h.Reason = HealthFailed, lastFinished.Error
	case stalled > 0:
		h.State, h.Reason = HealthStalled, fmt.Sprintf("a running backup has made no progress for %s", stalled.Round(time.Second))
	case running:
		h.State = HealthRunning
	case c.Frequency == Manual:
		h.State = HealthManual
	case h.LastSuccess == nil:
		h.State, h.Reason = HealthStale, "no successful backup yet"
	case now.Sub(*h.LastSuccess) > 2*c.Frequency.Period():
		h.State, h.Reason = HealthStale, "no successful backup within twice its period"
	default:
		h.State = HealthOK
	}
	if b := lastFinished; (h.State == HealthOK || h.State == HealthManual) && b != nil && b.Status == StatusSucceeded {
		if w := BackupWarning(*b); w != "" {
			h.State, h.Reason = HealthWarning, w
		} else if b.Anomaly != "" {
			h.State, h.Reason = HealthWarning, fmt.Sprintf("size anomaly in backup %d: %s", b.ID, b.Anomaly)
		} else if b.Warning != "" {
			h.State, h.Reason = HealthWarning, fmt.Sprintf("backup %d: %s", b.ID, b.Warning)
		}
	}
	return h
}

// LacksFiles says what a backup lacks, "" when nothing: the attachment files
// its database referred to that the filestore did not have.
func LacksFiles(b Backup) string {
	if b.MissingCount == 0 {
		return ""
	}
	s := fmt.Sprintf("backup %d lacks %d attachment file(s) missing from the filestore when it was taken", b.ID, b.MissingCount)
	if len(b.MissingFiles) > 0 {
		s += " (first: " + b.MissingFiles[0] + ")"
	}
	return s
}

// HealthNone is the state of a service without any configuration yet.
const HealthNone = "none"

// healthRank orders health states for a service's summary.
var healthRank = map[string]int{HealthOK: 0, HealthManual: 0, HealthRunning: 1, HealthWarning: 2, HealthStalled: 3, HealthStale: 3, HealthFailed: 4}

// ServiceHealth is how a service is doing: the worst of its configurations,
// and failed when its last finished restore drill failed.
type ServiceHealth struct {
	Service        Service
	State          string
	Configurations []ConfigHealth
	// LastDrill is the service's last finished restore drill, if any.
	LastDrill *Drill
	// Unhealthy is true when a monitoring check should fail on the service.
	Unhealthy bool
	// Recovery is the measured RPO and RTO against the service's targets:
	// a missed RPO target fails the service, a missed RTO target is a
	// warning.
	Recovery Recovery
	// Problems says what is wrong with the service as a whole (a missed
	// target), one sentence each; its configurations give their own
	// reasons.
	Problems []string
}

// HealthSource is what EvaluateService reads of the catalog.
type HealthSource interface {
	ConfigurationReader
	BackupHistory
	DrillHistory
}

// EvaluateService judges a service the way `odoo-backup status` and the
// console show it: each configuration by EvaluateHealth on its recent
// backups, then the last finished restore drill.
func EvaluateService(ctx context.Context, cat HealthSource, s Service, now time.Time) (ServiceHealth, error) {
	sh := ServiceHealth{Service: s, State: HealthNone, Configurations: []ConfigHealth{}}
	configs, err := cat.Configurations(ctx, s.Name)
	if err != nil {
		return sh, err
	}
	for _, c := range configs {
		f := BackupFilter{Service: s.Name, Destination: c.Destination, Limit: 50}
		backups, err := cat.Backups(ctx, f)
		if err != nil {
			return sh, err
		}
		h := EvaluateHealth(c, backups, now)
		if h.Unhealthy() {
			sh.Unhealthy = true
		}
		if sh.State == HealthNone || healthRank[h.State] > healthRank[sh.State] {
			sh.State = h.State
		}
		sh.Configurations = append(sh.Configurations, h)
	}
	if sh.State == HealthManual {
		sh.State = HealthOK
	}
	drills, err := cat.Drills(ctx, s.Name, 5)
	if err != nil {
		return sh, err
	}
	for _, d := range drills {
		if d.Status == DrillRunning {
			continue
		}
		sh.LastDrill = &d
		if d.Status == DrillFailed {
			sh.State = HealthFailed
			sh.Unhealthy = true
		}
		break
	}
	var lastRestore *RestoreRecord
	if rl, ok := cat.(RestoreLister); ok {
		restores, err := rl.Restores(ctx, s.Name, 5)
		if err != nil {
			return sh, err
		}
		for i := range restores {
			if restores[i].Status == RestoreSucceeded {
				lastRestore = &restores[i]
				break
			}
		}
	}
	sh.Recovery = MeasureRecovery(s, sh.Configurations, sh.LastDrill, lastRestore, now)
	if p := sh.Recovery.RPOProblem(); p != "" {
		sh.Problems = append(sh.Problems, p)
		sh.State, sh.Unhealthy = HealthFailed, true
	}
	if p := sh.Recovery.RTOProblem(); p != "" {
		sh.Problems = append(sh.Problems, p)
		if healthRank[sh.State] < healthRank[HealthWarning] {
			sh.State = HealthWarning
		}
	}
	return sh, nil
}

// LeaseTTL matches the scheduler's default: a holder silent for longer is gone.
const LeaseTTL = 30 * time.Second

// LeaseAlive reports whether the holder of l still runs: it heartbeat within
// LeaseTTL and, when it is on this host, its process exists.
func LeaseAlive(l Lease, now time.Time) bool {
	alive := now.Sub(l.Heartbeat) <= LeaseTTL
	if host := HostName(); l.Host == host {
		alive = alive && ProcessAlive(l.PID)
	}
	return alive
}
