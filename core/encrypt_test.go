package core_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	miniogo "github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/testbed"
	"github.com/odoo-backup/odoo-backup/s3"
	"github.com/odoo-backup/odoo-backup/store"
)

// addDestination adds d to the catalog, configured for prod.
func (e *env) addDestination(d *core.Destination) {
	e.t.Helper()
	if err := e.cat.AddDestination(e.ctx, d); err != nil {
		e.t.Fatal(err)
	}
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: d.Name}); err != nil {
		e.t.Fatal(err)
	}
}

// sealedS3 is a new MinIO bucket destination encrypting as enc says.
func (e *env) sealedS3(name string, enc func(*core.Destination)) core.Destination {
	e.t.Helper()
	minio := servers.MinIO(e.t)
	d := core.Destination{
		Name: name,
		Kind: core.DestinationS3,
		S3:   core.S3Settings{Endpoint: minio.Endpoint, Bucket: minio.NewBucket(e.t), Prefix: "odoo", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true},
	}
	enc(&d)
	e.addDestination(&d)
	return d
}

// plantMarker puts marker into the database (a partner's name) and into a
// filestore file the database refers to. The file is random bytes around
// the marker, so the zip stores it rather than deflating it and the marker
// shows in a plain archive as it is.
func plantMarker(t *testing.T, e *env, marker string) {
	t.Helper()
	pg := servers.Postgres(t)
	if err := pg.Exec(e.ctx, e.odoo.Name, "UPDATE res_partner SET name = $1 WHERE id = (SELECT min(id) FROM res_partner)", marker); err != nil {
		t.Fatal(err)
	}
	fname, err := pg.QueryString(e.ctx, e.odoo.Name, "SELECT min(store_fname) FROM ir_attachment WHERE store_fname IS NOT NULL AND store_fname <> ''")
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 32<<10)
	rand.Read(noise)
	content := append(append(noise[:16<<10:16<<10], marker...), noise[16<<10:]...)
	if err := os.WriteFile(filepath.Join(e.odoo.FilestoreDir, filepath.FromSlash(fname)), content, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rawObject reads an object straight from MinIO, past odoo-backup.
func rawObject(t *testing.T, d core.Destination, key string) []byte {
	t.Helper()
	minio := servers.MinIO(t)
	c, err := minio.Client()
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.GetObject(context.Background(), d.S3.Bucket, d.S3.Prefix+"/"+key, miniogo.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read %s/%s from MinIO: %v", d.S3.Bucket, key, err)
	}
	return b
}

func newIdentity(t *testing.T) (path, recipient string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "odoo-backup.key")
	recipient, err := core.GenerateIdentityFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, recipient
}

