package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/sim"
	"golang.org/x/sys/unix"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
)

// TestIdleTimeout: a session without a marble that sends no spawn or
// input for IdleTimeout gets idle and 1008, and pings do not put it off;
// a spawn does, and a living marble holds it off for good.
func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{IdleTimeout: 3 * time.Second})
		idle := dial(t, env, nil)
		idle.hello("lurker", "")
		idle.expect(wire.TypeWelcome)
		start := time.Now()

		player := dial(t, env, nil)
		player.hello("player", "")
		player.expect(wire.TypeWelcome)
		time.Sleep(2 * time.Second)
		player.send(player.enc.AppendSpawn(nil)) // in time: the clock starts again

		// The lurker pings (a message, which does not count) every 500 ms
		// and reads until it is closed.
		stop := make(chan struct{})
		pinged := make(chan struct{})
		go func() {
			defer close(pinged)
			var enc wire.Encoder
			for i := int64(0); ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(500 * time.Millisecond):
				}
				if idle.writeFrame(ws.OpBinary, enc.AppendPing(nil, &wire.Ping{C: i})) != nil {
					return
				}
			}
		}()
		code, errs := idle.expectClose(time.Minute)
		close(stop)
		<-pinged
		if idleFor := time.Since(start); idleFor < 3*time.Second || idleFor > 3*time.Second+100*time.Millisecond {
			t.Fatalf("idle session closed after %v, want IdleTimeout (3 s)", idleFor)
		}
		if code != ws.StatusPolicyViolation || len(errs) != 1 || errs[0] != wire.CodeIdle {
			t.Fatalf("idle session: close %d after errors %v, want 1008 after idle", code, errs)
		}

		// The player spawned at 2 s and plays on well past 3 s after it.
		until := time.Now().Add(5 * time.Second)
		alive := 0
		for time.Now().Before(until) {
			m, code := player.next(time.Second)
			if m == nil {
				t.Fatalf("player closed with %d", code)
			}
			if m.Type == wire.TypeSnap && m.Snap.HasYou {
				alive++
			}
		}
		if alive == 0 {
			t.Fatalf("the player's marble was alive in %d snaps of 5 s", alive)
		}
		if got := value(t, env.Metrics.Closes.WithLabelValues("idle")); got != 1 {
			t.Fatalf("idle closes = %v, want 1", got)
		}
	})
}

// serveTCP serves sessions of env on a loopback TCP listener and returns
// its address. Each session ends when its client goes or the test ends.
func serveTCP(t *testing.T, env *Env) (addr string, ended <-chan time.Time) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan time.Time, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if _, err := ws.Upgrade(conn); err != nil {
					conn.Close()
					return
				}
				New(env, conn, bufio.NewReader(conn)).Serve()
				done <- time.Now()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), done
}

// dialBigBuffer connects a WebSocket client whose socket has a receive
// buffer of 4 MiB (the kernel may make it twice that): room for minutes of
// snapshots that a client which does not read leaves to its kernel.
func dialBigBuffer(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	return dialBuffer(t, addr, 4<<20)
}

// dialBuffer is dialBigBuffer with a receive buffer of rcvbuf bytes.
func dialBuffer(t *testing.T, addr string, rcvbuf int) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			if err != nil {
				return err
			}
			return serr
		}}
		return nd.DialContext(ctx, network, addr)
	}}
	conn, br, _, err := d.Dial(context.Background(), "ws://"+addr+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return conn, br
}

// tcpClient reads server frames over TCP; it answers pings if asked to.
type tcpClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	dec  wire.Decoder
	msg  wire.ServerMessage
}

// read reads one frame, answering a ping with its pong. It returns the
// frame's op code and, for a close, its code.
func (c *tcpClient) read(timeout time.Duration) (ws.OpCode, ws.StatusCode, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	f, err := readFrame(c.br)
	if err != nil {
		return 0, 0, err
	}
	switch f.Header.OpCode {
	case ws.OpPing:
		b, _ := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewPongFrame(f.Payload)))
		if _, err := c.conn.Write(b); err != nil {
			return 0, 0, err
		}
	case ws.OpClose:
		code, _ := ws.ParseCloseFrameData(f.Payload)
		return ws.OpClose, code, nil
	case ws.OpBinary:
		if err := c.dec.DecodeServer(f.Payload, &c.msg); err != nil {
			return 0, 0, err
		}
	}
	return f.Header.OpCode, 0, nil
}

func (c *tcpClient) hello(name string) {
	c.t.Helper()
	var enc wire.Encoder
	if err := ws.WriteFrame(c.conn, ws.MaskFrameInPlace(ws.NewBinaryFrame(enc.AppendHello(nil, &wire.Hello{Version: 1, Name: name})))); err != nil {
		c.t.Fatal(err)
	}
	for {
		op, _, err := c.read(5 * time.Second)
		if err != nil {
			c.t.Fatal(err)
		}
		if op == ws.OpBinary && c.msg.Type == wire.TypeSnap {
			return
		}
	}
}

