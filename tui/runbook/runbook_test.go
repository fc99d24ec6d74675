package runbook

import (
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

var written = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func backup(id int64, dest string, ago time.Duration) *core.Backup {
	at := written.Add(-ago)
	return &core.Backup{ID: id, Service: "shop", Destination: dest, Status: core.StatusSucceeded, StartedAt: at.Add(-time.Minute), FinishedAt: &at,
		Size: 12_300_000, OdooVersion: "17.0", PGVersion: "16.4"}
}

// exampleRunbook is a runbook with one copy of each kind of secret and
// encryption, for the tests: a primary local directory whose archives are
// encrypted to a recipient kept off the host, an S3 bucket whose secret
// key and passphrase are sealed in the catalog, one whose secret key is a
// file reference and whose identity file is on the host.
func exampleRunbook() core.Runbook {
	newest := backup(42, "offsite disk", time.Hour)
	return core.Runbook{
		Service: core.Service{Name: "shop", DB: core.DBConn{Host: "db.internal", Port: 5433, User: "postgres", Database: "shop_prod"},
			FilestoreDir: "/var/lib/odoo/filestore/shop prod", RPOTargetSeconds: 7200, RTOTargetSeconds: 600},
		Host: "erp1", PGPassword: core.SecretSource{Ref: "env:SHOP_PG_PASSWORD"}, WrittenAt: written,
		Newest: newest, State: core.HealthWarning, Problems: []string{"RTO target 10m missed: the last drill took 12m to restore (2026-02-28 04:00)"},
		Copies: []core.RunbookCopy{
			{Configuration: core.Configuration{Service: "shop", Destination: "offsite disk", Frequency: core.Weekly, Schedule: core.Schedule{Hour: 4, Minute: 30, Weekday: time.Saturday}, Retention: core.Retention{GFS: &core.GFS{Weekly: 4, Monthly: 12}}, Primary: true},
				Destination: core.Destination{Name: "offsite disk", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/mnt/offsite"}, Layout: core.LayoutPool,
					Encrypt: core.EncryptionSettings{Recipient: "age1recipientexample", KeyNote: "identity on the admin's YubiKey"}},
				Newest: newest},
			{Configuration: core.Configuration{Service: "shop", Destination: "s3-eu", Frequency: core.Hourly, Schedule: core.Schedule{Minute: 15}, Retention: core.Retention{KeepLast: 48}, Drill: core.Daily},
				Destination: core.Destination{Name: "s3-eu", Kind: core.DestinationS3, Layout: core.LayoutZip,
					Lock: core.ObjectLock{Mode: core.LockCompliance, Days: 30}, Limits: core.BandwidthLimits{Upload: 20 << 20, Download: 1234567},
					S3:      core.S3Settings{Endpoint: "s3.eu-west-1.amazonaws.com:443", Region: "eu-west-1", Bucket: "acme-odoo", Prefix: "prod", AccessKey: "AKIAEXAMPLE", SSE: core.SSEKMS, SSEKMSKeyID: "alias/odoo"},
					Encrypt: core.EncryptionSettings{KeyNote: "1Password vault Ops, item odoo-backup"}},
				SecretKey: core.SecretSource{Stored: true}, Passphrase: core.SecretSource{Stored: true}, Newest: backup(40, "s3-eu", 2*time.Hour)},
			{Configuration: core.Configuration{Service: "shop", Destination: "minio", Frequency: core.Monthly, Schedule: core.Schedule{Hour: 2, MonthDay: 3}},
				Destination: core.Destination{Name: "minio", Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: "minio.lan:9000", Bucket: "b", NoTLS: true, CAFile: "", SSE: core.SSES3},
					Encrypt: core.EncryptionSettings{Recipient: "age1keyfileexample", KeyFile: "/etc/odoo-backup/minio.key"}},
				SecretKey: core.SecretSource{Ref: "file:/etc/odoo-backup/minio.secret"}},
		},
		Recovery: core.Recovery{RPO: &core.RPOPoint{At: newest.StartedAt, Seconds: 3600}, RPOTargetSeconds: 7200,
			Destinations: []core.RPOPoint{{Destination: "offsite disk", At: written.Add(-time.Hour), Seconds: 3600}, {Destination: "s3-eu", At: written.Add(-2 * time.Hour), Seconds: 7200}},
			RTO:          &core.RTOPoint{Seconds: 720, At: written.Add(-8 * time.Hour), Source: "drill", ID: 7, BackupID: 40}, RTOTargetSeconds: 600, RTOMissed: true},
		LastDrill: &core.Drill{ID: 7, BackupID: 40, Destination: "s3-eu", Status: core.DrillOK, StartedAt: written.Add(-8*time.Hour - 12*time.Minute),
			Details: core.DrillDetails{FilestoreFiles: 1200, Checks: []string{"key tables", "row counts", "base installed"}, RestoreSeconds: 720}},
		SharedCatalog: true, Restorers: []core.RoleMember{{User: "catalog_owner", Role: core.RoleOwner}, {User: "alice", Role: core.RoleAdmin}},
		OwnerErr: "cannot reach the PostgreSQL server at db.internal:5433",
		Hooks:    []core.Hook{{Event: core.HookPreRestore, Command: "/etc/odoo-backup/stop odoo", Timeout: 2 * time.Minute}},
	}
}

