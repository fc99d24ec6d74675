package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/odoo-backup/odoo-backup/core"
)

// MigrateResult counts what a migration moved into the shared catalog.
type MigrateResult struct {
	Destinations int `json:"destinations"`
	// SharedDestinations were already in the target with the same
	// settings: the fleet shares them, and this host's rows point at them.
	SharedDestinations     int `json:"shared_destinations"`
	Services               int `json:"services"`
	Configurations         int `json:"configurations"`
	Templates              int `json:"templates"`
	SharedTemplates        int `json:"shared_templates"`
	TemplateConfigurations int `json:"template_configurations"`
	Backups                int `json:"backups"`
	Drills                 int `json:"drills"`
	Audit                  int `json:"audit"`
	// Secrets were decrypted with the source's key and sealed again with
	// the target's; references stay references.
	Secrets    int `json:"secrets"`
	References int `json:"references"`
	// Host is the host given to services that had none.
	Host string `json:"host"`
	// Renumbered are the backups that got new ids (MigrateOptions.RenumberBackups).
	Renumbered []RenumberedBackup `json:"renumbered,omitempty"`
}

// RenumberedBackup is a backup whose id the target already gave to another
// backup, copied under a new one.
type RenumberedBackup struct {
	Was int64 `json:"was"`
	ID  int64 `json:"id"`
}

// MigrateOptions change how Migrate copies.
type MigrateOptions struct {
	// RenumberBackups copies a backup whose id the target already gives to
	// another backup under a new id (listed in the result) instead of
	// refusing the migration.
	RenumberBackups bool
}

// migratedTables are the tables a migration copies, in the order their
// references need; notMigrated are the others, with the reason. Together
// they name every table of the SQLite schema (TestMigrateCoversEveryTable),
// so a table added by a later migration is a decision, not an omission.
var (
	migratedTables = []string{"destinations", "services", "service_hooks", "templates", "configurations", "template_configurations", "backups", "drills", "audit"}
	notMigrated    = map[string]string{
		"leases":            "they belong to the processes running now, on this host's catalog",
		"hosts":             "the life of this catalog's daemon; in the target each host's daemon records its own",
		"requests":          "work asked of a host's daemon, done or given up: one host's catalog asks no other host for any",
		"schedule_version":  "the target keeps its own, bumped by the copy",
		"schema_migrations": "the target's schema is brought up to date when it is opened",
		"sqlite_sequence":   "SQLite's own; the target's sequences move past the copied ids",
		"restores":          "the restore times of this host's catalog; the fleet's measured RTO starts from its next drill or restore",
		"notify_channels":   "each fleet sets its channels on its own catalog, sealed with the fleet's key",
		"notify_deliveries": "a record of what this host's daemon sent",
		"notify_state":      "the fleet's daemons announce from the shared catalog's own state",
		"pool_locks":        "the next backup to a locking destination locks its pool's objects again for as long as it needs",
	}
)

