package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/odoo-backup/odoo-backup/core"
)

var _ core.RequestQueue = (*Catalog)(nil)

// requestsChannel is the PostgreSQL NOTIFY channel a submission or a
// cancellation wakes the daemons on; the payload is the request's host.
const requestsChannel = "odoo_backup_requests"

const requestColumns = `id, kind, host, service, params, status, requested_by, requested_host, requested_at,
	claimed_holder, claimed_pid, claimed_host, claimed_at, heartbeat, cancel_requested, progress, result, error, finished_at`

func scanRequest(row interface{ Scan(...any) error }) (core.Request, error) {
	var (
		r                                         core.Request
		params, status, progress, result          string
		requested, claimedAt, heartbeat, finished int64
		holder, claimHost                         string
		pid                                       int
	)
	err := row.Scan(&r.ID, &r.Kind, &r.Host, &r.Service, &params, &status, &r.RequestedBy, &r.RequestedHost, &requested,
		&holder, &pid, &claimHost, &claimedAt, &heartbeat, &r.CancelRequested, &progress, &result, &r.Error, &finished)
	if err != nil {
		return r, err
	}
	r.Status = core.RequestStatus(status)
	r.RequestedAt, r.Heartbeat = fromNanos(requested), fromNanos(heartbeat)
	if holder != "" {
		r.ClaimedBy = &core.Claimer{Holder: holder, PID: pid, Host: claimHost}
		t := fromNanos(claimedAt)
		r.ClaimedAt = &t
	}
	if finished != 0 {
		t := fromNanos(finished)
		r.FinishedAt = &t
	}
	if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
		return r, fmt.Errorf("request %d has unreadable parameters: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(progress), &r.Progress); err != nil {
		return r, fmt.Errorf("request %d has unreadable progress: %w", r.ID, err)
	}
	if result != "" {
		r.Result = json.RawMessage(result)
	}
	return r, nil
}

func requestNotFound(id int64) error {
	return core.Userf(core.ErrNotFound, "request %d does not exist", id)
}

func validRequest(r core.Request) error {
	switch r.Kind {
	case core.RequestBackup, core.RequestRestore, core.RequestUploadRestore, core.RequestDrill, core.RequestServiceCopy:
	default:
		return core.Userf(core.ErrInvalid, "%q is not work a host can be asked for; ask for a backup, restore, upload_restore, drill or service_copy", r.Kind)
	}
	if r.Host == "" || r.Service == "" {
		return core.Userf(core.ErrInvalid, "a request needs the service it is about and the host that runs it")
	}
	return nil
}

