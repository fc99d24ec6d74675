package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// memStore is an ObjectStore in memory that counts its Gets, for tests of
// the readers over it.
type memStore struct {
	objects map[string][]byte
	gets    int
}

func (m *memStore) Put(_ context.Context, key string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if m.objects == nil {
		m.objects = map[string][]byte{}
	}
	m.objects[key] = b
	return nil
}

func (m *memStore) Get(_ context.Context, key string, off, n int64) (io.ReadCloser, error) {
	m.gets++
	b, ok := m.objects[key]
	if !ok {
		return nil, ErrNotFound
	}
	b = b[min(off, int64(len(b))):]
	if n >= 0 && n < int64(len(b)) {
		b = b[:n]
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memStore) Stat(_ context.Context, key string) (ObjectInfo, error) {
	b, ok := m.objects[key]
	if !ok {
		return ObjectInfo{}, ErrNotFound
	}
	return ObjectInfo{Key: key, Size: int64(len(b)), ModTime: time.Now()}, nil
}

func (m *memStore) List(context.Context, string) ([]ObjectInfo, error) { return nil, nil }
func (m *memStore) Delete(_ context.Context, key string) error         { delete(m.objects, key); return nil }
func (m *memStore) String() string                                     { return "mem" }

func testIdentity(t *testing.T) (*age.X25519Identity, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.txt")
	recipient, err := GenerateIdentityFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ReadIdentityFile(path)
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0].(*age.X25519Identity)
	if id.Recipient().String() != recipient {
		t.Fatalf("GenerateIdentityFile printed %s but the file holds %s", recipient, id.Recipient())
	}
	return id, path
}

