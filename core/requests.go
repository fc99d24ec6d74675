package core

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Work on a service is done by the host that holds its data (ServiceHost).
// Asked for on another host, a backup, restore, upload-and-restore, drill or
// service copy becomes a Request in the catalog: the daemon of the
// service's host claims it, runs it with the same use cases, writes its
// progress into it and ends it; the host that asked follows it and may
// cancel it. A request is never run twice: one whose claimer died ends
// failed as interrupted, and only a person asks again.

// RequestKind is the work a request asks for.
type RequestKind string

const (
	RequestBackup        RequestKind = "backup"
	RequestRestore       RequestKind = "restore"
	RequestUploadRestore RequestKind = "upload_restore"
	RequestDrill         RequestKind = "drill"
	RequestServiceCopy   RequestKind = "service_copy"
)

// RequestStatus is where a request stands. Pending waits for its host's
// daemon; running is claimed; the other three are final.
type RequestStatus string

const (
	RequestPending   RequestStatus = "pending"
	RequestRunning   RequestStatus = "running"
	RequestSucceeded RequestStatus = "succeeded"
	RequestFailed    RequestStatus = "failed"
	RequestCancelled RequestStatus = "cancelled"
)

// Final reports whether a request in status s has ended.
func (s RequestStatus) Final() bool {
	return s == RequestSucceeded || s == RequestFailed || s == RequestCancelled
}

// RequestParams is what the requester asked for, as the use case's request
// holds it (the fields a kind does not use stay empty). Confirmed is the
// confirmation the person gave (--yes, the typed name): a restore onto a
// service without it is refused by the host that runs it too.
type RequestParams struct {
	Destinations []string `json:"destinations,omitempty"`
	Destination  string   `json:"destination,omitempty"`
	BackupID     int64    `json:"backup_id,omitempty"`
	// Target is the service a restore replaces; "" with NewDB restores into
	// a new database.
	Target       string `json:"target,omitempty"`
	NewDB        string `json:"new_db,omitempty"`
	NewName      string `json:"new_name,omitempty"`
	FilestoreDir string `json:"filestore_dir,omitempty"`
	Owner        string `json:"owner,omitempty"`
	Neutralize   bool   `json:"neutralize,omitempty"`
	AcceptErrors bool   `json:"accept_errors,omitempty"`
	Confirmed    bool   `json:"confirmed,omitempty"`
	// Only is the part of the backup a restore puts back ("" all of it).
	Only RestorePart `json:"only,omitempty"`
}

// Claimer names the process that runs a request, as a lease names its
// holder.
type Claimer struct {
	Holder string `json:"holder"`
	PID    int    `json:"pid"`
	Host   string `json:"host"`
}

// RequestProgress is the live state of a running request, as the claimer
// last wrote it.
type RequestProgress struct {
	Phase     Phase   `json:"phase,omitempty"`
	Bytes     int64   `json:"bytes,omitempty"`
	Total     int64   `json:"total,omitempty"`
	BackupIDs []int64 `json:"backup_ids,omitempty"`
}

// Request is one piece of work asked of a host's daemon.
type Request struct {
	ID      int64         `json:"id"`
	Kind    RequestKind   `json:"kind"`
	Host    string        `json:"host"`
	Service string        `json:"service"`
	Params  RequestParams `json:"params"`
	Status  RequestStatus `json:"status"`
	// RequestedBy is the person (OS user, SSH client) and RequestedHost
	// the host that asked.
	RequestedBy     string          `json:"requested_by"`
	RequestedHost   string          `json:"requested_host"`
	RequestedAt     time.Time       `json:"requested_at"`
	ClaimedBy       *Claimer        `json:"claimed_by,omitempty"`
	ClaimedAt       *time.Time      `json:"claimed_at,omitempty"`
	Heartbeat       time.Time       `json:"heartbeat"`
	CancelRequested bool            `json:"cancel_requested"`
	Progress        RequestProgress `json:"progress"`
	// Result is the use case's result as JSON: the backups of a backup,
	// the RestoreResult of a restore, the DrillResult of a drill, the
	// CopyServiceResult of a service copy. A failed backup may have one.
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
}

// RequestFilter selects requests; zero fields match everything.
type RequestFilter struct {
	Host   string
	Status RequestStatus
	// Limit caps the number returned (newest first); 0 means no cap.
	Limit int
}

// RequestReader reads requests.
type RequestReader interface {
	// Request returns one request; an unknown id wraps ErrNotFound.
	Request(ctx context.Context, id int64) (Request, error)
	// Requests lists requests newest first.
	Requests(ctx context.Context, f RequestFilter) ([]Request, error)
}

