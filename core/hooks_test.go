package core_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/store"
)

// envHook writes a hook that appends its ODOO_BACKUP_ variables to a file
// of its own (one run: the variables, then a line "--"), prints a line and
// exits with code.
func (e *env) envHook(name string, code int) (hook, out string) {
	e.t.Helper()
	dir := filepath.Join(e.dir, "hooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	hook = filepath.Join(dir, name)
	out = filepath.Join(e.dir, name+".env")
	script := fmt.Sprintf("#!/bin/sh\nenv | grep ^ODOO_BACKUP_ | sort >> %s\necho -- >> %s\necho 'hook %s says hello'\necho '  %s is not happy  ' >&2\nexit %d\n",
		out, out, name, name, code)
	if code == 0 {
		script = strings.Replace(script, "  "+name+" is not happy  ", "  "+name+" is done  ", 1)
	}
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(hook, 0o755); err != nil {
		e.t.Fatal(err)
	}
	return hook, out
}

// hookRuns reads the runs a hook wrote: one map of its variables per run.
func (e *env) hookRuns(out string) []map[string]string {
	e.t.Helper()
	data, err := os.ReadFile(out)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var runs []map[string]string
	cur := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "--" {
			runs = append(runs, cur)
			cur = map[string]string{}
			continue
		}
		k, v, _ := strings.Cut(l, "=")
		cur[k] = v
	}
	return runs
}

func (e *env) setHook(service string, event core.HookEvent, command string) {
	e.t.Helper()
	if _, err := core.SetHook(e.ctx, e.cat, service, core.Hook{Event: event, Command: command, Timeout: time.Minute}); err != nil {
		e.t.Fatal(err)
	}
}

func wantVars(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s=%q, want %q", what, k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s=%q was not expected", what, k, got[k])
		}
	}
}

// hookAudit is the audit trail's hook runs of service, oldest first.
func (e *env) hookAudit(service string) []core.AuditEntry {
	e.t.Helper()
	all, err := e.cat.Audit(e.ctx, core.AuditFilter{Service: service})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []core.AuditEntry
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Action == core.ActionHook {
			out = append(out, all[i])
		}
	}
	return out
}

// A backup to two destinations runs its pre-backup and post-backup hooks
// once each, telling them the service, its database, filestore, backups and
// destinations, and (after) the outcome; each run is in the audit trail.
func TestBackupHooksEnvironment(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 60})
	pre, preOut := e.envHook("pre", 0)
	post, postOut := e.envHook("post", 0)
	e.setHook("prod", core.HookPreBackup, pre)
	e.setHook("prod", core.HookPostBackup, post)

	if p, err := e.cat.Primary(e.ctx, "prod"); err != nil || p.Destination != "local" {
		t.Fatalf("primary %+v (%v), want local", p, err)
	}
	// Asked in another order, the hooks still name the primary's backup first.
	bs := e.backup("minio", "local")
	if len(bs) != 2 || bs[0].Status != core.StatusSucceeded || bs[1].Status != core.StatusSucceeded || bs[0].Warning != "" || bs[1].Destination != "local" {
		t.Fatalf("backups %+v: want two succeeded without warning, local second", bs)
	}
	ids := fmt.Sprintf("%d,%d", bs[1].ID, bs[0].ID)
	want := map[string]string{
		"ODOO_BACKUP_EVENT": "pre-backup", "ODOO_BACKUP_SERVICE": "prod", "ODOO_BACKUP_DATABASE": e.odoo.Name,
		"ODOO_BACKUP_FILESTORE": e.odoo.FilestoreDir, "ODOO_BACKUP_BACKUP_ID": fmt.Sprint(bs[1].ID), "ODOO_BACKUP_BACKUP_IDS": ids,
		"ODOO_BACKUP_DESTINATIONS": "local,minio", "ODOO_BACKUP_OUTCOME": "", "ODOO_BACKUP_ERROR": "", "ODOO_BACKUP_HOST": core.HostName(),
	}
	runs := e.hookRuns(preOut)
	if len(runs) != 1 {
		t.Fatalf("the pre-backup hook ran %d times, want once for both destinations", len(runs))
	}
	wantVars(t, "pre-backup", runs[0], want)
	runs = e.hookRuns(postOut)
	if len(runs) != 1 {
		t.Fatalf("the post-backup hook ran %d times, want once", len(runs))
	}
	want["ODOO_BACKUP_EVENT"], want["ODOO_BACKUP_OUTCOME"] = "post-backup", "succeeded"
	wantVars(t, "post-backup", runs[0], want)

	audit := e.hookAudit("prod")
	if len(audit) != 2 {
		t.Fatalf("audit has %d hook runs, want 2: %+v", len(audit), audit)
	}
	for i, wantDetail := range []string{"pre-backup hook " + pre + ", exited with status 0", "post-backup hook " + post + ", exited with status 0"} {
		a := audit[i]
		if a.Outcome != core.AuditOK || !strings.HasPrefix(a.Detail, wantDetail) || !strings.HasSuffix(a.Detail, "is done") || a.Service != "prod" {
			t.Errorf("audit entry %+v: want ok, detail starting %q and ending with the last line", a, wantDetail)
		}
	}
	if !strings.Contains(audit[1].Detail, "outcome succeeded") {
		t.Errorf("audit entry %q does not say the outcome", audit[1].Detail)
	}
}

