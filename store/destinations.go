package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/odoo-backup/odoo-backup/core"
)

const destinationCols = `id, name, kind, dir, endpoint, region, bucket, prefix, access_key, secret_key, no_tls, sse, created_at,
	sse_kms_key_id, ca_file, encrypt_recipient, encrypt_key_file, encrypt_passphrase, layout, key_note,
	lock_mode, lock_days, limit_upload, limit_download`

// scanDestination reads a row and decrypts its secrets.
func (c *Catalog) scanDestination(row interface{ Scan(...any) error }) (core.Destination, error) {
	var (
		d          core.Destination
		secret     string
		passphrase string
		created    int64
	)
	err := row.Scan(&d.ID, &d.Name, &d.Kind, &d.Local.Dir, &d.S3.Endpoint, &d.S3.Region, &d.S3.Bucket, &d.S3.Prefix,
		&d.S3.AccessKey, &secret, &d.S3.NoTLS, &d.S3.SSE, &created,
		&d.S3.SSEKMSKeyID, &d.S3.CAFile, &d.Encrypt.Recipient, &d.Encrypt.KeyFile, &passphrase, &d.Layout, &d.Encrypt.KeyNote,
		&d.Lock.Mode, &d.Lock.Days, &d.Limits.Upload, &d.Limits.Download)
	if err != nil {
		return d, err
	}
	d.S3.SecretKey = c.open(destinationSecret(d.Name), secret)
	d.Encrypt.Passphrase = c.open(destinationPassphrase(d.Name), passphrase)
	d.CreatedAt = fromNanos(created)
	return d, nil
}

// sealDestination is what d's secrets are stored as; a nil one (a secret
// that could not be read when loaded) leaves the stored value alone.
func (c *Catalog) sealDestination(d core.Destination) (secret, passphrase any, err error) {
	s, keep, err := c.seal(destinationSecret(d.Name), d.S3.SecretKey)
	if err != nil {
		return nil, nil, err
	}
	if !keep {
		secret = s
	}
	p, keep, err := c.seal(destinationPassphrase(d.Name), d.Encrypt.Passphrase)
	if err != nil {
		return nil, nil, err
	}
	if !keep {
		passphrase = p
	}
	return secret, passphrase, nil
}

// describeDestination is the audit detail of a destination: where it is
// and how it is protected, never its secrets.
func describeDestination(d core.Destination) string {
	s := string(d.Kind) + " " + d.Describe()
	if d.Kind == core.DestinationS3 {
		if d.S3.AccessKey != "" {
			s += ", access key " + d.S3.AccessKey
		}
		if ref := d.S3.SecretKey.Ref(); ref != "" {
			s += ", secret key from " + ref
		}
		if d.S3.NoTLS {
			s += ", no TLS"
		}
		if d.S3.SSE != "" {
			s += ", " + d.S3.SSE
		}
	}
	if d.Encrypt.Recipient != "" || d.Encrypt.Passphrase.IsSet() {
		s += ", client-side encryption"
	}
	s += ", layout " + string(d.StoredLayout())
	if d.Lock.Enabled() {
		s += fmt.Sprintf(", object lock %s %d days", d.Lock.Mode, d.Lock.Days)
	}
	if d.Limits.Upload > 0 {
		s += fmt.Sprintf(", upload limit %d B/s", d.Limits.Upload)
	}
	if d.Limits.Download > 0 {
		s += fmt.Sprintf(", download limit %d B/s", d.Limits.Download)
	}
	return s
}

func validateDestination(d core.Destination) error {
	if err := core.ValidateName("destination", d.Name); err != nil {
		return err
	}
	switch d.Kind {
	case core.DestinationLocal:
		if d.Local.Dir == "" {
			return core.Advise(core.Advice{Action: core.ActionGiveDirectory, Destination: d.Name}, core.ErrInvalid, "destination %q has no directory", d.Name)
		}
	case core.DestinationS3:
		if d.S3.Endpoint == "" || d.S3.Bucket == "" {
			return core.Advise(core.Advice{Action: core.ActionGiveEndpoint, Destination: d.Name}, core.ErrInvalid, "destination %q needs an endpoint and a bucket", d.Name)
		}
	default:
		return core.Userf(core.ErrInvalid, "destination %q has kind %q; use %q or %q", d.Name, d.Kind, core.DestinationS3, core.DestinationLocal)
	}
	if d.Layout != "" {
		if _, err := core.ParseLayout(string(d.Layout)); err != nil {
			return err
		}
	}
	switch {
	case d.Lock.Mode != core.LockNone && d.Lock.Mode != core.LockGovernance && d.Lock.Mode != core.LockCompliance:
		return core.Userf(core.ErrInvalid, "destination %q has object lock mode %q; use governance or compliance", d.Name, d.Lock.Mode)
	case (d.Lock.Mode == core.LockNone) != (d.Lock.Days == 0) || d.Lock.Days < 0:
		return core.Userf(core.ErrInvalid, "destination %q needs both an object lock mode and a number of days above 0, or neither", d.Name)
	case d.Lock.Enabled() && d.Kind != core.DestinationS3:
		return core.Userf(core.ErrInvalid, "destination %q is a local directory, which cannot lock files; object lock needs an S3 bucket created with Object Lock", d.Name)
	case d.Limits.Upload < 0 || d.Limits.Download < 0:
		return core.Userf(core.ErrInvalid, "destination %q has a negative bandwidth limit; give a rate above 0, or none", d.Name)
	}
	return nil
}

