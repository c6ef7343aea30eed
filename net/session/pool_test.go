package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// newSteppedEnv returns a session environment of one arena with
// population marbles that ticks only when the test calls clk.Tick, and a
// pool of workers snapshot workers. The sessions keep the wall clock:
// their sockets' deadlines are real.
func newSteppedEnv(t *testing.T, cfg Config, workers, population int) (*Env, *sim.ManualClock) {
	t.Helper()
	clk := sim.NewManualClock()
	arena := sim.DefaultConfig()
	arena.MinPopulation = population
	lb, err := lobby.New(lobby.Config{MaxArenas: 1, Grace: grace, Logger: slog.New(slog.DiscardHandler),
		NewArena: func(id int) (*sim.Arena, error) {
			return sim.New(sim.Options{ID: id, Config: arena, Seed: 1, Clock: clk})
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lb.Close(context.Background()) })
	return &Env{Config: cfg, Lobby: lb, Metrics: metrics.New(), Logger: slog.New(slog.DiscardHandler), Workers: workers}, clk
}

// serveSessions serves sessions of env on a loopback TCP listener until
// the test ends, and returns its address and a channel that receives
// each session's Conn when it is made and again when its Serve returns.
func serveSessions(t *testing.T, env *Env) (addr string, events <-chan *Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *Conn, 1024)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				if _, err := ws.Upgrade(conn); err != nil {
					conn.Close()
					return
				}
				c := New(env, conn, bufio.NewReader(conn))
				ch <- c
				c.Serve()
				ch <- c
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String(), ch
}

// stepClient is a client of a stepped arena: it reads the welcome, then
// each tick's snap.
type stepClient struct {
	tcpClient
	last uint64 // the tick of the latest snap read (the welcome's at first)
}

// joinStepped connects a client to env's sessions at addr, with a
// receive buffer of rcvbuf bytes, and returns once it has its welcome and
// the arena's next tick will have its player: the lobby queues the
// welcome before it posts the join, and a test that ticked between the
// two (a loaded machine) would wait for the snap of a tick its session
// was not in yet. Arenas takes the lobby's lock, which Join holds until
// the post.
func joinStepped(t *testing.T, env *Env, addr, name string, rcvbuf int) *stepClient {
	t.Helper()
	c := &stepClient{tcpClient: tcpClient{t: t}}
	c.conn, c.br = dialBuffer(t, addr, rcvbuf)
	var enc wire.Encoder
	if err := ws.WriteFrame(c.conn, ws.MaskFrameInPlace(ws.NewBinaryFrame(enc.AppendHello(nil, &wire.Hello{Version: 1, Name: name})))); err != nil {
		t.Fatal(err)
	}
	for {
		op, code, err := c.read(10 * time.Second)
		switch {
		case err != nil:
			t.Fatalf("%s, waiting for its welcome: %v", name, err)
		case op == ws.OpClose:
			t.Fatalf("%s closed with %d before its welcome", name, code)
		case op == ws.OpBinary && c.msg.Type == wire.TypeWelcome:
			c.last = c.msg.Welcome.Tick
			_ = env.Lobby.Arenas() // Once the join is posted.
			return c
		}
	}
}

// nextSnap reads until the snap of the tick after the last one read and
// returns an error for anything else: a snap of another tick (one was
// skipped), a close, or no snap within timeout.
func (c *stepClient) nextSnap(timeout time.Duration) error {
	for {
		op, code, err := c.read(timeout)
		switch {
		case err != nil:
			return fmt.Errorf("waiting for the snap of tick %d: %w", c.last+1, err)
		case op == ws.OpClose:
			return fmt.Errorf("closed with %d, waiting for the snap of tick %d", code, c.last+1)
		case op == ws.OpBinary && c.msg.Type == wire.TypeSnap:
			if c.msg.Snap.Tick != c.last+1 {
				return fmt.Errorf("snap of tick %d after tick %d: a tick was skipped", c.msg.Snap.Tick, c.last)
			}
			c.last++
			return nil
		}
	}
}

