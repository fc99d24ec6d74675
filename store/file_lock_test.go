package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// An open SQLite catalog keeps SQLite's lock on its file for its whole
// life. Another process's last connection checkpoints and deletes the WAL
// when it finds no lock there: closing the descriptor Open takes turns with
// dropped this process's locks (fcntl locks belong to the process), and
// the sqlite3 shell closing beside a daemon then deleted the WAL the daemon
// went on writing to, so none of its later writes reached the file.
func TestOpenCatalogKeepsItsFileLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	cat, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if err := cat.AddDestination(ctx, &core.Destination{Name: "disk", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: t.TempDir()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Destinations(ctx); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino := strconv.FormatUint(fi.Sys().(*syscall.Stat_t).Ino, 10)
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skipf("no /proc/locks to read the locks from: %v", err)
	}
	pid := strconv.Itoa(os.Getpid())
	held := false
	for _, line := range strings.Split(string(locks), "\n") {
		f := strings.Fields(line)
		for i := range f {
			// "N: POSIX ADVISORY READ PID MAJ:MIN:INODE START END"
			if f[i] == "POSIX" && i+4 < len(f) && f[i+3] == pid && strings.HasSuffix(f[i+4], ":"+ino) {
				held = true
			}
		}
	}
	if !held {
		t.Errorf("this process holds no lock on the open catalog %s (inode %s); /proc/locks:\n%s", path, ino, locks)
	}
}
