package core

import (
	"bytes"
	"crypto/rand"
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
