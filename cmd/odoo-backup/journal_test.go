package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
)

// TestDaemonJournalsWhileCatalogIsDown: the catalog's PostgreSQL server
// (a cluster of its own) stops while a daemon's overdue schedules fire. The
// daemon keeps running them, the archives reach the destination, their rows
// wait in the host's journal; status and other commands say in one sentence
// that the catalog is unreachable. When the server is back the daemon
// replays the journal: every backup is in the history exactly once, with
// its destination's key, size and checksum, and the metadata objects carry
// the real ids. A daemon killed after the replay's commits but before the
// journal was emptied (its journal put back as it was) replays it again
// without a duplicate.
func TestDaemonJournalsWhileCatalogIsDown(t *testing.T) {
	ctx := t.Context()
	own, err := testbed.NewPostgres(ctx)
	testbed.Need(t, "PostgreSQL", err)
	t.Cleanup(func() { own.Close() })
	if err := own.CreateDatabase(ctx, "catalog"); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	c.catalog = own.ConnString("catalog")
	c.secrets = append(c.secrets, own.Password)
	disk := filepath.Join(c.dir, "disk")
	c.ok("destination", "add", "disk", "--dir", disk, "--layout", "zip")
	services := []string{"jr_a", "jr_b", "jr_c"}
	for i, svc := range services {
		c.addService(svc, generateSeed(t, svc, int64(60+i)))
		c.ok("service", "update", svc, "--host", "host-a") // the daemon's below
		c.ok("config", "set", svc, "disk", "--frequency", "hourly", "--minute", "0", "--keep", "5")
	}
	journal := filepath.Join(c.dir, "xdg", "odoo-backup", "journal", "host-a.jsonl")
	// A service with a hook: the hooks, read with the schedules, still run
	// while the catalog is away.
	hooks := filepath.Join(c.dir, "hooks")
	marker := filepath.Join(c.dir, "hook-ran")
	if err := os.Mkdir(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(hooks, "pre")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho \"$ODOO_BACKUP_SERVICE\" >> "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.ok("hook", "set", "jr_c", "pre-backup", hook, "--timeout", "30s")

	// One backup at a time: the first starts while the catalog answers,
	// the others run once it is gone.
	d := c.startDaemon("--host-name", "host-a", "--max-concurrent", "1")
	d.waitFor("scheduled backup starting", 1)
	if err := own.Stop(); err != nil {
		t.Fatal(err)
	}
	d.waitFor("scheduled run finished", len(services))
	d.saw("the catalog is unreachable; the schedules it last gave keep running")
	if got, err := os.ReadFile(marker); err != nil || strings.TrimSpace(string(got)) != "jr_c" {
		t.Errorf("the pre-backup hook of jr_c left %q (%v); want it run once, for jr_c", got, err)
	}

	// While it is away: the journal holds the rows, the destination the
	// archives, and the commands say so in one sentence.
	entries, saved := readJournal(t, journal)
	provisional, finals := 0, map[string]core.Backup{}
	for _, e := range entries {
		if e.Backup == nil {
			continue
		}
		if e.Backup.ID < 0 {
			provisional++
		}
		if e.Backup.Status == core.StatusSucceeded {
			finals[e.Backup.Service] = *e.Backup
			if _, err := os.Stat(filepath.Join(disk, e.Backup.Key)); err != nil {
				t.Errorf("the archive of the journaled backup of %s is not on the destination: %v", e.Backup.Service, err)
			}
		}
	}
	if provisional == 0 || len(finals) < len(services)-1 {
		t.Fatalf("journal: %d backups under a provisional id, final states of %v; want some provisional and the runs made while the catalog was away:\n%s",
			provisional, finals, mustRead(t, journal))
	}
	want := "the catalog " + store.Redact(c.catalog) + " is unreachable"
	c.fails(3, want, "status")
	c.fails(1, want, "backups")

	// 1. The server is back: the next lease renewal replays the journal.
	if err := own.Start(); err != nil {
		t.Fatal(err)
	}
	d.waitFor("the journal is replayed", 1)
	if left, _ := readJournal(t, journal); len(left) != 0 {
		t.Fatalf("the journal still holds %d entries after the replay", len(left))
	}
	first := checkReplayed(t, c, disk, services)
	cat, err := store.Open(ctx, c.catalog, store.WithKeyFile(filepath.Join(c.dir, "xdg", "odoo-backup", "catalog.key")))
	if err != nil {
		t.Fatal(err)
	}
	for svc, jb := range finals {
		b, err := cat.Backup(ctx, first[svc])
		if err != nil || b.Key != jb.Key || b.Size != jb.Size || b.SHA256 != jb.SHA256 || b.Status != core.StatusSucceeded {
			t.Errorf("backup of %s in the catalog: %+v (%v), want the journal's key %s, size %d, sha256 %s", svc, b, err, jb.Key, jb.Size, jb.SHA256)
		}
	}
	cat.Close()

	// 2. Killed between the replay's commits and the journal's removal:
	// the next daemon finds the journal as it was and writes nothing twice.
	d.kill9()
	if err := os.WriteFile(journal, []byte(saved), 0o600); err != nil {
		t.Fatal(err)
	}
	d = c.startDaemon("--host-name", "host-a", "--max-concurrent", "1")
	d.waitFor("the journal is replayed", 1)
	d.waitFor("running the schedules", 1)
	again := checkReplayed(t, c, disk, services)
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Errorf("replaying the same journal again changed the history: %v, then %v", first, again)
	}
	d.stop()
}

