package core

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"
)

// Actor is who asks for an operation: the operating-system user, and the
// address of the SSH client they came from when they came over SSH.
type Actor struct {
	User      string `json:"user"`
	SSHClient string `json:"ssh_client,omitempty"`
}

func (a Actor) String() string {
	if a.SSHClient != "" {
		return a.User + " from " + a.SSHClient
	}
	return a.User
}

// CurrentActor is the user this process runs as, and the SSH client of its
// session (from SSH_CONNECTION or SSH_CLIENT) if it has one.
func CurrentActor() Actor {
	var a Actor
	if u, err := user.Current(); err == nil && u.Username != "" {
		a.User = u.Username
	} else if name := os.Getenv("USER"); name != "" {
		a.User = name
	} else {
		a.User = "uid " + strconv.Itoa(os.Getuid())
	}
	// Both start with the client's address: "addr port" (+ "addr port" of
	// the server for SSH_CONNECTION).
	for _, v := range []string{"SSH_CONNECTION", "SSH_CLIENT"} {
		if f := strings.Fields(os.Getenv(v)); len(f) > 0 {
			a.SSHClient = f[0]
			break
		}
	}
	return a
}

type actorKey struct{}

// WithActor returns a context whose operations are recorded as done by a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom is the actor set by WithActor, or else the current process's.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return CurrentActor()
}

// AuditOutcome says whether an audited operation succeeded.
type AuditOutcome string

const (
	AuditOK     AuditOutcome = "ok"
	AuditFailed AuditOutcome = "failed"
)

// Audited actions: the engine's operations, and the configuration changes
// the catalog records itself.
const (
	ActionBackup   = "backup"
	ActionRestore  = "restore"
	ActionDownload = "download"
	ActionDelete   = "delete"
	ActionUpload   = "upload"
	ActionCopy     = "copy"
	ActionRotate   = "rotate"
	ActionDrill    = "drill"

	ActionDestinationAdd    = "destination add"
	ActionDestinationUpdate = "destination update"
	ActionDestinationRemove = "destination remove"
	ActionServiceAdd        = "service add"
	ActionServiceUpdate     = "service update"
	ActionServiceRemove     = "service remove"
	ActionConfigSet         = "config set"
	ActionConfigRemove      = "config remove"
	ActionPrimaryMove       = "primary move"
	ActionTemplateAdd       = "template add"
	ActionTemplateSet       = "template set"
	ActionTemplateUnset     = "template unset"
	ActionTemplateRemove    = "template remove"
	ActionHookSet           = "hook set"
	ActionHookRemove        = "hook remove"
)

// AuditEntry is one line of the audit trail: who did what to what, when,
// and how it went. Detail and Error never hold a secret.
type AuditEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	User      string    `json:"user"`
	SSHClient string    `json:"ssh_client,omitempty"`
	// DBUser is the database user of a PostgreSQL catalog that recorded
	// the entry, written by the server itself; "" on SQLite.
	DBUser string `json:"db_user,omitempty"`
	Action string `json:"action"`
	// Service is the service concerned, if any, for filtering.
	Service string       `json:"service,omitempty"`
	Target  string       `json:"target"`
	Detail  string       `json:"detail,omitempty"`
	Outcome AuditOutcome `json:"outcome"`
	Error   string       `json:"error,omitempty"`
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	Service string
	// Limit caps the number returned (newest first); 0 means no cap.
	Limit int
	// BeforeID pages backwards: only entries with a smaller id.
	BeforeID int64
}

// audit records one engine operation in the audit trail. A trail that
// cannot be written is logged: it must not turn a backup that worked into
// one reported as failed.
func (e *Engine) audit(ctx context.Context, a AuditEntry, err error) {
	if e.Catalog == nil {
		return
	}
	actor := ActorFrom(ctx)
	a.User, a.SSHClient = actor.User, actor.SSHClient
	a.At = e.now().UTC()
	a.Outcome = AuditOK
	if err != nil {
		a.Outcome, a.Error = AuditFailed, describe(ctx, err)
	}
	if rerr := e.Catalog.AddAudit(context.WithoutCancel(ctx), &a); rerr != nil {
		e.log().Warn("could not record in the audit trail", "action", a.Action, "target", a.Target, "error", rerr)
	}
}

// The audit* functions describe each engine operation for the trail.

func auditBackup(req BackupRequest, out []Backup) AuditEntry {
	kind := req.Kind
	if kind == "" {
		kind = KindManual
	}
	a := AuditEntry{Action: ActionBackup, Service: req.Service, Target: req.Service}
	var parts []string
	for _, b := range out {
		parts = append(parts, fmt.Sprintf("backup %d on %s", b.ID, b.Destination))
	}
	switch {
	case len(parts) > 0:
		a.Detail = string(kind) + ": " + strings.Join(parts, ", ")
	case len(req.Destinations) > 0:
		a.Detail = string(kind) + " to " + strings.Join(req.Destinations, ", ")
	default:
		a.Detail = string(kind) + " to the primary destination"
	}
	return a
}

