package core

// Encrypted pools.
//
// On an encrypting destination a service's pool has a key: a random 32-byte
// name key and an age X25519 identity of its own. Each pool object is the
// file's deflate stream age-encrypted to that identity's recipient, and is
// named by pool.ID(sha256, nameKey), the HMAC of the content's digest, so
// the bucket shows neither content nor any hash of it; the file list is
// encrypted the same way. The key itself is stored on the destination as
// pool.NameKeyKey(service, id), age-encrypted to the destination's
// recipients (its X25519 recipient or its passphrase): whoever holds the
// destination's identity recovers it, and every backup records the id of
// its key (PoolFacts.Key), so a catalog rebuilt from the destination reads
// the pool backups as they were.
//
// The objects are not encrypted to the destination's recipients directly:
// with a passphrase that would be one scrypt derivation (about a second and
// 256 MB) for every object written and read. With the pool's own identity
// a passphrase costs one derivation per backup, as for an archive.
//
// The writer needs the name key to name objects and the last file list to
// skip unchanged files. With the destination's identity on this host (a key
// file or a passphrase) it reads both from the destination. When only the
// recipient is known, it cannot decrypt either, so it keeps them in a local
// cache beside the catalog (Engine.PoolCacheDir, mode 0700, files 0600):
// the name key, the pool's recipient and the plaintext list of the last
// backup. Without that cache the writer starts a new key, and the next
// backup stores every file again once.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// poolKey is the key of one service's pool on an encrypting destination.
type poolKey struct {
	id        string
	nameKey   []byte
	recipient *age.X25519Recipient
	// identity is nil when the writer knows the key from its local cache
	// only (the destination's identity is off this host).
	identity *age.X25519Identity
}

const (
	nameKeyLine = "name-key: "
	// maxPoolKeyBytes bounds a key object: a few lines.
	maxPoolKeyBytes = 16 << 10
)

func newPoolKey() (*poolKey, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	k := &poolKey{nameKey: make([]byte, 32), recipient: id.Recipient(), identity: id}
	raw := make([]byte, 8)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	if _, err := rand.Read(k.nameKey); err != nil {
		return nil, err
	}
	k.id = hex.EncodeToString(raw)
	return k, nil
}

// marshal is the plaintext of the key object: text, so that with age and
// the destination's identity a person can read a pool by hand.
func (k *poolKey) marshal() []byte {
	return fmt.Appendf(nil, "# pool key %s, written by odoo-backup: the name key of the pool objects and the identity they are encrypted to\n%s%x\n%s\n",
		k.id, nameKeyLine, k.nameKey, k.identity)
}

func parsePoolKey(id string, data []byte) (*poolKey, error) {
	k := &poolKey{id: id}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, nameKeyLine):
			nk, err := hex.DecodeString(strings.TrimPrefix(line, nameKeyLine))
			if err != nil || len(nk) != 32 {
				return nil, errors.New("its name key is not 32 bytes of hex")
			}
			k.nameKey = nk
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err := age.ParseX25519Identity(line)
			if err != nil {
				return nil, errors.New("its identity is not an age X25519 identity")
			}
			k.identity, k.recipient = id, id.Recipient()
		}
	}
	if k.nameKey == nil || k.identity == nil {
		return nil, errors.New("it lacks the name key or the identity")
	}
	return k, nil
}

// seal encrypts plain to the pool's recipient.
func (k *poolKey) seal(plain []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(plain) + 256 + 16*(len(plain)/(64<<10)+1))
	w, err := age.Encrypt(&out, k.recipient)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// nameKey is the sink's name key: nil on a plain destination.
func (s *poolSink) nameKey() []byte {
	if s.key == nil {
		return nil
	}
	return s.key.nameKey
}

// sealObject is what the sink stores for an object's deflate stream or a
// file list: the bytes themselves on a plain destination, else encrypted
// to the pool's key. A sink of an encrypting destination without a key
// stores nothing.
func (s *poolSink) sealObject(plain []byte) ([]byte, error) {
	if s.key == nil {
		if s.t.dest.Encrypted() {
			return nil, fmt.Errorf("the pool of service %s on %s has no key, so nothing is stored in it", s.service, s.t.dest.Name)
		}
		return plain, nil
	}
	sealed, err := s.key.seal(plain)
	if err != nil {
		return nil, fmt.Errorf("encrypt for the pool of %s: %w", s.t.dest.Name, err)
	}
	return sealed, nil
}

