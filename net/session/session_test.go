package session

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// newEnv returns a session environment with one running arena of the
// default rules, sessions configured by cfg, and quiet logs.
func newEnv(t *testing.T, cfg Config) *Env {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	lb, err := lobby.New(lobby.Config{
		MaxArenas: 1, Grace: time.Second, EmptyArenaTTL: time.Minute, Logger: logger,
		NewArena: func(id int) (*sim.Arena, error) {
			return sim.New(sim.Options{ID: id, Config: ecs.DefaultConfig(), Seed: 1})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lb.Close(context.Background()) })
	return &Env{Config: cfg, Lobby: lb, Metrics: metrics.New(), Logger: logger,
		Rules: []wire.Rule{{Name: "radius_factor", Value: 4}}}
}

// client is the client end of a session served over net.Pipe.
type client struct {
	t    *testing.T
	conn net.Conn
	enc  wire.Encoder
	dec  wire.Decoder
	msg  wire.ServerMessage
	done chan struct{} // closed when the session's Serve has returned
}

// dial serves a session over net.Pipe and returns its client end. wrap, if
// not nil, wraps the server's end of the pipe.
func dial(t *testing.T, env *Env, wrap func(net.Conn) net.Conn) *client {
	t.Helper()
	server, conn := net.Pipe()
	c := &client{t: t, conn: conn, done: make(chan struct{})}
	served := server
	if wrap != nil {
		served = wrap(server)
	}
	go func() {
		defer close(c.done)
		New(env, served, bufio.NewReader(served)).Serve()
	}()
	t.Cleanup(func() { conn.Close(); <-c.done })
	return c
}

// sendFrame writes one masked client frame.
func (c *client) sendFrame(op ws.OpCode, payload []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := ws.WriteFrame(c.conn, ws.MaskFrameInPlace(ws.NewFrame(op, true, payload))); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) send(payload []byte) { c.t.Helper(); c.sendFrame(ws.OpBinary, payload) }

func (c *client) hello(name, token string) {
	c.t.Helper()
	c.send(c.enc.AppendHello(nil, &wire.Hello{Version: 1, Name: name, Token: token}))
}

// next reads the next message, skipping pongs. At a close frame it returns
// nil and the close code.
func (c *client) next(timeout time.Duration) (*wire.ServerMessage, ws.StatusCode) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		f, err := readFrame(c.conn)
		if err != nil {
			c.t.Fatalf("reading: %v", err)
		}
		switch f.Header.OpCode {
		case ws.OpClose:
			code, _ := ws.ParseCloseFrameData(f.Payload)
			return nil, code
		case ws.OpBinary:
			if err := c.dec.DecodeServer(f.Payload, &c.msg); err != nil {
				c.t.Fatal(err)
			}
			return &c.msg, 0
		}
	}
}

// readFrame reads one server frame, refusing one over 1 MiB.
func readFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > 1<<20 {
		return ws.Frame{}, fmt.Errorf("server frame of %d bytes", h.Length)
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(r, payload); err != nil {
		return ws.Frame{}, err
	}
	return ws.Frame{Header: h, Payload: payload}, nil
}

// readUntil reads messages until one of type want, or a close frame, whose
// code it returns.
func (c *client) readUntil(want wire.Type) (got bool, closeCode ws.StatusCode) {
	c.t.Helper()
	for {
		m, code := c.next(3 * time.Second)
		if m == nil {
			return false, code
		}
		if m.Type == want {
			return true, 0
		}
	}
}

// panicConn panics on its first Write, as a bug in the writer would.
type panicConn struct {
	net.Conn
	armed atomic.Bool
}

func (c *panicConn) Write(p []byte) (int, error) {
	if c.armed.CompareAndSwap(true, false) {
		panic("injected failure")
	}
	return c.Conn.Write(p)
}

// TestPanicEndsOnlyItsSession makes the writer of the first session panic
// while writing its welcome: that session is closed with 1011, and the
// next one plays on.
func TestPanicEndsOnlyItsSession(t *testing.T) {
	env := newEnv(t, Config{})
	first := dial(t, env, func(c net.Conn) net.Conn {
		p := &panicConn{Conn: c}
		p.armed.Store(true)
		return p
	})
	first.hello("unlucky", "")
	if got, code := first.readUntil(wire.TypeWelcome); got || code != ws.StatusInternalServerError {
		t.Fatalf("panicking session: welcome %v, close %d; want close 1011", got, code)
	}
	first.conn.Close()
	<-first.done

	second := dial(t, env, nil)
	second.hello("fine", "")
	if got, _ := second.readUntil(wire.TypeWelcome); !got {
		t.Fatal("second session got no welcome")
	}
	if !slices.Equal(second.msg.Welcome.Rules, env.Rules) {
		t.Fatalf("welcome rules %v, want %v", second.msg.Welcome.Rules, env.Rules)
	}
	if got, _ := second.readUntil(wire.TypeSnap); !got {
		t.Fatal("second session got no snap")
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  Ann  ", "Ann"},
		{"a\x00b\tc\u200bd", "abcd"},
		{"", "marble"},
		{"\x01\x02 ", "marble"},
		{"abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnop"},
		{"ééééééééééééééééé", "éééééééééééééééé"},
		{"日本語の名前", "日本語の名前"},
		{"bad\xffutf8", "badutf8"},
	}
	for _, tt := range tests {
		if got := CleanName(tt.in); got != tt.want {
			t.Errorf("CleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
