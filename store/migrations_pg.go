package store

// pgMigrations are migrations for a catalog kept in PostgreSQL: step i here
// makes the same tables, columns, constraints and rules as step i of
// migrations, in PostgreSQL's words. Integers are BIGINT (times are Unix
// nanoseconds), flags stay the INTEGER 0 and 1 SQLite keeps, and SQLite's
// triggers are PL/pgSQL functions. Like migrations, a released step is never
// edited, only followed by a new one; TestMigrationsMatch keeps both lists the
// same length.
var pgMigrations = []string{
	// 1: the initial schema.
	`
-- An id table's BEFORE INSERT trigger: a NULL id takes the next number, as
-- SQLite's INTEGER PRIMARY KEY does, and a given id (a rebuild or a migration
-- keeping ids) moves the sequence past it, so no later id collides.
CREATE FUNCTION catalog_fill_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id IS NULL THEN
		NEW.id := nextval(TG_ARGV[0]::regclass);
	ELSIF NEW.id > COALESCE(pg_sequence_last_value(TG_ARGV[0]::regclass), 0) THEN
		PERFORM setval(TG_ARGV[0]::regclass, NEW.id);
	END IF;
	RETURN NEW;
END $$;

CREATE TABLE destinations (
	id         BIGSERIAL PRIMARY KEY,
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
	created_at BIGINT  NOT NULL
);
CREATE TRIGGER destinations_fill_id BEFORE INSERT ON destinations
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('destinations_id_seq');

CREATE TABLE services (
	id            BIGSERIAL PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE,
	db_host       TEXT    NOT NULL DEFAULT '',
	db_port       INTEGER NOT NULL DEFAULT 0 CHECK (db_port BETWEEN 0 AND 65535),
	db_user       TEXT    NOT NULL DEFAULT '',
	db_password   TEXT    NOT NULL DEFAULT '',
	db_name       TEXT    NOT NULL DEFAULT '',
	filestore_dir TEXT    NOT NULL DEFAULT '',
	odoo_conf     TEXT    NOT NULL DEFAULT '',
	placeholder   INTEGER NOT NULL DEFAULT 0 CHECK (placeholder IN (0, 1)),
	created_at    BIGINT  NOT NULL
);
CREATE TRIGGER services_fill_id BEFORE INSERT ON services
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('services_id_seq');

CREATE TABLE configurations (
	id             BIGSERIAL PRIMARY KEY,
	service_id     BIGINT  NOT NULL REFERENCES services(id) ON DELETE CASCADE,
	destination_id BIGINT  NOT NULL REFERENCES destinations(id) ON DELETE RESTRICT,
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
CREATE TRIGGER configurations_fill_id BEFORE INSERT ON configurations
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('configurations_id_seq');
CREATE UNIQUE INDEX configurations_one_primary ON configurations(service_id) WHERE is_primary = 1;
CREATE INDEX configurations_destination ON configurations(destination_id);

-- The primary cannot go while others remain, whoever deletes. A cascade from
-- removing the service itself finds the service already gone and passes.
CREATE FUNCTION configurations_keep_primary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.is_primary = 1
		AND EXISTS (SELECT 1 FROM services WHERE id = OLD.service_id)
		AND EXISTS (SELECT 1 FROM configurations WHERE service_id = OLD.service_id AND id <> OLD.id) THEN
		RAISE EXCEPTION 'cannot remove the primary configuration of a service while it has others; make another one primary first'
			USING ERRCODE = 'check_violation';
	END IF;
	RETURN OLD;
END $$;
CREATE TRIGGER configurations_keep_primary BEFORE DELETE ON configurations
FOR EACH ROW EXECUTE FUNCTION configurations_keep_primary();

CREATE TABLE templates (
	id   BIGSERIAL PRIMARY KEY,
	name TEXT    NOT NULL UNIQUE
);
CREATE TRIGGER templates_fill_id BEFORE INSERT ON templates
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('templates_id_seq');

CREATE TABLE template_configurations (
	id             BIGSERIAL PRIMARY KEY,
	template_id    BIGINT  NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
	destination_id BIGINT  NOT NULL REFERENCES destinations(id) ON DELETE RESTRICT,
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
CREATE TRIGGER template_configurations_fill_id BEFORE INSERT ON template_configurations
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('template_configurations_id_seq');
CREATE UNIQUE INDEX template_configurations_one_primary ON template_configurations(template_id) WHERE is_primary = 1;
CREATE INDEX template_configurations_destination ON template_configurations(destination_id);

CREATE FUNCTION template_configurations_keep_primary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.is_primary = 1
		AND EXISTS (SELECT 1 FROM templates WHERE id = OLD.template_id)
		AND EXISTS (SELECT 1 FROM template_configurations WHERE template_id = OLD.template_id AND id <> OLD.id) THEN
		RAISE EXCEPTION 'cannot remove the primary configuration of a template while it has others; make another one primary first'
			USING ERRCODE = 'check_violation';
	END IF;
	RETURN OLD;
END $$;
CREATE TRIGGER template_configurations_keep_primary BEFORE DELETE ON template_configurations
FOR EACH ROW EXECUTE FUNCTION template_configurations_keep_primary();

-- A sequence never gives a number twice, so a backup id, once shown to a
-- user or written in a script, never names another backup.
CREATE TABLE backups (
	id               BIGSERIAL PRIMARY KEY,
	service_id       BIGINT  REFERENCES services(id) ON DELETE SET NULL,
	service_name     TEXT    NOT NULL,
	destination_id   BIGINT  REFERENCES destinations(id) ON DELETE SET NULL,
	destination_name TEXT    NOT NULL,
	kind             TEXT    NOT NULL CHECK (kind IN ('scheduled', 'manual', 'safety', 'upload', 'copy')),
	status           TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'rotated', 'deleted')),
	key              TEXT    NOT NULL DEFAULT '',
	size             BIGINT  NOT NULL DEFAULT 0,
	sha256           TEXT    NOT NULL DEFAULT '',
	started_at       BIGINT  NOT NULL,
	finished_at      BIGINT,
	error            TEXT    NOT NULL DEFAULT '',
	database         TEXT    NOT NULL DEFAULT '',
	format           TEXT    NOT NULL DEFAULT '',
	odoo_version     TEXT    NOT NULL DEFAULT '',
	pg_version       TEXT    NOT NULL DEFAULT '',
	phase            TEXT    NOT NULL DEFAULT '',
	bytes            BIGINT  NOT NULL DEFAULT 0
);
CREATE TRIGGER backups_fill_id BEFORE INSERT ON backups
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('backups_id_seq');
CREATE INDEX backups_service_name ON backups(service_name, id);
CREATE INDEX backups_destination_name ON backups(destination_name, id);
CREATE INDEX backups_service_destination_name ON backups(service_name, destination_name, id);
CREATE INDEX backups_status ON backups(status, id);
CREATE INDEX backups_service ON backups(service_id, destination_id);
CREATE INDEX backups_destination ON backups(destination_id, status);
`,
	// 2: the scheduler lease, and the version a running scheduler polls.
	`
CREATE TABLE leases (
	name        TEXT    PRIMARY KEY,
	holder      TEXT    NOT NULL,
	pid         BIGINT  NOT NULL,
	host        TEXT    NOT NULL,
	acquired_at BIGINT  NOT NULL,
	heartbeat   BIGINT  NOT NULL
);

CREATE TABLE schedule_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT  NOT NULL
);
INSERT INTO schedule_version (id, version) VALUES (1, 0);

-- One statement-level trigger per table: a statement that changes many rows
-- bumps the version once, which is all a scheduler needs to reload.
CREATE FUNCTION bump_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE schedule_version SET version = version + 1;
	RETURN NULL;
END $$;
CREATE TRIGGER services_bumps_schedule_version AFTER INSERT OR UPDATE OR DELETE ON services
FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version();
CREATE TRIGGER destinations_bumps_schedule_version AFTER INSERT OR UPDATE OR DELETE ON destinations
FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version();
CREATE TRIGGER configurations_bumps_schedule_version AFTER INSERT OR UPDATE OR DELETE ON configurations
FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version();
CREATE TRIGGER templates_bumps_schedule_version AFTER INSERT OR UPDATE OR DELETE ON templates
FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version();
CREATE TRIGGER template_configurations_bumps_schedule_version AFTER INSERT OR UPDATE OR DELETE ON template_configurations
FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version();
`,
	// 3: who runs a backup and its last sign of life.
	`
ALTER TABLE backups ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN pid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE backups ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
`,
	// 4: restore drills.
	`
ALTER TABLE configurations ADD COLUMN drill TEXT NOT NULL DEFAULT '' CHECK (drill IN ('', 'hourly', 'daily', 'weekly', 'monthly'));
ALTER TABLE template_configurations ADD COLUMN drill TEXT NOT NULL DEFAULT '' CHECK (drill IN ('', 'hourly', 'daily', 'weekly', 'monthly'));

CREATE TABLE drills (
	id           BIGSERIAL PRIMARY KEY,
	service_id   BIGINT  NOT NULL,
	service_name TEXT    NOT NULL,
	backup_id    BIGINT  NOT NULL DEFAULT 0,
	destination  TEXT    NOT NULL DEFAULT '',
	status       TEXT    NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
	started_at   BIGINT  NOT NULL,
	finished_at  BIGINT,
	details      TEXT    NOT NULL DEFAULT '{}',
	error        TEXT    NOT NULL DEFAULT ''
);
CREATE TRIGGER drills_fill_id BEFORE INSERT ON drills
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('drills_id_seq');
CREATE INDEX drills_service ON drills(service_id, id);

CREATE FUNCTION services_follow_drills() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		UPDATE drills SET service_id = 0 WHERE service_id = OLD.id;
		RETURN OLD;
	END IF;
	IF NEW.name IS DISTINCT FROM OLD.name THEN
		UPDATE drills SET service_name = NEW.name WHERE service_id = NEW.id;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER services_follow_drills AFTER UPDATE OF name OR DELETE ON services
FOR EACH ROW EXECUTE FUNCTION services_follow_drills();
`,
	// 5: security: SSE-KMS, a private CA, client-side encryption, the audit trail.
	`
ALTER TABLE destinations ADD COLUMN sse_kms_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN ca_file TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN encrypt_recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN encrypt_key_file TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN encrypt_passphrase TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN encryption TEXT NOT NULL DEFAULT '';

CREATE TABLE audit (
	id         BIGSERIAL PRIMARY KEY,
	at         BIGINT  NOT NULL,
	os_user    TEXT    NOT NULL DEFAULT '',
	ssh_client TEXT    NOT NULL DEFAULT '',
	action     TEXT    NOT NULL,
	target     TEXT    NOT NULL DEFAULT '',
	detail     TEXT    NOT NULL DEFAULT '',
	outcome    TEXT    NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'failed')),
	error      TEXT    NOT NULL DEFAULT ''
);
CREATE TRIGGER audit_fill_id BEFORE INSERT ON audit
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('audit_id_seq');
`,
	// 6: the service an audit entry concerns.
	`
ALTER TABLE audit ADD COLUMN service TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_service ON audit(service, id);
`,
	// 7: what a backup lacks.
	`
ALTER TABLE backups ADD COLUMN missing_count BIGINT NOT NULL DEFAULT 0 CHECK (missing_count >= 0);
ALTER TABLE backups ADD COLUMN missing_files TEXT NOT NULL DEFAULT '[]';
`,
	// 8: when a backup last made progress, and when its process started.
	`
ALTER TABLE backups ADD COLUMN progress_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE backups ADD COLUMN process_start BIGINT NOT NULL DEFAULT 0;
`,
	// 9: pools.
	`
ALTER TABLE destinations ADD COLUMN layout TEXT NOT NULL DEFAULT 'zip' CHECK (layout IN ('zip', 'pool'));
ALTER TABLE backups ADD COLUMN pool TEXT NOT NULL DEFAULT '';
`,
	// 10: fleets: the host of a service.
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
	pid        BIGINT NOT NULL,
	started_at BIGINT NOT NULL,
	seen_at    BIGINT NOT NULL,
	stopped_at BIGINT NOT NULL DEFAULT 0
);
`,
	// work requests: what one host asks of the daemon of the host that holds a service's data.
	`
