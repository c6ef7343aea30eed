package session

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// newEnv returns a session environment with one running arena.
func newEnv(t *testing.T, rules func(*sim.Arena) []wire.Rule) *Env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	lb, err := lobby.New(lobby.Config{
		MaxArenas: 1, Grace: time.Second, EmptyArenaTTL: time.Minute, Logger: logger,
		NewArena: func(id int) (*sim.Arena, error) {
			return sim.New(sim.Options{ID: id, Config: sim.DefaultConfig(), Seed: 1})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lb.Close(context.Background()) })
	return &Env{Lobby: lb, Metrics: metrics.New(), Logger: logger, Rules: rules}
}

// pipeClient serves a session over net.Pipe and returns the client end.
func pipeClient(t *testing.T, env *Env) (net.Conn, chan struct{}) {
	t.Helper()
	server, client := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		New(env, server, bufio.NewReader(server)).Serve()
	}()
	t.Cleanup(func() { client.Close(); <-done })
	return client, done
}

func sendHello(t *testing.T, c net.Conn, name string) {
	t.Helper()
	var enc wire.Encoder
	f := ws.MaskFrameInPlace(ws.NewBinaryFrame(enc.AppendHello(nil, &wire.Hello{Version: 1, Name: name})))
	_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if err := ws.WriteFrame(c, f); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads frames until one of type want, or a close frame, whose
// code it returns.
func readUntil(t *testing.T, c net.Conn, want wire.Type) (got bool, closeCode ws.StatusCode) {
	t.Helper()
	var dec wire.Decoder
	var msg wire.ServerMessage
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		h, err := ws.ReadHeader(c)
		if err != nil || h.Length > 1<<20 {
			t.Fatalf("reading for %v: %v (frame of %d bytes)", want, err, h.Length)
		}
		f := ws.Frame{Header: h, Payload: make([]byte, h.Length)}
		if _, err := io.ReadFull(c, f.Payload); err != nil {
			t.Fatalf("reading for %v: %v", want, err)
		}
		switch f.Header.OpCode {
		case ws.OpClose:
			code, _ := ws.ParseCloseFrameData(f.Payload)
			return false, code
		case ws.OpBinary:
			if err := dec.DecodeServer(f.Payload, &msg); err != nil {
				t.Fatal(err)
			}
			if msg.Type == want {
				return true, 0
			}
		}
	}
}

// TestPanicEndsOnlyItsSession makes the writer of the first session panic
// while encoding its welcome: that session is closed with 1011, and the
// next one plays on.
func TestPanicEndsOnlyItsSession(t *testing.T) {
	var calls atomic.Int32
	env := newEnv(t, func(*sim.Arena) []wire.Rule {
		if calls.Add(1) == 1 {
			panic("injected failure")
		}
		return []wire.Rule{{Name: "radius_factor", Value: 4}}
	})
	first, firstDone := pipeClient(t, env)
	sendHello(t, first, "unlucky")
	if got, code := readUntil(t, first, wire.TypeWelcome); got || code != ws.StatusInternalServerError {
		t.Fatalf("panicking session: welcome %v, close %d; want close 1011", got, code)
	}
	first.Close()
	<-firstDone

	second, _ := pipeClient(t, env)
	sendHello(t, second, "fine")
	if got, _ := readUntil(t, second, wire.TypeWelcome); !got {
		t.Fatal("second session got no welcome")
	}
	if got, _ := readUntil(t, second, wire.TypeSnap); !got {
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