// notify wakes the daemons waiting in WaitRequests; PostgreSQL delivers it
// when tx commits, and not at all if it rolls back.
func notify(ctx context.Context, tx *txn, host string) error {
	if !tx.pg {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify(?, ?)`, requestsChannel, host)
	return err
}

// SubmitRequest records r as pending and audits it; see core.RequestQueue.
func (c *Catalog) SubmitRequest(ctx context.Context, r *core.Request) error {
	if err := validRequest(*r); err != nil {
		return err
	}
	params, err := json.Marshal(r.Params)
	if err != nil {
		return err
	}
	actor := core.ActorFrom(ctx)
	r.RequestedBy, r.RequestedHost = actor.String(), core.HostName()
	r.Status, r.RequestedAt = core.RequestPending, c.now()
	r.Heartbeat = r.RequestedAt
	a := &core.AuditEntry{Action: core.AuditRequest, Service: r.Service, Target: "host " + r.Host}
	return c.change(ctx, "record the request", a, func(tx *txn) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO requests (kind, host, service, params, status, requested_by, requested_host, requested_at, heartbeat)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			string(r.Kind), r.Host, r.Service, string(params), string(r.Status), r.RequestedBy, r.RequestedHost,
			toNanos(r.RequestedAt), toNanos(r.Heartbeat)).Scan(&r.ID)
		if err != nil {
			return err
		}
		a.Detail = fmt.Sprintf("request %d: %s", r.ID, r.Describe())
		return notify(ctx, tx, r.Host)
	})
}

// ClaimRequest takes the oldest pending request of host for cl; see
// core.RequestQueue.
//
// On PostgreSQL it runs outside the catalog's write lock: SELECT … FOR
// UPDATE SKIP LOCKED makes two claimers on two hosts (or two goroutines)
// take different rows without waiting for every other writer of the
// catalog. On SQLite the IMMEDIATE transaction already lets one writer in
// at a time.
func (c *Catalog) ClaimRequest(ctx context.Context, host string, cl core.Claimer) (core.Request, bool, error) {
	if cl.Holder == "" {
		return core.Request{}, false, core.Userf(core.ErrInvalid, "a claimer needs a holder name, such as \"daemon\"")
	}
	const op = "claim a request"
	var tx *txn
	var err error
	pick := `SELECT id FROM requests WHERE host = ? AND status = 'pending' AND cancel_requested = 0 ORDER BY id LIMIT 1`
	if c.db.pg {
		t, berr := c.db.DB.BeginTx(ctx, nil)
		if berr != nil {
			return core.Request{}, false, c.dbError(op, berr)
		}
		tx, err = &txn{Tx: t, pg: true}, nil
		pick += ` FOR UPDATE SKIP LOCKED`
	} else {
		tx, err = c.db.BeginTx(ctx, nil)
	}
	if err != nil {
		return core.Request{}, false, c.dbError(op, err)
	}
	defer tx.Rollback()
	var id int64
	switch err := tx.QueryRowContext(ctx, pick, host).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows):
		return core.Request{}, false, nil
	case err != nil:
		return core.Request{}, false, c.dbError(op, err)
	}
	now := toNanos(c.now())
	if _, err := tx.ExecContext(ctx, `UPDATE requests SET status = 'running', claimed_holder = ?, claimed_pid = ?, claimed_host = ?,
		claimed_at = ?, heartbeat = ? WHERE id = ?`, cl.Holder, cl.PID, cl.Host, now, now, id); err != nil {
		return core.Request{}, false, c.dbError(op, err)
	}
	r, err := scanRequest(tx.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
	if err != nil {
		return core.Request{}, false, c.dbError(op, err)
	}
	if err := tx.Commit(); err != nil {
		return core.Request{}, false, c.dbError(op, err)
	}
	return r, true, nil
}

const claimedBy = ` AND status = 'running' AND claimed_holder = ? AND claimed_pid = ? AND claimed_host = ?`

func notClaimed(id int64, cl core.Claimer) error {
	return core.Userf(core.ErrNotFound, "request %d is no longer running for %s pid %d on host %s; it was ended meanwhile", id, cl.Holder, cl.PID, cl.Host)
}

// ReportRequest stores progress and the heartbeat; see core.RequestQueue.
// It is one statement, outside the write lock: only the claimer writes a
// running request's progress, at most about once a second.
func (c *Catalog) ReportRequest(ctx context.Context, id int64, cl core.Claimer, p core.RequestProgress) (bool, error) {
	progress, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	var cancel bool
	err = c.db.QueryRowContext(ctx, `UPDATE requests SET progress = ?, heartbeat = ? WHERE id = ?`+claimedBy+` RETURNING cancel_requested`,
		string(progress), toNanos(c.now()), id, cl.Holder, cl.PID, cl.Host).Scan(&cancel)
	if errors.Is(err, sql.ErrNoRows) {
		return false, notClaimed(id, cl)
	}
	if err != nil {
		return false, c.dbError(fmt.Sprintf("report the progress of request %d", id), err)
	}
	return cancel, nil
}

// CancelRequest asks to cancel a request; see core.RequestQueue.
func (c *Catalog) CancelRequest(ctx context.Context, id int64) (core.Request, error) {
	var out core.Request
	a := &core.AuditEntry{Action: core.AuditRequestCancel, Target: fmt.Sprintf("request %d", id)}
	err := c.change(ctx, fmt.Sprintf("cancel request %d", id), a, func(tx *txn) error {
		r, err := scanRequest(tx.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return requestNotFound(id)
		}
		if err != nil {
			return err
		}
		a.Service, a.Detail = r.Service, r.Describe()
		switch r.Status {
		case core.RequestPending:
			now := c.now()
			_, err = tx.ExecContext(ctx, `UPDATE requests SET status = 'cancelled', cancel_requested = 1, error = ?, finished_at = ?
				WHERE id = ?`, "cancelled before it started", toNanos(now), id)
			r.Status, r.CancelRequested, r.Error, r.FinishedAt = core.RequestCancelled, true, "cancelled before it started", &now
		case core.RequestRunning:
			_, err = tx.ExecContext(ctx, `UPDATE requests SET cancel_requested = 1 WHERE id = ?`, id)
			r.CancelRequested = true
		default:
			a.Detail += " (it had already ended " + string(r.Status) + ")"
		}
		if err != nil {
			return err
		}
		out = r
		return notify(ctx, tx, r.Host)
	})
	return out, err
}

// FinishRequest ends a request cl runs; see core.RequestQueue.
func (c *Catalog) FinishRequest(ctx context.Context, id int64, cl core.Claimer, status core.RequestStatus, result json.RawMessage, errMsg string) error {
	if !status.Final() {
		return core.Userf(core.ErrInvalid, "a request ends succeeded, failed or cancelled, not %s", status)
	}
	res, err := c.db.ExecContext(ctx, `UPDATE requests SET status = ?, result = ?, error = ?, finished_at = ? WHERE id = ?`+claimedBy,
		string(status), string(result), errMsg, toNanos(c.now()), id, cl.Holder, cl.PID, cl.Host)
	if err != nil {
		return c.dbError(fmt.Sprintf("end request %d", id), err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notClaimed(id, cl)
	}
	return nil
}

// AbandonRequest ends failed a request still as it was seen; see
// core.RequestQueue.
func (c *Catalog) AbandonRequest(ctx context.Context, id int64, status core.RequestStatus, heartbeat time.Time, errMsg string) (bool, error) {
	res, err := c.db.ExecContext(ctx, `UPDATE requests SET status = 'failed', error = ?, finished_at = ?
		WHERE id = ? AND status = ? AND heartbeat = ?`, errMsg, toNanos(c.now()), id, string(status), toNanos(heartbeat))
	if err != nil {
		return false, c.dbError(fmt.Sprintf("end request %d", id), err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Request returns one request; see core.RequestReader.
func (c *Catalog) Request(ctx context.Context, id int64) (core.Request, error) {
	r, err := scanRequest(c.db.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return core.Request{}, requestNotFound(id)
	}
	if err != nil {
		return core.Request{}, c.dbError(fmt.Sprintf("read request %d", id), err)
	}
	return r, nil
}

// Requests lists requests newest first; see core.RequestReader.
func (c *Catalog) Requests(ctx context.Context, f core.RequestFilter) ([]core.Request, error) {
	q := `SELECT ` + requestColumns + ` FROM requests WHERE 1 = 1`
	var args []any
	if f.Host != "" {
		q += ` AND host = ?`
		args = append(args, f.Host)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.dbError("read the requests", err)
	}
	defer rows.Close()
	var out []core.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, c.dbError("read the requests", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, c.dbError("read the requests", err)
	}
	return out, nil
}

// requestListener is the connection a PostgreSQL catalog listens for
// requests on, opened by the first WaitRequests.
type requestListener struct {
	mu   sync.Mutex
	conn *sql.Conn
}

func (l *requestListener) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		l.conn.Close()
		l.conn = nil
	}
}

// WaitRequests waits for a submission or a cancellation, or max; see
// core.RequestQueue. On PostgreSQL one connection of the catalog's pool
// stays LISTENing: waiting on it costs no query, so an idle daemon reads
// the catalog only when woken and every max. A lost connection is opened
// again at the next call.
func (c *Catalog) WaitRequests(ctx context.Context, max time.Duration) error {
	if !c.db.pg {
		t := time.NewTimer(max)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	l := &c.listener
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		conn, err := c.db.DB.Conn(ctx)
		if err != nil {
			return c.dbError("listen for requests", err)
		}
		if _, err := conn.ExecContext(ctx, `LISTEN `+requestsChannel); err != nil {
			conn.Close()
			return c.dbError("listen for requests", err)
		}
		l.conn = conn
	}
	wctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	err := l.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the catalog's driver connection is a %T, not pgx's", dc)
		}
		_, err := sc.Conn().WaitForNotification(wctx)
		if err != nil && sc.Conn().IsClosed() {
			return errors.Join(err, errListenerClosed)
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errListenerClosed):
		l.conn.Close()
		l.conn = nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if wctx.Err() != nil {
		return nil // the slow poll: nothing came within max
	}
	return c.dbError("wait for requests", err)
}

// errListenerClosed marks a listening connection that closed under us.
var errListenerClosed = errors.New("the listening connection closed")