func (e *Engine) auditBackupID(ctx context.Context, action string, id int64, detail string) AuditEntry {
	a := AuditEntry{Action: action, Target: fmt.Sprintf("backup %d", id), Detail: detail}
	if b, err := e.Catalog.Backup(context.WithoutCancel(ctx), id); err == nil {
		a.Service = b.Service
		a.Target = fmt.Sprintf("backup %d of %s on %s", id, b.Service, b.Destination)
	}
	return a
}

func (e *Engine) auditRestoreNewDB(ctx context.Context, req RestoreRequest, res RestoreResult) AuditEntry {
	a := e.auditBackupID(ctx, ActionRestore, req.BackupID, "into new database "+req.NewDB)
	if req.Only != RestoreAll {
		a.Detail += ", " + req.Only.describe()
	}
	if req.Neutralize {
		a.Detail += ", neutralized"
	}
	return a
}

func (e *Engine) auditRestoreToService(ctx context.Context, req ServiceRestoreRequest, res RestoreResult) AuditEntry {
	a := e.auditBackupID(ctx, ActionRestore, req.BackupID, "onto service "+req.Service)
	// The target's data is what a restore replaces: file it under the target.
	a.Service = req.Service
	if req.Only != RestoreAll {
		a.Detail += ", " + req.Only.describe()
	}
	if res.SafetyBackupID != 0 {
		a.Detail += fmt.Sprintf(", safety backup %d", res.SafetyBackupID)
	}
	if req.Neutralize {
		a.Detail += ", neutralized"
	}
	return a
}

func (e *Engine) auditDelete(ctx context.Context, id int64, force bool) AuditEntry {
	detail := ""
	if force {
		detail = "forced"
	}
	return e.auditBackupID(ctx, ActionDelete, id, detail)
}

func auditUpload(req UploadRequest, b Backup) AuditEntry {
	a := AuditEntry{Action: ActionUpload, Service: req.Service, Target: req.Service, Detail: "file " + req.Path}
	if b.ID != 0 {
		a.Detail += fmt.Sprintf(" as backup %d on %s", b.ID, b.Destination)
	}
	return a
}

func (e *Engine) auditCopyBackup(ctx context.Context, id int64, to string, res CopyResult) AuditEntry {
	detail := "to " + to
	if res.Backup.ID != 0 {
		detail += fmt.Sprintf(" as backup %d", res.Backup.ID)
	}
	return e.auditBackupID(ctx, ActionCopy, id, detail)
}

func auditCopyService(req CopyServiceRequest, res CopyServiceResult) AuditEntry {
	a := AuditEntry{Action: ActionCopy, Service: req.Source, Target: "service " + req.Source,
		Detail: fmt.Sprintf("to new service %s, database %s", req.NewName, req.NewDB)}
	if res.Backup.ID != 0 {
		a.Detail += fmt.Sprintf(", from backup %d", res.Backup.ID)
	}
	return a
}

// auditRotate records rotations that removed something or failed: a
// rotation that keeps everything changes nothing, and runs after every
// scheduled backup.
func (e *Engine) auditRotate(ctx context.Context, service, destination string, dryRun bool, decisions []RetentionDecision, err error) {
	if dryRun {
		return
	}
	var removed []string
	for _, d := range decisions {
		if !d.Keep {
			removed = append(removed, strconv.FormatInt(d.Backup.ID, 10))
		}
	}
	if len(removed) == 0 && err == nil {
		return
	}
	a := AuditEntry{Action: ActionRotate, Service: service, Target: service + " on " + destination}
	if len(removed) > 0 {
		a.Detail = "backups " + strings.Join(removed, ", ")
	}
	for _, d := range decisions {
		if d.LockedUntil != nil {
			a.Detail = strings.TrimPrefix(a.Detail+"; ", "; ") + fmt.Sprintf("backup %d kept: locked until %s", d.Backup.ID, d.LockedUntil.UTC().Format(time.RFC3339))
		}
	}
	e.audit(ctx, a, err)
}

func auditDrill(req DrillRequest, res DrillResult) AuditEntry {
	a := AuditEntry{Action: ActionDrill, Service: req.Service, Target: req.Service}
	if res.Drill.BackupID != 0 {
		a.Detail = fmt.Sprintf("backup %d on %s", res.Drill.BackupID, res.Drill.Destination)
	}
	return a
}
