package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeHook writes an executable script in a directory only its owner can
// write (t.TempDir), as a hook must be.
func writeHook(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	// The umask may have taken bits away; a hook is 0755 exactly.
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// Each file a hook may not be is refused with one sentence saying what to
// do; a root-owned (or own) 0755 script in a private directory passes.
func TestCheckHookFile(t *testing.T) {
	dir := t.TempDir()
	good := writeHook(t, dir, "good", "exit 0\n")
	notExec := writeHook(t, dir, "not-exec", "exit 0\n")
	if err := os.Chmod(notExec, 0o644); err != nil {
		t.Fatal(err)
	}
	worldWritable := writeHook(t, dir, "world", "exit 0\n")
	if err := os.Chmod(worldWritable, 0o757); err != nil {
		t.Fatal(err)
	}
	groupWritable := writeHook(t, dir, "group", "exit 0\n")
	if err := os.Chmod(groupWritable, 0o775); err != nil {
		t.Fatal(err)
	}
	openDir := filepath.Join(dir, "open")
	if err := os.Mkdir(openDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(openDir, 0o777); err != nil {
		t.Fatal(err)
	}
	inOpenDir := writeHook(t, openDir, "hook", "exit 0\n")
	// A sticky, world-writable directory such as /tmp is refused too.
	stickyDir := filepath.Join(dir, "sticky")
	if err := os.Mkdir(stickyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(stickyDir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	inSticky := writeHook(t, stickyDir, "hook", "exit 0\n")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(inOpenDir, link); err != nil {
		t.Fatal(err)
	}
	goodLink := filepath.Join(dir, "good-link")
	if err := os.Symlink(good, goodLink); err != nil {
		t.Fatal(err)
	}
	// A link to a good file, in a directory others can write: they could
	// point it at another program.
	openLink := filepath.Join(openDir, "link")
	if err := os.Symlink(good, openLink); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path string
		want       string // "" passes
		is         error
	}{
		{"good", good, "", nil},
		{"link to a good file", goodLink, "", nil},
		{"relative", "hooks/stop-cron", `the pre-backup hook "hooks/stop-cron" is not an absolute path; give the full path`, ErrInvalid},
		{"empty", "", "has no command; give the absolute path", ErrInvalid},
		{"missing", filepath.Join(dir, "nothing"), "does not exist on host " + HostName() + "; create it there", ErrNotFound},
		{"directory", dir, "is not a regular file; give the path of an executable file", ErrInvalid},
		{"not executable", notExec, "is not executable; make it executable (chmod 755 " + notExec + ")", ErrInvalid},
		{"world-writable", worldWritable, "can be changed by users other than its owner; allow only its owner to write it (chmod go-w " + worldWritable + ")", ErrInvalid},
		{"group-writable", groupWritable, "can be changed by users other than its owner", ErrInvalid},
		{"open directory", inOpenDir, "is in the directory " + openDir + ", which users other than its owner can write; keep hooks in a directory only its owner can write", ErrInvalid},
		{"sticky directory", inSticky, "is in the directory " + stickyDir + ", which users other than its owner can write", ErrInvalid},
		{"link into an open directory", link, "is in the directory " + openDir, ErrInvalid},
		{"link in an open directory", openLink, "is in the directory " + openDir + ", which users other than its owner can write", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckHookFile(HookPreBackup, tt.path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want it accepted", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want an error with %q wrapping %v", err, tt.want, tt.is)
			}
			if n := strings.Count(err.Error(), ". "); n > 0 || strings.Contains(err.Error(), "\n") {
				t.Errorf("%q is more than one sentence", err)
			}
		})
	}
}

// A file owned by another user is refused: that user could change what
// every backup runs. Only root can hand a file to someone else.
func TestCheckHookFileOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file to another user")
	}
	dir := t.TempDir()
	path := writeHook(t, dir, "theirs", "exit 0\n")
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err := CheckHookFile(HookPostRestore, path)
	if err == nil || !strings.Contains(err.Error(), "is owned by "+userName(65534)+", not by root or root who runs the backups; give it to root (chown root "+path+")") {
		t.Fatalf("got %v, want a refusal naming its owner", err)
	}
	if err := os.Chown(path, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err = CheckHookFile(HookPostRestore, path)
	if err == nil || !strings.Contains(err.Error(), "is in directory "+dir+", owned by "+userName(65534)) {
		t.Fatalf("got %v, want a refusal naming its directory's owner", err)
	}
}

