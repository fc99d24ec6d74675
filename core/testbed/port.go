package testbed

import (
	"net"
	"testing"
)

// ClosedPort is a loopback address (host:port) nothing listens on, for
// tests of an unreachable endpoint.
func ClosedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