// Migrate copies the catalog src (SQLite, this host's) into dst (a shared
// PostgreSQL catalog) in one transaction on dst, so either everything moves
// or nothing is written: destinations (one with the same name and settings
// already in dst is shared; other settings are refused), services (one whose
// name dst already has is refused; a service without a host gets this
// host's name), configurations, templates (shared or refused as
// destinations are), the backup history under the same ids (ids dst already
// gives to other backups are refused, or with opts.RenumberBackups given new
// ids, listed in the result), drills and the audit trail, followed by one
// audit entry for the migration (a refused one is audited as failed). Leases are not copied. Secrets are
// decrypted with src's key and sealed with dst's, created when dst has none;
// references stay references. src is only read.
func Migrate(ctx context.Context, src, dst *Catalog, opts MigrateOptions) (MigrateResult, error) {
	res := MigrateResult{Host: core.HostName()}
	if src.db.pg || !dst.db.pg {
		return res, core.Userf(core.ErrInvalid, "a catalog migrates from an SQLite file into a PostgreSQL catalog, not from %s into %s", src.Path(), dst.Path())
	}
	m := &migration{src: src, dst: dst, res: &res, opts: opts, clash: map[int64]bool{}, backups: map[int64]int64{},
		destinations: map[int64]int64{}, services: map[int64]int64{}, templates: map[int64]int64{}, sharedTemplates: map[int64]bool{}}
	stx, err := src.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, src.dbError("read the catalog "+src.Path(), err)
	}
	// A read transaction: the copy sees one state of the source.
	defer stx.Rollback()
	if _, err := stx.ExecContext(ctx, `SELECT 1 FROM destinations LIMIT 1`); err != nil {
		return res, src.dbError("read the catalog "+src.Path(), err)
	}
	m.stx = stx
	// A refused migration is recorded too, as failed, with its reason.
	a := &core.AuditEntry{Action: core.ActionCatalogMigrate, Target: "catalog " + src.Path(), Detail: "from host " + res.Host}
	err = dst.change(ctx, "migrate the catalog "+src.Path()+" into "+dst.Path(), a, func(tx *txn) error {
		m.tx = tx
		for _, step := range []func(context.Context) error{
			// Every check comes before the first write.
			m.checkRunning, m.checkTargetKey, m.checkServices, m.checkBackupIDs, m.checkDestinations, m.checkTemplates,
			m.checkSourceSecrets,
			m.copyDestinations, m.copyServices, m.copyServiceHooks, m.copyTemplates,
			m.copyConfigurations, m.copyTemplateConfigurations, m.copyBackups, m.copyDrills, m.copyAudit,
		} {
			if err := step(ctx); err != nil {
				return err
			}
		}
		a.Detail = fmt.Sprintf("from host %s: %s", res.Host, res.Summary())
		return nil
	})
	if err != nil {
		return MigrateResult{Host: res.Host}, err
	}
	return res, nil
}

// Summary is the counts in a line, for the audit trail.
func (r MigrateResult) Summary() string {
	return fmt.Sprintf("%d destinations (%d shared), %d services, %d configurations, %d templates (%d shared), %d template configurations, %d backups (%d renumbered), %d drills, %d audit entries, %d secrets sealed again, %d references",
		r.Destinations, r.SharedDestinations, r.Services, r.Configurations, r.Templates, r.SharedTemplates,
		r.TemplateConfigurations, r.Backups, len(r.Renumbered), r.Drills, r.Audit, r.Secrets, r.References)
}

