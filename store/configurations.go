package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// settings is what a service's and a template's configurations share.
type settings struct {
	Frequency core.Frequency
	Schedule  core.Schedule
	Retention core.Retention
	Primary   bool
	Drill     core.Frequency
}

var settingsColumns = []string{"frequency", "minute", "hour", "weekday", "month_day", "keep_last",
	"gfs_hourly", "gfs_daily", "gfs_weekly", "gfs_monthly", "gfs_yearly", "is_primary", "drill"}

func columns(prefix string) string {
	cols := make([]string, len(settingsColumns))
	for i, c := range settingsColumns {
		cols[i] = prefix + c
	}
	return strings.Join(cols, ", ")
}

var settingsCols = columns("")

// args are in settingsColumns order; a nil GFS stores NULLs, so "no rule"
// and "a rule of all zeros" stay apart.
func (s settings) args() []any {
	a := []any{string(s.Frequency), s.Schedule.Minute, s.Schedule.Hour, int(s.Schedule.Weekday), s.Schedule.MonthDay, s.Retention.KeepLast}
	if g := s.Retention.GFS; g != nil {
		a = append(a, g.Hourly, g.Daily, g.Weekly, g.Monthly, g.Yearly)
	} else {
		a = append(a, nil, nil, nil, nil, nil)
	}
	return append(a, s.Primary, string(s.Drill))
}

// dests returns scan targets in settingsColumns order; call finish after Scan.
func (s *settings) dests() (targets []any, finish func()) {
	var (
		freq    string
		drill   string
		weekday int
		gfs     [5]sql.NullInt64
	)
	targets = []any{&freq, &s.Schedule.Minute, &s.Schedule.Hour, &weekday, &s.Schedule.MonthDay, &s.Retention.KeepLast,
		&gfs[0], &gfs[1], &gfs[2], &gfs[3], &gfs[4], &s.Primary, &drill}
	return targets, func() {
		s.Frequency = core.Frequency(freq)
		s.Drill = core.Frequency(drill)
		s.Schedule.Weekday = time.Weekday(weekday)
		if gfs[0].Valid {
			s.Retention.GFS = &core.GFS{Hourly: int(gfs[0].Int64), Daily: int(gfs[1].Int64),
				Weekly: int(gfs[2].Int64), Monthly: int(gfs[3].Int64), Yearly: int(gfs[4].Int64)}
		}
	}
}

func validateSettings(owner, destination string, s settings) error {
	where := fmt.Sprintf("the configuration of %s on destination %q", owner, destination)
	switch s.Frequency {
	case core.Manual, core.Hourly, core.Daily, core.Weekly, core.Monthly:
	default:
		return core.Userf(core.ErrInvalid, "%s has frequency %q; use hourly, daily, weekly, monthly or manual", where, s.Frequency)
	}
	switch s.Drill {
	case core.Manual, core.Hourly, core.Daily, core.Weekly, core.Monthly:
	default:
		return core.Userf(core.ErrInvalid, "%s has drill frequency %q; use hourly, daily, weekly, monthly or manual", where, s.Drill)
	}
	sc := s.Schedule
	switch {
	case sc.Minute < 0 || sc.Minute > 59:
		return core.Userf(core.ErrInvalid, "%s runs at minute %d; give a minute from 0 to 59", where, sc.Minute)
	case sc.Hour < 0 || sc.Hour > 23:
		return core.Userf(core.ErrInvalid, "%s runs at hour %d; give an hour from 0 to 23", where, sc.Hour)
	case sc.Weekday < 0 || sc.Weekday > 6:
		return core.Userf(core.ErrInvalid, "%s runs on weekday %d; give a weekday from 0 (Sunday) to 6 (Saturday)", where, sc.Weekday)
	case sc.MonthDay < 0 || sc.MonthDay > 31 || (s.Frequency == core.Monthly && sc.MonthDay == 0):
		return core.Userf(core.ErrInvalid, "%s runs on day %d of the month; give a day from 1 to 31", where, sc.MonthDay)
	}
	r := s.Retention
	if r.KeepLast < 0 {
		return core.Userf(core.ErrInvalid, "%s keeps %d backups; give a count of 0 (keep all) or more", where, r.KeepLast)
	}
	if g := r.GFS; g != nil {
		if g.Hourly < 0 || g.Daily < 0 || g.Weekly < 0 || g.Monthly < 0 || g.Yearly < 0 {
			return core.Userf(core.ErrInvalid, "%s has a negative count in its GFS rule; give counts of 0 or more, e.g. 7d,4w,2m", where)
		}
		if r.KeepLast > 0 && *g != (core.GFS{}) {
			return core.Userf(core.ErrInvalid, "%s has both a keep count and a GFS rule; choose one of the two", where)
		}
	}
	return nil
}