func destinationNotFound(name string) error {
	return core.Advise(core.Advice{Action: core.ActionListDestinations, Destination: name}, core.ErrNotFound, "destination %q does not exist", name)
}

func destinationExists(name string) error {
	return core.Userf(core.ErrExists, "a destination named %q already exists; choose another name", name)
}

// destinationID resolves a name inside a transaction.
func destinationID(ctx context.Context, q queryer, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM destinations WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, destinationNotFound(name)
	}
	return id, err
}

// AddDestination records d and sets d.ID, and d.CreatedAt unless the caller
// already gave one (a catalog rebuild keeps the original time).
func (c *Catalog) AddDestination(ctx context.Context, d *core.Destination) error {
	if err := validateDestination(*d); err != nil {
		return err
	}
	created := d.CreatedAt
	if created.IsZero() {
		created = c.now()
	}
	if err := checkTime("creation time", created); err != nil {
		return err
	}
	secret, passphrase, err := c.sealDestination(*d)
	if err != nil {
		return err
	}
	var id int64
	a := &core.AuditEntry{Action: core.ActionDestinationAdd, Target: "destination " + d.Name, Detail: describeDestination(*d)}
	err = c.change(ctx, fmt.Sprintf("add destination %q", d.Name), a, func(tx *txn) error {
		if _, err := destinationID(ctx, tx, d.Name); err == nil {
			return destinationExists(d.Name)
		} else if !errors.Is(err, core.ErrNotFound) {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO destinations
			(name, kind, dir, endpoint, region, bucket, prefix, access_key, secret_key, no_tls, sse, created_at,
			sse_kms_key_id, ca_file, encrypt_recipient, encrypt_key_file, encrypt_passphrase, layout, key_note,
			lock_mode, lock_days, limit_upload, limit_download)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.Name, d.Kind, d.Local.Dir, d.S3.Endpoint, d.S3.Region, d.S3.Bucket, d.S3.Prefix, d.S3.AccessKey, orEmpty(secret),
			d.S3.NoTLS, d.S3.SSE, toNanos(created),
			d.S3.SSEKMSKeyID, d.S3.CAFile, d.Encrypt.Recipient, d.Encrypt.KeyFile, orEmpty(passphrase), d.StoredLayout(), d.Encrypt.KeyNote,
			d.Lock.Mode, d.Lock.Days, d.Limits.Upload, d.Limits.Download).Scan(&id)
	})
	if err != nil {
		return err
	}
	d.ID = id
	d.CreatedAt = fromNanos(toNanos(created))
	return nil
}

