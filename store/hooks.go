package store

import (
	"context"
	"fmt"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

var _ core.HookCatalog = (*Catalog)(nil)

// ServiceHooks lists the hooks of service in core.HookEvents order.
func (c *Catalog) ServiceHooks(ctx context.Context, service string) ([]core.Hook, error) {
	id, err := serviceID(ctx, c.db, service)
	if err != nil {
		return nil, c.dbError(fmt.Sprintf("read the hooks of service %q", service), err)
	}
	rows, err := c.db.QueryContext(ctx, `SELECT event, command, timeout_seconds FROM service_hooks WHERE service_id = ?`, id)
	if err != nil {
		return nil, c.dbError(fmt.Sprintf("read the hooks of service %q", service), err)
	}
	defer rows.Close()
	byEvent := map[core.HookEvent]core.Hook{}
	for rows.Next() {
		var (
			h       core.Hook
			seconds int64
		)
		if err := rows.Scan(&h.Event, &h.Command, &seconds); err != nil {
			return nil, c.dbError(fmt.Sprintf("read the hooks of service %q", service), err)
		}
		h.Timeout = time.Duration(seconds) * time.Second
		byEvent[h.Event] = h
	}
	if err := rows.Err(); err != nil {
		return nil, c.dbError(fmt.Sprintf("read the hooks of service %q", service), err)
	}
	return inEventOrder(byEvent), nil
}

// AllServiceHooks are the hooks of every service that has any, by service
// name, each in core.HookEvents order.
func (c *Catalog) AllServiceHooks(ctx context.Context) (map[string][]core.Hook, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT s.name, h.event, h.command, h.timeout_seconds
		FROM service_hooks h JOIN services s ON s.id = h.service_id`)
	if err != nil {
		return nil, c.dbError("read the hooks of the services", err)
	}
	defer rows.Close()
	byService := map[string]map[core.HookEvent]core.Hook{}
	for rows.Next() {
		var (
			name    string
			h       core.Hook
			seconds int64
		)
		if err := rows.Scan(&name, &h.Event, &h.Command, &seconds); err != nil {
			return nil, c.dbError("read the hooks of the services", err)
		}
		h.Timeout = time.Duration(seconds) * time.Second
		if byService[name] == nil {
			byService[name] = map[core.HookEvent]core.Hook{}
		}
		byService[name][h.Event] = h
	}
	if err := rows.Err(); err != nil {
		return nil, c.dbError("read the hooks of the services", err)
	}
	out := make(map[string][]core.Hook, len(byService))
	for name, byEvent := range byService {
		out[name] = inEventOrder(byEvent)
	}
	return out, nil
}

// inEventOrder lists the hooks of byEvent in core.HookEvents order.
func inEventOrder(byEvent map[core.HookEvent]core.Hook) []core.Hook {
	var out []core.Hook
	for _, e := range core.HookEvents {
		if h, ok := byEvent[e]; ok {
			out = append(out, h)
		}
	}
	return out
}

// SetServiceHook adds or replaces the hook of h.Event of service. The
// timeout is stored in whole seconds, at least one.
func (c *Catalog) SetServiceHook(ctx context.Context, service string, h core.Hook) error {
	if _, err := core.ParseHookEvent(string(h.Event)); err != nil {
		return err
	}
	if h.Command == "" {
		return core.Userf(core.ErrInvalid, "the %s hook of service %q has no command; give the path of an executable file", h.Event, service)
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = core.DefaultHookTimeout
	}
	seconds := max(int64((timeout+time.Second-1)/time.Second), 1)
	a := &core.AuditEntry{Action: core.ActionHookSet, Service: service, Target: "service " + service,
		Detail: fmt.Sprintf("%s hook %s, timeout %s", h.Event, h.Command, time.Duration(seconds)*time.Second)}
	return c.change(ctx, fmt.Sprintf("set the %s hook of service %q", h.Event, service), a, func(tx *txn) error {
		id, err := serviceID(ctx, tx, service)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE service_hooks SET command = ?, timeout_seconds = ? WHERE service_id = ? AND event = ?`,
			h.Command, seconds, id, h.Event)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO service_hooks (service_id, event, command, timeout_seconds) VALUES (?, ?, ?, ?)`,
			id, h.Event, h.Command, seconds)
		return err
	})
}

// RemoveServiceHook removes the hook of event of service.
func (c *Catalog) RemoveServiceHook(ctx context.Context, service string, event core.HookEvent) error {
	if _, err := core.ParseHookEvent(string(event)); err != nil {
		return err
	}
	a := &core.AuditEntry{Action: core.ActionHookRemove, Service: service, Target: "service " + service, Detail: string(event) + " hook"}
	return c.change(ctx, fmt.Sprintf("remove the %s hook of service %q", event, service), a, func(tx *txn) error {
		id, err := serviceID(ctx, tx, service)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM service_hooks WHERE service_id = ? AND event = ?`, id, event)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return core.Userf(core.ErrNotFound, "service %q has no %s hook", service, event)
		}
		return nil
	})
}
