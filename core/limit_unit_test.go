package core

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when someone sleeps on it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) install(l *Limiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.t = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return c.t }
	l.sleep = func(_ context.Context, d time.Duration) error { c.t = c.t.Add(d); return nil }
	l.last = c.t
}

// The bytes that pass a limiter take, on its clock, the time the rate
// says: no faster (beyond the first burst) and no slower, however they are
// cut, and two streams sharing it share its rate.
func TestLimiterKeepsToItsRate(t *testing.T) {
	const rate = 8 << 20
	for _, write := range []int{1000, 64 << 10, 1 << 20, 5 << 20} {
		l := NewLimiter(rate)
		var clk fakeClock
		clk.install(l)
		start := clk.t
		var a, b sizeCounter
		wa, wb := LimitWriter(t.Context(), &a, l), LimitWriter(t.Context(), &b, l)
		total := 0
		chunk := bytes.Repeat([]byte{7}, write)
		for total < 8<<20 {
			w := wa
			if (total/write)%2 == 1 {
				w = wb
			}
			if _, err := w.Write(chunk); err != nil {
				t.Fatal(err)
			}
			total += write
		}
		if int(a.n+b.n) != total {
			t.Fatalf("writes of %d: %d bytes arrived; want %d", write, a.n+b.n, total)
		}
		took := clk.t.Sub(start).Seconds()
		want := float64(total-int(burstOf(rate))) / rate
		if took < want*0.999 || took > want*1.001 {
			t.Errorf("writes of %d: %d bytes took %.4fs at %d B/s; want %.4fs", write, total, took, rate, want)
		}
	}
}

func TestLimitReaderKeepsToItsRate(t *testing.T) {
	const rate = 100_000
	l := NewLimiter(rate)
	var clk fakeClock
	clk.install(l)
	start := clk.t
	data := bytes.Repeat([]byte("x"), 1_000_000)
	got, err := io.ReadAll(LimitReader(t.Context(), bytes.NewReader(data), l))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want all %d", len(got), err, len(data))
	}
	took := clk.t.Sub(start).Seconds()
	want := float64(len(data)-int(burstOf(rate))) / rate
	if took < want*0.999 || took > want*1.001 {
		t.Errorf("reading took %.4fs; want %.4fs", took, want)
	}
	if l.Taken() != int64(len(data)) {
		t.Errorf("Taken = %d; want %d", l.Taken(), len(data))
	}
}

// A rate changed to 0 stops limiting at once, and a wait ends with its
// context.
func TestLimiterUnlimitedAndCancelled(t *testing.T) {
	l := NewLimiter(1000)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.Wait(ctx, 10_000); err == nil {
		t.Error("Wait for 10 s of bytes with an ended context succeeded; want its error")
	}
	l.SetRate(0)
	if d := l.reserve(1 << 30); d != 0 {
		t.Errorf("an unlimited limiter asks for a wait of %s", d)
	}
	var nilL *Limiter
	if err := nilL.Wait(ctx, 5); err != nil || nilL.Rate() != 0 {
		t.Errorf("a nil limiter waits or has a rate: %v", err)
	}
}

// One destination has one limiter pair in the process, which follows its
// limits; a destination without a limit gets none.
func TestDestinationLimitersAreShared(t *testing.T) {
	d := Destination{ID: 987654, Name: "limited", Limits: BandwidthLimits{Upload: 1 << 20, Download: 2 << 20}}
	a, b := DestinationLimiters(d), DestinationLimiters(d)
	if a.Up == nil || a.Down == nil || a.Up != b.Up || a.Down != b.Down {
		t.Fatalf("two opens of one destination got limiters %+v and %+v; want the same two", a, b)
	}
	if a.Up.Rate() != 1<<20 || a.Down.Rate() != 2<<20 {
		t.Errorf("rates %d, %d; want the destination's", a.Up.Rate(), a.Down.Rate())
	}
	d.Limits = BandwidthLimits{Upload: 3 << 20}
	c := DestinationLimiters(d)
	if c.Up != a.Up || c.Down != nil || a.Up.Rate() != 3<<20 || a.Down.Rate() != 0 {
		t.Errorf("after the limits changed: %+v, rates %d, %d; want the upload limiter at 3 MiB/s and no download limit", c, a.Up.Rate(), a.Down.Rate())
	}
	other := DestinationLimiters(Destination{ID: 987655, Limits: BandwidthLimits{Upload: 1 << 20}})
	if other.Up == a.Up {
		t.Error("two destinations share a limiter")
	}
	n1, n2 := DestinationLimiters(Destination{Limits: BandwidthLimits{Upload: 5}}), DestinationLimiters(Destination{Limits: BandwidthLimits{Upload: 5}})
	if n1.Up == n2.Up {
		t.Error("two unsaved destinations share a limiter")
	}
	if none := DestinationLimiters(Destination{ID: 987656}); none.Up != nil || none.Down != nil {
		t.Errorf("a destination without limits got limiters %+v", none)
	}
}
