package store

import (
	"context"
	"fmt"

	"github.com/odoo-backup/odoo-backup/core"
)

// migrations are the schema's history: migrations[i] brings a catalog from
// version i to i+1. A released step is never edited, only followed by a new
// one, because catalogs in the field already ran it.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE destinations (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	kind       TEXT    NOT NULL CHECK (kind IN ('s3', 'local')),
	dir        TEXT    NOT NULL DEFAULT '',
	endpoint   TEXT    NOT NULL DEFAULT '',
	region     TEXT    NOT NULL DEFAULT '',
	bucket     TEXT    NOT NULL DEFAULT '',
	prefix     TEXT    NOT NULL DEFAULT '',
	access_key TEXT    NOT NULL DEFAULT '',
	secret_key TEXT    NOT NULL DEFAULT '',
	no_tls     INTEGER NOT NULL DEFAULT 0 CHECK (no_tls IN (0, 1)),
	sse        TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);

CREATE TABLE services (
	id            INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE,
	db_host       TEXT    NOT NULL DEFAULT '',
	db_port       INTEGER NOT NULL DEFAULT 0 CHECK (db_port BETWEEN 0 AND 65535),
	db_user       TEXT    NOT NULL DEFAULT '',
	db_password   TEXT    NOT NULL DEFAULT '',
	db_name       TEXT    NOT NULL DEFAULT '',
	filestore_dir TEXT    NOT NULL DEFAULT '',
	odoo_conf     TEXT    NOT NULL DEFAULT '',
	placeholder   INTEGER NOT NULL DEFAULT 0 CHECK (placeholder IN (0, 1)),
	created_at    INTEGER NOT NULL
);

-- NULL gfs_* columns mean no GFS rule; all five are NULL or none is.
CREATE TABLE configurations (
	id             INTEGER PRIMARY KEY,
	service_id     INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
	destination_id INTEGER NOT NULL REFERENCES destinations(id) ON DELETE RESTRICT,
	frequency      TEXT    NOT NULL DEFAULT '' CHECK (frequency IN ('', 'hourly', 'daily', 'weekly', 'monthly')),
	minute         INTEGER NOT NULL DEFAULT 0 CHECK (minute BETWEEN 0 AND 59),
	hour           INTEGER NOT NULL DEFAULT 0 CHECK (hour BETWEEN 0 AND 23),
	weekday        INTEGER NOT NULL DEFAULT 0 CHECK (weekday BETWEEN 0 AND 6),
	month_day      INTEGER NOT NULL DEFAULT 0 CHECK (month_day BETWEEN 0 AND 31),
	keep_last      INTEGER NOT NULL DEFAULT 0 CHECK (keep_last >= 0),
	gfs_hourly     INTEGER CHECK (gfs_hourly >= 0),
	gfs_daily      INTEGER CHECK (gfs_daily >= 0),
	gfs_weekly     INTEGER CHECK (gfs_weekly >= 0),
	gfs_monthly    INTEGER CHECK (gfs_monthly >= 0),
	gfs_yearly     INTEGER CHECK (gfs_yearly >= 0),
	is_primary     INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
	UNIQUE (service_id, destination_id),
	CHECK ((gfs_hourly IS NULL) = (gfs_daily IS NULL) AND (gfs_daily IS NULL) = (gfs_weekly IS NULL)
		AND (gfs_weekly IS NULL) = (gfs_monthly IS NULL) AND (gfs_monthly IS NULL) = (gfs_yearly IS NULL))
);
CREATE UNIQUE INDEX configurations_one_primary ON configurations(service_id) WHERE is_primary;
CREATE INDEX configurations_destination ON configurations(destination_id);

-- The primary cannot go while others remain, whoever deletes. A cascade from
-- removing the service itself finds the service already gone and passes.
CREATE TRIGGER configurations_keep_primary
BEFORE DELETE ON configurations
WHEN OLD.is_primary
	AND EXISTS (SELECT 1 FROM services WHERE id = OLD.service_id)
	AND EXISTS (SELECT 1 FROM configurations WHERE service_id = OLD.service_id AND id <> OLD.id)
BEGIN
	SELECT RAISE(ABORT, 'cannot remove the primary configuration of a service while it has others; make another one primary first');
END;

CREATE TABLE templates (
	id   INTEGER PRIMARY KEY,
	name TEXT    NOT NULL UNIQUE
);