// UpdateDestination stores every field of d but CreatedAt. The row is the one
// with d.ID, or named d.Name when d.ID is 0; giving an id and a new name
// renames the destination, and its backup history follows the new name.
func (c *Catalog) UpdateDestination(ctx context.Context, d core.Destination) error {
	if err := validateDestination(d); err != nil {
		return err
	}
	secret, passphrase, err := c.sealDestination(d)
	if err != nil {
		return err
	}
	a := &core.AuditEntry{Action: core.ActionDestinationUpdate, Target: "destination " + d.Name, Detail: describeDestination(d)}
	return c.change(ctx, fmt.Sprintf("update destination %q", d.Name), a, func(tx *txn) error {
		id := d.ID
		if id == 0 {
			var err error
			if id, err = destinationID(ctx, tx, d.Name); err != nil {
				return err
			}
		}
		var oldName string
		err := tx.QueryRowContext(ctx, `SELECT name FROM destinations WHERE id = ?`, id).Scan(&oldName)
		if errors.Is(err, sql.ErrNoRows) {
			return core.Advise(core.Advice{Action: core.ActionListDestinations}, core.ErrNotFound, "destination %d does not exist", id)
		}
		if err != nil {
			return err
		}
		if oldName != d.Name {
			if _, err := destinationID(ctx, tx, d.Name); err == nil {
				return destinationExists(d.Name)
			} else if !errors.Is(err, core.ErrNotFound) {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE backups SET destination_name = ? WHERE destination_id = ?`, d.Name, id); err != nil {
				return err
			}
			a.Detail = "renamed from " + oldName + ", " + a.Detail
		}
		_, err = tx.ExecContext(ctx, `UPDATE destinations SET name = ?, kind = ?, dir = ?, endpoint = ?, region = ?,
			bucket = ?, prefix = ?, access_key = ?, secret_key = COALESCE(?, secret_key), no_tls = ?, sse = ?,
			sse_kms_key_id = ?, ca_file = ?, encrypt_recipient = ?, encrypt_key_file = ?,
			encrypt_passphrase = COALESCE(?, encrypt_passphrase), layout = ?, key_note = ?,
			lock_mode = ?, lock_days = ?, limit_upload = ?, limit_download = ? WHERE id = ?`,
			d.Name, d.Kind, d.Local.Dir, d.S3.Endpoint, d.S3.Region, d.S3.Bucket, d.S3.Prefix, d.S3.AccessKey, secret,
			d.S3.NoTLS, d.S3.SSE, d.S3.SSEKMSKeyID, d.S3.CAFile, d.Encrypt.Recipient, d.Encrypt.KeyFile, passphrase, d.StoredLayout(), d.Encrypt.KeyNote,
			d.Lock.Mode, d.Lock.Days, d.Limits.Upload, d.Limits.Download, id)
		return err
	})
}

// Destination returns the destination named name.
func (c *Catalog) Destination(ctx context.Context, name string) (core.Destination, error) {
	d, err := c.scanDestination(c.db.QueryRowContext(ctx, `SELECT `+destinationCols+` FROM destinations WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return core.Destination{}, destinationNotFound(name)
	}
	if err != nil {
		return core.Destination{}, c.dbError(fmt.Sprintf("read destination %q", name), err)
	}
	return d, nil
}

// DestinationByID returns the destination with that id.
func (c *Catalog) DestinationByID(ctx context.Context, id int64) (core.Destination, error) {
	d, err := c.scanDestination(c.db.QueryRowContext(ctx, `SELECT `+destinationCols+` FROM destinations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return core.Destination{}, core.Advise(core.Advice{Action: core.ActionListDestinations}, core.ErrNotFound, "destination %d does not exist", id)
	}
	if err != nil {
		return core.Destination{}, c.dbError(fmt.Sprintf("read destination %d", id), err)
	}
	return d, nil
}

// Destinations lists every destination by name.
func (c *Catalog) Destinations(ctx context.Context) ([]core.Destination, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT `+destinationCols+` FROM destinations ORDER BY name`)
	if err != nil {
		return nil, c.dbError("list destinations", err)
	}
	defer rows.Close()
	var out []core.Destination
	for rows.Next() {
		d, err := c.scanDestination(rows)
		if err != nil {
			return nil, c.dbError("list destinations", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, c.dbError("list destinations", err)
	}
	return out, nil
}

// RemoveDestination removes the destination once nothing depends on it; see
// core.Catalog. Backups that were rotated or deleted stay in the history
// with their destination's name. A running backup always blocks the removal,
// since its process would go on writing to a destination that is gone.
func (c *Catalog) RemoveDestination(ctx context.Context, name string, forgetBackups bool) error {
	a := &core.AuditEntry{Action: core.ActionDestinationRemove, Target: "destination " + name}
	if forgetBackups {
		a.Detail = "forgetting its backups"
	}
	return c.change(ctx, fmt.Sprintf("remove destination %q", name), a, func(tx *txn) error {
		id, err := destinationID(ctx, tx, name)
		if err != nil {
			return err
		}
		users, first, err := destinationUsers(ctx, tx, id, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return core.Advise(first, core.ErrInvalid, "destination %q is still used by %s", name, joinList(users))
		}
		var running, live int
		if err := tx.QueryRowContext(ctx, `SELECT
				COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN status NOT IN ('rotated', 'deleted') THEN 1 ELSE 0 END), 0)
			FROM backups WHERE destination_id = ?`, id).Scan(&running, &live); err != nil {
			return err
		}
		if running > 0 {
			return core.Userf(core.ErrInvalid, "a backup is running on destination %q; wait for it to finish, then remove the destination", name)
		}
		if live > 0 && !forgetBackups {
			return core.Advise(core.Advice{Action: core.ActionForgetBackups, Destination: name}, core.ErrInvalid, "destination %q still has %d %s in the catalog", name, live, plural(live, "backup", "backups"))
		}
		if live > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM backups WHERE destination_id = ? AND status NOT IN ('rotated', 'deleted')`, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM destinations WHERE id = ?`, id)
		return err
	})
}

// destinationUsers names the services and templates with a configuration on
// the destination, and the advice to remove the first of them, for the
// message that refuses its removal.
func destinationUsers(ctx context.Context, q queryer, id int64, destination string) (users []string, first core.Advice, err error) {
	rows, err := q.QueryContext(ctx, `
		SELECT 'service', s.name FROM configurations c JOIN services s ON s.id = c.service_id WHERE c.destination_id = ?
		UNION ALL
		SELECT 'template', t.name FROM template_configurations c JOIN templates t ON t.id = c.template_id WHERE c.destination_id = ?
		ORDER BY 1, 2`, id, id)
	if err != nil {
		return nil, first, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			return nil, first, err
		}
		if first.Action == "" {
			if kind == "service" {
				first = core.Advice{Action: core.ActionRemoveConfiguration, Service: name, Destination: destination}
			} else {
				first = core.Advice{Action: core.ActionRemoveTemplateConfiguration, Detail: name, Destination: destination}
			}
		}
		users = append(users, fmt.Sprintf("%s %q", kind, name))
	}
	return users, first, rows.Err()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// orEmpty stores a secret kept as it is (nil) on a new row as no secret.
func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}
