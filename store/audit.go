package store

import (
	"context"
	"errors"

	"github.com/odoo-backup/odoo-backup/core"
)

// insertAudit appends e inside tx, filling its time and actor when missing.
func (c *Catalog) insertAudit(ctx context.Context, tx *txn, e *core.AuditEntry) error {
	return c.insertAuditFrom(ctx, tx, e, nil)
}

// insertAuditFrom is insertAudit with the entry's origin (a journal's key,
// or nil): written with the entry, since no role may update the trail.
func (c *Catalog) insertAuditFrom(ctx context.Context, tx *txn, e *core.AuditEntry, origin any) error {
	if e.At.IsZero() {
		e.At = c.now()
	}
	if e.User == "" {
		a := core.ActorFrom(ctx)
		e.User, e.SSHClient = a.User, a.SSHClient
	}
	if e.Outcome == "" {
		e.Outcome = core.AuditOK
	}
	if err := checkTime("audit time", e.At); err != nil {
		return err
	}
	e.At = fromNanos(toNanos(e.At))
	// db_user is the server's to write (session_user, forced by a trigger
	// on PostgreSQL); SQLite has no database users and keeps ''.
	return tx.QueryRowContext(ctx, `INSERT INTO audit (at, os_user, ssh_client, action, service, target, detail, outcome, error, origin)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id, db_user`,
		toNanos(e.At), e.User, e.SSHClient, e.Action, e.Service, e.Target, e.Detail, string(e.Outcome), e.Error, origin).Scan(&e.ID, &e.DBUser)
}

// AddAudit appends e to the audit trail and sets its ID; see core.Catalog.
func (c *Catalog) AddAudit(ctx context.Context, e *core.AuditEntry) error {
	if e.Action == "" {
		return core.Userf(core.ErrInvalid, "an audit entry needs an action")
	}
	if e.Outcome != "" && e.Outcome != core.AuditOK && e.Outcome != core.AuditFailed {
		return core.Userf(core.ErrInvalid, "audit outcome %q is not %q or %q", e.Outcome, core.AuditOK, core.AuditFailed)
	}
	return c.write(ctx, "record in the audit trail", func(tx *txn) error {
		return c.insertAudit(ctx, tx, e)
	})
}

// Audit lists audit entries newest first; see core.AuditFilter.
func (c *Catalog) Audit(ctx context.Context, f core.AuditFilter) ([]core.AuditEntry, error) {
	q := `SELECT id, at, os_user, ssh_client, db_user, action, service, target, detail, outcome, error FROM audit WHERE 1 = 1`
	var args []any
	if f.Service != "" {
		q += ` AND service = ?`
		args = append(args, f.Service)
	}
	if f.BeforeID > 0 {
		q += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c.dbError("read the audit trail", err)
	}
	defer rows.Close()
	var out []core.AuditEntry
	for rows.Next() {
		var (
			e       core.AuditEntry
			at      int64
			outcome string
		)
		if err := rows.Scan(&e.ID, &at, &e.User, &e.SSHClient, &e.DBUser, &e.Action, &e.Service, &e.Target, &e.Detail, &outcome, &e.Error); err != nil {
			return nil, c.dbError("read the audit trail", err)
		}
		e.At, e.Outcome = fromNanos(at), core.AuditOutcome(outcome)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, c.dbError("read the audit trail", err)
	}
	return out, nil
}

// change runs fn in one write transaction and records it in the audit trail
// in that same transaction, so a change and its record are saved together
// or not at all. fn may complete *a (a detail known only inside). A change
// the catalog refuses is recorded as failed, with the reason.
func (c *Catalog) change(ctx context.Context, op string, a *core.AuditEntry, fn func(tx *txn) error) error {
	err := c.write(ctx, op, func(tx *txn) error {
		if err := fn(tx); err != nil {
			return err
		}
		a.Outcome, a.Error = core.AuditOK, ""
		return c.insertAudit(ctx, tx, a)
	})
	if err == nil || errors.Is(err, core.ErrTransient) || ctx.Err() != nil {
		return err
	}
	failed := *a
	failed.ID, failed.Outcome, failed.Error = 0, core.AuditFailed, errorSentence(err)
	_ = c.write(ctx, "record in the audit trail", func(tx *txn) error {
		return c.insertAudit(ctx, tx, &failed)
	})
	return err
}

func errorSentence(err error) string {
	var ue *core.UserError
	if errors.As(err, &ue) {
		return ue.Msg
	}
	return err.Error()
}
