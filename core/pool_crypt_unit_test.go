package core

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
)

// The deflate size of an object found in the pool is read off its
// ciphertext's size: exact for every size around age's 64 KiB chunks, and
// a size no age file has is refused.
func TestAgePlainSize(t *testing.T) {
	k, err := newPoolKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 100, 64<<10 - 1, 64 << 10, 64<<10 + 1, 128 << 10, 200_000} {
		plain := make([]byte, n)
		rand.Read(plain)
		sealed, err := k.seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		header, err := age.ExtractHeader(bytes.NewReader(sealed))
		if err != nil {
			t.Fatal(err)
		}
		got, err := agePlainSize(int64(len(sealed) - len(header)))
		if err != nil || got != int64(n) {
			t.Errorf("%d bytes sealed: plain size %d, %v", n, got, err)
		}
	}
	for _, payload := range []int64{0, 16, 31, 16 + 64<<10 + 16 + 5} {
		if n, err := agePlainSize(payload); err == nil {
			t.Errorf("payload of %d bytes: %d, want refused", payload, n)
		}
	}
}

// A pool key reads back from its text, and text that is not one is refused.
func TestPoolKeyText(t *testing.T) {
	k, err := newPoolKey()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsePoolKey(k.id, k.marshal())
	if err != nil || !bytes.Equal(got.nameKey, k.nameKey) || got.identity.String() != k.identity.String() || got.recipient.String() != k.recipient.String() {
		t.Fatalf("parsed %+v, %v; want the key written", got, err)
	}
	text := string(k.marshal())
	for name, bad := range map[string]string{
		"no name key":    strings.Join(strings.Split(text, "\n")[2:], "\n"),
		"short name key": strings.Replace(text, nameKeyLine, nameKeyLine+"ab\n#", 1),
		"no identity":    strings.Split(text, "AGE-SECRET")[0],
		"bad identity":   strings.Replace(text, "AGE-SECRET-KEY-1", "AGE-SECRET-KEY-1QQ", 1),
	} {
		if _, err := parsePoolKey(k.id, []byte(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// BenchmarkSealPoolObject: what encrypting one pool object costs (an
// X25519 key agreement and the ChaCha20-Poly1305 stream), for a small
// attachment and a large one, and how many bytes it adds.
func BenchmarkSealPoolObject(b *testing.B) {
	k, err := newPoolKey()
	if err != nil {
		b.Fatal(err)
	}
	// The floor: the two X25519 scalar multiplications age's wrap makes
	// (an ephemeral key, then the shared secret).
	b.Run("floor-x25519", func(b *testing.B) {
		peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
		for b.Loop() {
			eph, err := ecdh.X25519().GenerateKey(rand.Reader)
			if err == nil {
				_, err = eph.ECDH(peer.PublicKey())
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, size := range []int{4 << 10, 1 << 20} {
		plain := make([]byte, size)
		rand.Read(plain)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			var sealed []byte
			for b.Loop() {
				if sealed, err = k.seal(plain); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(sealed)-size), "overhead-bytes")
		})
	}
}

// BenchmarkOpenPoolObject: what decrypting one pool object costs.
func BenchmarkOpenPoolObject(b *testing.B) {
	k, err := newPoolKey()
	if err != nil {
		b.Fatal(err)
	}
	plain := make([]byte, 4<<10)
	rand.Read(plain)
	sealed, err := k.seal(plain)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		r, err := age.Decrypt(bytes.NewReader(sealed), k.identity)
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