CREATE TABLE template_configurations (
	id             INTEGER PRIMARY KEY,
	template_id    INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
	destination_id INTEGER NOT NULL REFERENCES destinations(id) ON DELETE RESTRICT,
	frequency      TEXT    NOT NULL DEFAULT '' CHECK (frequency IN ('', 'hourly', 'daily', 'weekly', 'monthly')),
	minute         INTEGER NOT NULL DEFAULT 0 CHECK (minute BETWEEN 0 AND 59),
	hour           INTEGER NOT NULL DEFAULT 0 CHECK (hour BETWEEN 0 AND 23),
	weekday        INTEGER NOT NULL DEFAULT 0 CHECK (weekday BETWEEN 0 AND 6),
	month_day      INTEGER NOT NULL DEFAULT 0 CHECK (month_day BETWEEN 0 AND 31),
	keep_last      INTEGER NOT NULL DEFAULT 0 CHECK (keep_last >= 0),
	gfs_hourly     INTEGER CHECK (gfs_hourly >= 0),
	gfs_daily      INTEGER CHECK (gfs_daily >= 0),
	gfs_weekly     INTEGER CHECK (gfs_weekly >= 0),
	gfs_monthly    INTEGER CHECK (gfs_monthly >= 0),
	gfs_yearly     INTEGER CHECK (gfs_yearly >= 0),
	is_primary     INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
	UNIQUE (template_id, destination_id),
	CHECK ((gfs_hourly IS NULL) = (gfs_daily IS NULL) AND (gfs_daily IS NULL) = (gfs_weekly IS NULL)
		AND (gfs_weekly IS NULL) = (gfs_monthly IS NULL) AND (gfs_monthly IS NULL) = (gfs_yearly IS NULL))
);
CREATE UNIQUE INDEX template_configurations_one_primary ON template_configurations(template_id) WHERE is_primary;
CREATE INDEX template_configurations_destination ON template_configurations(destination_id);

CREATE TRIGGER template_configurations_keep_primary
BEFORE DELETE ON template_configurations
WHEN OLD.is_primary
	AND EXISTS (SELECT 1 FROM templates WHERE id = OLD.template_id)
	AND EXISTS (SELECT 1 FROM template_configurations WHERE template_id = OLD.template_id AND id <> OLD.id)
BEGIN
	SELECT RAISE(ABORT, 'cannot remove the primary configuration of a template while it has others; make another one primary first');
END;

-- AUTOINCREMENT so a backup id, once shown to a user or written in a
-- script, never names another backup. The names are kept beside the ids so
-- the history still reads after its service or destination is removed.
CREATE TABLE backups (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	service_id       INTEGER REFERENCES services(id) ON DELETE SET NULL,
	service_name     TEXT    NOT NULL,
	destination_id   INTEGER REFERENCES destinations(id) ON DELETE SET NULL,
	destination_name TEXT    NOT NULL,
	kind             TEXT    NOT NULL CHECK (kind IN ('scheduled', 'manual', 'safety', 'upload', 'copy')),
	status           TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'rotated', 'deleted')),
	key              TEXT    NOT NULL DEFAULT '',
	size             INTEGER NOT NULL DEFAULT 0,
	sha256           TEXT    NOT NULL DEFAULT '',
	started_at       INTEGER NOT NULL,
	finished_at      INTEGER,
	error            TEXT    NOT NULL DEFAULT '',
	database         TEXT    NOT NULL DEFAULT '',
	format           TEXT    NOT NULL DEFAULT '',
	odoo_version     TEXT    NOT NULL DEFAULT '',
	pg_version       TEXT    NOT NULL DEFAULT '',
	phase            TEXT    NOT NULL DEFAULT '',
	bytes            INTEGER NOT NULL DEFAULT 0
);
-- Listings page newest first by id, usually within one service or destination.
CREATE INDEX backups_service_name ON backups(service_name, id);
CREATE INDEX backups_destination_name ON backups(destination_name, id);
-- Rotation reads one service on one destination; without this the planner
-- may walk a destination every service shares.
CREATE INDEX backups_service_destination_name ON backups(service_name, destination_name, id);
CREATE INDEX backups_status ON backups(status, id);
-- For the ON DELETE SET NULL actions and the checks before a removal.
CREATE INDEX backups_service ON backups(service_id, destination_id);
CREATE INDEX backups_destination ON backups(destination_id, status);
`,
	// 2: the scheduler lease, and the version a running scheduler polls to
	// notice that what it schedules changed.
	`
-- One row per lease while someone holds it; releasing deletes the row.
CREATE TABLE leases (
	name        TEXT    PRIMARY KEY,
	holder      TEXT    NOT NULL,
	pid         INTEGER NOT NULL,
	host        TEXT    NOT NULL,
	acquired_at INTEGER NOT NULL,
	heartbeat   INTEGER NOT NULL
);

