package main

import (
	"io"
	"path/filepath"
	"testing"
)

// The engine keeps the pool keys of destinations whose identity is off the
// host beside the catalog, for every command, the console and the daemon.
func TestEngineKeepsPoolKeysBesideCatalog(t *testing.T) {
	dir := t.TempDir()
	a := &app{catalogPath: filepath.Join(dir, "catalog.db"), stdout: io.Discard, stderr: io.Discard}
	if err := a.open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer a.cat.Close()
	if want := filepath.Join(dir, "pool-keys"); a.engine.PoolCacheDir != want {
		t.Errorf("pool cache %q, want %q", a.engine.PoolCacheDir, want)
	}
}
