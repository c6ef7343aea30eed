package hostile

import (
	"context"
	"errors"
	"net"
	"testing"
)

// TestLoopbackOnly checks that every attack refuses to run against, or
// from, an address off loopback, before it opens any connection.
func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Target
	}{
		{"public address", Target{Addr: "192.0.2.1:4000"}},
		{"admin address", Target{Addr: "127.0.0.1:4000", Admin: "192.0.2.1:6060"}},
		{"host name", Target{Addr: "example.com:4000"}},
		{"source address", Target{Addr: "127.0.0.1:4000", Source: net.IPv4(192, 0, 2, 1)}},
	} {
		for _, a := range All() {
			if r := a.Run(context.Background(), tc.t); !errors.Is(r.Err, errNotLoopback) || r.Tries != 0 {
				t.Errorf("%s, %s: err %v after %d tries, want errNotLoopback before any", tc.name, a.Name, r.Err, r.Tries)
			}
		}
	}
}
