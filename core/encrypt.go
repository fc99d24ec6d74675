package core

// Client-side encryption of archives with age (https://age-encryption.org).
//
// A destination set to encrypt stores every archive as an age file: to an
// X25519 recipient (the identity that decrypts it may live on this host, in a
// file, or be kept elsewhere), or with a passphrase (age's scrypt recipient).
// The archive is encrypted on its way to that destination only, so a backup
// sent to an encrypted and a plain destination at once is written once and
// stored as ciphertext on the first and as a plain zip on the second.
//
// Backup.Size and Backup.SHA256 of an encrypted backup describe the stored
// bytes, the ciphertext: the stored object can be checked, and a catalog
// rebuilt, without the key. The plaintext is authenticated on decryption by
// age's AEAD (every 64 KiB chunk, and the last chunk so truncation shows), and
// the zip's own CRCs are checked on top. Backup.Encryption records
// "age:<recipient>" or "age:passphrase", never a key.
//
// Decryption streams: a download or a database-only restore reads the
// ciphertext once, and a zip restore reads it with random access through
// age.DecryptReaderAt over ranged reads of the object. Nothing decrypted is
// ever written to a temporary file.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

const (
	// ActionGiveRecipient: what was given is not an age recipient.
	ActionGiveRecipient Action = "give-recipient"
	// ActionGiveKeyFile: the key file in Detail holds no usable identity.
	ActionGiveKeyFile Action = "give-key-file"
	// ActionGenerateKey: the key file in Detail holds an identity of a
	// kind backups cannot be encrypted to; generate a new one.
	ActionGenerateKey Action = "generate-key"
	// ActionGiveIdentity: Backup is encrypted to Recipient and no identity
	// of that recipient was at hand; give its identity file.
	ActionGiveIdentity Action = "give-identity"
)

const (
	encryptionAge = "age:"
	// EncryptionPassphrase is Backup.Encryption of a backup encrypted with
	// its destination's passphrase.
	EncryptionPassphrase = "age:passphrase"
)

// Encrypted reports whether the destination encrypts the archives it stores.
func (d Destination) Encrypted() bool {
	return d.Encrypt.Recipient != "" || d.Encrypt.Passphrase.IsSet()
}

// Encryption is what Backup.Encryption says of the archives the destination
// stores from now on: "", "age:<recipient>" or "age:passphrase".
func (d Destination) Encryption() string {
	switch {
	case d.Encrypt.Passphrase.IsSet():
		return EncryptionPassphrase
	case d.Encrypt.Recipient != "":
		return encryptionAge + d.Encrypt.Recipient
	}
	return ""
}

// ParseRecipient parses one age recipient (age1...).
func ParseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "age1") {
		return nil, Advise(Advice{Action: ActionGiveRecipient}, ErrInvalid, "%q is not an age recipient (those start with age1)", s)
	}
	rs, err := age.ParseRecipients(strings.NewReader(s))
	if err != nil || len(rs) != 1 {
		return nil, Advise(Advice{Action: ActionGiveRecipient}, ErrInvalid, "%q is not a valid age recipient", s)
	}
	return rs[0], nil
}

// destinationRecipients are the age recipients a destination's archives are
// encrypted to; none when it does not encrypt.
func destinationRecipients(d Destination) ([]age.Recipient, error) {
	switch {
	case d.Encrypt.Passphrase.IsSet() && d.Encrypt.Recipient != "":
		return nil, Userf(ErrInvalid, "destination %q is set to encrypt both to a recipient and with a passphrase; keep only one", d.Name)
	case d.Encrypt.Passphrase.IsSet():
		pw, err := d.Encrypt.Passphrase.Resolve(fmt.Sprintf("the encryption passphrase of destination %q", d.Name))
		if err != nil {
			return nil, err
		}
		r, err := age.NewScryptRecipient(pw.Reveal())
		if err != nil {
			return nil, Userf(ErrInvalid, "the encryption passphrase of destination %q cannot be used: %v", d.Name, err)
		}
		return []age.Recipient{r}, nil
	case d.Encrypt.Recipient != "":
		r, err := ParseRecipient(d.Encrypt.Recipient)
		if err != nil {
			return nil, err
		}
		return []age.Recipient{r}, nil
	}
	return nil, nil
}

// sealer is one destination's branch of an archive stream: it encrypts what
// is written and passes the ciphertext on, measuring what is stored.
type sealer struct {
	w    io.WriteCloser
	hash hash.Hash
	size sizeCounter
}

