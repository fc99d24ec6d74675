package core

import "time"

// Health states of a configuration, from best to worst.
const (
	HealthOK      = "ok"
	HealthRunning = "running"
	HealthManual  = "manual"
	HealthStale   = "stale"
	HealthFailed  = "failed"
)

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
}

// Unhealthy reports whether a monitoring check should fail on this state.
func (h ConfigHealth) Unhealthy() bool { return h.State == HealthFailed || h.State == HealthStale }

// EvaluateHealth judges a configuration from the backups of its service on
// its destination (newest first). A scheduled configuration counts its
// scheduled backups; a manual-only one any backup. It is failed when its
// last finished run failed, stale when it has had no success within twice
// its period, and never calls time.Now.
func EvaluateHealth(c Configuration, backups []Backup, now time.Time) ConfigHealth {
	h := ConfigHealth{Service: c.Service, Destination: c.Destination, Frequency: c.Frequency.String(),
		Schedule: c.Schedule.Describe(c.Frequency), Primary: c.Primary}
	if next, ok := NextRun(c.Frequency, c.Schedule, now); ok {
		h.NextRun = &next
	}
	var lastFinished *Backup
	running := false
	for i := range backups {
		b := &backups[i]
		if b.Service != c.Service || b.Destination != c.Destination {
			continue
		}
		if c.Frequency != Manual && b.Kind != KindScheduled {
			continue
		}
		switch b.Status {
		case StatusRunning:
			running = true
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
	return h
}
