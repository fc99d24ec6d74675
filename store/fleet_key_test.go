package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core"
)

// A catalog shared by a fleet: each host opens it with its own copy of the
// key. A host without it reads one sentence saying so, never seals a secret
// with a key of its own, and reads the secrets once the fleet's key is
// installed; references work on every host; another fleet's key says so.
func TestFleetKeyOnEveryHost(t *testing.T) {
	ctx := context.Background()
	t.Setenv("FLEET_TEST_SECRET", "secret-from-the-environment")
	pg := servers.Postgres(t)
	must(t, pg.CreateDatabase(ctx, "fleet_key"))
	t.Cleanup(func() { pg.DropDatabase(context.Background(), "fleet_key") })
	url := pg.ConnString("fleet_key")
	dir := t.TempDir()
	keyA, keyB := filepath.Join(dir, "a", "catalog.key"), filepath.Join(dir, "b", "catalog.key")
	a, err := Open(ctx, url, WithKeyFile(keyA))
	must(t, err)
	defer a.Close()
	addSecretDestination(t, a, "s3")
	ref, err := core.SecretRef("env:FLEET_TEST_SECRET")
	must(t, err)
	byRef := core.Destination{Name: "by-ref", Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: "s3.example.com:443", Bucket: "r", AccessKey: "AK", SecretKey: ref}}
	must(t, a.AddDestination(ctx, &byRef))

	b, err := Open(ctx, url, WithKeyFile(keyB))
	must(t, err)
	defer b.Close()
	d, err := b.Destination(ctx, "s3")
	must(t, err)
	_, err = d.S3.SecretKey.Resolve("the secret key")
	want := `the secret key of destination "s3" cannot be decrypted: this host has no key for the catalog's secrets at ` + keyB
	if !errors.Is(err, core.ErrAccessDenied) || err.Error() != want {
		t.Errorf("reading a sealed secret without the key: %v\nwant %s", err, want)
	}
	if adv, ok := core.AdviceOf(err); !ok || adv.Action != core.ActionInstallCatalogKey {
		t.Errorf("advice %+v, want to install the fleet's key", adv)
	}
	r, err := b.Destination(ctx, "by-ref")
	must(t, err)
	if v, err := r.S3.SecretKey.Resolve("the secret key"); err != nil || v.Reveal() != "secret-from-the-environment" {
		t.Errorf("a reference on the host without the key: %v", err)
	}
	// Sealing a new secret here would need a key of this host's own.
	other := core.Destination{Name: "b-only", Kind: core.DestinationS3, S3: core.S3Settings{Endpoint: "s3.example.com:443", Bucket: "b", AccessKey: "AK", SecretKey: "new"}}
	err = b.AddDestination(ctx, &other)
	if !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(err.Error(), "cannot be stored: this host has no key for the catalog's secrets at "+keyB) {
		t.Errorf("adding a sealed secret without the key: %v", err)
	}
	if _, err := os.Stat(keyB); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key was created at %s (%v); the fleet's must be installed instead", keyB, err)
	}
	if _, err := b.Destination(ctx, "b-only"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the refused destination was stored (%v)", err)
	}

	// The admin copies A's key to B.
	exported := filepath.Join(dir, "fleet.key")
	must(t, ExportKey(keyA, exported))
	installed, err := InstallKey(exported, keyB)
	must(t, err)
	if !installed {
		t.Error("InstallKey said the key was already there")
	}
	if fi, err := os.Stat(keyB); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("installed key: %v, %v; want it owner-only", fi, err)
	}
	d, err = b.Destination(ctx, "s3")
	must(t, err)
	if v, err := d.S3.SecretKey.Resolve("the secret key"); err != nil || v.Reveal() != testSecretKey {
		t.Errorf("after installing the key: %v", err)
	}
	if installed, err := InstallKey(exported, keyB); err != nil || installed {
		t.Errorf("installing the same key again: %v, %v; want nothing to do", installed, err)
	}

	// Another fleet's key.
	keyC := filepath.Join(dir, "c", "catalog.key")
	_, err = createKeyFile(keyC)
	must(t, err)
	c, err := Open(ctx, url, WithKeyFile(keyC))
	must(t, err)
	defer c.Close()
	d, err = c.Destination(ctx, "s3")
	must(t, err)
	_, err = d.S3.SecretKey.Resolve("the secret key")
	if err == nil || !strings.Contains(err.Error(), "cannot be decrypted with this host's catalog key "+keyC+", which is not the key it was stored with (another fleet's key?)") {
		t.Errorf("reading with another fleet's key: %v", err)
	}
	if adv, ok := core.AdviceOf(err); !ok || adv.Action != core.ActionReplaceCatalogKey {
		t.Errorf("advice %+v, want to replace the key", adv)
	}
	if _, err := InstallKey(exported, keyC); !errors.Is(err, core.ErrExists) || !strings.Contains(err.Error(), "already has another catalog key at "+keyC) {
		t.Errorf("installing over another key: %v", err)
	}
}

// Each file a key command refuses gets its own sentence.
func TestInstallAndExportKeyRefusals(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "catalog.key")
	_, err := createKeyFile(key)
	must(t, err)
	wide := filepath.Join(dir, "wide.key")
	raw, err := os.ReadFile(key)
	must(t, err)
	must(t, os.WriteFile(wide, raw, 0o644))
	must(t, os.Chmod(wide, 0o644))
	short := filepath.Join(dir, "short.key")
	must(t, os.WriteFile(short, raw[:16], 0o600))
	target := filepath.Join(dir, "host", "catalog.key")
	for _, tc := range []struct {
		from, want string
	}{
		{filepath.Join(dir, "nope.key"), "does not exist; copy the fleet's catalog key to this host first"},
		{wide, "can be read by group or others (mode 0644)"},
		{short, "is not a catalog key (16 bytes, want 32)"},
		{dir, "is not a regular file"},
	} {
		if _, err := InstallKey(tc.from, target); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("InstallKey(%s): %v; want %q", tc.from, err, tc.want)
		}
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused install wrote %s", target)
	}
	if err := ExportKey(key, wide); !errors.Is(err, core.ErrExists) || !strings.Contains(err.Error(), "already exists and a key is never written over a file") {
		t.Errorf("exporting over a file: %v", err)
	}
	if err := ExportKey(filepath.Join(dir, "none.key"), filepath.Join(dir, "out.key")); !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), "this host has no catalog key at") {
		t.Errorf("exporting a missing key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.key")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused export wrote its file")
	}
}
