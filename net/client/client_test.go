package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// wait bounds every wait in these tests, so that a bug fails a test instead
// of hanging it.
const wait = 10 * time.Second

// fakeConn is the server side of one connection, driven by a test script.
// Its methods stop the script with scriptFailure when the client does
// something unexpected; serve reports it.
type fakeConn struct {
	conn      net.Conn
	rd        wsutil.Reader
	enc       wire.Encoder
	dec       wire.Decoder
	bytesSent int // payload bytes of the messages sent
}

type scriptFailure struct{ err error }

func (fc *fakeConn) fail(format string, args ...any) {
	panic(scriptFailure{fmt.Errorf(format, args...)})
}

// serve listens on 127.0.0.1, accepts one WebSocket connection and runs
// script on it in a goroutine. It returns the URL to dial and a channel that
// is closed when the script has finished; a failure of the script fails t.
func serve(t *testing.T, script func(fc *fakeConn)) (url string, done <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer ln.Close()
		conn, err := ln.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer conn.Close()
		defer func() {
			if r := recover(); r != nil {
				f, ok := r.(scriptFailure)
				if !ok {
					panic(r)
				}
				t.Errorf("fake server: %v", f.err)
			}
		}()
		conn.SetDeadline(time.Now().Add(wait))
		if _, err := ws.Upgrade(conn); err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		fc := &fakeConn{conn: conn, rd: wsutil.Reader{Source: conn, State: ws.StateServerSide, MaxFrameSize: wire.MaxClientFrameSize}}
		script(fc)
	}()
	t.Cleanup(func() { <-finished })
	return "ws://" + ln.Addr().String() + "/ws", finished
}

// frame reads the next frame, whatever it is.
func (fc *fakeConn) frame() (ws.OpCode, []byte) {
	hdr, err := fc.rd.NextFrame()
	if err != nil {
		fc.fail("read: %v", err)
	}
	payload, err := io.ReadAll(&fc.rd)
	if err != nil {
		fc.fail("read payload: %v", err)
	}
	return hdr.OpCode, payload
}

// drain reads and drops frames until the client hangs up.
func (fc *fakeConn) drain() {
	for {
		if _, err := fc.rd.NextFrame(); err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, &fc.rd); err != nil {
			return
		}
	}
}

// expect reads the next message and checks its type.
func (fc *fakeConn) expect(typ wire.Type) wire.ClientMessage {
	op, payload := fc.frame()
	if op != ws.OpBinary {
		fc.fail("got a %v frame, want a binary %s", op, typ)
	}
	var m wire.ClientMessage
	if err := fc.dec.DecodeClient(payload, &m); err != nil {
		fc.fail("decode %s: %v", typ, err)
	}
	if m.Type != typ {
		fc.fail("got %s, want %s", m.Type, typ)
	}
	return m
}

// send writes one encoded message.
func (fc *fakeConn) send(frame []byte) {
	if err := wsutil.WriteServerMessage(fc.conn, ws.OpBinary, frame); err != nil {
		fc.fail("write: %v", err)
	}
	fc.bytesSent += len(frame)
}

// close sends a close frame and checks that the client answers it with the
// same code.
func (fc *fakeConn) close(code ws.StatusCode, reason string) {
	if err := ws.WriteFrame(fc.conn, ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason))); err != nil {
		fc.fail("write close: %v", err)
	}
	op, payload := fc.frame()
	if got, _ := ws.ParseCloseFrameData(payload); op != ws.OpClose || got != code {
		fc.fail("client answered close %d with %v %d", code, op, got)
	}
}

func (fc *fakeConn) welcome(w wire.Welcome) { fc.send(fc.enc.AppendWelcome(nil, &w)) }

func (fc *fakeConn) errorMsg(code wire.ErrorCode, msg string) {
	fc.send(fc.enc.AppendError(nil, &wire.ErrorMessage{Code: code, Msg: msg}))
}

var testWelcome = wire.Welcome{
	Version: wire.Version, Session: 7, Token: "tok-7", Tick: 100, Rate: 30,
	ArenaWidth: 3000, ArenaHeight: 2000, TerrainSize: 2, Terrain: []byte{0, 64, 128, 255},
	Rules: []wire.Rule{{Name: "start_mass", Value: 20}, {Name: "boost_cost", Value: 0.02}},
}

// waitDone waits for c's read loop to exit.
func waitDone(t *testing.T, c *Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatal("the read loop did not exit")
	}
}

