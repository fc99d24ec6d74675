package core

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DestinationKind says how a destination stores objects.
type DestinationKind string

const (
	DestinationS3    DestinationKind = "s3"
	DestinationLocal DestinationKind = "local"
)

// Destination is where backups are stored. It is created once and used by
// many services.
type Destination struct {
	ID   int64           `json:"id"`
	Name string          `json:"name"`
	Kind DestinationKind `json:"kind"`

	// Local is where a local directory destination keeps its objects.
	Local LocalSettings `json:"-"`
	// S3 is how to reach the bucket of an S3-compatible destination.
	S3 S3Settings `json:"-"`
	// Encrypt says how archives are encrypted, on either kind.
	Encrypt EncryptionSettings `json:"-"`
	// Layout is how backups are kept there: LayoutPool (the database part
	// as a zip, each filestore file once in the service's pool) or
	// LayoutZip (one self-contained Odoo zip per backup). "" reads as
	// LayoutZip, what every destination made before pools did.
	Layout Layout `json:"-"`
	// Lock makes every object a backup writes there immutable for a time
	// (S3 Object Lock); the zero value locks nothing.
	Lock ObjectLock `json:"-"`
	// Limits cap the bytes per second sent to and read from it; zero is
	// no limit.
	Limits BandwidthLimits `json:"-"`

	CreatedAt time.Time `json:"created_at"`
}

// LockMode is an S3 Object Lock retention mode.
type LockMode string

const (
	// LockNone keeps objects deletable.
	LockNone LockMode = ""
	// LockGovernance: only a user with the bypass permission can delete an
	// object before its date.
	LockGovernance LockMode = "governance"
	// LockCompliance: nobody, root included, can delete an object before
	// its date.
	LockCompliance LockMode = "compliance"
)

// ObjectLock says how long, and how strictly, a destination keeps what a
// backup writes: each object is locked until Days after it is written.
type ObjectLock struct {
	Mode LockMode `json:"lock_mode,omitempty"`
	Days int      `json:"lock_days,omitempty"`
}

// Enabled says whether objects are locked at all.
func (l ObjectLock) Enabled() bool { return l.Mode != LockNone && l.Days > 0 }

// BandwidthLimits are bytes per second, 0 meaning no limit: Upload for what
// goes to the destination, Download for what is read back (restores,
// verifies, downloads, copies from it).
type BandwidthLimits struct {
	Upload   int64 `json:"limit_upload,omitempty"`
	Download int64 `json:"limit_download,omitempty"`
}

// LocalSettings are the settings of a local directory destination.
type LocalSettings struct {
	Dir string `json:"dir,omitempty"`
}

// S3Settings are the settings of an S3-compatible destination, as the s3
// package takes them.
type S3Settings struct {
	Endpoint string `json:"endpoint,omitempty"` // host:port, no scheme
	// Region "" lets the client discover it.
	Region string `json:"region,omitempty"`
	Bucket string `json:"bucket,omitempty"`
	// Prefix is the key prefix, without leading or trailing '/'.
	Prefix    string `json:"prefix,omitempty"`
	AccessKey string `json:"access_key,omitempty"`
	// SecretKey is stored, or kept by reference (Secret.Resolve reads it).
	SecretKey Secret `json:"-"`
	// NoTLS talks plain HTTP; TLS is the default.
	NoTLS bool `json:"no_tls,omitempty"`
	// SSE is the server-side encryption asked of the bucket: "", "SSE-S3"
	// or "SSE-KMS" (with SSEKMSKeyID, or the service's default key when
	// empty).
	SSE         string `json:"sse,omitempty"`
	SSEKMSKeyID string `json:"sse_kms_key_id,omitempty"`
	// CAFile is a PEM file of the certificate authorities trusted for a
	// private endpoint, in addition to the system's; only with TLS.
	CAFile string `json:"ca_file,omitempty"`
}

// EncryptionSettings say how archives are encrypted on the client (age).
// Recipient is the age recipient archives are encrypted to; KeyFile, when
// set, is the identity file on this host that decrypts them (its recipient
// is Recipient). Passphrase encrypts with a passphrase instead. All empty:
// archives are stored as they are.
type EncryptionSettings struct {
	Recipient  string `json:"encrypt_recipient,omitempty"`
	KeyFile    string `json:"encrypt_key_file,omitempty"`
	Passphrase Secret `json:"-"`
	// KeyNote says where the decryption key (or passphrase) is kept, for
	// the people who will need it on the worst day (the runbook prints
	// it); never the key itself.
	KeyNote string `json:"encrypt_key_note,omitempty"`
}