// sealStream is what the sink stores for an object's deflate stream read
// from r: r itself on a plain destination, else its encryption to the
// pool's key. A sink of an encrypting destination without a key stores
// nothing.
func (s *poolSink) sealStream(r io.Reader) (io.Reader, error) {
	if s.key == nil {
		if s.t.dest.Encrypted() {
			return nil, fmt.Errorf("the pool of service %s on %s has no key, so nothing is stored in it", s.service, s.t.dest.Name)
		}
		return r, nil
	}
	sealed, err := age.EncryptReader(r, s.key.recipient)
	if err != nil {
		return nil, fmt.Errorf("encrypt for the pool of %s: %w", s.t.dest.Name, err)
	}
	return sealed, nil
}

// plainPool reports whether copies and uploads store their filestore in
// d's pool: only where it does not encrypt. Into an encrypted pool they
// store one zip, as the zip layout does (their pool writer has no pool
// keys yet).
func (d Destination) plainPool() bool { return d.usesPool() && !d.Encrypted() }

// storedDeflated is the deflate stream's size of an object this backup did
// not write: its stored size on a plain destination; on an encrypting one
// what age's format leaves of the ciphertext once its header (read from
// the object), nonce and per-chunk tags are taken off. That is exact
// without the identity, which a writer may not have; the content itself is
// authenticated when it is read.
func (s *poolSink) storedDeflated(ctx context.Context, key string, stored int64) (int64, error) {
	if s.key == nil {
		return stored, nil
	}
	body, err := s.t.store.Get(ctx, key, 0, maxHeaderBytes)
	if err != nil {
		return 0, fmt.Errorf("read the pool object %s on %s: %w", key, s.t.dest.Name, err)
	}
	defer body.Close()
	header, err := age.ExtractHeader(bufio.NewReaderSize(body, 4096))
	var n int64
	if err == nil {
		n, err = agePlainSize(stored - int64(len(header)))
	}
	if err != nil {
		return 0, Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "the pool object %s on %q is damaged (%v); it is never replaced, so remove it for the next backup to store it again", key, s.t.dest.Name, err)
	}
	return n, nil
}

// agePlainSize is the plaintext size of an age payload (nonce and chunks)
// of n bytes: 64 KiB chunks, each with a 16-byte tag, the last one partial
// (empty only for empty plaintext).
func agePlainSize(n int64) (int64, error) {
	const nonce, chunk, tag = 16, 64 << 10, 16
	n -= nonce
	if n < tag {
		return 0, fmt.Errorf("its age payload is %d bytes, too short", n+nonce)
	}
	chunks := (n + chunk + tag - 1) / (chunk + tag)
	plain := n - chunks*tag
	want := (plain + chunk - 1) / chunk
	if plain == 0 {
		want = 1
	}
	if want != chunks {
		return 0, fmt.Errorf("its age payload of %d bytes is not whole chunks", n+nonce)
	}
	return plain, nil
}

