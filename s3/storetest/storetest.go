// Package storetest is the conformance suite of core.ObjectStore: every
// implementation runs it, so they all keep the same contract.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// PartSizer is implemented by stores that upload in parts; the suite then
// picks object sizes around the part size. Others get sizes around
// DefaultPartSize.
type PartSizer interface {
	PartSize() int64
}

// DefaultPartSize is the part size the suite assumes for stores that are
// not PartSizers.
const DefaultPartSize = 5 << 20

// IncompleteLister is implemented by stores that can list writes that have
// not completed (temporary files, multipart uploads). The suite then checks
// that a failed Put leaves none behind.
type IncompleteLister interface {
	Incomplete(ctx context.Context, prefix string) ([]string, error)
}

// Options say how a store departs from the plain contract.
type Options struct {
	// DeletesLocked: the store locks every object it writes (S3 Object
	// Lock, core.ObjectLocker) for longer than the suite runs, so deleting
	// one must fail with a *core.LockedError, change nothing, and say a
	// lock end in the future; deleting a key never put still succeeds.
	DeletesLocked bool
}

// Run runs the suite. open is called once per subtest and returns an empty
// store that lasts as long as that test; subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) core.ObjectStore) {
	RunWith(t, Options{}, open)
}

// RunWith runs the suite on a store that departs from the plain contract
// as opts say.
func RunWith(t *testing.T, opts Options, open func(t *testing.T) core.ObjectStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"RoundTrip", testRoundTrip},
		{"UnknownLengthStreaming", testStreaming},
		{"RangedGet", testRangedGet},
		{"Stat", testStat},
		{"MissingKey", testMissingKey},
		{"Delete", testDelete},
		{"List", testList},
		{"ListEmpty", testListEmpty},
		{"Overwrite", testOverwrite},
		{"InFlightPutInvisible", testInFlight},
		{"AtomicReaderError", testAtomicReaderError},
		{"AtomicCancel", testAtomicCancel},
		{"ConcurrentPuts", testConcurrentPuts},
		{"InvalidKeys", testInvalidKeys},
		{"String", testString},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			s := &suite{st: st, partSize: DefaultPartSize, opts: opts}
			if ps, ok := st.(PartSizer); ok {
				s.partSize = ps.PartSize()
			}
			tc.fn(t, s)
		})
	}
}

type suite struct {
	st       core.ObjectStore
	partSize int64
	opts     Options
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// data is n deterministic pseudo-random bytes.
func data(seed uint64, n int64) []byte {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// opaque hides everything but Read, so a store cannot learn the length.
type opaque struct{ r io.Reader }

func (o opaque) Read(p []byte) (int, error) { return o.r.Read(p) }

func (s *suite) put(t *testing.T, ctx context.Context, key string, b []byte) {
	t.Helper()
	if err := s.st.Put(ctx, key, opaque{bytes.NewReader(b)}); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(b), err)
	}
}

func (s *suite) get(t *testing.T, ctx context.Context, key string, offset, length int64) []byte {
	t.Helper()
	rc, err := s.st.Get(ctx, key, offset, length)
	if err != nil {
		t.Fatalf("Get(%q, %d, %d): %v", key, offset, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q, %d, %d): read: %v", key, offset, length, err)
	}
	return b
}