// TestStalledReaderOverTCP: a client that stops reading is closed with
// 4001 within 5 s, although its 4 MiB receive buffer could hold minutes of
// snapshots; a client that reads at the tick rate on the same server is
// never closed. Real sockets, real time, the default bounds.
func TestStalledReaderOverTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 7 s")
	}
	env := newEnv(t, Config{})
	addr, ended := serveTCP(t, env)

	staller := &tcpClient{t: t}
	staller.conn, staller.br = dialBigBuffer(t, addr)
	staller.hello("staller")
	reader := &tcpClient{t: t}
	reader.conn, reader.br = dialBigBuffer(t, addr)
	reader.hello("reader")

	stopped := time.Now() // the staller reads nothing from now on
	readerDone := make(chan error, 1)
	go func() {
		// Reads every frame as it comes (a snap a tick) for 7 s.
		until := time.Now().Add(7 * time.Second)
		for time.Now().Before(until) {
			op, code, err := reader.read(2 * time.Second)
			if err == nil && op == ws.OpClose {
				err = fmt.Errorf("closed with %d", code)
			}
			if err != nil {
				readerDone <- err
				return
			}
		}
		readerDone <- nil
	}()
	var closedAt time.Time
	select {
	case closedAt = <-ended:
	case <-time.After(7 * time.Second):
		t.Fatal("the stalled client's session still runs 7 s after it stopped reading")
	}
	// The session ends CloseTimeout (1 s) after its close frame, waiting
	// for the client's answer.
	d := closedAt.Sub(stopped) - time.Second
	t.Logf("stalled client (4 MiB receive buffer) closed %v after it stopped reading, and its socket %v after", d.Round(time.Millisecond), closedAt.Sub(stopped).Round(time.Millisecond))
	if d > 5*time.Second {
		t.Fatalf("stalled client closed %v after it stopped reading, want within 5 s", d)
	}
	// What it was sent ends with the 4001 close frame.
	for {
		op, code, err := staller.read(time.Second)
		if err != nil {
			t.Fatalf("stalled client, reading what it was sent: %v", err)
		}
		if op == ws.OpClose {
			if code != wire.CloseSlowConsumer {
				t.Fatalf("stalled client closed with %d, want 4001", code)
			}
			break
		}
	}
	if err := <-readerDone; err != nil {
		t.Fatalf("the client reading at tick rate: %v", err)
	}
	if got := value(t, env.Metrics.Closes.WithLabelValues("slow_consumer")); got != 1 {
		t.Fatalf("slow_consumer closes = %v, want 1", got)
	}
}

// throttled reads at most perStep bytes every step once on is set: a
// client on a slow link.
type throttled struct {
	src     io.Reader
	on      atomic.Bool
	perStep int
	step    time.Duration
}

func (r *throttled) Read(p []byte) (int, error) {
	if r.on.Load() {
		time.Sleep(r.step)
		p = p[:min(len(p), r.perStep)]
	}
	return r.src.Read(p)
}

