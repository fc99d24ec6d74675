package s3

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
)

// DefaultStallTimeout bounds how long a frozen endpoint (a server that
// accepts connections but answers nothing, a network that drops every
// packet) can hold an operation: when no byte moves to or from the
// endpoint for this long, the operation fails, retries included. A slow
// endpoint that keeps moving bytes is never cut off; an upload may rightly
// take hours.
const DefaultStallTimeout = 30 * time.Second

// errStalled is the cancellation cause of an operation that moved nothing
// for the stall timeout.
var errStalled = errors.New("no data moved")

// stallWatch knows when a store last moved a byte: on its connections, or
// from the source a Put reads (a slow producer is not a stalled endpoint).
type stallWatch struct {
	timeout time.Duration
	// last is the time of the last byte moved, in Unix nanoseconds.
	last atomic.Int64
	// waiting counts the Puts blocked reading their source: the endpoint
	// cannot be blamed for a silence the source causes.
	waiting atomic.Int64
	// limits, when set, cap the bytes on the connections dialed after
	// (see SetLimits).
	limits atomic.Pointer[core.Limiters]
}

func newStallWatch(timeout time.Duration) *stallWatch {
	w := &stallWatch{timeout: timeout}
	w.touch()
	return w
}

func (w *stallWatch) touch() { w.last.Store(time.Now().UnixNano()) }

// Waiting marks a Put blocked on its source until done is called
// (storekit.Watcher).
func (w *stallWatch) Waiting() (done func()) {
	w.waiting.Add(1)
	return func() {
		w.touch()
		w.waiting.Add(-1)
	}
}

// opState is what an operation's context knows of its stall watch.
type opState struct {
	w     *stallWatch
	begun int64
}

type opKey struct{}

// withOp marks ctx as an operation watched by w from now.
func (w *stallWatch) withOp(ctx context.Context) (context.Context, int64) {
	begun := time.Now().UnixNano()
	return context.WithValue(ctx, opKey{}, &opState{w: w, begun: begun}), begun
}

// guard returns ctx cancelled with errStalled once the store has moved no
// byte for the timeout since the operation began; stop ends the watch.
func (w *stallWatch) guard(ctx context.Context) (context.Context, func()) {
	octx, begun := w.withOp(ctx)
	gctx, cancel := context.WithCancelCause(octx)
	stop := w.onStall(begun, func() { cancel(errStalled) })
	return gctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

// onStall calls fn once the store has moved no byte for the timeout since
// begun, unless stop is called first.
func (w *stallWatch) onStall(begun int64, fn func()) (stop func()) {
	var timer *time.Timer
	check := func() {
		idle := time.Duration(time.Now().UnixNano() - max(w.last.Load(), begun))
		if idle >= w.timeout && w.waiting.Load() == 0 {
			fn()
			return
		}
		timer.Reset(max(w.timeout-idle, w.timeout/10))
	}
	timer = time.AfterFunc(w.timeout, check)
	return func() { timer.Stop() }
}

// stalled reports whether the operation of gctx (made by guard or withOp)
// ended for a stall: the watch cut it off, or it failed (a connection's
// idle deadline) after nothing had moved for about the timeout.
func stalled(gctx context.Context) bool {
	if errors.Is(context.Cause(gctx), errStalled) {
		return true
	}
	op, ok := gctx.Value(opKey{}).(*opState)
	if !ok {
		return false
	}
	idle := time.Duration(time.Now().UnixNano() - max(op.w.last.Load(), op.begun))
	// The idle deadline is moved at most every tenth of the timeout, so it
	// may fire that much before a full timeout of silence.
	return idle >= op.w.timeout*9/10 && op.w.waiting.Load() == 0
}

// stallError is the one sentence of an operation cut off for a stall.
func (s *S3) stallError(doing string) error {
	return userErr(core.ErrUnreachable, errStalled,
		"the S3 endpoint %s stopped answering while %s: nothing moved for %s; check that the server is up and reachable, then try again",
		s.cfg.Endpoint, doing, s.watch.timeout)
}

// idleConn fails a read or write that waits on the endpoint for the
// timeout: the deadline (both directions: the transport reads the response
// while it writes the body) moves forward when a read or write starts and
// with every byte, so a slow transfer goes on, a reader that pauses
// between reads (a restore busy building an index) is not blamed, and a
// frozen transfer ends.
type idleConn struct {
	net.Conn
	w *stallWatch
	// lastSet is when the deadline was last moved (Unix nanoseconds); it
	// is moved at most every tenth of the timeout.
	lastSet atomic.Int64
}

// chunk bounds one write, so a large buffer written slowly still moves the
// deadline as it goes.
const chunk = 64 << 10

func (c *idleConn) extend() {
	now := time.Now()
	if now.UnixNano()-c.lastSet.Load() >= int64(c.w.timeout/10) {
		c.lastSet.Store(now.UnixNano())
		_ = c.Conn.SetDeadline(now.Add(c.w.timeout))
	}
}

func (c *idleConn) moved() {
	c.w.touch()
	c.extend()
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.extend()
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.moved()
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		c.extend()
		n, err := c.Conn.Write(p[:min(len(p), chunk)])
		written += n
		if n > 0 {
			c.moved()
		}
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// dialer wraps every connection of a store in an idleConn, and in a
// limitedConn when the store has limits.
func (w *stallWatch) dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := &idleConn{Conn: conn, w: w}
		c.lastSet.Store(time.Now().UnixNano())
		_ = conn.SetDeadline(time.Now().Add(w.timeout))
		if l := w.limits.Load(); l != nil {
			return &limitedConn{Conn: c, w: w, up: l.Up, down: l.Down}, nil
		}
		return c, nil
	}
}