// TestScriptedSession plays a whole session against a fake server and checks
// everything the client saw: the welcome, the table after add/upd/del, the
// ack latencies, the events in order, the close code and the counters.
func TestScriptedSession(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		snaps := []wire.Snap{
			{Tick: 102, Ack: 1, HasYou: true, You: wire.UpdEntity{ID: 10, X: 100, Y: 200, Mass: 20},
				Add: []wire.AddEntity{
					{ID: 10, Kind: wire.KindPlayer, X: 100, Y: 200, Mass: 20, Name: "tester"},
					{ID: 11, Kind: wire.KindZombie, X: 300, Y: 400, Mass: 30, Name: "zed"},
					{ID: 12, Kind: wire.KindFragment, X: 5, Y: 6, Mass: 1},
					{ID: 13, Kind: wire.KindObstacle, X: 7, Y: 8, Mass: 0},
				}},
			{Tick: 103, Ack: 2, HasYou: true, You: wire.UpdEntity{ID: 10, X: 110, Y: 210, Mass: 21},
				Add: []wire.AddEntity{{ID: 14, Kind: wire.KindFragment, X: 9, Y: 9, Mass: 1}},
				Upd: []wire.UpdEntity{{ID: 10, X: 110, Y: 210, Mass: 21}, {ID: 11, X: 290, Y: 390, Mass: 30}},
				Del: []uint32{12}},
			{Tick: 104, Ack: 2,
				Upd: []wire.UpdEntity{{ID: 11, X: 280, Y: 380, Mass: 44}},
				Del: []uint32{10}},
		}
		died := sim.Died{Tick: 104, By: 11, ByName: "zed", Mass: 21}
		board := sim.Board{Top: []sim.BoardRow{{Name: "zed", Mass: 44}}, Count: 2}
		var serverBytes int

		url, scriptDone := serve(t, func(fc *fakeConn) {
			hello := fc.expect(wire.TypeHello)
			if want := (wire.Hello{Version: 1, Name: "tester"}); hello.Hello != want {
				fc.fail("hello = %+v, want %+v", hello.Hello, want)
			}
			fc.welcome(testWelcome)
			fc.expect(wire.TypeSpawn)
			for seq := uint32(1); seq <= 2; seq++ {
				if in := fc.expect(wire.TypeInput).Input; in.Seq != seq {
					fc.fail("input seq = %d, want %d", in.Seq, seq)
				}
			}
			ping := fc.expect(wire.TypePing)
			fc.send(fc.enc.AppendPong(nil, &wire.Pong{C: ping.Ping.C, Tick: 101}))
			for i := range snaps {
				fc.send(fc.enc.AppendSnap(nil, &snaps[i]))
			}
			fc.send(fc.enc.AppendDied(nil, &died))
			// A WebSocket ping in the middle must be answered with its payload.
			if err := ws.WriteFrame(fc.conn, ws.NewPingFrame([]byte("hi"))); err != nil {
				fc.fail("write ping: %v", err)
			}
			if op, payload := fc.frame(); op != ws.OpPong || string(payload) != "hi" {
				fc.fail("ping answered with %v %q, want a pong \"hi\"", op, payload)
			}
			fc.send(fc.enc.AppendBoard(nil, &board, nil))
			fc.errorMsg(wire.CodeBadMessage, "third bad message")
			serverBytes = fc.bytesSent
			fc.close(ws.StatusProtocolError, "bad messages")
		})

		var (
			eventsMu sync.Mutex
			events   []string
			acked    []uint32
		)
		opts := Options{Poll: poll,
			Name: "tester",
			OnMessage: func(_ *Client, m *wire.ServerMessage) {
				eventsMu.Lock()
				defer eventsMu.Unlock()
				events = append(events, m.Type.String())
			},
			OnAck: func(_ *Client, seq uint32, latency time.Duration) {
				eventsMu.Lock()
				defer eventsMu.Unlock()
				acked = append(acked, seq)
				if latency <= 0 || latency > wait {
					t.Errorf("latency of input %d = %v", seq, latency)
				}
			},
		}
		c, err := Dial(context.Background(), url, opts)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Close()
		if got := c.Welcome(); !reflect.DeepEqual(got, testWelcome) {
			t.Errorf("Welcome() = %+v, want %+v", got, testWelcome)
		}
		if err := c.SendSpawn(); err != nil {
			t.Fatal(err)
		}
		for want := uint32(1); want <= 2; want++ {
			if seq, err := c.SendInput(0.5, want == 2); err != nil || seq != want {
				t.Fatalf("SendInput = %d, %v; want %d", seq, err, want)
			}
		}
		if err := c.SendPing(77); err != nil {
			t.Fatal(err)
		}
		waitDone(t, c)
		<-scriptDone

		if want := (CloseError{Code: ws.StatusProtocolError, Reason: "bad messages"}); c.Err() != want {
			t.Errorf("Err() = %v, want %v", c.Err(), want)
		}
		var got Snapshot
		c.Snapshot(&got)
		want := Snapshot{
			Tick: 104, Ack: 2,
			Entities: map[uint32]Entity{
				11: {Kind: wire.KindZombie, X: 280, Y: 380, Mass: 44, Name: "zed"},
				13: {Kind: wire.KindObstacle, X: 7, Y: 8},
				14: {Kind: wire.KindFragment, X: 9, Y: 9, Mass: 1},
			},
			Board:    board,
			Deaths:   1,
			LastDied: died,
			Errors:   1, LastError: wire.ErrorMessage{Code: wire.CodeBadMessage, Msg: "third bad message"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Snapshot:\n got %+v\nwant %+v", got, want)
		}
		wantEvents := []string{"welcome", "pong", "snap", "snap", "snap", "died", "board", "error"}
		if !slices.Equal(events, wantEvents) {
			t.Errorf("events = %v, want %v", events, wantEvents)
		}
		if !slices.Equal(acked, []uint32{1, 2}) {
			t.Errorf("acked inputs = %v, want [1 2]", acked)
		}
		stats := c.Stats()
		wantStats := Stats{
			MessagesReceived: 8, SnapsReceived: 3, BytesReceived: uint64(serverBytes),
			MessagesSent: 5, BytesSent: stats.BytesSent, InputsSent: 2, InputsAcked: 2,
		}
		if stats != wantStats || stats.BytesSent == 0 {
			t.Errorf("Stats() = %+v, want %+v", stats, wantStats)
		}
	})
}

