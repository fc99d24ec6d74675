package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/odoo-backup/odoo-backup/core"
)

const serviceCols = `id, name, db_host, db_port, db_user, db_password, db_name, filestore_dir, odoo_conf, placeholder, created_at, host, rpo_target, rto_target`

// scanService reads a row and decrypts its password.
func (c *Catalog) scanService(row interface{ Scan(...any) error }) (core.Service, error) {
	var (
		s        core.Service
		password string
		created  int64
	)
	err := row.Scan(&s.ID, &s.Name, &s.DB.Host, &s.DB.Port, &s.DB.User, &password, &s.DB.Database,
		&s.FilestoreDir, &s.OdooConf, &s.Placeholder, &created, &s.Host, &s.RPOTargetSeconds, &s.RTOTargetSeconds)
	if err != nil {
		return s, err
	}
	s.DB.Password = c.open(servicePassword(s.Name), password)
	s.CreatedAt = fromNanos(created)
	return s, nil
}

// describeService is the audit detail of a service, without its password.
func describeService(s core.Service) string {
	d := fmt.Sprintf("database %s on %s as %s, filestore %s", s.DB.Database, s.DB.Address(), s.DB.User, s.FilestoreDir)
	if ref := s.DB.Password.Ref(); ref != "" {
		d += ", password from " + ref
	}
	if s.Placeholder {
		d = "recreated from backups"
	}
	if s.RPOTargetSeconds > 0 {
		d += ", RPO target " + core.FormatTarget(s.RPOTarget())
	}
	if s.RTOTargetSeconds > 0 {
		d += ", RTO target " + core.FormatTarget(s.RTOTarget())
	}
	return d
}

// validateService lets a placeholder (made by a catalog rebuild) go without
// a database, since it has no usable connection yet anyway.
func validateService(s core.Service) error {
	if err := core.ValidateName("service", s.Name); err != nil {
		return err
	}
	if s.DB.Database == "" && !s.Placeholder {
		return core.Advise(core.Advice{Action: core.ActionGiveDatabase, Service: s.Name}, core.ErrInvalid, "service %q has no database", s.Name)
	}
	if s.DB.Database != "" {
		if err := core.ValidateDatabaseName(s.DB.Database); err != nil {
			return err
		}
	}
	if s.Host != "" {
		if err := core.ValidateHostName(s.Host); err != nil {
			return err
		}
	}
	if s.DB.Port < 0 || s.DB.Port > 65535 {
		return core.Userf(core.ErrInvalid, "service %q has PostgreSQL port %d; give a port between 1 and 65535, or none for the default", s.Name, s.DB.Port)
	}
	return nil
}

func serviceNotFound(name string) error {
	return core.Advise(core.Advice{Action: core.ActionListServices, Service: name}, core.ErrNotFound, "service %q does not exist", name)
}

func serviceExists(name string) error {
	return core.Userf(core.ErrExists, "a service named %q already exists; choose another name", name)
}

func serviceID(ctx context.Context, q queryer, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM services WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, serviceNotFound(name)
	}
	return id, err
}

