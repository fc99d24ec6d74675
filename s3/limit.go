package s3

import (
	"context"
	"net"

	"github.com/odoo-backup/odoo-backup/core"
)

// SetLimits caps the bytes this store moves on the wire: every connection
// it dials from now on pays l.Up for what it writes (request headers, TLS,
// retries and parallel parts included) and l.Down for what it reads. Open
// sets the destination's limits; call it before the store is used.
func (s *S3) SetLimits(l core.Limiters) {
	if l.Up == nil && l.Down == nil {
		s.watch.limits.Store(nil)
		return
	}
	s.watch.limits.Store(&l)
}

// limitedConn is a connection whose bytes pass through the limiters of its
// destination. Time spent waiting for the limiter is not the endpoint's
// silence: the stall watch is told so.
type limitedConn struct {
	net.Conn
	w        *stallWatch
	up, down *core.Limiter
}

func (c *limitedConn) wait(l *core.Limiter, n int) {
	done := c.w.Waiting()
	defer done()
	_ = l.Wait(context.Background(), n) // a background wait ends only when paid
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if c.down == nil {
		return c.Conn.Read(p)
	}
	if k := c.down.Chunk(); len(p) > k {
		p = p[:k]
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.wait(c.down, n)
	}
	return n, err
}

func (c *limitedConn) Write(p []byte) (int, error) {
	if c.up == nil {
		return c.Conn.Write(p)
	}
	written := 0
	for len(p) > 0 {
		k := min(len(p), c.up.Chunk())
		c.wait(c.up, k)
		n, err := c.Conn.Write(p[:k])
		written += n
		if err != nil {
			return written, err
		}
		p = p[k:]
	}
	return written, nil
}
