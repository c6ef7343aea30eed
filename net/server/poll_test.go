//go:build linux

package server_test

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/wire"
)

// These tests cover the sessions that the epoll poller reads (on Linux,
// every session on a TCP socket): the server's own tests run over TCP
// too, so every protocol test of this package goes through it as well.

// clientFrame returns a masked client frame, as a browser sends it.
func clientFrame(op ws.OpCode, fin bool, payload []byte) []byte {
	f := ws.NewFrame(op, fin, bytes.Clone(payload))
	f = ws.MaskFrameInPlace(f)
	var b bytes.Buffer
	if err := ws.WriteFrame(&b, f); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// settledGoroutines returns the fewest goroutines seen over a short
// while: snapshot workers and timers come and go on their own.
func settledGoroutines() int {
	least := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(25 * time.Millisecond)
		least = min(least, runtime.NumGoroutine())
	}
	return least
}

// TestIdleSessionsHoldNoGoroutine: a seated session whose client sends
// nothing holds no goroutine of its own (its reads wait in the poller).
func TestIdleSessionsHoldNoGoroutine(t *testing.T) {
	s := newTestServer(t, nil)
	const n = 24 // and the first: within the address's default 32
	// The first session starts the poller's goroutine; count from there.
	first, _ := join(t, s, "first")
	before := settledGoroutines()
	clients := make([]*testClient, n)
	for i := range clients {
		clients[i], _ = join(t, s, "idle")
	}
	after := settledGoroutines()
	t.Logf("goroutines: %d before, %d after %d idle sessions", before, after, n)
	if grown := after - before; grown >= n/4 {
		t.Fatalf("%d idle sessions took %d goroutines (from %d to %d), want far fewer than one each", n, grown, before, after)
	}
	// And they are alive: each still answers a ping.
	for i, c := range append(clients, first) {
		c.send(c.enc.AppendPing(nil, &wire.Ping{C: int64(i)}))
		if got := c.expect(wire.TypePong, 5*time.Second).Pong.C; got != int64(i) {
			t.Fatalf("pong %d, want %d", got, i)
		}
	}
}

// TestMessagesSplitByteByByte: frames that arrive a byte per TCP segment
// are put together across read passes.
func TestMessagesSplitByteByByte(t *testing.T) {
	s := newTestServer(t, nil)
	c := dial(t, s.Addr())
	trickle := func(frame []byte) {
		for i := range frame {
			if _, err := c.conn.Write(frame[i : i+1]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond) // one segment, one read pass each
		}
	}
	trickle(clientFrame(ws.OpBinary, true, c.enc.AppendHello(nil, &wire.Hello{Version: wire.Version, Name: "slow"})))
	c.expect(wire.TypeWelcome, 5*time.Second)
	trickle(clientFrame(ws.OpBinary, true, c.enc.AppendPing(nil, &wire.Ping{C: 7})))
	if got := c.expect(wire.TypePong, 5*time.Second).Pong.C; got != 7 {
		t.Fatalf("pong %d, want 7", got)
	}
}

