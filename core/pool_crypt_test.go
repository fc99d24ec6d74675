package core_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/pool"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// statCounter counts the Stats of pool objects, to tell a backup that took
// its files from the last file list (none) from one that looked for each.
type statCounter struct {
	core.ObjectStore
	n *atomic.Int64
}

func (s statCounter) Stat(ctx context.Context, key string) (core.ObjectInfo, error) {
	if _, ok := pool.ParseObjectKey("prod", key); ok {
		s.n.Add(1)
	}
	return s.ObjectStore.Stat(ctx, key)
}

// filestoreContents reads every filestore file the database refers to.
func filestoreContents(t *testing.T, e *env) map[string][]byte {
	t.Helper()
	pg := servers.Postgres(t)
	list, err := pg.QueryString(e.ctx, e.odoo.Name, "SELECT string_agg(DISTINCT store_fname, ',') FROM ir_attachment WHERE store_fname IS NOT NULL AND store_fname <> ''")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, name := range strings.Split(list, ",") {
		data, err := os.ReadFile(filepath.Join(e.odoo.FilestoreDir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = data
	}
	return out
}

// TestEncryptedPool: two encrypting pool destinations on MinIO (a key file
// on this host; a recipient whose identity is off the host, with the local
// cache) and a plain pool for comparison (the passphrase has its own test:
// scrypt is slow under -race). Objects and lists are age files whose names show no hash of
// any content; a second backup stores nothing and looks nothing up; objects
// found in the pool without the list keep their deflate size; a lost cache
// costs one full upload under a new key; every file reads back through the
// readers with the right key, and not without it or with a wrong one; a
// catalog rebuilt from the destinations reads them too.
func TestEncryptedPool(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 71, Files: 14, FilestoreBytes: 700 << 10})
	const marker = "OKAPI-MARKER-31d7"
	plantMarker(t, e, marker)
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	e.engine.PoolCacheDir = filepath.Join(e.dir, "pool-keys")
	var stats atomic.Int64
	e.engine.OpenStore = func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
		st, err := s3.Open(ctx, d)
		return statCounter{ObjectStore: st, n: &stats}, err
	}
	keyFile, recipient := newIdentity(t)
	wrongFile, _ := newIdentity(t)
	keyed := e.sealedS3("keyed", func(d *core.Destination) {
		d.Layout, d.Encrypt.KeyFile, d.Encrypt.Recipient = core.LayoutPool, keyFile, recipient
	})
	offsite := e.sealedS3("offsite", func(d *core.Destination) { d.Layout, d.Encrypt.Recipient = core.LayoutPool, recipient })
	e.usePool() // the plain MinIO destination, for comparison
	dests := map[string]core.Destination{"keyed": keyed, "offsite": offsite, "minio": e.s3}
	names := []string{"keyed", "offsite", "minio"}
	identity := map[string]string{"offsite": keyFile}

	files := filestoreContents(t, e)
	var hashes []string
	for _, c := range files {
		s1, s256 := sha1.Sum(c), sha256.Sum256(c)
		hashes = append(hashes, hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:]))
	}
	byDest := func(bs []core.Backup) map[string]core.Backup {
		out := map[string]core.Backup{}
		for _, b := range bs {
			out[b.Destination] = b
		}
		return out
	}

	first := byDest(e.backup(names...))
	for _, n := range names {
		b := first[n]
		if b.Format != core.FormatOdooPool || b.Pool == nil || b.Pool.Files != len(files) || b.Pool.NewObjects != len(files) {
			t.Fatalf("%s: format %q, pool %+v; want a pool backup of %d files, all new", n, b.Format, b.Pool, len(files))
		}
		if (n == "minio") != (b.Pool.Key == "") || (n != "minio") != pool.ValidKeyID(b.Pool.Key) {
			t.Errorf("%s: pool key %q", n, b.Pool.Key)
		}
		// An encrypted archive says so by its name, in a pool as in a zip.
		if want := map[bool]string{true: "_manual.zip.age", false: "_manual.zip"}[n != "minio"]; !strings.HasSuffix(b.Key, want) {
			t.Errorf("%s: archive key %q, want it to end in %s", n, b.Key, want)
		}
	}

	// What the buckets show: on the plain pool the SHA-256 of every file
	// (else the check below proves nothing), on the encrypted ones no hash
	// of any file in any name, and age files only.
	for _, n := range names {
		d, b := dests[n], first[n]
		all, err := e.store(d).List(e.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var leaks, objects int
		var stored int64
		for _, o := range all {
			for _, h := range hashes {
				if strings.Contains(o.Key, h) {
					leaks++
				}
			}
			_, isObject := pool.ParseObjectKey("prod", o.Key)
			if !isObject && o.Key != pool.ListKey(b.Key) {
				continue
			}
			raw := readObject(t, e, d, o.Key)
			if isObject {
				objects++
				stored += o.Size
			}
			switch {
			case n == "minio":
			case !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n-> X25519 ")):
				t.Errorf("%s: %s starts with %q, want an age file", n, o.Key, raw[:min(24, len(raw))])
			case bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) || bytes.Contains(raw, []byte(marker)):
				t.Errorf("%s: %s shows gzip or the marker in clear", n, o.Key)
			}
		}
		if n == "minio" && leaks != len(files) {
			t.Errorf("the plain pool names %d objects by their content's SHA-256, want %d (else this test proves nothing)", leaks, len(files))
		}
		if n != "minio" && leaks != 0 {
			t.Errorf("%s: %d object keys hold a SHA-1 or SHA-256 of a file", n, leaks)
		}
		if objects != len(files) || stored != b.Pool.NewBytes {
			t.Errorf("%s: %d objects of %d bytes, backup says %d of %d", n, objects, stored, b.Pool.NewObjects, b.Pool.NewBytes)
		}
		if n == "minio" {
			continue
		}
		key := readObject(t, e, d, pool.NameKeyKey("prod", b.Pool.Key))
		if bytes.Contains(key, []byte("AGE-SECRET-KEY")) || !bytes.HasPrefix(key, []byte("age-encryption.org/v1\n")) {
			t.Errorf("%s: the pool key object is not an age file", n)
		}
	}
	// Only the destination whose identity is off the host has a cache.
	cacheDir := filepath.Join(e.engine.PoolCacheDir, "offsite")
	for p, mode := range map[string]os.FileMode{e.engine.PoolCacheDir: 0o700, cacheDir: 0o700, filepath.Join(cacheDir, "prod.json"): 0o600, filepath.Join(cacheDir, "prod.files"): 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("cache %s: %v, %v; want mode %04o", p, fi, err, mode)
		}
	}
	if entries, _ := os.ReadDir(e.engine.PoolCacheDir); len(entries) != 1 {
		t.Errorf("the cache holds %d destinations, want offsite alone", len(entries))
	}

	// Unchanged: nothing stored and no object looked up, every mode.
	stats.Store(0)
	second := byDest(e.backup(names...))
	for _, n := range names {
		if b := second[n]; b.Pool.NewObjects != 0 || b.Pool.Files != len(files) || b.Pool.Key != first[n].Pool.Key {
			t.Errorf("unchanged filestore, %s: %d new objects for %d files under key %q; want 0 for %d under %q", n, b.Pool.NewObjects, b.Pool.Files, b.Pool.Key, len(files), first[n].Pool.Key)
		}
	}
	if n := stats.Load(); n != 0 {
		t.Errorf("the second backup looked up %d pool objects; the last file list should have spared every one", n)
	}

	// Every file touched: read again, found in the pool by name, and
	// recorded as the first backup recorded it (the deflate size of an
	// encrypted object it did not write included).
	later := time.Now().Add(time.Minute)
	for name := range files {
		os.Chtimes(filepath.Join(e.odoo.FilestoreDir, filepath.FromSlash(name)), later, later)
	}
	stats.Store(0)
	third := byDest(e.backup(names...))
	if n := stats.Load(); n != int64(len(names)*len(files)) {
		t.Errorf("touched files: %d lookups, want %d", n, len(names)*len(files))
	}
	for _, n := range names {
		b := third[n]
		if b.Pool.NewObjects != 0 {
			t.Errorf("touched files, %s: %d new objects, want 0", n, b.Pool.NewObjects)
		}
		got, before := e.readAll(b, identity[n]), e.readAll(first[n], identity[n])
		for name, want := range files {
			if !bytes.Equal(got.files[name], want) || !bytes.Equal(before.files[name], want) {
				t.Errorf("%s: file %s does not read back as it is", n, name)
			}
			g, w := got.entries[name], before.entries[name]
			g.ModTime, w.ModTime = 0, 0
			if g != w {
				t.Errorf("%s: file %s recorded as %+v, first as %+v", n, name, g, w)
			}
		}
	}

	// The list of a backup whose key this host keeps reads without one
	// given; the off-host one says what is missing.
	if _, err := e.engine.FileListForTest(e.ctx, third["keyed"].ID); err != nil {
		t.Errorf("read the key file pool's list with no key given: %v", err)
	}
	_, err := e.engine.FileListForTest(e.ctx, third["offsite"].ID)
	if want := fmt.Sprintf("backup %d is encrypted to %s and this host keeps no key for it", third["offsite"].ID, recipient); !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(fmt.Sprint(err), want) {
		t.Errorf("off-host list without identity: %v; want %q", err, want)
	}

	// No identity or a wrong one: said before anything is read or made.
	newDB := e.odoo.Name + "_pool"
	for _, c := range []struct{ identity, want string }{
		{"", "this host keeps no key for it"},
		{wrongFile, "the identity in " + wrongFile + " does not match"},
	} {
		if _, _, err := e.engine.PoolFilesForTest(e.ctx, third["offsite"].ID, c.identity); !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(fmt.Sprint(err), c.want) || !advised(err, core.ActionGiveIdentity) {
			t.Errorf("read with identity %q: %v; want %q", c.identity, err, c.want)
		}
		fsDir := filepath.Join(e.dir, "restored-fs")
		_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: third["offsite"].ID, NewDB: newDB, FilestoreDir: fsDir, IdentityFile: c.identity})
		if !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(fmt.Sprint(err), c.want) {
			t.Errorf("restore with identity %q: %v; want %q", c.identity, err, c.want)
		}
		if _, serr := os.Stat(fsDir); e.dbExists(newDB) || !errors.Is(serr, fs.ErrNotExist) {
			t.Errorf("restore with identity %q created something", c.identity)
		}
	}

	// The download assembles the standard zip from the encrypted pool.
	out := filepath.Join(e.dir, "offsite.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: third["offsite"].ID, Path: out}); !errors.Is(err, core.ErrAccessDenied) {
		t.Errorf("download without identity: %v; want it refused", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a refused download left a file")
	}
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: third["offsite"].ID, Path: out, IdentityFile: keyFile}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	inZip := map[string]bool{}
	for _, f := range zr.File {
		name, ok := strings.CutPrefix(f.Name, "filestore/")
		inZip[f.Name] = true
		if !ok {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(data, files[name]) {
			t.Errorf("downloaded %s: %d bytes, %v; want the file as it is", f.Name, len(data), err)
		}
	}
	zr.Close()
	if !inZip["dump.sql"] || !inZip["manifest.json"] || len(inZip) != len(files)+2 {
		t.Errorf("the download holds %d entries; want dump.sql, manifest.json and %d files", len(inZip), len(files))
	}

	// A restore from the encrypted pools gives the same tables and files.
	for _, n := range []string{"keyed", "offsite"} {
		res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: third[n].ID, NewDB: e.odoo.Name + "_" + n, IdentityFile: identity[n]})
		if err != nil {
			t.Fatalf("restore from %s: %v", n, err)
		}
		if diff := source.Diff(e.print(res.Database, res.FilestoreDir)); len(diff) > 0 {
			t.Errorf("restored from the encrypted pool of %s differs:\n%s", n, diff)
		}
	}

	// Copies from and into an encrypted pool go as one zip (their pool
	// writer has no pool keys), readable and restorable as any.
	for _, c := range []struct {
		from     core.Backup
		to       string
		identity string
	}{
		{third["offsite"], "minio", keyFile},
		{third["minio"], "keyed", ""},
	} {
		res, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: c.from.ID, Destination: c.to, IdentityFile: c.identity})
		if err != nil || res.Backup.Format != core.FormatOdooZip {
			t.Fatalf("copy of backup %d to %s: %+v, %v; want a zip", c.from.ID, c.to, res.Backup, err)
		}
		rs, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: res.Backup.ID, NewDB: fmt.Sprintf("%s_copy%d", e.odoo.Name, res.Backup.ID)})
		if err != nil {
			t.Fatalf("restore the copy on %s: %v", c.to, err)
		}
		if diff := source.Diff(e.print(rs.Database, rs.FilestoreDir)); len(diff) > 0 {
			t.Errorf("the copy on %s restores differently:\n%s", c.to, diff)
		}
	}

	// An object altered behind the tool's back: another object's
	// ciphertext (a valid age file of the same key) or a flipped byte.
	kb := third["keyed"]
	entries := slices.SortedFunc(maps.Values(e.readAll(kb, "").entries), func(a, b pool.Entry) int { return strings.Compare(a.Name, b.Name) })
	victim := pool.ObjectKey("prod", entries[0].Object)
	orig := readObject(t, e, keyed, victim)
	other := readObject(t, e, keyed, pool.ObjectKey("prod", entries[1].Object))
	flipped := bytes.Clone(orig)
	flipped[len(flipped)-5] ^= 0x40
	for what, content := range map[string][]byte{"another object's ciphertext": other, "a flipped byte": flipped} {
		if err := e.store(keyed).Put(e.ctx, victim, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		_, _, err := e.engine.PoolFilesForTest(e.ctx, kb.ID, "")
		if !errors.Is(err, core.ErrCorrupt) || !strings.Contains(fmt.Sprint(err), entries[0].Object) || !strings.Contains(fmt.Sprint(err), entries[0].Name) {
			t.Errorf("%s: %v; want corruption naming the object and the file", what, err)
		}
	}
	if err := e.store(keyed).Put(e.ctx, victim, bytes.NewReader(orig)); err != nil {
		t.Fatal(err)
	}

	// A sweep reads the encrypted lists with the key this host keeps and
	// removes only what no list refers to; with the identity off the
	// host it removes nothing and says why.
	e.engine.PoolGrace = -1
	stray := pool.ObjectKey("prod", strings.Repeat("ab", 32))
	if err := e.store(keyed).Put(e.ctx, stray, bytes.NewReader(orig)); err != nil {
		t.Fatal(err)
	}
	sw, err := e.engine.SweepPool(e.ctx, "prod", "keyed")
	if err != nil || sw.Removed != 1 || sw.Lists != 3 {
		t.Errorf("sweep of the encrypted pool: %+v, %v; want the stray object removed after reading 3 lists", sw, err)
	}
	if _, err := e.store(keyed).Stat(e.ctx, stray); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the stray object: %v; want it removed", err)
	}
	if got := e.readAll(kb, ""); len(got.files) != len(files) {
		t.Errorf("after the sweep: %d files read", len(got.files))
	}
	before := len(e.poolObjects(offsite))
	_, err = e.engine.SweepPool(e.ctx, "prod", "offsite")
	if want := `the pool of prod on "offsite" is encrypted to ` + recipient + " and this host keeps no key for it, so it was not swept"; !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(fmt.Sprint(err), want) {
		t.Errorf("sweep without the identity: %v; want %q", err, want)
	}
	if after := len(e.poolObjects(offsite)); after != before {
		t.Errorf("a refused sweep removed %d objects", before-after)
	}
	e.engine.PoolGrace = 0

	// A catalog rebuilt from the destinations alone reads the pool
	// backups, and a writer on it keeps deduplicating.
	cat, err := store.Open(e.ctx, filepath.Join(e.dir, "rebuilt.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	for _, n := range names {
		d := dests[n]
		d.ID = 0
		if err := cat.AddDestination(e.ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	rebuiltEngine := &core.Engine{Catalog: cat, OpenStore: s3.Open}
	if _, err := rebuiltEngine.RebuildCatalog(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		all, err := cat.Backups(e.ctx, core.BackupFilter{Destination: n})
		var rows []core.Backup
		for _, r := range all {
			if r.Format == core.FormatOdooPool { // not the zip copies
				rows = append(rows, r)
			}
		}
		if err != nil || len(rows) != 3 {
			t.Fatalf("rebuilt %s: %d rows, %v; want 3", n, len(rows), err)
		}
		for _, r := range rows {
			want := map[int64]core.Backup{first[n].ID: first[n], second[n].ID: second[n], third[n].ID: third[n]}[r.ID]
			if r.Pool == nil || r.Format != core.FormatOdooPool || r.Pool.Key != want.Pool.Key || r.Pool.ListSHA256 != want.Pool.ListSHA256 {
				t.Errorf("rebuilt %s backup %d: format %q, pool %+v; want %+v", n, r.ID, r.Format, r.Pool, want.Pool)
			}
		}
		got, _, err := rebuiltEngine.PoolFilesForTest(e.ctx, rows[0].ID, identity[n])
		if err != nil || len(got) != len(files) {
			t.Errorf("rebuilt %s: read %d files, %v", n, len(got), err)
		}
	}

	// The cache lost: a new key and one full upload, then deduplication
	// again under it.
	if err := os.RemoveAll(e.engine.PoolCacheDir); err != nil {
		t.Fatal(err)
	}
	fresh := e.backup("offsite")[0]
	if fresh.Pool.Key == first["offsite"].Pool.Key || fresh.Pool.NewObjects != len(files) {
		t.Errorf("after the cache was lost: key %q (was %q), %d new objects; want a new key and %d", fresh.Pool.Key, first["offsite"].Pool.Key, fresh.Pool.NewObjects, len(files))
	}
	if again := e.backup("offsite")[0]; again.Pool.NewObjects != 0 || again.Pool.Key != fresh.Pool.Key {
		t.Errorf("after the new key: %d new objects under %q; want 0 under %q", again.Pool.NewObjects, again.Pool.Key, fresh.Pool.Key)
	}
	for _, b := range []core.Backup{first["offsite"], fresh} {
		if got := e.readAll(b, keyFile); len(got.files) != len(files) {
			t.Errorf("backup %d under key %s: %d files", b.ID, b.Pool.Key, len(got.files))
		}
	}

	// A damaged object where a new file's would go: the backup fails
	// naming it, and never replaces it.
	var cached struct {
		NameKey string `json:"name_key"`
	}
	raw, _ := os.ReadFile(filepath.Join(e.engine.PoolCacheDir, "offsite", "prod.json"))
	if err := json.Unmarshal(raw, &cached); err != nil {
		t.Fatal(err)
	}
	nameKey, _ := hex.DecodeString(cached.NameKey)
	content := []byte(strings.Repeat("a new contract ", 3000))
	sum := sha256.Sum256(content)
	planted := pool.ObjectKey("prod", pool.ID(sum[:], nameKey))
	if err := e.store(offsite).Put(e.ctx, planted, strings.NewReader("not an age file")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.odoo.AddAttachment(e.ctx, content, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.engine.Backup(e.ctx, core.BackupRequest{Service: "prod", Destinations: []string{"offsite"}})
	if want := "the pool object " + planted + ` on "offsite" is damaged`; !errors.Is(err, core.ErrCorrupt) || !strings.Contains(fmt.Sprint(err), want) {
		t.Errorf("backup over a damaged object: %v; want %q", err, want)
	}
	if got := readObject(t, e, offsite, planted); string(got) != "not an age file" {
		t.Error("the damaged object was replaced")
	}

	// The pool key damaged, then gone: the backups under it say so, and
	// the next backup starts a new key.
	kb = third["keyed"]
	keyKey := pool.NameKeyKey("prod", kb.Pool.Key)
	rcp, _ := core.ParseRecipient(recipient)
	var sealedJunk bytes.Buffer
	w, _ := age.Encrypt(&sealedJunk, rcp)
	w.Write([]byte("not a pool key"))
	w.Close()
	if err := e.store(keyed).Put(e.ctx, keyKey, &sealedJunk); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.engine.PoolFilesForTest(e.ctx, kb.ID, "")
	if want := fmt.Sprintf(`the key of the filestore pool of backup %d on "keyed" cannot be read`, kb.ID); !errors.Is(err, core.ErrCorrupt) || !strings.Contains(fmt.Sprint(err), want) {
		t.Errorf("damaged pool key: %v; want %q", err, want)
	}
	if err := e.store(keyed).Delete(e.ctx, keyKey); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.engine.PoolFilesForTest(e.ctx, kb.ID, "")
	if want := fmt.Sprintf("backup %d is incomplete: the key of its filestore pool (%s) is missing", kb.ID, keyKey); !errors.Is(err, core.ErrNotFound) || !strings.Contains(fmt.Sprint(err), want) {
		t.Errorf("missing pool key: %v; want %q", err, want)
	}
	if nk := e.backup("keyed")[0]; nk.Pool.Key == kb.Pool.Key || nk.Pool.NewObjects != nk.Pool.Files {
		t.Errorf("after the pool key was lost: key %q, %d new objects of %d; want a new key and every file", nk.Pool.Key, nk.Pool.NewObjects, nk.Pool.Files)
	}
}

type readBack struct {
	files   map[string][]byte
	entries map[string]pool.Entry
}

func (e *env) readAll(b core.Backup, identity string) readBack {
	e.t.Helper()
	files, entries, err := e.engine.PoolFilesForTest(e.ctx, b.ID, identity)
	if err != nil {
		e.t.Fatalf("read pool backup %d on %s: %v", b.ID, b.Destination, err)
	}
	out := readBack{files: files, entries: map[string]pool.Entry{}}
	for _, en := range entries {
		out.entries[en.Name] = en
	}
	return out
}

// TestEncryptedPoolPassphrase: a pool on a local directory encrypted with a
// passphrase: its key object is an age scrypt file, objects and list age
// files named by no hash of any content; a second backup stores and looks
// up nothing; every file reads back; a new passphrase starts a new key (the
// old one no longer opens), and a backup under the old key says so.
func TestEncryptedPoolPassphrase(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 72, Files: 6, FilestoreBytes: 200 << 10})
	var stats atomic.Int64
	e.engine.OpenStore = func(ctx context.Context, d core.Destination) (core.ObjectStore, error) {
		st, err := s3.Open(ctx, d)
		return statCounter{ObjectStore: st, n: &stats}, err
	}
	vault := core.Destination{Name: "vault", Kind: core.DestinationLocal, Layout: core.LayoutPool,
		Local:   core.LocalSettings{Dir: filepath.Join(e.dir, "vault")},
		Encrypt: core.EncryptionSettings{Passphrase: "correct horse battery staple"}}
	os.MkdirAll(vault.Local.Dir, 0o700)
	e.addDestination(&vault)
	files := filestoreContents(t, e)

	first := e.backup("vault")[0]
	if first.Pool == nil || first.Pool.NewObjects != len(files) || !pool.ValidKeyID(first.Pool.Key) || first.Encryption != core.EncryptionPassphrase {
		t.Fatalf("first backup: %s, pool %+v; want a passphrase pool backup with %d new objects", first.Encryption, first.Pool, len(files))
	}
	err := filepath.WalkDir(vault.Local.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(vault.Local.Dir, p)
		key := filepath.ToSlash(rel)
		for _, c := range files {
			s1, s256 := sha1.Sum(c), sha256.Sum256(c)
			if strings.Contains(key, hex.EncodeToString(s1[:])) || strings.Contains(key, hex.EncodeToString(s256[:])) {
				t.Errorf("%s names a file by its content", key)
			}
		}
		raw, _ := os.ReadFile(p)
		_, isObject := pool.ParseObjectKey("prod", key)
		switch {
		case key == pool.NameKeyKey("prod", first.Pool.Key):
			if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n-> scrypt ")) {
				t.Errorf("the pool key object starts with %q, want an age scrypt file", raw[:min(30, len(raw))])
			}
		case isObject || key == pool.ListKey(first.Key):
			if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n-> X25519 ")) {
				t.Errorf("%s starts with %q, want an age file", key, raw[:min(30, len(raw))])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	stats.Store(0)
	second := e.backup("vault")[0]
	if second.Pool.NewObjects != 0 || second.Pool.Key != first.Pool.Key || stats.Load() != 0 {
		t.Errorf("unchanged: %d new objects, %d lookups, key %q; want 0, 0 and %q", second.Pool.NewObjects, stats.Load(), second.Pool.Key, first.Pool.Key)
	}
	got := e.readAll(second, "")
	for name, want := range files {
		if !bytes.Equal(got.files[name], want) {
			t.Errorf("file %s does not read back as it is", name)
		}
	}

	vault.Encrypt.Passphrase = "another passphrase"
	if err := e.cat.UpdateDestination(e.ctx, vault); err != nil {
		t.Fatal(err)
	}
	third := e.backup("vault")[0]
	if third.Pool.Key == first.Pool.Key || third.Pool.NewObjects != len(files) {
		t.Errorf("after a new passphrase: key %q, %d new objects; want a new key and %d", third.Pool.Key, third.Pool.NewObjects, len(files))
	}
	if _, err := e.engine.FileListForTest(e.ctx, third.ID); err != nil {
		t.Errorf("the list under the new passphrase: %v", err)
	}
	_, err = e.engine.FileListForTest(e.ctx, second.ID)
	if !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(fmt.Sprint(err), "earlier passphrase") {
		t.Errorf("a backup under the old passphrase: %v; want it said", err)
	}
}