CREATE TABLE requests (
	id               BIGSERIAL PRIMARY KEY,
	kind             TEXT    NOT NULL CHECK (kind IN ('backup', 'restore', 'upload_restore', 'drill', 'service_copy')),
	host             TEXT    NOT NULL,
	service          TEXT    NOT NULL,
	params           TEXT    NOT NULL DEFAULT '{}',
	status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
	requested_by     TEXT    NOT NULL DEFAULT '',
	requested_host   TEXT    NOT NULL DEFAULT '',
	requested_at     BIGINT  NOT NULL,
	claimed_holder   TEXT    NOT NULL DEFAULT '',
	claimed_pid      BIGINT  NOT NULL DEFAULT 0,
	claimed_host     TEXT    NOT NULL DEFAULT '',
	claimed_at       BIGINT  NOT NULL DEFAULT 0,
	heartbeat        BIGINT  NOT NULL DEFAULT 0,
	cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
	progress         TEXT    NOT NULL DEFAULT '{}',
	result           TEXT    NOT NULL DEFAULT '',
	error            TEXT    NOT NULL DEFAULT '',
	finished_at      BIGINT  NOT NULL DEFAULT 0
);
CREATE TRIGGER requests_fill_id BEFORE INSERT ON requests
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('requests_id_seq');
CREATE INDEX requests_host_status ON requests(host, status, id);
`,
	// journal origins: the origin of a row a daemon records.
	`
