package client

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
)

// pollModes runs test three times: with each client reading on its own
// goroutine (poll nil), with a poll group of two loops, and with one
// whose clients' sockets are taken out of the runtime's poller
// (PollOptions.Detach); a group is closed after the test.
func pollModes(t *testing.T, test func(t *testing.T, poll *PollGroup)) {
	t.Helper()
	t.Run("goroutine", func(t *testing.T) { test(t, nil) })
	t.Run("poll", func(t *testing.T) { test(t, newTestGroup(t, false)) })
	t.Run("poll-detached", func(t *testing.T) { test(t, newTestGroup(t, true)) })
}

// newTestGroup returns a poll group of two loops that notices Close
// quickly, closed when t ends.
func newTestGroup(t *testing.T, detach bool) *PollGroup {
	t.Helper()
	g, err := NewPollGroup(PollOptions{Loops: 2, IdleWait: 20 * time.Millisecond, Detach: detach})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// groupModes runs test with a poll group of two loops, its clients'
// sockets in the runtime's poller and taken out of it
// (PollOptions.Detach); the group is closed after the test.
func groupModes(t *testing.T, test func(t *testing.T, g *PollGroup)) {
	t.Helper()
	t.Run("poll", func(t *testing.T) { test(t, newTestGroup(t, false)) })
	t.Run("poll-detached", func(t *testing.T) { test(t, newTestGroup(t, true)) })
}

// withPoll returns o with its Poll set to g.
func withPoll(o Options, g *PollGroup) Options {
	o.Poll = g
	return o
}

// snapScript is a fake server's session: a welcome, n snaps of ticks 1 to
// n in bursts of burst (a pause between bursts), and a normal close.
func snapScript(n, burst int) func(fc *fakeConn) {
	return func(fc *fakeConn) {
		fc.expect(wire.TypeHello)
		fc.welcome(testWelcome)
		for tick := 1; tick <= n; tick++ {
			fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: uint64(tick), Add: []wire.AddEntity{{ID: uint32(tick)}}, Del: del(tick - 1)}))
			if tick%burst == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		fc.close(ws.StatusNormalClosure, "done")
	}
}

// del is the del list of a snap after the one that added id (0: none).
func del(id int) []uint32 {
	if id == 0 {
		return nil
	}
	return []uint32{uint32(id)}
}

