package core

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestLoaderStale(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	comment := func(host string, pid int, created time.Time) string {
		return "odoo-backup restore loader; host=" + host + " pid=" + strconv.Itoa(pid) + " created=" + created.Format(time.RFC3339)
	}
	for _, tc := range []struct {
		name, comment string
		stale         bool
	}{
		{"this host, live process", comment("here", os.Getpid(), now), false},
		{"this host, dead process", comment("here", dead.Process.Pid, now), true},
		{"another host, recent", comment("there", dead.Process.Pid, now.Add(-time.Hour)), false},
		{"another host, two days old", comment("there", os.Getpid(), now.Add(-49*time.Hour)), true},
		{"no comment", "", true},
		{"a comment someone changed", "mine now", true},
	} {
		if got := loaderStale(tc.comment, "here", now); got != tc.stale {
			t.Errorf("%s: stale = %v, want %v", tc.name, got, tc.stale)
		}
	}
}

func TestOwnershipOfTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "fs")
	for _, p := range []struct {
		path string
		mode fs.FileMode
		dir  bool
	}{{root, 0o750, true}, {filepath.Join(root, "ab"), 0o710, true}, {filepath.Join(root, "ab", "ab12"), 0o640, false}} {
		var err error
		if p.dir {
			err = os.Mkdir(p.path, 0o700)
		} else {
			err = os.WriteFile(p.path, []byte("x"), 0o600)
		}
		if err == nil {
			err = os.Chmod(p.path, p.mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	o, ok := ownershipOfTree(root)
	if !ok || o.rootMode != 0o750 || o.dirMode != 0o710 || o.fileMode != 0o640 || o.uid != os.Getuid() || o.chown != (os.Geteuid() == 0) {
		t.Errorf("ownershipOfTree = %+v, %v; want root 0750, dirs 0710, files 0640, owner %d", o, ok, os.Getuid())
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if o, ok := ownershipOfTree(empty); !ok || o.dirMode != 0o700 || o.fileMode != 0o600 {
		t.Errorf("an empty filestore: %+v, %v; want dirs as its root, files without execute", o, ok)
	}
	if _, ok := ownershipOfTree(filepath.Join(root, "none")); ok {
		t.Error("a filestore that does not exist has no ownership to keep")
	}
}

func TestOwnershipFromParent(t *testing.T) {
	for _, tc := range []struct{ parent, dir, file fs.FileMode }{
		{0o755, 0o755, 0o644}, // Odoo's data dir
		{0o700, 0o700, 0o600},
		{0o777, 0o755, 0o644}, // never writable by others
		{0o750, 0o750, 0o640},
	} {
		parent := t.TempDir()
		if err := os.Chmod(parent, tc.parent); err != nil {
			t.Fatal(err)
		}
		o := ownershipFromParent(parent)
		if o.rootMode != tc.dir || o.dirMode != tc.dir || o.fileMode != tc.file {
			t.Errorf("parent %04o: got root %04o, dirs %04o, files %04o; want %04o, %04o", tc.parent, o.rootMode, o.dirMode, o.fileMode, tc.dir, tc.file)
		}
	}
}

func TestScramVerifier(t *testing.T) {
	v := scramVerifier("secret")
	if !regexp.MustCompile(`^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$`).MatchString(v) {
		t.Errorf("verifier %q is not in PostgreSQL's SCRAM-SHA-256 format", v)
	}
	if scramVerifier("secret") == v {
		t.Error("two verifiers of one password share a salt")
	}
}