ALTER TABLE backups ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX backups_origin ON backups(origin);
ALTER TABLE drills ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX drills_origin ON drills(origin);
ALTER TABLE audit ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX audit_origin ON audit(origin);
`,
	// roles: the database user that recorded an audit entry, written by the
	// server so that no client but the owner can write another name; and marking a backup
	// deleted needs what deleting backups needs (the admin role), whatever
	// the client says; and what a viewer reads instead of each secret. Roles
	// exist only on PostgreSQL: SQLite's step adds the column alone.
	`
ALTER TABLE audit ADD COLUMN db_user TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ALTER COLUMN db_user SET DEFAULT session_user;
-- The owner of the trail (who could drop the trigger anyway) may write a
-- db_user, so that moving a catalog here keeps its entries' users.
CREATE FUNCTION audit_db_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
		NEW.db_user := session_user;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER audit_db_user BEFORE INSERT ON audit
FOR EACH ROW EXECUTE FUNCTION audit_db_user();

-- What a viewer, who may not read a secret column, reads in its place: ''
-- for no secret, a reference (not itself secret) as it is, else a marker
-- that says there is one (see withoutSecrets).
ALTER TABLE destinations ADD COLUMN secret_key_shown TEXT GENERATED ALWAYS AS
	(CASE WHEN secret_key = '' OR secret_key LIKE 'ref1:%' THEN secret_key ELSE 'hidden:role' END) STORED;
