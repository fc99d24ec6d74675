package core

import (
	"context"
	"strings"
	"time"
)

// HookEvent is when a service's hook runs.
type HookEvent string

const (
	HookPreBackup   HookEvent = "pre-backup"
	HookPostBackup  HookEvent = "post-backup"
	HookPreRestore  HookEvent = "pre-restore"
	HookPostRestore HookEvent = "post-restore"
)

// HookEvents are the events in the order a person reads them.
var HookEvents = []HookEvent{HookPreBackup, HookPostBackup, HookPreRestore, HookPostRestore}

// ParseHookEvent reads an event name.
func ParseHookEvent(s string) (HookEvent, error) {
	e := HookEvent(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range HookEvents {
		if e == known {
			return e, nil
		}
	}
	return "", Userf(ErrInvalid, "hook event %q is not one of pre-backup, post-backup, pre-restore or post-restore", s)
}

// DefaultHookTimeout is how long a hook may run when none is set.
const DefaultHookTimeout = 5 * time.Minute

// Hook is a command a service runs around its backups or restores, on the
// host that runs the job.
type Hook struct {
	Event HookEvent `json:"event"`
	// Command is the absolute path of an executable file on the host that
	// runs the job.
	Command string `json:"command"`
	// Timeout ends the hook (and fails it) when it runs longer.
	Timeout time.Duration `json:"timeout"`
}

// HookCatalog keeps the hooks of each service. Setting or removing one is
// audited in the same transaction.
type HookCatalog interface {
	// ServiceHooks lists the hooks of service, in HookEvents order; an
	// unknown service wraps ErrNotFound.
	ServiceHooks(ctx context.Context, service string) ([]Hook, error)
	// SetServiceHook sets (adds or replaces) the hook of h.Event.
	SetServiceHook(ctx context.Context, service string, h Hook) error
	// RemoveServiceHook removes the hook of event; a service without one
	// wraps ErrNotFound.
	RemoveServiceHook(ctx context.Context, service string, event HookEvent) error
}