// TestPollGroupManyClients reads many clients on a group of two loops:
// every snap arrives, in order, applied to its client's table, and each
// client ends with the server's close.
func TestPollGroupManyClients(t *testing.T) {
	groupModes(t, func(t *testing.T, g *PollGroup) {
		const clients, snaps = 40, 300
		scripts := make([]func(fc *fakeConn), clients)
		for i := range scripts {
			scripts[i] = snapScript(snaps, 7)
		}
		url := fakeNode(t, scripts...)
		var outOfOrder atomic.Int32
		var all []*Client
		for range clients {
			var last uint64
			c, err := Dial(context.Background(), url, Options{Name: "many", Poll: g, OnMessage: func(_ *Client, m *wire.ServerMessage) {
				if m.Type == wire.TypeSnap {
					if m.Snap.Tick != last+1 {
						outOfOrder.Add(1)
					}
					last = m.Snap.Tick
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, c)
		}
		for _, c := range all {
			waitDone(t, c)
			var ce CloseError
			if !errors.As(c.Err(), &ce) || ce.Code != ws.StatusNormalClosure {
				t.Errorf("Err() = %v, want the close 1000", c.Err())
			}
			if got := c.Stats().SnapsReceived; got != snaps {
				t.Errorf("SnapsReceived = %d, want %d", got, snaps)
			}
			if got := c.Stats().DeltaErrors; got != 0 {
				t.Errorf("DeltaErrors = %d, want 0", got)
			}
			if want := g.opts.Detach && runtime.GOOS == "linux"; detached(c) != want {
				t.Errorf("connection detached: %v, want %v", detached(c), want)
			}
			var s Snapshot
			c.Snapshot(&s)
			if _, ok := s.Entities[snaps]; !ok || len(s.Entities) != 1 || s.Tick != snaps {
				t.Errorf("Snapshot = tick %d, %v; want entity %d alone at tick %d", s.Tick, s.Entities, snaps, snaps)
			}
		}
		if n := outOfOrder.Load(); n != 0 {
			t.Errorf("%d snaps out of order", n)
		}
	})
}

// TestPollClientClose closes polled clients from other goroutines while
// their loops read them, and one whose server says nothing: each ends
// with ErrClosed, promptly.
func TestPollClientClose(t *testing.T) {
	groupModes(t, func(t *testing.T, g *PollGroup) {
		const clients = 8
		scripts := make([]func(fc *fakeConn), clients)
		for i := range scripts {
			scripts[i] = func(fc *fakeConn) {
				fc.expect(wire.TypeHello)
				fc.welcome(testWelcome)
				if i == 0 {
					fc.drain() // Silent: the client waits in its group.
					return
				}
				flood(fc)
			}
		}
		url := fakeNode(t, scripts...)
		var all []*Client
		for range clients {
			c, err := Dial(context.Background(), url, Options{Name: "closer", Poll: g})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, c)
		}
		// Closed while their loops read them: once each talking client
		// has had a snap (a fixed sleep was too short under a loaded
		// CI's -race).
		deadline := time.Now().Add(wait)
		for _, c := range all[1:] {
			for c.Stats().SnapsReceived == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("a client received no snap within %v", wait)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		var closing sync.WaitGroup
		for _, c := range all {
			closing.Go(func() {
				start := time.Now()
				c.Close()
				if d := time.Since(start); d > wait/2 {
					t.Errorf("Close took %v", d)
				}
				if !errors.Is(c.Err(), ErrClosed) {
					t.Errorf("Err() = %v, want ErrClosed", c.Err())
				}
			})
		}
		closing.Wait()
	})
}

// flood writes snaps of ticks 1, 2, ... to fc as fast as the connection
// takes them, until the client hangs up, 256 frames a write (a client
// that handles each message stays behind). A reader of its own ends the
// flood when the client's side ends the stream, as a real server's
// session does: the writes alone could wait out the connection's
// deadline, for a client that shuts its socket down (a detached one's
// Close) no longer opens the window as it reads (Linux sends no window
// update once a socket will receive nothing more), and then closes it
// with nothing unread, which sends no reset.
func flood(fc *fakeConn) {
	hungUp := make(chan struct{})
	go func() { // Ends at the client's close, or when the flood's end closes the connection.
		defer close(hungUp)
		fc.drain()
		fc.conn.Close()
	}()
	defer func() {
		fc.conn.Close()
		<-hungUp
	}()
	var payload []byte
	var batch bytes.Buffer
	for tick := uint64(1); ; {
		batch.Reset()
		for range 256 {
			payload = fc.enc.AppendSnap(payload[:0], &wire.Snap{Tick: tick})
			if err := ws.WriteFrame(&batch, ws.NewBinaryFrame(payload)); err != nil {
				panic(err) // A bytes.Buffer takes every write.
			}
			tick++
		}
		if _, err := fc.conn.Write(batch.Bytes()); err != nil {
			return // The client hung up.
		}
	}
}

// TestPollGroupCloseHandsBack closes a group under a client that is
// reading: the client reads on by itself, every snap arrives, and it
// ends with the server's close. A client dialled with the closed group
// reads without it.
func TestPollGroupCloseHandsBack(t *testing.T) {
	groupModes(t, func(t *testing.T, g *PollGroup) {
		closed := make(chan struct{})
		script := func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			fc.welcome(testWelcome)
			for tick := uint64(1); tick <= 10; tick++ {
				fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: tick}))
			}
			<-closed
			for tick := uint64(11); tick <= 20; tick++ {
				fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: tick}))
			}
			fc.close(ws.StatusNormalClosure, "")
		}
		url := fakeNode(t, script, snapScript(20, 5))
		ten := make(chan struct{})
		c, err := Dial(context.Background(), url, Options{Name: "handed", Poll: g, OnMessage: func(_ *Client, m *wire.ServerMessage) {
			if m.Type == wire.TypeSnap && m.Snap.Tick == 10 {
				close(ten)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-ten:
		case <-time.After(wait):
			t.Fatal("the first snaps did not arrive")
		}
		g.Close()
		close(closed)
		waitDone(t, c)
		if got := c.Stats().SnapsReceived; got != 20 {
			t.Errorf("SnapsReceived = %d, want 20", got)
		}
		var ce CloseError
		if !errors.As(c.Err(), &ce) || ce.Code != ws.StatusNormalClosure {
			t.Errorf("Err() = %v, want the close 1000", c.Err())
		}

		late, err := Dial(context.Background(), url, Options{Name: "late", Poll: g})
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, late)
		if got := late.Stats().SnapsReceived; got != 20 {
			t.Errorf("after the group's Close: SnapsReceived = %d, want 20", got)
		}
	})
}