-- Exactly one row. Triggers bump it on every change to what schedules are
-- made of, whichever process makes it, so a scheduler only has to read one
-- integer to know it must reload. Backups and leases do not bump it: a
-- scheduler must not wake up for the backups it runs itself.
CREATE TABLE schedule_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO schedule_version (id, version) VALUES (1, 0);

CREATE TRIGGER services_insert_bumps_schedule_version AFTER INSERT ON services
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER services_update_bumps_schedule_version AFTER UPDATE ON services
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER services_delete_bumps_schedule_version AFTER DELETE ON services
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER destinations_insert_bumps_schedule_version AFTER INSERT ON destinations
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER destinations_update_bumps_schedule_version AFTER UPDATE ON destinations
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER destinations_delete_bumps_schedule_version AFTER DELETE ON destinations
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER configurations_insert_bumps_schedule_version AFTER INSERT ON configurations
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER configurations_update_bumps_schedule_version AFTER UPDATE ON configurations
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER configurations_delete_bumps_schedule_version AFTER DELETE ON configurations
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER templates_insert_bumps_schedule_version AFTER INSERT ON templates
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER templates_update_bumps_schedule_version AFTER UPDATE ON templates
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER templates_delete_bumps_schedule_version AFTER DELETE ON templates
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER template_configurations_insert_bumps_schedule_version AFTER INSERT ON template_configurations
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER template_configurations_update_bumps_schedule_version AFTER UPDATE ON template_configurations
BEGIN UPDATE schedule_version SET version = version + 1; END;
CREATE TRIGGER template_configurations_delete_bumps_schedule_version AFTER DELETE ON template_configurations
BEGIN UPDATE schedule_version SET version = version + 1; END;
`,
	// 3: who runs a backup and its last sign of life, so a backup left
	// running by a crashed process can be told from one running elsewhere.
	`
ALTER TABLE backups ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backups ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
`,
	// 4: restore drills: how often a configuration drills, and the history
	// of drills. A drill keeps its service's name so the history outlives the
	// service, as backups do.
	`
ALTER TABLE configurations ADD COLUMN drill TEXT NOT NULL DEFAULT '' CHECK (drill IN ('', 'hourly', 'daily', 'weekly', 'monthly'));
ALTER TABLE template_configurations ADD COLUMN drill TEXT NOT NULL DEFAULT '' CHECK (drill IN ('', 'hourly', 'daily', 'weekly', 'monthly'));

CREATE TABLE drills (
	id           INTEGER PRIMARY KEY,
	service_id   INTEGER NOT NULL,
	service_name TEXT    NOT NULL,
	backup_id    INTEGER NOT NULL DEFAULT 0,
	destination  TEXT    NOT NULL DEFAULT '',
	status       TEXT    NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
	started_at   INTEGER NOT NULL,
	finished_at  INTEGER,
	details      TEXT    NOT NULL DEFAULT '{}',
	error        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX drills_service ON drills(service_id, id);

-- The name follows a rename; a removed service's drills keep its last name
-- and lose its id, so a service that later gets the same id does not
-- inherit them.
CREATE TRIGGER services_rename_renames_drills AFTER UPDATE OF name ON services
BEGIN UPDATE drills SET service_name = NEW.name WHERE service_id = NEW.id; END;
CREATE TRIGGER services_delete_detaches_drills AFTER DELETE ON services
BEGIN UPDATE drills SET service_id = 0 WHERE service_id = OLD.id; END;
`,
	// 5: security: server-side encryption with KMS, a private CA, client-side
	// encryption per destination and on each backup, and the audit trail.
	`
ALTER TABLE destinations ADD COLUMN sse_kms_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN ca_file TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN encrypt_recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN encrypt_key_file TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN encrypt_passphrase TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN encryption TEXT NOT NULL DEFAULT '';

CREATE TABLE audit (
	id         INTEGER PRIMARY KEY,
	at         INTEGER NOT NULL,
	os_user    TEXT    NOT NULL DEFAULT '',
	ssh_client TEXT    NOT NULL DEFAULT '',
	action     TEXT    NOT NULL,
	target     TEXT    NOT NULL DEFAULT '',
	detail     TEXT    NOT NULL DEFAULT '',
	outcome    TEXT    NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'failed')),
	error      TEXT    NOT NULL DEFAULT ''
);
`,
	// 6: the service an audit entry concerns, so the trail of one service
	// can be listed without parsing targets.
	`
ALTER TABLE audit ADD COLUMN service TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_service ON audit(service, id);
`,
	// 7: what a backup lacks: the attachment files its database referred to
	// that the filestore did not have, counted, and the first names (a JSON
	// array of at most core.MaxMissingNames).
	`
