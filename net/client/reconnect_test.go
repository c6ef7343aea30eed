package client

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
)

// reconnects records what OnReconnect reports.
type reconnects struct {
	mu   sync.Mutex
	list []Reconnect
}

func (r *reconnects) add(_ *Client, rc Reconnect) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rc)
}

func (r *reconnects) seen() []Reconnect {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// TestReconnectAfterDrop drops the connection to node A, once without a
// close frame (a crash) and once with 1001 going away: the client says
// hello with its token to the next URL of Reconnect, skips one that
// refuses connections, plays on at node B with a fresh view, refuses sends
// in between, keeps numbering its inputs, and reports the reconnection.
func TestReconnectAfterDrop(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		const snapDelay = 50 * time.Millisecond
		for _, tt := range []struct {
			name string
			end  func(fc *fakeConn)
		}{
			{"crash", func(*fakeConn) {}}, // the handler returns and closes the TCP connection
			{"going away", func(fc *fakeConn) { fc.close(ws.StatusGoingAway, "") }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				helloed, proceed := make(chan struct{}), make(chan struct{})
				b := fakeNode(t, func(fc *fakeConn) {
					fc.expectHello(wire.Hello{Version: wire.Version, Name: "phoenix", Token: testWelcome.Token})
					close(helloed)
					<-proceed
					fc.welcome(welcomeB)
					time.Sleep(snapDelay)
					fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 5001, HasYou: true, You: wire.UpdEntity{ID: 3, Mass: 40},
						Add: []wire.AddEntity{{ID: 3, Kind: wire.KindPlayer, Mass: 40, Name: "phoenix"}}}))
					if in := fc.expect(wire.TypeInput).Input; in.Seq != 2 {
						fc.fail("input seq on B = %d, want 2: seqs go on across a reconnection", in.Seq)
					}
					fc.close(ws.StatusNormalClosure, "")
				})
				a := fakeNode(t, func(fc *fakeConn) {
					fc.expectHello(wire.Hello{Version: wire.Version, Name: "phoenix"})
					fc.welcome(testWelcome)
					fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 101, Add: []wire.AddEntity{{ID: 10}, {ID: 11}}}))
					fc.expect(wire.TypeInput)
					tt.end(fc)
				})
				dead := unreachable(t)
				var rec reconnects
				c, err := Dial(context.Background(), a, Options{Poll: poll,
					Name: "phoenix", Reconnect: []string{a, dead, b}, OnReconnect: rec.add,
					OnMessage: func(c *Client, m *wire.ServerMessage) {
						if m.Type == wire.TypeSnap {
							if _, err := c.SendInput(1, false); err != nil {
								t.Errorf("SendInput after snap of tick %d: %v", m.Snap.Tick, err)
							}
						}
					},
				})
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				select {
				case <-helloed:
				case <-time.After(wait):
					t.Fatal("no hello at B")
				}
				if _, err := c.SendInput(1, false); !errors.Is(err, ErrMoving) {
					t.Errorf("SendInput while reconnecting = %v, want ErrMoving", err)
				}
				close(proceed)
				waitDone(t, c)

				if want := (CloseError{Code: ws.StatusNormalClosure}); c.Err() != want {
					t.Errorf("Err() = %v, want %v (B's close; the drop is no end)", c.Err(), want)
				}
				if got := c.Welcome().Session; got != welcomeB.Session {
					t.Errorf("Welcome().Session = %d, want B's %d", got, welcomeB.Session)
				}
				var snap Snapshot
				c.Snapshot(&snap)
				if len(snap.Entities) != 1 || !snap.Alive || snap.Tick != 5001 {
					t.Errorf("Snapshot = %+v, want B's view alone, alive at tick 5001", snap)
				}
				if st := c.Stats(); st.Drops != 1 || st.ReconnectsFailed != 0 || st.Moves.Total() != 0 || st.InputsSent != 2 {
					t.Errorf("Stats() = %+v, want one drop, no failure, no move, 2 inputs", st)
				}
				got := rec.seen()
				if len(got) != 1 {
					t.Fatalf("OnReconnect called %d times, want 1", len(got))
				}
				if r := got[0]; r.From != a || r.To != b || r.Attempts != 2 || r.Drop == nil || r.ToSnap < snapDelay || r.ToSnap > wait {
					t.Errorf("OnReconnect got %+v, want from A to B in 2 attempts (the dead URL skipped), after at least %v", r, snapDelay)
				}
			})
		}
	})
}

