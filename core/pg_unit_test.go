package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTool writes an executable name into a new directory that prints
// version the way PostgreSQL's tools do.
func fakeTool(t *testing.T, name, version string) string {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\necho '%s (PostgreSQL) %s'\n", name, version)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPGToolsFind(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the fake tools")
	}
	v := func(versions ...string) []string {
		var dirs []string
		for _, ver := range versions {
			dirs = append(dirs, fakeTool(t, "pg_dump", ver))
		}
		return dirs
	}
	tests := []struct {
		name        string
		versions    []string
		server      int
		wantVersion string
		wantErr     []string // parts of the message when no tool fits
	}{
		{"same major", []string{"13.4", "16.2"}, 13, "13.4", nil},
		{"same major listed last", []string{"16.2", "13.4"}, 13, "13.4", nil},
		{"newer when no same", []string{"13.4", "16.2"}, 15, "16.2", nil},
		{"oldest newer", []string{"17.1", "14.9", "16.2"}, 15, "16.2", nil},
		{"newest minor of the same major", []string{"16.2", "16.10", "16.4"}, 16, "16.10", nil},
		{"Debian version string", []string{"15.6 (Debian 15.6-1.pgdg120+2)"}, 15, "15.6", nil},
		{"development version", []string{"18devel"}, 18, "18", nil},
		{"only older", []string{"13.4", "12.18"}, 16, "", []string{"PostgreSQL 16", "version 13.4", "postgresql-client-16"}},
		{"nothing", nil, 16, "", []string{"pg_dump was not found", "postgresql-client-16"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tools := PGTools{Dirs: v(tc.versions...), NoPath: true}
			if len(tools.Dirs) == 0 {
				tools.Dirs = []string{t.TempDir()} // empty means the Debian layout
			}
			got, err := tools.Find("pg_dump", tc.server)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Find(pg_dump, %d) among %v: %v", tc.server, tc.versions, err)
				}
				if got.Version != tc.wantVersion {
					t.Errorf("Find(pg_dump, %d) among %v = %s, want %s", tc.server, tc.versions, got.Version, tc.wantVersion)
				}
				if filepath.Base(got.Path) != "pg_dump" || !filepath.IsAbs(got.Path) {
					t.Errorf("Path = %q, want an absolute path to pg_dump", got.Path)
				}
				return
			}
			if err == nil {
				t.Fatalf("Find(pg_dump, %d) among %v = %s, want an error", tc.server, tc.versions, got.Version)
			}
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("error %v does not wrap ErrNotFound", err)
			}
			for _, part := range tc.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q, want it to contain %q", err, part)
				}
			}
		})
	}
}

// With only older tools, the message names the newest one present.
func TestPGToolsFindNamesTheNewestOlder(t *testing.T) {
	tools := PGTools{Dirs: []string{fakeTool(t, "pg_dump", "14.10"), fakeTool(t, "pg_dump", "14.2")}, NoPath: true}
	_, err := tools.Find("pg_dump", 16)
	if err == nil {
		t.Fatal("Find(pg_dump, 16) with only 14.x = nil error")
	}
	if strings.Contains(err.Error(), "version 14.2,") {
		t.Fatalf("with 14.10 and 14.2 present the message says %q; Find sorts minors newest-first within a major, "+
			"so found[len(found)-1] is the oldest minor of the newest major. Pick the newest with max by (major, minor)", err)
	}
	if !strings.Contains(err.Error(), "version 14.10,") {
		t.Errorf("error %q, want it to name 14.10, the newest pg_dump present", err)
	}
}

func TestPGToolsFindIgnoresBrokenTools(t *testing.T) {
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "pg_dump"), []byte("#!/bin/sh\necho 'something else 99'\n"), 0o755)
	failing := t.TempDir()
	os.WriteFile(filepath.Join(failing, "pg_dump"), []byte("#!/bin/sh\nexit 3\n"), 0o755)
	notExec := t.TempDir()
	os.WriteFile(filepath.Join(notExec, "pg_dump"), []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 99.0'\n"), 0o644)
	dirAsTool := t.TempDir()
	os.Mkdir(filepath.Join(dirAsTool, "pg_dump"), 0o755)
	good := fakeTool(t, "pg_dump", "16.3")

	tools := PGTools{Dirs: []string{broken, failing, notExec, dirAsTool, good}, NoPath: true}
	got, err := tools.Find("pg_dump", 16)
	if err != nil || got.Version != "16.3" || got.Major != 16 || got.Minor != 3 {
		t.Errorf("Find = %+v, %v; want the working 16.3", got, err)
	}
}

func TestSupportsRestrict(t *testing.T) {
	tests := []struct {
		major, minor int
		want         bool
	}{
		{19, 0, true}, {18, 0, true},
		{17, 6, true}, {17, 5, false}, {17, 10, true},
		{16, 10, true}, {16, 9, false},
		{15, 14, true}, {15, 13, false},
		{14, 19, true}, {14, 18, false},
		{13, 22, true}, {13, 21, false},
		{12, 99, false}, {9, 6, false}, {0, 0, false},
	}
	for _, tc := range tests {
		if got := (Tool{Major: tc.major, Minor: tc.minor}).SupportsRestrict(); got != tc.want {
			t.Errorf("Tool %d.%d SupportsRestrict() = %v, want %v", tc.major, tc.minor, got, tc.want)
		}
	}
}
