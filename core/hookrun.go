package core

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// A hook is the absolute path of an executable file, run with no arguments:
// what it needs comes from its environment (HookEnv). A catalog may be
// shared by a fleet, so a row of it must not be able to make every host run
// any shell it likes: the file itself must be one only root, or the user
// running the backups, can change (checkHookFile), checked when the hook is
// set and again each time before it runs.

// HookOutputTail is how much of a hook's output is kept: its last bytes,
// whatever it prints.
const HookOutputTail = 64 << 10

// hookLineMax caps the last output line a message quotes.
const hookLineMax = 300

// hookGrace is how long a stopped hook's process group has between SIGTERM
// and SIGKILL.
const hookGrace = 3 * time.Second

// hookDrain bounds the wait for the output pipe to close once the hook's
// process group is gone (a process that left the group may still hold it).
const hookDrain = time.Second

// HookPath is the PATH a hook runs with: the system's directories only.
const HookPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// HookOutcome is what a post hook is told of the work it follows, in
// ODOO_BACKUP_OUTCOME.
type HookOutcome string

const (
	HookSucceeded   HookOutcome = "succeeded"
	HookFailed      HookOutcome = "failed"
	HookInterrupted HookOutcome = "interrupted"
	// HookTested is the outcome of a hook run by hand to try it.
	HookTested HookOutcome = "test"
)

// HookEnv is what a hook is told, each field in its ODOO_BACKUP_ variable.
type HookEnv struct {
	Service   string
	Database  string
	Filestore string
	// BackupIDs are the backups the hook is about: those a backup made (one
	// per destination, the primary's first), or the one a restore restores.
	BackupIDs []int64
	// SafetyBackupID is the safety backup a restore took (post-restore).
	SafetyBackupID int64
	Destinations   []string
	// Outcome and Error are set for post hooks (and HookTested).
	Outcome HookOutcome
	Error   string
}

// environ is the whole environment of a hook of event: a minimal one, with
// nothing of this process's own (no secret of it reaches the hook).
func (h HookEnv) environ(event HookEvent) []string {
	home := "/"
	if d, err := os.UserHomeDir(); err == nil {
		home = d
	}
	ids := make([]string, len(h.BackupIDs))
	for i, id := range h.BackupIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	first := ""
	if len(ids) > 0 {
		first = ids[0]
	}
	env := []string{
		"PATH=" + HookPath,
		"HOME=" + home,
		"LANG=C",
		"ODOO_BACKUP_EVENT=" + string(event),
		"ODOO_BACKUP_SERVICE=" + h.Service,
		"ODOO_BACKUP_DATABASE=" + h.Database,
		"ODOO_BACKUP_FILESTORE=" + h.Filestore,
		"ODOO_BACKUP_BACKUP_ID=" + first,
		"ODOO_BACKUP_BACKUP_IDS=" + strings.Join(ids, ","),
		"ODOO_BACKUP_DESTINATIONS=" + strings.Join(h.Destinations, ","),
		"ODOO_BACKUP_OUTCOME=" + string(h.Outcome),
		"ODOO_BACKUP_ERROR=" + h.Error,
		"ODOO_BACKUP_HOST=" + HostName(),
	}
	if h.SafetyBackupID != 0 {
		env = append(env, "ODOO_BACKUP_SAFETY_BACKUP_ID="+strconv.FormatInt(h.SafetyBackupID, 10))
	}
	return env
}

// hookProblem is why a hook file may not run: what is wrong, and what to do.
type hookProblem struct {
	cause      error
	what, todo string
}

// CheckHookCommand checks the command of a hook as a person gives it: an
// absolute path.
func CheckHookCommand(event HookEvent, command string) error {
	if command == "" {
		return Userf(ErrInvalid, "the %s hook has no command; give the absolute path of an executable file", event)
	}
	if !filepath.IsAbs(command) {
		return Userf(ErrInvalid, "the %s hook %q is not an absolute path; give the full path of an executable file (a hook takes no arguments: what it needs is in its environment)", event, command)
	}
	return nil
}

// CheckHookFile checks, on this host, that the hook command of event may
// run: an executable regular file that belongs to root or to the user
// running odoo-backup and that nobody else can write, in a directory of the
// same kind. The error is one sentence.
func CheckHookFile(event HookEvent, command string) error {
	if err := CheckHookCommand(event, command); err != nil {
		return err
	}
	if p := hookFileProblem(command); p != nil {
		return Userf(p.cause, "the %s hook %s %s; %s", event, command, p.what, p.todo)
	}
	return nil
}