// A failing pre-backup hook fails the backup with its last line: nothing is
// dumped nor stored, every row carries the sentence, the post-backup hook
// is told the backup failed, and the failure is in the audit trail.
func TestPreBackupHookFails(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 61})
	pre, _ := e.envHook("stop-cron", 3)
	post, postOut := e.envHook("start-cron", 0)
	e.setHook("prod", core.HookPreBackup, pre)
	e.setHook("prod", core.HookPostBackup, post)

	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local", "minio"}})
	want := fmt.Sprintf("the pre-backup hook %s exited with status 3: stop-cron is not happy", pre)
	if err == nil || err.Error() != want {
		t.Fatalf("backup error %v, want only %q, once for both destinations", err, want)
	}
	if len(bs) != 2 {
		t.Fatalf("got %d backups, want both rows recorded", len(bs))
	}
	for _, b := range bs {
		got, err := e.cat.Backup(e.ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != core.StatusFailed || got.Error != want || got.Key != "" {
			t.Errorf("backup %d: status %s, error %q, key %q; want failed with %q and no key", b.ID, got.Status, got.Error, got.Key, want)
		}
	}
	for _, d := range []core.Destination{e.local, e.s3} {
		objs, err := e.store(d).List(e.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 0 {
			t.Errorf("destination %s holds %d objects after a refused backup, want none", d.Name, len(objs))
		}
	}
	runs := e.hookRuns(postOut)
	if len(runs) != 1 || runs[0]["ODOO_BACKUP_OUTCOME"] != "failed" || !strings.Contains(runs[0]["ODOO_BACKUP_ERROR"], "stop-cron is not happy") {
		t.Errorf("post-backup runs %+v: want one, told the backup failed and why", runs)
	}
	audit := e.hookAudit("prod")
	if len(audit) != 2 || audit[0].Outcome != core.AuditFailed || audit[0].Error != want || audit[1].Outcome != core.AuditOK {
		t.Errorf("audit %+v: want the failed pre-backup run with its sentence, then the post-backup run", audit)
	}
}

// A failing post-backup hook is a warning: the backup succeeded, and its
// rows carry the hook's sentence.
func TestPostBackupHookWarns(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 62})
	post, _ := e.envHook("notify", 1)
	e.setHook("prod", core.HookPostBackup, post)
	bs, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local"}})
	if err != nil {
		t.Fatalf("backup: %v; a failed post-backup hook must not fail it", err)
	}
	want := fmt.Sprintf("the post-backup hook %s exited with status 1: notify is not happy", post)
	got, err := e.cat.Backup(e.ctx, bs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.StatusSucceeded || got.Warning != want || bs[0].Warning != want {
		t.Errorf("backup: status %s, warning %q (returned %q); want succeeded with %q", got.Status, got.Warning, bs[0].Warning, want)
	}
}