// TestBlockedClientLeavesPool: on a pool of one worker, a client that
// stops reading fills its socket; its session moves to a goroutine of its
// own, where it ends as a slow consumer (4001: its blocking write misses
// the write deadline, or its reliable queue fills meanwhile), while the
// other client on the same worker gets the snap of every tick, at once,
// all along. The arena steps one tick at a time, and each waits for the
// reader's snap, so no tick can be skipped for it; a worker that waited
// on the stalled socket would hold that snap back for the whole write
// deadline (4 s).
func TestBlockedClientLeavesPool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 7 s")
	}
	// Small kernel buffers on both sides, and a stall check (pings, the
	// queue's bound) slower than the write deadline. The long
	// CloseTimeout leaves the staller time to read its 4001.
	env, clk := newSteppedEnv(t, Config{WriteTimeout: 4 * time.Second, StallTimeout: time.Minute,
		SendBuffer: 4 << 10, CloseTimeout: 10 * time.Second}, 1, 80)
	addr, events := serveSessions(t, env)
	staller := joinStepped(t, env, addr, "staller", 1)
	stallerConn := <-events
	reader := joinStepped(t, env, addr, "reader", 4<<20)
	readerConn := <-events
	// The reader's welcome (16 KiB of terrain, over the queue's bound
	// with this small send buffer) must have left the server's kernel
	// queue, acknowledged, before the ticks start: else its first snap is
	// rightly skipped as backlogged, and the test wants every tick.
	var acked kernelQueue // read apart from the session's own
	acked.init(readerConn.conn)
	for deadline := time.Now().Add(5 * time.Second); ; {
		if q, ok := acked.queued(); !ok || q == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reader's welcome is still queued after 5 s")
		}
		time.Sleep(time.Millisecond)
	}
	if stallerConn.shard != &env.workers().shards[0] {
		t.Fatal("the staller's session is not on the pool's one worker")
	}
	// The staller reads its first snap, then nothing until its session
	// is ending.
	clk.Tick()
	if err := staller.nextSnap(5 * time.Second); err != nil {
		t.Fatalf("staller: %v", err)
	}
	if err := reader.nextSnap(5 * time.Second); err != nil {
		t.Fatalf("reader: %v", err)
	}
	stopped := time.Now()

	closed := make(chan error, 1) // what the staller read last
	draining, ended := false, false
	ticks, after := 0, 0
	var slowest time.Duration
	for deadline := time.Now().Add(30 * time.Second); after < 30; {
		if time.Now().After(deadline) {
			t.Fatalf("the staller's session still runs after %d ticks", ticks)
		}
		start := time.Now()
		clk.Tick()
		ticks++
		if err := reader.nextSnap(2 * time.Second); err != nil {
			t.Fatalf("reader, tick %d of the stall: %v", ticks, err)
		}
		slowest = max(slowest, time.Since(start))
		if !draining && stallerConn.isClosing() {
			draining = true
			t.Logf("staller's session finishing %v after it stopped reading", time.Since(stopped).Round(time.Millisecond))
			go func() {
				defer staller.conn.Close()
				for {
					op, code, err := staller.read(10 * time.Second)
					if err == nil && op == ws.OpClose && code != wire.CloseSlowConsumer {
						err = fmt.Errorf("closed with %d, want 4001", code)
					}
					if err != nil || op == ws.OpClose {
						closed <- err
						return
					}
				}
			}()
		}
		select {
		case c := <-events:
			if c != stallerConn {
				t.Fatal("the reader's session ended")
			}
			ended = true
		default:
		}
		if ended {
			after++ // the reader still gets every tick after it
		}
		time.Sleep(time.Second / 30)
	}
	t.Logf("reader: %d ticks during the stall and after, each snap within %v of its tick", ticks, slowest.Round(time.Millisecond))
	if err := <-closed; err != nil {
		t.Fatalf("staller, reading what it was sent: %v", err)
	}
	if stallerConn.closeReason != ReasonSlowConsumer {
		t.Fatalf("staller's session ended for %s, want slow_consumer", stallerConn.closeReason)
	}
	if got := value(t, env.Metrics.Closes.WithLabelValues("slow_consumer")); got != 1 {
		t.Fatalf("slow_consumer closes = %v, want 1", got)
	}
}

