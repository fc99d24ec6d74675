package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/odoo-backup/odoo-backup/core"
)

func templateNotFound(name string) error {
	return core.Advise(core.Advice{Action: core.ActionListTemplates, Detail: name}, core.ErrNotFound, "template %q does not exist", name)
}

func templateIDByName(ctx context.Context, q queryer, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM templates WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, templateNotFound(name)
	}
	return id, err
}

func templateSettings(tc core.TemplateConfiguration) settings {
	return settings{Frequency: tc.Frequency, Schedule: tc.Schedule, Retention: tc.Retention, Primary: tc.Primary, Drill: tc.Drill}
}

// AddTemplate records t with its configurations and sets t.ID. At most one
// configuration may be marked primary; if none is, the first one becomes it.
func (c *Catalog) AddTemplate(ctx context.Context, t *core.Template) error {
	if err := core.ValidateName("template", t.Name); err != nil {
		return err
	}
	seen := map[string]bool{}
	primaries := 0
	for _, tc := range t.Configurations {
		if seen[tc.Destination] {
			return core.Userf(core.ErrInvalid, "template %q lists destination %q twice; give each destination once", t.Name, tc.Destination)
		}
		seen[tc.Destination] = true
		if tc.Primary {
			primaries++
		}
		if err := validateSettings(fmt.Sprintf("template %q", t.Name), tc.Destination, templateSettings(tc)); err != nil {
			return err
		}
	}
	if primaries > 1 {
		return core.Userf(core.ErrInvalid, "template %q marks %d destinations as primary; mark exactly one", t.Name, primaries)
	}
	var id int64
	dests := make([]string, len(t.Configurations))
	for i, tc := range t.Configurations {
		dests[i] = tc.Destination
	}
	a := &core.AuditEntry{Action: core.ActionTemplateAdd, Target: "template " + t.Name}
	if len(dests) > 0 {
		a.Detail = "destinations " + joinList(dests)
	}
	err := c.change(ctx, fmt.Sprintf("add template %q", t.Name), a, func(tx *txn) error {
		if _, err := templateIDByName(ctx, tx, t.Name); err == nil {
			return core.Userf(core.ErrExists, "a template named %q already exists; choose another name", t.Name)
		} else if !errors.Is(err, core.ErrNotFound) {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO templates (name) VALUES (?) RETURNING id`, t.Name).Scan(&id); err != nil {
			return err
		}
		set := templateSet(t.Name, id)
		for _, tc := range t.Configurations {
			did, err := destinationID(ctx, tx, tc.Destination)
			if err != nil {
				return err
			}
			if err := set.set(ctx, tx, did, tc.Destination, templateSettings(tc)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.ID = id
	return nil
}

// SetTemplateConfiguration creates or updates the template's configuration on
// tc.Destination, with the same primary rules as SetConfiguration.
func (c *Catalog) SetTemplateConfiguration(ctx context.Context, template string, tc core.TemplateConfiguration) error {
	s := templateSettings(tc)
	if err := validateSettings(fmt.Sprintf("template %q", template), tc.Destination, s); err != nil {
		return err
	}
	a := &core.AuditEntry{Action: core.ActionTemplateSet,
		Target: fmt.Sprintf("template %s on destination %s", template, tc.Destination), Detail: describeSettings(s)}
	return c.change(ctx, fmt.Sprintf("configure template %q on destination %q", template, tc.Destination), a, func(tx *txn) error {
		tid, err := templateIDByName(ctx, tx, template)
		if err != nil {
			return err
		}
		did, err := destinationID(ctx, tx, tc.Destination)
		if err != nil {
			return err
		}
		return templateSet(template, tid).set(ctx, tx, did, tc.Destination, s)
	})
}

// RemoveTemplateConfiguration removes the template's configuration on
// destination, with the same primary rule as RemoveConfiguration. Services
// made from the template keep theirs.
func (c *Catalog) RemoveTemplateConfiguration(ctx context.Context, template, destination string) error {
	a := &core.AuditEntry{Action: core.ActionTemplateUnset, Target: fmt.Sprintf("template %s on destination %s", template, destination)}
	return c.change(ctx, fmt.Sprintf("remove configuration of template %q on destination %q", template, destination), a, func(tx *txn) error {
		tid, err := templateIDByName(ctx, tx, template)
		if err != nil {
			return err
		}
		did, err := destinationID(ctx, tx, destination)
		if err != nil {
			return err
		}
		return templateSet(template, tid).remove(ctx, tx, did, destination)
	})
}

var templateConfigurationQuery = `SELECT c.template_id, d.name, ` + columns("c.") + `
	FROM template_configurations c JOIN destinations d ON d.id = c.destination_id`

// templateConfigurations maps template ids to their configurations, primary
// first, then by destination name.
func templateConfigurations(ctx context.Context, q queryer, where string, args ...any) (map[int64][]core.TemplateConfiguration, error) {
	rows, err := q.QueryContext(ctx, templateConfigurationQuery+" "+where+" ORDER BY c.template_id, c.is_primary DESC, d.name", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]core.TemplateConfiguration{}
	for rows.Next() {
		var (
			tid  int64
			dest string
			s    settings
		)
		targets, finish := s.dests()
		if err := rows.Scan(append([]any{&tid, &dest}, targets...)...); err != nil {
			return nil, err
		}
		finish()
		out[tid] = append(out[tid], core.TemplateConfiguration{Destination: dest, Frequency: s.Frequency,
			Schedule: s.Schedule, Retention: s.Retention, Primary: s.Primary, Drill: s.Drill})
	}
	return out, rows.Err()
}

// Template returns the template named name with its configurations.
func (c *Catalog) Template(ctx context.Context, name string) (core.Template, error) {
	var t core.Template
	err := c.read(ctx, fmt.Sprintf("read template %q", name), func(tx *txn) error {
		id, err := templateIDByName(ctx, tx, name)
		if err != nil {
			return err
		}
		cfgs, err := templateConfigurations(ctx, tx, "WHERE c.template_id = ?", id)
		if err != nil {
			return err
		}
		t = core.Template{ID: id, Name: name, Configurations: cfgs[id]}
		return nil
	})
	return t, err
}

// Templates lists every template by name, with its configurations.
func (c *Catalog) Templates(ctx context.Context) ([]core.Template, error) {
	var out []core.Template
	err := c.read(ctx, "list templates", func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM templates ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t core.Template
			if err := rows.Scan(&t.ID, &t.Name); err != nil {
				return err
			}
			out = append(out, t)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		cfgs, err := templateConfigurations(ctx, tx, "")
		if err != nil {
			return err
		}
		for i := range out {
			out[i].Configurations = cfgs[out[i].ID]
		}
		return nil
	})
	return out, err
}

// RemoveTemplate removes the template and its configurations; services made
// from it are not linked to it and keep theirs.
func (c *Catalog) RemoveTemplate(ctx context.Context, name string) error {
	a := &core.AuditEntry{Action: core.ActionTemplateRemove, Target: "template " + name}
	return c.change(ctx, fmt.Sprintf("remove template %q", name), a, func(tx *txn) error {
		id, err := templateIDByName(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM templates WHERE id = ?`, id); err != nil {
			return err
		}
		return checkPrimaries(ctx, tx)
	})
}
