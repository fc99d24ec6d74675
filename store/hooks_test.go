package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

func TestServiceHooksLifecycle(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	addService(t, c, "prod")
	must(t, c.SetServiceHook(ctx, "prod", core.Hook{Event: core.HookPostBackup, Command: "/usr/local/bin/after", Timeout: 90 * time.Second}))
	must(t, c.SetServiceHook(ctx, "prod", core.Hook{Event: core.HookPreBackup, Command: "/usr/local/bin/before"}))
	// Setting an event again replaces its hook; a timeout is kept in whole seconds.
	must(t, c.SetServiceHook(ctx, "prod", core.Hook{Event: core.HookPostBackup, Command: "/usr/local/bin/after2", Timeout: 1500 * time.Millisecond}))
	got, err := c.ServiceHooks(ctx, "prod")
	must(t, err)
	want := []core.Hook{
		{Event: core.HookPreBackup, Command: "/usr/local/bin/before", Timeout: core.DefaultHookTimeout},
		{Event: core.HookPostBackup, Command: "/usr/local/bin/after2", Timeout: 2 * time.Second},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got hooks %+v, want %+v", got, want)
	}
	must(t, c.RemoveServiceHook(ctx, "prod", core.HookPreBackup))
	if err := c.RemoveServiceHook(ctx, "prod", core.HookPreBackup); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("removing a hook twice: got %v, want ErrNotFound", err)
	}
	if err := c.SetServiceHook(ctx, "prod", core.Hook{Event: "mid-backup", Command: "/x"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("unknown event: got %v, want ErrInvalid", err)
	}
	if _, err := c.ServiceHooks(ctx, "nope"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown service: got %v, want ErrNotFound", err)
	}
	entries, err := c.Audit(ctx, core.AuditFilter{Service: "prod"})
	must(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if n := countOf(actions, core.ActionHookSet); n != 3 || countOf(actions, core.ActionHookRemove) != 2 {
		t.Errorf("audit actions %v: want 3 hook sets and 2 hook removals (one refused)", actions)
	}
	// Removing the service removes its hooks.
	must(t, c.RemoveService(ctx, "prod"))
	addService(t, c, "prod")
	if got, err := c.ServiceHooks(ctx, "prod"); err != nil || len(got) != 0 {
		t.Errorf("a new service of the same name: got hooks %+v, %v; want none", got, err)
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}