// The round trip: one dump fanned out to a plain and an encrypted
// MinIO destination gives a plain zip and an age file holding neither the
// database's nor the filestore's marker; the encrypted one verifies,
// downloads to the very same zip, restores to the same fingerprint, and
// comes back from a catalog rebuild still marked encrypted.
func TestEncryptedBackupRoundTrip(t *testing.T) {
	pg := servers.Postgres(t)
	e := newEnv(t, testbed.OdooOptions{Seed: 61})
	const marker = "ZEBRA-MARKER-7f3c9e"
	plantMarker(t, e, marker)
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	keyFile, recipient := newIdentity(t)
	sealed := e.sealedS3("sealed", func(d *core.Destination) { d.Encrypt.KeyFile, d.Encrypt.Recipient = keyFile, "" })
	// The recipient is set from the key file, as destination add does.
	sealed.Encrypt.Recipient = recipient
	if err := e.cat.UpdateDestination(e.ctx, sealed); err != nil {
		t.Fatal(err)
	}

	bs := e.backup("minio", "sealed")
	plain, enc := bs[0], bs[1]
	if plain.Destination != "minio" {
		plain, enc = enc, plain
	}
	if plain.Encryption != "" || enc.Encryption != "age:"+recipient {
		t.Fatalf("encryption: plain %q, sealed %q; want \"\" and age:%s", plain.Encryption, enc.Encryption, recipient)
	}
	rawPlain := rawObject(t, e.s3, plain.Key)
	rawEnc := rawObject(t, sealed, enc.Key)
	if !bytes.HasPrefix(rawPlain, []byte("PK\x03\x04")) || !bytes.Contains(rawPlain, []byte(marker)) {
		t.Fatal("the plain archive should be a zip showing the filestore marker (else this test proves nothing)")
	}
	if !bytes.HasPrefix(rawEnc, []byte("age-encryption.org/v1\n-> X25519 ")) {
		t.Fatalf("the encrypted object starts with %q, want an age header", rawEnc[:min(40, len(rawEnc))])
	}
	for _, leak := range []string{marker, "PK\x03\x04", "dump.sql", "manifest.json", "filestore/"} {
		if bytes.Contains(rawEnc, []byte(leak)) {
			t.Errorf("the encrypted object holds %q in clear", leak)
		}
	}
	if int64(len(rawEnc)) != enc.Size || fmt.Sprintf("%x", sha256.Sum256(rawEnc)) != enc.SHA256 {
		t.Errorf("backup records %d bytes %s…, the bucket holds %d bytes", enc.Size, enc.SHA256[:12], len(rawEnc))
	}
	if fmt.Sprintf("%x", sha256.Sum256(rawPlain)) != plain.SHA256 {
		t.Error("the plain backup's checksum is not that of its object")
	}
	meta := rawObject(t, sealed, core.MetadataKey(enc.Key))
	if !bytes.Contains(meta, []byte(`"encryption": "age:`+recipient+`"`)) || bytes.Contains(meta, []byte("AGE-SECRET-KEY")) {
		t.Errorf("metadata should name the recipient and never the key:\n%s", meta)
	}

	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: enc.ID}); err != nil {
		t.Fatalf("verify the encrypted backup: %v", err)
	}
	out := filepath.Join(e.dir, "download.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: enc.ID, Path: out}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, rawPlain) {
		t.Errorf("the decrypted download (%d bytes) differs from the plain archive of the same dump (%d bytes)", len(got), len(rawPlain))
	}

	res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: enc.ID, NewDB: e.odoo.Name + "_dec"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.Diff(e.print(res.Database, res.FilestoreDir)); len(diff) > 0 {
		t.Fatalf("restored from the encrypted backup differs:\n%s", diff)
	}
	if n, err := pg.QueryInt(e.ctx, res.Database, "SELECT count(*) FROM res_partner WHERE name = $1", marker); err != nil || n != 1 {
		t.Errorf("restored database has %d partners named the marker, %v; want 1", n, err)
	}

	// A fresh catalog learns from the metadata that the backup is encrypted.
	cat, err := store.Open(e.ctx, filepath.Join(e.dir, "rebuilt.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if err := cat.AddDestination(e.ctx, &sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := (&core.Engine{Catalog: cat, OpenStore: s3.Open}).RebuildCatalog(e.ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := cat.Backups(e.ctx, core.BackupFilter{Destination: "sealed"})
	if err != nil || len(rebuilt) != 1 || rebuilt[0].Encryption != enc.Encryption || rebuilt[0].SHA256 != enc.SHA256 || rebuilt[0].Size != enc.Size {
		t.Fatalf("rebuilt %+v, %v; want the encrypted backup with its encryption, size and checksum", rebuilt, err)
	}
}

// A destination encrypted to a recipient whose identity is kept off the
// host: every reader asks for --identity, a wrong identity is named, and
// neither creates anything; the right one restores, drills and downloads.
func TestEncryptedBackupNeedsIdentity(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 62})
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	keyFile, recipient := newIdentity(t)
	wrongFile, _ := newIdentity(t)
	e.sealedS3("offsite", func(d *core.Destination) { d.Encrypt.Recipient = recipient })
	b := e.backup("offsite")[0]

	newDB := e.odoo.Name + "_r"
	fsDir := filepath.Join(e.dir, "restored-fs")
	out := filepath.Join(e.dir, "out.zip")
	nothingCreated := func(what string) {
		t.Helper()
		if e.dbExists(newDB) || e.databasesLike(newDB) != "" {
			t.Errorf("%s: a database was created", what)
		}
		if _, err := os.Stat(fsDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the filestore directory was created", what)
		}
		if entries, _ := filepath.Glob(filepath.Join(e.dir, "*out.zip*")); len(entries) > 0 {
			t.Errorf("%s: left %v", what, entries)
		}
	}
	for _, c := range []struct {
		name, identity, want string
		class                error
	}{
		{"no identity", "", "backup " + fmt.Sprint(b.ID) + " is encrypted to " + recipient + " and this host keeps no key for it", core.ErrAccessDenied},
		{"wrong identity", wrongFile, "backup " + fmt.Sprint(b.ID) + " is encrypted to " + recipient + "; the identity in " + wrongFile + " does not match", core.ErrAccessDenied},
	} {
		_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, FilestoreDir: fsDir, IdentityFile: c.identity})
		if !errors.Is(err, c.class) || !strings.Contains(err.Error(), c.want) || !advised(err, core.ActionGiveIdentity) {
			t.Errorf("restore, %s: got %v, want %q advising to give the identity", c.name, err, c.want)
		}
		nothingCreated("restore, " + c.name)
		_, err = e.engine.Download(e.ctx, core.DownloadRequest{BackupID: b.ID, Path: out, IdentityFile: c.identity})
		if !errors.Is(err, c.class) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("download, %s: got %v, want %q", c.name, err, c.want)
		}
		nothingCreated("download, " + c.name)
		if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: b.ID, IdentityFile: c.identity}); !strings.Contains(fmt.Sprint(err), c.want) {
			t.Errorf("verify, %s: got %v, want %q", c.name, err, c.want)
		}
		res, err := e.engine.Drill(e.ctx, core.DrillRequest{Service: "prod", Destination: "offsite", ScratchDir: e.dir, IdentityFile: c.identity})
		if !strings.Contains(fmt.Sprint(err), c.want) || res.Drill.Status != core.DrillFailed {
			t.Errorf("drill, %s: got %v (%s), want %q", c.name, err, res.Drill.Status, c.want)
		}
	}
	if e.databasesLike(e.odoo.Name+"_drill") != "" {
		t.Error("a failed drill left a scratch database")
	}

	// A key file others can read is refused before it is read.
	loose := filepath.Join(e.dir, "loose.key")
	raw, _ := os.ReadFile(keyFile)
	os.WriteFile(loose, raw, 0o644)
	os.Chmod(loose, 0o644)
	_, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, FilestoreDir: fsDir, IdentityFile: loose})
	if !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(err.Error(), "chmod 600 "+loose) {
		t.Errorf("world-readable identity: got %v, want a refusal naming chmod 600", err)
	}
	nothingCreated("restore with a world-readable identity")

	res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: newDB, FilestoreDir: fsDir, IdentityFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.Diff(e.print(res.Database, res.FilestoreDir)); len(diff) > 0 {
		t.Fatalf("restored with --identity differs:\n%s", diff)
	}
	drill, err := e.engine.Drill(e.ctx, core.DrillRequest{Service: "prod", Destination: "offsite", ScratchDir: e.dir, IdentityFile: keyFile})
	if err != nil || drill.Drill.Status != core.DrillOK || drill.Backup.ID != b.ID {
		t.Fatalf("drill with the identity: %+v, %v", drill.Drill, err)
	}
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: b.ID, Path: out, IdentityFile: keyFile}); err != nil {
		t.Fatal(err)
	}
	if head, _ := os.ReadFile(out); !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		t.Error("the download is not the decrypted zip")
	}
}

