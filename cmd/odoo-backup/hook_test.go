package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// hookFile writes an executable script in dir, as a hook must be.
func hookFile(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func (c *cli) hooks() []hookJSON {
	c.t.Helper()
	var out []hookJSON
	c.json(&out, "hook", "list")
	return out
}

// Hooks from the command line: bad input is refused with one sentence and
// stores nothing; a set hook runs with each backup; a failing post-backup
// hook is a warning shown by backup, backups and status; hook test runs one
// by hand; every run is in the audit trail.
func TestHookCommands(t *testing.T) {
	c := newCLI(t)
	prod := generate(t, "cli_hooks")
	c.addService("production", prod)
	c.ok("destination", "add", "disk", "--dir", filepath.Join(c.dir, "disk"))
	c.ok("config", "set", "production", "disk")

	dir := filepath.Join(c.dir, "hooks")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	envOut := filepath.Join(c.dir, "pre.env")
	pre := hookFile(t, dir, "pre", "env | grep ^ODOO_BACKUP_ > "+envOut+"\necho cron stopped\n", 0o755)
	notExec := hookFile(t, dir, "not-exec", "exit 0\n", 0o644)
	open := hookFile(t, dir, "open", "exit 0\n", 0o777)

	for _, tt := range []struct {
		code int
		want string
		args []string
	}{
		{2, `hook event "during-backup" is not one of pre-backup, post-backup, pre-restore or post-restore`, []string{"production", "during-backup", pre}},
		{2, `the pre-backup hook "hooks/pre" is not an absolute path; give the full path of an executable file`, []string{"production", "pre-backup", "hooks/pre"}},
		{2, "--timeout 0s is too short; give how long the hook may run, at least 1s", []string{"production", "pre-backup", pre, "--timeout", "0"}},
		{2, `--timeout takes a duration such as 90s, 10m or 2h, not "soon"`, []string{"production", "pre-backup", pre, "--timeout", "soon"}},
		{1, "the pre-backup hook " + filepath.Join(dir, "nothing") + " does not exist on host", []string{"production", "pre-backup", filepath.Join(dir, "nothing")}},
		{1, "the pre-backup hook " + notExec + " is not executable; make it executable (chmod 755 " + notExec + ")", []string{"production", "pre-backup", notExec}},
		{1, "the pre-backup hook " + open + " can be changed by users other than its owner; allow only its owner to write it (chmod go-w " + open + ")", []string{"production", "pre-backup", open}},
		{1, `service "nope" does not exist`, []string{"nope", "pre-backup", pre}},
	} {
		c.fails(tt.code, tt.want, append([]string{"hook", "set"}, tt.args...)...)
		if hooks := c.hooks(); len(hooks) != 0 {
			t.Fatalf("hook set %v stored %+v, want nothing", tt.args, hooks)
		}
	}
	c.fails(2, `hook event "later"`, "hook", "remove", "production", "later")
	c.fails(1, `service "production" has no post-backup hook`, "hook", "remove", "production", "post-backup")

	out := c.ok("hook", "set", "production", "pre-backup", pre, "--timeout", "2m")
	if want := "The pre-backup hook of production is now " + pre + " (timeout 2m0s).\n"; out != want {
		t.Errorf("hook set printed %q, want %q", out, want)
	}
	post := hookFile(t, dir, "post", "echo restarting\necho 'cron would not start' >&2\nexit 5\n", 0o755)
	c.ok("hook", "set", "production", "post-backup", post)
	if got := c.hooks(); len(got) != 2 || got[0] != (hookJSON{"production", core.HookPreBackup, pre, 120}) || got[1] != (hookJSON{"production", core.HookPostBackup, post, 300}) {
		t.Errorf("hook list --json: %+v", got)
	}
	if list := c.ok("hook", "list", "production"); !strings.Contains(list, "production  pre-backup   "+pre) || !strings.Contains(list, "5m0s") {
		t.Errorf("hook list:\n%s", list)
	}

	// hook test: the pre-backup hook works, the post-backup one fails.
	out = c.ok("hook", "test", "production", "pre-backup")
	if !strings.HasPrefix(out, "The pre-backup hook "+pre+" of production exited with status 0 after ") || !strings.HasSuffix(out, ", last: cron stopped.\n") {
		t.Errorf("hook test printed %q", out)
	}
	env, err := os.ReadFile(envOut)
	if err != nil || !strings.Contains(string(env), "ODOO_BACKUP_OUTCOME=test") || !strings.Contains(string(env), "ODOO_BACKUP_DATABASE="+prod.Name) {
		t.Errorf("the tested hook's environment %q (%v) lacks the outcome test or the database", env, err)
	}
	warning := "the post-backup hook " + post + " exited with status 5: cron would not start"
	c.fails(1, warning, "hook", "test", "production", "post-backup")

	// A backup succeeds with the failed post-backup hook as its warning.
	r := c.run("backup", "production")
	if r.code != 0 || r.stderr != "Warning: "+warning+"\n" {
		t.Fatalf("backup: exit %d\n%s%s\nwant success with the warning %q, once", r.code, r.stdout, r.stderr, warning)
	}
	var bs []core.Backup
	c.json(&bs, "backups", "production")
	if len(bs) != 1 || bs[0].Status != core.StatusSucceeded || bs[0].Warning != warning {
		t.Fatalf("backups --json: %+v, want one succeeded backup with the warning", bs)
	}
	if list := c.ok("backups", "production"); !strings.Contains(list, "succeeded, warning (below)") || !strings.Contains(list, fmt.Sprintf("! backup %d: %s", bs[0].ID, warning)) {
		t.Errorf("backups does not show the warning:\n%s", list)
	}
	st, code := c.status()
	if code != 0 || !strings.Contains(strings.Join(st.Warnings, "\n"), fmt.Sprintf("production on disk: backup %d: %s", bs[0].ID, warning)) {
		t.Errorf("status exit %d, warnings %q: want exit 0 and the hook's warning", code, st.Warnings)
	}

	// A hook made writable by others after it was set is refused when it
	// would run: a pre-backup hook then fails the backup.
	if err := os.Chmod(pre, 0o777); err != nil {
		t.Fatal(err)
	}
	c.fails(1, "the pre-backup hook "+pre+" can be changed by users other than its owner, so it was not run; allow only its owner to write it", "backup", "production")

	var audit []core.AuditEntry
	c.json(&audit, "audit")
	runs := 0
	for _, a := range audit {
		if a.Action == core.ActionHook {
			runs++
		}
	}
	// test, test, pre+post of the backup, refused pre + post of the last.
	if runs != 6 {
		t.Errorf("the audit trail has %d hook runs, want 6", runs)
	}
	c.ok("hook", "remove", "production", "pre-backup")
	if got := c.hooks(); len(got) != 1 || got[0].Event != core.HookPostBackup {
		t.Errorf("after hook remove: %+v", got)
	}
}

// A restore onto a service from the command line: a failing pre-restore
// hook refuses it (exit 1, one sentence, staging untouched and no safety
// backup); a failing post-restore hook is a warning after a restore that
// worked.
func TestHookRestoreCommand(t *testing.T) {
	c := newCLI(t)
	id := c.onOneDisk(generate(t, "cli_hr_prod"), generateSeed(t, "cli_hr_staging", 7))
	dir := filepath.Join(c.dir, "hooks")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stop := hookFile(t, dir, "stop-odoo", "echo 'odoo@staging will not stop' >&2\nexit 1\n", 0o755)
	start := hookFile(t, dir, "start-odoo", "echo 'odoo@staging failed to start'\nexit 2\n", 0o755)
	c.ok("hook", "set", "staging", "pre-restore", stop)
	c.ok("hook", "set", "staging", "post-restore", start)

	c.fails(1, "the pre-restore hook "+stop+` exited with status 1: odoo@staging will not stop, so nothing was restored and "staging" is unchanged`,
		"restore", id, "--service", "staging", "--yes")
	var safety []backupJSON
	c.json(&safety, "backups", "staging")
	if len(safety) != 0 {
		t.Fatalf("a refused restore took backups of staging: %+v", safety)
	}

	c.ok("hook", "remove", "staging", "pre-restore")
	r := c.run("restore", id, "--service", "staging", "--no-neutralize", "--yes")
	want := "Warning: the post-restore hook " + start + " exited with status 2: odoo@staging failed to start"
	if r.code != 0 || !strings.Contains(r.stdout, want) || strings.Count(r.stdout+r.stderr, "post-restore hook") != 1 {
		t.Errorf("restore: exit %d, want success and %q once:\n%s%s", r.code, want, r.stdout, r.stderr)
	}
}