ALTER TABLE backups ADD COLUMN missing_count INTEGER NOT NULL DEFAULT 0 CHECK (missing_count >= 0);
ALTER TABLE backups ADD COLUMN missing_files TEXT NOT NULL DEFAULT '[]';
`,
	// 8: when a backup last made progress (a heartbeat alone does not
	// count), so a stall shows; and when its process started, so a pid
	// reused after a crash is not taken for it.
	`
ALTER TABLE backups ADD COLUMN progress_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backups ADD COLUMN process_start INTEGER NOT NULL DEFAULT 0;
`,
	// 9: pools: how a destination keeps backups (every destination made
	// before is a self-contained zip one), and the filestore part of a
	// backup kept in a pool (core.PoolFacts as JSON, '' for other formats).
	`
ALTER TABLE destinations ADD COLUMN layout TEXT NOT NULL DEFAULT 'zip' CHECK (layout IN ('zip', 'pool'));
ALTER TABLE backups ADD COLUMN pool TEXT NOT NULL DEFAULT '';
`,
	// 10: fleets: the host that holds a service's filestore and does its
	// work ('' in a catalog of one host: that host).
	`
ALTER TABLE services ADD COLUMN host TEXT NOT NULL DEFAULT '';
CREATE INDEX services_host ON services(host, name);
`,
	// hosts: the life of each host's daemon (core.HostRecord), kept when
	// its scheduler lease row goes at a clean stop, so the fleet can say
	// since when a host has had no daemon. stopped_at 0: not stopped.
	`
CREATE TABLE hosts (
	name       TEXT PRIMARY KEY,
	holder     TEXT   NOT NULL,
	pid        INTEGER NOT NULL,
	started_at INTEGER NOT NULL,
	seen_at    INTEGER NOT NULL,
	stopped_at INTEGER NOT NULL DEFAULT 0
);
`,
	// work requests: what one host asks of the daemon of the host that
	// holds a service's data (core.Request).
	`
