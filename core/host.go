package core

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"
)

var hostName struct {
	sync.Mutex
	name string
}

// HostName is this process's host in the fleet: the name SetHostName gave
// (the --host-name flag or ODOO_BACKUP_HOST), else the machine's name. Services
// belong to a host, leases and backups record it, and a process cleans up
// after the crashed work of its own host only.
func HostName() string {
	hostName.Lock()
	defer hostName.Unlock()
	if hostName.name == "" {
		hostName.name, _ = os.Hostname()
	}
	return hostName.name
}

// SetHostName names this process's host; "" goes back to the machine's
// name. Call it before any work starts.
func SetHostName(name string) {
	hostName.Lock()
	defer hostName.Unlock()
	hostName.name = name
}

// SchedulerLeaseName is the lease that lets one daemon (or console) of host
// run that host's schedules; daemons of other hosts hold their own.
func SchedulerLeaseName(host string) string { return SchedulerLease + "@" + host }

// HostDaemon tells whether host has a live scheduler (a daemon, or a
// console running the schedules): the holder of its scheduler lease, alive
// by LeaseAlive. Work requested for a service of another host goes to it.
func HostDaemon(ctx context.Context, leases LeaseReader, host string, now time.Time) (Lease, bool, error) {
	l, err := leases.CurrentLease(ctx, SchedulerLeaseName(host))
	if errors.Is(err, ErrNotFound) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, err
	}
	return l, LeaseAlive(l, now), nil
}
