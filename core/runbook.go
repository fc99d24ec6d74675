package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Runbook is what the catalog knows now of one service that a person needs
// to bring it back on the worst day: where each copy is and how it is
// encrypted, the measured recovery point and time, the last drill, who may
// restore, and the newest good backup on each destination. It never holds
// a secret: where a secret is needed it says where the secret comes from
// (SecretSource). The front ends render it, with the commands that bring
// the service back.
type Runbook struct {
	// Service is the service, its database password taken out (see
	// PGPassword).
	Service    Service      `json:"service"`
	Host       string       `json:"host"`
	PGPassword SecretSource `json:"pg_password"`
	// DatabaseOwner is the role that owns the service's database, asked of
	// its server when the runbook is written (a restore into a new
	// database on a fresh host gives it back that owner); "" when it could
	// not be asked, and OwnerErr says why.
	DatabaseOwner string    `json:"database_owner,omitempty"`
	OwnerErr      string    `json:"database_owner_error,omitempty"`
	WrittenAt     time.Time `json:"written_at"`
	// Newest is the newest good backup of the service anywhere; its
	// versions are the service's Odoo and PostgreSQL versions as last
	// seen. Nil when there is none.
	Newest *Backup `json:"newest,omitempty"`
	// Copies are the service's configurations, the primary first.
	Copies   []RunbookCopy `json:"copies"`
	State    string        `json:"state"`
	Problems []string      `json:"problems,omitempty"`
	Recovery Recovery      `json:"recovery"`
	// LastDrill is the last finished restore drill, nil when none ran.
	LastDrill *Drill `json:"last_drill,omitempty"`
	// SharedCatalog: the catalog is kept in PostgreSQL, shared by a fleet,
	// and its sealed secrets need the fleet's key on a new host.
	SharedCatalog bool `json:"shared_catalog"`
	// Restorers are the database users who may restore (the admins and the
	// catalog's owner) on a shared catalog; RestorersErr says why they
	// could not be listed. Both empty on an SQLite catalog, where whoever
	// can read the catalog file may.
	Restorers    []RoleMember `json:"restorers,omitempty"`
	RestorersErr string       `json:"restorers_error,omitempty"`
	// Hooks are the service's hooks: files that must be on its host again
	// before its backups and restores run as they did.
	Hooks []Hook `json:"hooks,omitempty"`
}

// RunbookCopy is one configuration of the service: its destination's
// settings (no secret), its schedule and retention, and the newest good
// backup there.
type RunbookCopy struct {
	Configuration Configuration `json:"configuration"`
	// Destination's secrets are taken out: SecretKey and Passphrase say
	// where they come from.
	Destination Destination  `json:"destination"`
	SecretKey   SecretSource `json:"secret_key"`
	Passphrase  SecretSource `json:"passphrase"`
	Health      ConfigHealth `json:"health"`
	// Newest is the newest good backup of the service on this destination,
	// nil when there is none.
	Newest *Backup `json:"newest,omitempty"`
}

// SecretSource says where a secret comes from, never its value: Ref is the
// reference ("env:VARIABLE" or "file:/path") read each time it is used;
// Stored says the value is sealed in the catalog; neither means there is
// no such secret.
type SecretSource struct {
	Ref    string `json:"ref,omitempty"`
	Stored bool   `json:"stored,omitempty"`
}

// IsSet reports whether there is a secret at all.
func (s SecretSource) IsSet() bool { return s.Ref != "" || s.Stored }

// sourceOf says where s comes from. An unreadable stored value was stored
// all the same.
func sourceOf(s Secret) SecretSource {
	if ref := s.Ref(); ref != "" {
		return SecretSource{Ref: ref}
	}
	return SecretSource{Stored: s.IsSet()}
}

// RunbookSource is what GatherRunbook reads of the catalog. A catalog that
// also says whether it is kept in PostgreSQL (Postgres) and lists its
// roles (Roles) lets the runbook name who may restore.
type RunbookSource interface {
	HealthSource
	ServiceReader
	DestinationReader
}