CREATE TABLE requests (
	id               INTEGER PRIMARY KEY,
	kind             TEXT    NOT NULL CHECK (kind IN ('backup', 'restore', 'upload_restore', 'drill', 'service_copy')),
	host             TEXT    NOT NULL,
	service          TEXT    NOT NULL,
	params           TEXT    NOT NULL DEFAULT '{}',
	status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
	requested_by     TEXT    NOT NULL DEFAULT '',
	requested_host   TEXT    NOT NULL DEFAULT '',
	requested_at     INTEGER NOT NULL,
	claimed_holder   TEXT    NOT NULL DEFAULT '',
	claimed_pid      INTEGER NOT NULL DEFAULT 0,
	claimed_host     TEXT    NOT NULL DEFAULT '',
	claimed_at       INTEGER NOT NULL DEFAULT 0,
	heartbeat        INTEGER NOT NULL DEFAULT 0,
	cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
	progress         TEXT    NOT NULL DEFAULT '{}',
	result           TEXT    NOT NULL DEFAULT '',
	error            TEXT    NOT NULL DEFAULT '',
	finished_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX requests_host_status ON requests(host, status, id);
`,
	// journal origins: the rows a daemon on a shared catalog records
	// carry an origin (host/uuid), unique, so a row it kept in its local
	// journal while the catalog was unreachable, or whose commit's answer
	// was lost, is never inserted twice by the journal's replay. NULL for
	// the rows of commands and consoles.
	`
ALTER TABLE backups ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX backups_origin ON backups(origin);
ALTER TABLE drills ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX drills_origin ON drills(origin);
ALTER TABLE audit ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX audit_origin ON audit(origin);
`,
	// roles: the database user that recorded an audit entry. SQLite has
	// no database users: '' there.
	`
ALTER TABLE audit ADD COLUMN db_user TEXT NOT NULL DEFAULT '';
`,
	// operations: recovery targets per service (seconds, 0:
	// none); a healthchecks-style ping URL per configuration (sealed); the
	// size anomaly of a backup ('' none, else the sentence); where a
	// destination's decryption key is said to be kept; notification
	// channels (url sealed), their deliveries and the last announced state
	// of each thing they watch; and the restores onto services, timed, for
	// the measured RTO.
	`
ALTER TABLE services ADD COLUMN rpo_target INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN rto_target INTEGER NOT NULL DEFAULT 0;
ALTER TABLE configurations ADD COLUMN ping_url TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN anomaly TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN key_note TEXT NOT NULL DEFAULT '';
CREATE TABLE notify_channels (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	url        TEXT    NOT NULL,
	events     TEXT    NOT NULL DEFAULT '',
	digest     TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);
CREATE TABLE notify_deliveries (
	id          INTEGER PRIMARY KEY,
	channel     TEXT    NOT NULL,
	event       TEXT    NOT NULL,
	service     TEXT    NOT NULL DEFAULT '',
	destination TEXT    NOT NULL DEFAULT '',
	subject     TEXT    NOT NULL,
	status      TEXT    NOT NULL CHECK (status IN ('sent', 'failed', 'dropped')),
	tries       INTEGER NOT NULL,
	error       TEXT    NOT NULL DEFAULT '',
	host        TEXT    NOT NULL DEFAULT '',
	at          INTEGER NOT NULL
);
CREATE INDEX notify_deliveries_at ON notify_deliveries(at);
CREATE TABLE notify_state (
	key        TEXT PRIMARY KEY,
	state      TEXT NOT NULL,
	changed_at INTEGER NOT NULL
);
CREATE TABLE restores (
	id          INTEGER PRIMARY KEY,
	service     TEXT    NOT NULL,
	backup_id   INTEGER NOT NULL,
	target      TEXT    NOT NULL DEFAULT '',
	status      TEXT    NOT NULL CHECK (status IN ('succeeded', 'failed')),
	error       TEXT    NOT NULL DEFAULT '',
	host        TEXT    NOT NULL DEFAULT '',
	started_at  INTEGER NOT NULL,
	finished_at INTEGER NOT NULL
);
CREATE INDEX restores_service ON restores(service, id);
`,
	// BackupTotals (the metrics' count of held and failed backups of each
	// service on each destination) reads this index alone: on a long
	// history the failed rows are spread over the whole table.
	`CREATE INDEX backups_held ON backups(service_name, destination_name, status, size) WHERE status IN ('succeeded', 'failed')`,
	// safety nets: a destination's Object Lock (mode and days) and its
	// bandwidth limits (bytes per second, 0: none); until when a backup's
	// objects are locked (NULL: not locked) and a warning that did not
	// fail it (a post-backup hook); for each service's pool on a locking
	// destination, the date every object in it is locked until at least;
	// the hooks of each service.
	`
ALTER TABLE destinations ADD COLUMN lock_mode TEXT NOT NULL DEFAULT '' CHECK (lock_mode IN ('', 'governance', 'compliance'));
ALTER TABLE destinations ADD COLUMN lock_days INTEGER NOT NULL DEFAULT 0 CHECK (lock_days >= 0);
ALTER TABLE destinations ADD COLUMN limit_upload INTEGER NOT NULL DEFAULT 0 CHECK (limit_upload >= 0);
ALTER TABLE destinations ADD COLUMN limit_download INTEGER NOT NULL DEFAULT 0 CHECK (limit_download >= 0);
ALTER TABLE backups ADD COLUMN locked_until INTEGER;
ALTER TABLE backups ADD COLUMN warning TEXT NOT NULL DEFAULT '';
CREATE TABLE pool_locks (
	destination_id INTEGER NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
	service_name   TEXT    NOT NULL,
	locked_until   INTEGER NOT NULL,
	PRIMARY KEY (destination_id, service_name)
);
CREATE TABLE service_hooks (
	service_id      INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
	event           TEXT    NOT NULL CHECK (event IN ('pre-backup', 'post-backup', 'pre-restore', 'post-restore')),
	command         TEXT    NOT NULL,
	timeout_seconds INTEGER NOT NULL CHECK (timeout_seconds > 0),
	PRIMARY KEY (service_id, event)
);
`,
}

// migrate applies the steps this catalog has not run yet, all in one
// IMMEDIATE transaction, so two processes opening a new catalog at once
// cannot both apply a step.
func (c *Catalog) migrate(ctx context.Context) error {
	if c.db.pg {
		// A viewer or an operator may not create or alter tables: a
		// current catalog is read, not written.
		if current, err := c.pgSchemaVersion(ctx); err != nil || current >= len(pgMigrations) {
			return err
		}
	}
	return c.write(ctx, "update catalog schema of "+c.path, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		steps := migrations
		if c.db.pg {
			steps = pgMigrations
		}
		if current > len(steps) {
			return core.Userf(core.ErrInvalid, "catalog %s was written by a newer odoo-backup (schema version %d, this one knows %d); upgrade odoo-backup", c.path, current, len(steps))
		}
		for v := current + 1; v <= len(steps); v++ {
			if _, err := tx.ExecContext(ctx, steps[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, toNanos(c.now())); err != nil {
				return err
			}
			c.schemaChanged = true
		}
		return nil
	})
}