// TestFragmentedMessageWithPing: a hello in three fragments with a
// WebSocket ping between two of them seats the session, and the ping is
// answered with its payload.
func TestFragmentedMessageWithPing(t *testing.T) {
	s := newTestServer(t, nil)
	c := dial(t, s.Addr())
	hello := c.enc.AppendHello(nil, &wire.Hello{Version: wire.Version, Name: "frag"})
	third := len(hello) / 3
	var b []byte
	b = append(b, clientFrame(ws.OpBinary, false, hello[:third])...)
	b = append(b, clientFrame(ws.OpPing, true, []byte("between"))...)
	b = append(b, clientFrame(ws.OpContinuation, false, hello[third:2*third])...)
	if _, err := c.conn.Write(b); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the last fragment in a read pass of its own
	if _, err := c.conn.Write(clientFrame(ws.OpContinuation, true, hello[2*third:])); err != nil {
		t.Fatal(err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var pong, welcome bool
	for !pong || !welcome {
		f, err := readFrame(c.rw)
		if err != nil {
			t.Fatalf("reading (pong %v, welcome %v): %v", pong, welcome, err)
		}
		switch f.Header.OpCode {
		case ws.OpPong:
			if string(f.Payload) != "between" {
				t.Fatalf("pong payload %q, want %q", f.Payload, "between")
			}
			pong = true
		case ws.OpBinary:
			if err := c.dec.DecodeServer(f.Payload, &c.msg); err != nil {
				t.Fatal(err)
			}
			if c.msg.Type != wire.TypeWelcome {
				t.Fatalf("first message %v, want a welcome", c.msg.Type)
			}
			welcome = true
		case ws.OpClose:
			t.Fatalf("closed: %v", f.Payload)
		}
	}
}

// TestPolledSessionEnds: a client that closes its socket, or resets it,
// ends its session, which gives its place back.
func TestPolledSessionEnds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		drop    func(*net.TCPConn)
		reasons []string // either side may see a reset first
	}{
		{"eof", func(c *net.TCPConn) { _ = c.CloseWrite() }, []string{"client_closed"}},
		// A last message and the end in one go: the read that takes the
		// message does not see the end, and the edge-triggered poller
		// reports no new arrival after it; the hang-up must still end it.
		{"data-then-eof", func(c *net.TCPConn) {
			var enc wire.Encoder
			frame, _ := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewBinaryFrame(enc.AppendPing(nil, &wire.Ping{C: 1}))))
			_, _ = c.Write(frame)
			_ = c.CloseWrite()
		}, []string{"client_closed"}},
		{"reset", func(c *net.TCPConn) { _ = c.SetLinger(0); _ = c.Close() }, []string{"read_error", "write_error", "client_closed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, func(c *server.Config) { c.MaxConnsPerIP = 1 })
			c, _ := join(t, s, tc.name)
			tc.drop(c.conn.(*net.TCPConn))
			deadline := time.Now().Add(5 * time.Second)
			for counterValue(t, s, "shatter_sessions", "") != 0 {
				if time.Now().After(deadline) {
					t.Fatal("the session did not end")
				}
				time.Sleep(10 * time.Millisecond)
			}
			var ended float64
			for _, r := range tc.reasons {
				ended += counterValue(t, s, "shatter_session_closes_total", `reason="`+r+`"`)
			}
			if ended != 1 {
				t.Fatalf("%v closes for %v, want 1", ended, tc.reasons)
			}
			// Its place is back: the one connection its address may hold.
			waitUntil(t, "a new connection from the address", func() bool {
				d := ws.Dialer{Timeout: time.Second}
				conn, _, _, err := d.Dial(t.Context(), "ws://"+s.Addr()+"/ws")
				if err != nil {
					return false
				}
				conn.Close()
				return true
			})
		})
	}
}

// TestPolledHelloDeadline: a client that sends no hello, or half of one,
// within HelloTimeout is refused with no_hello and 1002.
func TestPolledHelloDeadline(t *testing.T) {
	for _, tc := range []struct {
		name string
		sent func(c *testClient) []byte
	}{
		{"nothing", func(*testClient) []byte { return nil }},
		{"half a hello", func(c *testClient) []byte {
			f := clientFrame(ws.OpBinary, true, c.enc.AppendHello(nil, &wire.Hello{Version: wire.Version, Name: "half"}))
			return f[:len(f)/2]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, func(c *server.Config) { c.Session.HelloTimeout = 300 * time.Millisecond })
			c := dial(t, s.Addr())
			if b := tc.sent(c); b != nil {
				if _, err := c.conn.Write(b); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			code, errs := c.expectClose(5 * time.Second)
			if code != ws.StatusProtocolError || len(errs) != 1 || errs[0] != wire.CodeNoHello {
				t.Fatalf("close %d with errors %v, want 1002 after no_hello", code, errs)
			}
			if took := time.Since(start); took < 200*time.Millisecond {
				t.Fatalf("refused after %v, before the hello deadline", took)
			}
			// The client's close ends the session at once.
			if err := wsutil.WriteClientMessage(c.conn, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")); err != nil && !errors.Is(err, net.ErrClosed) {
				t.Fatal(err)
			}
			waitCloses(t, s, "no_hello", 1)
		})
	}
}