func newSealer(dst io.Writer, recipients []age.Recipient) (*sealer, error) {
	s := &sealer{hash: sha256.New()}
	w, err := age.Encrypt(io.MultiWriter(dst, s.hash, &s.size), recipients...)
	if err != nil {
		return nil, fmt.Errorf("start encryption: %w", err)
	}
	s.w = w
	return s, nil
}

func (s *sealer) Write(p []byte) (int, error) { return s.w.Write(p) }

// Close writes the last chunk; the stored size and sum are final after it.
func (s *sealer) Close() error { return s.w.Close() }

func (s *sealer) sum() string { return fmt.Sprintf("%x", s.hash.Sum(nil)) }

// sealReader encrypts what r yields for the destination d, or returns r as it
// is when d does not encrypt.
func sealReader(r io.Reader, d Destination) (io.Reader, error) {
	recipients, err := destinationRecipients(d)
	if err != nil || recipients == nil {
		return r, err
	}
	return age.EncryptReader(r, recipients...)
}

// GenerateIdentityFile writes a new age X25519 identity to path, readable by
// its owner only, and returns its recipient (the public key). An existing
// file is never overwritten.
func GenerateIdentityFile(path string) (string, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return "", Userf(ErrExists, "%s already exists; a key file is never overwritten, choose another name", path)
	}
	if err != nil {
		return "", Userf(err, "cannot create the key file %s: %v", path, errors.Unwrap(err))
	}
	// The mode asked for above is narrowed by the umask only; make sure.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = fmt.Fprintf(f, "# age identity written by odoo-backup\n# public key: %s\n%s\n", id.Recipient(), id)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("write the key file %s: %w", path, err)
	}
	return id.Recipient().String(), nil
}