// Every fact of the runbook is on its page, each secret only as where it
// comes from, and the commands name the variables it lists.
func TestRenderSaysWhereEverythingIs(t *testing.T) {
	page := Render(exampleRunbook(), Options{Catalog: "postgres://ops@catalog.internal:5432/odoo_backup"})
	for _, want := range []string{
		"# Disaster-recovery runbook: shop",
		"- Host: erp1",
		"- Database: shop_prod on db.internal:5433, as PostgreSQL user postgres (password: read from the environment variable SHOP_PG_PASSWORD at each use)",
		"- Odoo 17.0, PostgreSQL 16.4 (of backup 42",
		"- Health: warning: RTO target 10m missed",
		"### offsite disk (primary)", "- Where: local directory /mnt/offsite",
		"age, to recipient age1recipientexample; its identity is kept off this host",
		"- Where its key is kept: identity on the admin's YubiKey",
		"- Where: S3 endpoint s3.eu-west-1.amazonaws.com:443 (TLS), region eu-west-1, bucket acme-odoo, prefix prod",
		"- Access key: AKIAEXAMPLE; secret key: sealed in the catalog, not written here",
		"- Server-side encryption: SSE-KMS, key alias/odoo",
		"- Object Lock: compliance, 30 days: what a backup writes there cannot be deleted before then",
		"- Bandwidth limits: upload 20 MiB/s, download 1.18 MiB/s",
		"- Schedule: hourly :15; retention: keep 48; drill: daily",
		"- Newest good backup: 40, ", "12.3 MB",
		"- Encryption: age, with a passphrase (sealed in the catalog, not written here)",
		"- Where its key is kept: 1Password vault Ops, item odoo-backup",
		"the identity that decrypts it is the file /etc/odoo-backup/minio.key on this host",
		"secret key: read from the file /etc/odoo-backup/minio.secret at each use",
		"- Newest good backup: none",
		"- RPO: 1h (newest good backup ", "; target 2h, met", "  - on s3-eu: 2h (",
		"- RTO: 12m, measured by drill 7 of backup 40", "; target 10m, MISSED",
		"- Last drill: 7, ", ", ok, backup 40 on s3-eu", "  - checked: key tables, row counts, base installed; 1200 filestore files restored, 0 missing",
		"The database users with the admin role on the catalog, and its owner:", "- catalog_owner (owner)", "- alice (admin)",
		"- `S3_SECRET_KEY_S3_EU`: the S3 secret key of destination s3-eu (access key AKIAEXAMPLE)",
		"- `PASSPHRASE_S3_EU`: the encryption passphrase of destination s3-eu; kept: 1Password vault Ops, item odoo-backup",
		"- `IDENTITY_FILE_OFFSITE_DISK`: the path of the age identity file of recipient age1recipientexample (destination offsite disk); kept: identity on the admin's YubiKey",
		"- `/etc/odoo-backup/minio.secret`: a file holding the S3 secret key of destination minio",
		"- `SHOP_PG_PASSWORD`: the PostgreSQL password of user postgres on db.internal:5433, read at each use",
		"- `ODOO_DB_ROLE`: the PostgreSQL role Odoo connects as, which owns its database (not known when this page was written: cannot reach",
		"- the file /etc/odoo-backup/minio.key: the age identity that decrypts minio (recipient age1keyfileexample), mode 0600",
		"odoo-backup key install-catalog FILE",
		"odoo-backup destination add 'offsite disk' --dir /mnt/offsite --encrypt-recipient age1recipientexample --key-note 'identity on the admin'\\''s YubiKey' --layout pool\n",
		"odoo-backup destination add s3-eu --endpoint s3.eu-west-1.amazonaws.com:443 --bucket acme-odoo --region eu-west-1 --prefix prod --access-key AKIAEXAMPLE --secret-key-env S3_SECRET_KEY_S3_EU --sse kms --sse-kms-key-id alias/odoo --encrypt-passphrase-env PASSPHRASE_S3_EU --key-note '1Password vault Ops, item odoo-backup' --layout zip --object-lock compliance --lock-days 30 --limit-upload 20MiB/s --limit-download 1234567B/s\n",
		"odoo-backup destination add minio --endpoint minio.lan:9000 --bucket b --secret-key-ref file:/etc/odoo-backup/minio.secret --no-tls --sse s3 --encrypt-key /etc/odoo-backup/minio.key --layout zip\n",
		"odoo-backup catalog rebuild\n",
		"odoo-backup service add shop --db shop_prod --pg-host db.internal --pg-port 5433 --pg-user postgres --pg-password-ref env:SHOP_PG_PASSWORD --filestore '/var/lib/odoo/filestore/shop prod' --no-check\n",
		"odoo-backup config set shop 'offsite disk' --frequency weekly --weekday sat --at 04:30 --keep-gfs 4w,12m --primary\n",
		"odoo-backup config set shop s3-eu --frequency hourly --minute 15 --keep 48 --drill daily\n",
		"odoo-backup config set shop minio --frequency monthly --day 3 --at 02:00\n",
		"odoo-backup hook set shop pre-restore '/etc/odoo-backup/stop odoo' --timeout 2m0s\n",
		"- the file /etc/odoo-backup/stop odoo: the service's pre-restore hook, executable, owned by root and writable by no one else\n",
		"odoo-backup restore 42 --new-db shop_prod --filestore '/var/lib/odoo/filestore/shop prod' --owner \"$ODOO_DB_ROLE\" --no-neutralize --identity \"$IDENTITY_FILE_OFFSITE_DISK\"\n",
		"odoo-backup verify 42 --identity \"$IDENTITY_FILE_OFFSITE_DISK\"\n",
		"odoo-backup drill shop --destination 'offsite disk' --identity \"$IDENTITY_FILE_OFFSITE_DISK\"\n",
		"    odoo-backup restore 42 --service shop --yes --identity \"$IDENTITY_FILE_OFFSITE_DISK\"\n",
		"If offsite disk is lost too",
		"- from s3-eu, backup 40 (", "`odoo-backup restore 40 --new-db shop_prod --filestore '/var/lib/odoo/filestore/shop prod' --owner \"$ODOO_DB_ROLE\" --no-neutralize`",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "redacted") {
		t.Errorf("the page shows a redacted secret:\n%s", page)
	}
}

