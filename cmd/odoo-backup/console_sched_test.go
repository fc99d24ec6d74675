package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

var consoleSchedRuns int

// The console runs the schedules while no daemon does, against the real
// PostgreSQL in a real terminal: opened with an hourly configuration that
// never ran, it says in its header that it runs the schedules and catches
// up with a scheduled backup, recorded as the daemon records it; status
// names the console. A daemon started then asks for the schedules and gets
// them within a poll, without running the slot again; the console's header
// names the daemon, and the console quits cleanly.
func TestConsoleRunsSchedulesUntilDaemonStarts(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	consoleSchedRuns++ // -count=N runs on the same PostgreSQL
	odoo := generate(t, fmt.Sprintf("consched_%d", consoleSchedRuns))
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk", "--frequency", "hourly", "--minute", "0", "--keep", "5")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	term := newTerminal(t, 100, 30, "ODOO_BACKUP_TEST_AS_MAIN=1", "NO_COLOR=1",
		"XDG_DATA_HOME="+os.Getenv("XDG_DATA_HOME"), "TEST_PG_PASSWORD="+pg.Password)
	term.typeLine(fmt.Sprintf("%s --catalog %s", exe, c.catalog))
	rows := term.waitFor(time.Minute, "1 service ", "scheduler: this console (no daemon running)")
	term.checkFrame(rows)

	// The catch-up: a scheduled backup, awaited in the catalog.
	var scheduled []backupJSON
	deadline := time.Now().Add(2 * time.Minute)
	for len(scheduled) == 0 {
		for _, b := range c.backupsWhere("succeeded") {
			if b.Kind == string(core.KindScheduled) {
				scheduled = append(scheduled, b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled backup by the console after 2 minutes; backups: %+v", c.backupsWhere(""))
		}
		time.Sleep(100 * time.Millisecond) // the poll interval of the catalog, not a wait for something
	}
	if b := scheduled[0]; b.Destination != "disk" || b.Size <= 0 {
		t.Errorf("the console's scheduled backup is %+v, want a stored one on disk", b)
	}
	st, _ := c.status()
	if st.Scheduler == nil || st.Scheduler.Holder != core.ConsoleHolder || !st.Scheduler.Alive {
		t.Fatalf("status says the scheduler is %+v, want the live console", st.Scheduler)
	}
	if out := c.ok("status"); !strings.Contains(out, fmt.Sprintf("Scheduler: the console pid %d", st.Scheduler.PID)) {
		t.Errorf("status should name the console as the scheduler; it says:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, "console-scheduler.log")); err != nil || !strings.Contains(string(b), "scheduled backup succeeded") {
		t.Errorf("the console's scheduler log should tell of the backup (%v):\n%s", err, b)
	}

	// A daemon starts: it asks, the console hands over, the daemon runs.
	d := c.startDaemon()
	asked := d.waitFor("a console runs the schedules; asking it to hand them over", 1)[0]
	if asked["pid"] != float64(st.Scheduler.PID) {
		t.Errorf("the daemon asked %v, want the console pid %d", asked["pid"], st.Scheduler.PID)
	}
	running := d.waitFor("running the schedules", 1)[0]
	if running["holder"] != "daemon" {
		t.Errorf("running the schedules: %v, want the daemon", running)
	}
	d.waitFor("no missed backup to catch up on", 1)
	st, _ = c.status()
	if st.Scheduler == nil || st.Scheduler.Holder != "daemon" {
		t.Fatalf("after the handover status says the scheduler is %+v, want the daemon", st.Scheduler)
	}
	rows = term.waitFor(30*time.Second, fmt.Sprintf("scheduler: daemon (pid %d)", d.cmd.Process.Pid))
	term.checkFrame(rows)
	if n := countNew(c.backupsWhere(""), "disk"); n != 1 {
		t.Errorf("got %d scheduled backups, want 1: the daemon must not run the console's slot again", n)
	}

	term.keys("q")
	term.waitUntil(30*time.Second, "the shell's prompt after the console", func(rows []string) bool {
		return term.display("#{alternate_on}") == "0" && strings.TrimRight(lastNonEmpty(rows), " ") == strings.TrimRight(prompt, " ")
	})
	term.typeLine("echo exit=$?")
	term.waitFor(10*time.Second, "exit=0")
	st, _ = c.status()
	if st.Scheduler == nil || st.Scheduler.Holder != "daemon" {
		t.Errorf("after the console quit the scheduler is %+v, want the daemon still", st.Scheduler)
	}
	d.stop()
}

// Quitting a console while its scheduled backup runs (the person said y)
// cancels the backup cleanly against the real PostgreSQL: the row ends
// failed as interrupted, no partial file stays in the destination, and the
// lease is free for the next daemon or console.
func TestConsoleQuitAbortsScheduledBackup(t *testing.T) {
	pg := servers.Postgres(t)
	c := newCLI(t)
	consoleSchedRuns++
	odoo, err := testbed.GenerateOdoo(t.Context(), pg, fmt.Sprintf("consquit_%d", consoleSchedRuns), filepath.Join(t.TempDir(), "odoo"),
		testbed.OdooOptions{Seed: 3, DumpBytes: 64 << 20, FilestoreBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(c.dir, "disk")
	c.ok("destination", "add", "disk", "--dir", disk)
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk", "--frequency", "hourly", "--minute", "0", "--keep", "5")

	var out bytes.Buffer
	a := &app{catalogPath: c.catalog, stdout: &out, stderr: &out}
	if err := a.open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer a.cat.Close()
	cs, err := a.startConsoleScheduler(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The catch-up starts at once; await its row running.
	deadline := time.Now().Add(time.Minute)
	for len(cs.Running()) == 0 || len(c.backupsWhere("running")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled backup running in the console after a minute; backups: %+v", c.backupsWhere(""))
		}
		time.Sleep(20 * time.Millisecond) // the poll interval, not a wait for something
	}
	var said []string
	if err := cs.shutdown(func(s string) { said = append(said, s) }); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if len(said) != 1 || !strings.Contains(said[0], "Stopping the scheduled backup of prod") {
		t.Errorf("on quit the console said %q, want that it stops the backup of prod", said)
	}
	bs := c.backupsWhere("")
	if len(bs) != 1 || bs[0].Status != "failed" || bs[0].Kind != "scheduled" || !strings.Contains(bs[0].Error, "interrupted") {
		t.Fatalf("after quitting the backups are %+v, want one scheduled backup failed as interrupted", bs)
	}
	filepath.WalkDir(disk, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("a file stays in the destination after the aborted backup: %s", path)
		}
		return nil
	})
	if st, _ := c.status(); st.Scheduler != nil {
		t.Errorf("after quitting the scheduler lease is held by %+v, want it free", st.Scheduler)
	}
}