// destinationJSON is the JSON form of a Destination: its settings flat
// beside its name, as `destination list --json` has always printed them.
type destinationJSON struct {
	ID   int64           `json:"id"`
	Name string          `json:"name"`
	Kind DestinationKind `json:"kind"`
	LocalSettings
	S3Settings
	EncryptionSettings
	Layout Layout `json:"layout"`
	ObjectLock
	BandwidthLimits
	CreatedAt time.Time `json:"created_at"`
}

// MarshalJSON writes d with its settings flat (destinationJSON).
func (d Destination) MarshalJSON() ([]byte, error) {
	return json.Marshal(destinationJSON{d.ID, d.Name, d.Kind, d.Local, d.S3, d.Encrypt, d.StoredLayout(), d.Lock, d.Limits, d.CreatedAt})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Destination) UnmarshalJSON(b []byte) error {
	var j destinationJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*d = Destination{ID: j.ID, Name: j.Name, Kind: j.Kind, Local: j.LocalSettings, S3: j.S3Settings, Encrypt: j.EncryptionSettings, Layout: j.Layout, Lock: j.ObjectLock, Limits: j.BandwidthLimits, CreatedAt: j.CreatedAt}
	return nil
}

// Describe is a short human description: the directory, or endpoint/bucket/prefix.
func (d Destination) Describe() string {
	if d.Kind == DestinationLocal {
		return d.Local.Dir
	}
	s := d.S3.Endpoint + "/" + d.S3.Bucket
	if d.S3.Prefix != "" {
		s += "/" + d.S3.Prefix
	}
	return s
}

// DBConn is how to reach one PostgreSQL database.
type DBConn struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password Secret `json:"-"`
	Database string `json:"database"`
}

// Address is host:port for messages.
func (c DBConn) Address() string { return fmt.Sprintf("%s:%d", c.Host, c.Port) }