ALTER TABLE destinations ADD COLUMN encrypt_passphrase_shown TEXT GENERATED ALWAYS AS
	(CASE WHEN encrypt_passphrase = '' OR encrypt_passphrase LIKE 'ref1:%' THEN encrypt_passphrase ELSE 'hidden:role' END) STORED;
ALTER TABLE services ADD COLUMN db_password_shown TEXT GENERATED ALWAYS AS
	(CASE WHEN db_password = '' OR db_password LIKE 'ref1:%' THEN db_password ELSE 'hidden:role' END) STORED;

CREATE FUNCTION backups_deleted_by_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT has_table_privilege(TG_RELID, 'DELETE') THEN
		RAISE EXCEPTION 'permission denied to mark backup % deleted', OLD.id
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER backups_deleted_by_admin BEFORE UPDATE OF status ON backups
FOR EACH ROW WHEN (NEW.status = 'deleted' AND OLD.status <> 'deleted')
EXECUTE FUNCTION backups_deleted_by_admin();

-- Asking another host's daemon to restore or copy a service needs what
-- restoring needs (the admin role): the server checks the requester here,
-- and the daemon that runs the request trusts this check.
CREATE FUNCTION requests_restore_by_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NOT has_table_privilege('backups'::regclass, 'DELETE') THEN
		RAISE EXCEPTION 'permission denied to request a %', replace(NEW.kind, '_', ' ')
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER requests_restore_by_admin BEFORE INSERT ON requests
FOR EACH ROW WHEN (NEW.kind IN ('restore', 'upload_restore', 'service_copy'))
EXECUTE FUNCTION requests_restore_by_admin();
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
	id         BIGSERIAL PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	url        TEXT    NOT NULL,
	events     TEXT    NOT NULL DEFAULT '',
	digest     TEXT    NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);
