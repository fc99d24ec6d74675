package main

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// SPEC rule 11: manual backups alone, on two scheduled
// configurations, are recovery points: status is ok and exits 0.
func TestStatusCountsManualBackups(t *testing.T) {
	minio := servers.MinIO(t)
	c := newCLI(t)
	odoo := generate(t, "health_manual")
	c.addS3("s3", minio.NewBucket(t))
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "s3", "--frequency", "daily", "--keep", "3")
	c.ok("config", "set", "prod", "disk", "--frequency", "hourly", "--keep", "3")
	for range 2 {
		c.ok("backup", "prod", "--destination", "s3")
		c.ok("backup", "prod", "--destination", "disk")
	}

	r := c.run("status")
	if r.code != 0 || strings.Contains(r.stdout, "stale") || strings.Count(r.stdout, " ok") != 2 {
		t.Errorf("status after four manual backups: exit %d\n%s%s\nwant exit 0 and both configurations ok", r.code, r.stdout, r.stderr)
	}
	st, code := c.status()
	if code != 0 || !st.Healthy || len(st.Services) != 1 {
		t.Fatalf("status --json: exit %d %+v, want healthy", code, st)
	}
	for _, cfg := range st.Services[0].Configurations {
		if cfg.State != core.HealthOK || cfg.LastSuccess == nil || cfg.LastBackup == nil || cfg.LastBackup.Kind != core.KindManual {
			t.Errorf("configuration %s: state %q, last success %v, last backup %+v; want ok with the manual backup as the last one",
				cfg.Destination, cfg.State, cfg.LastSuccess, cfg.LastBackup)
		}
	}
}