// TestCancelSendsACloseFrame: a client whose context ends sends its close
// frame before its connection closes, in every mode: a polled read loop
// that woke at the cancel must not close the socket under stop's write.
func TestCancelSendsACloseFrame(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		const runs = 100
		var lost atomic.Int32
		for range runs {
			url, done := serve(t, func(fc *fakeConn) {
				fc.expect(wire.TypeHello)
				fc.welcome(testWelcome)
				if hdr, err := fc.rd.NextFrame(); err != nil || hdr.OpCode != ws.OpClose {
					lost.Add(1)
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			c, err := Dial(ctx, url, Options{Poll: poll, Name: "x"})
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			<-c.Done()
			<-done
		}
		if n := lost.Load(); n > 0 {
			t.Errorf("%d of %d cancels sent no close frame", n, runs)
		}
	})
}

// TestCloseUnderFlood closes a client whose server writes faster than
// it reads (each message's callback sleeps), so that its socket never
// runs dry: Close still returns promptly in every reading mode (and over
// a connection with no descriptor, as TLS's), and the client ends with
// ErrClosed, having handled no more than the messages in hand. A read
// that went on for as long as reads came back full once held Close
// (which waits for the read to return) for seconds.
func TestCloseUnderFlood(t *testing.T) {
	t.Run("no-descriptor", func(t *testing.T) { closeUnderFlood(t, nil, true) })
	pollModes(t, func(t *testing.T, poll *PollGroup) { closeUnderFlood(t, poll, false) })
}

// closeUnderFlood is TestCloseUnderFlood in one mode; hide dials a
// connection that hides its descriptor, which the client then reads
// through a bufio.Reader.
func closeUnderFlood(t *testing.T, poll *PollGroup, hide bool) {
	script := func(fc *fakeConn) {
		fc.expect(wire.TypeHello)
		fc.welcome(testWelcome)
		flood(fc)
	}
	url := fakeNode(t, script)
	var snaps, late atomic.Int64
	opts := Options{Name: "flooded", Poll: poll, OnMessage: func(c *Client, _ *wire.ServerMessage) {
		snaps.Add(1)
		if c.life.Err() != nil {
			late.Add(1) // Begun after the client stopped.
		}
		time.Sleep(50 * time.Microsecond) // Slower than the server writes.
	}}
	if hide {
		opts.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return struct{ net.Conn }{conn}, err
		}
	}
	c, err := Dial(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for snaps.Load() < 200 { // The server is far ahead by now.
		if time.Now().After(deadline) {
			t.Fatalf("%d snaps within %v", snaps.Load(), wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	c.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	// One whose message was taken just before the stop, at most; not the
	// hundreds the buffers hold.
	if n := late.Load(); n > 1 {
		t.Errorf("%d messages handled after the client stopped, want 1 at most", n)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err() = %v, want ErrClosed", c.Err())
	}
}