// hookFileProblem is what is wrong with the file at path (an absolute
// path), nil when nothing. Symbolic links are followed, and the file they
// lead to and its directory are checked; so is the directory of a link
// given as path, since whoever could write there could point the link at
// another program.
func hookFileProblem(path string) *hookProblem {
	real, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &hookProblem{ErrNotFound, "does not exist on host " + HostName(), "create it there, or give the path of an existing executable file"}
	}
	if err != nil {
		return &hookProblem{err, fmt.Sprintf("cannot be read (%v)", unwrapPathError(err)), "check the permissions of its directories"}
	}
	fi, err := os.Stat(real)
	if err != nil {
		return &hookProblem{err, fmt.Sprintf("cannot be read (%v)", unwrapPathError(err)), "check the permissions of its directories"}
	}
	if !fi.Mode().IsRegular() {
		return &hookProblem{ErrInvalid, "is not a regular file", "give the path of an executable file"}
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return &hookProblem{ErrInvalid, "is not executable", "make it executable (chmod 755 " + real + ")"}
	}
	if p := ownerProblem(fi, "it", real); p != nil {
		return p
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return &hookProblem{ErrInvalid, "can be changed by users other than its owner", "allow only its owner to write it (chmod go-w " + real + ")"}
	}
	dirs := []string{filepath.Dir(real)}
	if d := filepath.Dir(path); d != dirs[0] {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		di, err := os.Stat(dir)
		if err != nil {
			return &hookProblem{err, fmt.Sprintf("is in a directory that cannot be read (%v)", unwrapPathError(err)), "check the permissions of " + dir}
		}
		if p := ownerProblem(di, "its directory "+dir, dir); p != nil {
			return p
		}
		if di.Mode().Perm()&0o022 != 0 {
			// A sticky /tmp is refused too: others can still put files there.
			return &hookProblem{ErrInvalid, "is in the directory " + dir + ", which users other than its owner can write", "keep hooks in a directory only its owner can write, such as /etc/odoo-backup"}
		}
	}
	return nil
}

// ownerProblem refuses a file (or directory) that belongs to neither root
// nor the user this process runs as.
func ownerProblem(fi fs.FileInfo, what, path string) *hookProblem {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	uid := int(st.Uid)
	if uid == 0 || uid == os.Geteuid() {
		return nil
	}
	self := userName(os.Geteuid())
	owned := "is owned"
	if what != "it" {
		owned = "is in " + strings.TrimPrefix(what, "its ") + ", owned"
	}
	return &hookProblem{ErrInvalid, fmt.Sprintf("%s by %s, not by root or %s who runs the backups", owned, userName(uid), self),
		"give it to root (chown root " + path + ")"}
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// HookRun is how one run of a hook went.
type HookRun struct {
	Hook    Hook
	Service string
	// Ran is false when the hook was refused before it started.
	Ran      bool
	Duration time.Duration
	// ExitCode is the hook's exit status; -1 when it did not exit by
	// itself (stopped, killed by a signal, not started).
	ExitCode int
	// TimedOut: the hook ran past its timeout and was stopped.
	TimedOut bool
	// OutputBytes is all the hook printed (stdout and stderr); only its
	// last HookOutputTail bytes are kept.
	OutputBytes int64
	// LastLine is the last non-empty line it printed, trimmed.
	LastLine string
	// Err is nil when the hook succeeded, else one sentence.
	Err error
}

// RunHook runs h for service with env, on this host. The file is checked
// first (CheckHookFile). It runs directly (no shell), with a minimal
// environment, stdin /dev/null, in / and its own process group; past its
// timeout, or when ctx ends, the whole group gets SIGTERM then SIGKILL.
// Whatever the hook left running in its group is stopped when it exits, so
// nothing of it outlives RunHook.
func RunHook(ctx context.Context, service string, h Hook, env HookEnv) HookRun {
	run := HookRun{Hook: h, Service: service, ExitCode: -1}
	if err := CheckHookCommand(h.Event, h.Command); err != nil {
		run.Err = err
		return run
	}
	if p := hookFileProblem(h.Command); p != nil {
		run.Err = Userf(p.cause, "the %s hook %s %s, so it was not run; %s", h.Event, h.Command, p.what, p.todo)
		return run
	}
	if ctx.Err() != nil {
		run.Err = Userf(context.Cause(ctx), "the %s hook %s was not run because the work it belongs to was interrupted", h.Event, h.Command)
		return run
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	out := newTailWriter(HookOutputTail)
	start := time.Now()
	exited, stopped, err := runHookProcess(ctx, h.Command, env.environ(h.Event), timeout, out)
	run.Duration = time.Since(start)
	run.OutputBytes = out.Total()
	run.LastLine = lastOutputLine(out.Bytes())
	said := ""
	if run.LastLine != "" {
		said = ": " + run.LastLine
	}
	switch {
	case err != nil:
		run.Err = Userf(err, "the %s hook %s could not be started (%v); check that it is a program this host can run, with a #! line if it is a script", h.Event, h.Command, unwrapPathError(err))
		return run
	case stopped == stopTimeout:
		run.Ran, run.TimedOut = true, true
		run.Err = Userf(ErrInvalid, "the %s hook %s did not finish within %s and was stopped%s", h.Event, h.Command, timeout, said)
	case stopped == stopCancel:
		run.Ran = true
		cause := context.Cause(ctx)
		if cause == nil {
			cause = context.Canceled
		}
		run.Err = Userf(cause, "the %s hook %s was stopped because the work it belongs to was interrupted", h.Event, h.Command)
	default:
		run.Ran = true
		ws, _ := exited.Sys().(syscall.WaitStatus)
		switch {
		case exited.Success():
			run.ExitCode = 0
		case ws.Signaled():
			run.Err = Userf(ErrInvalid, "the %s hook %s was killed by signal %s%s", h.Event, h.Command, ws.Signal(), said)
		default:
			run.ExitCode = exited.ExitCode()
			if said == "" {
				said = " and printed nothing"
			}
			run.Err = Userf(ErrInvalid, "the %s hook %s exited with status %d%s", h.Event, h.Command, run.ExitCode, said)
		}
	}
	return run
}

type hookStop int

const (
	stopNone hookStop = iota
	stopTimeout
	stopCancel
)

// runHookProcess runs path in its own process group with out as its stdout
// and stderr, and returns how it exited, or why it was stopped, once
// nothing of its group is left running.
func runHookProcess(ctx context.Context, path string, env []string, timeout time.Duration, out *tailWriter) (*os.ProcessState, hookStop, error) {
	// The hook writes into a pipe of our own, not one exec.Cmd copies: a
	// child it leaves behind holding the pipe must not make Wait hang.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, stopNone, err
	}
	defer pr.Close()
	cmd := exec.Command(path)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return nil, stopNone, err
	}
	pgid := cmd.Process.Pid
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 32<<10)
		for {
			n, err := pr.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	stop := stopNone
	select {
	case <-waited:
	case <-timer.C:
		stop = stopTimeout
	case <-ctx.Done():
		stop = stopCancel
	}
	if stop != stopNone {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		grace := time.NewTimer(hookGrace)
		select {
		case <-waited:
		case <-grace.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-waited
		}
		grace.Stop()
	}
	// The hook is reaped; whatever it left in its group goes too.
	stopGroup(pgid)
	// The pipe closes when the last process holding it has exited; one
	// that left the group is not waited for beyond hookDrain.
	_ = pr.SetReadDeadline(time.Now().Add(hookDrain))
	<-copied
	return cmd.ProcessState, stop, nil
}

