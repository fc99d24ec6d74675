package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/odoo-backup/odoo-backup/core"
)

// Secrets at rest: S3 secret keys, PostgreSQL passwords and encryption
// passphrases are stored encrypted (AES-256-GCM) with a key kept in a file
// beside the catalog, so a copy of the catalog alone (a backup of /var, a
// file sent for support) gives none of them away. A stored value reads:
//
//	""            no secret
//	"enc1:" b64   nonce || ciphertext, the column's name as additional data
//	"ref1:" ref   a reference (env:VAR, file:/path), not secret itself
//	anything else a plain value written by an older odoo-backup; Open
//	              encrypts those
const (
	encPrefix = "enc1:"
	refPrefix = "ref1:"
	keySize   = 32
)

// KeyPath is the key file of the catalog at catalogPath: catalog.db keeps
// its key in catalog.key beside it.
func KeyPath(catalogPath string) string {
	p := strings.TrimSuffix(catalogPath, filepath.Ext(catalogPath)) + ".key"
	if p == catalogPath {
		p += ".key"
	}
	return p
}

// WithKeyFile keeps the key that encrypts the catalog's secrets at path
// instead of beside the catalog.
func WithKeyFile(path string) Option {
	return func(c *Catalog) { c.keys.path = path }
}

// keyring loads the catalog key once, creating it only when a secret must
// be encrypted: reading never creates a key, so a missing key file is
// noticed instead of replaced.
type keyring struct {
	path string
	mu   sync.Mutex
	aead cipher.AEAD
}

func (k *keyring) get(create bool) (cipher.AEAD, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.aead != nil {
		return k.aead, nil
	}
	key, err := readKeyFile(k.path)
	if errors.Is(err, fs.ErrNotExist) && create {
		key, err = createKeyFile(k.path)
	}
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return k.aead, nil
}

// checkKeyFile refuses a key file others can read, as ssh refuses such a
// private key; a missing one is fine until a secret needs it.
func checkKeyFile(path string) error {
	_, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, core.Userf(fmt.Errorf("%w: %w", core.ErrAccessDenied, err), "cannot read the catalog key file %s (%v); run as the user that owns it", path, errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("check catalog key file %s: %w", path, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, core.Userf(core.ErrAccessDenied, "the catalog key file %s can be read by group or others (mode %04o), so it is not used; restrict it with: chmod 600 %s", path, perm, path)
	}
	key, err := io.ReadAll(io.LimitReader(f, keySize+1))
	if err != nil {
		return nil, fmt.Errorf("read catalog key file %s: %w", path, err)
	}
	if len(key) != keySize || !fi.Mode().IsRegular() {
		return nil, core.Userf(core.ErrCorrupt, "the catalog key file %s is not a key (%d bytes, want %d); restore it from where you keep a copy, or move it away and enter the secrets again", path, len(key), keySize)
	}
	return key, nil
}

// createKeyFile writes a new random key, owner-only, and links it into
// place so that two processes creating it at once end up sharing one.
func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return writeKeyFile(path, key)
}

// writeKeyFile writes key at path, owner-only, never over an existing file:
// it is linked into place, and when another process linked one first, that
// one is returned.
func writeKeyFile(path string, key []byte) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create catalog key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create catalog key file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create catalog key file %s: %w", path, err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create catalog key file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create catalog key file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("create catalog key file %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("create catalog key file %s: %w", path, err)
	}
	return key, nil
}

// secretColumn names a secret for the ciphertext's additional data (a
// value moved to another column does not decrypt) and for messages.
type secretColumn struct {
	column string      // e.g. destinations.secret_key
	what   string      // e.g. `the secret key of destination "s3"`
	again  core.Advice // how to enter it again
}

func destinationSecret(name string) secretColumn {
	return secretColumn{"destinations.secret_key", fmt.Sprintf("the secret key of destination %q", name),
		core.Advice{Action: core.ActionEnterSecretKey, Destination: name}}
}

func destinationPassphrase(name string) secretColumn {
	return secretColumn{"destinations.encrypt_passphrase", fmt.Sprintf("the encryption passphrase of destination %q", name),
		core.Advice{Action: core.ActionReAddDestination, Destination: name}}
}

func servicePassword(name string) secretColumn {
	return secretColumn{"services.db_password", fmt.Sprintf("the PostgreSQL password of service %q", name),
		core.Advice{Action: core.ActionEnterPassword, Service: name}}
}

