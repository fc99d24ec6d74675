package odoosql

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// neutralizedMailServer is the name of the dummy outgoing mail server Odoo's
// own neutralization inserts, so that Odoo does not fall back to the SMTP
// server of its command line or odoo.conf once every real one is off.
const neutralizedMailServer = "neutralization - disable emails"

// Neutralize makes a restored copy of a production database safe to run
// beside it, as Odoo's neutralization (the data/neutralize.sql files of base,
// mail and payment) and its database duplication do: outgoing and incoming
// mail servers off (and a dummy outgoing one that goes nowhere), mail
// templates detached from their servers, every scheduled action off except
// the auto-vacuum job, webhooks pointed nowhere, live payment providers
// disabled, database.is_neutralized set, a fresh database.uuid and
// database.secret, and database.enterprise_code removed.
//
// Every statement is guarded by the existence of its table and columns, so it
// works on the schemas of Odoo 14 to 18 and on databases where the optional
// modules (mail, fetchmail, payment) are not installed. It runs in tx, which
// the caller commits, and returns what it did, one short line per step.
func Neutralize(ctx context.Context, tx pgx.Tx) ([]string, error) {
	n := &neutralizer{ctx: ctx, tx: tx}
	for _, step := range []func() error{
		n.mailServers, n.fetchmailServers, n.mailTemplates, n.crons, n.webhooks,
		n.paymentProviders, n.parameters,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return n.done, nil
}

// HasConfigParameters reports whether the database has Odoo's
// ir_config_parameter table, with its key and value columns.
func HasConfigParameters(ctx context.Context, tx pgx.Tx) (bool, error) {
	n := &neutralizer{ctx: ctx, tx: tx}
	return n.hasColumns("ir_config_parameter", "key", "value")
}

// NewIdentity gives the database a new database.uuid and database.secret
// (see parameters), in tx.
func NewIdentity(ctx context.Context, tx pgx.Tx) error {
	n := &neutralizer{ctx: ctx, tx: tx}
	for _, key := range []string{"database.uuid", "database.secret"} {
		if err := n.setParam(key, newUUID()); err != nil {
			return err
		}
	}
	return nil
}

type neutralizer struct {
	ctx  context.Context
	tx   pgx.Tx
	done []string
}

func (n *neutralizer) hasTable(table string) (bool, error) {
	var ok bool
	err := n.tx.QueryRow(n.ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok)
	return ok, err
}

func (n *neutralizer) hasColumns(table string, cols ...string) (bool, error) {
	var count int
	err := n.tx.QueryRow(n.ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND column_name = ANY($2)`, table, cols).Scan(&count)
	return count == len(cols), err
}

// exec runs sql when the table and columns exist, and notes what it did.
func (n *neutralizer) exec(table string, cols []string, what, sql string, args ...any) error {
	ok, err := n.hasTable(table)
	if err == nil && ok && len(cols) > 0 {
		ok, err = n.hasColumns(table, cols...)
	}
	if err != nil || !ok {
		return err
	}
	tag, err := n.tx.Exec(n.ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n.done = append(n.done, fmt.Sprintf("%s (%d)", what, tag.RowsAffected()))
	return nil
}

func (n *neutralizer) mailServers() error {
	if err := n.exec("ir_mail_server", []string{"active"}, "outgoing mail servers off",
		"UPDATE ir_mail_server SET active = false WHERE active IS NOT false"); err != nil {
		return err
	}
	// The dummy server, with whichever of Odoo's required columns this
	// version has (smtp_authentication appeared in 15.0).
	ok, err := n.hasColumns("ir_mail_server", "name", "smtp_host", "smtp_port", "smtp_encryption", "active")
	if err != nil || !ok {
		return err
	}
	cols := []string{"name", "smtp_host", "smtp_port", "smtp_encryption", "active"}
	vals := []string{"$1::varchar", "'invalid'", "1025", "'none'", "true"}
	if ok, err := n.hasColumns("ir_mail_server", "smtp_authentication"); err != nil {
		return err
	} else if ok {
		cols, vals = append(cols, "smtp_authentication"), append(vals, "'login'")
	}
	return n.exec("ir_mail_server", nil, "dummy outgoing mail server added",
		"INSERT INTO ir_mail_server ("+strings.Join(cols, ", ")+") SELECT "+strings.Join(vals, ", ")+
			" WHERE NOT EXISTS (SELECT 1 FROM ir_mail_server WHERE name = $1::varchar AND active)", neutralizedMailServer)
}

func (n *neutralizer) fetchmailServers() error {
	return n.exec("fetchmail_server", []string{"active"}, "incoming mail servers off",
		"UPDATE fetchmail_server SET active = false WHERE active IS NOT false")
}

func (n *neutralizer) mailTemplates() error {
	return n.exec("mail_template", []string{"mail_server_id"}, "mail templates detached from their servers",
		"UPDATE mail_template SET mail_server_id = NULL WHERE mail_server_id IS NOT NULL")
}

// crons turns off every scheduled action but the auto-vacuum job, which
// keeps the database tidy and sends nothing out. Odoo finds it by its
// external id base.autovacuum_job; its server action (model ir.autovacuum,
// code model._run_vacuum_cleaner()) finds it where ir_model_data does not.
func (n *neutralizer) crons() error {
	ok, err := n.hasColumns("ir_cron", "active")
	if err != nil || !ok {
		return err
	}
	var keep []string
	if ok, err := n.hasColumns("ir_model_data", "model", "module", "name", "res_id"); err != nil {
		return err
	} else if ok {
		keep = append(keep, `EXISTS (SELECT 1 FROM ir_model_data d WHERE d.model = 'ir.cron'
			AND d.module = 'base' AND d.name = 'autovacuum_job' AND d.res_id = ir_cron.id)`)
	}
	hasLink, err := n.hasColumns("ir_cron", "ir_actions_server_id")
	if err != nil {
		return err
	}
	if ok, err := n.hasColumns("ir_act_server", "model_name", "code"); err != nil {
		return err
	} else if ok && hasLink {
		keep = append(keep, `EXISTS (SELECT 1 FROM ir_act_server a WHERE a.id = ir_cron.ir_actions_server_id
			AND (a.model_name = 'ir.autovacuum' OR position('_run_vacuum_cleaner' IN coalesce(a.code, '')) > 0))`)
	}
	where := "active IS NOT false"
	if len(keep) > 0 {
		where += " AND NOT (" + strings.Join(keep, " OR ") + ")"
	}
	return n.exec("ir_cron", nil, "scheduled actions off except the auto-vacuum job",
		"UPDATE ir_cron SET active = false WHERE "+where)
}

func (n *neutralizer) webhooks() error {
	return n.exec("ir_act_server", []string{"webhook_url", "state"}, "webhooks pointed nowhere",
		"UPDATE ir_act_server SET webhook_url = 'neutralization - disable webhook' WHERE state = 'webhook'")
}

// paymentProviders disables the providers that take real payments; test
// mode ones stay, as Odoo's payment neutralization leaves them (payment_acquirer
// is the table's name before Odoo 16, is_live its flag in the newest versions).
func (n *neutralizer) paymentProviders() error {
	for _, table := range []string{"payment_provider", "payment_acquirer"} {
		if err := n.exec(table, []string{"state"}, "live payment providers disabled ("+table+")",
			"UPDATE "+table+" SET state = 'disabled' WHERE state NOT IN ('test', 'disabled')"); err != nil {
			return err
		}
		if err := n.exec(table, []string{"is_live"}, "payment providers out of live mode ("+table+")",
			"UPDATE "+table+" SET is_live = false WHERE is_live"); err != nil {
			return err
		}
	}
	return nil
}

// parameters flags the database and gives it an identity of its own, as
// Odoo does for a duplicated database: a fresh uuid (so the copy does not
// pose as production to Odoo's servers, IAP and the mobile apps) and secret
// (so production's signed links and sessions are not valid on it), and no
// enterprise subscription code.
func (n *neutralizer) parameters() error {
	ok, err := n.hasColumns("ir_config_parameter", "key", "value")
	if err != nil || !ok {
		return err
	}
	for _, p := range [][2]string{
		{"database.is_neutralized", "true"},
		{"database.uuid", newUUID()},
		{"database.secret", newUUID()},
	} {
		if err := n.setParam(p[0], p[1]); err != nil {
			return err
		}
	}
	n.done = append(n.done, "database.is_neutralized set, new database.uuid and database.secret")
	return n.exec("ir_config_parameter", nil, "database.enterprise_code removed",
		"DELETE FROM ir_config_parameter WHERE key = 'database.enterprise_code'")
}

func (n *neutralizer) setParam(key, value string) error {
	tag, err := n.tx.Exec(n.ctx, "UPDATE ir_config_parameter SET value = $2 WHERE key = $1", key, value)
	if err == nil && tag.RowsAffected() == 0 {
		_, err = n.tx.Exec(n.ctx, "INSERT INTO ir_config_parameter (key, value) VALUES ($1, $2)", key, value)
	}
	if err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	return nil
}

// newUUID is a random (version 4) UUID, made here rather than by the server
// so it does not depend on gen_random_uuid (PostgreSQL 13+).
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
