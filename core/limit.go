package core

import (
	"context"
	"io"
	"sync"
	"time"
)

// Limiter is a token bucket of bytes: Wait takes n bytes' worth of tokens,
// waiting until the bucket has paid for them. Everything that shares one
// Limiter shares its rate. The bucket holds a tenth of a second of the
// rate, and callers take at most 64 KiB at a time (Chunk), so the bytes
// leave evenly. A rate of 0 limits nothing. It is safe for concurrent use.
type Limiter struct {
	mu     sync.Mutex
	rate   int64   // bytes per second; 0 none
	burst  int64   // most tokens the bucket holds
	tokens float64 // below 0: bytes already promised to waiting callers
	last   time.Time
	taken  int64 // every byte ever paid for

	// now and sleep are the clock; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// NewLimiter returns a limiter of rate bytes per second (0 none).
func NewLimiter(rate int64) *Limiter {
	l := &Limiter{now: time.Now, sleep: sleepCtx}
	l.SetRate(rate)
	return l
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// burstOf is the bucket's size: a tenth of a second of the rate (at least
// 512 bytes), so a caller that pauses for less than that (a disk flush, a
// busy scheduler) loses none of its rate. Callers take at most
// chunkOf(rate) at a time, so the bytes still leave evenly.
func burstOf(rate int64) int64 { return max(rate/10, 512) }

// chunkOf is the most bytes one Wait should take.
func chunkOf(rate int64) int64 { return min(burstOf(rate), 64<<10) }

// SetRate changes the rate from now on; the bucket starts full.
func (l *Limiter) SetRate(rate int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rate == l.rate && !l.last.IsZero() {
		return
	}
	l.rate = max(rate, 0)
	l.burst = burstOf(l.rate)
	l.tokens = float64(l.burst)
	l.last = l.now()
}

// Rate is the limiter's bytes per second, 0 for none.
func (l *Limiter) Rate() int64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

// Taken is how many bytes have passed through the limiter.
func (l *Limiter) Taken() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.taken
}

// Chunk is the most bytes one Wait should take: a caller moving more
// splits it, so its bytes leave evenly and other callers get their turn.
func (l *Limiter) Chunk() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate == 0 {
		return 1 << 30
	}
	return int(chunkOf(l.rate))
}

// reserve takes n tokens and says how long the caller must wait before
// moving them.
func (l *Limiter) reserve(n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.taken += int64(n)
	if l.rate == 0 {
		return 0
	}
	now := l.now()
	l.tokens = min(float64(l.burst), l.tokens+now.Sub(l.last).Seconds()*float64(l.rate))
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / float64(l.rate) * float64(time.Second))
}

// Wait takes n bytes from the bucket, waiting as long as the rate needs;
// it fails when ctx ends first (the bytes stay taken). A nil Limiter does
// not wait.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	if l == nil || n <= 0 {
		return nil
	}
	if d := l.reserve(n); d > 0 {
		return l.sleep(ctx, d)
	}
	return nil
}

// LimitReader reads from r no faster than l allows: each Read asks for at
// most l.Chunk() bytes and pays for what it got before returning.
func LimitReader(ctx context.Context, r io.Reader, l *Limiter) io.Reader {
	if l == nil {
		return r
	}
	return &limitedReader{ctx: ctx, r: r, l: l}
}

type limitedReader struct {
	ctx context.Context
	r   io.Reader
	l   *Limiter
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if c := r.l.Chunk(); len(p) > c {
		p = p[:c]
	}
	n, err := r.r.Read(p)
	if werr := r.l.Wait(r.ctx, n); werr != nil && err == nil {
		err = werr
	}
	return n, err
}

// LimitWriter writes to w no faster than l allows, in chunks of at most
// l.Chunk() bytes, each paid for before it is written.
func LimitWriter(ctx context.Context, w io.Writer, l *Limiter) io.Writer {
	if l == nil {
		return w
	}
	return &limitedWriter{ctx: ctx, w: w, l: l}
}

type limitedWriter struct {
	ctx context.Context
	w   io.Writer
	l   *Limiter
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), w.l.Chunk())
		if err := w.l.Wait(w.ctx, k); err != nil {
			return written, err
		}
		n, err := w.w.Write(p[:k])
		written += n
		if err != nil {
			return written, err
		}
		p = p[k:]
	}
	return written, nil
}

// Limiters are the two limiters of one destination in this process: Up
// for the bytes sent to it, Down for those read from it; nil where the
// destination has no such limit.
type Limiters struct {
	Up, Down *Limiter
}

// destinationLimiters holds one limiter pair per destination (by id) for
// the whole process, so everything it sends to or reads from one
// destination (parallel parts, several backups, copies, sweeps) shares
// that destination's limits.
var destinationLimiters = struct {
	sync.Mutex
	m map[int64]*[2]*Limiter
}{m: map[int64]*[2]*Limiter{}}

// DestinationLimiters returns the limiters of d, set to d.Limits: the
// same ones for every call with the same destination id, so whatever
// opened the destination shares them, and a changed limit applies to the
// stores opened before as well. A destination not yet saved (id 0) gets
// limiters of its own.
func DestinationLimiters(d Destination) Limiters {
	var pair *[2]*Limiter
	if d.ID == 0 {
		pair = &[2]*Limiter{NewLimiter(0), NewLimiter(0)}
	} else {
		destinationLimiters.Lock()
		pair = destinationLimiters.m[d.ID]
		if pair == nil {
			pair = &[2]*Limiter{NewLimiter(0), NewLimiter(0)}
			destinationLimiters.m[d.ID] = pair
		}
		destinationLimiters.Unlock()
	}
	pair[0].SetRate(d.Limits.Upload)
	pair[1].SetRate(d.Limits.Download)
	var out Limiters
	if d.Limits.Upload > 0 {
		out.Up = pair[0]
	}
	if d.Limits.Download > 0 {
		out.Down = pair[1]
	}
	return out
}
