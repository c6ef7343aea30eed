package session

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// grace is the lobby's resume window in these tests (PROTOCOL.md's).
const grace = 10 * time.Second

// newEnv returns a session environment with one running arena of the
// default rules, sessions configured by cfg, and quiet logs. Called inside
// a synctest bubble, the arena, the lobby's timers and every session run
// on the bubble's fake clock.
func newEnv(t *testing.T, cfg Config) *Env {
	t.Helper()
	return newEnvLogger(t, cfg, slog.New(slog.DiscardHandler))
}

func newEnvLogger(t *testing.T, cfg Config, logger *slog.Logger) *Env {
	t.Helper()
	lb, err := lobby.New(lobby.Config{
		MaxArenas: 1, Grace: grace, EmptyArenaTTL: time.Minute, Logger: logger,
		NewArena: func(id int) (*sim.Arena, error) {
			return sim.New(sim.Options{ID: id, Config: sim.DefaultConfig(), Seed: 1})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lb.Close(context.Background()) })
	return &Env{Config: cfg, Lobby: lb, Metrics: metrics.New(), Logger: logger,
		Rules: []wire.Rule{{Name: "radius_factor", Value: 4}}}
}

// value reads a counter.
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// client is the client end of a session served over net.Pipe, which works
// inside a synctest bubble (a socket would not).
type client struct {
	t    *testing.T
	conn net.Conn
	wmu  sync.Mutex // one frame at a time: pongs come from the reading goroutine
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
	if err := c.writeFrame(op, payload); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// writeFrame writes one whole masked client frame; safe from any
// goroutine.
func (c *client) writeFrame(op ws.OpCode, payload []byte) error {
	return c.writeFrame2(op, true, payload)
}

// writeFrame2 writes one masked client frame, a fragment unless fin.
func (c *client) writeFrame2(op ws.OpCode, fin bool, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	// One Write per frame: on net.Pipe a separate empty payload write
	// would wait for a read that never comes.
	b, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewFrame(op, fin, slices.Clone(payload))))
	if err != nil {
		return err
	}
	_, err = c.conn.Write(b)
	return err
}

// sendFrame2 is writeFrame2 failing the test on an error.
func (c *client) sendFrame2(op ws.OpCode, fin bool, payload []byte) {
	c.t.Helper()
	if err := c.writeFrame2(op, fin, payload); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) send(payload []byte) { c.t.Helper(); c.sendFrame(ws.OpBinary, payload) }

func (c *client) hello(name, token string) {
	c.t.Helper()
	c.send(c.enc.AppendHello(nil, &wire.Hello{Version: 1, Name: name, Token: token}))
}

// next reads the next message, skipping pongs and answering pings, as
// every client must (a ping left unanswered ends the session as a slow
// consumer). At a close frame it returns nil and the close code.
func (c *client) next(timeout time.Duration) (*wire.ServerMessage, ws.StatusCode) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		f, err := readFrame(c.conn)
		if err != nil {
			c.t.Fatalf("reading: %v", err)
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			_ = c.writeFrame(ws.OpPong, f.Payload)
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

// expect reads until a message of type want, failing on a close.
func (c *client) expect(want wire.Type) *wire.ServerMessage {
	c.t.Helper()
	if got, code := c.readUntil(want); !got {
		c.t.Fatalf("closed with %d while waiting for %v", code, want)
	}
	return &c.msg
}

// expectClose reads until the close frame, within timeout, and returns its
// code and every error code seen on the way.
func (c *client) expectClose(timeout time.Duration) (ws.StatusCode, []wire.ErrorCode) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var codes []wire.ErrorCode
	for {
		m, code := c.next(time.Until(deadline))
		switch {
		case m == nil:
			return code, codes
		case m.Type == wire.TypeError:
			codes = append(codes, m.Error.Code)
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
// while writing its welcome: that session gets error internal and is
// closed with 1011, and the next one plays on.
func TestPanicEndsOnlyItsSession(t *testing.T) {
	env := newEnv(t, Config{})
	first := dial(t, env, func(c net.Conn) net.Conn {
		p := &panicConn{Conn: c}
		p.armed.Store(true)
		return p
	})
	first.hello("unlucky", "")
	// The welcome's write panicked: what comes is an internal error, then 1011.
	code, errs := first.expectClose(5 * time.Second)
	if code != ws.StatusInternalServerError || !slices.Equal(errs, []wire.ErrorCode{wire.CodeInternal}) {
		t.Fatalf("panicking session: close %d after errors %v; want 1011 after internal", code, errs)
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

// TestHelloDeadline: a client that says nothing is refused with no_hello
// and 1002 when HelloTimeout (5 s) has passed, and not before.
func TestHelloDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{})
		c := dial(t, env, nil)
		start := time.Now()
		code, errs := c.expectClose(time.Minute)
		if code != ws.StatusProtocolError || len(errs) == 0 || errs[len(errs)-1] != wire.CodeNoHello {
			t.Fatalf("close %d after errors %v; want 1002 after no_hello", code, errs)
		}
		if waited := time.Since(start); waited != 5*time.Second {
			t.Fatalf("refused after %v, want the 5 s hello timeout", waited)
		}
	})
}

// TestRateLimitCloses floods inputs far over the 60 a second allowed: the
// client is told rate_limited at most once a second, the excess is dropped
// and counted, and after RateLimitClose (5 s) over the limit the session
// is closed with 1008.
func TestRateLimitCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{})
		c := dial(t, env, nil)
		c.hello("spammer", "")
		c.expect(wire.TypeWelcome)
		start := time.Now()
		// An input every 2 ms until the session is closed.
		sent := make(chan int)
		go func() {
			var enc wire.Encoder
			seq := uint32(1)
			for ; ; seq++ {
				if c.writeFrame(ws.OpBinary, enc.AppendInput(nil, &wire.Input{Seq: seq, Angle: 1})) != nil {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			sent <- int(seq - 1)
		}()
		code, errs := c.expectClose(time.Minute)
		closedAfter := time.Since(start)
		c.conn.Close()
		n := <-sent
		if code != ws.StatusPolicyViolation || len(errs) == 0 || errs[0] != wire.CodeRateLimited {
			t.Fatalf("close %d after errors %v, want 1008 after rate_limited", code, errs)
		}
		for _, e := range errs {
			if e != wire.CodeRateLimited {
				t.Fatalf("errors %v, want only rate_limited", errs)
			}
		}
		// One notice a second over 5 s, the last perhaps cut off by the
		// close, and the closing error.
		if len(errs) < 5 || len(errs) > 7 {
			t.Fatalf("%d rate_limited errors in %v, want one a second and the last", len(errs), closedAfter)
		}
		limit := 5 * time.Second
		if closedAfter < limit || closedAfter > limit+100*time.Millisecond {
			t.Fatalf("closed %v after the flood began, want just over RateLimitClose (%v)", closedAfter, limit)
		}
		// About 60 a second (and a first burst) got through.
		dropped := value(t, env.Metrics.Drops.WithLabelValues("rate_limited_input"))
		if passed := float64(n) - dropped; passed < 250 || passed > 400 {
			t.Fatalf("%d inputs sent, %v dropped: %v got through in %v, want about 60 a second", n, dropped, passed, closedAfter)
		}
	})
}