// TestSlowSteadyReaderSkipsTicks: a client on a slow link, that reads
// steadily but slower than its stream of snaps, is not taken for one that
// stopped reading: the server skips ticks for it, and its pings count
// from when they leave the server's kernel, so it plays on (with pings
// counted from when they were sent, it is closed within 5 s). The link
// is a client that reads 1.5 KB/s through the smallest receive buffer and
// a window clamped to 1 KiB, so that, as on a slow network, what it has
// not taken waits in the server's send queue; the arena is crowded (80
// marbles) so that its stream is faster than that. Real sockets, real
// time.
func TestSlowSteadyReaderSkipsTicks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 8 s")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the kernel send queue is read on Linux only")
	}
	// A crowded arena: about 5 KB of snaps a second.
	cfg := sim.DefaultConfig()
	cfg.MinPopulation = 80
	lb, err := lobby.New(lobby.Config{MaxArenas: 1, Grace: grace, Logger: slog.New(slog.DiscardHandler),
		NewArena: func(id int) (*sim.Arena, error) { return sim.New(sim.Options{ID: id, Config: cfg, Seed: 1}) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lb.Close(context.Background()) })
	env := &Env{Lobby: lb, Metrics: metrics.New(), Logger: slog.New(slog.DiscardHandler)}
	addr, ended := serveTCP(t, env)
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = errors.Join(syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1),
					syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, unix.TCP_WINDOW_CLAMP, 1<<10))
			})
			return errors.Join(err, serr)
		}}
		return nd.DialContext(ctx, network, addr)
	}}
	conn, br, _, err := d.Dial(context.Background(), "ws://"+addr+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var src io.Reader = conn
	if br != nil {
		src = br
	}
	slow := &throttled{src: src, perStep: 150, step: 100 * time.Millisecond}
	c := &tcpClient{t: t, conn: conn, br: bufio.NewReaderSize(slow, 512)}
	c.hello("slow")
	slow.on.Store(true)
	var enc wire.Encoder
	spawn := ws.MaskFrameInPlace(ws.NewBinaryFrame(enc.AppendSpawn(nil)))
	if err := ws.WriteFrame(conn, spawn); err != nil {
		t.Fatal(err)
	}
	snaps, until := 0, time.Now().Add(8*time.Second)
	for time.Now().Before(until) {
		op, code, err := c.read(3 * time.Second)
		switch {
		case err != nil:
			t.Fatalf("slow reader after %d snaps: %v", snaps, err)
		case op == ws.OpClose:
			t.Fatalf("slow reader closed with %d after %d snaps, want it to play on with ticks skipped", code, snaps)
		case op == ws.OpBinary && c.msg.Type == wire.TypeSnap:
			snaps++
		}
	}
	skipped := value(t, env.Metrics.SnapshotsSkipped)
	select {
	case <-ended:
		t.Fatalf("the slow reader's session ended (slow_consumer closes %v) after %d snaps read, %v skipped",
			value(t, env.Metrics.Closes.WithLabelValues("slow_consumer")), snaps, skipped)
	default:
	}
	t.Logf("slow reader: %d snaps read in 8 s, %v ticks skipped for it", snaps, skipped)
	if skipped == 0 {
		t.Fatal("no tick was skipped: the reader was not slower than its stream, the test proves nothing")
	}
}

// tcpPair returns both ends of a loopback TCP connection, closed when
// the test ends.
func tcpPair(tb testing.TB) (peer, server net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	peer, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { peer.Close() })
	server, err = ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { server.Close() })
	return peer, server
}

// newOnTCP makes a session of server, one side of tcpPair, which the test
// drives by hand (no Start): New takes the socket over (net/detach), so
// the session's connection, not server, is what the test's end closes.
func newOnTCP(tb testing.TB, env *Env, server net.Conn) *Conn {
	c := New(env, server, bufio.NewReader(server))
	tb.Cleanup(func() { c.conn.Close() })
	return c
}

// TestLivenessAllocs: the writer's checks before each snapshot (liveness,
// pings and their answers, the kernel queue over a real TCP socket, the
// byte count) allocate nothing in steady state.
func TestLivenessAllocs(t *testing.T) {
	peer, server := tcpPair(t)
	go func() { _, _ = io.Copy(io.Discard, peer) }() // the client reads everything

	c := newOnTCP(t, newEnv(t, Config{StallTimeout: 300 * time.Millisecond}), server)
	if _, ok := c.live.queue.queued(); !ok && runtime.GOOS == "linux" {
		t.Fatal("cannot read a TCP socket's send queue on Linux")
	}
	now := time.Now()
	var answer [8]byte
	pings := 0
	step := func() {
		now = now.Add(33 * time.Millisecond)
		if !c.checkLiveness(now, true) || c.backlogged(now) {
			t.Fatal("a reading client's session was stopped or backlogged")
		}
		c.live.wrote(300, now)
		// The client's pong for the latest ping, as the reader sees it.
		if c.live.ping != answer {
			pings++
			answer = c.live.ping
		}
		c.pong(answer[:])
	}
	for range 100 {
		step() // warm the buffer pool
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Fatalf("%v allocations per snapshot's checks, want 0", n)
	}
	if c.isClosing() || pings < 100 {
		t.Fatalf("closing %v after %d pings; want open, a ping every 100 ms", c.isClosing(), pings)
	}
}

// TestKernelQueue reads the send queue of a TCP socket whose peer does not
// read: it grows with what is written; net.Pipe has none to read.
func TestKernelQueue(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SIOCOUTQ is read on Linux only")
	}
	_, server := tcpPair(t) // its peer never reads
	var q kernelQueue
	q.init(server)
	if n, ok := q.queued(); !ok || n != 0 {
		t.Fatalf("fresh socket: queued %d, %v; want 0, true", n, ok)
	}
	// Far more than the peer's receive buffer takes: the rest waits in
	// ours.
	_ = server.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	written, _ := server.Write(make([]byte, 32<<20))
	if n, ok := q.queued(); !ok || n == 0 || n > written {
		t.Fatalf("after %d bytes written to a peer that does not read: queued %d, %v", written, n, ok)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var pq kernelQueue
	pq.init(a)
	if _, ok := pq.queued(); ok {
		t.Fatal("net.Pipe: a kernel queue was read")
	}
}