// A hook is told what it runs for in its environment, and nothing of this
// process's own: a variable set here does not reach it.
func TestRunHookEnvironment(t *testing.T) {
	t.Setenv("ODOO_BACKUP_SECRET_OF_PARENT", "leak")
	dir := t.TempDir()
	out := filepath.Join(dir, "env.txt")
	hook := writeHook(t, dir, "env", "env > "+out+"\npwd >> "+out+"\necho done\n")
	run := RunHook(context.Background(), "prod", Hook{Event: HookPostRestore, Command: hook, Timeout: time.Minute},
		HookEnv{Service: "prod", Database: "prod_db", Filestore: "/srv/fs", BackupIDs: []int64{7, 9}, SafetyBackupID: 11,
			Destinations: []string{"s3", "local"}, Outcome: HookFailed, Error: "it broke"})
	if run.Err != nil || run.ExitCode != 0 || !run.Ran || run.LastLine != "done" {
		t.Fatalf("run %+v: want exit 0 with last line done", run)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, l := range lines[:len(lines)-1] {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	home, _ := os.UserHomeDir()
	want := map[string]string{
		"PATH": HookPath, "HOME": home, "LANG": "C",
		"ODOO_BACKUP_EVENT": "post-restore", "ODOO_BACKUP_SERVICE": "prod", "ODOO_BACKUP_DATABASE": "prod_db",
		"ODOO_BACKUP_FILESTORE": "/srv/fs", "ODOO_BACKUP_BACKUP_ID": "7", "ODOO_BACKUP_BACKUP_IDS": "7,9",
		"ODOO_BACKUP_SAFETY_BACKUP_ID": "11", "ODOO_BACKUP_DESTINATIONS": "s3,local",
		"ODOO_BACKUP_OUTCOME": "failed", "ODOO_BACKUP_ERROR": "it broke", "ODOO_BACKUP_HOST": HostName(),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["ODOO_BACKUP_SECRET_OF_PARENT"]; ok {
		t.Error("the hook saw a variable of the process that ran it")
	}
	if wd := lines[len(lines)-1]; wd != "/" {
		t.Errorf("the hook ran in %s, want /", wd)
	}
}

// A failing hook's sentence has its exit status and its last line, from
// stdout or stderr, whichever came last.
func TestRunHookFailure(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		body, want string
		code       int
	}{
		{"echo starting\necho '  cron is busy  ' >&2\nexit 3\n", "the pre-backup hook %s exited with status 3: cron is busy", 3},
		{"exit 1\n", "the pre-backup hook %s exited with status 1 and printed nothing", 1},
		{"echo going\nkill -KILL $$\n", "the pre-backup hook %s was killed by signal killed: going", -1},
	}
	for i, tt := range tests {
		hook := writeHook(t, dir, fmt.Sprintf("h%d", i), tt.body)
		run := RunHook(context.Background(), "prod", Hook{Event: HookPreBackup, Command: hook, Timeout: time.Minute}, HookEnv{})
		if want := fmt.Sprintf(tt.want, hook); run.Err == nil || run.Err.Error() != want || run.ExitCode != tt.code {
			t.Errorf("run %q: got %v (exit %d), want %q (exit %d)", tt.body, run.Err, run.ExitCode, want, tt.code)
		}
	}
	// Not a program: a script without a #! line cannot be started.
	bad := filepath.Join(dir, "no-shebang")
	if err := os.WriteFile(bad, []byte("echo hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	run := RunHook(context.Background(), "prod", Hook{Event: HookPreBackup, Command: bad, Timeout: time.Minute}, HookEnv{})
	if run.Err == nil || !strings.Contains(run.Err.Error(), "could not be started (exec format error); check that it is a program this host can run, with a #! line") {
		t.Errorf("got %v, want a sentence about a file that cannot be started", run.Err)
	}
}

// A hook changed after it was set (made writable by others) is refused
// when it would run, and not run.
func TestRunHookRefusedFile(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	hook := writeHook(t, dir, "hook", "touch "+marker+"\n")
	if err := os.Chmod(hook, 0o777); err != nil {
		t.Fatal(err)
	}
	run := RunHook(context.Background(), "prod", Hook{Event: HookPostBackup, Command: hook, Timeout: time.Minute}, HookEnv{})
	if run.Err == nil || run.Ran || !strings.Contains(run.Err.Error(), "can be changed by users other than its owner, so it was not run; allow only its owner") {
		t.Errorf("got %v (ran %v), want a refusal before running", run.Err, run.Ran)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the refused hook ran")
	}
}

// pidGone reports whether process pid has ended: it no longer exists, or
// it is a zombie its new parent has yet to reap.
func pidGone(t *testing.T, pid int) bool {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// A hook that hangs is stopped at its timeout, with the child it started:
// nothing of it is left running.
func TestRunHookTimeoutStopsItsChildren(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	hook := writeHook(t, dir, "hang", "sleep 1000 &\necho $! > "+pidFile+"\necho waiting for cron\nsleep 1000\n")
	run := RunHook(context.Background(), "prod", Hook{Event: HookPreBackup, Command: hook, Timeout: time.Second}, HookEnv{})
	want := fmt.Sprintf("the pre-backup hook %s did not finish within 1s and was stopped: waiting for cron", hook)
	if run.Err == nil || run.Err.Error() != want || !run.TimedOut {
		t.Fatalf("got %v (timed out %v), want %q", run.Err, run.TimedOut, want)
	}
	if pid := readPID(t, pidFile); !pidGone(t, pid) {
		t.Errorf("the hook's child %d still runs", pid)
	}
	// One that ignores SIGTERM (and so does its child) is killed.
	pidFile2 := filepath.Join(dir, "child2")
	stubborn := writeHook(t, dir, "stubborn", "trap '' TERM\nsleep 1000 &\necho $! > "+pidFile2+"\nwait\n")
	run = RunHook(context.Background(), "prod", Hook{Event: HookPreBackup, Command: stubborn, Timeout: time.Second}, HookEnv{})
	if !run.TimedOut || run.Err == nil {
		t.Fatalf("got %+v, want it stopped at its timeout", run)
	}
	if pid := readPID(t, pidFile2); !pidGone(t, pid) {
		t.Errorf("the stubborn hook's child %d still runs", pid)
	}
}

// A hook that exits leaving a child behind in its group does not outlive
// the run either.
func TestRunHookLeavesNothingRunning(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	hook := writeHook(t, dir, "fork", "sleep 1000 &\necho $! > "+pidFile+"\necho started\n")
	run := RunHook(context.Background(), "prod", Hook{Event: HookPostBackup, Command: hook, Timeout: time.Minute}, HookEnv{})
	if run.Err != nil || run.LastLine != "started" {
		t.Fatalf("got %+v, want success", run)
	}
	if pid := readPID(t, pidFile); !pidGone(t, pid) {
		t.Errorf("the hook's child %d still runs", pid)
	}
}

// Interrupting the work a hook belongs to stops the hook's whole group.
func TestRunHookInterrupted(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "child")
	hook := writeHook(t, dir, "wait", "sleep 1000 &\necho $! > "+pidFile+"\necho go > "+fifo+"\nsleep 1000\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan HookRun, 1)
	go func() {
		done <- RunHook(ctx, "prod", Hook{Event: HookPreRestore, Command: hook, Timeout: time.Hour}, HookEnv{})
	}()
	// Opening the FIFO waits for the hook to write to it.
	if _, err := os.ReadFile(fifo); err != nil {
		t.Fatal(err)
	}
	cancel()
	run := <-done
	if run.Err == nil || !errors.Is(run.Err, context.Canceled) || run.TimedOut {
		t.Fatalf("got %v, want the hook stopped because its work was interrupted", run.Err)
	}
	if pid := readPID(t, pidFile); !pidGone(t, pid) {
		t.Errorf("the hook's child %d still runs", pid)
	}
	// Work interrupted before its hook starts does not start it.
	marker := filepath.Join(dir, "ran")
	never := writeHook(t, dir, "never", "touch "+marker+"\n")
	run = RunHook(ctx, "prod", Hook{Event: HookPostBackup, Command: never, Timeout: time.Minute}, HookEnv{})
	if run.Err == nil || run.Ran || !errors.Is(run.Err, context.Canceled) {
		t.Errorf("got %+v, want the hook not run", run)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a hook ran after its work was interrupted")
	}
}

// Megabytes of output cost no memory: the last line is right, the count of
// bytes is all of them, and what was allocated while the hook ran is a
// small fraction of what it printed.
func TestRunHookMegabytes(t *testing.T) {
	dir := t.TempDir()
	const size = 50 << 20
	hook := writeHook(t, dir, "loud", fmt.Sprintf("head -c %d /dev/zero | tr '\\000' x\necho\necho the end\n", size))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	run := RunHook(context.Background(), "prod", Hook{Event: HookPostBackup, Command: hook, Timeout: time.Minute}, HookEnv{})
	runtime.ReadMemStats(&after)
	if run.Err != nil || run.LastLine != "the end" {
		t.Fatalf("got %+v, want success with last line %q", run, "the end")
	}
	if want := int64(size + len("\nthe end\n")); run.OutputBytes != want {
		t.Errorf("counted %d bytes of output, want %d", run.OutputBytes, want)
	}
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("a hook printing %d bytes: %d bytes allocated while it ran, in %s", size, grew, run.Duration)
	if grew > 4<<20 {
		t.Errorf("running a hook that printed %d bytes allocated %d bytes; the output must not be kept", size, grew)
	}
}

// The ring keeps exactly the last bytes written, whatever the sizes of the
// writes, in a buffer that never grows.
func TestTailWriter(t *testing.T) {
	for _, chunk := range []int{1, 7, 1000, 4096, 65536, 100000} {
		w := newTailWriter(4096)
		var all []byte
		for i := 0; len(all) < max(20000, 3*chunk); i++ {
			p := bytes.Repeat([]byte{byte('a' + i%26)}, chunk)
			p[0] = byte(i)
			all = append(all, p...)
			if n, err := w.Write(p); n != len(p) || err != nil {
				t.Fatalf("write gave %d, %v", n, err)
			}
			if got, want := w.Bytes(), all[max(0, len(all)-4096):]; !bytes.Equal(got, want) {
				t.Fatalf("chunk %d, after %d bytes: the ring holds %d bytes that are not the last ones", chunk, len(all), len(got))
			}
		}
		if w.Total() != int64(len(all)) || w.Cap() != 4096 {
			t.Errorf("chunk %d: total %d, capacity %d; want %d and 4096", chunk, w.Total(), w.Cap(), len(all))
		}
	}
}

func TestLastOutputLine(t *testing.T) {
	long := strings.Repeat("é", 400)
	tests := []struct{ in, want string }{
		{"", ""},
		{"one\ntwo\n\n  \n", "two"},
		{"progress 10%\rprogress 100%\r\n", "progress 100%"},
		{"bell\a and \x1b[31mred\n", "bell  and  [31mred"},
		{"bad \xff byte\n", "bad ? byte"},
		{long + "\n", strings.Repeat("é", 299) + "…"},
	}
	for _, tt := range tests {
		if got := lastOutputLine([]byte(tt.in)); got != tt.want {
			t.Errorf("lastOutputLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// BenchmarkHookOutput is the cost of keeping the tail of a hook's output:
// no allocation per write, whatever the volume.
func BenchmarkHookOutput(b *testing.B) {
	w := newTailWriter(HookOutputTail)
	p := bytes.Repeat([]byte("a line of output from a chatty hook\n"), 1000)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = w.Write(p)
	}
}