// AddService records s, sets s.ID and (unless given) s.CreatedAt, and copies
// the template's configurations, primary flag included. Adding a service
// whose name is a placeholder (made by a catalog rebuild) turns the
// placeholder into s, keeping its id and creation time.
func (c *Catalog) AddService(ctx context.Context, s *core.Service, template string) error {
	if err := validateService(*s); err != nil {
		return err
	}
	created := s.CreatedAt
	if created.IsZero() {
		created = c.now()
	}
	if err := checkTime("creation time", created); err != nil {
		return err
	}
	password, keep, err := c.seal(servicePassword(s.Name), s.DB.Password)
	if err != nil {
		return err
	}
	if keep {
		password = ""
	}
	// A service belongs to the host that adds it unless told otherwise:
	// in a shared catalog, a service of no host would be every host's.
	if s.Host == "" {
		s.Host = core.HostName()
	}
	var id int64
	a := &core.AuditEntry{Action: core.ActionServiceAdd, Service: s.Name, Target: "service " + s.Name, Detail: describeService(*s)}
	if template != "" {
		a.Detail += ", from template " + template
	}
	err = c.change(ctx, fmt.Sprintf("add service %q", s.Name), a, func(tx *txn) error {
		adopt := false
		if existing, err := c.scanService(tx.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE name = ?`, s.Name)); err == nil {
			// A placeholder left by a catalog rebuild is the same service
			// coming back: adding it for real gives it its connection and
			// keeps its id, so its rebuilt backups are its own again.
			if !existing.Placeholder || s.Placeholder {
				return serviceExists(s.Name)
			}
			adopt, id, created = true, existing.ID, existing.CreatedAt
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var templateID int64
		if template != "" {
			var err error
			if templateID, err = templateIDByName(ctx, tx, template); err != nil {
				return err
			}
		}
		if adopt {
			var configs int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM configurations WHERE service_id = ?`, id).Scan(&configs); err != nil {
				return err
			}
			if template != "" && configs > 0 {
				return core.Advise(core.Advice{Action: core.ActionAddWithoutTemplate, Service: s.Name, Detail: template}, core.ErrInvalid, "service %q (recreated from backups) already has %d %s, so template %q cannot be applied", s.Name, configs, plural(configs, "configuration", "configurations"), template)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE services SET db_host = ?, db_port = ?, db_user = ?,
				db_password = ?, db_name = ?, filestore_dir = ?, odoo_conf = ?, placeholder = 0, host = ?, rpo_target = ?, rto_target = ? WHERE id = ?`,
				s.DB.Host, s.DB.Port, s.DB.User, password, s.DB.Database,
				s.FilestoreDir, s.OdooConf, s.Host, s.RPOTargetSeconds, s.RTOTargetSeconds, id); err != nil {
				return err
			}
		} else if err := tx.QueryRowContext(ctx, `INSERT INTO services
			(name, db_host, db_port, db_user, db_password, db_name, filestore_dir, odoo_conf, placeholder, created_at, host, rpo_target, rto_target)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			s.Name, s.DB.Host, s.DB.Port, s.DB.User, password, s.DB.Database,
			s.FilestoreDir, s.OdooConf, s.Placeholder, toNanos(created), s.Host, s.RPOTargetSeconds, s.RTOTargetSeconds).Scan(&id); err != nil {
			return err
		}
		if template == "" {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO configurations (service_id, destination_id, `+settingsCols+`)
			SELECT ?, destination_id, `+settingsCols+` FROM template_configurations WHERE template_id = ?`,
			id, templateID); err != nil {
			return err
		}
		return checkPrimaries(ctx, tx)
	})
	if err != nil {
		return err
	}
	s.ID = id
	s.CreatedAt = fromNanos(toNanos(created))
	return nil
}

// UpdateService stores every field of s but CreatedAt. The row is the one
// with s.ID, or named s.Name when s.ID is 0; giving an id and a new name
// renames the service, and its backup history follows the new name.
func (c *Catalog) UpdateService(ctx context.Context, s core.Service) error {
	if err := validateService(s); err != nil {
		return err
	}
	sealed, keep, err := c.seal(servicePassword(s.Name), s.DB.Password)
	if err != nil {
		return err
	}
	var password any = sealed
	if keep {
		password = nil
	}
	a := &core.AuditEntry{Action: core.ActionServiceUpdate, Service: s.Name, Target: "service " + s.Name, Detail: describeService(s)}
	return c.change(ctx, fmt.Sprintf("update service %q", s.Name), a, func(tx *txn) error {
		id := s.ID
		if id == 0 {
			var err error
			if id, err = serviceID(ctx, tx, s.Name); err != nil {
				return err
			}
		}
		var oldName, oldHost string
		err := tx.QueryRowContext(ctx, `SELECT name, host FROM services WHERE id = ?`, id).Scan(&oldName, &oldHost)
		if errors.Is(err, sql.ErrNoRows) {
			return core.Advise(core.Advice{Action: core.ActionListServices}, core.ErrNotFound, "service %d does not exist", id)
		}
		if err != nil {
			return err
		}
		if oldName != s.Name {
			if _, err := serviceID(ctx, tx, s.Name); err == nil {
				return serviceExists(s.Name)
			} else if !errors.Is(err, core.ErrNotFound) {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE backups SET service_name = ? WHERE service_id = ?`, s.Name, id); err != nil {
				return err
			}
			a.Detail = "renamed from " + oldName + ", " + a.Detail
		}
		if s.Host != "" && s.Host != oldHost {
			from := oldHost
			if from == "" {
				from = core.HostName()
			}
			if from != s.Host {
				a.Detail = fmt.Sprintf("moved from host %s to host %s, %s", from, s.Host, a.Detail)
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE services SET name = ?, db_host = ?, db_port = ?, db_user = ?,
			db_password = COALESCE(?, db_password), db_name = ?, filestore_dir = ?, odoo_conf = ?, placeholder = ?, host = COALESCE(NULLIF(?, ''), host),
			rpo_target = ?, rto_target = ? WHERE id = ?`,
			s.Name, s.DB.Host, s.DB.Port, s.DB.User, password, s.DB.Database,
			s.FilestoreDir, s.OdooConf, s.Placeholder, s.Host, s.RPOTargetSeconds, s.RTOTargetSeconds, id)
		return err
	})
}

// Service returns the service named name.
func (c *Catalog) Service(ctx context.Context, name string) (core.Service, error) {
	s, err := c.scanService(c.db.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return core.Service{}, serviceNotFound(name)
	}
	if err != nil {
		return core.Service{}, c.dbError(fmt.Sprintf("read service %q", name), err)
	}
	return s, nil
}

// ServiceByID returns the service with that id.
func (c *Catalog) ServiceByID(ctx context.Context, id int64) (core.Service, error) {
	s, err := c.scanService(c.db.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return core.Service{}, core.Advise(core.Advice{Action: core.ActionListServices}, core.ErrNotFound, "service %d does not exist", id)
	}
	if err != nil {
		return core.Service{}, c.dbError(fmt.Sprintf("read service %d", id), err)
	}
	return s, nil
}

// Services lists every service by name.
func (c *Catalog) Services(ctx context.Context) ([]core.Service, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT `+serviceCols+` FROM services ORDER BY name`)
	if err != nil {
		return nil, c.dbError("list services", err)
	}
	defer rows.Close()
	var out []core.Service
	for rows.Next() {
		s, err := c.scanService(rows)
		if err != nil {
			return nil, c.dbError("list services", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, c.dbError("list services", err)
	}
	return out, nil
}

// RemoveService removes the service and its configurations; its backups stay
// in the history under its name. A running backup blocks the removal, since
// its process would go on recording a backup of a service that is gone.
func (c *Catalog) RemoveService(ctx context.Context, name string) error {
	a := &core.AuditEntry{Action: core.ActionServiceRemove, Service: name, Target: "service " + name}
	return c.change(ctx, fmt.Sprintf("remove service %q", name), a, func(tx *txn) error {
		id, err := serviceID(ctx, tx, name)
		if err != nil {
			return err
		}
		var running int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM backups WHERE service_id = ? AND status = 'running'`, id).Scan(&running); err != nil {
			return err
		}
		if running > 0 {
			return core.Userf(core.ErrInvalid, "a backup of service %q is running; wait for it to finish, then remove the service", name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM services WHERE id = ?`, id); err != nil {
			return err
		}
		return checkPrimaries(ctx, tx)
	})
}