// The sealer's stored size and checksum are those of the bytes that reach
// the destination, and the plaintext comes back whole through random access
// over ranged Gets, at every offset and length, including across chunk
// boundaries and at the very end.
func TestSealerAndRandomAccess(t *testing.T) {
	id, _ := testIdentity(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 3*(64<<10) + 17} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			plain := make([]byte, size)
			for i := range plain {
				plain[i] = byte(rng.UintN(256))
			}
			var stored bytes.Buffer
			s, err := newSealer(&stored, []age.Recipient{id.Recipient()})
			if err != nil {
				t.Fatal(err)
			}
			// Odd write sizes, as a zip writer makes them.
			for rest := plain; len(rest) > 0; {
				n := min(len(rest), 1+int(rng.UintN(9000)))
				if _, err := s.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s.size.n != int64(stored.Len()) || s.sum() != fmt.Sprintf("%x", sha256.Sum256(stored.Bytes())) {
				t.Fatalf("sealer says %d bytes %s, stored %d bytes", s.size.n, s.sum(), stored.Len())
			}
			if size >= 16 && bytes.Contains(stored.Bytes(), plain[:min(size, 64)]) {
				t.Fatal("the stored bytes hold the plaintext")
			}

			st := &memStore{}
			_ = st.Put(context.Background(), "k", bytes.NewReader(stored.Bytes()))
			rb := readableBackup{b: Backup{ID: 7, Key: "k", Size: int64(stored.Len()), Encryption: "age:" + id.Recipient().String()}, store: st}
			rb, err = (&Engine{}).unlock(context.Background(), rb, writeKey(t, id))
			if err != nil {
				t.Fatal(err)
			}
			ra := newObjectReaderAt(context.Background(), st, "k", rb.b.Size, nil)
			pra, psize, err := rb.plainReaderAt(ra)
			if err != nil {
				t.Fatal(err)
			}
			if psize != int64(size) {
				t.Fatalf("plaintext size %d, want %d", psize, size)
			}
			st.gets = 0
			// Sequential reading streams: one Get, not one per chunk.
			buf := make([]byte, 4096)
			var got []byte
			for off := int64(0); off < psize; {
				n, err := pra.ReadAt(buf, off)
				got = append(got, buf[:n]...)
				off += int64(n)
				if err != nil && err != io.EOF {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, plain) {
				t.Fatal("sequential plaintext differs")
			}
			if size > 0 && st.gets > 2 {
				t.Errorf("sequential reading made %d Gets, want at most 2", st.gets)
			}
			for i := 0; i < 50 && size > 0; i++ {
				off := int64(rng.IntN(size))
				n := 1 + rng.IntN(100000)
				p := make([]byte, n)
				m, err := pra.ReadAt(p, off)
				want := plain[off:min(int64(size), off+int64(n))]
				if !bytes.Equal(p[:m], want) || (m < n && err == nil) {
					t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d bytes", n, off, m, err, len(want))
				}
			}

			// The same through the streaming path.
			pr, err := rb.plainStream(bytes.NewReader(stored.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			all, err := io.ReadAll(pr)
			if err != nil || !bytes.Equal(all, plain) {
				t.Fatalf("stream: %d bytes, %v; want %d bytes", len(all), err, size)
			}
		})
	}
}

func writeKey(t *testing.T, id *age.X25519Identity) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.txt")
	if err := os.WriteFile(path, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A flipped byte of ciphertext is reported as corruption, on both paths,
// and decryptCopy still hashes every stored byte.
func TestTamperedCiphertext(t *testing.T) {
	id, _ := testIdentity(t)
	plain := bytes.Repeat([]byte("odoo "), 40000)
	var stored bytes.Buffer
	s, _ := newSealer(&stored, []age.Recipient{id.Recipient()})
	s.Write(plain)
	s.Close()
	raw := stored.Bytes()
	rb := readableBackup{b: Backup{ID: 3, Key: "k", Size: int64(len(raw)), Encryption: "age:" + id.Recipient().String()}, store: &memStore{}}
	_ = rb.store.Put(context.Background(), "k", bytes.NewReader(raw))
	rb, err := (&Engine{}).unlock(context.Background(), rb, writeKey(t, id))
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(raw)
	bad[len(bad)-1000] ^= 1
	pr, err := rb.plainStream(bytes.NewReader(bad))
	if err == nil {
		_, err = io.Copy(io.Discard, pr)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("stream of tampered ciphertext: got %v, want ErrCorrupt", err)
	}
	h := sha256.New()
	ioErr, decErr := rb.decryptCopy(io.Discard, bytes.NewReader(bad), h)
	if ioErr != nil || !errors.Is(decErr, ErrCorrupt) {
		t.Errorf("decryptCopy: got %v, %v; want no I/O error and ErrCorrupt", ioErr, decErr)
	}
	if fmt.Sprintf("%x", h.Sum(nil)) != fmt.Sprintf("%x", sha256.Sum256(bad)) {
		t.Error("decryptCopy did not pass every stored byte to the checksum")
	}
	// Truncation is caught by the size check of DecryptReaderAt too.
	if _, _, err := age.DecryptReaderAt(bytes.NewReader(raw[:len(raw)-1]), int64(len(raw)-1), rb.keys...); err == nil {
		t.Error("a truncated archive opened for random access")
	}
}

func TestIdentityFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.txt")
	recipient, err := GenerateIdentityFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if !strings.HasPrefix(recipient, "age1") {
		t.Errorf("recipient %q does not start with age1", recipient)
	}
	if _, err := GenerateIdentityFile(path); !errors.Is(err, ErrExists) {
		t.Errorf("generating over an existing file: got %v, want ErrExists", err)
	}
	if r, err := IdentityFileRecipient(path); err != nil || r != recipient {
		t.Errorf("IdentityFileRecipient = %q, %v; want %q", r, err, recipient)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := ReadIdentityFile(path)
		if !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: got %v, want a refusal naming chmod 600", mode, err)
		}
		if err != nil && strings.Contains(err.Error(), "AGE-SECRET-KEY") {
			t.Error("the error quotes the key")
		}
	}
	os.Chmod(path, 0o400)
	if _, err := ReadIdentityFile(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
	notKey := filepath.Join(dir, "not-a-key")
	os.WriteFile(notKey, []byte("AGE-SECRET-KEY-1NOTAKEY\n"), 0o600)
	if _, err := ReadIdentityFile(notKey); !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "NOTAKEY") {
		t.Errorf("garbage key file: got %v, want ErrInvalid without the content", err)
	}
	for _, bad := range []string{"", "age1", "ssh-ed25519 AAAA", "age1qqqqqqqqqqqqqqqqq"} {
		if _, err := ParseRecipient(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRecipient(%q): got %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := ParseRecipient(recipient); err != nil {
		t.Errorf("ParseRecipient(%q): %v", recipient, err)
	}
}

// Which key decrypts a backup, and what is said when there is none or the
// wrong one.
func TestBackupIdentities(t *testing.T) {
	id, keyPath := testIdentity(t)
	other, otherPath := testIdentity(t)
	_ = other
	rec := id.Recipient().String()
	enc := "age:" + rec
	cases := []struct {
		name     string
		b        Backup
		dest     Destination
		identity string
		want     string
	}{
		{"recipient only, no identity", Backup{ID: 5, Encryption: enc}, Destination{Name: "off", Encrypt: EncryptionSettings{Recipient: rec}}, "", "this host keeps no key for it"},
		{"wrong identity", Backup{ID: 5, Encryption: enc}, Destination{Name: "off", Encrypt: EncryptionSettings{Recipient: rec}}, otherPath, "backup 5 is encrypted to " + rec + "; the identity in " + otherPath + " does not match"},
		{"destination key replaced since", Backup{ID: 5, Encryption: enc}, Destination{Name: "d", Encrypt: EncryptionSettings{KeyFile: otherPath}}, "", "does not match"},
		{"passphrase gone", Backup{ID: 5, Encryption: EncryptionPassphrase}, Destination{Name: "d"}, "", "has no passphrase set"},
		{"unknown scheme", Backup{ID: 5, Encryption: "gpg:x"}, Destination{Name: "d"}, "", "cannot decrypt"},
		{"right identity", Backup{ID: 5, Encryption: enc}, Destination{Name: "off", Encrypt: EncryptionSettings{Recipient: rec}}, keyPath, ""},
		{"destination key", Backup{ID: 5, Encryption: enc}, Destination{Name: "d", Encrypt: EncryptionSettings{KeyFile: keyPath, Recipient: rec}}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := backupIdentities(readableBackup{b: c.b, dest: c.dest}, c.identity)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("got %v, want the key found", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %v, want an error containing %q", err, c.want)
			case strings.Contains(c.want, "encrypted to") || strings.Contains(c.want, "keeps no key") || strings.Contains(c.want, "does not match"):
				if a, _ := AdviceOf(err); a != (Advice{Action: ActionGiveIdentity, Backup: 5, Recipient: rec}) {
					t.Errorf("advice %+v, want to give the identity of %s for backup 5", a, rec)
				}
			}
		})
	}
}

func TestDestinationRecipients(t *testing.T) {
	id, _ := testIdentity(t)
	if rs, err := destinationRecipients(Destination{}); rs != nil || err != nil {
		t.Errorf("plain destination: %v, %v", rs, err)
	}
	both := Destination{Name: "x", Encrypt: EncryptionSettings{Recipient: id.Recipient().String(), Passphrase: "p"}}
	if _, err := destinationRecipients(both); !errors.Is(err, ErrInvalid) {
		t.Errorf("recipient and passphrase: got %v, want ErrInvalid", err)
	}
	d := Destination{Encrypt: EncryptionSettings{Recipient: id.Recipient().String()}}
	if d.Encryption() != "age:"+id.Recipient().String() || !d.Encrypted() {
		t.Errorf("Encryption() = %q", d.Encryption())
	}
	p := Destination{Encrypt: EncryptionSettings{Passphrase: "correct horse"}}
	if p.Encryption() != EncryptionPassphrase {
		t.Errorf("Encryption() = %q", p.Encryption())
	}
	if !sameEncryption(EncryptionPassphrase, p, Destination{Encrypt: EncryptionSettings{Passphrase: "correct horse"}}) ||
		sameEncryption(EncryptionPassphrase, p, Destination{Encrypt: EncryptionSettings{Passphrase: "other"}}) ||
		sameEncryption("", Destination{}, d) || !sameEncryption("", Destination{}, Destination{}) {
		t.Error("sameEncryption decides wrongly")
	}
}