CREATE TRIGGER notify_channels_fill_id BEFORE INSERT ON notify_channels
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('notify_channels_id_seq');
CREATE TABLE notify_deliveries (
	id          BIGSERIAL PRIMARY KEY,
	channel     TEXT    NOT NULL,
	event       TEXT    NOT NULL,
	service     TEXT    NOT NULL DEFAULT '',
	destination TEXT    NOT NULL DEFAULT '',
	subject     TEXT    NOT NULL,
	status      TEXT    NOT NULL CHECK (status IN ('sent', 'failed', 'dropped')),
	tries       INTEGER NOT NULL,
	error       TEXT    NOT NULL DEFAULT '',
	host        TEXT    NOT NULL DEFAULT '',
	at          BIGINT NOT NULL
);
CREATE TRIGGER notify_deliveries_fill_id BEFORE INSERT ON notify_deliveries
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('notify_deliveries_id_seq');
CREATE INDEX notify_deliveries_at ON notify_deliveries(at);
CREATE TABLE notify_state (
	key        TEXT PRIMARY KEY,
	state      TEXT NOT NULL,
	changed_at BIGINT NOT NULL
);
CREATE TABLE restores (
	id          BIGSERIAL PRIMARY KEY,
	service     TEXT    NOT NULL,
	backup_id   BIGINT NOT NULL,
	target      TEXT    NOT NULL DEFAULT '',
	status      TEXT    NOT NULL CHECK (status IN ('succeeded', 'failed')),
	error       TEXT    NOT NULL DEFAULT '',
	host        TEXT    NOT NULL DEFAULT '',
	started_at  BIGINT NOT NULL,
	finished_at BIGINT NOT NULL
);
CREATE TRIGGER restores_fill_id BEFORE INSERT ON restores
FOR EACH ROW EXECUTE FUNCTION catalog_fill_id('restores_id_seq');
CREATE INDEX restores_service ON restores(service, id);

-- What a viewer reads in place of the new secret columns (see the roles step).
ALTER TABLE configurations ADD COLUMN ping_url_shown TEXT GENERATED ALWAYS AS
	(CASE WHEN ping_url = '' OR ping_url LIKE 'ref1:%' THEN ping_url ELSE 'hidden:role' END) STORED;
ALTER TABLE notify_channels ADD COLUMN url_shown TEXT GENERATED ALWAYS AS
	(CASE WHEN url = '' OR url LIKE 'ref1:%' THEN url ELSE 'hidden:role' END) STORED;
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
ALTER TABLE destinations ADD COLUMN limit_upload BIGINT NOT NULL DEFAULT 0 CHECK (limit_upload >= 0);
ALTER TABLE destinations ADD COLUMN limit_download BIGINT NOT NULL DEFAULT 0 CHECK (limit_download >= 0);
ALTER TABLE backups ADD COLUMN locked_until BIGINT;
ALTER TABLE backups ADD COLUMN warning TEXT NOT NULL DEFAULT '';
CREATE TABLE pool_locks (
	destination_id BIGINT NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
	service_name   TEXT    NOT NULL,
	locked_until   BIGINT NOT NULL,
	PRIMARY KEY (destination_id, service_name)
);
CREATE TABLE service_hooks (
	service_id      BIGINT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
	event           TEXT    NOT NULL CHECK (event IN ('pre-backup', 'post-backup', 'pre-restore', 'post-restore')),
	command         TEXT    NOT NULL,
	timeout_seconds INTEGER NOT NULL CHECK (timeout_seconds > 0),
	PRIMARY KEY (service_id, event)
);
`,
}