// stopGroup kills what is left of process group pgid and waits, at most
// hookDrain, until none of it runs any more: a killed process is only gone
// once the kernel has ended it.
func stopGroup(pgid int) {
	deadline := time.Now().Add(hookDrain)
	for {
		if syscall.Kill(-pgid, syscall.SIGKILL) != nil || !groupAlive(pgid) || time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// groupAlive reports whether a process of group pgid still runs; one that
// has ended (a zombie its parent has yet to reap) does not.
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		// No /proc to look in: the group exists, as kill said.
		return true
	}
	for _, d := range entries {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold anything but ")".
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if pg, err := strconv.Atoi(f[2]); err == nil && pg == pgid {
			return true
		}
	}
	return false
}

// tailWriter keeps the last max bytes written to it, in a ring of fixed
// size, and counts them all: a hook printing gigabytes costs no memory.
type tailWriter struct {
	mu    sync.Mutex
	ring  []byte
	next  int
	full  bool
	total int64
}

func newTailWriter(max int) *tailWriter { return &tailWriter{ring: make([]byte, max)} }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	t.total += int64(n)
	if n >= len(t.ring) {
		copy(t.ring, p[n-len(t.ring):])
		t.next, t.full = 0, true
		return n, nil
	}
	c := copy(t.ring[t.next:], p)
	if c < n {
		copy(t.ring, p[c:])
		t.full = true
	}
	t.next += n
	if t.next >= len(t.ring) {
		t.next -= len(t.ring)
		t.full = true
	}
	return n, nil
}

// Bytes is what the ring holds, oldest first.
func (t *tailWriter) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.full {
		return append([]byte(nil), t.ring[:t.next]...)
	}
	return append(append([]byte(nil), t.ring[t.next:]...), t.ring[:t.next]...)
}

// Total is every byte written.
func (t *tailWriter) Total() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

// Cap is the memory the ring holds, whatever was written.
func (t *tailWriter) Cap() int { return cap(t.ring) }

// lastOutputLine is the last non-empty line of out (lines end in a newline
// or a carriage return), trimmed, made printable and capped.
func lastOutputLine(out []byte) string {
	s := strings.ToValidUTF8(string(out), "?")
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, lines[i]))
		if l == "" {
			continue
		}
		if utf8.RuneCountInString(l) > hookLineMax {
			r := []rune(l)
			l = string(r[:hookLineMax-1]) + "…"
		}
		return l
	}
	return ""
}