func (s *suite) expectContent(t *testing.T, ctx context.Context, key string, want []byte) {
	t.Helper()
	got := s.get(t, ctx, key, 0, -1)
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) returned %d bytes that differ from the %d put (first difference at %d)", key, len(got), len(want), firstDiff(got, want))
	}
	info, err := s.st.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	if info.Size != int64(len(want)) || info.Key != key {
		t.Fatalf("Stat(%q) = key %q size %d; want key %q size %d", key, info.Key, info.Size, key, len(want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func (s *suite) keys(t *testing.T, ctx context.Context, prefix string) []string {
	t.Helper()
	objs, err := s.st.List(ctx, prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	keys := []string{}
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// expectAbsent checks that key shows nowhere: not to Stat, Get or List.
func (s *suite) expectAbsent(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	if info, err := s.st.Stat(ctx, key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Stat(%q) = %+v, %v; want an error wrapping ErrNotFound", key, info, err)
	}
	expectGetNotFound(t, ctx, s.st, key)
	if keys := s.keys(t, ctx, ""); slices.Contains(keys, key) {
		t.Fatalf("List(\"\") = %q; want it without %q", keys, key)
	}
}

func expectGetNotFound(t *testing.T, ctx context.Context, st core.ObjectStore, key string) {
	t.Helper()
	rc, err := st.Get(ctx, key, 0, -1)
	if err == nil {
		// The contract lets the error come from the first Read.
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Get(%q) = %v; want an error wrapping ErrNotFound", key, err)
	}
}

// expectNoIncomplete checks that no temporary file or multipart upload is
// left, for stores that can tell.
func (s *suite) expectNoIncomplete(t *testing.T, ctx context.Context) {
	t.Helper()
	il, ok := s.st.(IncompleteLister)
	if !ok {
		return
	}
	left, err := il.Incomplete(ctx, "")
	if err != nil {
		t.Fatalf("Incomplete: %v", err)
	}
	if len(left) > 0 {
		t.Fatalf("Incomplete = %q after the Put returned; want none left behind", left)
	}
}

func testRoundTrip(t *testing.T, s *suite) {
	ctx := testContext(t)
	p := s.partSize
	for i, size := range []int64{0, 1, 1000, p - 1, p, p + 1, 2*p + 12345} {
		key := fmt.Sprintf("round/%d/size-%d.bin", i, size)
		want := data(uint64(i), size)
		s.put(t, ctx, key, want)
		s.expectContent(t, ctx, key, want)
	}
	s.expectNoIncomplete(t, ctx)
}

// chunky returns data in pseudo-random chunk sizes, the last chunk together
// with io.EOF, as a pipe from a compressor would.
type chunky struct {
	b   []byte
	rng *rand.Rand
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.b), 1+c.rng.IntN(200_000))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	if len(c.b) == 0 {
		return n, io.EOF
	}
	return n, nil
}

func testStreaming(t *testing.T, s *suite) {
	ctx := testContext(t)
	big := data(7, 2*s.partSize+7)
	if err := s.st.Put(ctx, "stream/chunky", &chunky{b: big, rng: rand.New(rand.NewPCG(1, 2))}); err != nil {
		t.Fatalf("Put of a chunked stream: %v", err)
	}
	s.expectContent(t, ctx, "stream/chunky", big)

	small := data(8, 3000)
	if err := s.st.Put(ctx, "stream/one-byte", iotest.OneByteReader(bytes.NewReader(small))); err != nil {
		t.Fatalf("Put of a one-byte-at-a-time stream: %v", err)
	}
	s.expectContent(t, ctx, "stream/one-byte", small)

	if err := s.st.Put(ctx, "stream/data-err", iotest.DataErrReader(bytes.NewReader(small))); err != nil {
		t.Fatalf("Put of a stream returning its last bytes with io.EOF: %v", err)
	}
	s.expectContent(t, ctx, "stream/data-err", small)
}

func testRangedGet(t *testing.T, s *suite) {
	ctx := testContext(t)
	p := s.partSize
	size := 2*p + 100
	obj := data(3, size)
	s.put(t, ctx, "ranges/obj", obj)
	tiny := data(4, 10)
	s.put(t, ctx, "ranges/tiny", tiny)
	s.put(t, ctx, "ranges/empty", nil)

	tests := []struct {
		key            string
		offset, length int64
		want           []byte
	}{
		{"ranges/obj", 0, -1, obj},
		{"ranges/obj", 1, -1, obj[1:]},
		{"ranges/obj", 0, 10, obj[:10]},
		{"ranges/obj", 100, 1000, obj[100:1100]},
		{"ranges/obj", p - 5, 10, obj[p-5 : p+5]}, // across a part boundary
		{"ranges/obj", p, -1, obj[p:]},
		{"ranges/obj", size - 10, -1, obj[size-10:]},
		{"ranges/obj", size - 10, 100, obj[size-10:]}, // length past the end is cut
		{"ranges/obj", size - 1, 1, obj[size-1:]},
		{"ranges/obj", 5, 0, nil},
		{"ranges/obj", size, -1, nil}, // offset at the end: empty
		{"ranges/obj", size, 10, nil},
		{"ranges/obj", size + 100, -1, nil}, // past the end: empty
		{"ranges/tiny", 3, 4, tiny[3:7]},
		{"ranges/tiny", 9, -1, tiny[9:]},
		{"ranges/tiny", 11, 5, nil},
		{"ranges/empty", 0, -1, nil},
		{"ranges/empty", 0, 10, nil},
		{"ranges/empty", 1, -1, nil},
	}
	for _, tc := range tests {
		got := s.get(t, ctx, tc.key, tc.offset, tc.length)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("Get(%q, %d, %d) = %d bytes (first difference at %d); want %d bytes", tc.key, tc.offset, tc.length, len(got), firstDiff(got, tc.want), len(tc.want))
		}
	}

	for _, r := range [][2]int64{{0, -1}, {5, -1}, {5, 10}, {0, 0}} {
		rc, err := s.st.Get(ctx, "ranges/missing", r[0], r[1])
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if !errors.Is(err, core.ErrNotFound) {
			t.Errorf("Get(missing, %d, %d) = %v; want ErrNotFound", r[0], r[1], err)
		}
	}
	if _, err := s.st.Get(ctx, "ranges/obj", -1, 10); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Get with offset -1 = %v; want ErrInvalid", err)
	}
}

func testStat(t *testing.T, s *suite) {
	ctx := testContext(t)
	before := time.Now().Add(-time.Minute) // leeway for the server's clock
	want := data(5, 4321)
	s.put(t, ctx, "stat/a/b.zip", want)
	info, err := s.st.Stat(ctx, "stat/a/b.zip")
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "stat/a/b.zip" || info.Size != 4321 {
		t.Errorf("Stat = key %q size %d; want key %q size 4321", info.Key, info.Size, "stat/a/b.zip")
	}
	if after := time.Now().Add(time.Minute); info.ModTime.Before(before) || info.ModTime.After(after) {
		t.Errorf("Stat ModTime = %v; want between %v and %v", info.ModTime, before, after)
	}
	objs, err := s.st.List(ctx, "stat/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Key != info.Key || objs[0].Size != info.Size {
		t.Fatalf("List(stat/) = %+v; want just %+v", objs, info)
	}
	if d := objs[0].ModTime.Sub(info.ModTime); d > time.Second || d < -time.Second {
		t.Errorf("List ModTime %v and Stat ModTime %v differ by %v", objs[0].ModTime, info.ModTime, d)
	}

	// A "directory" holding objects is not itself an object.
	if _, err := s.st.Stat(ctx, "stat/a"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Stat of a key prefix = %v; want ErrNotFound", err)
	}
}

func testMissingKey(t *testing.T, s *suite) {
	ctx := testContext(t)
	s.expectAbsent(t, ctx, "missing/never-put.zip")
	s.expectAbsent(t, ctx, "never-put.zip")
}

func testDelete(t *testing.T, s *suite) {
	if s.opts.DeletesLocked {
		testDeleteLocked(t, s)
		return
	}
	ctx := testContext(t)
	s.put(t, ctx, "del/x/1", []byte("one"))
	s.put(t, ctx, "del/x/2", []byte("two"))
	if err := s.st.Delete(ctx, "del/x/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s.expectAbsent(t, ctx, "del/x/1")
	s.expectContent(t, ctx, "del/x/2", []byte("two"))
	if err := s.st.Delete(ctx, "del/x/1"); err != nil {
		t.Fatalf("second Delete of the same key = %v; want nil (idempotent)", err)
	}
	if err := s.st.Delete(ctx, "del/never/put"); err != nil {
		t.Fatalf("Delete of a key never put = %v; want nil", err)
	}
	if err := s.st.Delete(ctx, "del/x/2"); err != nil {
		t.Fatal(err)
	}
	if keys := s.keys(t, ctx, ""); len(keys) != 0 {
		t.Fatalf("List after deleting everything = %q; want nothing", keys)
	}
	// The key can be used again.
	s.put(t, ctx, "del/x/1", []byte("again"))
	s.expectContent(t, ctx, "del/x/1", []byte("again"))
}

// testDeleteLocked: a store that locks what it writes refuses to delete
// it, says until when, and keeps it whole.
func testDeleteLocked(t *testing.T, s *suite) {
	ctx := testContext(t)
	s.put(t, ctx, "del/x/1", []byte("one"))
	before := time.Now()
	for range 2 {
		err := s.st.Delete(ctx, "del/x/1")
		le, ok := errors.AsType[*core.LockedError](err)
		if !ok || !errors.Is(err, core.ErrLocked) {
			t.Fatalf("Delete of a locked object = %v; want a *core.LockedError wrapping ErrLocked", err)
		}
		if le.Key != "del/x/1" || !le.Until.After(before) {
			t.Fatalf("Delete of a locked object = %+v; want its key and a lock end after %s", le, before)
		}
		s.expectContent(t, ctx, "del/x/1", []byte("one"))
	}
	if keys := s.keys(t, ctx, ""); !slices.Equal(keys, []string{"del/x/1"}) {
		t.Fatalf("List after a refused Delete = %q; want the object still listed", keys)
	}
	if err := s.st.Delete(ctx, "del/never/put"); err != nil {
		t.Fatalf("Delete of a key never put = %v; want nil", err)
	}
}

func testList(t *testing.T, s *suite) {
	ctx := testContext(t)
	all := []string{
		"a-c", "a/1", "a/2", "a/b/3", "a/b/c/d/e/deep.zip", "a0", "ab", "b/1", "b/2.json", "z",
		".odoo-backup-probe-x", "svc/2026/11/svc_20261122-120000_manual.zip", "svc/2026/11/svc_20261122-120000_manual.zip.json",
	}
	// Put in a scrambled order, so sorting is the store's work.
	for _, i := range []int{7, 2, 12, 0, 9, 4, 11, 1, 8, 5, 3, 10, 6} {
		s.put(t, ctx, all[i], []byte(all[i]))
	}
	sorted := slices.Clone(all)
	slices.Sort(sorted)
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", sorted},
		{"a", []string{"a-c", "a/1", "a/2", "a/b/3", "a/b/c/d/e/deep.zip", "a0", "ab"}},
		{"a/", []string{"a/1", "a/2", "a/b/3", "a/b/c/d/e/deep.zip"}},
		{"a/b", []string{"a/b/3", "a/b/c/d/e/deep.zip"}},
		{"a/b/c/d/e/", []string{"a/b/c/d/e/deep.zip"}},
		{"a/b/c/d/e/deep.zip", []string{"a/b/c/d/e/deep.zip"}},
		{"b/2", []string{"b/2.json"}},
		{"svc/2026/", []string{"svc/2026/11/svc_20261122-120000_manual.zip", "svc/2026/11/svc_20261122-120000_manual.zip.json"}},
		{".odoo", []string{".odoo-backup-probe-x"}},
		{"nothing", []string{}},
		{"nothing/", []string{}},
		{"a/nothing/", []string{}},
		{"z/", []string{}},
	}
	for _, tc := range tests {
		if got := s.keys(t, ctx, tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q; want %q", tc.prefix, got, tc.want)
		}
	}
	objs, err := s.st.List(ctx, "b/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Size != int64(len(o.Key)) || o.ModTime.IsZero() {
			t.Errorf("List entry %+v; want size %d and a modification time", o, len(o.Key))
		}
	}
}

