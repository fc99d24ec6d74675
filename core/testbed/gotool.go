package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// goTool is a server the test bed builds with `go install` at a pinned
// version into the user's cache directory (MinIO, mailpit), or takes from
// an environment variable naming a prebuilt binary.
type goTool struct {
	name    string // the binary's name: minio
	module  string // what go install builds: github.com/minio/minio
	version string // the pinned version
	env     string // the variable naming a prebuilt binary: ODOO_BACKUP_MINIO
}

var (
	minioTool   = goTool{"minio", "github.com/minio/minio", MinIOVersion, "ODOO_BACKUP_MINIO"}
	mailpitTool = goTool{"mailpit", "github.com/axllent/mailpit", MailpitVersion, "ODOO_BACKUP_MAILPIT"}
)

// binary returns the path of the tool without building it: $env if set,
// else the one ensure built in <user cache dir>/odoo-backup/NAME-VERSION/NAME.
// Where that was never built the error is ErrUnavailable.
func (t goTool) binary() (string, error) {
	if p := os.Getenv(t.env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s names %s, which cannot be used (%v); unset it or point it at a %s binary", t.env, p, err, t.name)
		}
		return p, nil
	}
	dir, err := t.dir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, t.name)
	if !isExecutable(bin) {
		return "", markUnavailable(fmt.Errorf("the pinned %s %s is not built in %s (or set %s to a %s binary)", t.name, t.version, dir, t.env, t.name))
	}
	return bin, nil
}

// dir is where ensure keeps the binary.
func (t goTool) dir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory to keep the %s binary in (%v); set %s to a %s binary", t.name, err, t.env, t.name)
	}
	return filepath.Join(cache, "odoo-backup", t.name+"-"+t.version), nil
}

// ensure returns the path of the tool as binary does, building it with
// `go install` first where it is missing (a few minutes); the setup command
// calls it, tests never do. Concurrent callers, in this process or in
// others, build it only once.
func (t goTool) ensure(ctx context.Context) (string, error) {
	bin, err := t.binary()
	if err == nil || !errors.Is(err, ErrUnavailable) {
		return bin, err
	}
	dir, err := t.dir()
	if err != nil {
		return "", err
	}
	bin = filepath.Join(dir, t.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create %s for the %s binary: %w", dir, t.name, err)
	}

	// Several processes may ask at once; the first one builds while the
	// others wait on the lock, then find the binary.
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("cannot open the %s build lock: %w", t.name, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("cannot lock the %s build directory %s: %w", t.name, dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks anyway
	if isExecutable(bin) {
		return bin, nil
	}

	// go install may copy the binary into GOBIN rather than rename it, so it
	// builds into a scratch directory and the result is renamed into place:
	// an interrupted build never leaves a truncated binary behind.
	scratch, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("cannot create a build directory for %s: %w", t.name, err)
	}
	defer os.RemoveAll(scratch)
	fmt.Fprintf(os.Stderr, "testbed: building %s %s into %s (takes a few minutes the first time)\n", t.name, t.version, dir)
	cmd := exec.CommandContext(ctx, "go", "install", t.module+"@"+t.version)
	cmd.Env = append(os.Environ(), "GOBIN="+scratch, "CGO_ENABLED=0")
	cmd.Dir = scratch // outside any module, so the project's go.mod plays no part
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building %s %s failed (%v); set %s to a prebuilt %s binary or check network access to the Go module proxy: %s", t.name, t.version, err, t.env, t.name, minioTail(out, 2000))
	}
	if err := os.Rename(filepath.Join(scratch, t.name), bin); err != nil {
		return "", fmt.Errorf("cannot move the built %s binary into place: %w", t.name, err)
	}
	return bin, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