// TestReconnectFollowsMoved is a crash as a fleet sees it: the node that
// answers the token moves the client (resume) to the node that crashed,
// which cannot be reached; after MoveTimeout the client goes back with its
// token and is welcomed.
func TestReconnectFollowsMoved(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		dead := unreachable(t)
		b := fakeNode(t,
			func(fc *fakeConn) {
				fc.expectHello(wire.Hello{Version: wire.Version, Name: "lazarus", Token: testWelcome.Token})
				fc.moved(wire.Moved{URL: dead, Seat: "s6", Why: wire.MoveResume})
			},
			func(fc *fakeConn) {
				fc.expectHello(wire.Hello{Version: wire.Version, Name: "lazarus", Token: testWelcome.Token})
				fc.welcome(welcomeB)
				fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 5001}))
				fc.close(ws.StatusNormalClosure, "")
			},
		)
		a := fakeNode(t, func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			fc.welcome(testWelcome)
		})
		var rec reconnects
		var moves []Move
		c, err := Dial(context.Background(), a, Options{Poll: poll,
			Name: "lazarus", Reconnect: []string{a, b}, MoveTimeout: 300 * time.Millisecond,
			OnReconnect: rec.add,
			OnMove:      func(_ *Client, m Move) { moves = append(moves, m) },
		})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Close()
		waitDone(t, c)
		if want := (CloseError{Code: ws.StatusNormalClosure}); c.Err() != want {
			t.Errorf("Err() = %v, want %v", c.Err(), want)
		}
		if st := c.Stats(); st.Drops != 1 || st.Moves != (MoveStats{Resume: 1, FellBack: 1}) {
			t.Errorf("Stats() = %+v, want one drop and one resume move that fell back", st)
		}
		if len(moves) != 1 || moves[0].Moved.Why != wire.MoveResume || !moves[0].FellBack || moves[0].From != b || moves[0].To != b {
			t.Errorf("OnMove got %+v, want one resume from B that fell back to B", moves)
		}
		if got := rec.seen(); len(got) != 1 || got[0].From != a || got[0].To != b || got[0].Attempts != 1 || got[0].ToSnap < 300*time.Millisecond {
			t.Errorf("OnReconnect got %+v, want one from A to B in 1 attempt, after the move timeout", got)
		}
	})
}

// TestReconnectFails ends the client with a ReconnectError when no URL
// takes it back within ReconnectTimeout.
func TestReconnectFails(t *testing.T) {
	a := fakeNode(t, func(fc *fakeConn) {
		fc.expect(wire.TypeHello)
		fc.welcome(testWelcome)
	})
	c, err := Dial(context.Background(), a, Options{Name: "gone", Reconnect: []string{unreachable(t)}, ReconnectTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	start := time.Now()
	waitDone(t, c)
	if took := time.Since(start); took < 300*time.Millisecond || took > wait/2 {
		t.Errorf("the client ended %v after the drop, want about the 300ms ReconnectTimeout", took)
	}
	var re *ReconnectError
	if !errors.As(c.Err(), &re) || re.Drop == nil || re.Err == nil {
		t.Errorf("Err() = %v, want a ReconnectError with the drop and the last attempt's error", c.Err())
	}
	if st := c.Stats(); st.Drops != 1 || st.ReconnectsFailed != 1 {
		t.Errorf("Stats() = %+v, want one drop and one failed reconnection", st)
	}
	if _, err := c.SendInput(0, false); err == nil || errors.Is(err, ErrMoving) {
		t.Errorf("SendInput after a failed reconnection = %v, want the error of an ended client", err)
	}
}

// TestNoReconnectAfterClose: a close frame other than 1001 ends the
// client even with Reconnect set.
func TestNoReconnectAfterClose(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		for _, code := range []ws.StatusCode{ws.StatusNormalClosure, wire.CloseSlowConsumer} {
			nowhere := fakeNode(t) // Any connection to it fails the test.
			a := fakeNode(t, func(fc *fakeConn) {
				fc.expect(wire.TypeHello)
				fc.welcome(testWelcome)
				fc.close(code, "")
			})
			c, err := Dial(context.Background(), a, Options{Poll: poll, Name: "done", Reconnect: []string{nowhere}})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			waitDone(t, c)
			var ce CloseError
			if !errors.As(c.Err(), &ce) || ce.Code != code || c.Stats().Drops != 0 {
				t.Errorf("close %d: Err() = %v, drops %d; want the close and no drop", code, c.Err(), c.Stats().Drops)
			}
		}
	})
}

// TestWriteErrorStaysWithItsConnection: a send that failed on a dropped
// connection (the pacer's input, racing the read loop's notice of the
// drop) must not fail the writes of the next connection, its hello
// first: wsutil.Writer keeps a write error across Reset.
func TestWriteErrorStaysWithItsConnection(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		c := &Client{opts: Options{Poll: poll, WriteTimeout: time.Second}}
		dropped, peer := net.Pipe()
		peer.Close()
		if err := c.install(dropped, nil); err != nil {
			t.Fatal(err)
		}
		c.out = c.enc.AppendPing(c.out[:0], &wire.Ping{C: 1})
		if err := c.write(wire.TypePing); err == nil {
			t.Fatal("write on a dropped connection: no error")
		}
		next, server := net.Pipe()
		defer server.Close()
		go io.Copy(io.Discard, server)
		if err := c.install(next, nil); err != nil {
			t.Fatal(err)
		}
		c.out = c.enc.AppendPing(c.out[:0], &wire.Ping{C: 2})
		if err := c.write(wire.TypePing); err != nil {
			t.Errorf("write on the next connection: %v, want none", err)
		}
	})
}
