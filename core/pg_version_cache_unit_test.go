package core

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Finding pg_dump asks each candidate its version, a process each, at
// every backup: an unchanged file is asked once, and a file replaced by
// another version (a package upgrade) is asked again.
func TestToolVersionAskedOncePerFile(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the fake tools")
	}
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	path := filepath.Join(dir, "pg_dump")
	write := func(version string) {
		script := "#!/bin/sh\necho x >> '" + calls + "'\necho 'pg_dump (PostgreSQL) " + version + "'\n"
		// A new file, as a package upgrade installs one.
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	asked := func() int {
		b, _ := os.ReadFile(calls)
		return strings.Count(string(b), "x")
	}
	write("15.4")
	tools := PGTools{Dirs: []string{dir}, NoPath: true}
	for range 3 {
		tool, err := tools.Find("pg_dump", 15)
		if err != nil || tool.Version != "15.4" {
			t.Fatalf("Find = %+v, %v; want version 15.4", tool, err)
		}
	}
	if n := asked(); n != 1 {
		t.Errorf("three Finds of an unchanged pg_dump ran it %d times, want once", n)
	}
	write("15.10")
	tool, err := tools.Find("pg_dump", 15)
	if err != nil || tool.Version != "15.10" {
		t.Fatalf("Find after an upgrade = %+v, %v; want version 15.10", tool, err)
	}
	if n := asked(); n != 2 {
		t.Errorf("pg_dump ran %d times after it was replaced, want 2", n)
	}
}