func testListEmpty(t *testing.T, s *suite) {
	ctx := testContext(t)
	for _, p := range []string{"", "x", "x/"} {
		if got := s.keys(t, ctx, p); len(got) != 0 {
			t.Errorf("List(%q) of an empty store = %q; want nothing", p, got)
		}
	}
}

func testOverwrite(t *testing.T, s *suite) {
	ctx := testContext(t)
	first := data(10, s.partSize+10)
	s.put(t, ctx, "over/k", first)
	second := []byte("shorter")
	s.put(t, ctx, "over/k", second)
	s.expectContent(t, ctx, "over/k", second)
	third := data(11, 2*s.partSize+1)
	s.put(t, ctx, "over/k", third)
	s.expectContent(t, ctx, "over/k", third)
	if keys := s.keys(t, ctx, ""); !slices.Equal(keys, []string{"over/k"}) {
		t.Fatalf("List after overwrites = %q; want one key", keys)
	}
	s.expectNoIncomplete(t, ctx)
}

// gate delivers the first n bytes of b, then waits for release before
// delivering the rest.
type gate struct {
	b       []byte
	n       int
	reached chan struct{}
	release chan struct{}
	off     int
}

func (g *gate) Read(p []byte) (int, error) {
	if g.off == g.n && g.reached != nil {
		close(g.reached)
		g.reached = nil
		<-g.release
	}
	if g.off == len(g.b) {
		return 0, io.EOF
	}
	end := len(g.b)
	if g.off < g.n {
		end = g.n
	}
	n := copy(p, g.b[g.off:end])
	g.off += n
	return n, nil
}

