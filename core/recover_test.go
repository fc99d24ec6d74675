package core_test

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

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

// A backup process killed under a parent that has not waited for it yet
// (a zombie: its pid still exists) is dead: the next command records its
// backup as interrupted, as it does once the pid is gone.
func TestRecoverCrashedZombie(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 16})
	host, _ := os.Hostname()
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	start, ok := core.ProcessStartTime(pid)
	if !ok {
		t.Fatalf("no start time for the live process %d", pid)
	}
	b := core.Backup{Service: "prod", Destination: "local", Kind: core.KindManual, Host: host, PID: pid, ProcessStart: start}
	if err := e.cat.CreateBackup(e.ctx, &b); err != nil {
		t.Fatal(err)
	}
	if got, err := e.engine.RecoverCrashed(e.ctx); err != nil || len(got) != 0 || !core.ProcessAlive(pid) {
		t.Fatalf("while its process runs: recovered %+v (%v), alive %v; want nothing recovered", got, err, core.ProcessAlive(pid))
	}

	// Killed and not waited for: the pid stays, as a zombie.
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	// waitid with WNOWAIT returns once it has ended and leaves it unreaped.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	if st := procState(pid); st != "Z" {
		t.Fatalf("process %d is %q after SIGKILL, want a zombie", pid, st)
	}
	if core.ProcessAlive(pid) {
		t.Errorf("ProcessAlive(%d) is true for a zombie", pid)
	}
	got, err := e.engine.RecoverCrashed(e.ctx)
	if err != nil || len(got) != 1 || got[0].ID != b.ID {
		t.Fatalf("recovered %+v (%v), want backup %d, whose process is a zombie", got, err, b.ID)
	}
	if row, _ := e.cat.Backup(e.ctx, b.ID); row.Status != core.StatusFailed || row.Error != core.InterruptedMessage {
		t.Errorf("backup %d is %s %q, want failed as interrupted", b.ID, row.Status, row.Error)
	}
}

// procState is the state letter of process pid (/proc/PID/stat field 3),
// or "" when it cannot be read.
func procState(pid int) string {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 || i+3 > len(raw) {
		return ""
	}
	return string(raw[i+2 : i+3])
}