// readPoolKey reads and decrypts the pool key id of service on st with the
// destination's identities. An error reading the store comes out as it is;
// one decrypting or parsing the key wraps ErrCorrupt (and
// age.NoIdentityMatchError for a key of other identities).
func readPoolKey(ctx context.Context, st ObjectStore, service, id string, ids []age.Identity) (*poolKey, error) {
	body, err := st.Get(ctx, pool.NameKeyKey(service, id), 0, -1)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	src := &readTrap{r: io.LimitReader(body, maxPoolKeyBytes)}
	pr, err := age.Decrypt(src, ids...)
	if err == nil {
		var plain []byte
		if plain, err = io.ReadAll(io.LimitReader(pr, maxPoolKeyBytes)); err == nil {
			var k *poolKey
			if k, err = parsePoolKey(id, plain); err == nil {
				return k, nil
			}
		}
	}
	if src.err != nil {
		return nil, src.err
	}
	return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// writerPoolKey is the pool key a backup to the encrypting pool target t
// names and encrypts its objects with: the key of the last backup there,
// read from the destination when its identity is on this host, or from the
// local cache when only its recipient is; else a new key, stored on the
// destination before any object refers to it.
func (e *Engine) writerPoolKey(ctx context.Context, t *target) (*poolKey, error) {
	d, service := t.dest, t.b.Service
	onHost := d.Encrypt.KeyFile != "" || d.Encrypt.Passphrase.IsSet()
	if onHost {
		prev, err := e.Catalog.Backups(ctx, BackupFilter{Service: service, Destination: d.Name, Status: StatusSucceeded, Limit: 20})
		if err != nil {
			return nil, err
		}
		for _, b := range prev {
			if b.Format != FormatOdooPool || b.Pool == nil || !pool.ValidKeyID(b.Pool.Key) || b.Encryption != d.Encryption() {
				continue
			}
			ids, _, err := backupIdentities(readableBackup{b: b, dest: d, store: t.store}, "")
			if err != nil {
				return nil, err
			}
			k, err := readPoolKey(ctx, t.store, service, b.Pool.Key, ids)
			if err == nil {
				return k, nil
			}
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
				return nil, fmt.Errorf("read the key of the pool of %s on %s: %w", service, d.Name, err)
			}
			e.log().Warn("the key of the pool cannot be recovered; this backup starts a new key and stores every file again", "service", service, "destination", d.Name, "key", b.Pool.Key, "error", err)
			break
		}
	} else if c, ok := e.readPoolCache(d, service, t.store); ok {
		k, err := c.key()
		if err == nil {
			_, err = t.store.Stat(ctx, pool.NameKeyKey(service, k.id))
		}
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("look for the key of the pool of %s on %s: %w", service, d.Name, err)
		}
		e.log().Warn("the pool key of the local cache is not on the destination; this backup starts a new key and stores every file again", "service", service, "destination", d.Name, "key", c.KeyID)
	} else {
		e.log().Info("no local copy of the pool key (the destination's identity is off this host); this backup starts a new key and stores every file", "service", service, "destination", d.Name)
	}
	k, err := newPoolKey()
	if err != nil {
		return nil, err
	}
	sealed, err := sealReader(bytes.NewReader(k.marshal()), d)
	if err != nil {
		return nil, err
	}
	if err := t.store.Put(ctx, pool.NameKeyKey(service, k.id), sealed); err != nil {
		return nil, fmt.Errorf("store the key of the pool of %s on %s: %w", service, d.Name, err)
	}
	if !onHost {
		if err := e.writePoolCache(d, service, t.store, poolCache{KeyID: k.id, NameKey: hex.EncodeToString(k.nameKey), Recipient: k.recipient.String()}, nil); err != nil {
			e.log().Warn("cannot keep the pool key in the local cache; the next backup stores every file again", "service", service, "destination", d.Name, "error", err)
		}
		// The writer needs the recipient only.
		k.identity = nil
	}
	return k, nil
}

// backupPoolKey recovers the identity the pool objects and file list of the
// encrypted pool backup rb are encrypted to, with the destination's
// identities ids.
func (e *Engine) backupPoolKey(ctx context.Context, rb readableBackup, ids []age.Identity) (age.Identity, error) {
	b := rb.b
	if b.Pool == nil || !pool.ValidKeyID(b.Pool.Key) {
		return nil, Userf(ErrCorrupt, "backup %d is recorded as encrypted but names no key for its filestore pool; pick another backup", b.ID)
	}
	k, err := readPoolKey(ctx, rb.store, b.Service, b.Pool.Key, ids)
	var nomatch *age.NoIdentityMatchError
	switch {
	case err == nil:
		return k.identity, nil
	case errors.Is(err, ErrNotFound):
		return nil, Userf(err, "backup %d is incomplete: the key of its filestore pool (%s) is missing from destination %q; pick another backup", b.ID, pool.NameKeyKey(b.Service, b.Pool.Key), rb.dest.Name)
	case errors.As(err, &nomatch) && b.Encryption == EncryptionPassphrase:
		return nil, Userf(fmt.Errorf("%w: %w", ErrAccessDenied, err), "backup %d is encrypted with a passphrase and the passphrase of destination %q does not decrypt the key of its filestore pool; it was encrypted with an earlier passphrase", b.ID, rb.dest.Name)
	case errors.As(err, &nomatch):
		return nil, rb.decryptError(nomatch)
	case errors.Is(err, ErrCorrupt):
		return nil, Userf(err, "the key of the filestore pool of backup %d on %q cannot be read (%v); pick another backup", b.ID, rb.dest.Name, strings.TrimPrefix(err.Error(), ErrCorrupt.Error()+": "))
	}
	return nil, fmt.Errorf("read the key of the filestore pool of backup %d from %s: %w", b.ID, rb.dest.Name, err)
}