// Passphrase mode (age's scrypt recipient): round trip, onto a service too
// (whose safety backup goes encrypted to the same destination), and a
// passphrase changed since is reported as such.
func TestPassphraseBackupRoundTrip(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 63})
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	d := core.Destination{Name: "vault", Kind: core.DestinationLocal, Local: core.LocalSettings{Dir: filepath.Join(e.dir, "vault")}, Encrypt: core.EncryptionSettings{Passphrase: "correct horse battery staple"}}
	os.MkdirAll(d.Local.Dir, 0o700)
	e.addDestination(&d)
	b := e.backup("vault")[0]
	if b.Encryption != core.EncryptionPassphrase {
		t.Fatalf("encryption %q, want %q", b.Encryption, core.EncryptionPassphrase)
	}
	raw, err := os.ReadFile(filepath.Join(d.Local.Dir, filepath.FromSlash(b.Key)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n-> scrypt ")) || bytes.Contains(raw, []byte("dump.sql")) {
		t.Fatalf("the stored archive is not an age scrypt file: %q", raw[:min(60, len(raw))])
	}
	meta, _ := os.ReadFile(filepath.Join(d.Local.Dir, filepath.FromSlash(core.MetadataKey(b.Key))))
	if bytes.Contains(meta, []byte("correct horse")) {
		t.Error("the metadata holds the passphrase")
	}
	res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: e.odoo.Name + "_pp"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.Diff(e.print(res.Database, res.FilestoreDir)); len(diff) > 0 {
		t.Fatalf("restored from the passphrase backup differs:\n%s", diff)
	}

	// Onto the service itself, with vault as its primary.
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: "vault", Primary: true}); err != nil {
		t.Fatal(err)
	}
	rs, err := e.engine.RestoreToService(e.ctx, core.ServiceRestoreRequest{BackupID: b.ID, Service: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.Diff(e.print(e.odoo.Name, e.odoo.FilestoreDir)); len(diff) > 0 {
		t.Fatalf("restored onto the service differs:\n%s", diff)
	}
	safety, err := e.cat.Backup(e.ctx, rs.SafetyBackupID)
	if err != nil || safety.Encryption != core.EncryptionPassphrase {
		t.Errorf("safety backup %+v, %v: want it encrypted like its destination", safety, err)
	}

	d.Encrypt.Passphrase = "another passphrase"
	if err := e.cat.UpdateDestination(e.ctx, d); err != nil {
		t.Fatal(err)
	}
	_, err = e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: e.odoo.Name + "_pp2"})
	if !errors.Is(err, core.ErrAccessDenied) || !strings.Contains(err.Error(), "earlier passphrase") {
		t.Errorf("restore after the passphrase changed: got %v, want it said", err)
	}
	if e.dbExists(e.odoo.Name + "_pp2") {
		t.Error("a database was created")
	}
}

