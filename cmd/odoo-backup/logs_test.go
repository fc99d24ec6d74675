package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupOutputHasNoLogLines: a backup prints its result, not the
// engine's log; a warning that matters (a missing attachment file) is a
// sentence after it; --verbose and --log-format show the log when asked.
func TestBackupOutputHasNoLogLines(t *testing.T) {
	c := newCLI(t)
	odoo := generate(t, "cli_quiet")
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk")
	var victim string
	filepath.WalkDir(odoo.FilestoreDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && victim == "" && !strings.Contains(p, "checklist") {
			victim = p
		}
		return nil
	})
	if victim == "" {
		t.Fatal("the test database has no filestore file")
	}
	if err := os.Remove(victim); err != nil {
		t.Fatal(err)
	}

	r := c.run("backup", "prod")
	if r.code != 0 || !strings.Contains(r.stdout, "on disk succeeded") {
		t.Fatalf("backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "level=") || strings.Contains(r.stdout+r.stderr, "msg=") {
		t.Errorf("backup printed log lines:\n%s%s", r.stdout, r.stderr)
	}
	// The missing file is part of the result, said once, not a log line.
	if r.stderr != "" || strings.Count(r.stdout, "Warning: ") != 1 || !strings.Contains(r.stdout, "attachment file") {
		t.Errorf("backup: stdout %q, stderr %q; want the missing attachment file as one Warning sentence of the result", r.stdout, r.stderr)
	}

	r = c.run("backup", "prod", "--verbose")
	if r.code != 0 || !strings.Contains(r.stderr, `level=INFO msg="backup succeeded" service=prod destination=disk`) {
		t.Errorf("backup --verbose: exit %d, stderr %q; want the engine's log", r.code, r.stderr)
	}
	r = c.run("backup", "prod", "--log-format", "json")
	if r.code != 0 || !strings.Contains(r.stderr, `"msg":"backup succeeded"`) {
		t.Errorf("backup --log-format json: exit %d, stderr %q; want the log as JSON", r.code, r.stderr)
	}
	c.fails(2, `--log-format "xml" is not text or json`, "backups", "--log-format", "xml")
}

// TestWarningSink: without --verbose the engine's warnings become one
// sentence each (repeats dropped), info lines vanish, and a failing command
// shows only its error.
func TestWarningSink(t *testing.T) {
	a := &app{}
	log := a.commandLogger().With("service", "prod")
	log.Info("backup started")
	log.Warn("could not record in the audit trail", "action", "backup", "error", "disk full")
	log.Warn("could not record in the audit trail", "action", "backup", "error", "disk full")
	var out strings.Builder
	a.warnings.print(&out)
	if want := "Warning: could not record in the audit trail (service prod, action backup, error disk full).\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}