// A command-line backup to a directory and S3 killed with
// SIGKILL leaves running rows, a hidden temporary file and an unfinished
// multipart upload; the next command (here backups) records the rows as
// failed, removes the file and the upload, and says so once each; status
// exits 1 naming the backups.
func TestKilledBackupIsCleanedUpByTheNextCommand(t *testing.T) {
	pg := servers.Postgres(t)
	minio := servers.MinIO(t)
	c := newCLI(t)
	// Over 1 MiB of archive before the blocked file, whatever the dump
	// compresses to (the files are incompressible, the blocked one is in
	// the middle): the S3 upload is a multipart one, begun before the block.
	odoo, err := testbed.GenerateOdoo(t.Context(), pg, "health_killed", filepath.Join(t.TempDir(), "odoo"),
		testbed.OdooOptions{Seed: 9, DumpBytes: 3 << 20, FilestoreBytes: 6 << 20, Files: 24, Incompressible: 1})
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(c.dir, "disk")
	bucket := minio.NewBucket(t)
	c.addS3("s3", bucket)
	// Self-contained zips: the archive's multipart upload and temporary
	// file are what a kill leaves behind here.
	c.ok("destination", "update", "s3", "--layout", "zip")
	c.ok("destination", "add", "disk", "--dir", disk, "--layout", "zip")
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk", "--frequency", "daily", "--keep", "3")
	c.ok("config", "set", "prod", "s3", "--frequency", "daily", "--keep", "3")
	c.ok("backup", "prod", "--all-destinations")
	s3st, err := s3.NewS3(s3.Config{S3Settings: core.S3Settings{Endpoint: minio.Endpoint, Bucket: bucket, Prefix: "backups/odoo", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true}})
	if err != nil {
		t.Fatal(err)
	}

	// One filestore file becomes a FIFO nobody writes to: the backup
	// blocks opening it, mid-archive, for as long as the test wants.
	fifo := blockingFilestoreFile(t, odoo)
	cmd := exec.Command(os.Args[0], "--catalog", c.catalog, "backup", "prod", "--all-destinations")
	cmd.Env = append(os.Environ(), "ODOO_BACKUP_TEST_AS_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	var tmp string
	var running []core.Backup
	awaitCondition(t, "the backup to reach the blocked filestore file with its temporary file and multipart upload begun", func() bool {
		tmp = tempFileUnder(t, disk)
		running = runningBackups(t, c.catalog)
		up, err := s3st.Incomplete(t.Context(), "")
		return tmp != "" && len(running) == 2 && running[0].Phase == core.PhaseFilestore && err == nil && len(up) == 1
	})
	for _, b := range running {
		if b.PID != cmd.Process.Pid || b.ProcessStart == 0 {
			t.Errorf("the running row names pid %d (start %d), want the backup process %d with its start time", b.PID, b.ProcessStart, cmd.Process.Pid)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	os.Remove(fifo)

	// The first command after the kill cleans up and says so, once for
	// each backup, after its result.
	r := c.run("backups", "prod")
	if r.code != 0 || strings.Count(r.stderr, "Warning: backup interrupted by a crash recorded as failed") != 2 {
		t.Errorf("backups after the kill: exit %d, stderr:\n%s\nwant one warning for each of the 2 interrupted backups", r.code, r.stderr)
	}
	r = c.run("status")
	if r.code != 1 {
		t.Errorf("status after the kill: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, b := range running {
		if want := "failed (backup " + itoa(b.ID) + "): interrupted: the process died"; !strings.Contains(r.stdout, want) {
			t.Errorf("status says:\n%s\nwant it to contain %q", r.stdout, want)
		}
	}
	if up, err := s3st.Incomplete(t.Context(), ""); err != nil || len(up) != 0 {
		t.Errorf("unfinished multipart uploads left: %v (%v)", up, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the temporary file %s is still there (%v)", tmp, err)
	}
	if left := tempFileUnder(t, disk); left != "" {
		t.Errorf("a temporary file is left: %s", left)
	}
	for _, rb := range running {
		b := c.backupByID(rb.ID)
		if b.Status != "failed" || !strings.HasPrefix(b.Error, "interrupted: the process died") || b.FinishedAt == nil {
			t.Errorf("the killed backup %d is %s %q, want failed as interrupted", rb.ID, b.Status, b.Error)
		}
	}
	// Reconciled once: the next command finds nothing to say.
	if r := c.run("status"); strings.Contains(r.stderr, "interrupted") {
		t.Errorf("a second status warned again: %s", r.stderr)
	}
	// A new backup succeeds and makes the configurations healthy again.
	c.ok("backup", "prod", "--all-destinations")
	if _, code := c.status(); code != 0 {
		t.Errorf("status after a new backup exits %d, want 0", code)
	}
}

// blockingFilestoreFile turns one referenced filestore file into a FIFO and
// returns its path.
func blockingFilestoreFile(t *testing.T, odoo *testbed.OdooDB) string {
	t.Helper()
	names := make([]string, 0, len(odoo.Files))
	for n := range odoo.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	path := filepath.Join(odoo.FilestoreDir, filepath.FromSlash(names[len(names)/2]))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tempFileUnder is a local store's hidden temporary file under dir, or "".
func tempFileUnder(t *testing.T, dir string) string {
	t.Helper()
	found := ""
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), ".tmp-") {
			found = p
		}
		return nil
	})
	return found
}

// runningBackups reads the catalog behind the commands' back: the running
// backups.
func runningBackups(t *testing.T, catalog string) []core.Backup {
	t.Helper()
	cat, err := store.Open(context.Background(), catalog)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	bs, err := cat.Backups(context.Background(), core.BackupFilter{Status: core.StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// awaitCondition polls cond until it holds, failing the test after a
// minute.
func awaitCondition(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A running backup that has made no progress for
// core.StallAfter (here one of another host, which no command reconciles)
// is stalled in status, text and JSON, and status exits 1 naming it.
func TestStatusShowsStalledBackup(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "health_stalled")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk", "--frequency", "daily", "--keep", "3")
	c.ok("backup", "prod")
	if _, code := c.status(); code != 0 {
		t.Fatalf("status before the stall exits %d, want 0", code)
	}
	cat, err := store.Open(context.Background(), c.catalog)
	if err != nil {
		t.Fatal(err)
	}
	b := core.Backup{Service: "prod", Destination: "disk", Kind: core.KindScheduled,
		Host: "other-host", PID: 4242, BackupProgress: core.BackupProgress{Phase: core.PhaseDump, Bytes: 1 << 20, ProgressAt: time.Now().Add(-5 * time.Minute)}}
	err = cat.CreateBackup(context.Background(), &b)
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}

	r := c.run("status")
	if want := "stalled (backup " + itoa(b.ID) + "): a running backup has made no progress for 5m0s"; r.code != 1 || !strings.Contains(r.stdout, want) {
		t.Errorf("status with a stalled backup: exit %d\n%s%s\nwant exit 1 and %q", r.code, r.stdout, r.stderr, want)
	}
	st, code := c.status()
	if code != 1 || st.Healthy || len(st.Services) != 1 || len(st.Services[0].Configurations) != 1 {
		t.Fatalf("status --json: exit %d %+v, want unhealthy", code, st)
	}
	h := st.Services[0].Configurations[0]
	if st.Services[0].Health != core.HealthStalled || h.State != core.HealthStalled || h.Running == nil || h.Running.ID != b.ID || h.Running.ProgressAt.IsZero() {
		t.Errorf("status --json: service %s, configuration %+v; want stalled naming backup %d with its progress time", st.Services[0].Health, h, b.ID)
	}
}