func testInFlight(t *testing.T, s *suite) {
	ctx := testContext(t)
	old := []byte("the previous object")
	s.put(t, ctx, "flight/old", old)
	// Past the first part, so a multipart upload is under way.
	for _, key := range []string{"flight/new", "flight/old"} {
		next := data(12, 2*s.partSize)
		g := &gate{b: next, n: int(s.partSize + s.partSize/2), reached: make(chan struct{}), release: make(chan struct{})}
		reached := g.reached
		done := make(chan error, 1)
		go func() { done <- s.st.Put(ctx, key, g) }()
		var once sync.Once
		release := func() { once.Do(func() { close(g.release) }) }
		t.Cleanup(release) // never leave the Put blocked, even when failing
		select {
		case <-reached:
		case err := <-done:
			t.Fatalf("Put(%q) returned %v before its reader finished", key, err)
		}

		// Nothing of the write in progress shows: no key, no temporary name.
		want := []string{"flight/old"}
		if key == "flight/old" {
			want = []string{"flight/new", "flight/old"}
		}
		if keys := s.keys(t, ctx, ""); !slices.Equal(keys, want) {
			t.Fatalf("List(\"\") while %q is being written = %q; want %q", key, keys, want)
		}
		if key == "flight/new" {
			s.expectAbsent(t, ctx, key)
		} else {
			s.expectContent(t, ctx, key, old)
			objs, err := s.st.List(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 || objs[0].Key != key || objs[0].Size != int64(len(old)) {
				t.Fatalf("List(%q) during an overwrite = %+v; want only the previous object of %d bytes", key, objs, len(old))
			}
		}

		release()
		if err := <-done; err != nil {
			t.Fatalf("Put(%q) after release: %v", key, err)
		}
		s.expectContent(t, ctx, key, next)
	}
	s.expectNoIncomplete(t, ctx)
}

var errSourceBroke = errors.New("source broke")

// failing delivers the first n bytes of b, then fails with err.
type failing struct {
	b   []byte
	n   int
	err error
}

func (f *failing) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	n := copy(p, f.b[:min(len(p), f.n)])
	f.b, f.n = f.b[n:], f.n-n
	return n, nil
}