// ReadIdentityFile reads the age identities of a key file. Like ssh with a
// private key, it refuses a file that users other than its owner may access.
func ReadIdentityFile(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Userf(err, "cannot read the key file %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, Advise(Advice{Action: ActionGiveKeyFile, Detail: path}, ErrInvalid, "the key file %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, Userf(ErrAccessDenied, "the key file %s can be read by other users (mode %04o), so it was not used; restrict it with: chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	ids, err := age.ParseIdentities(f)
	if err != nil {
		// age's parse errors never quote key material.
		return nil, Advise(Advice{Action: ActionGiveKeyFile, Detail: path}, ErrInvalid, "the key file %s holds no usable age identity (%v)", path, err)
	}
	return ids, nil
}

// IdentityFileRecipient reads a key file and returns the recipient of its
// first identity: what archives are encrypted to so that this file decrypts
// them.
func IdentityFileRecipient(path string) (string, error) {
	ids, err := ReadIdentityFile(path)
	if err != nil {
		return "", err
	}
	if r := identityRecipient(ids[0]); r != "" {
		return r, nil
	}
	return "", Advise(Advice{Action: ActionGenerateKey, Detail: path}, ErrInvalid, "the key file %s holds an identity of a kind backups cannot be encrypted to (only age X25519 identities)", path)
}

func identityRecipient(id age.Identity) string {
	switch i := id.(type) {
	case *age.X25519Identity:
		return i.Recipient().String()
	case *age.HybridIdentity:
		return i.Recipient().String()
	}
	return ""
}

// holdsIdentityOf reports whether ids may decrypt what is encrypted to
// recipient: one is that recipient's, or of a kind whose recipient is
// unknown (left to age to try). Otherwise other is the recipient of the
// first of them, for the message.
func holdsIdentityOf(ids []age.Identity, recipient string) (ok bool, other string) {
	for _, id := range ids {
		r := identityRecipient(id)
		if r == "" || r == recipient {
			return true, ""
		}
		if other == "" {
			other = r
		}
	}
	return false, other
}

// BackupRecipient is the age recipient backup b is encrypted to, or "" when
// it is plain or encrypted with a passphrase.
func BackupRecipient(b Backup) string {
	if b.Encryption == EncryptionPassphrase || !strings.HasPrefix(b.Encryption, encryptionAge) {
		return ""
	}
	return recipientOf(b.Encryption)
}

// OffHostRecipient is the recipient whose identity file must be given to
// read backup b, or "" when none has to be: the backup is plain, encrypted
// with a passphrase, or its destination keeps the key of that recipient on
// this host. A destination that no longer exists is left to the operation
// to report; one that cannot be read is said in a sentence naming it.
func OffHostRecipient(ctx context.Context, cat interface {
	Destination(ctx context.Context, name string) (Destination, error)
}, b Backup) (string, error) {
	recipient := BackupRecipient(b)
	if recipient == "" {
		return "", nil
	}
	d, err := cat.Destination(ctx, b.Destination)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", nil
	case err != nil:
		return "", Userf(err, "cannot read destination %s: %s", b.Destination, message(err))
	case d.Encrypt.KeyFile != "" && d.Encrypt.Recipient == recipient:
		return "", nil
	}
	return recipient, nil
}

// CheckIdentityFile reads the identity file at path as a restore, a
// download or a verify reads it (a file other users can read is refused)
// and checks that it holds the identity of recipient, before anything runs.
func CheckIdentityFile(path, recipient string) error {
	ids, err := ReadIdentityFile(path)
	if err != nil {
		return err
	}
	if ok, other := holdsIdentityOf(ids, recipient); !ok {
		return Advise(Advice{Action: ActionGiveIdentity, Recipient: recipient}, ErrAccessDenied,
			"%s holds the identity of %s, not of %s, so nothing was read", path, other, recipient)
	}
	return nil
}

const maxHeaderBytes = 64 << 10

// openReadable is openBackup for reading the archive's content: for an
// encrypted backup it finds the key (identityFile, else the destination's key
// file or passphrase) and decrypts the archive's header with it, so a missing
// or wrong key is reported before anything is read or created.
func (e *Engine) openReadable(ctx context.Context, id int64, identityFile string) (readableBackup, error) {
	rb, err := e.openBackup(ctx, id)
	if err != nil {
		return rb, err
	}
	return e.unlock(ctx, rb, identityFile)
}

// unlock finds the key of an encrypted backup and checks it on the archive's
// header; a plain backup is returned as it is.
func (e *Engine) unlock(ctx context.Context, rb readableBackup, identityFile string) (readableBackup, error) {
	if rb.b.Encryption == "" || rb.keys != nil {
		return rb, nil
	}
	ids, source, err := backupIdentities(rb, identityFile)
	if err != nil {
		return rb, err
	}
	// The header of an archive this tool wrote is far smaller than this.
	body, err := rb.store.Get(ctx, rb.b.Key, 0, maxHeaderBytes)
	if err != nil {
		return rb, fmt.Errorf("read backup %d from %s: %w", rb.b.ID, rb.dest.Name, err)
	}
	defer body.Close()
	header, err := age.ExtractHeader(bufio.NewReaderSize(body, 4096))
	if err != nil {
		return rb, Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "backup %d is recorded as encrypted but its archive on %q has no readable age header (%v); pick another backup", rb.b.ID, rb.dest.Name, err)
	}
	fileKey, err := age.DecryptHeader(header, ids...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			if rb.b.Encryption == EncryptionPassphrase {
				return rb, Userf(fmt.Errorf("%w: %w", ErrAccessDenied, err), "backup %d is encrypted with a passphrase and the passphrase of destination %q does not decrypt it; it was encrypted with an earlier passphrase", rb.b.ID, rb.dest.Name)
			}
			return rb, Advise(Advice{Action: ActionGiveIdentity, Backup: rb.b.ID, Recipient: recipientOf(rb.b.Encryption)}, fmt.Errorf("%w: %w", ErrAccessDenied, err), "backup %d is encrypted to %s; the identity in %s does not match it, so nothing was read", rb.b.ID, recipientOf(rb.b.Encryption), source)
		}
		return rb, Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "the age header of backup %d on %q cannot be decrypted (%v); pick another backup", rb.b.ID, rb.dest.Name, err)
	}
	// The file key stands in for the identities from now on, so a
	// passphrase's scrypt work is done once.
	rb.keys = []age.Identity{age.NewInjectedFileKeyIdentity(fileKey)}
	if rb.b.Format == FormatOdooPool {
		// The pool's own key, recovered with the same identities.
		if rb.poolKey, err = e.backupPoolKey(ctx, rb, ids); err != nil {
			return rb, err
		}
	}
	return rb, nil
}

func recipientOf(encryption string) string { return strings.TrimPrefix(encryption, encryptionAge) }