// TestSnapshotIsACopy checks that Snapshot's result does not change under
// the caller when later snaps arrive, and that the table is reset by the
// snaps alone.
func TestSnapshotIsACopy(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		snapped := make(chan struct{}, 2)
		url, _ := serve(t, func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			fc.welcome(testWelcome)
			fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 1, Add: []wire.AddEntity{{ID: 1, Mass: 5}}}))
			fc.expect(wire.TypePing) // The test took its snapshot.
			fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 2, Del: []uint32{1}, Add: []wire.AddEntity{{ID: 2}}}))
			fc.expect(wire.TypePing)
			fc.close(ws.StatusNormalClosure, "")
		})
		c, err := Dial(context.Background(), url, Options{Poll: poll, Name: "a", OnMessage: func(_ *Client, m *wire.ServerMessage) {
			if m.Type == wire.TypeSnap {
				snapped <- struct{}{}
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var first, second Snapshot
		<-snapped
		c.Snapshot(&first)
		if err := c.SendPing(1); err != nil {
			t.Fatal(err)
		}
		<-snapped
		c.Snapshot(&second)
		if err := c.SendPing(2); err != nil {
			t.Fatal(err)
		}
		if _, ok := first.Entities[1]; !ok || len(first.Entities) != 1 || first.Tick != 1 {
			t.Errorf("first snapshot = %+v, want entity 1 alone at tick 1", first)
		}
		if _, ok := second.Entities[2]; !ok || len(second.Entities) != 1 || second.Tick != 2 {
			t.Errorf("second snapshot = %+v, want entity 2 alone at tick 2", second)
		}
		waitDone(t, c)
	})
}

func TestSlowConsumerClose(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		url, _ := serve(t, func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			fc.welcome(testWelcome)
			fc.close(wire.CloseSlowConsumer, wire.SlowConsumerReason)
		})
		c, err := Dial(context.Background(), url, Options{Poll: poll, Name: "slow"})
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, c)
		var ce CloseError
		if !errors.As(c.Err(), &ce) || ce.Code != wire.CloseSlowConsumer || ce.Reason != wire.SlowConsumerReason {
			t.Errorf("Err() = %v, want a CloseError %d %q", c.Err(), wire.CloseSlowConsumer, wire.SlowConsumerReason)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close after the server closed: %v", err)
		}
		if _, ok := c.Err().(CloseError); !ok {
			t.Errorf("Err() after Close = %v, want the server's CloseError still", c.Err())
		}
	})
}

// statusTryAgainLater is the close code of a full server; gobwas/ws has no
// name for it.
const statusTryAgainLater ws.StatusCode = 1013