// RequestQueue keeps the requests. Every change is conditional on the
// status (and claimer) the caller saw, so a request is claimed once, ended
// once, and never goes back to pending.
type RequestQueue interface {
	RequestReader
	// SubmitRequest records r as pending (its heartbeat its submission time)
	// with the actor of ctx as RequestedBy and this host as RequestedHost,
	// audits it in the same transaction, wakes the daemons that wait
	// (WaitRequests) and sets r's ID, status and times.
	SubmitRequest(ctx context.Context, r *Request) error
	// ClaimRequest makes the oldest pending request of host, not asked to
	// be cancelled, running for c and returns it; ok is false when there is
	// none. Two claimers never get the same request.
	ClaimRequest(ctx context.Context, host string, c Claimer) (r Request, ok bool, err error)
	// ReportRequest stores p and moves the heartbeat of a request c runs,
	// and says whether someone asked to cancel it. A request that is no
	// longer running for c (marked interrupted meanwhile) wraps ErrNotFound:
	// the claimer must stop.
	ReportRequest(ctx context.Context, id int64, c Claimer, p RequestProgress) (cancel bool, err error)
	// CancelRequest asks to cancel a request: a pending one ends cancelled
	// at once, a running one gets the flag its claimer polls. It is audited,
	// wakes the claimer's host, and returns the request as it now stands;
	// one that already ended is returned unchanged.
	CancelRequest(ctx context.Context, id int64) (Request, error)
	// FinishRequest ends a request c runs with status (succeeded, failed or
	// cancelled), its result and error. A request no longer running for c
	// wraps ErrNotFound.
	FinishRequest(ctx context.Context, id int64, c Claimer, status RequestStatus, result json.RawMessage, errMsg string) error
	// AbandonRequest ends failed with errMsg a request still in status with
	// exactly the heartbeat seen: whoever saw it stale marks it, and a claimer
	// that came back to life meanwhile keeps it. ok says whether it did.
	AbandonRequest(ctx context.Context, id int64, status RequestStatus, heartbeat time.Time, errMsg string) (ok bool, err error)
	// WaitRequests returns when a request may have been submitted or asked
	// to be cancelled, or after at most max (or when ctx ends). On
	// PostgreSQL it listens for the submissions; elsewhere it only waits.
	WaitRequests(ctx context.Context, max time.Duration) error
}

// RequestInterrupted is the error of a request whose claimer died.
func RequestInterrupted(host string) string {
	return fmt.Sprintf("interrupted: the daemon of host %s stopped before the work finished; it is not run again by itself", host)
}

// RequestNotTaken is the error of a pending request whose host's daemon
// stopped before taking it.
func RequestNotTaken(host string) string {
	return fmt.Sprintf("interrupted: the daemon of host %s stopped before it took the request; it is not run again by itself", host)
}

// ActionStartDaemon: the host in Detail has no live daemon to run work
// on its services; starting one there fixes it.
const ActionStartDaemon Action = "start-daemon"

// RemoteHost says whether work on service s belongs to another host than
// this one, and which.
func RemoteHost(s Service) (string, bool) {
	h := ServiceHost(s)
	return h, h != HostName()
}

// CheckHostDaemon refuses work for host when it has no live daemon, in
// one sentence naming what could not be done ("back up prod").
func CheckHostDaemon(ctx context.Context, leases LeaseReader, host, what string, now time.Time) error {
	_, alive, err := HostDaemon(ctx, leases, host, now)
	if err != nil {
		return err
	}
	if !alive {
		return Advise(Advice{Action: ActionStartDaemon, Detail: host}, ErrUnreachable,
			"no daemon is running on host %s, so it cannot %s", host, what)
	}
	return nil
}

// Audited actions of requests: who asked what of which host, and who asked
// to cancel it.
const (
	AuditRequest       = "request"
	AuditRequestCancel = "request cancel"
)

// Describe is a request in a few words, for the audit trail and logs:
// "backup of prod on host b".
func (r Request) Describe() string {
	what := string(r.Kind)
	switch r.Kind {
	case RequestRestore, RequestUploadRestore:
		what = fmt.Sprintf("%s of backup %d onto %s", r.Kind, r.Params.BackupID, r.Params.Target)
		if r.Params.Target == "" {
			what = fmt.Sprintf("%s of backup %d into new database %s", r.Kind, r.Params.BackupID, r.Params.NewDB)
		}
		if r.Params.Only != RestoreAll {
			what += ", " + r.Params.Only.describe()
		}
	case RequestServiceCopy:
		what = fmt.Sprintf("copy of %s as %s", r.Service, r.Params.NewName)
	default:
		what += " of " + r.Service
	}
	return what + " on host " + r.Host
}
