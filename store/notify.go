package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/odoo-backup/odoo-backup/core"
)

// Notification channels (their URL sealed: it is the credential), the
// deliveries made to them and to ping URLs, and the last announced state
// of each thing notifications watch.

var _ core.NotifyCatalog = (*Catalog)(nil)

const notifyChannelCols = `id, name, url, events, digest, created_at`

func notifyChannelURL(name string) secretColumn {
	return secretColumn{"notify_channels.url", fmt.Sprintf("the URL of notification channel %q", name),
		core.Advice{Action: core.ActionEnterNotifyURL, Detail: name}}
}

func pingURL(service, destination string) secretColumn {
	return secretColumn{"configurations.ping_url", fmt.Sprintf("the ping URL of service %q on destination %q", service, destination),
		core.Advice{Action: core.ActionEnterPingURL, Service: service, Destination: destination}}
}

func (c *Catalog) scanNotifyChannel(row interface{ Scan(...any) error }) (core.NotifyChannel, error) {
	var (
		ch      core.NotifyChannel
		url     string
		events  string
		created int64
	)
	if err := row.Scan(&ch.ID, &ch.Name, &url, &events, &ch.Digest, &created); err != nil {
		return ch, err
	}
	ch.URL = c.open(notifyChannelURL(ch.Name), url)
	for _, e := range strings.Split(events, ",") {
		if e != "" {
			ch.Events = append(ch.Events, core.NotifyEvent(e))
		}
	}
	ch.CreatedAt = fromNanos(created)
	return ch, nil
}

func storedEvents(evs []core.NotifyEvent) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = string(e)
	}
	return strings.Join(s, ",")
}

// describeNotifyChannel is a channel's audit detail: never its URL, only
// its kind (the scheme) when it holds a value.
func describeNotifyChannel(ch core.NotifyChannel) string {
	d := "events " + ch.EventsText()
	if ch.Digest != "" {
		d += ", daily digest at " + ch.Digest
	}
	if ref := ch.URL.Ref(); ref != "" {
		d += ", URL from " + ref
	} else if scheme, _, ok := strings.Cut(ch.URL.Reveal(), "://"); ok {
		d += ", " + scheme + " URL"
	}
	return d
}

// NotifyChannels lists every channel by name.
func (c *Catalog) NotifyChannels(ctx context.Context) ([]core.NotifyChannel, error) {
	var out []core.NotifyChannel
	err := c.read(ctx, "list notification channels", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+notifyChannelCols+` FROM notify_channels ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ch, err := c.scanNotifyChannel(rows)
			if err != nil {
				return err
			}
			out = append(out, ch)
		}
		return rows.Err()
	})
	return out, err
}

// NotifyChannel returns the channel named name.
func (c *Catalog) NotifyChannel(ctx context.Context, name string) (core.NotifyChannel, error) {
	ch, err := c.scanNotifyChannel(c.db.QueryRowContext(ctx, `SELECT `+notifyChannelCols+` FROM notify_channels WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return ch, core.NotifyChannelNotFound(name)
	}
	if err != nil {
		return ch, c.dbError(fmt.Sprintf("read notification channel %q", name), err)
	}
	return ch, nil
}

// SaveNotifyChannel adds ch, or replaces the channel of that name when
// replace is true (an unreadable URL, one loaded that could not be
// decrypted, is left as stored). It sets ch.ID and ch.CreatedAt.
func (c *Catalog) SaveNotifyChannel(ctx context.Context, ch *core.NotifyChannel, replace bool) error {
	if err := core.ValidateNotifyChannel(*ch); err != nil {
		return err
	}
	url, keep, err := c.seal(notifyChannelURL(ch.Name), ch.URL)
	if err != nil {
		return err
	}
	var stored any
	if !keep {
		stored = url
	}
	action, op := core.ActionNotifyAdd, "add"
	if replace {
		action, op = core.ActionNotifyUpdate, "update"
	}
	a := &core.AuditEntry{Action: action, Target: "notification channel " + ch.Name, Detail: describeNotifyChannel(*ch)}
	created := c.now()
	return c.change(ctx, fmt.Sprintf("%s notification channel %q", op, ch.Name), a, func(tx *txn) error {
		var id, at int64
		err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM notify_channels WHERE name = ?`, ch.Name).Scan(&id, &at)
		switch {
		case errors.Is(err, sql.ErrNoRows) && replace:
			return core.NotifyChannelNotFound(ch.Name)
		case err == nil && !replace:
			return core.NotifyChannelExists(ch.Name)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if replace {
			ch.ID, ch.CreatedAt = id, fromNanos(at)
			_, err := tx.ExecContext(ctx, `UPDATE notify_channels SET url = COALESCE(?, url), events = ?, digest = ? WHERE id = ?`,
				stored, storedEvents(ch.Events), ch.Digest, id)
			return err
		}
		ch.CreatedAt = fromNanos(toNanos(created))
		return tx.QueryRowContext(ctx, `INSERT INTO notify_channels (name, url, events, digest, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			ch.Name, orEmpty(stored), storedEvents(ch.Events), ch.Digest, toNanos(created)).Scan(&ch.ID)
	})
}

