package localdir

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3/storetest"
)

func newLocal(t *testing.T) *Local {
	t.Helper()
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.ObjectStore { return newLocal(t) })
}

func TestLocalLayoutAndPermissions(t *testing.T) {
	ctx := t.Context()
	l := newLocal(t)
	if err := l.Put(ctx, "prod/2026/11/prod_20261122-120000_manual.zip", strings.NewReader("zip")); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]fs.FileMode{
		"prod":         fs.ModeDir | 0o700,
		"prod/2026":    fs.ModeDir | 0o700,
		"prod/2026/11": fs.ModeDir | 0o700,
		"prod/2026/11/prod_20261122-120000_manual.zip": 0o600,
	} {
		fi, err := os.Stat(filepath.Join(l.String(), rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("mode of %s = %v; want %v", rel, fi.Mode(), want)
		}
	}
	entries, err := os.ReadDir(filepath.Join(l.String(), "prod/2026/11"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries; want only the object, no temporary file", len(entries))
	}
}

func TestLocalDeletePrunesEmptyDirectories(t *testing.T) {
	ctx := t.Context()
	l := newLocal(t)
	for _, k := range []string{"a/b/c/x", "a/y"} {
		if err := l.Put(ctx, k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(l.String(), rel))
		return err == nil
	}
	if err := l.Delete(ctx, "a/b/c/x"); err != nil {
		t.Fatal(err)
	}
	if exists("a/b") || !exists("a/y") {
		t.Fatalf("after deleting a/b/c/x: a/b exists=%v, a/y exists=%v; want a/b pruned and a/y kept", exists("a/b"), exists("a/y"))
	}
	if err := l.Delete(ctx, "a/y"); err != nil {
		t.Fatal(err)
	}
	if exists("a") || !exists("") {
		t.Fatalf("after deleting a/y: a exists=%v, root exists=%v; want a pruned and the root kept", exists("a"), exists(""))
	}
}

func TestNewLocalErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir   string
		class error
		msg   string
	}{
		{"", core.ErrInvalid, "no directory given for the local destination"},
		{filepath.Join(dir, "missing"), core.ErrUnreachable, "directory " + filepath.Join(dir, "missing") + " does not exist; create it, or check that the disk holding it is mounted"},
		{file, core.ErrInvalid, file + " is not a directory; choose a directory for the destination"},
	}
	for _, tc := range tests {
		_, err := NewLocal(tc.dir)
		if !errors.Is(err, tc.class) || err.Error() != tc.msg {
			t.Errorf("NewLocal(%q) = %v; want %q wrapping %v", tc.dir, err, tc.msg, tc.class)
		}
		if a, _ := core.AdviceOf(err); tc.dir == "" && a.Action != core.ActionGiveDirectory {
			t.Errorf("NewLocal(%q) advises %+v, want to give a directory", tc.dir, a)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Error("NewLocal created the missing directory; it must not (an unmounted disk would fill the root file system)")
	}
}

// An unmounted disk must not look like an empty destination.
func TestLocalRootVanished(t *testing.T) {
	ctx := t.Context()
	l := newLocal(t)
	if err := l.Put(ctx, "svc/x.zip", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(l.String()); err != nil {
		t.Fatal(err)
	}
	want := "directory " + l.String() + " does not exist; create it, or check that the disk holding it is mounted"
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, core.ErrUnreachable) || err.Error() != want {
			t.Errorf("%s with the directory gone = %v; want %q wrapping ErrUnreachable", op, err, want)
		}
	}
	check("Put", l.Put(ctx, "svc/y.zip", strings.NewReader("y")))
	_, err := l.List(ctx, "")
	check("List", err)
	_, err = l.List(ctx, "svc/")
	check("List(svc/)", err)
	_, err = l.Stat(ctx, "svc/x.zip")
	check("Stat", err)
	_, err = l.Get(ctx, "svc/x.zip", 0, -1)
	check("Get", err)
	check("Delete", l.Delete(ctx, "svc/x.zip"))
	if _, err := os.Stat(l.String()); err == nil {
		t.Error("the store re-created its missing directory")
	}
}