func TestRefusedHello(t *testing.T) {
	url, _ := serve(t, func(fc *fakeConn) {
		fc.expect(wire.TypeHello)
		fc.errorMsg(wire.CodeFull, "no arena has room")
		fc.close(statusTryAgainLater, "full")
	})
	_, err := Dial(context.Background(), url, Options{Name: "late"})
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Code != wire.CodeFull || refused.Msg != "no arena has room" {
		t.Fatalf("Dial = %v, want a RefusedError full", err)
	}
	var ce CloseError
	if !errors.As(err, &ce) || ce.Code != statusTryAgainLater {
		t.Errorf("Dial = %v, want it to wrap a CloseError 1013", err)
	}
}

// TestResumeExpired checks that an error before the welcome does not fail
// Dial when the welcome follows, and that Close ends the session with a
// normal close.
func TestResumeExpired(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		url, _ := serve(t, func(fc *fakeConn) {
			if m := fc.expect(wire.TypeHello); m.Hello.Token != "old" {
				fc.fail("hello token = %q, want \"old\"", m.Hello.Token)
			}
			fc.errorMsg(wire.CodeResumeExpired, "expired")
			fc.welcome(testWelcome)
			op, payload := fc.frame()
			if code, _ := ws.ParseCloseFrameData(payload); op != ws.OpClose || code != ws.StatusNormalClosure {
				fc.fail("got %v %d, want a close 1000", op, code)
			}
		})
		c, err := Dial(context.Background(), url, Options{Poll: poll, Name: "back", Token: "old"})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		var s Snapshot
		c.Snapshot(&s)
		if s.Errors != 1 || s.LastError.Code != wire.CodeResumeExpired {
			t.Errorf("Snapshot errors = %d, last %+v; want 1 resume_expired", s.Errors, s.LastError)
		}
		if c.Welcome().Session != testWelcome.Session {
			t.Errorf("Welcome().Session = %d, want %d", c.Welcome().Session, testWelcome.Session)
		}
		c.Close()
		if !errors.Is(c.Err(), ErrClosed) {
			t.Errorf("Err() after Close = %v, want ErrClosed", c.Err())
		}
	})
}

// TestContextCancel checks that cancelling Dial's context ends the read
// loop, that a callback can send, and that snap entries contradicting the
// table are counted.
func TestContextCancel(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		snapped := make(chan struct{})
		url, _ := serve(t, func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			fc.welcome(testWelcome)
			fc.send(fc.enc.AppendSnap(nil, &wire.Snap{
				Add: []wire.AddEntity{{ID: 1}, {ID: 1}},
				Upd: []wire.UpdEntity{{ID: 2}},
				Del: []uint32{3},
			}))
			fc.drain()
		})
		ctx, cancel := context.WithCancel(context.Background())
		c, err := Dial(ctx, url, Options{Poll: poll, Name: "ctx", OnMessage: func(c *Client, m *wire.ServerMessage) {
			if m.Type == wire.TypeSnap {
				// Sending from a callback, on the read loop, must work too.
				if _, err := c.SendInput(1, true); err != nil {
					t.Errorf("SendInput from OnMessage: %v", err)
				}
				close(snapped)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		<-snapped
		if got := c.Stats().DeltaErrors; got != 3 {
			t.Errorf("DeltaErrors = %d, want 3", got)
		}
		cancel()
		waitDone(t, c)
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("Err() = %v, want context.Canceled", c.Err())
		}
	})
}

func TestMessageTooLarge(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		url, _ := serve(t, func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			fc.welcome(testWelcome)
			fc.send(fc.enc.AppendError(nil, &wire.ErrorMessage{Code: "x", Msg: string(make([]byte, 600))}))
			fc.drain()
		})
		c, err := Dial(context.Background(), url, Options{Poll: poll, Name: "small", MaxMessageSize: 512})
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, c)
		if !errors.Is(c.Err(), wsutil.ErrFrameTooLarge) {
			t.Errorf("Err() = %v, want wsutil.ErrFrameTooLarge", c.Err())
		}
	})
}