// Pre-restore runs before anything changes: its failure refuses the
// restore, with the target exactly as it was and no safety backup taken.
// The safety backup runs none of the target's backup hooks. Post-restore
// is told the outcome and the safety backup, and its failure is a warning.
func TestRestoreHooks(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 63})
	b := e.backup("minio")[0]
	tg := e.addTarget(64)
	before := e.targetPrint(tg)

	stop, _ := e.envHook("stop-odoo", 4)
	start, startOut := e.envHook("start-odoo", 0)
	backupHook, backupOut := e.envHook("backup-hook", 0)
	e.setHook("staging", core.HookPreRestore, stop)
	e.setHook("staging", core.HookPostRestore, start)
	e.setHook("staging", core.HookPreBackup, backupHook)
	e.setHook("staging", core.HookPostBackup, backupHook)

	_, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"})
	want := fmt.Sprintf("the pre-restore hook %s exited with status 4: stop-odoo is not happy, so nothing was restored and \"staging\" is unchanged", stop)
	if err == nil || err.Error() != want {
		t.Fatalf("restore error %v, want %q", err, want)
	}
	if diff := before.Diff(e.targetPrint(tg)); len(diff) > 0 {
		t.Errorf("a refused restore changed staging:\n%s", strings.Join(diff, "\n"))
	}
	safety, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "staging"})
	if err != nil || len(safety) != 0 {
		t.Errorf("staging has backups %+v (%v) after a refused restore, want none", safety, err)
	}
	runs := e.hookRuns(startOut)
	if len(runs) != 1 || runs[0]["ODOO_BACKUP_OUTCOME"] != "failed" {
		t.Errorf("post-restore runs %+v: want one, told the restore failed", runs)
	}

	// Now the pre-restore hook works and the post-restore one fails.
	okStop, stopOut := e.envHook("stop-odoo-ok", 0)
	failStart, failOut := e.envHook("start-odoo-bad", 2)
	e.setHook("staging", core.HookPreRestore, okStop)
	e.setHook("staging", core.HookPostRestore, failStart)
	res, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "staging"})
	if err != nil {
		t.Fatalf("restore: %v; a failed post-restore hook must not fail it", err)
	}
	e.wantOwned(tg.odoo, tg.odoo.Name, tg.odoo.FilestoreDir)
	wantWarning := fmt.Sprintf("the post-restore hook %s exited with status 2: start-odoo-bad is not happy", failStart)
	if len(res.Warnings) != 1 || res.Warnings[0] != wantWarning {
		t.Errorf("warnings %q, want [%q]", res.Warnings, wantWarning)
	}
	runs = e.hookRuns(stopOut)
	if len(runs) != 1 {
		t.Fatalf("the pre-restore hook ran %d times, want once", len(runs))
	}
	wantVars(t, "pre-restore", runs[0], map[string]string{
		"ODOO_BACKUP_EVENT": "pre-restore", "ODOO_BACKUP_SERVICE": "staging", "ODOO_BACKUP_DATABASE": tg.odoo.Name,
		"ODOO_BACKUP_FILESTORE": tg.odoo.FilestoreDir, "ODOO_BACKUP_BACKUP_ID": fmt.Sprint(b.ID), "ODOO_BACKUP_BACKUP_IDS": fmt.Sprint(b.ID),
		"ODOO_BACKUP_DESTINATIONS": "minio", "ODOO_BACKUP_OUTCOME": "", "ODOO_BACKUP_ERROR": "", "ODOO_BACKUP_HOST": core.HostName(),
	})
	if runs := e.hookRuns(backupOut); len(runs) != 0 {
		t.Errorf("the safety backups ran the target's backup hooks %d times, want never", len(runs))
	}
	audit := e.hookAudit("staging")
	var events []string
	for _, a := range audit {
		events = append(events, strings.Fields(a.Detail)[0]+" "+string(a.Outcome))
	}
	if got, want := strings.Join(events, ", "), "pre-restore failed, post-restore ok, pre-restore ok, post-restore failed"; got != want {
		t.Errorf("audited hook runs %q, want %q", got, want)
	}
	if res.SafetyBackupID == 0 {
		t.Fatal("no safety backup")
	}
	runs = e.hookRuns(failOut)
	if len(runs) != 1 {
		t.Fatalf("the post-restore hook ran %d times, want once", len(runs))
	}
	wantVars(t, "post-restore", runs[0], map[string]string{
		"ODOO_BACKUP_EVENT": "post-restore", "ODOO_BACKUP_SERVICE": "staging", "ODOO_BACKUP_DATABASE": tg.odoo.Name,
		"ODOO_BACKUP_FILESTORE": tg.odoo.FilestoreDir, "ODOO_BACKUP_BACKUP_ID": fmt.Sprint(b.ID), "ODOO_BACKUP_BACKUP_IDS": fmt.Sprint(b.ID),
		"ODOO_BACKUP_SAFETY_BACKUP_ID": fmt.Sprint(res.SafetyBackupID),
		"ODOO_BACKUP_DESTINATIONS":     "minio", "ODOO_BACKUP_OUTCOME": "succeeded", "ODOO_BACKUP_ERROR": "", "ODOO_BACKUP_HOST": core.HostName(),
	})
}