// poolIdentity is rb.poolKey, or for a backup opened without it (a reader
// that did not unlock it) the key recovered with the identity this host
// keeps for its destination.
func (e *Engine) poolIdentity(ctx context.Context, rb readableBackup) (age.Identity, error) {
	if rb.poolKey != nil {
		return rb.poolKey, nil
	}
	ids, _, err := backupIdentities(rb, "")
	if err != nil {
		return nil, err
	}
	return e.backupPoolKey(ctx, rb, ids)
}

// openSealedList decrypts the stored file list data of the encrypted pool
// backup rb; the stored bytes were checked against their checksum before.
func (e *Engine) openSealedList(ctx context.Context, rb readableBackup, data []byte) ([]byte, error) {
	key, err := e.poolIdentity(ctx, rb)
	if err != nil {
		return nil, err
	}
	pr, err := age.Decrypt(bytes.NewReader(data), key)
	var plain []byte
	if err == nil {
		plain, err = io.ReadAll(io.LimitReader(pr, maxListBytes))
	}
	if err != nil {
		return nil, Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "backup %d is corrupt: its file list on %q does not decrypt with the key of its filestore pool (%v); pick another backup", rb.b.ID, rb.dest.Name, err)
	}
	return plain, nil
}

// openSealedObject decrypts the pool object of en of the encrypted backup
// rb as body streams it.
func openSealedObject(rb readableBackup, en pool.Entry, body io.Reader) (io.Reader, error) {
	if rb.poolKey == nil {
		return nil, fmt.Errorf("backup %d is encrypted but was opened without the key of its filestore pool", rb.b.ID)
	}
	src := &readTrap{r: body}
	pr, err := age.Decrypt(src, rb.poolKey)
	switch {
	case src.err != nil:
		return nil, src.err
	case err != nil:
		return nil, Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "backup %d is corrupt on %q: the pool object %s of filestore file %s does not decrypt (%v); pick another backup", rb.b.ID, rb.dest.Name, en.Object, en.Name, err)
	}
	return pr, nil
}

// poolCache is what the local cache keeps of the pool of one service on a
// destination whose identity is off this host.
type poolCache struct {
	// Store and Encryption say which bucket (or directory) and which
	// recipient it belongs to: the cache of a destination that changed
	// either is not used.
	Store      string `json:"store"`
	Encryption string `json:"encryption"`
	KeyID      string `json:"key_id"`
	NameKey    string `json:"name_key"`
	Recipient  string `json:"recipient"`
	// Backup is the last backup whose file list is cached beside, with
	// the list's stored checksum, so it is used only while that backup
	// is a succeeded backup of the catalog.
	Backup     int64  `json:"backup,omitempty"`
	ListSHA256 string `json:"list_sha256,omitempty"`
}

func (c poolCache) key() (*poolKey, error) {
	nk, err := hex.DecodeString(c.NameKey)
	if err != nil || len(nk) != 32 || !pool.ValidKeyID(c.KeyID) {
		return nil, errors.New("the cached pool key is damaged")
	}
	r, err := age.ParseX25519Recipient(c.Recipient)
	if err != nil {
		return nil, fmt.Errorf("the cached pool recipient is damaged: %w", err)
	}
	return &poolKey{id: c.KeyID, nameKey: nk, recipient: r}, nil
}

func (e *Engine) poolCachePaths(d Destination, service string) (entry, list string) {
	dir := filepath.Join(e.PoolCacheDir, d.Name)
	return filepath.Join(dir, service+".json"), filepath.Join(dir, service+".files")
}

// readPoolCache reads the cache of the pool of service on d, when there is
// one for this very bucket and recipient.
func (e *Engine) readPoolCache(d Destination, service string, st ObjectStore) (poolCache, bool) {
	var c poolCache
	if e.PoolCacheDir == "" {
		return c, false
	}
	entry, _ := e.poolCachePaths(d, service)
	raw, err := os.ReadFile(entry)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			e.log().Warn("cannot read the local cache of the pool key", "path", entry, "error", err)
		}
		return c, false
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		e.log().Warn("the local cache of the pool key is damaged", "path", entry, "error", err)
		return c, false
	}
	return c, c.Store == st.String() && c.Encryption == d.Encryption()
}

