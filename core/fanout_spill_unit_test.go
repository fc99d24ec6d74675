package core

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// trackedSpill counts the spill files opened and closed, and can fail
// writes as a full disk does.
type trackedSpill struct {
	mu             sync.Mutex
	opened, closed int
	full           bool
}

func (tr *trackedSpill) install(t *testing.T) {
	real := openSpill
	t.Cleanup(func() { openSpill = real })
	openSpill = func(dir string) (spillFile, error) {
		f, err := real(dir)
		if err != nil {
			return nil, err
		}
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.opened++
		return &trackedFile{spillFile: f, tr: tr}, nil
	}
}

func (tr *trackedSpill) counts() (int, int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.opened, tr.closed
}

type trackedFile struct {
	spillFile
	tr *trackedSpill
}

func (f *trackedFile) WriteAt(b []byte, off int64) (int, error) {
	f.tr.mu.Lock()
	full := f.tr.full
	f.tr.mu.Unlock()
	if full {
		return 0, &os.PathError{Op: "write", Path: "spill", Err: syscall.ENOSPC}
	}
	return f.spillFile.WriteAt(b, off)
}

func (f *trackedFile) Close() error {
	f.tr.mu.Lock()
	f.tr.closed++
	f.tr.mu.Unlock()
	return f.spillFile.Close()
}

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// A spilling pipe never holds its writer back: the whole archive is
// written before anything is read, and then read whole and in order; the
// spill file was never visible in its directory, and is closed with the
// reader.
func TestSpillPipeNeverBlocksTheWriter(t *testing.T) {
	var tr trackedSpill
	tr.install(t)
	dir := t.TempDir()
	data := randomBytes(3<<20+777, 5)
	pr, pw := newSpillPipe(64<<10, dir, "destination \"slow\"")
	for rest := data; len(rest) > 0; {
		k := min(len(rest), 100_000)
		if _, err := pw.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	pw.Close()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the spill directory shows %d entries; want none", len(entries))
	}
	got, err := io.ReadAll(pr)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (%v) that differ from the %d written", len(got), err, len(data))
	}
	if pr.p.sp.peak != int64(len(data)-64<<10) {
		t.Errorf("the spill file held at most %d bytes; want all but the buffer, %d", pr.p.sp.peak, len(data)-64<<10)
	}
	pr.CloseWithError(errPutReturned)
	if o, c := tr.counts(); o != 1 || c != 1 {
		t.Errorf("%d spill files opened, %d closed; want 1 and 1", o, c)
	}
}

// However writes and reads are cut, the archive arrives whole and in
// order, going from the buffer to the file and back many times.
func TestSpillPipeCarriesEveryByte(t *testing.T) {
	data := randomBytes(4<<20+12345, 9)
	pr, pw := newSpillPipe(32<<10, t.TempDir(), "destination \"slow\"")
	go func() {
		wr := rand.New(rand.NewPCG(3, 4))
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 1+wr.IntN(100<<10))
			if _, err := pw.Write(rest[:k]); err != nil {
				pw.CloseWithError(err)
				return
			}
			rest = rest[k:]
		}
		pw.Close()
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	var got bytes.Buffer
	buf := make([]byte, 150<<10)
	for {
		n, err := pr.Read(buf[:1+rng.IntN(len(buf))])
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	pr.CloseWithError(errPutReturned)
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read %d bytes that differ from the %d written", got.Len(), len(data))
	}
}

// The spill file is closed (and so freed) however the Put ends: it
// succeeds, it fails, or the archive is aborted.
func TestSpillFileFreedInEveryCase(t *testing.T) {
	for _, how := range []string{"success", "put fails", "aborted"} {
		var tr trackedSpill
		tr.install(t)
		pr, pw := newSpillPipe(1<<10, t.TempDir(), "destination \"slow\"")
		if _, err := pw.Write(make([]byte, 10<<10)); err != nil {
			t.Fatal(err)
		}
		switch how {
		case "success":
			pw.Close()
			if n, err := io.Copy(io.Discard, pr); n != 10<<10 || err != nil {
				t.Fatalf("%s: read %d, %v", how, n, err)
			}
			pr.CloseWithError(errPutReturned)
		case "put fails":
			io.ReadFull(pr, make([]byte, 2000))
			pr.CloseWithError(errors.New("bucket gone"))
			if _, err := pw.Write([]byte("x")); err == nil {
				t.Errorf("%s: Write after the Put failed succeeded", how)
			}
		case "aborted":
			boom := errors.New("pg_dump failed")
			pw.CloseWithError(boom)
			if _, err := pr.Read(make([]byte, 10)); !errors.Is(err, boom) {
				t.Errorf("%s: Read = %v; want %v", how, err, boom)
			}
			pr.CloseWithError(boom)
		}
		if o, c := tr.counts(); o != 1 || c != 1 {
			t.Errorf("%s: %d spill files opened, %d closed; want 1 and 1", how, o, c)
		}
	}
}

// A full disk fails the spilling pipe alone, with one sentence, and its
// reader sees the same error, so the Put stores nothing.
func TestSpillFullDiskFailsThatPipe(t *testing.T) {
	tr := trackedSpill{full: true}
	tr.install(t)
	dir := t.TempDir()
	pr, pw := newSpillPipe(1<<10, dir, "destination \"slow\"")
	_, err := pw.Write(make([]byte, 4<<10))
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), `destination "slow"`) ||
		strings.Count(err.Error(), ". ") != 0 {
		t.Fatalf("Write to a full disk = %v; want one sentence wrapping ErrNoSpace that names %s and the destination", err, dir)
	}
	if _, rerr := io.ReadAll(pr); !errors.Is(rerr, ErrNoSpace) {
		t.Errorf("the reader read on with %v; want the full disk", rerr)
	}
	pr.CloseWithError(err)
	if o, c := tr.counts(); o != 1 || c != 1 {
		t.Errorf("%d spill files opened, %d closed; want 1 and 1", o, c)
	}
}