// Service is one Odoo instance to protect: a database and its filestore.
type Service struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	DB   DBConn `json:"db"`
	// FilestoreDir is the database's own filestore: <data_dir>/filestore/<db>.
	FilestoreDir string `json:"filestore"`
	// OdooConf is the odoo.conf the service was read from, if any.
	OdooConf string `json:"odoo_conf,omitempty"`
	// Placeholder marks a service created by a catalog rebuild from backups
	// whose service was unknown; it has no usable connection yet.
	Placeholder bool `json:"placeholder,omitempty"`
	// Host is the host that holds the filestore and runs the service's
	// schedules; its daemon does the service's work. Empty in a catalog of
	// one host means this host (see ServiceHost).
	Host string `json:"host,omitempty"`
	// RPOTargetSeconds and RTOTargetSeconds are the service's recovery
	// targets (0: none): the newest good backup may be at most that old,
	// and a restore may take at most that long (Recovery).
	RPOTargetSeconds int64     `json:"rpo_target_seconds,omitempty"`
	RTOTargetSeconds int64     `json:"rto_target_seconds,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
}

// RPOTarget is s's RPO target, 0 for none.
func (s Service) RPOTarget() time.Duration { return time.Duration(s.RPOTargetSeconds) * time.Second }

// RTOTarget is s's RTO target, 0 for none.
func (s Service) RTOTarget() time.Duration { return time.Duration(s.RTOTargetSeconds) * time.Second }

// ServiceHost is the host that does s's work: s.Host, or this process's
// host when the catalog never named one.
func ServiceHost(s Service) string {
	if s.Host != "" {
		return s.Host
	}
	return HostName()
}

// Frequency is how often a configuration runs on its own. The zero value
// means manual only.
type Frequency string

const (
	Manual  Frequency = ""
	Hourly  Frequency = "hourly"
	Daily   Frequency = "daily"
	Weekly  Frequency = "weekly"
	Monthly Frequency = "monthly"
)

// ParseFrequency accepts the command line's spellings.
func ParseFrequency(s string) (Frequency, error) {
	switch s {
	case "", "manual", "none":
		return Manual, nil
	case "hourly", "daily", "weekly", "monthly":
		return Frequency(s), nil
	}
	return "", Userf(ErrInvalid, "frequency %q is not one of hourly, daily, weekly, monthly, manual", s)
}

// Period is the nominal time between two runs; zero for manual.
func (f Frequency) Period() time.Duration {
	switch f {
	case Hourly:
		return time.Hour
	case Daily:
		return 24 * time.Hour
	case Weekly:
		return 7 * 24 * time.Hour
	case Monthly:
		return 31 * 24 * time.Hour
	}
	return 0
}

func (f Frequency) String() string {
	if f == Manual {
		return "manual only"
	}
	return string(f)
}

// Schedule says when in its period a configuration runs, in local time.
// Hourly uses Minute; daily uses Hour:Minute; weekly adds Weekday; monthly
// adds MonthDay.
type Schedule struct {
	Minute   int          `json:"minute"`
	Hour     int          `json:"hour"`
	Weekday  time.Weekday `json:"weekday"`
	MonthDay int          `json:"month_day"`
}

// DefaultSchedule is 01:00 local, on Sunday for weekly, on the 1st for monthly.
var DefaultSchedule = Schedule{Minute: 0, Hour: 1, Weekday: time.Sunday, MonthDay: 1}

// Configuration links a service to a destination with a frequency, a
// retention and the primary flag.
type Configuration struct {
	ServiceID     int64     `json:"-"`
	Service       string    `json:"service"`
	DestinationID int64     `json:"-"`
	Destination   string    `json:"destination"`
	Frequency     Frequency `json:"frequency"`
	Schedule      Schedule  `json:"schedule"`
	Retention     Retention `json:"retention"`
	Primary       bool      `json:"primary"`
	// Drill is how often a restore drill of this configuration's latest
	// backup runs, at the configuration's schedule time; manual means never
	// on its own.
	Drill Frequency `json:"drill"`
	// PingURL is a healthchecks.io / Uptime Kuma style URL pinged when a
	// scheduled backup of this configuration starts (URL/start), succeeds
	// (URL) and fails (URL/fail), so that someone else notices a host that
	// fell silent. Sealed like every secret: the URL is the credential.
	PingURL Secret `json:"-"`
}

// TemplateConfiguration is one configuration of a template.
type TemplateConfiguration struct {
	Destination string    `json:"destination"`
	Frequency   Frequency `json:"frequency"`
	Schedule    Schedule  `json:"schedule"`
	Retention   Retention `json:"retention"`
	Primary     bool      `json:"primary"`
	Drill       Frequency `json:"drill"`
}

// Template is a named set of configurations; a service made from it starts
// with exactly that set.
type Template struct {
	ID             int64                   `json:"id"`
	Name           string                  `json:"name"`
	Configurations []TemplateConfiguration `json:"configurations"`
}

// BackupKind says why a backup was taken.
type BackupKind string

const (
	KindScheduled BackupKind = "scheduled"
	KindManual    BackupKind = "manual"
	KindSafety    BackupKind = "safety"
	KindUpload    BackupKind = "upload"
	KindCopy      BackupKind = "copy"
)

// BackupStatus is where a backup is in its life.
type BackupStatus string

const (
	StatusRunning   BackupStatus = "running"
	StatusSucceeded BackupStatus = "succeeded"
	StatusFailed    BackupStatus = "failed"
	StatusRotated   BackupStatus = "rotated"
	StatusDeleted   BackupStatus = "deleted"
)

// FormatOdooZip is the Odoo database manager's zip: dump.sql, manifest.json, filestore/.
const FormatOdooZip = "odoo-zip"

// FormatOdooPool is a backup on a pool destination: its archive is an Odoo
// zip of the database alone (manifest.json, dump.sql), its filestore a file
// list (FileListKey) naming objects of the service's pool on the same
// destination (see core/pool).
const FormatOdooPool = "odoo-pool"

// Layout is how a destination keeps backups.
type Layout string

const (
	// LayoutPool keeps each filestore file once per service, in a pool of
	// content-addressed objects, so a backup costs what changed.
	LayoutPool Layout = "pool"
	// LayoutZip keeps one self-contained Odoo zip per backup, for buckets
	// people download from by hand.
	LayoutZip Layout = "zip"
)

// StoredLayout is the destination's layout, "" read as LayoutZip.
func (d Destination) StoredLayout() Layout {
	if d.Layout == "" {
		return LayoutZip
	}
	return d.Layout
}

// ParseLayout reads a layout name.
func ParseLayout(s string) (Layout, error) {
	switch l := Layout(strings.ToLower(strings.TrimSpace(s))); l {
	case LayoutPool, LayoutZip:
		return l, nil
	}
	return "", Userf(ErrInvalid, "layout %q is not one of pool (each file stored once, backups cost what changed) or zip (one self-contained Odoo zip per backup)", s)
}

// DescribeLayout says what a layout means, for people.
func DescribeLayout(l Layout) string {
	if l == LayoutPool {
		return "pool: the database as a zip, each filestore file stored once"
	}
	return "zip: one self-contained Odoo zip per backup"
}

// Formats of uploaded backups that hold only the database (no filestore).
const (
	// FormatPlainSQL is a plain pg_dump: SQL text loaded with psql.
	FormatPlainSQL = "sql"
	// FormatSQLGz is a plain pg_dump compressed with gzip.
	FormatSQLGz = "sql-gz"
	// FormatPGCustom is a pg_dump custom-format archive (pg_dump -Fc).
	FormatPGCustom = "pg-custom"
)

// PoolFacts describe the filestore part of a backup kept in a pool: its
// file list object (FileListKey of the archive) and what it refers to.
type PoolFacts struct {
	// ListSize and ListSHA256 are those of the stored file list object
	// (the ciphertext on an encrypting destination), checked before the
	// list is trusted, as Size and SHA256 are for the archive.
	ListSize   int64  `json:"list_size"`
	ListSHA256 string `json:"list_sha256"`
	// Files and Bytes count the filestore files the backup holds and
	// their size as files.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// NewObjects and NewBytes are the pool objects this backup stored
	// (the rest were there already) and their stored size.
	NewObjects int   `json:"new_objects"`
	NewBytes   int64 `json:"new_bytes"`
	// MismatchCount files had content that does not match their name (an
	// Odoo filestore file is named by the SHA-1 of its content); the
	// backup holds the bytes the database points to all the same.
	// Mismatched names the first MaxMissingNames.
	MismatchCount int      `json:"mismatch_count,omitempty"`
	Mismatched    []string `json:"mismatched,omitempty"`
	// Key is the id of the pool key (pool.NameKeyKey) the list and the
	// objects of a backup on an encrypting destination are encrypted with
	// and named under; "" on a plain destination.
	Key string `json:"key,omitempty"`
}

// DescribeFormat says what a backup format is, for people.
func DescribeFormat(f string) string {
	switch f {
	case FormatOdooPool:
		return "Odoo zip of the database, filestore in the pool"
	case FormatOdooZip, "":
		return "Odoo backup zip"
	case FormatPlainSQL:
		return "plain SQL dump"
	case FormatSQLGz:
		return "gzip-compressed SQL dump"
	case FormatPGCustom:
		return "pg_dump custom-format dump"
	}
	return f
}

// Backup is one archive of one service on one destination.
type Backup struct {
	ID            int64        `json:"id"`
	ServiceID     int64        `json:"-"`
	Service       string       `json:"service"`
	DestinationID int64        `json:"-"`
	Destination   string       `json:"destination"`
	Kind          BackupKind   `json:"kind"`
	Status        BackupStatus `json:"status"`
	Size          int64        `json:"size"`
	SHA256        string       `json:"sha256"`
	StartedAt     time.Time    `json:"started_at"`
	FinishedAt    *time.Time   `json:"finished_at"`
	Error         string       `json:"error"`

	Key         string `json:"key"`
	Database    string `json:"database"`
	Format      string `json:"format"`
	OdooVersion string `json:"odoo_version"`
	PGVersion   string `json:"pg_version"`
	// Encryption says how the stored archive is encrypted: "" (not),
	// "age:<recipient>" or "age:passphrase". Never a key.
	Encryption string `json:"encryption,omitempty"`
	// MissingCount is the number of attachment files the database referred
	// to that the filestore lacked when the backup was taken, so the backup
	// lacks them too; MissingFiles names the first MaxMissingNames of them.
	MissingCount int      `json:"missing_count"`
	MissingFiles []string `json:"missing_files"`
	// Anomaly is set when the backup's size falls below half, or rises
	// above three times, the median of the last successful backups of its
	// service on its destination (SizeAnomaly): one sentence, "" when its
	// size is ordinary. Mass deletion and a filestore encrypted by
	// ransomware both show this way.
	Anomaly string `json:"anomaly,omitempty"`
	// Warning is a problem noticed after the backup was stored that does
	// not make it fail (a post-backup hook that failed): one sentence, ""
	// when there was none.
	Warning string `json:"warning,omitempty"`
	// LockedUntil is when the Object Lock of the backup's objects on its
	// destination ends; nil when they are not locked. Until then they
	// cannot be deleted, and rotation and delete leave them in place.
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	// Pool describes the filestore part of a FormatOdooPool backup; nil
	// for every other format.
	Pool *PoolFacts `json:"pool,omitempty"`
	// Orphaned: the service no longer has a configuration on this destination.
	// Derived by the catalog when listing; never stored.
	Orphaned bool `json:"orphaned"`

	// BackupProgress is the live progress of a running backup, apart from
	// the record; its fields read as the backup's own (b.Phase).
	BackupProgress

	// Host and PID name the process that runs (or ran) the backup, and
	// UpdatedAt is its last sign of life (set by the catalog on every
	// write), so a backup left running by a crash can be told from one still
	// running in another process.
	Host      string    `json:"host,omitempty"`
	PID       int       `json:"pid,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// ProcessStart is when the process PID started, as the host counts it
	// (ProcessStartTime), so a pid reused by another process after a crash
	// is not taken for the backup's; 0 when unknown.
	ProcessStart int64 `json:"-"`
}