// roleCatalog is the optional part of a RunbookSource on a shared catalog.
type roleCatalog interface {
	Postgres() bool
	Roles(ctx context.Context) ([]RoleMember, error)
}

// GatherRunbook gathers the runbook of service name from cat at now.
func GatherRunbook(ctx context.Context, cat RunbookSource, name string, now time.Time) (Runbook, error) {
	svc, err := cat.Service(ctx, name)
	if err != nil {
		return Runbook{}, err
	}
	rb := Runbook{Host: ServiceHost(svc), PGPassword: sourceOf(svc.DB.Password), WrittenAt: now, Copies: []RunbookCopy{}}
	if !svc.Placeholder {
		rb.DatabaseOwner, rb.OwnerErr = askOwner(ctx, svc)
	}
	svc.DB.Password = ""
	rb.Service = svc
	health, err := EvaluateService(ctx, cat, svc, now)
	if err != nil {
		return rb, err
	}
	rb.State, rb.Problems, rb.Recovery, rb.LastDrill = health.State, health.Problems, health.Recovery, health.LastDrill
	configs, err := cat.Configurations(ctx, name)
	if err != nil {
		return rb, err
	}
	for _, c := range configs {
		d, err := cat.Destination(ctx, c.Destination)
		if err != nil {
			return rb, err
		}
		cp := RunbookCopy{Configuration: c, SecretKey: sourceOf(d.S3.SecretKey), Passphrase: sourceOf(d.Encrypt.Passphrase)}
		cp.Configuration.PingURL = ""
		d.S3.SecretKey, d.Encrypt.Passphrase = "", ""
		cp.Destination = d
		for _, h := range health.Configurations {
			if h.Destination == c.Destination {
				cp.Health = h
			}
		}
		if cp.Newest, err = newestGood(ctx, cat, name, c.Destination); err != nil {
			return rb, err
		}
		if b := cp.Newest; b != nil && (rb.Newest == nil || goodAt(*b).After(goodAt(*rb.Newest))) {
			rb.Newest = b
		}
		if c.Primary {
			rb.Copies = append([]RunbookCopy{cp}, rb.Copies...)
		} else {
			rb.Copies = append(rb.Copies, cp)
		}
	}
	if hc, ok := cat.(HookCatalog); ok {
		if rb.Hooks, err = hc.ServiceHooks(ctx, name); err != nil {
			return rb, err
		}
	}
	if rc, ok := cat.(roleCatalog); ok && rc.Postgres() {
		rb.SharedCatalog = true
		members, err := rc.Roles(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return rb, err
			}
			rb.RestorersErr = message(err)
		}
		for _, m := range members {
			if m.Role.Allows(RoleAdmin) {
				rb.Restorers = append(rb.Restorers, m)
			}
		}
	}
	return rb, nil
}

// ownerTimeout bounds the question to the service's server: a server that
// does not answer leaves the owner unknown, not the runbook unwritten.
const ownerTimeout = 10 * time.Second

// askOwner asks svc's server which role owns its database: the owner, or
// why it is unknown.
func askOwner(ctx context.Context, svc Service) (string, string) {
	server := svc.DB
	server.Database = maintenanceDB
	octx, cancel := context.WithTimeout(ctx, ownerTimeout)
	defer cancel()
	owner, err := databaseOwner(octx, server, svc.DB.Database)
	switch {
	case err != nil:
		return "", message(err)
	case owner == "":
		return "", fmt.Sprintf("database %s does not exist on %s", svc.DB.Database, svc.DB.Address())
	}
	return owner, ""
}

// newestGood is the newest succeeded backup of service on destination,
// nil when there is none. Rotated and deleted backups are gone; a running
// or failed one is no copy.
func newestGood(ctx context.Context, cat BackupHistory, service, destination string) (*Backup, error) {
	bs, err := cat.Backups(ctx, BackupFilter{Service: service, Destination: destination, Status: StatusSucceeded, Limit: 1})
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	return &bs[0], nil
}

// goodAt is when a finished backup's data was taken: its end, else its
// start.
func goodAt(b Backup) time.Time {
	if b.FinishedAt != nil {
		return *b.FinishedAt
	}
	return b.StartedAt
}
