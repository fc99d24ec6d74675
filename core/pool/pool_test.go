package pool

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
)

func entryOf(t *testing.T, name string, content []byte) (Entry, []byte) {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, Level(content))
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	fw.Close()
	sum := sha256.Sum256(content)
	return Entry{Name: name, Object: ID(sum[:], nil), Size: int64(len(content)), Deflated: int64(buf.Len()),
		Stored: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:])}, buf.Bytes()
}

// A list reads back as written, sorted; one that is damaged, out of order,
// names an unsafe file or a bad object, or miscounts is refused.
func TestListRoundTripAndRefusals(t *testing.T) {
	a, _ := entryOf(t, "bb/bb01", []byte("second"))
	b, _ := entryOf(t, "aa/aa01", []byte("first"))
	var buf bytes.Buffer
	if err := WriteList(&buf, Header{Service: "prod", Archive: "prod/x.zip"}, []Entry{a, b}); err != nil {
		t.Fatal(err)
	}
	h, got, err := ReadList(bytes.NewReader(buf.Bytes()))
	if err != nil || h.Files != 2 || h.Version != ListVersion || len(got) != 2 || got[0] != b || got[1] != a {
		t.Fatalf("read back %+v %+v, %v", h, got, err)
	}
	bad := func(what string, h Header, entries ...Entry) {
		t.Helper()
		var w bytes.Buffer
		if err := WriteList(&w, h, entries); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadList(&w); !errors.Is(err, ErrInvalidList) {
			t.Errorf("%s: %v; want ErrInvalidList", what, err)
		}
	}
	unsafe := a
	unsafe.Name = "../etc/passwd"
	bad("unsafe name", Header{}, unsafe)
	badID := a
	badID.Object = "not-hex"
	bad("bad object id", Header{}, badID)
	twice := a
	bad("the same file twice", Header{}, a, twice)
	if _, _, err := ReadList(strings.NewReader("not gzip")); !errors.Is(err, ErrInvalidList) {
		t.Errorf("not gzip: %v", err)
	}
	if _, _, err := ReadList(bytes.NewReader(buf.Bytes()[:buf.Len()/2])); !errors.Is(err, ErrInvalidList) {
		t.Errorf("truncated: %v", err)
	}
}

// Open gives the content back and refuses, naming file and object, an
// object whose content, size or stream is not the one recorded.
func TestOpenChecksContent(t *testing.T) {
	content := bytes.Repeat([]byte("odoo attachment "), 4096)
	en, deflated := entryOf(t, "ab/ab12", content)
	got, err := io.ReadAll(Open(bytes.NewReader(deflated), en))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	_, otherDeflated := entryOf(t, "cd/cd34", []byte("another file"))
	for what, stream := range map[string][]byte{
		"another object": otherDeflated,
		"truncated":      deflated[:len(deflated)/2],
		"not deflate":    []byte("garbage garbage garbage"),
	} {
		_, err := io.ReadAll(Open(bytes.NewReader(stream), en))
		if !errors.Is(err, ErrAltered) || !strings.Contains(err.Error(), en.Name) || !strings.Contains(err.Error(), en.Object) {
			t.Errorf("%s: %v; want ErrAltered naming the file and the object", what, err)
		}
	}
}

// Keys: objects are found under their service's prefix only; names with a
// key are not the content's digest.
func TestKeysAndIDs(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	plain := ID(sum[:], nil)
	keyed := ID(sum[:], []byte("a name key of thirty-two bytes!!"))
	if plain != hex.EncodeToString(sum[:]) || keyed == plain || !ValidID(keyed) {
		t.Fatalf("ids %s %s", plain, keyed)
	}
	key := ObjectKey("prod", plain)
	if id, ok := ParseObjectKey("prod", key); !ok || id != plain {
		t.Errorf("ParseObjectKey(%s) = %s, %v", key, id, ok)
	}
	for _, k := range []string{key[:len(key)-1], "staging/pool/" + plain[:2] + "/" + plain, "prod/pool/zz/" + plain, ListKey("prod/2026/12/x.zip")} {
		if _, ok := ParseObjectKey("prod", k); ok {
			t.Errorf("ParseObjectKey accepted %s", k)
		}
	}
	if !MatchesName("ab/"+strings.Repeat("a", 40), strings.Repeat("a", 40)) || MatchesName("ab/"+strings.Repeat("a", 40), strings.Repeat("b", 40)) || !MatchesName("custom/name", "x") {
		t.Error("MatchesName")
	}
}