func testAtomicReaderError(t *testing.T, s *suite) {
	ctx := testContext(t)
	p := int(s.partSize)
	old := []byte("must survive")
	s.put(t, ctx, "atomic/existing", old)
	cases := []struct {
		name  string
		after int
		err   error
	}{
		{"at-start", 0, errSourceBroke},
		{"small", 100, errSourceBroke},
		{"one-part", p - 1, errSourceBroke},
		{"at-part-boundary", p, errSourceBroke},
		{"multipart", 2*p + 10, errSourceBroke},
		// A truncated source (a cut network stream) fails this way; it is
		// not the end of the data.
		{"unexpected-eof-small", 100, io.ErrUnexpectedEOF},
		{"unexpected-eof-multipart", p + 10, io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		for _, key := range []string{"atomic/new-" + tc.name, "atomic/existing"} {
			r := &failing{b: data(13, int64(tc.after)+1000), n: tc.after, err: tc.err}
			err := s.st.Put(ctx, key, r)
			if !errors.Is(err, tc.err) {
				t.Fatalf("%s: Put(%q) with a reader failing after %d bytes = %v; want the reader's error %v", tc.name, key, tc.after, err, tc.err)
			}
			if key == "atomic/existing" {
				s.expectContent(t, ctx, key, old)
			} else {
				s.expectAbsent(t, ctx, key)
			}
			s.expectNoIncomplete(t, ctx)
		}
	}
	if keys := s.keys(t, ctx, ""); !slices.Equal(keys, []string{"atomic/existing"}) {
		t.Fatalf("List after failed Puts = %q; want only the untouched object", keys)
	}
}

// cancelling delivers b and cancels the context once n bytes are out.
type cancelling struct {
	b      []byte
	n      int
	off    int
	cancel context.CancelFunc
}

func (c *cancelling) Read(p []byte) (int, error) {
	if c.off >= c.n {
		c.cancel()
	}
	if c.off == len(c.b) {
		return 0, io.EOF
	}
	n := copy(p, c.b[c.off:])
	c.off += n
	return n, nil
}

func testAtomicCancel(t *testing.T, s *suite) {
	ctx := testContext(t)
	p := int(s.partSize)
	old := []byte("must survive")
	s.put(t, ctx, "cancel/existing", old)
	cases := []struct {
		name  string
		after int
		total int
	}{
		{"before-start", -1, 100},
		{"small", 50, 100},
		{"multipart", p + p/2, 3 * p},
		{"last-part", 2*p + 10, 2*p + 20},
	}
	for _, tc := range cases {
		for _, key := range []string{"cancel/new-" + tc.name, "cancel/existing"} {
			pctx, cancel := context.WithCancel(ctx)
			if tc.after < 0 {
				cancel()
			}
			r := &cancelling{b: data(14, int64(tc.total)), n: tc.after, cancel: cancel}
			err := s.st.Put(pctx, key, r)
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: Put(%q) cancelled after %d bytes = %v; want an error wrapping context.Canceled", tc.name, key, tc.after, err)
			}
			if key == "cancel/existing" {
				s.expectContent(t, ctx, key, old)
			} else {
				s.expectAbsent(t, ctx, key)
			}
			s.expectNoIncomplete(t, ctx)
		}
	}
}