// writePoolCache writes the cache of the pool of service on d, and the
// plaintext file list when list is not nil, each atomically.
func (e *Engine) writePoolCache(d Destination, service string, st ObjectStore, c poolCache, list []byte) error {
	if e.PoolCacheDir == "" {
		return nil
	}
	entry, listPath := e.poolCachePaths(d, service)
	if err := os.MkdirAll(filepath.Dir(entry), 0o700); err != nil {
		return err
	}
	for _, dir := range []string{e.PoolCacheDir, filepath.Dir(entry)} {
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	if list != nil {
		if err := writeFileAtomic(listPath, list); err != nil {
			return err
		}
	}
	c.Store, c.Encryption = st.String(), d.Encryption()
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(entry, raw)
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err = f.Chmod(0o600); err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// cachedBase fills the base of a sink whose key came from the local cache
// with the cached list of the last backup, while that backup is a
// succeeded backup of the catalog with that very list.
func (e *Engine) cachedBase(ctx context.Context, s *poolSink) {
	c, ok := e.readPoolCache(s.t.dest, s.service, s.t.store)
	if !ok || c.Backup == 0 || c.KeyID != s.key.id {
		return
	}
	b, err := e.Catalog.Backup(ctx, c.Backup)
	if err != nil || b.Status != StatusSucceeded || b.Pool == nil || b.Pool.Key != c.KeyID || b.Pool.ListSHA256 != c.ListSHA256 || b.Destination != s.t.dest.Name {
		return
	}
	_, listPath := e.poolCachePaths(s.t.dest, s.service)
	raw, err := os.ReadFile(listPath)
	if err != nil {
		e.log().Warn("cannot read the cached file list; every file is read again", "path", listPath, "error", err)
		return
	}
	_, entries, err := pool.ReadList(bytes.NewReader(raw))
	if err != nil {
		e.log().Warn("the cached file list is damaged; every file is read again", "path", listPath, "error", err)
		return
	}
	for _, en := range entries {
		s.base[en.Name] = en
	}
}

// rememberPool keeps the file list of the succeeded backup of t in the
// local cache, when its pool key came from there.
func (e *Engine) rememberPool(t *target) {
	s := t.sink
	if s == nil || s.key == nil || s.key.identity != nil || s.plainList == nil {
		return
	}
	c := poolCache{KeyID: s.key.id, NameKey: hex.EncodeToString(s.key.nameKey), Recipient: s.key.recipient.String(), Backup: t.b.ID, ListSHA256: s.facts.ListSHA256}
	if err := e.writePoolCache(t.dest, s.service, t.store, c, s.plainList); err != nil {
		e.log().Warn("cannot keep the file list in the local cache; the next backup reads every file again", "service", s.service, "destination", t.dest.Name, "error", err)
	}
}

// sweepIdentities are the identities that open the file lists of the
// encrypted pool of service on d, for a sweep: every pool key among
// others (the objects under the service's folder) that the destination's
// key on this host opens; nil for a plain destination. A key it does not
// open (an earlier passphrase) is passed over: the lists under it then
// cannot be read, and the sweep stops before removing anything.
func (e *Engine) sweepIdentities(ctx context.Context, st ObjectStore, d Destination, service string, others map[string]ObjectInfo) ([]age.Identity, error) {
	if !d.Encrypted() {
		return nil, nil
	}
	var ids []age.Identity
	switch {
	case d.Encrypt.Passphrase.IsSet():
		pw, err := d.Encrypt.Passphrase.Resolve(fmt.Sprintf("the encryption passphrase of destination %q", d.Name))
		if err != nil {
			return nil, err
		}
		id, err := age.NewScryptIdentity(pw.Reveal())
		if err != nil {
			return nil, err
		}
		ids = []age.Identity{id}
	case d.Encrypt.KeyFile != "":
		var err error
		if ids, err = ReadIdentityFile(d.Encrypt.KeyFile); err != nil {
			return nil, err
		}
	default:
		return nil, Userf(ErrAccessDenied, "the pool of %s on %q is encrypted to %s and this host keeps no key for it, so it was not swept (which objects its backups refer to can be read only with that identity); its unreferenced objects stay until a host that keeps the destination's key sweeps it", service, d.Name, d.Encrypt.Recipient)
	}
	out := []age.Identity{}
	prefix := pool.Prefix(service) + "name-key-"
	for key := range others {
		id, ok := strings.CutPrefix(key, prefix)
		id, ok2 := strings.CutSuffix(id, ".age")
		if !ok || !ok2 || !pool.ValidKeyID(id) {
			continue
		}
		k, err := readPoolKey(ctx, st, service, id, ids)
		var nomatch *age.NoIdentityMatchError
		switch {
		case err == nil:
			out = append(out, k.identity)
		case errors.As(err, &nomatch), errors.Is(err, ErrNotFound):
		default:
			return nil, fmt.Errorf("read the pool key %s on %s: %w", key, d.Name, err)
		}
	}
	return out, nil
}