func TestHandshakeTimeout(t *testing.T) {
	url, _ := serve(t, func(fc *fakeConn) {
		fc.expect(wire.TypeHello)
		fc.drain() // Never welcome; wait for the client to give up.
	})
	start := time.Now()
	_, err := Dial(context.Background(), url, Options{Name: "patient", HandshakeTimeout: 200 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > wait/2 {
		t.Errorf("Dial took %v with a 200ms handshake timeout", elapsed)
	}
}

// TestApplySnap applies snaps in order to one client's table, without a
// connection, and checks the table Snapshot copies out and the count of
// entries that contradict it after each.
func TestApplySnap(t *testing.T) {
	var c Client
	steps := []struct {
		name       string
		snap       wire.Snap
		want       map[uint32]Entity
		wantErrors uint64 // DeltaErrors so far
	}{
		{
			name: "adds",
			snap: wire.Snap{Tick: 1, Add: []wire.AddEntity{
				{ID: 1, Kind: wire.KindPlayer, X: 10, Y: 11, Mass: 20, Name: "me"},
				{ID: 2, Kind: wire.KindFragment, X: 20, Y: 21, Mass: 1},
				{ID: 3, Kind: wire.KindZombie, X: 30, Y: 31, Mass: 40, Name: "z", Heading: 7, Flags: 1},
			}},
			want: map[uint32]Entity{
				1: {Kind: wire.KindPlayer, X: 10, Y: 11, Mass: 20, Name: "me"},
				2: {Kind: wire.KindFragment, X: 20, Y: 21, Mass: 1},
				3: {Kind: wire.KindZombie, X: 30, Y: 31, Mass: 40, Name: "z", Heading: 7, Flags: 1},
			},
		},
		{
			// Deleting the first entity moves the last into its place; the
			// update of the moved one must still find it, name kept.
			name: "upd after del",
			snap: wire.Snap{Tick: 2, Del: []uint32{1}, Upd: []wire.UpdEntity{{ID: 3, X: 32, Y: 33, Mass: 41, Marble: true, Heading: 200, Flags: 2}}},
			want: map[uint32]Entity{
				2: {Kind: wire.KindFragment, X: 20, Y: 21, Mass: 1},
				3: {Kind: wire.KindZombie, X: 32, Y: 33, Mass: 41, Name: "z", Heading: 200, Flags: 2},
			},
		},
		{
			name: "contradictions",
			snap: wire.Snap{Tick: 3,
				Add: []wire.AddEntity{{ID: 2, Kind: wire.KindObstacle, X: 5, Y: 6}}, // already held: replaces it
				Upd: []wire.UpdEntity{{ID: 9, X: 1, Y: 1, Mass: 1}},                 // never added: skipped
				Del: []uint32{1, 99},                                                // not held: nothing to do
			},
			want: map[uint32]Entity{
				2: {Kind: wire.KindObstacle, X: 5, Y: 6},
				3: {Kind: wire.KindZombie, X: 32, Y: 33, Mass: 41, Name: "z", Heading: 200, Flags: 2},
			},
			wantErrors: 4,
		},
		{
			name: "delete all, add again",
			snap: wire.Snap{Tick: 4, Del: []uint32{2, 3}, Add: []wire.AddEntity{{ID: 1, Kind: wire.KindPlayer, Mass: 9, Name: "back"}}},
			want: map[uint32]Entity{
				1: {Kind: wire.KindPlayer, Mass: 9, Name: "back"},
			},
			wantErrors: 4,
		},
	}
	for _, st := range steps {
		c.mu.Lock()
		c.applySnap(&st.snap)
		c.mu.Unlock()
		var got Snapshot
		c.Snapshot(&got)
		if !reflect.DeepEqual(got.Entities, st.want) || got.Tick != st.snap.Tick {
			t.Fatalf("%s: Snapshot entities %v at tick %d, want %v at tick %d", st.name, got.Entities, got.Tick, st.want, st.snap.Tick)
		}
		if got := c.Stats().DeltaErrors; got != st.wantErrors {
			t.Fatalf("%s: DeltaErrors = %d, want %d", st.name, got, st.wantErrors)
		}
	}
}

// TestNetDial checks that every connection opens through Options.NetDial:
// here from 127.0.0.2, which the server sees as the client's address.
func TestNetDial(t *testing.T) {
	peer := make(chan string, 1)
	url, _ := serve(t, func(fc *fakeConn) {
		peer <- fc.conn.RemoteAddr().String()
		fc.expect(wire.TypeHello)
		fc.welcome(testWelcome)
		fc.drain()
	})
	local := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	dials := 0
	c, err := Dial(context.Background(), url, Options{Name: "from", NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials++
		return local.DialContext(ctx, network, addr)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if host, _, _ := net.SplitHostPort(<-peer); host != "127.0.0.2" || dials != 1 {
		t.Fatalf("server saw the client at %s after %d dials; want 127.0.0.2 after 1", host, dials)
	}
}