// Copies are stored the way their target stores archives: an encrypted
// backup copied to a plain destination becomes a plain zip, a plain one
// copied to an encrypted destination becomes an age file, and one copied
// between destinations with the same recipient keeps its bytes.
func TestCopyEncryptedBackup(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 64})
	keyFile, recipient := newIdentity(t)
	withKey := func(d *core.Destination) { d.Encrypt.KeyFile, d.Encrypt.Recipient = keyFile, recipient }
	sealed := e.sealedS3("sealed", withKey)
	twin := e.sealedS3("twin", withKey)
	offsite := e.sealedS3("offsite", func(d *core.Destination) { d.Encrypt.Recipient = recipient })
	bs := e.backup("minio", "sealed")
	plain, enc := bs[0], bs[1]

	toPlain, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: enc.ID, Destination: "local"})
	if err != nil {
		t.Fatal(err)
	}
	if toPlain.Backup.Encryption != "" || toPlain.Backup.SHA256 != plain.SHA256 {
		t.Errorf("encrypted copied to plain: %+v; want the plain archive (sha256 %s)", toPlain.Backup, plain.SHA256)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: toPlain.Backup.ID}); err != nil {
		t.Error(err)
	}

	toSealed, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: plain.ID, Destination: "offsite"})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawObject(t, offsite, toSealed.Backup.Key)
	if toSealed.Backup.Encryption != "age:"+recipient || !bytes.HasPrefix(raw, []byte("age-encryption.org/v1")) ||
		fmt.Sprintf("%x", sha256.Sum256(raw)) != toSealed.Backup.SHA256 || int64(len(raw)) != toSealed.Backup.Size {
		t.Errorf("plain copied to an encrypted destination: %+v", toSealed.Backup)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: toSealed.Backup.ID}); !advised(err, core.ActionGiveIdentity) {
		t.Errorf("verify on the key-less destination: got %v, want it to ask for the identity", err)
	}
	if _, err := e.engine.Verify(e.ctx, core.VerifyRequest{BackupID: toSealed.Backup.ID, IdentityFile: keyFile}); err != nil {
		t.Error(err)
	}

	same, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: enc.ID, Destination: "twin"})
	if err != nil {
		t.Fatal(err)
	}
	if same.Backup.SHA256 != enc.SHA256 || same.Backup.Encryption != enc.Encryption || !bytes.Equal(rawObject(t, twin, same.Backup.Key), rawObject(t, sealed, enc.Key)) {
		t.Errorf("copy between destinations with the same recipient should keep the bytes: %+v", same.Backup)
	}
	// From the key-less destination to a plain one the key must be given.
	if _, err := e.engine.CopyBackup(e.ctx, core.CopyBackupRequest{BackupID: toSealed.Backup.ID, Destination: "local"}); !advised(err, core.ActionGiveIdentity) {
		t.Errorf("copy out of the key-less destination: got %v, want it to ask for the identity", err)
	}
}

// An upload to an encrypted primary is stored encrypted, and restores.
func TestUploadToEncryptedDestination(t *testing.T) {
	e := newEnv(t, testbed.OdooOptions{Seed: 65})
	source := e.print(e.odoo.Name, e.odoo.FilestoreDir)
	zipPath := filepath.Join(e.dir, "prod.zip")
	if _, err := e.engine.Download(e.ctx, core.DownloadRequest{BackupID: e.backup("local")[0].ID, Path: zipPath}); err != nil {
		t.Fatal(err)
	}
	keyFile, recipient := newIdentity(t)
	sealed := e.sealedS3("sealed", func(d *core.Destination) { d.Encrypt.KeyFile, d.Encrypt.Recipient = keyFile, recipient })
	if err := e.cat.SetConfiguration(e.ctx, core.Configuration{Service: "prod", Destination: "sealed", Primary: true}); err != nil {
		t.Fatal(err)
	}
	b, _, err := e.engine.Upload(e.ctx, core.UploadRequest{Path: zipPath, Service: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawObject(t, sealed, b.Key)
	if b.Encryption != "age:"+recipient || !bytes.HasPrefix(raw, []byte("age-encryption.org/v1")) || int64(len(raw)) != b.Size {
		t.Fatalf("upload to an encrypted primary: %+v", b)
	}
	res, err := e.engine.RestoreNewDB(e.ctx, core.RestoreRequest{BackupID: b.ID, NewDB: e.odoo.Name + "_up"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := source.Diff(e.print(res.Database, res.FilestoreDir)); len(diff) > 0 {
		t.Fatalf("restored upload differs:\n%s", diff)
	}
}