// backupIdentities finds the identities that should decrypt an encrypted
// backup, and says where they came from for messages.
func backupIdentities(rb readableBackup, identityFile string) ([]age.Identity, string, error) {
	enc := rb.b.Encryption
	if !strings.HasPrefix(enc, encryptionAge) {
		return nil, "", Userf(ErrInvalid, "backup %d is encrypted as %q, which this version cannot decrypt", rb.b.ID, enc)
	}
	if enc == EncryptionPassphrase {
		if !rb.dest.Encrypt.Passphrase.IsSet() {
			return nil, "", Userf(ErrAccessDenied, "backup %d is encrypted with a passphrase but destination %q has no passphrase set any more, so it cannot be decrypted here", rb.b.ID, rb.dest.Name)
		}
		pw, err := rb.dest.Encrypt.Passphrase.Resolve(fmt.Sprintf("the encryption passphrase of destination %q", rb.dest.Name))
		if err != nil {
			return nil, "", err
		}
		id, err := age.NewScryptIdentity(pw.Reveal())
		if err != nil {
			return nil, "", err
		}
		return []age.Identity{id}, "the passphrase of destination " + rb.dest.Name, nil
	}
	recipient := recipientOf(enc)
	file := identityFile
	if file == "" {
		file = rb.dest.Encrypt.KeyFile
	}
	if file == "" {
		return nil, "", Advise(Advice{Action: ActionGiveIdentity, Backup: rb.b.ID, Recipient: recipient}, ErrAccessDenied, "backup %d is encrypted to %s and this host keeps no key for it", rb.b.ID, recipient)
	}
	ids, err := ReadIdentityFile(file)
	if err != nil {
		return nil, "", err
	}
	if ok, _ := holdsIdentityOf(ids, recipient); !ok {
		return nil, "", Advise(Advice{Action: ActionGiveIdentity, Backup: rb.b.ID, Recipient: recipient}, ErrAccessDenied, "backup %d is encrypted to %s; the identity in %s does not match it, so nothing was read", rb.b.ID, recipient, file)
	}
	return ids, file, nil
}

// openZip opens rb's archive, decrypted where it is encrypted, to read its
// entries where they are stored; the caller closes the closer once done
// with them.
func (rb readableBackup) openZip(ctx context.Context) (*odoozip.Archive, io.Closer, error) {
	ra := newObjectReaderAt(ctx, rb.store, rb.b.Key, rb.b.Size, nil)
	pra, size, err := rb.plainReaderAt(ra)
	if err == nil {
		var a *odoozip.Archive
		if a, err = openArchive(pra, size, rb.b); err == nil {
			return a, ra, nil
		}
	}
	ra.Close()
	if isCancellation(ctx, err) {
		return nil, nil, ctx.Err()
	}
	return nil, nil, err
}

// plainReaderAt gives random access to the archive's plaintext over ra, which
// reads the stored object; it returns ra itself for a plain backup. The size
// returned is the plaintext's.
func (rb readableBackup) plainReaderAt(ra io.ReaderAt) (io.ReaderAt, int64, error) {
	if rb.b.Encryption == "" {
		return ra, rb.b.Size, nil
	}
	if rb.keys == nil {
		return nil, 0, fmt.Errorf("backup %d is encrypted but was opened without its key", rb.b.ID)
	}
	pra, size, err := age.DecryptReaderAt(ra, rb.b.Size, rb.keys...)
	if err != nil {
		return nil, 0, rb.decryptError(err)
	}
	return pra, size, nil
}

// plainStream decrypts the stored bytes r yields; a plain backup's come
// through as they are. A read error of r comes out unchanged; a failure to
// authenticate the ciphertext comes out as ErrCorrupt.
func (rb readableBackup) plainStream(r io.Reader) (io.Reader, error) {
	if rb.b.Encryption == "" {
		return r, nil
	}
	if rb.keys == nil {
		return nil, fmt.Errorf("backup %d is encrypted but was opened without its key", rb.b.ID)
	}
	src := &readTrap{r: r}
	pr, err := age.Decrypt(src, rb.keys...)
	if err != nil {
		if src.err != nil {
			return nil, src.err
		}
		return nil, rb.decryptError(err)
	}
	return &decryptingReader{r: pr, src: src, rb: rb}, nil
}

// decryptingReader tells age's authentication failures from read errors of
// the stored object, which age passes through.
type decryptingReader struct {
	r   io.Reader
	src *readTrap
	rb  readableBackup
}

func (d *decryptingReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF && d.src.err == nil {
		err = d.rb.decryptError(err)
	}
	return n, err
}

