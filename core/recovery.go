package core

import (
	"context"
	"fmt"
	"time"
)

// RPOPoint is the recovery point of a service on one destination (or
// overall): the newest good backup there and its age.
type RPOPoint struct {
	Destination string    `json:"destination,omitempty"`
	At          time.Time `json:"at"`
	Seconds     int64     `json:"seconds"`
}

// Age is how old the recovery point is.
func (p RPOPoint) Age() time.Duration { return time.Duration(p.Seconds) * time.Second }

// RTOPoint is the last measured restore time of a service: its last
// drill's restore or its last real restore, whichever is newer.
type RTOPoint struct {
	Seconds float64 `json:"seconds"`
	// At is when it was measured (the drill's or restore's end).
	At time.Time `json:"at"`
	// Source is "drill" or "restore"; ID is the drill's or restore's id.
	Source   string `json:"source"`
	ID       int64  `json:"id"`
	BackupID int64  `json:"backup_id"`
}

// Duration is the measured restore time.
func (p RTOPoint) Duration() time.Duration { return time.Duration(p.Seconds * float64(time.Second)) }

// Recovery is a service's measured RPO and RTO against its targets.
type Recovery struct {
	// RPO is the youngest recovery point over every destination; nil when
	// the service has no good backup anywhere.
	RPO *RPOPoint `json:"rpo"`
	// Destinations is the recovery point on each destination that has one.
	Destinations     []RPOPoint `json:"rpo_by_destination"`
	RPOTargetSeconds int64      `json:"rpo_target_seconds,omitempty"`
	// RPOMissed: a target is set and the newest good backup is older (or
	// there is none).
	RPOMissed bool `json:"rpo_missed,omitempty"`
	// RTO is the last measured restore time; nil when never measured.
	RTO              *RTOPoint `json:"rto"`
	RTOTargetSeconds int64     `json:"rto_target_seconds,omitempty"`
	// RTOMissed: a target is set and the last measured restore took
	// longer. Never measured is no miss: a drill measures it.
	RTOMissed bool `json:"rto_missed,omitempty"`
}

// RPOProblem and RTOProblem say, in one sentence, how a target is missed;
// "" when it is not.
func (r Recovery) RPOProblem() string {
	if !r.RPOMissed {
		return ""
	}
	target := FormatTarget(time.Duration(r.RPOTargetSeconds) * time.Second)
	if r.RPO == nil {
		return fmt.Sprintf("RPO target %s missed: no good backup yet", target)
	}
	age := r.RPO.Age()
	if age >= time.Hour {
		age = age.Round(time.Minute)
	}
	return fmt.Sprintf("RPO target %s missed: the newest good backup is %s old", target, FormatTarget(age))
}

func (r Recovery) RTOProblem() string {
	if !r.RTOMissed {
		return ""
	}
	return fmt.Sprintf("RTO target %s missed: the last %s took %s to restore (%s)",
		FormatTarget(time.Duration(r.RTOTargetSeconds)*time.Second), r.RTO.Source, FormatTarget(r.RTO.Duration()), r.RTO.At.Local().Format("2006-01-02 15:04"))
}

// RestoreLister lists a service's restores, newest first (RestoreHistory's
// reading half).
type RestoreLister interface {
	Restores(ctx context.Context, service string, limit int) ([]RestoreRecord, error)
}

// MeasureRecovery works out a service's recovery from its judged
// configurations, its last finished drill and its last restore (nil when
// none), against the service's targets, at now.
func MeasureRecovery(s Service, configs []ConfigHealth, lastDrill *Drill, lastRestore *RestoreRecord, now time.Time) Recovery {
	r := Recovery{Destinations: []RPOPoint{}, RPOTargetSeconds: s.RPOTargetSeconds, RTOTargetSeconds: s.RTOTargetSeconds}
	for _, c := range configs {
		if c.LastSuccess == nil {
			continue
		}
		p := RPOPoint{Destination: c.Destination, At: *c.LastSuccess, Seconds: int64(max(now.Sub(*c.LastSuccess), 0) / time.Second)}
		r.Destinations = append(r.Destinations, p)
		if r.RPO == nil || p.At.After(r.RPO.At) {
			overall := p
			overall.Destination = ""
			r.RPO = &overall
		}
	}
	if lastDrill != nil && lastDrill.Status == DrillOK && lastDrill.Details.RestoreSeconds > 0 && lastDrill.FinishedAt != nil {
		r.RTO = &RTOPoint{Seconds: lastDrill.Details.RestoreSeconds, At: *lastDrill.FinishedAt, Source: "drill", ID: lastDrill.ID, BackupID: lastDrill.BackupID}
	}
	if rr := lastRestore; rr != nil && rr.Status == RestoreSucceeded && (r.RTO == nil || rr.FinishedAt.After(r.RTO.At)) {
		r.RTO = &RTOPoint{Seconds: rr.Duration().Seconds(), At: rr.FinishedAt, Source: "restore", ID: rr.ID, BackupID: rr.BackupID}
	}
	if s.RPOTargetSeconds > 0 {
		r.RPOMissed = r.RPO == nil || r.RPO.Seconds > s.RPOTargetSeconds
	}
	if s.RTOTargetSeconds > 0 && r.RTO != nil {
		r.RTOMissed = r.RTO.Seconds > float64(s.RTOTargetSeconds)
	}
	return r
}
