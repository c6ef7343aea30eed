package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/wire"
)

// fakeNode starts an in-process node of a fleet: an httptest server that
// upgrades each request to a WebSocket and runs the next of scripts on it,
// in the order the connections arrive. A connection beyond the scripts
// fails the test. It returns the node's ws:// URL.
func fakeNode(t *testing.T, scripts ...func(fc *fakeConn)) string {
	t.Helper()
	var next atomic.Int32
	var running sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		defer running.Done()
		i := int(next.Add(1)) - 1
		if i >= len(scripts) {
			t.Errorf("fake node: connection %d, but only %d scripts", i+1, len(scripts))
			http.Error(w, "no script", http.StatusServiceUnavailable)
			return
		}
		conn, rw, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			t.Errorf("fake node: upgrade: %v", err)
			return
		}
		defer conn.Close()
		defer func() {
			if r := recover(); r != nil {
				f, ok := r.(scriptFailure)
				if !ok {
					panic(r)
				}
				t.Errorf("fake node, connection %d: %v", i+1, f.err)
			}
		}()
		conn.SetDeadline(time.Now().Add(wait))
		scripts[i](&fakeConn{conn: conn, rd: wsutil.Reader{Source: rw.Reader, State: ws.StateServerSide, MaxFrameSize: wire.MaxClientFrameSize}})
	}))
	// Close waits for the handlers that have not hijacked their
	// connection; running waits for those that have.
	t.Cleanup(func() { srv.Close(); running.Wait() })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// unreachable returns a ws:// URL whose port refuses connections.
func unreachable(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "ws://" + addr + "/ws"
}

// silent returns a ws:// URL whose port accepts connections and never
// answers on them.
func silent(t *testing.T) string {
	url, _ := silentNotify(t)
	return url
}

// silentNotify is silent, also returning a channel that receives a value
// when the first connection has been accepted.
func silentNotify(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{}, 1)
	var held sync.WaitGroup
	held.Go(func() {
		var conns []net.Conn
		for {
			conn, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, conn)
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	})
	t.Cleanup(func() { ln.Close(); held.Wait() })
	return "ws://" + ln.Addr().String() + "/ws", accepted
}

func (fc *fakeConn) moved(m wire.Moved) {
	fc.send(fc.enc.AppendMoved(nil, &m))
	fc.close(wire.CloseMoved, wire.MovedReason)
}

// expectHello reads the hello and checks it.
func (fc *fakeConn) expectHello(want wire.Hello) {
	if got := fc.expect(wire.TypeHello).Hello; got != want {
		fc.fail("hello = %+v, want %+v", got, want)
	}
}

// recorder records what a client's callbacks see, for the checks after.
type recorder struct {
	mu     sync.Mutex
	events []string
	moves  []Move
	movedC chan wire.Moved // each moved, as OnMessage sees it
}

func newRecorder() *recorder { return &recorder{movedC: make(chan wire.Moved, 10)} }

func (r *recorder) options(name string) Options {
	return Options{
		Name: name,
		OnMessage: func(_ *Client, m *wire.ServerMessage) {
			r.mu.Lock()
			r.events = append(r.events, m.Type.String())
			r.mu.Unlock()
			if m.Type == wire.TypeMoved {
				r.movedC <- m.Moved
			}
		},
		OnMove: func(_ *Client, m Move) {
			r.mu.Lock()
			r.moves = append(r.moves, m)
			r.mu.Unlock()
		},
	}
}

func (r *recorder) seen() ([]string, []Move) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events), slices.Clone(r.moves)
}

var welcomeB = wire.Welcome{
	Version: wire.Version, Session: 8, Token: "tok-8", Tick: 5000, Rate: 30,
	ArenaWidth: 2000, ArenaHeight: 2000, TerrainSize: 1, Terrain: []byte{9},
	Rules: []wire.Rule{{Name: "start_mass", Value: 25}},
}