func testConcurrentPuts(t *testing.T, s *suite) {
	ctx := testContext(t)
	const n = 8
	sizes := []int64{0, 10, 5000, s.partSize + 3, 70000, 1, 2*s.partSize - 1, 123456}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.st.Put(ctx, fmt.Sprintf("conc/%d/obj", i), opaque{bytes.NewReader(data(uint64(100+i), sizes[i]))})
		})
	}
	wg.Wait()
	var want []string
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Put %d: %v", i, err)
		}
		key := fmt.Sprintf("conc/%d/obj", i)
		want = append(want, key)
		s.expectContent(t, ctx, key, data(uint64(100+i), sizes[i]))
	}
	if keys := s.keys(t, ctx, "conc/"); !slices.Equal(keys, want) {
		t.Fatalf("List(conc/) = %q; want %q", keys, want)
	}
	s.expectNoIncomplete(t, ctx)
}

func testInvalidKeys(t *testing.T, s *suite) {
	ctx := testContext(t)
	bad := []string{
		"", "/abs", "/", "a//b", "a/", "../x", "a/../b", "a/..", "./a", "a/./b", ".", "..",
		`a\b`, "a\x00b", "new\nline", strings.Repeat("k", 1025),
	}
	for _, key := range bad {
		if err := s.st.Put(ctx, key, strings.NewReader("x")); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Put(%q) = %v; want ErrInvalid", key, err)
		}
		if _, err := s.st.Get(ctx, key, 0, -1); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Get(%q) = %v; want ErrInvalid", key, err)
		}
		if _, err := s.st.Stat(ctx, key); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Stat(%q) = %v; want ErrInvalid", key, err)
		}
		if err := s.st.Delete(ctx, key); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Delete(%q) = %v; want ErrInvalid", key, err)
		}
	}
	for _, prefix := range []string{"/", "/abs", "../", "a/../", "a//", `a\`} {
		if _, err := s.st.List(ctx, prefix); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("List(%q) = %v; want ErrInvalid", prefix, err)
		}
	}
	// Names that merely contain dots are fine.
	for _, key := range []string{"..a", "a..", ".hidden", "a/.b/c", "x.y.z", "sp ace/ünï"} {
		s.put(t, ctx, key, []byte(key))
		s.expectContent(t, ctx, key, []byte(key))
	}
	// A partial last segment may look like "." or "..".
	for prefix, want := range map[string][]string{"a/.": {"a/.b/c"}, ".": {"..a", ".hidden"}, "..": {"..a"}} {
		if got := s.keys(t, ctx, prefix); !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q; want %q", prefix, got, want)
		}
	}
}

func testString(t *testing.T, s *suite) {
	if s.st.String() == "" {
		t.Error("String() is empty; want a name for messages")
	}
}