// TestResumeExpired: a token whose seat outlived its grace period, and a
// token never issued, are answered with resume_expired and a new session.
func TestResumeExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{})
		c := dial(t, env, nil)
		c.hello("late", "")
		w := c.expect(wire.TypeWelcome).Welcome
		// With a marble, the dropped seat is held for the grace period.
		c.send(c.enc.AppendSpawn(nil))
		for !c.msg.Snap.HasYou {
			c.expect(wire.TypeSnap)
		}
		c.conn.Close()
		<-c.done
		time.Sleep(grace) // past the grace period
		synctest.Wait()

		c2 := dial(t, env, nil)
		c2.hello("late", w.Token)
		if m := c2.expect(wire.TypeError); m.Error.Code != wire.CodeResumeExpired {
			t.Fatalf("error %q, want resume_expired", m.Error.Code)
		}
		w2 := c2.expect(wire.TypeWelcome).Welcome
		if w2.Session == w.Session || w2.Token == w.Token {
			t.Fatalf("expired token got session %d back", w2.Session)
		}
		// An unknown token is refused the same way.
		c3 := dial(t, env, nil)
		c3.hello("x", "not-a-token")
		if m := c3.expect(wire.TypeError); m.Error.Code != wire.CodeResumeExpired {
			t.Fatalf("unknown token: error %q", m.Error.Code)
		}
	})
}

// TestSlowConsumer stops reading. A write blocked for less than
// WriteTimeout (5 s) is waited for; one blocked for longer ends the session
// as a slow consumer, whose 4001 close still reaches the client if it
// reads within CloseTimeout. Meanwhile another client gets every tick's
// snapshot. (The pings that find a stalled client sooner are off: a long
// StallTimeout; see TestStalledReaderOverTCP.)
func TestSlowConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{CloseTimeout: 3 * time.Second, StallTimeout: time.Hour})
		slow := dial(t, env, nil)
		slow.hello("sloth", "")
		slow.expect(wire.TypeSnap)

		other := dial(t, env, nil)
		other.hello("busy", "")
		other.expect(wire.TypeSnap)
		var snaps atomic.Int32
		otherDone := make(chan struct{})
		go func() { // not other.next: it may not fail the test from here
			defer close(otherDone)
			var dec wire.Decoder
			var msg wire.ServerMessage
			_ = other.conn.SetReadDeadline(time.Time{})
			for {
				f, err := readFrame(other.conn)
				if err == nil && f.Header.OpCode == ws.OpPing {
					_ = other.writeFrame(ws.OpPong, f.Payload)
					continue
				}
				if err != nil || f.Header.OpCode != ws.OpBinary {
					return
				}
				if dec.DecodeServer(f.Payload, &msg) == nil && msg.Type == wire.TypeSnap {
					snaps.Add(1)
				}
			}
		}()
		defer func() { other.conn.Close(); <-otherDone }()

		a := env.Lobby.Arenas()[0]
		tick0 := a.Tick()
		time.Sleep(5*time.Second - 100*time.Millisecond)
		if m, code := slow.next(time.Second); m == nil {
			t.Fatalf("closed with %d after a stall shorter than WriteTimeout", code)
		}
		slow.expect(wire.TypeSnap)
		time.Sleep(5*time.Second + 500*time.Millisecond)
		synctest.Wait()
		// 10.4 s at 30 ticks a second.
		if ticks, n := a.Tick()-tick0, snaps.Load(); ticks < 300 || n < 300 {
			t.Fatalf("while one client stalled: %d ticks, %d snaps to the other client; want 312 each", ticks, n)
		}
		code, _ := slow.expectClose(time.Second)
		if code != wire.CloseSlowConsumer {
			t.Fatalf("stalled client closed with %d, want 4001", code)
		}
		slow.conn.Close()
		<-slow.done
		if got := value(t, env.Metrics.Closes.WithLabelValues("slow_consumer")); got != 1 {
			t.Fatalf("slow_consumer closes = %v, want 1", got)
		}
	})
}