// SetHook checks what it can where it runs: a service of this host gets its
// file checked, one of another host is set and checked there when it runs
// (and cannot be tried from here); bad input stores nothing.
func TestSetHook(t *testing.T) {
	ctx := t.Context()
	cat, err := store.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	for _, s := range []core.Service{
		{Name: "here", DB: core.DBConn{Host: "127.0.0.1", Port: 5432, User: "odoo", Database: "here"}, FilestoreDir: "/srv/here"},
		{Name: "there", Host: "db2.example", DB: core.DBConn{Host: "db2.example", Port: 5432, User: "odoo", Database: "there"}, FilestoreDir: "/srv/there"},
	} {
		if err := cat.AddService(ctx, &s, ""); err != nil {
			t.Fatal(err)
		}
	}
	missing := "/etc/odoo-backup/no-such-hook"
	for _, tt := range []struct {
		service string
		h       core.Hook
		want    string
	}{
		{"here", core.Hook{Event: core.HookPreBackup, Command: missing, Timeout: time.Minute}, "the pre-backup hook " + missing + " does not exist on host " + core.HostName()},
		{"here", core.Hook{Event: "mid-backup", Command: "/bin/true", Timeout: time.Minute}, `hook event "mid-backup" is not one of`},
		{"here", core.Hook{Event: core.HookPreBackup, Command: "/bin/true", Timeout: 0}, "the timeout of the pre-backup hook must be at least one second, not 0s"},
		{"there", core.Hook{Event: core.HookPreBackup, Command: "true", Timeout: time.Minute}, `the pre-backup hook "true" is not an absolute path`},
		{"nobody", core.Hook{Event: core.HookPreBackup, Command: "/bin/true", Timeout: time.Minute}, `service "nobody" does not exist`},
	} {
		if _, err := core.SetHook(ctx, cat, tt.service, tt.h); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetHook(%s, %+v) = %v, want %q", tt.service, tt.h, err, tt.want)
		}
	}
	for _, s := range []string{"here", "there"} {
		if hooks, err := cat.ServiceHooks(ctx, s); err != nil || len(hooks) != 0 {
			t.Fatalf("refused hooks stored for %s: %+v (%v)", s, hooks, err)
		}
	}
	res, err := core.SetHook(ctx, cat, "there", core.Hook{Event: core.HookPostRestore, Command: missing, Timeout: 90 * time.Second})
	if err != nil || res.Checked || res.Host != "db2.example" {
		t.Fatalf("SetHook on another host: %+v, %v; want it set unchecked, to be checked on db2.example", res, err)
	}
	hooks, err := cat.ServiceHooks(ctx, "there")
	if err != nil || len(hooks) != 1 || hooks[0] != (core.Hook{Event: core.HookPostRestore, Command: missing, Timeout: 90 * time.Second}) {
		t.Fatalf("stored %+v (%v)", hooks, err)
	}
	res, err = core.SetHook(ctx, cat, "here", core.Hook{Event: core.HookPreBackup, Command: "/bin/true", Timeout: time.Minute})
	if err != nil || !res.Checked {
		t.Fatalf("SetHook of /bin/true here: %+v, %v; want it checked and set", res, err)
	}
	eng := &core.Engine{Catalog: cat}
	if _, err := eng.TestHook(ctx, "there", core.HookPostRestore); err == nil || !strings.Contains(err.Error(), "run on host db2.example, not on this host") {
		t.Errorf("testing another host's hook here: %v", err)
	}
	run, err := eng.TestHook(ctx, "here", core.HookPreBackup)
	if err != nil || run.Err != nil || run.ExitCode != 0 {
		t.Errorf("testing /bin/true: %+v, %v", run, err)
	}
	if _, err := eng.TestHook(ctx, "here", core.HookPostBackup); err == nil || !strings.Contains(err.Error(), `service "here" has no post-backup hook`) {
		t.Errorf("testing a hook that is not set: %v", err)
	}
}

// While its pre-backup hook runs, a backup's rows say so, and a slow hook
// is not taken for a stalled backup: its own timeout bounds the wait.
func TestPreBackupHookPhase(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 65})
	dir := filepath.Join(e.dir, "hooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	started, release := filepath.Join(e.dir, "started"), filepath.Join(e.dir, "release")
	for _, f := range []string{started, release} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hook := filepath.Join(dir, "wait")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho go > "+started+"\nread x < "+release+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	e.setHook("prod", core.HookPreBackup, hook)
	done := make(chan error, 1)
	go func() {
		_, err := e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"local"}})
		done <- err
	}()
	// Reading the FIFO waits for the hook to have started.
	if _, err := os.ReadFile(started); err != nil {
		t.Fatal(err)
	}
	running, err := e.cat.Backups(e.ctx, core.BackupFilter{Service: "prod", Status: core.StatusRunning})
	if err != nil || len(running) != 1 || running[0].Phase != core.PhaseHook {
		t.Errorf("running backups %+v (%v), want one in phase %q", running, err, core.PhaseHook)
	} else if _, stalled := running[0].Stalled(time.Now().Add(time.Hour)); stalled {
		t.Error("a backup waiting for its pre-backup hook is called stalled")
	}
	if err := os.WriteFile(release, []byte("go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("backup: %v", err)
	}
}