// saw waits for a log line with msg unless one already came.
func (d *daemonProc) saw(msg string) {
	d.t.Helper()
	for _, m := range d.seen {
		if m["msg"] == msg {
			return
		}
	}
	d.waitFor(msg, 1)
}

// checkReplayed checks that each service has exactly one succeeded
// scheduled backup whose metadata object carries its id, and returns the
// ids by service.
func checkReplayed(t *testing.T, c *cli, disk string, services []string) map[string]int64 {
	t.Helper()
	var bs []backupJSON
	c.json(&bs, "backups")
	ids := map[string]int64{}
	for _, b := range bs {
		if b.Kind != "scheduled" || b.Status != "succeeded" || b.Size <= 0 || len(b.SHA256) != 64 || b.ID <= 0 {
			t.Errorf("backup after the replay: %+v, want a succeeded scheduled backup with size, checksum and a real id", b)
		}
		if _, dup := ids[b.Service]; dup {
			t.Errorf("service %s has two backups after the replay: %+v", b.Service, bs)
		}
		ids[b.Service] = b.ID
	}
	if len(ids) != len(services) || len(bs) != len(services) {
		t.Fatalf("backups after the replay: %+v, want one for each of %v", bs, services)
	}
	cat, err := store.Open(t.Context(), c.catalog, store.WithKeyFile(filepath.Join(c.dir, "xdg", "odoo-backup", "catalog.key")))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	rows, err := cat.Backups(t.Context(), core.BackupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rows {
		raw, err := os.ReadFile(filepath.Join(disk, core.MetadataKey(b.Key)))
		if err != nil {
			t.Errorf("metadata object of backup %d: %v", b.ID, err)
			continue
		}
		m, err := core.ParseMetadata(raw)
		if err != nil || m.ID != b.ID || m.SHA256 != b.SHA256 || m.Size != b.Size {
			t.Errorf("metadata of backup %d: id %d, sha256 %s, size %d (%v); want the catalog's id %d, %s, %d", b.ID, m.ID, m.SHA256, m.Size, err, b.ID, b.SHA256, b.Size)
		}
	}
	return ids
}

type journalLine struct {
	Seq    int64        `json:"seq"`
	Origin string       `json:"origin"`
	Backup *core.Backup `json:"backup"`
}

// readJournal returns the journal's entries and the file as it is.
func readJournal(t *testing.T, path string) ([]journalLine, string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []journalLine
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var e journalLine
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("journal line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out, string(raw)
}

func mustRead(t *testing.T, path string) string {
	raw, _ := os.ReadFile(path)
	return string(raw)
}