// seal turns a secret into what is stored. keep is true for a secret that
// could not be read when it was loaded: the caller leaves the stored value
// as it is instead of writing anything.
func (c *Catalog) seal(col secretColumn, s core.Secret) (stored string, keep bool, err error) {
	if _, unreadable := s.Unreadable(); unreadable {
		return "", true, nil
	}
	if ref := s.Ref(); ref != "" {
		return refPrefix + ref, false, nil
	}
	if !s.IsSet() {
		return "", false, nil
	}
	aead, err := c.sealingKey(col)
	if err != nil {
		return "", false, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(s.Reveal())+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", false, err
	}
	sealed := aead.Seal(nonce, nonce, []byte(s.Reveal()), []byte(col.column))
	return encPrefix + base64.StdEncoding.EncodeToString(sealed), false, nil
}

// noKeySentence says that this host lacks the key of a catalog shared by a
// fleet, whose other hosts have it.
func (c *Catalog) noKeySentence() string {
	return fmt.Sprintf("this host has no key for the catalog's secrets at %s", c.keys.path)
}

// sealingKey is the key that seals a new secret, created when the catalog
// has none yet. A shared catalog whose secrets are already sealed has a
// key, on the hosts that installed it: a host without it must not create
// another, which would seal this secret where no other host can read it.
func (c *Catalog) sealingKey(col secretColumn) (cipher.AEAD, error) {
	aead, err := c.keys.get(false)
	if !errors.Is(err, fs.ErrNotExist) {
		return aead, err
	}
	if c.db.pg {
		sealed, err := c.hasSealedSecrets(context.Background(), c.db)
		if err != nil {
			return nil, err
		}
		if sealed {
			return nil, core.Advise(core.Advice{Action: core.ActionInstallCatalogKey}, core.ErrAccessDenied,
				"%s cannot be stored: %s", col.what, c.noKeySentence())
		}
	}
	return c.keys.get(true)
}

