package core

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/pool"
)

// lockedStore is a memStore the pool's workers may use at once.
type lockedStore struct {
	mu sync.Mutex
	memStore
}

func (m *lockedStore) Put(ctx context.Context, key string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.memStore.Put(ctx, key, bytes.NewReader(b))
}

func (m *lockedStore) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.memStore.Stat(ctx, key)
}

// newTestPoolRun is a pool run into one sink on a memStore, for the files
// of dir.
func newTestPoolRun(t *testing.T, dir string) (*poolRun, *poolSink, *lockedStore) {
	st := &lockedStore{memStore: memStore{objects: map[string][]byte{}}}
	_, pw := newBufPipe(1)
	tg := &target{recording: &recording{store: st, b: Backup{Service: "prod"}}, dest: Destination{Name: "mem"}, pw: pw}
	s := &poolSink{t: tg, service: "prod", base: map[string]pool.Entry{}, objects: map[string]*poolObject{}}
	e := &Engine{}
	ctx := t.Context()
	return &poolRun{e: e, sinks: []*poolSink{s}, dir: dir, rep: e.reporter(nil),
		budget: newByteBudget(ctx, poolBuffered), streams: make(chan struct{}, poolStreams)}, s, st
}

// A file over poolWholeLimit is read twice (hashed, then deflated into its
// Put): a content that changed between the two reads fails the backup with
// a sentence naming the file, and its Put stores nothing; unchanged, its
// object holds its content and the entry its sizes.
func TestPoolLargeFileChangedBetweenReads(t *testing.T) {
	dir := t.TempDir()
	const fname = "ab/ab00000000000000000000000000000000000000"
	path := filepath.Join(dir, filepath.FromSlash(fname))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	content := []byte(strings.Repeat("an invoice line, ", 100_000)) // 1.7 MB
	r := rand.New(rand.NewPCG(1, 2))
	for i := len(content) / 2; i < len(content); i++ {
		content[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	run, sink, st := newTestPoolRun(t, dir)
	var buf []byte
	job, found, err := run.read(t.Context(), fname, &buf)
	if err != nil || !found || job == nil || job.deflated != nil {
		t.Fatalf("read: %+v, %v, %v; want a job for a large file, not held in memory", job, found, err)
	}
	changed := bytes.Clone(content)
	changed[len(changed)-1] ^= 1
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	err = run.store(t.Context(), job)
	var fe fileError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "the filestore file "+fname+" changed while it was being backed up") {
		t.Fatalf("store after the file changed: %v; want the sentence that it changed", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is not one line", err)
	}
	if len(st.objects) != 0 || len(sink.entries) != 0 {
		t.Fatalf("stored %d objects, %d entries; want none", len(st.objects), len(sink.entries))
	}

	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	run, sink, st = newTestPoolRun(t, dir)
	if job, _, err = run.read(t.Context(), fname, &buf); err != nil {
		t.Fatal(err)
	}
	if err := run.store(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	if len(sink.entries) != 1 || sink.facts.NewObjects != 1 {
		t.Fatalf("entries %+v, facts %+v; want one new object", sink.entries, sink.facts)
	}
	en := sink.entries[0]
	obj := st.objects[pool.ObjectKey("prod", en.Object)]
	if int64(len(obj)) != en.Stored || en.Stored != en.Deflated || en.Size != int64(len(content)) || en.Deflated >= en.Size {
		t.Errorf("entry %+v for an object of %d bytes; want its sizes, deflated smaller than the file", en, len(obj))
	}
	got, err := io.ReadAll(pool.Open(bytes.NewReader(obj), en))
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("the object holds %d bytes (%v); want the file's %d", len(got), err, len(content))
	}
}

// A small file is deflated in memory once, and a second file with the same
// content (another name) finds the object this backup stored instead of
// storing it again.
func TestPoolSmallFilesShareAnObject(t *testing.T) {
	dir := t.TempDir()
	content := []byte(strings.Repeat("the same attachment twice ", 40))
	names := []string{"aa/aa00000000000000000000000000000000000000", "bb/bb00000000000000000000000000000000000000"}
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run, sink, st := newTestPoolRun(t, dir)
	lost, err := run.e.poolFiles(t.Context(), run.sinks, dir, append(names, "cc/cc00000000000000000000000000000000000000"), run.rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 1 || lost[0] != "cc/cc00000000000000000000000000000000000000" {
		t.Errorf("lost %q; want the file the directory lacks", lost)
	}
	if len(st.objects) != 1 || sink.facts.NewObjects != 1 || len(sink.entries) != 2 || sink.facts.MismatchCount != 2 {
		t.Errorf("%d objects, facts %+v, %d entries; want one object for two files, both mismatching their names", len(st.objects), sink.facts, len(sink.entries))
	}
}
