package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var sigVerifyRuns int

// Ctrl-C (SIGINT) during a real odoo-backup verify and SIGTERM during a
// real download, each while it reads the archive from its destination: one
// sentence says it was interrupted and what that left (the backup not
// judged; no file, partial or whole), it exits 1, and nothing calls the
// backup damaged, which verify then finds sound and the catalog still has
// as succeeded.
func TestVerifyAndDownloadInterruptedBySignal(t *testing.T) {
	c := newCLI(t)
	sigVerifyRuns++ // -count=N runs on the same PostgreSQL
	odoo := generate(t, fmt.Sprintf("cli_sig_verify_%d", sigVerifyRuns))
	disk := filepath.Join(c.dir, "disk")
	c.ok("destination", "add", "disk", "--dir", disk, "--layout", "zip")
	c.addService("prod", odoo)
	c.ok("config", "set", "prod", "disk")
	var bs []backupJSON
	c.json(&bs, "backup", "prod")
	if len(bs) != 1 {
		t.Fatalf("backup prod gave %+v, want one backup", bs)
	}
	id := itoa(bs[0].ID)
	// Read slowly, so each command is surely in the middle of reading the
	// archive when the signal comes.
	c.ok("destination", "update", "disk", "--limit-download", "64KiB/s")

	out := filepath.Join(c.dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		sig    syscall.Signal
		args   []string
		during func(pid int) bool
		want   string
	}{
		{"SIGINT during verify", syscall.SIGINT, []string{"verify", id},
			func(pid int) bool { return openUnder(pid, disk) },
			"the check of backup " + id + " was interrupted, the backup was not judged"},
		{"SIGTERM during download", syscall.SIGTERM, []string{"download", id, "-o", filepath.Join(out, "prod.zip")},
			func(int) bool { entries, _ := os.ReadDir(out); return len(entries) > 0 },
			"the download of backup " + id + " was interrupted; the partial file was removed and " + filepath.Join(out, "prod.zip") + " was not created"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := c.signalDuring(t, tc.sig, tc.during, tc.args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.Contains(msg, tc.want) || strings.Count(msg, "\n") > 0 {
				t.Errorf("stderr %q: want one sentence containing %q", msg, tc.want)
			}
			for _, word := range []string{"damaged", "corrupt", "context canceled"} {
				if strings.Contains(msg, word) {
					t.Errorf("stderr says %q: %s", word, msg)
				}
			}
		})
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Errorf("the interrupted download left %v", entries)
	}

	c.ok("destination", "update", "disk", "--limit-download", "none")
	if got := c.ok("verify", id); !strings.Contains(got, "Backup "+id+" is sound") {
		t.Errorf("verify after the interruptions:\n%s", got)
	}
	if b := c.backupByID(bs[0].ID); b.Status != "succeeded" {
		t.Errorf("backup %s after the interruptions is %s, want succeeded", id, b.Status)
	}
}

// signalDuring runs odoo-backup as a process of its own, sends it sig once
// during(pid) holds, and returns its exit code and stderr.
func (c *cli) signalDuring(t *testing.T, sig syscall.Signal, during func(pid int) bool, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--catalog", c.catalog}, args...)...)
	cmd.Env = append(os.Environ(), "ODOO_BACKUP_TEST_AS_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
await:
	for {
		select {
		case err := <-exited:
			t.Fatalf("odoo-backup %s ended (%v) before the moment to interrupt it; stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		case <-tick.C:
			if during(cmd.Process.Pid) {
				break await
			}
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	<-exited
	return cmd.ProcessState.ExitCode(), strings.TrimSpace(stderr.String())
}

// openUnder reports whether process pid has a file under dir open.
func openUnder(pid int, dir string) bool {
	fds := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, err := os.ReadDir(fds)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