// DeleteNotifyChannel removes the channel named name; its deliveries stay
// in the log.
func (c *Catalog) DeleteNotifyChannel(ctx context.Context, name string) error {
	a := &core.AuditEntry{Action: core.ActionNotifyRemove, Target: "notification channel " + name}
	return c.change(ctx, fmt.Sprintf("remove notification channel %q", name), a, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM notify_channels WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return core.NotifyChannelNotFound(name)
		}
		return err
	})
}

var deliveryStatuses = map[string]bool{core.DeliverySent: true, core.DeliveryFailed: true, core.DeliveryDropped: true}

// AddDelivery records a delivery and sets d.ID (and d.At when zero).
func (c *Catalog) AddDelivery(ctx context.Context, d *core.Delivery) error {
	if !deliveryStatuses[d.Status] {
		return core.Userf(core.ErrInvalid, "a delivery is recorded sent, failed or dropped, not %q", d.Status)
	}
	if d.At.IsZero() {
		d.At = c.now()
	}
	d.At = fromNanos(toNanos(d.At))
	return c.write(ctx, fmt.Sprintf("record a notification to %q", d.Channel), func(tx *txn) error {
		return tx.QueryRowContext(ctx, `INSERT INTO notify_deliveries (channel, event, service, destination, subject, status, tries, error, host, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.Channel, string(d.Event), d.Service, d.Destination, d.Subject, d.Status, d.Tries, d.Error, d.Host, toNanos(d.At)).Scan(&d.ID)
	})
}

// Deliveries lists the newest deliveries first, at most limit (0: all).
func (c *Catalog) Deliveries(ctx context.Context, limit int) ([]core.Delivery, error) {
	var out []core.Delivery
	err := c.read(ctx, "list notification deliveries", func(tx *txn) error {
		q := `SELECT id, channel, event, service, destination, subject, status, tries, error, host, at FROM notify_deliveries ORDER BY id DESC`
		if limit > 0 {
			q += fmt.Sprintf(` LIMIT %d`, limit)
		}
		rows, err := tx.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				d     core.Delivery
				event string
				at    int64
			)
			if err := rows.Scan(&d.ID, &d.Channel, &event, &d.Service, &d.Destination, &d.Subject, &d.Status, &d.Tries, &d.Error, &d.Host, &at); err != nil {
				return err
			}
			d.Event, d.At = core.NotifyEvent(event), fromNanos(at)
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// NotifyStates is every watched key's last announced state.
func (c *Catalog) NotifyStates(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := c.read(ctx, "read the announced states", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT key, state FROM notify_state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, s string
			if err := rows.Scan(&k, &s); err != nil {
				return err
			}
			out[k] = s
		}
		return rows.Err()
	})
	return out, err
}

// SetNotifyState records key's announced state, replacing the one before.
func (c *Catalog) SetNotifyState(ctx context.Context, key, state string) error {
	return c.write(ctx, "record an announced state", func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notify_state (key, state, changed_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at`, key, state, toNanos(c.now()))
		return err
	})
}

// SetPingURL sets the ping URL of service's configuration on destination;
// "" removes it. The URL is sealed, and audited only as set or removed.
func (c *Catalog) SetPingURL(ctx context.Context, service, destination string, url core.Secret) error {
	stored, keep, err := c.seal(pingURL(service, destination), url)
	if err != nil || keep {
		return err
	}
	detail := "ping URL removed"
	switch {
	case url.Ref() != "":
		detail = "ping URL from " + url.Ref()
	case url.IsSet():
		detail = "ping URL set"
	}
	a := &core.AuditEntry{Action: core.ActionPingURLSet, Service: service,
		Target: fmt.Sprintf("service %s on destination %s", service, destination), Detail: detail}
	return c.change(ctx, fmt.Sprintf("set the ping URL of service %q on destination %q", service, destination), a, func(tx *txn) error {
		sid, err := serviceID(ctx, tx, service)
		if err != nil {
			return err
		}
		did, err := destinationID(ctx, tx, destination)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE configurations SET ping_url = ? WHERE service_id = ? AND destination_id = ?`, stored, sid, did)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return core.Advise(core.Advice{Action: core.ActionSetConfiguration, Service: service, Destination: destination}, core.ErrNotFound,
				"service %q has no configuration on destination %q", service, destination)
		}
		return err
	})
}
