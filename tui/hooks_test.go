package tui

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/odoo-backup/odoo-backup/core"
)

// h on a service's screen opens its hooks: each of the four events with
// its command and timeout. A person sets one (path, then timeout), is told
// in one sentence what is wrong with a relative path, a file that is not
// executable or a timeout of zero (and nothing is stored), then removes it;
// removing a hook that is not set says so.
func TestHooksDialog(t *testing.T) {
	cat := seed(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "stop-cron")
	notExec := filepath.Join(dir, "plain")
	for path, mode := range map[string]os.FileMode{good: 0o755, notExec: 0o644} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\necho \"cron stopped for $ODOO_BACKUP_SERVICE ($ODOO_BACKUP_OUTCOME)\"\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	stored := func() []core.Hook {
		t.Helper()
		hooks, err := cat.ServiceHooks(context.Background(), "production")
		if err != nil {
			t.Fatal(err)
		}
		return hooks
	}

	// A real engine: t runs the hook.
	tm := start(t, Options{Catalog: cat, Engine: &core.Engine{Catalog: cat}})
	waitFor(t, tm, "production")
	press(tm, "down", "enter")
	waitFor(t, tm, "odoo-backup › production")
	press(tm, "?")
	waitShown(t, tm, "hooks")
	press(tm, "?")
	press(tm, "h")
	waitShown(t, tm, "Hooks of production")
	waitShown(t, tm, "post-restore")

	// A relative path.
	press(tm, "enter")
	waitShown(t, tm, "Set the pre-backup hook")
	press(tm, "ctrl+u", "hooks/stop-cron", "enter")
	waitShown(t, tm, `✗ the pre-backup hook "hooks/stop-cron" is not an absolute path`)
	// A file that is not executable.
	press(tm, "ctrl+u", notExec, "enter")
	waitShown(t, tm, "is not executable; make it")
	// A timeout of zero.
	press(tm, "ctrl+u", good, "tab", "ctrl+u", "0", "enter")
	waitShown(t, tm, `✗ the timeout "0" is not a duration of at least one second`)
	if hooks := stored(); len(hooks) != 0 {
		t.Fatalf("refused input stored %+v", hooks)
	}
	press(tm, "ctrl+u", "2m", "enter")
	waitShown(t, tm, "✓ the pre-backup hook is now "+good+" (timeout 2m0s)")
	if hooks := stored(); len(hooks) != 1 || hooks[0] != (core.Hook{Event: core.HookPreBackup, Command: good, Timeout: 2 * time.Minute}) {
		t.Fatalf("stored %+v, want the pre-backup hook with a 2m timeout", hooks)
	}
	waitShown(t, tm, "2m")
	press(tm, "t")
	waitShown(t, tm, "✓ the pre-backup hook exited with status 0 after")
	waitShown(t, tm, "cron stopped for production (test)")

	// Nothing to remove or run on post-backup; then pre-backup is removed.
	press(tm, "down", "x")
	waitShown(t, tm, "✗ production has no post-backup hook")
	press(tm, "t")
	waitShown(t, tm, "✗ production has no post-backup hook")
	press(tm, "up", "x")
	waitShown(t, tm, "✓ the pre-backup hook is removed")
	if hooks := stored(); len(hooks) != 0 {
		t.Fatalf("after removing, stored %+v", hooks)
	}
	// A system program, the same on every host, for the picture.
	press(tm, "down", "down", "down", "enter", "ctrl+u", "/bin/false", "tab", "ctrl+u", "90s", "enter")
	waitShown(t, tm, "✓ the post-restore hook is now /bin/false (timeout 1m30s)")
	press(tm, "t")
	waitShown(t, tm, "✗ the post-restore hook /bin/false exited with status 1 and printed nothing")
	press(tm, "enter", "ctrl+u", "/bin/true", "enter")
	waitShown(t, tm, "✓ the post-restore hook is now /bin/true (timeout 1m30s)")
	frame := snapshot(t, tm)
	golden.RequireEqual(t, []byte(frame))
	press(tm, "esc")
	waitGone(t, tm, "Hooks of production")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}

// A read-only console shows the hooks and says why it sets none.
func TestHooksDialogReadOnly(t *testing.T) {
	cat := seed(t)
	tm := start(t, Options{Catalog: cat, Engine: &fakeEngine{}, ReadOnly: true})
	waitFor(t, tm, "production")
	press(tm, "down", "enter")
	waitFor(t, tm, "odoo-backup › production")
	press(tm, "h")
	waitShown(t, tm, "Hooks of production")
	press(tm, "enter")
	waitShown(t, tm, "✗ read-only: setting a hook is off")
	press(tm, "esc")
	waitGone(t, tm, "Hooks of production")
}

// A backup whose post-backup hook failed shows a warning in the history and
// the hook's sentence in its details.
func TestHookWarningShown(t *testing.T) {
	cat := seed(t)
	ctx := context.Background()
	b := newestProduction(t, cat)
	b.Warning = "the post-backup hook /etc/odoo-backup/start-cron exited with status 1: cron is masked"
	if err := cat.UpdateBackup(ctx, b); err != nil {
		t.Fatal(err)
	}
	tm := start80(t, Options{Catalog: cat, Engine: newFlowEngine(cat)})
	openHistory(t, tm)
	waitShown(t, tm, "△ warning")
	press(tm, "enter")
	waitShown(t, tm, "△ the post-backup hook /etc/odoo-backup/start-cron exited with")
	press(tm, "esc")
	waitShown(t, tm, "[History 3]")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(15*time.Second))
}