// TestMoveDrain follows a drain during play: node A welcomes, sends a
// snap, then moved and close 4003; the client says hello to node B with
// the seat and its name alone, gets B's welcome and a fresh view, refuses
// sends in between, keeps numbering its inputs, and reports the move with
// the time from the moved to B's first snap.
func TestMoveDrain(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		const seat = "q7Vx0ZpL3cYb9u2mWnE4sA"
		const snapDelay = 50 * time.Millisecond
		b := fakeNode(t, func(fc *fakeConn) {
			fc.expectHello(wire.Hello{Version: wire.Version, Name: "mover", Seat: seat})
			fc.welcome(welcomeB)
			time.Sleep(snapDelay) // Something for the move's timing to measure.
			fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 5001, HasYou: true, You: wire.UpdEntity{ID: 3, Mass: 40},
				Add: []wire.AddEntity{{ID: 3, Kind: wire.KindPlayer, Mass: 40, Name: "mover"}}}))
			if in := fc.expect(wire.TypeInput).Input; in.Seq != 2 {
				fc.fail("input seq on B = %d, want 2: seqs go on across a move", in.Seq)
			}
			fc.close(ws.StatusNormalClosure, "")
		})
		a := fakeNode(t, func(fc *fakeConn) {
			fc.expectHello(wire.Hello{Version: wire.Version, Name: "mover"})
			fc.welcome(testWelcome)
			fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 101, Add: []wire.AddEntity{{ID: 10}, {ID: 11}}}))
			fc.expect(wire.TypeInput)
			fc.moved(wire.Moved{URL: b, Seat: seat, Why: wire.MoveDrain})
		})

		rec := newRecorder()
		opts := withPoll(rec.options("mover"), poll)
		onMessage := opts.OnMessage
		var sendDuringMove error
		opts.OnMessage = func(c *Client, m *wire.ServerMessage) {
			onMessage(c, m)
			switch m.Type {
			case wire.TypeSnap:
				if _, err := c.SendInput(1, false); err != nil {
					t.Errorf("SendInput after snap of tick %d: %v", m.Snap.Tick, err)
				}
			case wire.TypeMoved:
				_, sendDuringMove = c.SendInput(1, false)
			}
		}
		c, err := Dial(context.Background(), a, opts)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Close()
		waitDone(t, c)

		if want := (CloseError{Code: ws.StatusNormalClosure}); c.Err() != want {
			t.Errorf("Err() = %v, want %v (B's close; the move is no end)", c.Err(), want)
		}
		if !errors.Is(sendDuringMove, ErrMoving) {
			t.Errorf("SendInput during the move = %v, want ErrMoving", sendDuringMove)
		}
		if got := c.Welcome(); !reflect.DeepEqual(got, welcomeB) {
			t.Errorf("Welcome() = %+v, want B's %+v", got, welcomeB)
		}
		var snap Snapshot
		c.Snapshot(&snap)
		wantView := map[uint32]Entity{3: {Kind: wire.KindPlayer, Mass: 40, Name: "mover"}}
		if !reflect.DeepEqual(snap.Entities, wantView) || snap.Tick != 5001 || !snap.Alive {
			t.Errorf("Snapshot = %+v, want B's view alone: %v at tick 5001, alive", snap, wantView)
		}
		events, moves := rec.seen()
		if want := []string{"welcome", "snap", "moved", "welcome", "snap"}; !slices.Equal(events, want) {
			t.Errorf("OnMessage saw %v, want %v", events, want)
		}
		if st := c.Stats(); st.Moves != (MoveStats{Drain: 1}) || st.InputsSent != 2 || st.DeltaErrors != 0 {
			t.Errorf("Stats() = %+v, want one drain move, 2 inputs and no delta errors", st)
		}
		if len(moves) != 1 {
			t.Fatalf("OnMove called %d times, want 1", len(moves))
		}
		m := moves[0]
		if want := (wire.Moved{URL: b, Seat: seat, Why: wire.MoveDrain}); m.Moved != want || m.From != a || m.To != b || m.Hops != 1 || m.FellBack {
			t.Errorf("OnMove got %+v, want moved %+v from %s to %s in 1 hop", m, want, a, b)
		}
		if m.ToSnap < snapDelay || m.ToSnap > wait {
			t.Errorf("Move.ToSnap = %v, want at least the %v B waited before its snap", m.ToSnap, snapDelay)
		}
	})
}

