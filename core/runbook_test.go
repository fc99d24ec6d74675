package core_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

// The runbook's facts come from the catalog with every secret taken out:
// a destination's stored S3 secret key and passphrase and the service's
// stored password are said to be sealed, a reference is kept as where the
// secret comes from, and none of the values is anywhere in what is
// gathered. The primary comes first, each copy has its newest good backup
// (a failed newer one is no copy), and the service's newest is the newest
// of them; SQLite has no roles to list.
func TestGatherRunbookHoldsNoSecret(t *testing.T) {
	ctx := context.Background()
	cat, err := store.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const s3Secret, passphrase, pgPassword = "s3-secret-VALUE-7d1f", "passphrase-VALUE-92ab", "pg-password-VALUE-4c3e"
	ref, err := core.SecretRef("env:RUNBOOK_S3_SECRET")
	must(err)
	must(cat.AddDestination(ctx, &core.Destination{Name: "vault", Kind: core.DestinationS3,
		S3:      core.S3Settings{Endpoint: "s3.example.com:443", Region: "eu-west-1", Bucket: "acme", Prefix: "odoo", AccessKey: "AKIAEXAMPLE", SecretKey: core.Secret(s3Secret)},
		Encrypt: core.EncryptionSettings{Passphrase: core.Secret(passphrase), KeyNote: "sealed envelope in the office safe"}}))
	must(cat.AddDestination(ctx, &core.Destination{Name: "referred", Kind: core.DestinationS3,
		S3: core.S3Settings{Endpoint: "s3.example.com:443", Bucket: "other", AccessKey: "AKIAOTHER", SecretKey: ref}}))
	must(cat.AddDestination(ctx, &core.Destination{Name: "disk", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: "/srv/backups"}}))
	// Port 1 refuses at once: the owner of the database stays unknown.
	must(cat.AddService(ctx, &core.Service{Name: "shop", DB: core.DBConn{Host: "127.0.0.1", Port: 1, User: "odoo", Password: core.Secret(pgPassword), Database: "shop"},
		FilestoreDir: "/var/lib/odoo/filestore/shop", RPOTargetSeconds: 3600}, ""))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "shop", Destination: "referred", Frequency: core.Daily, Schedule: core.DefaultSchedule}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "shop", Destination: "vault", Frequency: core.Hourly, Retention: core.Retention{KeepLast: 24}}))
	must(cat.SetConfiguration(ctx, core.Configuration{Service: "shop", Destination: "disk", Frequency: core.Manual, Primary: true}))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ids := map[string]int64{}
	add := func(dest string, ago time.Duration, status core.BackupStatus) {
		t.Helper()
		started := now.Add(-ago)
		finished := started.Add(time.Minute)
		b := core.Backup{Service: "shop", Destination: dest, Kind: core.KindScheduled, StartedAt: started}
		must(cat.CreateBackup(ctx, &b))
		b.Status, b.FinishedAt, b.Size, b.OdooVersion, b.PGVersion = status, &finished, 1000, "17.0", "16.4"
		must(cat.UpdateBackup(ctx, b))
		if status == core.StatusSucceeded {
			ids[dest] = b.ID
		}
	}
	add("disk", 5*time.Hour, core.StatusSucceeded)
	add("vault", 3*time.Hour, core.StatusSucceeded)
	add("vault", time.Hour, core.StatusFailed)

	rb, err := core.GatherRunbook(ctx, cat, "shop", now)
	must(err)
	j, err := json.Marshal(rb)
	must(err)
	for _, s := range []string{s3Secret, passphrase, pgPassword, "redacted"} {
		if strings.Contains(string(j), s) || strings.Contains(rb.Service.DB.Password.Reveal(), s) {
			t.Errorf("the runbook's facts hold %q:\n%s", s, j)
		}
	}
	if len(rb.Copies) != 3 || rb.Copies[0].Destination.Name != "disk" || !rb.Copies[0].Configuration.Primary {
		t.Fatalf("copies %+v, want three, the primary disk first", rb.Copies)
	}
	byName := map[string]core.RunbookCopy{}
	for _, c := range rb.Copies {
		byName[c.Destination.Name] = c
	}
	if v := byName["vault"]; !v.SecretKey.Stored || !v.Passphrase.Stored || v.Destination.S3.SecretKey != "" || v.Destination.Encrypt.Passphrase != "" ||
		v.Destination.Encrypt.KeyNote != "sealed envelope in the office safe" || v.Newest == nil || v.Newest.ID != ids["vault"] {
		t.Errorf("vault: %+v, want its secrets said sealed and taken out, its key note, and its newest good backup %d", v, ids["vault"])
	}
	if r := byName["referred"]; r.SecretKey.Ref != "env:RUNBOOK_S3_SECRET" || r.SecretKey.Stored || r.Newest != nil {
		t.Errorf("referred: %+v, want its secret key's reference and no backup", r)
	}
	if !rb.PGPassword.Stored || rb.Newest == nil || rb.Newest.ID != ids["vault"] || rb.Newest.OdooVersion != "17.0" {
		t.Errorf("runbook %+v: want the password said sealed and the newest good backup %d", rb, ids["vault"])
	}
	if rb.Recovery.RPO == nil || rb.Recovery.RPO.Seconds != int64((2*time.Hour+59*time.Minute)/time.Second) || !rb.Recovery.RPOMissed || rb.State != core.HealthFailed {
		t.Errorf("recovery %+v, state %s: want the RPO of the vault backup, missing its 1h target", rb.Recovery, rb.State)
	}
	if rb.SharedCatalog || len(rb.Restorers) != 0 || rb.DatabaseOwner != "" || rb.OwnerErr == "" {
		t.Errorf("runbook %+v: want no roles on SQLite and the owner unknown, with why", rb)
	}
	if _, err := core.GatherRunbook(ctx, cat, "nope", now); !strings.Contains(err.Error(), "nope") {
		t.Errorf("an unknown service: %v, want it named", err)
	}
}