// pingPong sends a WebSocket ping with payload n and reads until both its
// pong and the snap of the next tick came (in any order), or, when snap
// is false, the pong alone.
func (c *stepClient) pingPong(n uint64, snap bool, timeout time.Duration) error {
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], n)
	if err := ws.WriteFrame(c.conn, ws.MaskFrameInPlace(ws.NewPingFrame(p[:]))); err != nil {
		return err
	}
	want := c.last + 1
	ponged := false
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	for !ponged || (snap && c.last != want) {
		f, err := readFrame(c.br)
		if err != nil {
			return fmt.Errorf("ping %d (pong %v, snap of tick %d: %v): %w", n, ponged, want, c.last == want, err)
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			b, _ := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewPongFrame(f.Payload)))
			if _, err := c.conn.Write(b); err != nil {
				return err
			}
		case ws.OpPong:
			if len(f.Payload) != 8 || binary.BigEndian.Uint64(f.Payload) != n {
				return fmt.Errorf("pong %x, want %d", f.Payload, n)
			}
			ponged = true
		case ws.OpClose:
			return errors.New("closed")
		case ws.OpBinary:
			if err := c.dec.DecodeServer(f.Payload, &c.msg); err != nil {
				return err
			}
			if c.msg.Type != wire.TypeSnap {
				continue
			}
			if !snap || c.msg.Snap.Tick != want {
				return fmt.Errorf("snap of tick %d, want %d", c.msg.Snap.Tick, want)
			}
			c.last = want
		}
	}
	return nil
}

// TestPoolLosesNoWakeUp: many sessions on a pool of two workers, each
// scheduled at once by its arena (a frame is ready) and by its reader (a
// client ping to answer), tick after tick: every session writes the snap
// of every tick and every pong, and the last pong, with no later event
// to wake its session again, comes too. Run with -race, it also checks
// that no two goroutines service a session at once.
func TestPoolLosesNoWakeUp(t *testing.T) {
	const sessions, rounds = 40, 50
	env, clk := newSteppedEnv(t, Config{WSPingsPerSec: 1e6}, 2, 0)
	addr, _ := serveSessions(t, env)
	clients := make([]*stepClient, sessions)
	for i := range clients {
		clients[i] = joinStepped(t, env, addr, fmt.Sprintf("c%d", i), 1<<20)
	}
	run := func(round uint64, tick bool) {
		t.Helper()
		errs := make([]error, sessions)
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() { errs[i] = c.pingPong(round, tick, 10*time.Second) })
		}
		if tick {
			clk.Tick()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	for r := range uint64(rounds) {
		run(r, true)
	}
	run(rounds, false)
}

// TestPanicInPassEndsOnlyItsSession: a panic while a worker services one
// session (a message the writer cannot encode, as a bug would make) ends
// that session with error internal and 1011, and the worker goes on: the
// other session on it gets the snap of every tick after.
func TestPanicInPassEndsOnlyItsSession(t *testing.T) {
	env, clk := newSteppedEnv(t, Config{}, 1, 0)
	addr, events := serveSessions(t, env)
	victim := joinStepped(t, env, addr, "victim", 1<<20)
	victimConn := <-events
	other := joinStepped(t, env, addr, "other", 1<<20)
	<-events
	if victimConn.shard == nil {
		t.Fatal("the session is not on the pool")
	}
	victimConn.enqueue(outMsg{kind: outBoard, ref: "not a board"})
	var errs []wire.ErrorCode
	for {
		op, code, err := victim.read(10 * time.Second)
		if err != nil {
			t.Fatalf("victim: %v after errors %v", err, errs)
		}
		if op == ws.OpBinary && victim.msg.Type == wire.TypeError {
			errs = append(errs, victim.msg.Error.Code)
		}
		if op == ws.OpClose {
			if code != ws.StatusInternalServerError || len(errs) != 1 || errs[0] != wire.CodeInternal {
				t.Fatalf("victim: close %d after errors %v; want 1011 after internal", code, errs)
			}
			break
		}
	}
	for range 5 {
		clk.Tick()
		if err := other.nextSnap(10 * time.Second); err != nil {
			t.Fatalf("the other session: %v", err)
		}
	}
	if got := value(t, env.Metrics.Panics.WithLabelValues("session")); got != 1 {
		t.Fatalf("session panics = %v, want 1", got)
	}
	if c := <-events; c != victimConn {
		t.Fatal("a session other than the victim ended")
	}
	if got := value(t, env.Metrics.Closes.WithLabelValues("panic")); got != 1 {
		t.Fatalf("panic closes = %v, want 1", got)
	}
}

