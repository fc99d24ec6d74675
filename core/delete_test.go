package core_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// Deleting by hand removes the archive and its metadata object and keeps the
// row as deleted; the last succeeded backup of a service (across all its
// destinations) needs force.
func TestDeleteBackup(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 31})
	first := e.backup("local")[0]

	_, err := e.engine.DeleteBackup(e.ctx, core.DeleteRequest{BackupID: first.ID})
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "last successful backup") || !advised(err, core.ActionForceDelete) {
		t.Fatalf("deleting the only backup: got %v, want a refusal advising to force it", err)
	}
	if keys := e.listAll(e.local); len(keys) != 2 {
		t.Fatalf("a refused delete removed objects: %v", keys)
	}

	second := e.backup("minio")[0]
	got, err := e.engine.DeleteBackup(e.ctx, core.DeleteRequest{BackupID: first.ID})
	if err != nil {
		t.Fatalf("deleting one of two backups: %v", err)
	}
	if got.Status != core.StatusDeleted {
		t.Errorf("returned status %s, want deleted", got.Status)
	}
	if keys := e.listAll(e.local); len(keys) != 0 {
		t.Errorf("archive or metadata left on local: %v", keys)
	}
	row, err := e.cat.Backup(e.ctx, first.ID)
	if err != nil || row.Status != core.StatusDeleted || row.SHA256 != first.SHA256 {
		t.Errorf("catalog row %+v (%v), want it kept as deleted with its checksum", row, err)
	}
	if _, err := e.engine.DeleteBackup(e.ctx, core.DeleteRequest{BackupID: first.ID, Force: true}); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "already deleted") {
		t.Errorf("deleting twice: got %v, want already deleted", err)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: first.ID}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("verify of a deleted backup: got %v, want ErrNotFound", err)
	}

	// The other is now the last one, on another destination.
	if _, err := e.engine.DeleteBackup(e.ctx, core.DeleteRequest{BackupID: second.ID}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("deleting the new last backup: got %v, want a refusal", err)
	}
	if _, err := e.engine.DeleteBackup(e.ctx, core.DeleteRequest{BackupID: second.ID, Force: true}); err != nil {
		t.Fatalf("deleting the last backup with force: %v", err)
	}
	if keys := e.listAll(e.s3); len(keys) != 0 {
		t.Errorf("objects left on minio: %v", keys)
	}

	// A failed backup has nothing stored: it is only marked.
	failed := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual, Status: core.StatusFailed, Error: "boom"}
	if err := e.cat.CreateBackup(e.ctx, &failed); err != nil {
		t.Fatal(err)
	}
	if got, err := e.engine.DeleteBackup(e.ctx, core.DeleteRequest{BackupID: failed.ID}); err != nil || got.Status != core.StatusDeleted {
		t.Errorf("deleting a failed backup: %+v %v, want it marked deleted", got, err)
	}
	running := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual}
	if err := e.cat.CreateBackup(e.ctx, &running); err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.DeleteBackup(e.ctx, core.DeleteRequest{BackupID: running.ID, Force: true}); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "running") {
		t.Errorf("deleting a running backup: got %v, want a refusal", err)
	}
	if _, err := e.engine.DeleteBackup(e.ctx, core.DeleteRequest{BackupID: 9999}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown id: got %v, want ErrNotFound", err)
	}
}
