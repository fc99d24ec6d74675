package core_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// Every engine operation lands in the audit trail with the actor of its
// context, what it did, and how it went; a failure with the reason.
func TestEngineOperationsAreAudited(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 7})
	actor := core.Actor{User: "auditor", SSHClient: "198.51.100.9"}
	ctx := core.WithActor(e.ctx, actor)
	start, err := e.cat.Audit(ctx, core.AuditFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	var since int64
	if len(start) == 1 {
		since = start[0].ID
	}

	bs, err := e.engine.Backup(ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "minio"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.Backup(ctx, core.BackupRequest{Service: "prod", Destinations: []string{"nowhere"}}); err == nil {
		t.Fatal("a backup to an unknown destination worked")
	}
	out := filepath.Join(t.TempDir(), "dl.zip")
	if _, err := e.engine.Download(ctx, core.DownloadRequest{BackupID: bs[0].ID, Path: out}); err != nil {
		t.Fatal(err)
	}
	cp, err := e.engine.CopyBackup(ctx, core.CopyBackupRequest{BackupID: bs[1].ID, Destination: "local"})
	if err != nil {
		t.Fatal(err)
	}
	newDB := e.odoo.Name + "_audit"
	t.Cleanup(func() { pg.DropDatabase(context.Background(), newDB) })
	if _, err := e.engine.RestoreNewDB(ctx, core.RestoreRequest{BackupID: bs[0].ID, NewDB: newDB, FilestoreDir: filepath.Join(t.TempDir(), "fs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.DeleteBackup(ctx, core.DeleteRequest{BackupID: cp.Backup.ID}); err != nil {
		t.Fatal(err)
	}

	entries, err := e.cat.Audit(ctx, core.AuditFilter{Service: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(entries) - 1; i >= 0; i-- {
		a := entries[i]
		if a.ID <= since {
			continue
		}
		if a.User != actor.User || a.SSHClient != actor.SSHClient || a.At.IsZero() {
			t.Errorf("entry %+v: want it stamped and done by %v", a, actor)
		}
		got = append(got, fmt.Sprintf("%s %s %s | %s | %s", a.Action, a.Outcome, a.Target, a.Detail, a.Error))
	}
	want := []string{
		fmt.Sprintf("backup ok prod | manual: backup %d on local, backup %d on minio | ", bs[0].ID, bs[1].ID),
		"backup failed prod | manual to nowhere | ",
		fmt.Sprintf("download ok backup %d of prod on local | to %s | ", bs[0].ID, out),
		fmt.Sprintf("copy ok backup %d of prod on minio | to local as backup %d | ", bs[1].ID, cp.Backup.ID),
		fmt.Sprintf("restore ok backup %d of prod on local | into new database %s | ", bs[0].ID, newDB),
		fmt.Sprintf("delete ok backup %d of prod on local |  | ", cp.Backup.ID),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d audit entries:\n%s\nwant %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	for i := range want {
		if i == 1 {
			// The failure carries the catalog's sentence.
			if !strings.HasPrefix(got[i], want[i]) || !strings.Contains(got[i], "nowhere") {
				t.Errorf("entry %d: got %q, want %q with the reason", i, got[i], want[i])
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

// A secret kept by reference is read when it is used: an S3 secret key from
// the environment and a PostgreSQL password from a file work like stored
// ones, and one that does not resolve fails the backup saying why.
func TestSecretReferencesResolveAtUse(t *testing.T) {
	minio := servers.MinIO(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 8})
	ref, err := core.SecretRef("env:ODOO_BACKUP_TEST_S3_SECRET")
	if err != nil {
		t.Fatal(err)
	}
	e.s3.S3.SecretKey = ref
	if err := e.cat.UpdateDestination(e.ctx, e.s3); err != nil {
		t.Fatal(err)
	}
	password := e.svc.DB.Password.Reveal()
	pwFile := filepath.Join(t.TempDir(), "pg.pass")
	writeFile(t, pwFile, password+"\n", 0o600)
	pwRef, err := core.SecretRef("file:" + pwFile)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.DB.Password = pwRef
	if err := e.cat.UpdateService(e.ctx, e.svc); err != nil {
		t.Fatal(err)
	}

	_, err = e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"minio"}})
	if err == nil || !strings.Contains(err.Error(), `the secret key of destination "minio" refers to the environment variable ODOO_BACKUP_TEST_S3_SECRET, which is not set`) {
		t.Fatalf("backup with the variable unset: got %v, want it named", err)
	}

	t.Setenv("ODOO_BACKUP_TEST_S3_SECRET", minio.SecretKey)
	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"minio"}})
	if err != nil || bs[0].Status != core.StatusSucceeded {
		t.Fatalf("backup with both secrets by reference: %v", err)
	}

	writeFile(t, pwFile, password, 0o644)
	_, err = e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local"}})
	if !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(err.Error(), "chmod 600 "+pwFile) {
		t.Fatalf("backup with a password file others can read: got %v, want it refused with the chmod", err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