// configSet is the configurations of one service or one template: the same
// rules over two tables.
type configSet struct {
	table string // configurations or template_configurations
	owner string // service_id or template_id
	kind  string // "service" or "template"
	name  string
	id    int64
}

func serviceSet(name string, id int64) configSet {
	return configSet{table: "configurations", owner: "service_id", kind: "service", name: name, id: id}
}

func templateSet(name string, id int64) configSet {
	return configSet{table: "template_configurations", owner: "template_id", kind: "template", name: name, id: id}
}

func (cs configSet) String() string { return fmt.Sprintf("%s %q", cs.kind, cs.name) }

// ownerAdvice is action about this service or template: Service names it,
// Detail is "template" for a template.
func (cs configSet) ownerAdvice(action core.Action) core.Advice {
	a := core.Advice{Action: action, Service: cs.name}
	if cs.kind == "template" {
		a.Detail = "template"
	}
	return a
}

// advice is the service's action, or the template's, with its name.
func (cs configSet) advice(service, template core.Action) core.Advice {
	if cs.kind == "service" {
		return core.Advice{Action: service, Service: cs.name}
	}
	return core.Advice{Action: template, Detail: cs.name}
}

// set creates or updates the configuration on one destination. Primary=true
// moves the flag here; Primary=false means "do not move the flag here", so
// updating the primary's other settings keeps it primary, and the flag only
// leaves a configuration when another one takes it.
func (cs configSet) set(ctx context.Context, tx *txn, destID int64, destination string, s settings) error {
	var (
		rowID     int64
		isPrimary bool
		others    int
	)
	err := tx.QueryRowContext(ctx, `SELECT id, is_primary FROM `+cs.table+` WHERE `+cs.owner+` = ? AND destination_id = ?`,
		cs.id, destID).Scan(&rowID, &isPrimary)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+cs.table+` WHERE `+cs.owner+` = ? AND destination_id <> ?`,
		cs.id, destID).Scan(&others); err != nil {
		return err
	}
	primary := isPrimary || s.Primary || others == 0
	if primary && !isPrimary && others > 0 {
		// Clear first: the partial unique index allows one primary at a time.
		if _, err := tx.ExecContext(ctx, `UPDATE `+cs.table+` SET is_primary = 0 WHERE `+cs.owner+` = ? AND is_primary = 1`, cs.id); err != nil {
			return err
		}
	}
	s.Primary = primary
	if exists {
		assign := make([]string, len(settingsColumns))
		for i, c := range settingsColumns {
			assign[i] = c + " = ?"
		}
		_, err = tx.ExecContext(ctx, `UPDATE `+cs.table+` SET `+strings.Join(assign, ", ")+` WHERE id = ?`,
			append(s.args(), rowID)...)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO `+cs.table+` (`+cs.owner+`, destination_id, `+settingsCols+`)
			VALUES (?, ?`+strings.Repeat(", ?", len(settingsColumns))+`)`,
			append([]any{cs.id, destID}, s.args()...)...)
	}
	if err != nil {
		return err
	}
	return checkPrimaries(ctx, tx)
}

// primary names the destination of the set's primary, "" when it has no
// configuration.
func (cs configSet) primary(ctx context.Context, tx *txn) (string, error) {
	var name string
	err := tx.QueryRowContext(ctx, `SELECT d.name FROM `+cs.table+` c JOIN destinations d ON d.id = c.destination_id
		WHERE c.`+cs.owner+` = ? AND c.is_primary = 1`, cs.id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}

// describeSettings is a configuration's audit detail.
func describeSettings(s settings) string {
	freq := string(s.Frequency)
	if freq == "" {
		freq = "manual"
	}
	d := "frequency " + freq
	switch {
	case s.Retention.GFS != nil:
		g := s.Retention.GFS
		d += fmt.Sprintf(", keep GFS %dh,%dd,%dw,%dm,%dy", g.Hourly, g.Daily, g.Weekly, g.Monthly, g.Yearly)
	case s.Retention.KeepLast > 0:
		d += fmt.Sprintf(", keep %d", s.Retention.KeepLast)
	}
	if s.Drill != core.Manual {
		d += ", drill " + string(s.Drill)
	}
	if s.Primary {
		d += ", primary"
	}
	return d
}

// remove deletes the configuration on one destination; the primary goes only
// when it is the last one, so the flag never has nowhere to be.
func (cs configSet) remove(ctx context.Context, tx *txn, destID int64, destination string) error {
	var (
		rowID     int64
		isPrimary bool
	)
	err := tx.QueryRowContext(ctx, `SELECT id, is_primary FROM `+cs.table+` WHERE `+cs.owner+` = ? AND destination_id = ?`,
		cs.id, destID).Scan(&rowID, &isPrimary)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Advise(cs.advice(core.ActionListConfigurations, core.ActionListTemplateConfigurations), core.ErrNotFound, "%s has no configuration on destination %q", cs, destination)
	}
	if err != nil {
		return err
	}
	if isPrimary {
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+cs.table+` WHERE `+cs.owner+` = ? AND id <> ?`,
			cs.id, rowID).Scan(&others); err != nil {
			return err
		}
		if others > 0 {
			return core.Advise(cs.ownerAdvice(core.ActionMovePrimary), core.ErrInvalid, "cannot remove the primary destination %q of %s while it has other destinations", destination, cs)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+cs.table+` WHERE id = ?`, rowID); err != nil {
		return err
	}
	return checkPrimaries(ctx, tx)
}

// checkPrimaries is the last guard of rule 3 before a commit: whatever the
// code above did, a service or template with configurations has exactly one
// primary, or nothing is saved.
func checkPrimaries(ctx context.Context, tx *txn) error {
	var kind, name string
	var primaries int
	err := tx.QueryRowContext(ctx, `
		SELECT 'service', s.name, SUM(c.is_primary) FROM configurations c JOIN services s ON s.id = c.service_id
		GROUP BY s.id, s.name HAVING SUM(c.is_primary) <> 1
		UNION ALL
		SELECT 'template', t.name, SUM(c.is_primary) FROM template_configurations c JOIN templates t ON t.id = c.template_id
		GROUP BY t.id, t.name HAVING SUM(c.is_primary) <> 1
		LIMIT 1`).Scan(&kind, &name, &primaries)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return core.Userf(core.ErrInvalid, "the change would leave %s %q with %d primary destinations instead of one, so it was not saved; mark exactly one destination as primary", kind, name, primaries)
}

// SetConfiguration creates or updates the configuration of c.Service on
// c.Destination. Primary=true moves the primary flag to it; Primary=false
// leaves the flag where it is, so a primary stays primary until another
// configuration takes the flag. The first configuration becomes primary.
func (c *Catalog) SetConfiguration(ctx context.Context, cfg core.Configuration) error {
	s := settings{Frequency: cfg.Frequency, Schedule: cfg.Schedule, Retention: cfg.Retention, Primary: cfg.Primary, Drill: cfg.Drill}
	if err := validateSettings(fmt.Sprintf("service %q", cfg.Service), cfg.Destination, s); err != nil {
		return err
	}
	a := &core.AuditEntry{Action: core.ActionConfigSet, Service: cfg.Service,
		Target: fmt.Sprintf("service %s on destination %s", cfg.Service, cfg.Destination), Detail: describeSettings(s)}
	return c.change(ctx, fmt.Sprintf("configure service %q on destination %q", cfg.Service, cfg.Destination), a, func(tx *txn) error {
		sid, err := serviceID(ctx, tx, cfg.Service)
		if err != nil {
			return err
		}
		did, err := destinationID(ctx, tx, cfg.Destination)
		if err != nil {
			return err
		}
		set := serviceSet(cfg.Service, sid)
		before, err := set.primary(ctx, tx)
		if err != nil {
			return err
		}
		if err := set.set(ctx, tx, did, cfg.Destination, s); err != nil {
			return err
		}
		if before != "" && before != cfg.Destination && s.Primary {
			a.Action = core.ActionPrimaryMove
			a.Detail = fmt.Sprintf("primary moved from %s to %s; %s", before, cfg.Destination, a.Detail)
		}
		return nil
	})
}

// RemoveConfiguration removes the configuration of service on destination;
// the backups it made stay in the history, as orphans.
func (c *Catalog) RemoveConfiguration(ctx context.Context, service, destination string) error {
	a := &core.AuditEntry{Action: core.ActionConfigRemove, Service: service,
		Target: fmt.Sprintf("service %s on destination %s", service, destination)}
	return c.change(ctx, fmt.Sprintf("remove configuration of service %q on destination %q", service, destination), a, func(tx *txn) error {
		sid, err := serviceID(ctx, tx, service)
		if err != nil {
			return err
		}
		did, err := destinationID(ctx, tx, destination)
		if err != nil {
			return err
		}
		return serviceSet(service, sid).remove(ctx, tx, did, destination)
	})
}

// pingURLCol is the configuration's ping URL in configurationQuery; a
// viewer reads ping_url_shown in its place (withoutSecrets).
const pingURLCol = `c.ping_url AS ping_url`

const configurationSelect = `SELECT c.service_id, s.name, c.destination_id, d.name, ` + pingURLCol + `, ` + "%s" + `
	FROM configurations c
	JOIN services s ON s.id = c.service_id
	JOIN destinations d ON d.id = c.destination_id`

var configurationQuery = fmt.Sprintf(configurationSelect, columns("c."))

func (c *Catalog) scanConfigurations(rows *sql.Rows) ([]core.Configuration, error) {
	defer rows.Close()
	var out []core.Configuration
	for rows.Next() {
		var (
			cfg  core.Configuration
			s    settings
			ping string
		)
		targets, finish := s.dests()
		if err := rows.Scan(append([]any{&cfg.ServiceID, &cfg.Service, &cfg.DestinationID, &cfg.Destination, &ping}, targets...)...); err != nil {
			return nil, err
		}
		finish()
		cfg.PingURL = c.open(pingURL(cfg.Service, cfg.Destination), ping)
		cfg.Frequency, cfg.Schedule, cfg.Retention, cfg.Primary, cfg.Drill = s.Frequency, s.Schedule, s.Retention, s.Primary, s.Drill
		out = append(out, cfg)
	}
	return out, rows.Err()
}

// Configurations lists the service's configurations, primary first, then by
// destination name.
func (c *Catalog) Configurations(ctx context.Context, service string) ([]core.Configuration, error) {
	var out []core.Configuration
	err := c.read(ctx, fmt.Sprintf("list configurations of service %q", service), func(tx *txn) error {
		if _, err := serviceID(ctx, tx, service); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, configurationQuery+` WHERE s.name = ? ORDER BY c.is_primary DESC, d.name`, service)
		if err != nil {
			return err
		}
		out, err = c.scanConfigurations(rows)
		return err
	})
	return out, err
}

// AllConfigurations lists every configuration by service name, each service's
// primary first, then by destination name.
func (c *Catalog) AllConfigurations(ctx context.Context) ([]core.Configuration, error) {
	rows, err := c.db.QueryContext(ctx, configurationQuery+` ORDER BY s.name, c.is_primary DESC, d.name`)
	if err != nil {
		return nil, c.dbError("list configurations", err)
	}
	out, err := c.scanConfigurations(rows)
	if err != nil {
		return nil, c.dbError("list configurations", err)
	}
	return out, nil
}

// Primary returns the service's primary configuration.
func (c *Catalog) Primary(ctx context.Context, service string) (core.Configuration, error) {
	var out core.Configuration
	err := c.read(ctx, fmt.Sprintf("read primary destination of service %q", service), func(tx *txn) error {
		if _, err := serviceID(ctx, tx, service); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, configurationQuery+` WHERE s.name = ? AND c.is_primary = 1`, service)
		if err != nil {
			return err
		}
		cfgs, err := c.scanConfigurations(rows)
		if err != nil {
			return err
		}
		if len(cfgs) == 0 {
			return core.Advise(core.Advice{Action: core.ActionAddConfiguration, Service: service}, core.ErrNotFound, "service %q has no backup configuration yet", service)
		}
		out = cfgs[0]
		return nil
	})
	return out, err
}