type migration struct {
	opts     MigrateOptions
	src, dst *Catalog
	stx, tx  *txn
	res      *MigrateResult
	// Source id to target id: the target numbers these rows itself, since
	// its own rows (other hosts') already use the source's numbers.
	destinations, services, templates map[int64]int64
	// sharedTemplates are the source's templates the target already had.
	sharedTemplates map[int64]bool
	// clash are the source's backup ids the target already gives; backups
	// maps those renumbered to their new ids.
	clash   map[int64]bool
	backups map[int64]int64
	// dests and tmpls are the source's destinations and templates, read
	// by the checks.
	dests, tmpls *table
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// table is the rows of a source table, by column name.
type table struct {
	cols []string
	at   map[string]int
	rows [][]any
}

func (t *table) get(row []any, col string) any { return row[t.at[col]] }

func (t *table) str(row []any, col string) string {
	switch v := t.get(row, col).(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func (t *table) id(row []any, col string) (int64, bool) {
	v, ok := t.get(row, col).(int64)
	return v, ok
}

// columns lists a source table's columns, and checks the target has each
// (both catalogs are opened by this odoo-backup, so their schemas match;
// this keeps a difference from losing a column quietly).
func (m *migration) columns(ctx context.Context, name string) ([]string, error) {
	cols, err := queryColumn[string](ctx, m.stx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, name)
	if err != nil {
		return nil, err
	}
	targetCols, err := queryColumn[string](ctx, m.tx, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`, name)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, c := range targetCols {
		have[c] = true
	}
	for _, c := range cols {
		if !have[c] {
			return nil, core.Userf(core.ErrInvalid, "the catalog %s has no column %s.%s that %s has, so nothing was migrated; open both with the same odoo-backup", m.dst.Path(), name, c, m.src.Path())
		}
	}
	return cols, nil
}

// load reads a whole source table, oldest first.
func (m *migration) load(ctx context.Context, name string) (*table, error) {
	cols, err := m.columns(ctx, name)
	if err != nil {
		return nil, err
	}
	t := &table{cols: cols, at: map[string]int{}}
	for i, c := range cols {
		t.at[c] = i
	}
	err = m.each(ctx, name, cols, func(row []any) error {
		t.rows = append(t.rows, row)
		return nil
	})
	return t, err
}

// each calls fn with every row of a source table, oldest first, without
// holding the table in memory.
func (m *migration) each(ctx context.Context, name string, cols []string, fn func(row []any) error) error {
	order := cols[0] // a table without an id (service_hooks) keeps its first key's order
	if slices.Contains(cols, "id") {
		order = "id"
	}
	rows, err := m.stx.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+name+` ORDER BY `+order)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		row := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range row {
			if b, ok := v.([]byte); ok {
				row[i] = string(b)
			}
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// without is cols less the named ones.
func without(cols []string, drop ...string) []string {
	var out []string
	for _, c := range cols {
		if !contains(drop, c) {
			out = append(out, c)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// pick is row's values for cols.
func (t *table) pick(row []any, cols []string) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		out[i] = t.get(row, c)
	}
	return out
}

// insertOne inserts a row into the target and returns its new id.
func (m *migration) insertOne(ctx context.Context, name string, cols []string, vals []any) (int64, error) {
	var id int64
	err := m.tx.QueryRowContext(ctx, `INSERT INTO `+name+` (`+strings.Join(cols, ", ")+`) VALUES (`+placeholders(len(cols))+`) RETURNING id`, vals...).Scan(&id)
	return id, err
}

// batch inserts rows into a target table many at a time.
type batch struct {
	m    *migration
	name string
	cols []string
	args []any
	n    int
}

func (b *batch) add(ctx context.Context, vals []any) error {
	b.args = append(b.args, vals...)
	b.n++
	// PostgreSQL takes at most 65535 parameters in one statement.
	if len(b.args)+len(b.cols) > 8000 {
		return b.flush(ctx)
	}
	return nil
}

func (b *batch) flush(ctx context.Context) error {
	if b.n == 0 {
		return nil
	}
	row := "(" + placeholders(len(b.cols)) + ")"
	q := `INSERT INTO ` + b.name + ` (` + strings.Join(b.cols, ", ") + `) VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", b.n), ", ")
	if _, err := b.m.tx.ExecContext(ctx, q, b.args...); err != nil {
		return err
	}
	b.args, b.n = b.args[:0], 0
	return nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// checkRunning refuses a source with backups still running: their process
// would go on writing to the old catalog.
func (m *migration) checkRunning(ctx context.Context) error {
	running, err := queryColumn[int64](ctx, m.stx, `SELECT id FROM backups WHERE status = 'running' ORDER BY id`)
	if err != nil {
		return err
	}
	var ids []string
	for _, id := range running {
		ids = append(ids, fmt.Sprint(id))
	}
	if len(ids) > 0 {
		return core.Userf(core.ErrInvalid, "%s still running in %s, so nothing was migrated; let %s finish and stop this host's daemon first", plural(len(ids), "backup "+ids[0]+" is", "backups "+joinList(ids)+" are"), m.src.Path(), plural(len(ids), "it", "them"))
	}
	return nil
}

// checkTargetKey: secrets already sealed in the target must be readable
// here, or this host would seal the copied ones with a key of its own
// that no other host has.
func (m *migration) checkTargetKey(ctx context.Context) error {
	sealed, err := m.dst.hasSealedSecrets(ctx, m.tx)
	if err != nil || !sealed {
		return err
	}
	var column, name, stored string
	err = m.tx.QueryRowContext(ctx, sealedSecretRows(true)+` LIMIT 1`).Scan(&column, &name, &stored)
	if err != nil {
		return err
	}
	col := sealedColumn(column, name)
	s := m.dst.open(col, stored)
	reason, bad := s.Unreadable()
	if !bad {
		return nil
	}
	_, err = s.Resolve(col.what)
	a, _ := core.AdviceOf(err)
	return core.Advise(a, core.ErrAccessDenied, "the secrets of %s cannot be read on this host, so nothing was migrated: %s", m.dst.Path(), reason)
}

func (m *migration) checkServices(ctx context.Context) error {
	names, err := queryColumn[any](ctx, m.stx, `SELECT name FROM services ORDER BY name`)
	if err != nil || len(names) == 0 {
		return err
	}
	var taken []string
	for start := 0; start < len(names); start += 500 {
		chunk := names[start:min(start+500, len(names))]
		there, err := queryColumn[string](ctx, m.tx, `SELECT name FROM services WHERE name IN (`+placeholders(len(chunk))+`) ORDER BY name`, chunk...)
		if err != nil {
			return err
		}
		for _, n := range there {
			taken = append(taken, fmt.Sprintf("%q", n))
		}
	}
	if len(taken) > 0 {
		return core.Userf(core.ErrExists, "the %s %s already in %s, so nothing was migrated (was this catalog migrated before?); a service is never overwritten: rename it here, or remove it there, first",
			plural(len(taken), "service", "services"), joinList(taken)+plural(len(taken), " is", " are"), m.dst.Path())
	}
	return nil
}

// checkBackupIDs refuses backup ids the target already gives to other
// backups: ids are kept so that ids printed before, in logs and scripts,
// still name the same backup, and the safe answer to a clash is to move
// nothing rather than to renumber what people may have noted.
func (m *migration) checkBackupIDs(ctx context.Context) error {
	var lo, hi *int64
	if err := m.stx.QueryRowContext(ctx, `SELECT MIN(id), MAX(id) FROM backups`).Scan(&lo, &hi); err != nil || lo == nil {
		return err
	}
	there, err := queryColumn[any](ctx, m.tx, `SELECT id FROM backups WHERE id BETWEEN ? AND ? ORDER BY id`, *lo, *hi)
	if err != nil {
		return err
	}
	var clash []int64
	defer func() {
		for _, id := range clash {
			m.clash[id] = true
		}
	}()
	for start := 0; start < len(there); start += 500 {
		chunk := there[start:min(start+500, len(there))]
		ids, err := queryColumn[int64](ctx, m.stx, `SELECT id FROM backups WHERE id IN (`+placeholders(len(chunk))+`) ORDER BY id`, chunk...)
		if err != nil {
			return err
		}
		clash = append(clash, ids...)
	}
	if len(clash) == 0 || m.opts.RenumberBackups {
		return nil
	}
	shown := make([]string, 0, 5)
	for _, id := range clash[:min(5, len(clash))] {
		shown = append(shown, fmt.Sprint(id))
	}
	more := ""
	if len(clash) > len(shown) {
		more = fmt.Sprintf(" (and %d more)", len(clash)-len(shown))
	}
	return core.Advise(core.Advice{Action: core.ActionRenumberBackups}, core.ErrExists, "%s already %s other backups in %s, so nothing was migrated: ids are kept so that ids noted before still name the same backup, and %s would then name two",
		plural(len(clash), "the backup id "+shown[0], "the backup ids "+joinList(shown)+more), plural(len(clash), "names", "name"), m.dst.Path(), plural(len(clash), "it", "they"))
}

// checkSourceSecrets refuses a source whose sealed secrets its key does not
// open: they would be lost.
func (m *migration) checkSourceSecrets(ctx context.Context) error {
	rows, err := m.stx.QueryContext(ctx, sealedSecretRows(false))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var column, name, stored string
		if err := rows.Scan(&column, &name, &stored); err != nil {
			return err
		}
		col := sealedColumn(column, name)
		if _, err := m.src.open(col, stored).Resolve(col.what); err != nil {
			a, _ := core.AdviceOf(err)
			return core.Advise(a, core.ErrAccessDenied, "nothing was migrated: %s", errorSentence(err))
		}
	}
	return rows.Err()
}

// secret turns a secret stored in the source into what the target stores.
func (m *migration) secret(col secretColumn, stored string) (string, error) {
	switch {
	case stored == "":
		return "", nil
	case strings.HasPrefix(stored, refPrefix):
		m.res.References++
		return stored, nil
	}
	s := m.src.open(col, stored)
	if reason, bad := s.Unreadable(); bad {
		_, err := s.Resolve(col.what)
		a, _ := core.AdviceOf(err)
		return "", core.Advise(a, core.ErrAccessDenied, "nothing was migrated: %s", reason)
	}
	sealed, _, err := m.dst.seal(col, s)
	if err != nil {
		return "", err
	}
	m.res.Secrets++
	return sealed, nil
}

// checkDestinations finds the source's destinations the target already
// has: the same settings are shared, others refused. It writes nothing, so
// a refusal leaves even the target's sequences as they were.
func (m *migration) checkDestinations(ctx context.Context) error {
	t, err := m.load(ctx, "destinations")
	if err != nil {
		return err
	}
	m.dests = t
	settings := without(t.cols, "id", "created_at", "secret_key", "encrypt_passphrase")
	for _, row := range t.rows {
		srcID, _ := t.id(row, "id")
		name := t.str(row, "name")
		there := make([]any, len(settings)+3)
		ptrs := make([]any, len(there))
		for i := range there {
			ptrs[i] = &there[i]
		}
		err := m.tx.QueryRowContext(ctx, `SELECT id, secret_key, encrypt_passphrase, `+strings.Join(settings, ", ")+` FROM destinations WHERE name = ?`, name).Scan(ptrs...)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := m.sameDestination(t, row, name, settings, there); err != nil {
			return err
		}
		m.destinations[srcID] = there[0].(int64)
		m.res.SharedDestinations++
	}
	return nil
}

func (m *migration) copyDestinations(ctx context.Context) error {
	t := m.dests
	cols := without(t.cols, "id")
	for _, row := range t.rows {
		srcID, _ := t.id(row, "id")
		if _, shared := m.destinations[srcID]; shared {
			continue
		}
		name := t.str(row, "name")
		vals := t.pick(row, cols)
		for i, c := range cols {
			var err error
			switch c {
			case "secret_key":
				vals[i], err = m.secret(destinationSecret(name), t.str(row, c))
			case "encrypt_passphrase":
				vals[i], err = m.secret(destinationPassphrase(name), t.str(row, c))
			}
			if err != nil {
				return err
			}
		}
		id, err := m.insertOne(ctx, "destinations", cols, vals)
		if err != nil {
			return err
		}
		m.destinations[srcID] = id
		m.res.Destinations++
	}
	return nil
}

// sameDestination refuses a destination of the same name whose settings
// differ from the target's, naming what differs; secrets are compared by
// what they decrypt to.
func (m *migration) sameDestination(t *table, row []any, name string, settings []string, there []any) error {
	var differ []string
	for i, c := range settings {
		if fmt.Sprint(t.get(row, c)) != fmt.Sprint(there[i+3]) {
			differ = append(differ, strings.ReplaceAll(c, "_", " "))
		}
	}
	for i, col := range []secretColumn{destinationSecret(name), destinationPassphrase(name)} {
		stored := t.str(row, []string{"secret_key", "encrypt_passphrase"}[i])
		theirs, _ := there[i+1].(string)
		if string(m.src.open(col, stored)) != string(m.dst.open(col, theirs)) {
			differ = append(differ, []string{"secret key", "encryption passphrase"}[i])
		}
	}
	if len(differ) == 0 {
		return nil
	}
	return core.Userf(core.ErrExists, "destination %q is already in %s with another %s, so nothing was migrated; a fleet shares a destination only when its settings are the same: rename one of them first",
		name, m.dst.Path(), joinList(differ))
}

func (m *migration) copyServices(ctx context.Context) error {
	t, err := m.load(ctx, "services")
	if err != nil {
		return err
	}
	cols := without(t.cols, "id")
	for _, row := range t.rows {
		srcID, _ := t.id(row, "id")
		name := t.str(row, "name")
		vals := t.pick(row, cols)
		for i, c := range cols {
			switch c {
			case "db_password":
				if vals[i], err = m.secret(servicePassword(name), t.str(row, c)); err != nil {
					return err
				}
			case "host":
				// A catalog of one host names no host: it is this one.
				if t.str(row, c) == "" {
					vals[i] = m.res.Host
				}
			}
		}
		id, err := m.insertOne(ctx, "services", cols, vals)
		if err != nil {
			return err
		}
		m.services[srcID] = id
		m.res.Services++
	}
	return nil
}

// templateShape is a template's configurations as comparable text: the
// destination's name and every setting, one line each, sorted.
func (m *migration) templateShape(ctx context.Context, q *txn, id int64, settings []string) (string, error) {
	sel := make([]string, len(settings))
	for i, c := range settings {
		sel[i] = "tc." + c
	}
	rows, err := q.QueryContext(ctx, `SELECT d.name, `+strings.Join(sel, ", ")+` FROM template_configurations tc
		JOIN destinations d ON d.id = tc.destination_id WHERE tc.template_id = ?`, id)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(settings)+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts[i] = fmt.Sprint(v)
		}
		lines = append(lines, strings.Join(parts, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), rows.Err()
}

// checkTemplates finds the source's templates the target already has:
// the same configurations are shared, others refused. It writes nothing.
func (m *migration) checkTemplates(ctx context.Context) error {
	t, err := m.load(ctx, "templates")
	if err != nil {
		return err
	}
	m.tmpls = t
	tcCols, err := m.columns(ctx, "template_configurations")
	if err != nil {
		return err
	}
	settings := without(tcCols, "id", "template_id", "destination_id")
	for _, row := range t.rows {
		srcID, _ := t.id(row, "id")
		name := t.str(row, "name")
		var thereID int64
		err := m.tx.QueryRowContext(ctx, `SELECT id FROM templates WHERE name = ?`, name).Scan(&thereID)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return err
		}
		mine, err := m.templateShape(ctx, m.stx, srcID, settings)
		if err != nil {
			return err
		}
		theirs, err := m.templateShape(ctx, m.tx, thereID, settings)
		if err != nil {
			return err
		}
		if mine != theirs {
			return core.Userf(core.ErrExists, "template %q is already in %s with other configurations, so nothing was migrated; a fleet shares a template only when it is the same: rename one of them first", name, m.dst.Path())
		}
		m.templates[srcID] = thereID
		m.sharedTemplates[srcID] = true
		m.res.SharedTemplates++
	}
	return nil
}

func (m *migration) copyTemplates(ctx context.Context) error {
	t := m.tmpls
	cols := without(t.cols, "id")
	for _, row := range t.rows {
		srcID, _ := t.id(row, "id")
		if m.sharedTemplates[srcID] {
			continue
		}
		id, err := m.insertOne(ctx, "templates", cols, t.pick(row, cols))
		if err != nil {
			return err
		}
		m.templates[srcID] = id
		m.res.Templates++
	}
	return nil
}

// copyRows copies a table row by row through fix, which rewrites the
// references a row holds; it returns false for a row to leave out.
func (m *migration) copyRows(ctx context.Context, name string, drop []string, fix func(t *table, row []any) (bool, error)) (int, error) {
	srcCols, err := m.columns(ctx, name)
	if err != nil {
		return 0, err
	}
	t := &table{cols: srcCols, at: map[string]int{}}
	for i, c := range srcCols {
		t.at[c] = i
	}
	cols := without(srcCols, drop...)
	b := &batch{m: m, name: name, cols: cols}
	n := 0
	err = m.each(ctx, name, srcCols, func(row []any) error {
		ok, err := fix(t, row)
		if err != nil || !ok {
			return err
		}
		n++
		return b.add(ctx, t.pick(row, cols))
	})
	if err != nil {
		return 0, err
	}
	return n, b.flush(ctx)
}

// remap replaces the id in column col of row by its target id. NULL stays
// NULL; an id the source no longer has (drills keep a removed service's
// as 0) is left as it is.
func remap(t *table, row []any, col string, ids map[int64]int64) {
	if old, ok := t.id(row, col); ok {
		if id, ok := ids[old]; ok {
			row[t.at[col]] = id
		}
	}
}

func (m *migration) copyConfigurations(ctx context.Context) (err error) {
	// The ping URL is a secret: sealed again with the target's key, under
	// the names of its service and destination.
	names := map[int64]string{}
	rows, err := m.stx.QueryContext(ctx, `SELECT c.id, s.name || '/' || d.name FROM configurations c
		JOIN services s ON s.id = c.service_id JOIN destinations d ON d.id = c.destination_id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		names[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	m.res.Configurations, err = m.copyRows(ctx, "configurations", []string{"id"}, func(t *table, row []any) (bool, error) {
		if i, ok := t.at["ping_url"]; ok {
			id, _ := t.id(row, "id")
			sealed, err := m.secret(sealedColumn("configurations.ping_url", names[id]), t.str(row, "ping_url"))
			if err != nil {
				return false, err
			}
			row[i] = sealed
		}
		remap(t, row, "service_id", m.services)
		remap(t, row, "destination_id", m.destinations)
		return true, nil
	})
	return err
}

// copyServiceHooks copies the hooks of the services copied.
func (m *migration) copyServiceHooks(ctx context.Context) error {
	_, err := m.copyRows(ctx, "service_hooks", nil, func(t *table, row []any) (bool, error) {
		remap(t, row, "service_id", m.services)
		return true, nil
	})
	return err
}

func (m *migration) copyTemplateConfigurations(ctx context.Context) (err error) {
	m.res.TemplateConfigurations, err = m.copyRows(ctx, "template_configurations", []string{"id"}, func(t *table, row []any) (bool, error) {
		old, _ := t.id(row, "template_id")
		if m.sharedTemplates[old] {
			// A shared template keeps the target's configurations, the same.
			return false, nil
		}
		remap(t, row, "template_id", m.templates)
		remap(t, row, "destination_id", m.destinations)
		return true, nil
	})
	return err
}

func (m *migration) copyBackups(ctx context.Context) (err error) {
	// The ids are kept: the target's catalog_fill_id trigger moves its
	// sequence past them.
	m.res.Backups, err = m.copyRows(ctx, "backups", nil, func(t *table, row []any) (bool, error) {
		if id, _ := t.id(row, "id"); m.clash[id] {
			return false, nil
		}
		remap(t, row, "service_id", m.services)
		remap(t, row, "destination_id", m.destinations)
		return true, nil
	})
	if err != nil || len(m.clash) == 0 {
		return err
	}
	// Then those whose ids the target gives already, renumbered, oldest
	// first: the sequence is past every id copied, so no new id clashes.
	cols, err := m.columns(ctx, "backups")
	if err != nil {
		return err
	}
	t := &table{cols: cols, at: map[string]int{}}
	for i, c := range cols {
		t.at[c] = i
	}
	insert := without(cols, "id")
	return m.each(ctx, "backups", cols, func(row []any) error {
		was, _ := t.id(row, "id")
		if !m.clash[was] {
			return nil
		}
		remap(t, row, "service_id", m.services)
		remap(t, row, "destination_id", m.destinations)
		id, err := m.insertOne(ctx, "backups", insert, t.pick(row, insert))
		if err != nil {
			return err
		}
		m.backups[was] = id
		m.res.Renumbered = append(m.res.Renumbered, RenumberedBackup{Was: was, ID: id})
		m.res.Backups++
		return nil
	})
}

func (m *migration) copyDrills(ctx context.Context) (err error) {
	m.res.Drills, err = m.copyRows(ctx, "drills", []string{"id"}, func(t *table, row []any) (bool, error) {
		// 0 is a removed service. Backup ids are kept, but for those
		// renumbered.
		remap(t, row, "service_id", m.services)
		remap(t, row, "backup_id", m.backups)
		return true, nil
	})
	return err
}

func (m *migration) copyAudit(ctx context.Context) (err error) {
	m.res.Audit, err = m.copyRows(ctx, "audit", []string{"id"}, func(*table, []any) (bool, error) { return true, nil })
	return err
}