// TestSnapFrameTakenAfterTheQueue: a died the arena queued after a pass
// drained the reliable queue, but before the pass took the frame without
// the marble, still goes out first. The arena queues a tick's events
// before it publishes its frame, so writeSnap takes the frame and then
// writes whatever is queued, ahead of the snap: on a worker into the same
// gathered write, on the session's own goroutine with the frame given back
// meanwhile.
func TestSnapFrameTakenAfterTheQueue(t *testing.T) {
	a, err := sim.New(sim.Options{Config: sim.DefaultConfig(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Step(); err != nil {
		t.Fatal(err)
	}
	seat := &lobby.Seat{ID: 7, Arena: a}
	for _, blocking := range []bool{false, true} {
		server, peer := net.Pipe()
		var got bytes.Buffer
		copied := make(chan struct{})
		go func() { _, _ = io.Copy(&got, peer); close(copied) }() // drains the pipe until it closes
		c := New(newEnv(t, Config{}), server, nil)
		c.blocking = blocking
		if !blocking {
			c.batch = new([]byte)
		}
		// Queued after the pass's drain; pushed, not Died, so that no
		// pass runs beside the test's call.
		c.reliable.push(outMsg{kind: outDied, ref: &sim.Died{Tick: 1, By: 3, ByName: "z", Mass: 20}})
		f, ok := c.acquire(seat)
		if !ok {
			t.Fatal("acquire failed")
		}
		f.Release()
		if !c.reliable.empty() {
			t.Fatalf("blocking %v: the died is still queued once the snap's frame is taken", blocking)
		}
		written := 0
		if c.batch != nil {
			written = len(*c.batch)
		}
		server.Close()
		<-copied
		written += got.Len()
		if written == 0 {
			t.Fatalf("blocking %v: nothing written before the snap", blocking)
		}
	}
}

// TestWorkReadsBetweenWrites checks the order in which a worker services
// its queues: read passes queued while it works through a batch of write
// passes (a tick's fan-out) are serviced at its next yield, before the
// rest of the batch, so that an input read then can still make the next
// tick.
func TestWorkReadsBetweenWrites(t *testing.T) {
	const writes = 3 * yieldEvery
	var s shard
	conns := make([]*Conn, writes+2)
	for i := range conns {
		conns[i] = new(Conn) // identities only: the passes below are the test's
	}
	early, late := conns[writes], conns[writes+1]
	var order []*Conn
	s.readPass = func(c *Conn) { order = append(order, c) }
	s.writePass = func(c *Conn) {
		order = append(order, c)
		if c == conns[2] {
			s.pushRead(late) // an input arrives during the fan-out
		}
	}
	s.mu.Lock()
	s.queue = append(s.queue, conns[:writes]...)
	s.reads = append(s.reads, early)
	s.working = true // run work here, not on a goroutine of its own
	s.mu.Unlock()
	s.work()
	want := append([]*Conn{early}, conns[:yieldEvery]...)
	want = append(want, late)
	want = append(want, conns[yieldEvery:writes]...)
	if len(order) != len(want) {
		t.Fatalf("%d passes, want %d", len(order), len(want))
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("pass %d is not the one wanted: the read queued during the batch ran at %d, want %d", i, slices.Index(order, late), yieldEvery+1)
		}
	}
}
