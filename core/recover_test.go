package core_test

import (
	"os"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
)

// A pid that a new process took over after a crash does not keep a dead
// backup running: the recorded process start time tells them apart. A row
// of another host is left to the daemon's silence rule.
func TestRecoverCrashedPidReuse(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 15})
	host, _ := os.Hostname()
	parent := os.Getppid()
	start, ok := core.ProcessStartTime(parent)
	if !ok || start == 0 {
		t.Fatalf("ProcessStartTime(%d) = %d, %v; want the start time of a live process", parent, start, ok)
	}
	reused := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual, Host: host, PID: parent, ProcessStart: start + 1}
	same := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual, Host: host, PID: parent, ProcessStart: start}
	unknown := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual, Host: host, PID: parent}
	elsewhere := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual, Host: host + "-other", PID: 1 << 22}
	for _, b := range []*core.Backup{&reused, &same, &unknown, &elsewhere} {
		if err := e.cat.CreateBackup(e.ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.engine.RecoverCrashed(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != reused.ID {
		t.Fatalf("recovered %+v, want only backup %d, whose pid now names another process", got, reused.ID)
	}
	for _, b := range []core.Backup{same, unknown, elsewhere} {
		if b, _ := e.cat.Backup(e.ctx, b.ID); b.Status != core.StatusRunning {
			t.Errorf("backup %d (pid %d start %d on %s) became %s, want running", b.ID, b.PID, b.ProcessStart, b.Host, b.Status)
		}
	}
	if again, err := e.engine.RecoverCrashed(e.ctx); err != nil || len(again) != 0 {
		t.Errorf("a second RecoverCrashed found %+v, %v; want nothing", again, err)
	}
}
