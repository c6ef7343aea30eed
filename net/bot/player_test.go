package bot

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// node starts a fake server that runs script on its one WebSocket
// connection, with send writing a server message and recv reading the
// next client message, then closes with the code script returns. It
// returns the server's URL.
func node(t *testing.T, script func(send func([]byte), recv func() wire.ClientMessage) ws.StatusCode) string {
	t.Helper()
	var running sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		defer running.Done()
		conn, rw, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		rd := wsutil.Reader{Source: rw.Reader, State: ws.StateServerSide, MaxFrameSize: wire.MaxClientFrameSize, OnIntermediate: wsutil.ControlFrameHandler(conn, ws.StateServerSide)}
		var dec wire.Decoder
		send := func(frame []byte) {
			if err := wsutil.WriteServerMessage(conn, ws.OpBinary, frame); err != nil {
				t.Errorf("write: %v", err)
			}
		}
		recv := func() wire.ClientMessage {
			var m wire.ClientMessage
			for {
				hdr, err := rd.NextFrame()
				if err != nil {
					t.Errorf("read: %v", err)
					return m
				}
				payload, _ := io.ReadAll(&rd)
				if hdr.OpCode != ws.OpBinary {
					continue
				}
				if err := dec.DecodeClient(payload, &m); err != nil {
					t.Errorf("decode: %v", err)
				}
				return m
			}
		}
		code := script(send, recv)
		_ = ws.WriteFrame(conn, ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
	}))
	t.Cleanup(func() { srv.Close(); running.Wait() })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// TestPlayerFollowsMove checks that a player moved to another node plays
