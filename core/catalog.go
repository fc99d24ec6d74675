package core

import (
	"context"
	"time"
)

// BackupFilter selects backups; zero fields match everything.
type BackupFilter struct {
	Service     string
	Destination string
	Kind        BackupKind
	Status      BackupStatus
	// Limit caps the number returned (newest first); 0 means no cap.
	Limit int
	// BeforeID pages backwards: only backups with a smaller id.
	BeforeID int64
}

// Catalog remembers destinations, services, their configurations, templates
// and every backup. The console, the daemon and the command line may use the
// same catalog at the same time from different processes.
//
// The catalog itself enforces the rules of the product, whoever calls it:
//   - names are unique per kind and valid (ValidateName);
//   - a destination appears at most once per service (and per template);
//   - a service (or template) that has any configuration has exactly one
//     primary; the first configuration added becomes primary, setting
//     Primary on another moves the flag, and removing the primary's
//     configuration while others remain is refused with ErrInvalid;
//   - a destination or service still referenced cannot be removed.
//
// Lookups of unknown names or ids return errors wrapping ErrNotFound with a
// message that names what was looked for; duplicates wrap ErrExists; rule
// violations wrap ErrInvalid and say what to do instead.
//
// Catalog is the whole of it, as the store implements it and the command
// line wires it. A consumer takes only the roles it uses, the small
// interfaces below (Destinations, BackupHistory, Leases, ...), or declares
// its own from them, as the scheduler does.
type Catalog interface {
	Destinations
	Services
	Configurations
	Templates
	BackupLog
	Drills
	AuditTrail
	Leases
	ScheduleVersioner
	HostReader
	Close() error
}

// DestinationReader looks destinations up.
type DestinationReader interface {
	Destination(ctx context.Context, name string) (Destination, error)
	DestinationByID(ctx context.Context, id int64) (Destination, error)
	Destinations(ctx context.Context) ([]Destination, error)
}

// Destinations keeps the destinations.
type Destinations interface {
	DestinationReader
	// Add* set the ID, and CreatedAt unless given (a rebuild keeps it);
	// Update* find the row by ID, or by name when the ID is 0, and allow
	// renames, the backup history following the new name.
	AddDestination(ctx context.Context, d *Destination) error
	UpdateDestination(ctx context.Context, d Destination) error
	// RemoveDestination refuses (ErrInvalid) while a service or template has a
	// configuration on it, or while backups that are not rotated or deleted
	// are recorded on it unless forgetBackups is set, in which case those
	// backup rows are removed from the catalog (the objects are not touched).
	RemoveDestination(ctx context.Context, name string, forgetBackups bool) error
}

// ServiceReader looks services up.
type ServiceReader interface {
	Service(ctx context.Context, name string) (Service, error)
	ServiceByID(ctx context.Context, id int64) (Service, error)
	Services(ctx context.Context) ([]Service, error)
}

// Services keeps the services.
type Services interface {
	ServiceReader
	// AddService and UpdateService set and find the row as AddDestination
	// and UpdateDestination do.
	//
	// AddService creates the service and, if template is not empty, gives it
	// exactly that template's configurations, in one transaction. Adding a
	// (non-placeholder) service under the name of a placeholder made by a
	// catalog rebuild turns the placeholder into it, keeping its id.
	AddService(ctx context.Context, s *Service, template string) error
	UpdateService(ctx context.Context, s Service) error
	// RemoveService removes the service and its configurations; its backups
	// stay in the history.
	RemoveService(ctx context.Context, name string) error
}

// ConfigurationReader looks configurations up.
type ConfigurationReader interface {
	Configurations(ctx context.Context, service string) ([]Configuration, error)
	AllConfigurations(ctx context.Context) ([]Configuration, error)
	// Primary returns the primary configuration; a service without
	// configurations wraps ErrNotFound.
	Primary(ctx context.Context, service string) (Configuration, error)
}

// Configurations keeps which service is backed up to which destination,
// how often and for how long.
type Configurations interface {
	ConfigurationReader
	// SetConfiguration creates or updates the configuration of c.Service on
	// c.Destination (names; ids are filled in). Primary=true moves the flag
	// here; Primary=false leaves the flag where it is, so updating the primary
	// keeps it primary: the flag leaves a configuration only when another one
	// takes it. The first configuration of a service becomes primary.
	SetConfiguration(ctx context.Context, c Configuration) error
	RemoveConfiguration(ctx context.Context, service, destination string) error
}

// TemplateReader looks templates up.
type TemplateReader interface {
	Template(ctx context.Context, name string) (Template, error)
	Templates(ctx context.Context) ([]Template, error)
}

// Templates keeps the templates new services take their configurations
// from.
type Templates interface {
	TemplateReader
	AddTemplate(ctx context.Context, t *Template) error
	SetTemplateConfiguration(ctx context.Context, template string, c TemplateConfiguration) error
	RemoveTemplateConfiguration(ctx context.Context, template, destination string) error
	RemoveTemplate(ctx context.Context, name string) error
}