// TestMoveInsteadOfWelcome follows a moved that answers the hello (a full
// node), through a bad_seat that the new node plays on from as new: Dial
// returns a client on the new node.
func TestMoveInsteadOfWelcome(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		b := fakeNode(t, func(fc *fakeConn) {
			fc.expectHello(wire.Hello{Version: wire.Version, Name: "late", Seat: "s1"})
			fc.errorMsg(wire.CodeBadSeat, "seat expired")
			fc.welcome(welcomeB)
			fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 5001}))
			fc.expect(wire.TypePing)
			fc.close(ws.StatusNormalClosure, "")
		})
		a := fakeNode(t, func(fc *fakeConn) {
			fc.expectHello(wire.Hello{Version: wire.Version, Name: "late", Token: "old"})
			fc.moved(wire.Moved{URL: b, Seat: "s1", Why: wire.MoveFull})
		})
		rec := newRecorder()
		opts := withPoll(rec.options("late"), poll)
		opts.Token = "old"
		c, err := Dial(context.Background(), a, opts)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Close()
		if got := c.Welcome().Session; got != welcomeB.Session {
			t.Errorf("Welcome().Session = %d, want B's %d", got, welcomeB.Session)
		}
		if err := c.SendPing(1); err != nil {
			t.Errorf("SendPing after Dial: %v", err)
		}
		waitDone(t, c)
		events, moves := rec.seen()
		if want := []string{"moved", "error", "welcome", "snap"}; !slices.Equal(events, want) {
			t.Errorf("OnMessage saw %v, want %v", events, want)
		}
		var snap Snapshot
		c.Snapshot(&snap)
		if snap.Errors != 1 || snap.LastError.Code != wire.CodeBadSeat {
			t.Errorf("Snapshot errors %d, last %+v; want 1 bad_seat", snap.Errors, snap.LastError)
		}
		if got := c.Stats().Moves; got != (MoveStats{Full: 1}) {
			t.Errorf("Stats().Moves = %+v, want one full", got)
		}
		if len(moves) != 1 || moves[0].From != a || moves[0].To != b || moves[0].Moved.Why != wire.MoveFull {
			t.Errorf("OnMove got %+v, want one full move from A to B", moves)
		}
	})
}

// TestMoveFallsBack sends the client to a node it cannot reach, one that
// refuses connections and one that never answers: after MoveTimeout (short
// here, 5 s by default) it goes back to the node it came from with its
// latest token, and plays on there.
func TestMoveFallsBack(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		const moveTimeout = 300 * time.Millisecond
		for _, tt := range []struct {
			name   string
			target func(*testing.T) string
		}{
			{"refused", unreachable},
			{"silent", silent},
		} {
			t.Run(tt.name, func(t *testing.T) {
				target := tt.target(t)
				a := fakeNode(t,
					func(fc *fakeConn) {
						fc.expectHello(wire.Hello{Version: wire.Version, Name: "back"})
						fc.welcome(testWelcome)
						fc.moved(wire.Moved{URL: target, Seat: "s2", Why: wire.MoveDrain})
					},
					func(fc *fakeConn) {
						fc.expectHello(wire.Hello{Version: wire.Version, Name: "back", Token: testWelcome.Token})
						fc.welcome(testWelcome) // The same session: a resume.
						fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 120}))
						fc.close(ws.StatusNormalClosure, "")
					},
				)
				rec := newRecorder()
				opts := withPoll(rec.options("back"), poll)
				opts.MoveTimeout = moveTimeout
				c, err := Dial(context.Background(), a, opts)
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				waitDone(t, c)
				if want := (CloseError{Code: ws.StatusNormalClosure}); c.Err() != want {
					t.Errorf("Err() = %v, want %v", c.Err(), want)
				}
				if got := c.Stats().Moves; got != (MoveStats{Drain: 1, FellBack: 1}) {
					t.Errorf("Stats().Moves = %+v, want one drain that fell back", got)
				}
				_, moves := rec.seen()
				if len(moves) != 1 {
					t.Fatalf("OnMove called %d times, want 1", len(moves))
				}
				if m := moves[0]; !m.FellBack || m.From != a || m.To != a || m.ToSnap < moveTimeout || m.ToSnap > wait {
					t.Errorf("OnMove got %+v, want a fallback from A to A after at least %v", m, moveTimeout)
				}
			})
		}
	})
}

