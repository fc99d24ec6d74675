package core

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
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

// SchedulerHandoverLeaseName is the lease a daemon of host holds while it
// asks a console of the same host to hand that host's schedules over.
func SchedulerHandoverLeaseName(host string) string { return SchedulerHandoverLease + "@" + host }

// SchedulerLeaseHost returns the host whose scheduler lease name is, if it
// is one (SchedulerLeaseName).
func SchedulerLeaseHost(name string) (string, bool) {
	host, ok := strings.CutPrefix(name, SchedulerLease+"@")
	return host, ok && host != ""
}

// MaxHostName is the longest host name a service may belong to (a DNS
// name's limit).
const MaxHostName = 253

// ValidateHostName checks the name of a host a service belongs to: not
// empty, at most MaxHostName characters, no space nor unprintable character.
func ValidateHostName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return Userf(ErrInvalid, "the host name is empty; give the name of the machine that holds the service's filestore, such as odoo-1")
	case len(name) > MaxHostName:
		return Userf(ErrInvalid, "host name %.20q… is %d characters long; give a name of at most %d", name, len(name), MaxHostName)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return Userf(ErrInvalid, "host name %q holds a space or an unprintable character; give a name such as odoo-1", name)
		}
	}
	return nil
}

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