// BackupProgress is the live progress of a running backup, written by
// whichever process runs it (Catalog.UpdateProgress, every
// ProgressInterval) so every console can show it. A finished backup has no
// phase and no byte count.
type BackupProgress struct {
	Phase Phase `json:"phase,omitempty"`
	Bytes int64 `json:"bytes,omitempty"`
	// ProgressAt is when the backup last moved (a byte written, a phase
	// changed); a heartbeat without progress leaves it. A running backup
	// that has not moved for StallAfter is stalled. The catalog sets it.
	ProgressAt time.Time `json:"progress_at,omitzero"`
}

// Duration is how long a finished backup took.
func (b Backup) Duration() time.Duration {
	if b.FinishedAt == nil {
		return 0
	}
	return b.FinishedAt.Sub(b.StartedAt)
}

// DrillStatus is the outcome of a restore drill.
type DrillStatus string

const (
	DrillRunning DrillStatus = "running"
	DrillOK      DrillStatus = "ok"
	DrillFailed  DrillStatus = "failed"
)

// Drill is one restore drill: a backup restored into a scratch database and
// directory, checked, and removed again.
type Drill struct {
	ID          int64        `json:"id"`
	ServiceID   int64        `json:"-"`
	Service     string       `json:"service"`
	BackupID    int64        `json:"backup_id"`
	Destination string       `json:"destination"`
	Status      DrillStatus  `json:"status"`
	StartedAt   time.Time    `json:"started_at"`
	FinishedAt  *time.Time   `json:"finished_at"`
	Details     DrillDetails `json:"details"`
	Error       string       `json:"error"`
}

// DrillDetails is what a drill found.
type DrillDetails struct {
	// Tables maps each key table to its row count in the restored database;
	// Expected holds the counts recorded at backup time.
	Tables         map[string]int64 `json:"tables,omitempty"`
	Expected       map[string]int64 `json:"expected,omitempty"`
	FilestoreFiles int              `json:"filestore_files"`
	// MissingFiles counts the attachment files the restored database refers
	// to that the restored filestore lacks; KnownMissing of them the backup
	// recorded as missing when it was taken (they were never in it, so they
	// are no failure of the drill).
	MissingFiles int `json:"missing_files"`
	KnownMissing int `json:"known_missing,omitempty"`
	SQLErrors    int `json:"sql_errors"`
	// RestoreSeconds is how long the drill's restore took (the database
	// and filestore put in place, before the checks): the measured RTO.
	RestoreSeconds float64 `json:"restore_seconds,omitempty"`
	// Checks names the checks of the restored database that ran
	// (CheckRestored).
	Checks []string `json:"checks,omitempty"`
	// Problems lists every check that failed, one sentence each.
	Problems []string `json:"problems,omitempty"`
}