func TestLocalTemporaryFiles(t *testing.T) {
	ctx := t.Context()
	l := newLocal(t)
	if err := l.Put(ctx, "svc/a.zip", strings.NewReader("a")); err != nil {
		t.Fatal(err)
	}
	// What a process killed in the middle of a Put leaves behind.
	stale := filepath.Join(l.String(), "svc", ".b.zip.tmp-12345")
	if err := os.WriteFile(stale, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	objs, err := l.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Key != "svc/a.zip" {
		t.Errorf("List = %+v; want only svc/a.zip, no temporary file", objs)
	}
	left, err := l.Incomplete(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, []string{"svc/.b.zip.tmp-12345"}) {
		t.Errorf("Incomplete = %q; want the stale temporary file", left)
	}
	// Recovery after the crash removes it, and only it.
	if err := l.CleanupIncomplete(ctx, "svc/b.zip"); err != nil {
		t.Fatal(err)
	}
	if left, err := l.Incomplete(ctx, ""); err != nil || len(left) != 0 {
		t.Errorf("Incomplete after CleanupIncomplete = %q, %v; want none", left, err)
	}
	if objs, err := l.List(ctx, ""); err != nil || len(objs) != 1 {
		t.Errorf("CleanupIncomplete touched an object: %+v, %v", objs, err)
	}
	err = l.Put(ctx, "svc/.c.tmp-1", strings.NewReader("x"))
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Put of a key named like a temporary file = %v; want ErrInvalid", err)
	}
}

func TestKeyErrorMessage(t *testing.T) {
	l := newLocal(t)
	err := l.Put(t.Context(), "../etc/passwd", strings.NewReader("x"))
	want := `object key "../etc/passwd" is not allowed (it has a ".." segment); use a relative path of '/'-separated names`
	if !errors.Is(err, core.ErrInvalid) || err.Error() != want {
		t.Errorf("Put(../etc/passwd) = %v; want %q wrapping ErrInvalid", err, want)
	}
	_, err = l.List(t.Context(), "/etc")
	want = `listing prefix "/etc" is not allowed (it is absolute); use the beginning of a relative '/'-separated path`
	if !errors.Is(err, core.ErrInvalid) || err.Error() != want {
		t.Errorf("List(/etc) = %v; want %q wrapping ErrInvalid", err, want)
	}
}

// mountTmpfs mounts a small tmpfs for the test, or skips it where mounting
// is not allowed (not root, or no CAP_SYS_ADMIN in a container).
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v)", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func TestLocalDiskFull(t *testing.T) {
	ctx := t.Context()
	dir := mountTmpfs(t, "size=1m,mode=0700")
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Put(ctx, "svc/big.zip", strings.NewReader(strings.Repeat("x", 2<<20)))
	want := "the disk holding " + dir + " is full (no space left to write svc/big.zip); free some space or remove old backups"
	if !errors.Is(err, core.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) || err.Error() != want {
		t.Fatalf("Put of 2 MiB on a 1 MiB disk = %v; want %q wrapping ErrNoSpace and ENOSPC", err, want)
	}
	if _, err := l.Stat(ctx, "svc/big.zip"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Stat after the failed Put = %v; want ErrNotFound", err)
	}
	if left, err := l.Incomplete(ctx, ""); err != nil || len(left) != 0 {
		t.Errorf("Incomplete = %q, %v; want the temporary file removed", left, err)
	}
	// The space is back: a small object fits.
	if err := l.Put(ctx, "svc/small.zip", strings.NewReader("x")); err != nil {
		t.Errorf("Put after the failure: %v", err)
	}
}

func TestLocalReadOnly(t *testing.T) {
	dir := mountTmpfs(t, "size=1m")
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only (%v)", err)
	}
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Put(t.Context(), "svc/x.zip", strings.NewReader("x"))
	want := dir + " is on a read-only file system; remount it read-write or choose another directory"
	if !errors.Is(err, core.ErrAccessDenied) || err.Error() != want {
		t.Errorf("Put on a read-only file system = %v; want %q wrapping ErrAccessDenied", err, want)
	}
	err = core.ProbeStore(t.Context(), l)
	want = "cannot write a test object to " + dir + ": " + want
	if !errors.Is(err, core.ErrAccessDenied) || err.Error() != want {
		t.Errorf("Probe on a read-only file system = %v; want %q wrapping ErrAccessDenied", err, want)
	}
}

func TestLocalPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root is never denied; see TestLocalErrorClasses for the message")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Put(t.Context(), "x.zip", strings.NewReader("x")); !errors.Is(err, core.ErrAccessDenied) {
		t.Errorf("Put into a read-only directory = %v; want ErrAccessDenied", err)
	}
}

// Every error class fsErr knows, with the sentence the user reads.
func TestLocalErrorClasses(t *testing.T) {
	l := newLocal(t)
	root := l.String()
	pathErr := func(errno syscall.Errno) error {
		return &fs.PathError{Op: "open", Path: filepath.Join(root, "svc/x.zip"), Err: errno}
	}
	tests := []struct {
		verb  string
		err   error
		class error
		msg   string
	}{
		{"write", pathErr(syscall.ENOSPC), core.ErrNoSpace,
			"the disk holding " + root + " is full (no space left to write svc/x.zip); free some space or remove old backups"},
		{"write", pathErr(syscall.EDQUOT), core.ErrNoSpace,
			"the disk holding " + root + " is full (no space left to write svc/x.zip); free some space or remove old backups"},
		{"write", pathErr(syscall.EACCES), core.ErrAccessDenied,
			"permission denied to write svc/x.zip in " + root + " (open " + root + "/svc/x.zip: permission denied); let the user running odoo-backup (uid " + strconv.Itoa(os.Geteuid()) + ") read and write the directory"},
		{"write", pathErr(syscall.EROFS), core.ErrAccessDenied,
			root + " is on a read-only file system; remount it read-write or choose another directory"},
		{"read", pathErr(syscall.ENOENT), core.ErrNotFound,
			"object svc/x.zip does not exist in " + root},
		{"write", pathErr(syscall.EIO), syscall.EIO,
			"cannot write svc/x.zip in " + root + " (open " + root + "/svc/x.zip: input/output error)"},
	}
	for _, tc := range tests {
		err := l.fsErr(tc.verb, "svc/x.zip", tc.err)
		if !errors.Is(err, tc.class) || !errors.Is(err, tc.err) || err.Error() != tc.msg {
			t.Errorf("fsErr(%s, %v) = %q; want %q wrapping %v and the cause", tc.verb, tc.err, err, tc.msg, tc.class)
		}
	}
}

func TestLocalGetHonoursContext(t *testing.T) {
	l := newLocal(t)
	if err := l.Put(t.Context(), "k", strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	rc, err := l.Get(ctx, "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	cancel()
	if _, err := rc.Read(make([]byte, 4)); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel = %v; want context.Canceled", err)
	}
}

// A prefix running into a file lists nothing rather than failing.
func TestLocalListThroughFile(t *testing.T) {
	ctx := t.Context()
	l := newLocal(t)
	if err := l.Put(ctx, "a", strings.NewReader("file")); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"a/", "a/b/", "a/b/c"} {
		objs, err := l.List(ctx, prefix)
		if err != nil || len(objs) != 0 {
			t.Errorf("List(%q) = %+v, %v; want nothing", prefix, objs, err)
		}
	}
}

// A limited directory keeps the store's contract, and its bytes pass
// through the limiters.
func TestLocalConformanceLimited(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.ObjectStore {
		l := newLocal(t)
		l.SetLimits(core.DestinationLimiters(core.Destination{Limits: core.BandwidthLimits{Upload: 1 << 30, Download: 1 << 30}}))
		return l
	})
}

func TestLocalLimitsCountTheBytes(t *testing.T) {
	ctx := t.Context()
	l := newLocal(t)
	lim := core.DestinationLimiters(core.Destination{Limits: core.BandwidthLimits{Upload: 1 << 30, Download: 1 << 30}})
	l.SetLimits(lim)
	data := strings.Repeat("odoo", 300_000)
	if err := l.Put(ctx, "a/b.zip", strings.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rc, err := l.Get(ctx, "a/b.zip", 100, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != data[100:] {
		t.Fatalf("read back %d bytes, %v; want %d", len(got), err, len(data)-100)
	}
	if up, down := lim.Up.Taken(), lim.Down.Taken(); up != int64(len(data)) || down != int64(len(data)-100) {
		t.Errorf("limiters counted %d written and %d read; want %d and %d", up, down, len(data), len(data)-100)
	}
}
