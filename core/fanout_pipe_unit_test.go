package core

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// The archive arrives whole and in order however the writes and reads of
// the two ends are cut, also when the writer runs ahead of the reader.
func TestBufPipeCarriesEveryByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	pr, pw := newBufPipe(64 << 10)
	go func() {
		rest := data
		wr := rand.New(rand.NewPCG(3, 4))
		for len(rest) > 0 {
			k := min(len(rest), 1+wr.IntN(200<<10))
			if _, err := pw.Write(rest[:k]); err != nil {
				pw.CloseWithError(err)
				return
			}
			rest = rest[k:]
		}
		pw.Close()
	}()
	var got bytes.Buffer
	buf := make([]byte, 100<<10)
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
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read %d bytes that differ from the %d written", got.Len(), len(data))
	}
}

// An aborted archive must not reach its end: the reader sees the abort at
// once, not the bytes still buffered and then io.EOF.
func TestBufPipeAbortHidesBufferedBytes(t *testing.T) {
	pr, pw := newBufPipe(1 << 10)
	if _, err := pw.Write([]byte("half an archive")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("pg_dump failed")
	pw.CloseWithError(boom)
	if n, err := pr.Read(make([]byte, 100)); n != 0 || !errors.Is(err, boom) {
		t.Fatalf("Read after an abort = %d, %v; want 0, %v", n, err, boom)
	}
}

// A destination whose Put returned stops taking bytes: a writer blocked on
// its full buffer gets the Put's error instead of waiting forever.
func TestBufPipeReaderCloseReleasesWriter(t *testing.T) {
	pr, pw := newBufPipe(1 << 10)
	putErr := errors.New("bucket gone")
	done := make(chan error, 1)
	go func() {
		_, err := pw.Write(make([]byte, 10<<10))
		done <- err
	}()
	// The writer fills the buffer, then waits for room.
	if _, err := io.ReadFull(pr, make([]byte, 512)); err != nil {
		t.Fatal(err)
	}
	pr.CloseWithError(putErr)
	if err := <-done; !errors.Is(err, putErr) {
		t.Fatalf("Write into a pipe whose reader closed = %v, want %v", err, putErr)
	}
	if _, err := pw.Write([]byte("x")); !errors.Is(err, putErr) {
		t.Fatalf("later Write = %v, want %v", err, putErr)
	}
}