// BackupHistory looks recorded backups up.
type BackupHistory interface {
	Backup(ctx context.Context, id int64) (Backup, error)
	// Backups lists newest first, with Orphaned derived.
	Backups(ctx context.Context, f BackupFilter) ([]Backup, error)
}

// BackupLog records backups as they run and end.
type BackupLog interface {
	BackupHistory
	// CreateBackup records a new backup, its service and destination given by
	// id or name; an empty status means running and a zero StartedAt now.
	// It sets b.ID.
	CreateBackup(ctx context.Context, b *Backup) error
	// UpdateBackup stores every mutable field of b (status, size, sha256,
	// finished_at, error, key, versions, phase, bytes).
	UpdateBackup(ctx context.Context, b Backup) error
	// UpdateProgress stores the live phase and byte count of a running
	// backup; it sets the progress time itself (p.ProgressAt is ignored).
	UpdateProgress(ctx context.Context, id int64, p BackupProgress) error
}

// DrillHistory lists drills.
type DrillHistory interface {
	// Drills lists a service's drills (every service's when service is
	// empty), newest first, at most limit (0: no cap). A drill stays in the
	// history after its service is removed.
	Drills(ctx context.Context, service string, limit int) ([]Drill, error)
}

// Drills records drills as they run and end.
type Drills interface {
	DrillHistory
	// AddDrill records a drill (running unless Status is set) and sets its
	// ID; the service is given by id or name. UpdateDrill stores its status,
	// finished_at, details and error.
	AddDrill(ctx context.Context, d *Drill) error
	UpdateDrill(ctx context.Context, d Drill) error
}

// AuditTrail is the record of who changed what.
type AuditTrail interface {
	// AddAudit appends e to the audit trail and sets its ID; a zero At
	// means now, and an empty User the actor of ctx (ActorFrom). Changes to
	// destinations, services, configurations and templates are recorded by
	// the catalog itself, in the transaction that makes them, with the actor
	// of ctx; the engine records its operations with AddAudit. Audit lists
	// entries newest first.
	AddAudit(ctx context.Context, e *AuditEntry) error
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// LeaseReader says who holds a lease.
type LeaseReader interface {
	// CurrentLease returns the lease; nobody holding it wraps ErrNotFound.
	CurrentLease(ctx context.Context, name string) (Lease, error)
}

// Leases let one process at a time hold a named lease (the schedules, a
// restore of a service).
type Leases interface {
	LeaseReader
	// AcquireLease takes the lease l.Name for l's holder when nobody holds
	// it, when l's holder (same Holder, PID and Host) already does, or when
	// takeOver, called inside the transaction with the current lease, says
	// the current holder is gone. It returns the lease as it now stands and
	// whether l's holder has it. Two processes racing for it cannot both win.
	// takeOver runs while the catalog is locked for writing: it must not use
	// the catalog.
	AcquireLease(ctx context.Context, l Lease, takeOver func(current Lease) bool) (Lease, bool, error)
	// RenewLease moves the heartbeat of a lease l's holder has to
	// l.Heartbeat; it wraps ErrNotFound when the lease was taken over or is
	// held by nobody (the caller must acquire it again).
	RenewLease(ctx context.Context, l Lease) error
	// ReleaseLease gives the lease up if l's holder has it; otherwise it does
	// nothing.
	ReleaseLease(ctx context.Context, l Lease) error
}

// ScheduleVersioner tells a scheduler when to reload.
type ScheduleVersioner interface {
	// ScheduleVersion changes (from any process) whenever a service,
	// destination, configuration or template changes, so a running
	// scheduler can notice cheaply that it must reload.
	ScheduleVersion(ctx context.Context) (int64, error)
}

// Lease says who runs the schedules of a catalog: one process at a time.
type Lease struct {
	Name       string    `json:"name"`
	Holder     string    `json:"holder"` // "daemon" or "console"
	PID        int       `json:"pid"`
	Host       string    `json:"host"`
	AcquiredAt time.Time `json:"acquired_at"`
	Heartbeat  time.Time `json:"heartbeat"`
}

// SameHolder reports whether two leases name the same process.
func (l Lease) SameHolder(o Lease) bool {
	return l.Holder == o.Holder && l.PID == o.PID && l.Host == o.Host
}

// SchedulerLease is the name of the lease that guards the schedules.
const SchedulerLease = "scheduler"

// SchedulerHandoverLease is held by a daemon that waits for a console to
// hand the schedules over: a console's scheduler that sees it alive starts
// no new work, lets its running jobs end and releases SchedulerLease.
const SchedulerHandoverLease = "scheduler-handover"

// ConsoleHolder is the SchedulerLease holder name of a console's scheduler.
const ConsoleHolder = "console"

// Clock gives the time; tests pass a fixed or fake one.
type Clock func() time.Time