// readTrap remembers the first read error of a stream other than EOF.
type readTrap struct {
	r   io.Reader
	err error
}

func (t *readTrap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// writeTrap remembers the first write error of a writer.
type writeTrap struct {
	w   io.Writer
	err error
}

func (t *writeTrap) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil && t.err == nil {
		t.err = err
	}
	return n, err
}

func (rb readableBackup) decryptError(err error) error {
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return Userf(fmt.Errorf("%w: %w", ErrAccessDenied, err), "backup %d is encrypted to %s and the key given does not decrypt it", rb.b.ID, recipientOf(rb.b.Encryption))
	}
	return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "backup %d on %q does not decrypt (%v); it is damaged, pick another backup", rb.b.ID, rb.dest.Name, err)
}

// decryptCopy writes the plaintext of the stored bytes in body to w, and
// every stored byte to stored (for the checksum), even past a decryption
// failure, so the caller can tell a damaged object (checksum mismatch) from
// one stored intact that does not decrypt (decErr). ioErr is a failure to
// read body or to write w.
func (rb readableBackup) decryptCopy(w io.Writer, body io.Reader, stored io.Writer) (ioErr, decErr error) {
	src := &readTrap{r: body}
	tee := io.TeeReader(src, stored)
	out := &writeTrap{w: w}
	pr, err := rb.plainStream(tee)
	if err == nil {
		_, err = io.Copy(out, pr)
	}
	switch {
	case src.err != nil:
		return src.err, nil
	case out.err != nil:
		return out.err, nil
	}
	// Whatever decryption left unread still belongs to the checksum.
	if _, derr := io.Copy(io.Discard, tee); derr != nil {
		return derr, nil
	}
	return nil, err
}

// sameEncryption reports whether an archive stored as a backup encrypted as
// enc on the destination from can be stored unchanged on to: both plain, both
// to the same recipient, or both with the same passphrase.
func sameEncryption(enc string, from, to Destination) bool {
	if enc != to.Encryption() {
		return false
	}
	if enc == EncryptionPassphrase {
		return from.Encrypt.Passphrase == to.Encrypt.Passphrase
	}
	return true
}

// resealArchive copies a backup to dst under key when the target destination
// d stores it encrypted otherwise than the source (or not at all): the
// source's ciphertext is checked against its recorded checksum as it is
// read, decrypted, encrypted for d if d encrypts, and stored; then the stored
// object is read back and checked. It returns the size and sha256 stored.
func (e *Engine) resealArchive(ctx context.Context, rb readableBackup, dst ObjectStore, d Destination, key string, rep *progressReporter) (int64, string, error) {
	rep.set(PhaseCopy, 0)
	body, err := rb.store.Get(ctx, rb.b.Key, 0, -1)
	if err != nil {
		return 0, "", fmt.Errorf("read backup %d from %s: %w", rb.b.ID, rb.dest.Name, err)
	}
	defer body.Close()
	h := sha256.New()
	src := &verifyingReader{r: io.TeeReader(body, io.MultiWriter(h, countingWriter{rep})), h: h, rb: rb}
	plain, err := rb.plainStream(src)
	if err != nil {
		return 0, "", err
	}
	sealed, err := sealReader(plain, d)
	if err != nil {
		return 0, "", err
	}
	out := sha256.New()
	var size sizeCounter
	if err := dst.Put(ctx, key, io.TeeReader(sealed, io.MultiWriter(out, &size))); err != nil {
		return 0, "", err
	}
	sum := fmt.Sprintf("%x", out.Sum(nil))
	rep.set(PhaseVerify, 0)
	if err := checkStored(ctx, dst, key, size.n, sum, rep); err != nil {
		return 0, "", err
	}
	return size.n, sum, nil
}

// checkStored reads an object back and compares its size and sha256.
func checkStored(ctx context.Context, st ObjectStore, key string, size int64, sum string, rep *progressReporter) error {
	body, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return fmt.Errorf("read back %s on %s: %w", key, st, err)
	}
	defer body.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, countingWriter{rep}), body)
	if err != nil {
		return fmt.Errorf("read back %s on %s: %w", key, st, err)
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); n != size || got != sum {
		return Userf(ErrCorrupt, "the copy on %s does not match what was written (%d bytes, sha256 %s…; expected %d bytes, %s…); it was removed, copy it again", st, n, short(got), size, short(sum))
	}
	return nil
}