// TestReliableQueueOverflow: while the writer is stuck on a client that
// does not read, the boards queue up; the one that finds the reliable
// queue full ends the session as a slow consumer.
func TestReliableQueueOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{WriteTimeout: time.Minute, ReliableQueue: 2})
		c := dial(t, env, nil)
		c.hello("sloth", "")
		c.expect(wire.TypeSnap)
		// A board a second: two fill the queue, the third overflows it.
		time.Sleep(3500 * time.Millisecond)
		code, _ := c.expectClose(5 * time.Second)
		if code != wire.CloseSlowConsumer {
			t.Fatalf("stalled client closed with %d, want 4001", code)
		}
		c.conn.Close()
		<-c.done
		if got := value(t, env.Metrics.Closes.WithLabelValues("slow_consumer")); got != 1 {
			t.Fatalf("slow_consumer closes = %v, want 1", got)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestPingsDroppedAreRecorded: WebSocket pings that come while a few
// pongs are still waiting for the writer are dropped, counted as
// ws_ping_queue_full and logged, at most a line a second. (The pings' rate
// limit is raised out of the way; TestWSPingRateLimit tests it.)
func TestPingsDroppedAreRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log syncBuffer
		env := newEnvLogger(t, Config{WSPingsPerSec: 100}, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
		c := dial(t, env, nil)
		// The client does not read: the first pong blocks the writer, four
		// more wait in the queue, and the rest are dropped.
		c.sendFrame(ws.OpPing, []byte("1"))
		synctest.Wait()
		for range 9 {
			c.sendFrame(ws.OpPing, []byte("n"))
		}
		synctest.Wait()
		drops := env.Metrics.Drops.WithLabelValues("ws_ping_queue_full")
		if got := value(t, drops); got != 5 {
			t.Fatalf("%v pings dropped, want 5", got)
		}
		if n := strings.Count(log.String(), "reason=ws_ping_queue_full"); n != 1 {
			t.Fatalf("%d log lines for 5 drops at once, want 1:\n%s", n, log.String())
		}
		time.Sleep(time.Second)
		c.sendFrame(ws.OpPing, []byte("n"))
		synctest.Wait()
		if got := value(t, drops); got != 6 {
			t.Fatalf("%v pings dropped, want 6", got)
		}
		if !strings.Contains(log.String(), "reason=ws_ping_queue_full session=0 unlogged_before=4") {
			t.Fatalf("a second later, no line counting the 4 unlogged drops:\n%s", log.String())
		}
		// The queued pongs go out once the client reads.
		_ = c.conn.SetReadDeadline(time.Now().Add(time.Second))
		for i := range 5 {
			f, err := readFrame(c.conn)
			if err != nil || f.Header.OpCode != ws.OpPong {
				t.Fatalf("frame %d: %v %v, want a pong", i, f.Header.OpCode, err)
			}
		}
	})
}

func TestDropReasonLabels(t *testing.T) {
	// The labels are in dashboards: they must not change.
	tests := []struct {
		r    DropReason
		want string
	}{
		{DropArenaInboxFull, "arena_inbox_full"},
		{DropArenaStopped, "arena_stopped"},
		{DropRateLimitedInput, "rate_limited_input"},
		{DropRateLimitedPing, "rate_limited_ping"},
		{DropRateLimitedSpawn, "rate_limited_spawn"},
		{DropWSPingQueueFull, "ws_ping_queue_full"},
		{DropRateLimitedWSPing, "rate_limited_ws_ping"},
		{DropRateLimitedWatch, "rate_limited_watch"},
		{numDropReasons, "DropReason(8)"},
	}
	if len(tests) != int(numDropReasons)+1 {
		t.Fatalf("%d reasons tested, want all %d", len(tests)-1, numDropReasons)
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("DropReason(%d).String() = %q, want %q", tt.r, got, tt.want)
		}
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