// A service on an SQLite catalog with nothing yet: no configuration, no
// backup, no drill. The page says so, and names no restore.
func TestRenderAServiceWithNothingYet(t *testing.T) {
	rb := core.Runbook{Service: core.Service{Name: "new", DB: core.DBConn{Host: "localhost", Port: 5432, User: "odoo", Database: "new"}},
		Host: "erp1", WrittenAt: written, State: core.HealthNone, DatabaseOwner: "odoo", Copies: []core.RunbookCopy{}}
	page := Render(rb, Options{Catalog: "/root/.local/share/odoo-backup/catalog.db"})
	for _, want := range []string{
		"- Odoo and PostgreSQL versions: unknown, there is no good backup yet",
		"- Filestore: none set", "(password: none: peer or trust authentication)",
		"Nowhere: the service has no configuration",
		"- RPO: no good backup yet; no target", "- RTO: never measured (a drill measures it); no target", "- Last drill: none yet",
		"Whoever can read the catalog file /root/.local/share/odoo-backup/catalog.db and run odoo-backup as root on this host",
		"# 5. There is no good backup to restore.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	for _, not := range []string{"odoo-backup restore", "Have these at hand", "install-catalog"} {
		if strings.Contains(page, not) {
			t.Errorf("the page has %q:\n%s", not, page)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "/a/b-c_d.e": "/a/b-c_d.e", "a b": "'a b'", "it's": `'it'\''s'`, "$HOME": "'$HOME'", "": "''"} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