// TestMoveFails ends the client with a MoveError when the way back fails
// too.
func TestMoveFails(t *testing.T) {
	target := unreachable(t)
	a := fakeNode(t,
		func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			fc.welcome(testWelcome)
			fc.moved(wire.Moved{URL: target, Seat: "s3", Why: wire.MoveDrain})
		},
		func(fc *fakeConn) {
			fc.expectHello(wire.Hello{Version: wire.Version, Name: "lost", Token: testWelcome.Token})
			fc.errorMsg(wire.CodeShutdown, "stopping")
			fc.close(ws.StatusGoingAway, "")
		},
	)
	c, err := Dial(context.Background(), a, Options{Name: "lost", MoveTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	waitDone(t, c)
	var me *MoveError
	var refused *RefusedError
	if !errors.As(c.Err(), &me) || me.Moved.URL != target || !errors.As(c.Err(), &refused) || refused.Code != wire.CodeShutdown {
		t.Errorf("Err() = %v, want a MoveError to %s wrapping the refusal shutdown", c.Err(), target)
	}
	if got := c.Stats().Moves; got != (MoveStats{Drain: 1, FellBack: 1, Failed: 1}) {
		t.Errorf("Stats().Moves = %+v, want one drain that fell back and failed", got)
	}
	if _, err := c.SendInput(0, false); err == nil || errors.Is(err, ErrMoving) {
		t.Errorf("SendInput after a failed move = %v, want the error of an ended client", err)
	}
}

// TestMovesInACircle stops following nodes that keep moving the client on.
func TestMovesInACircle(t *testing.T) {
	var urlA, urlB string
	var ready sync.WaitGroup
	ready.Add(1)
	to := func(url *string) func(fc *fakeConn) {
		return func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			ready.Wait()
			fc.moved(wire.Moved{URL: *url, Seat: "s", Why: wire.MoveFull})
		}
	}
	urlA = fakeNode(t, to(&urlB), to(&urlB), to(&urlB))
	urlB = fakeNode(t, to(&urlA), to(&urlA))
	ready.Done()
	_, err := Dial(context.Background(), urlA, Options{Name: "dizzy"})
	var me *MoveError
	if !errors.As(err, &me) || !errors.Is(err, errTooManyMoves) {
		t.Errorf("Dial = %v, want a MoveError for too many moves", err)
	}
}

// TestMoveDisabled leaves moves to the caller: the client ends with the
// close 4003, and Dial returns a MoveError for a moved instead of a
// welcome.
func TestMoveDisabled(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		nowhere := fakeNode(t) // Any connection to it fails the test.
		moved := wire.Moved{URL: nowhere, Seat: "s4", Why: wire.MoveDrain}
		a := fakeNode(t,
			func(fc *fakeConn) {
				fc.expect(wire.TypeHello)
				fc.welcome(testWelcome)
				fc.moved(moved)
			},
			func(fc *fakeConn) {
				fc.expect(wire.TypeHello)
				fc.moved(moved)
			},
		)
		rec := newRecorder()
		opts := withPoll(rec.options("stay"), poll)
		opts.DisableFollowMoves = true
		c, err := Dial(context.Background(), a, opts)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		waitDone(t, c)
		if want := (CloseError{Code: wire.CloseMoved, Reason: wire.MovedReason}); c.Err() != want {
			t.Errorf("Err() = %v, want %v", c.Err(), want)
		}
		if got := <-rec.movedC; got != moved {
			t.Errorf("OnMessage got moved %+v, want %+v", got, moved)
		}
		if got := c.Stats().Moves; got != (MoveStats{Drain: 1}) {
			t.Errorf("Stats().Moves = %+v, want the drain counted", got)
		}

		_, err = Dial(context.Background(), a, opts)
		var me *MoveError
		var ce CloseError
		if !errors.As(err, &me) || me.Moved != moved || !errors.As(err, &ce) || ce.Code != wire.CloseMoved {
			t.Errorf("Dial = %v, want a MoveError for %+v wrapping the close 4003", err, moved)
		}
	})
}

// TestCloseDuringMove checks that Close interrupts a move under way: here,
// a handshake with a node that never answers.
func TestCloseDuringMove(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		target, dialled := silentNotify(t)
		a := fakeNode(t, func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			fc.welcome(testWelcome)
			fc.moved(wire.Moved{URL: target, Seat: "s5", Why: wire.MoveDrain})
		})
		rec := newRecorder()
		c, err := Dial(context.Background(), a, withPoll(rec.options("quitter"), poll))
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		select {
		case <-dialled:
		case <-time.After(wait):
			t.Fatal("the client did not follow the move")
		}
		start := time.Now()
		c.Close()
		if elapsed := time.Since(start); elapsed > wait/2 {
			t.Errorf("Close during a move took %v", elapsed)
		}
		if !errors.Is(c.Err(), ErrClosed) {
			t.Errorf("Err() = %v, want ErrClosed", c.Err())
		}
	})
}