// on there from a fresh table.
func TestPlayerFollowsMove(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *client.PollGroup) {
		var enc wire.Encoder
		welcome := func(session uint32, tick uint64) []byte {
			return enc.AppendWelcome(nil, &wire.Welcome{Version: 1, Session: session, Token: "t", Tick: tick, Rate: 30, ArenaWidth: 3000, ArenaHeight: 3000})
		}
		b := node(t, func(send func([]byte), recv func() wire.ClientMessage) ws.StatusCode {
			if h := recv().Hello; h.Seat != "seat" || h.Name != "bot" {
				t.Errorf("hello on B = %+v, want the seat and the name", h)
			}
			send(welcome(2, 10))
			send(enc.AppendSnap(nil, &wire.Snap{Tick: 11, HasYou: true, You: wire.UpdEntity{ID: 5, X: 100, Y: 100, Mass: 30},
				Add: []wire.AddEntity{{ID: 5, Kind: wire.KindPlayer, X: 100, Y: 100, Mass: 30}}}))
			if m := recv(); m.Type != wire.TypeInput {
				t.Errorf("got %s on B, want an input", m.Type)
			}
			return ws.StatusNormalClosure
		})
		a := node(t, func(send func([]byte), recv func() wire.ClientMessage) ws.StatusCode {
			recv()
			send(welcome(1, 90000))
			send(enc.AppendSnap(nil, &wire.Snap{Tick: 90001, Add: []wire.AddEntity{{ID: 7, Kind: wire.KindFragment, Mass: 1}}}))
			send(enc.AppendMoved(nil, &wire.Moved{URL: b, Seat: "seat", Why: wire.MoveDrain}))
			return wire.CloseMoved
		})
		// OnMove comes before the player has applied B's first snap; the
		// caller's OnMessage comes after.
		moved, onB := make(chan struct{}), make(chan struct{})
		p, err := Dial(context.Background(), a, Options{Name: "bot", Client: client.Options{Poll: poll,
			OnMove: func(*client.Client, client.Move) { close(moved) },
			OnMessage: func(_ *client.Client, m *wire.ServerMessage) {
				if m.Type == wire.TypeSnap && m.Snap.Tick == 11 {
					close(onB)
				}
			},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for _, c := range []chan struct{}{moved, onB} {
			select {
			case <-c:
			case <-time.After(10 * time.Second):
				t.Fatal("the player did not move")
			}
		}
		p.mu.Lock()
		view := maps.Collect(p.table.All())
		tick, alive := p.table.Tick, p.table.Alive
		p.mu.Unlock()
		if want := map[uint32]client.Entity{5: {Kind: wire.KindPlayer, X: 100, Y: 100, Mass: 30}}; !maps.Equal(view, want) || tick != 11 || !alive {
			t.Errorf("table after the move: %v at tick %d, alive %v; want B's view %v at tick 11, alive", view, tick, alive, want)
		}
		if a, err := p.Step(); err != nil || a.Goal == GoalSpawn || a.Goal == GoalWait {
			t.Errorf("Step after the move = %+v, %v; want an input", a, err)
		}
		if got := p.Client().Welcome().Session; got != 2 {
			t.Errorf("session %d after the move, want B's 2", got)
		}
	})
}

// TestPlayerReconnects checks that a player whose node drops it without a
// close frame (a crash) resumes with its token at the next node of
// Client.Reconnect and plays on there from a fresh table.
func TestPlayerReconnects(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *client.PollGroup) {
		var enc wire.Encoder
		b := node(t, func(send func([]byte), recv func() wire.ClientMessage) ws.StatusCode {
			if h := recv().Hello; h.Token != "tok-a" || h.Name != "bot" {
				t.Errorf("hello on B = %+v, want A's token and the name", h)
			}
			send(enc.AppendWelcome(nil, &wire.Welcome{Version: 1, Session: 9, Token: "tok-b", Tick: 20, Rate: 30, ArenaWidth: 3000, ArenaHeight: 3000}))
			send(enc.AppendSnap(nil, &wire.Snap{Tick: 21, HasYou: true, You: wire.UpdEntity{ID: 4, X: 50, Y: 50, Mass: 33},
				Add: []wire.AddEntity{{ID: 4, Kind: wire.KindPlayer, X: 50, Y: 50, Mass: 33}}}))
			if m := recv(); m.Type != wire.TypeInput {
				t.Errorf("got %s on B, want an input", m.Type)
			}
			return ws.StatusNormalClosure
		})
		crashed := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, rw, _, err := ws.UpgradeHTTP(r, w)
			if err != nil {
				t.Errorf("upgrade: %v", err)
				return
			}
			defer conn.Close() // no close frame: a crash
			rd := wsutil.Reader{Source: rw.Reader, State: ws.StateServerSide, MaxFrameSize: wire.MaxClientFrameSize}
			if _, err := rd.NextFrame(); err != nil { // the hello
				t.Errorf("read hello: %v", err)
				return
			}
			_ = wsutil.WriteServerMessage(conn, ws.OpBinary, enc.AppendWelcome(nil, &wire.Welcome{Version: 1, Session: 1, Token: "tok-a", Tick: 90000, Rate: 30, ArenaWidth: 3000, ArenaHeight: 3000}))
			_ = wsutil.WriteServerMessage(conn, ws.OpBinary, enc.AppendSnap(nil, &wire.Snap{Tick: 90001, Add: []wire.AddEntity{{ID: 7, Kind: wire.KindFragment, Mass: 1}}}))
			<-crashed
		}))
		defer srv.Close()
		a := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
		back, onB := make(chan client.Reconnect, 1), make(chan struct{})
		p, err := Dial(context.Background(), a, Options{Name: "bot", Client: client.Options{Poll: poll,
			Reconnect:   []string{a, b},
			OnReconnect: func(_ *client.Client, r client.Reconnect) { back <- r },
			OnMessage: func(_ *client.Client, m *wire.ServerMessage) {
				if m.Type == wire.TypeSnap && m.Snap.Tick == 21 {
					close(onB) // after the player applied it
				}
			},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		close(crashed)
		select {
		case r := <-back:
			if r.From != a || r.To != b {
				t.Errorf("reconnected %+v, want from A to B", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the player did not reconnect")
		}
		<-onB
		p.mu.Lock()
		view := maps.Collect(p.table.All())
		tick, alive := p.table.Tick, p.table.Alive
		p.mu.Unlock()
		if want := map[uint32]client.Entity{4: {Kind: wire.KindPlayer, X: 50, Y: 50, Mass: 33}}; !maps.Equal(view, want) || tick != 21 || !alive {
			t.Errorf("table after the reconnection: %v at tick %d, alive %v; want B's view %v at tick 21, alive", view, tick, alive, want)
		}
		if a, err := p.Step(); err != nil || a.Goal == GoalSpawn || a.Goal == GoalWait {
			t.Errorf("Step after the reconnection = %+v, %v; want an input", a, err)
		}
		if got := p.Client().Welcome().Session; got != 9 {
			t.Errorf("session %d after the reconnection, want B's 9", got)
		}
	})
}
