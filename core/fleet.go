package core

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// HostRecord is the life of one host's daemon as the catalog keeps it: the
// scheduler lease row goes when a daemon stops cleanly, this record stays,
// so "since when" outlives it. A host that never ran a daemon has none.
type HostRecord struct {
	// Name is the host.
	Name string `json:"name"`
	// Holder and PID are the daemon's, as in its lease.
	Holder string `json:"holder"`
	PID    int    `json:"pid"`
	// StartedAt is when it took the host's schedules, SeenAt its last
	// heartbeat, StoppedAt when it stopped cleanly (nil while it runs, or
	// after it died without stopping).
	StartedAt time.Time  `json:"started_at"`
	SeenAt    time.Time  `json:"seen_at"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
}

// HostReader reads the daemons' records.
type HostReader interface {
	// Hosts lists the record of every host that ever ran a daemon, by name.
	Hosts(ctx context.Context) ([]HostRecord, error)
}

// FleetSource is what LoadFleet reads of the catalog.
type FleetSource interface {
	LeaseReader
	HostReader
}

// States of a host's daemon.
const (
	// DaemonAlive: a live process (a daemon, or a console while no daemon
	// runs) holds the host's scheduler lease.
	DaemonAlive = "alive"
	// DaemonDead: a daemon ran on the host and fell silent without
	// stopping (killed, crashed, the machine went down): the host's
	// schedules run nowhere. Each scheduled configuration of the host's
	// services fails.
	DaemonDead = "dead"
	// DaemonStopped: the host's daemon was stopped on purpose and none
	// runs. Its schedules do not run either, but someone chose it (the host
	// may have moved to cron): a warning on each scheduled configuration,
	// and no failure until its backups go stale.
	DaemonStopped = "stopped"
	// DaemonNone: no daemon ever ran on the host (schedules run from cron
	// or an open console): health is judged by the backups alone.
	DaemonNone = "none"
)

// HostStatus is one host of the fleet: its services and its daemon.
type HostStatus struct {
	Name     string   `json:"name"`
	Services []string `json:"services"`
	// Daemon is DaemonAlive, DaemonDead, DaemonStopped or DaemonNone.
	Daemon string `json:"daemon"`
	// Holder and PID are the live scheduler's ("daemon" or "console")
	// while alive, the last daemon's otherwise.
	Holder string `json:"holder,omitempty"`
	PID    int    `json:"pid,omitempty"`
	// Since is when the live scheduler took the schedules, when a dead
	// daemon was last heard of, or when a stopped one stopped.
	Since *time.Time `json:"since,omitempty"`
	// Problem says what is wrong with a dead or stopped daemon.
	Problem string `json:"problem,omitempty"`
}

// Fleet is every host of a catalog: those its services belong to and those
// that ever ran a daemon, by name.
type Fleet struct {
	Hosts []HostStatus `json:"hosts"`
}

// LoadFleet judges the daemon of every host of services, and of every host
// that ever ran one: one read of the records, one lease read per host.
func LoadFleet(ctx context.Context, src FleetSource, services []Service, now time.Time) (Fleet, error) {
	records, err := src.Hosts(ctx)
	if err != nil {
		return Fleet{}, err
	}
	byName := map[string]*HostStatus{}
	host := func(name string) *HostStatus {
		if h, ok := byName[name]; ok {
			return h
		}
		h := &HostStatus{Name: name, Services: []string{}, Daemon: DaemonNone}
		byName[name] = h
		return h
	}
	for _, s := range services {
		h := host(ServiceHost(s))
		h.Services = append(h.Services, s.Name)
	}
	recs := map[string]HostRecord{}
	for _, r := range records {
		recs[r.Name] = r
		host(r.Name)
	}
	var f Fleet
	for name, h := range byName {
		l, alive, err := HostDaemon(ctx, src, name, now)
		if err != nil {
			return Fleet{}, err
		}
		r, ran := recs[name]
		switch {
		case alive:
			h.Daemon, h.Holder, h.PID = DaemonAlive, l.Holder, l.PID
			h.Since = timePtr(l.AcquiredAt)
		case !ran:
			h.Daemon = DaemonNone
		case r.StoppedAt != nil:
			h.Daemon, h.Holder, h.PID, h.Since = DaemonStopped, r.Holder, r.PID, timePtr(*r.StoppedAt)
			h.Problem = fmt.Sprintf("daemon on host %s stopped at %s", name, FleetTime(*r.StoppedAt, now))
		default:
			seen := r.SeenAt
			if l.Holder == r.Holder && l.PID == r.PID && l.Heartbeat.After(seen) {
				seen = l.Heartbeat
			}
			h.Daemon, h.Holder, h.PID, h.Since = DaemonDead, r.Holder, r.PID, timePtr(seen)
			h.Problem = fmt.Sprintf("no daemon on host %s since %s", name, FleetTime(seen, now))
		}
		f.Hosts = append(f.Hosts, *h)
	}
	sort.Slice(f.Hosts, func(i, j int) bool { return f.Hosts[i].Name < f.Hosts[j].Name })
	return f, nil
}

// Host returns the status of host name.
func (f Fleet) Host(name string) (HostStatus, bool) {
	for _, h := range f.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return HostStatus{}, false
}

// Alive counts the hosts whose daemon is alive, and those whose daemon is
// dead or stopped.
func (f Fleet) Alive() (alive, down int) {
	for _, h := range f.Hosts {
		switch h.Daemon {
		case DaemonAlive:
			alive++
		case DaemonDead, DaemonStopped:
			down++
		}
	}
	return alive, down
}

// Judge adds the state of sh's host's daemon to sh: with a dead daemon,
// every scheduled configuration fails with its sentence ("no daemon on host
// b since 14:02"), since its schedules run nowhere; with a stopped one, each
// that is ok gets a warning. Manual-only configurations are not concerned.
func (f Fleet) Judge(sh *ServiceHealth) {
	h, ok := f.Host(ServiceHost(sh.Service))
	if !ok || (h.Daemon != DaemonDead && h.Daemon != DaemonStopped) {
		return
	}
	for i := range sh.Configurations {
		c := &sh.Configurations[i]
		if c.Frequency == Manual.String() {
			continue
		}
		switch {
		case h.Daemon == DaemonStopped:
			if c.State == HealthOK {
				c.State, c.Reason = HealthWarning, h.Problem+"; its schedules do not run"
			}
		case c.State == HealthFailed && c.Reason != "":
			c.Reason = h.Problem + "; " + c.Reason
		default:
			c.State, c.Reason = HealthFailed, h.Problem
		}
		if c.Unhealthy() {
			sh.Unhealthy = true
		}
		if healthRank[c.State] > healthRank[sh.State] || sh.State == HealthNone {
			sh.State = c.State
		}
	}
}

// FleetTime is when something happened to a host, in local time: the time
// of day when it was today, else the date too.
func FleetTime(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}

func timePtr(t time.Time) *time.Time { return &t }