// hasSealedSecrets reports whether the catalog holds any secret sealed
// with its key.
func (c *Catalog) hasSealedSecrets(ctx context.Context, q queryer) (bool, error) {
	sealed := func(col string) string { return "substr(" + col + ", 1, 5) = '" + encPrefix + "'" }
	var n int
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM destinations WHERE `+sealed("secret_key")+` OR `+sealed("encrypt_passphrase")+`)
		+ (SELECT COUNT(*) FROM services WHERE `+sealed("db_password")+`)
		+ (SELECT COUNT(*) FROM configurations WHERE `+sealed("ping_url")+`)
		+ (SELECT COUNT(*) FROM notify_channels WHERE `+sealed("url")+`)`).Scan(&n)
	if err != nil {
		return false, c.dbError("check stored secrets", err)
	}
	return n > 0, nil
}

// ExportKey writes a copy of the catalog key at keyPath to out, readable
// by its owner only, for another host of the fleet. An existing out is
// never written over.
func ExportKey(keyPath, out string) error {
	key, err := readKeyFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return core.Userf(core.ErrNotFound, "this host has no catalog key at %s to copy; copy it from a host that reads the catalog's secrets", keyPath)
	}
	if err != nil {
		return err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return core.Userf(core.ErrExists, "%s already exists and a key is never written over a file; choose another file", out)
	}
	if err != nil {
		return core.Userf(err, "cannot write the key to %s (%v); choose a file in a directory you can write", out, errors.Unwrap(err))
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(out)
		return fmt.Errorf("write the catalog key to %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(out)
		return fmt.Errorf("write the catalog key to %s: %w", out, err)
	}
	return nil
}

// InstallKey installs the key in the file from as the catalog key at
// keyPath, owner-only. installed is false when keyPath already holds that
// same key. A file that is not a key, one others can read, or a different
// key already at keyPath (the secrets it sealed would become unreadable) is
// refused.
func InstallKey(from, keyPath string) (installed bool, err error) {
	key, err := readInstallKey(from)
	if err != nil {
		return false, err
	}
	have, err := readKeyFile(keyPath)
	switch {
	case err == nil && string(have) == string(key):
		return false, nil
	case err == nil:
		return false, core.Userf(core.ErrExists, "this host already has another catalog key at %s, which is kept: the secrets it sealed would become unreadable; move it away first if it is not the fleet's key", keyPath)
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	got, err := writeKeyFile(keyPath, key)
	if err != nil {
		return false, err
	}
	if string(got) != string(key) {
		return false, core.Userf(core.ErrExists, "another catalog key appeared at %s meanwhile and is kept; move it away first if it is not the fleet's key", keyPath)
	}
	return true, nil
}

// CheckKeyFile checks that the file from holds a catalog key, readable by
// its owner only, as InstallKey does before installing it.
func CheckKeyFile(from string) error {
	_, err := readInstallKey(from)
	return err
}

func readInstallKey(from string) ([]byte, error) {
	f, err := os.Open(from)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, core.Userf(core.ErrNotFound, "the key file %s does not exist; copy the fleet's catalog key to this host first", from)
	}
	if err != nil {
		return nil, core.Userf(core.ErrAccessDenied, "cannot read the key file %s (%v); run as the user that owns it", from, errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("check key file %s: %w", from, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, core.Userf(core.ErrInvalid, "%s is not a regular file; give the file holding the fleet's catalog key", from)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, core.Userf(core.ErrAccessDenied, "the key file %s can be read by group or others (mode %04o), so the key may no longer be secret; restrict it with: chmod 600 %s, and check who could read it", from, perm, from)
	}
	key, err := io.ReadAll(io.LimitReader(f, keySize+1))
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", from, err)
	}
	if len(key) != keySize {
		return nil, core.Userf(core.ErrInvalid, "%s is not a catalog key (%d bytes, want %d); give the file copied from a host that reads the catalog's secrets", from, len(key), keySize)
	}
	return key, nil
}

// UnreadableSecret is why the first sealed secret of the catalog that this
// host's key does not open cannot be read, or "" when every one opens.
func (c *Catalog) UnreadableSecret(ctx context.Context) (string, error) {
	rows, err := c.db.QueryContext(ctx, sealedSecretRows(true))
	if err != nil {
		return "", c.dbError("check stored secrets", err)
	}
	defer rows.Close()
	for rows.Next() {
		var column, name, stored string
		if err := rows.Scan(&column, &name, &stored); err != nil {
			return "", c.dbError("check stored secrets", err)
		}
		if reason, bad := c.open(sealedColumn(column, name), stored).Unreadable(); bad {
			return reason, nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", c.dbError("check stored secrets", err)
	}
	return "", nil
}

// sealedSecretRows selects the column (table.column), row name and
// stored value of every sealed secret, for sealedColumn; channels false
// leaves out the notification channels' URLs (a migration does not copy
// them).
func sealedSecretRows(channels bool) string {
	sealed := func(col string) string { return "substr(" + col + ", 1, 5) = '" + encPrefix + "'" }
	q := `SELECT 'destinations.secret_key', name, secret_key FROM destinations WHERE ` + sealed("secret_key") + `
		UNION ALL SELECT 'destinations.encrypt_passphrase', name, encrypt_passphrase FROM destinations WHERE ` + sealed("encrypt_passphrase") + `
		UNION ALL SELECT 'services.db_password', name, db_password FROM services WHERE ` + sealed("db_password") + `
		UNION ALL SELECT 'configurations.ping_url', s.name || '/' || d.name, c.ping_url FROM configurations c
			JOIN services s ON s.id = c.service_id JOIN destinations d ON d.id = c.destination_id WHERE ` + sealed("c.ping_url")
	if channels {
		q += `
		UNION ALL SELECT 'notify_channels.url', name, url FROM notify_channels WHERE ` + sealed("url")
	}
	return q
}

// sealedColumn is the secret column named column (table.column) of the row
// name ("service/destination" for a configuration).
func sealedColumn(column, name string) secretColumn {
	switch column {
	case "destinations.secret_key":
		return destinationSecret(name)
	case "destinations.encrypt_passphrase":
		return destinationPassphrase(name)
	case "configurations.ping_url":
		service, destination, _ := strings.Cut(name, "/")
		return pingURL(service, destination)
	case "notify_channels.url":
		return notifyChannelURL(name)
	}
	return servicePassword(name)
}

// open turns a stored value back into a secret. One that cannot be
// decrypted becomes an unreadable secret, so that listing destinations and
// services still works and only using that secret fails, saying why.
func (c *Catalog) open(col secretColumn, stored string) core.Secret {
	switch {
	case stored == "":
		return ""
	case c.db.hide && stored == hiddenSecret:
		return c.hidden(col)
	case strings.HasPrefix(stored, refPrefix):
		s, err := core.SecretRef(strings.TrimPrefix(stored, refPrefix))
		if err != nil {
			return core.UnreadableSecret(fmt.Sprintf("%s is a reference this version does not understand", col.what), col.again)
		}
		return s
	case !strings.HasPrefix(stored, encPrefix):
		return core.Secret(stored)
	}
	aead, err := c.keys.get(false)
	if errors.Is(err, fs.ErrNotExist) && c.db.pg {
		return core.UnreadableSecret(fmt.Sprintf("%s cannot be decrypted: %s", col.what, c.noKeySentence()), core.Advice{Action: core.ActionInstallCatalogKey})
	}
	if errors.Is(err, fs.ErrNotExist) {
		return core.UnreadableSecret(fmt.Sprintf("%s cannot be decrypted because the catalog key file %s is missing; put the key file back, or enter the secret again", col.what, c.keys.path), col.again)
	}
	if err != nil {
		var ue *core.UserError
		if errors.As(err, &ue) {
			return core.UnreadableSecret(fmt.Sprintf("%s cannot be decrypted: %s", col.what, ue.Msg), core.Advice{})
		}
		return core.UnreadableSecret(fmt.Sprintf("%s cannot be decrypted (%v)", col.what, err), col.again)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(stored, encPrefix))
	if err == nil && len(raw) < aead.NonceSize() {
		err = errors.New("too short")
	}
	var plain []byte
	if err == nil {
		plain, err = aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(col.column))
	}
	if err != nil && c.db.pg {
		return core.UnreadableSecret(fmt.Sprintf("%s cannot be decrypted with this host's catalog key %s, which is not the key it was stored with (another fleet's key?)", col.what, c.keys.path),
			core.Advice{Action: core.ActionReplaceCatalogKey})
	}
	if err != nil {
		return core.UnreadableSecret(fmt.Sprintf("%s cannot be decrypted with the catalog key file %s, which is not the key it was stored with; put the right key file back, or enter the secret again", col.what, c.keys.path), col.again)
	}
	return core.Secret(plain)
}

// encryptPlaintext encrypts the secrets an older odoo-backup stored in
// plain text, once, when the catalog is opened. secure_delete and the
// checkpoint keep the old values from lingering in free pages or the WAL.
func (c *Catalog) encryptPlaintext(ctx context.Context) error {
	// Every secret column exists from schema 5 on; tests of older schemas
	// open catalogs that stop before it.
	if len(migrations) < 5 {
		return nil
	}
	// Only who may change destinations and services may seal their
	// secrets; the owner does it when it opens the catalog.
	if c.db.pg && !c.who.role.Allows(core.RoleAdmin) {
		return nil
	}
	plain := func(col string) string {
		return "(" + col + " <> '' AND substr(" + col + ", 1, 5) NOT IN ('" + encPrefix + "', '" + refPrefix + "'))"
	}
	var n int
	err := c.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM destinations WHERE `+plain("secret_key")+` OR `+plain("encrypt_passphrase")+`)
		+ (SELECT COUNT(*) FROM services WHERE `+plain("db_password")+`)`).Scan(&n)
	if err != nil {
		return c.dbError("check stored secrets", err)
	}
	if n == 0 {
		return nil
	}
	err = c.write(ctx, "encrypt stored secrets", func(tx *txn) error {
		type row struct {
			id            int64
			name, a, b    string
			isDestination bool
		}
		var todo []row
		rows, err := tx.QueryContext(ctx, `SELECT id, name, secret_key, encrypt_passphrase, 1 FROM destinations
			UNION ALL SELECT id, name, db_password, '', 0 FROM services`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.name, &r.a, &r.b, &r.isDestination); err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		reseal := func(col secretColumn, stored string) (string, error) {
			if stored == "" || strings.HasPrefix(stored, encPrefix) || strings.HasPrefix(stored, refPrefix) {
				return stored, nil
			}
			v, _, err := c.seal(col, core.Secret(stored))
			return v, err
		}
		for _, r := range todo {
			if r.isDestination {
				a, err := reseal(destinationSecret(r.name), r.a)
				if err != nil {
					return err
				}
				b, err := reseal(destinationPassphrase(r.name), r.b)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE destinations SET secret_key = ?, encrypt_passphrase = ? WHERE id = ?`, a, b, r.id); err != nil {
					return err
				}
				continue
			}
			a, err := reseal(servicePassword(r.name), r.a)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE services SET db_password = ? WHERE id = ?`, a, r.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c.db.pg {
		return nil
	}
	if _, err := c.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return c.dbError("encrypt stored secrets", err)
	}
	return nil
}
