package replayserve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// playersLog is the scripted players' match of testdata/replays: 2,400
// ticks at 30 a second, with busts.
const playersLog = "../../testdata/replays/players.replay"

// startServer serves playersLog on a free loopback port until the test
// ends.
func startServer(t *testing.T) *Server {
	t.Helper()
	f, err := os.Open(playersLog)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := sim.LoadReplay(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Addr: "127.0.0.1:0", WebDir: t.TempDir(), Replay: rp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// viewerClient is a raw WebSocket client that keeps the entity table its
// snaps build, as a browser does.
type viewerClient struct {
	t     *testing.T
	conn  net.Conn
	r     io.Reader
	enc   wire.Encoder
	dec   wire.Decoder
	msg   wire.ServerMessage
	table map[uint32]wire.AddEntity
}

func dialViewer(t *testing.T, s *Server) *viewerClient {
	t.Helper()
	conn, br, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), "ws://"+s.Addr()+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &viewerClient{t: t, conn: conn, r: r, table: map[uint32]wire.AddEntity{}}
}

func (c *viewerClient) send(payload []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientBinary(c.conn, payload); err != nil {
		c.t.Fatal(err)
	}
}

func (c *viewerClient) hello() *wire.ServerMessage {
	c.t.Helper()
	c.send(c.enc.AppendHello(nil, &wire.Hello{Version: wire.Version, Name: "viewer"}))
	return c.expect(wire.TypeWelcome)
}

func (c *viewerClient) replay(op wire.ReplayOp, arg float64) {
	c.send(c.enc.AppendReplay(nil, &wire.ReplayControl{Op: op, Arg: arg}))
}

// next reads the next message (a close frame as a wsutil.ClosedError),
// applying snaps to the table and emptying it at a welcome.
func (c *viewerClient) next(timeout time.Duration) (*wire.ServerMessage, error) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		h, err := ws.ReadHeader(c.r)
		if err != nil {
			return nil, err
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return nil, err
		}
		switch h.OpCode {
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(payload)
			return nil, wsutil.ClosedError{Code: code, Reason: reason}
		case ws.OpBinary:
		default:
			continue
		}
		if err := c.dec.DecodeServer(payload, &c.msg); err != nil {
			c.t.Fatalf("undecodable message: %v", err)
		}
		switch c.msg.Type {
		case wire.TypeWelcome:
			clear(c.table)
		case wire.TypeSnap:
			c.apply(&c.msg.Snap)
		}
		return &c.msg, nil
	}
}

func (c *viewerClient) apply(s *wire.Snap) {
	for _, a := range s.Add {
		if _, dup := c.table[a.ID]; dup {
			c.t.Fatalf("tick %d adds %d, which the client holds", s.Tick, a.ID)
		}
		c.table[a.ID] = a
	}
	for _, u := range s.Upd {
		if _, ok := c.table[u.ID]; !ok {
			c.t.Fatalf("tick %d updates %d, which the client does not hold", s.Tick, u.ID)
		}
	}
	for _, id := range s.Del {
		if _, ok := c.table[id]; !ok {
			c.t.Fatalf("tick %d deletes %d, which the client does not hold", s.Tick, id)
		}
		delete(c.table, id)
	}
}

// expect reads until a message of type want (any message if 0), failing
// on a close or after 10 s.
func (c *viewerClient) expect(want wire.Type) *wire.ServerMessage {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %v: %v", want, err)
		}
		if m.Type == want || want == 0 {
			return m
		}
	}
}

// snapTicks returns the ticks of the next n snaps.
func (c *viewerClient) snapTicks(n int) []uint64 {
	c.t.Helper()
	var ticks []uint64
	for len(ticks) < n {
		ticks = append(ticks, c.expect(wire.TypeSnap).Snap.Tick)
	}
	return ticks
}

// status reads until a replay status that satisfies ok.
func (c *viewerClient) status(ok func(*wire.ReplayStatus) bool) wire.ReplayStatus {
	c.t.Helper()
	for {
		if m := c.expect(wire.TypeReplay); ok(&m.Replay) {
			return m.Replay
		}
	}
}

func TestViewerStartsAtTheFirstTick(t *testing.T) {
	s := startServer(t)
	c := dialViewer(t, s)
	w := c.hello()
	if w.Welcome.Tick != 0 || w.Welcome.Rate != 30 || w.Welcome.TerrainSize == 0 || len(w.Welcome.Rules) == 0 {
		t.Fatalf("welcome = tick %d, rate %d, terrain %d, %d rules; want tick 0 of a 30 Hz arena with its terrain and rules",
			w.Welcome.Tick, w.Welcome.Rate, w.Welcome.TerrainSize, len(w.Welcome.Rules))
	}
	st := c.expect(wire.TypeReplay).Replay
	if st.Tick != 0 || st.Last != 2400 || st.Speed != 1 || st.Paused {
		t.Fatalf("first status %+v; want tick 0 of 2400, speed 1, playing", st)
	}
	// spawn and input are ignored: no error, and the playback plays on.
	c.send(c.enc.AppendSpawn(nil))
	c.send(c.enc.AppendInput(nil, &wire.Input{Seq: 1, Angle: 1}))
	deadline := time.Now().Add(10 * time.Second)
	for last := uint64(0); last < 40; {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			t.Fatal(err)
		}
		switch m.Type {
		case wire.TypeError:
			t.Fatalf("error %v: %s", m.Error.Code, m.Error.Msg)
		case wire.TypeSnap:
			if m.Snap.Tick <= last && last != 0 {
				t.Fatalf("snap of tick %d after tick %d", m.Snap.Tick, last)
			}
			last = m.Snap.Tick
		}
	}
	if len(c.table) == 0 {
		t.Fatal("the snaps showed nothing")
	}
}

// TestViewersAtIndependentPositions: two viewers of one log seek to
// different ticks and each plays on from its own.
func TestViewersAtIndependentPositions(t *testing.T) {
	s := startServer(t)
	a, b := dialViewer(t, s), dialViewer(t, s)
	a.hello()
	b.hello()
	a.replay(wire.ReplaySeek, 1800)
	b.replay(wire.ReplaySeek, 300)
	if w := a.expect(wire.TypeWelcome); w.Welcome.Tick != 1800 {
		t.Fatalf("viewer a: welcome after its seek at tick %d, want 1800", w.Welcome.Tick)
	}
	if w := b.expect(wire.TypeWelcome); w.Welcome.Tick != 300 {
		t.Fatalf("viewer b: welcome after its seek at tick %d, want 300", w.Welcome.Tick)
	}
	ta, tb := a.snapTicks(5), b.snapTicks(5)
	if ta[0] < 1800 || tb[0] < 300 || tb[4] >= 1800 {
		t.Fatalf("viewer a at ticks %v, b at %v; want a from 1800 on and b from 300, far behind", ta, tb)
	}
}

// TestSeekStartsAfresh: a seek, back or forward, is answered with a fresh
// welcome at the tick, the status, and a snap that adds everything in
// view again, from the tick on.
func TestSeekStartsAfresh(t *testing.T) {
	s := startServer(t)
	c := dialViewer(t, s)
	c.hello()
	c.snapTicks(3)
	for _, tick := range []uint64{1200, 450, 2400} {
		c.replay(wire.ReplaySeek, float64(tick))
		w := c.expect(wire.TypeWelcome)
		if w.Welcome.Tick != tick {
			t.Fatalf("seek %d: welcome at tick %d", tick, w.Welcome.Tick)
		}
		var st wire.ReplayStatus
		var snap wire.Snap
		for got := 0; got != 3; {
			switch m := c.expect(0); {
			case m.Type == wire.TypeReplay && got&1 == 0:
				st, got = m.Replay, got|1
			case m.Type == wire.TypeSnap && got&2 == 0:
				snap, got = m.Snap, got|2
			}
		}
		if st.Tick != tick || snap.Tick != tick || len(snap.Add) == 0 || len(snap.Upd)+len(snap.Del) != 0 {
			t.Fatalf("seek %d: status at %d, first snap at tick %d with %d adds, %d upds, %d dels; want everything added at %d",
				tick, st.Tick, snap.Tick, len(snap.Add), len(snap.Upd), len(snap.Del), tick)
		}
	}
	// At the last tick the playback stops, and says so.
	if st := c.status(func(st *wire.ReplayStatus) bool { return true }); !st.Paused || st.Tick != 2400 {
		t.Fatalf("status at the end %+v, want paused at 2400", st)
	}
	// A seek past the end stops at the last tick.
	c.replay(wire.ReplaySeek, 1e9)
	if w := c.expect(wire.TypeWelcome); w.Welcome.Tick != 2400 {
		t.Fatalf("seek past the end: welcome at tick %d, want 2400", w.Welcome.Tick)
	}
}

// TestEndOfLog: the playback stops at the log's last tick and says so;
// play there starts the match again.
func TestEndOfLog(t *testing.T) {
	s := startServer(t)
	c := dialViewer(t, s)
	c.hello()
	c.replay(wire.ReplaySpeed, 8)
	c.replay(wire.ReplaySeek, 2300)
	c.status(func(st *wire.ReplayStatus) bool { return st.Paused && st.Tick == 2400 })
	c.replay(wire.ReplayPlay, 0)
	if w := c.expect(wire.TypeWelcome); w.Welcome.Tick != 0 {
		t.Fatalf("play at the end: welcome at tick %d, want 0", w.Welcome.Tick)
	}
	c.status(func(st *wire.ReplayStatus) bool { return !st.Paused && st.Tick == 0 })
}

// TestSpeed: above 1, each snap is several ticks on (the ticks between are
// skipped); below 1, snaps come a tick at a time, as at 1.
func TestSpeed(t *testing.T) {
	s := startServer(t)
	c := dialViewer(t, s)
	c.hello()
	c.replay(wire.ReplaySpeed, 8)
	c.status(func(st *wire.ReplayStatus) bool { return st.Speed == 8 })
	ticks := c.snapTicks(6)
	for i := 2; i < len(ticks); i++ {
		if d := ticks[i] - ticks[i-1]; d != 8 {
			t.Fatalf("at speed 8, snaps of ticks %v; want 8 ticks apart", ticks)
		}
	}
	c.replay(wire.ReplaySpeed, 0.25)
	c.status(func(st *wire.ReplayStatus) bool { return st.Speed == 0.25 })
	c.snapTicks(1)
	start := time.Now()
	ticks = c.snapTicks(4)
	for i := 1; i < len(ticks); i++ {
		if ticks[i] != ticks[i-1]+1 {
			t.Fatalf("at speed 0.25, snaps of ticks %v; want one tick apart", ticks)
		}
	}
	// Three ticks at a quarter of 30 a second take 400 ms; never less.
	if took := time.Since(start); took < 350*time.Millisecond {
		t.Fatalf("3 ticks at speed 0.25 took %v, want about 400 ms", took)
	}
}

// TestPause: a paused playback sends no new snaps; play resumes where it
// stood.
func TestPause(t *testing.T) {
	s := startServer(t)
	c := dialViewer(t, s)
	c.hello()
	c.snapTicks(2)
	c.replay(wire.ReplayPause, 0)
	st := c.status(func(st *wire.ReplayStatus) bool { return st.Paused })
	// Snaps already on their way show st.Tick at most.
	deadline := time.Now().Add(400 * time.Millisecond)
	for {
		m, err := c.next(time.Until(deadline))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == wire.TypeSnap && m.Snap.Tick > st.Tick {
			t.Fatalf("paused at tick %d, then a snap of tick %d", st.Tick, m.Snap.Tick)
		}
	}
	c.replay(wire.ReplayPlay, 0)
	c.status(func(st *wire.ReplayStatus) bool { return !st.Paused })
	if tick := c.expect(wire.TypeSnap).Snap.Tick; tick != st.Tick+1 {
		t.Fatalf("play after a pause at %d: first snap of tick %d, want %d", st.Tick, tick, st.Tick+1)
	}
}

// TestBadReplayOps: an unknown op or an argument out of range is a
// bad_message, and the third closes the connection with 1002.
func TestBadReplayOps(t *testing.T) {
	s := startServer(t)
	c := dialViewer(t, s)
	c.hello()
	c.send([]byte{0x82, 0xa1, 't', 0xa6, 'r', 'e', 'p', 'l', 'a', 'y', 0xa2, 'o', 'p', 0xa6, 'r', 'e', 'w', 'i', 'n', 'd'})
	if m := c.expect(wire.TypeError); m.Error.Code != wire.CodeBadMessage || !strings.Contains(m.Error.Msg, "op") {
		t.Fatalf("unknown op answered %v %q, want bad_message about op", m.Error.Code, m.Error.Msg)
	}
	c.replay(wire.ReplaySpeed, 100)
	if m := c.expect(wire.TypeError); m.Error.Code != wire.CodeBadMessage || !strings.Contains(m.Error.Msg, "arg") {
		t.Fatalf("speed 100 answered %v %q, want bad_message about arg", m.Error.Code, m.Error.Msg)
	}
	c.replay(wire.ReplaySeek, -5)
	deadline := time.Now().Add(10 * time.Second)
	var codes []wire.ErrorCode
	for {
		m, err := c.next(time.Until(deadline))
		var closed wsutil.ClosedError
		if errors.As(err, &closed) {
			if closed.Code != ws.StatusProtocolError || len(codes) != 1 || codes[0] != wire.CodeBadMessage {
				t.Fatalf("third bad message: errors %v, close %d; want bad_message and 1002", codes, closed.Code)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == wire.TypeError {
			codes = append(codes, m.Error.Code)
		}
	}
}

// TestWatch: watch follows a marble of the match (the snaps' eye), at
// once while paused; an id that is no marble leaves the view as it was,
// without an error.
func TestWatch(t *testing.T) {
	s := startServer(t)
	c := dialViewer(t, s)
	c.hello()
	c.replay(wire.ReplaySeek, 600)
	c.replay(wire.ReplayPause, 0)
	st := c.status(func(st *wire.ReplayStatus) bool { return st.Paused && st.Tick >= 600 })
	if len(st.Players) < 2 {
		t.Fatalf("players at tick %d: %+v; the scripted match has several", st.Tick, st.Players)
	}
	// While paused, a watch is shown in a snap of the tick that stands.
	c.send(c.enc.AppendWatch(nil, &wire.Watch{ID: 0}))
	snap := c.expect(wire.TypeSnap).Snap
	leader := snap.Eye
	if snap.Tick != st.Tick || leader == 0 {
		t.Fatalf("watch 0 while paused at %d: snap of tick %d following %d; want the leader at %d", st.Tick, snap.Tick, leader, st.Tick)
	}
	var pick sim.PlaybackPlayer
	for _, p := range st.Players {
		if p.ID != leader {
			pick = p
		}
	}
	c.send(c.enc.AppendWatch(nil, &wire.Watch{ID: 999999}))
	c.send(c.enc.AppendPing(nil, &wire.Ping{C: 42}))
	// The pong comes after the watch was handled: nothing between but the
	// once-a-second status.
	m := c.expect(0)
	for m.Type == wire.TypeReplay {
		m = c.expect(0)
	}
	if m.Type != wire.TypePong || m.Pong.C != 42 || m.Pong.Tick != st.Tick {
		t.Fatalf("after a watch of an unknown id and a ping: %v (%+v), want only the pong of tick %d", m.Type, m.Pong, st.Tick)
	}
	c.send(c.enc.AppendWatch(nil, &wire.Watch{ID: pick.ID}))
	snap = c.expect(wire.TypeSnap).Snap
	if snap.Eye != pick.ID || snap.Tick != st.Tick {
		t.Fatalf("watch %d while paused: snap of tick %d following %d", pick.ID, snap.Tick, snap.Eye)
	}
	if _, held := c.table[pick.ID]; !held {
		t.Fatalf("the view follows %d, which the client was not sent", pick.ID)
	}
}

// TestShutdown: a server that stops tells its viewers (shutdown, 1001).
func TestShutdown(t *testing.T) {
	s := startServer(t)
	c := dialViewer(t, s)
	c.hello()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var codes []wire.ErrorCode
	for {
		m, err := c.next(5 * time.Second)
		var closed wsutil.ClosedError
		if errors.As(err, &closed) {
			if closed.Code != ws.StatusGoingAway || len(codes) != 1 || codes[0] != wire.CodeShutdown {
				t.Fatalf("at shutdown: errors %v, close %d; want shutdown and 1001", codes, closed.Code)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == wire.TypeError {
			codes = append(codes, m.Error.Code)
		}
	}
}

// TestHelloFirst: anything before the hello ends the connection with
// no_hello, as on a live server.
func TestHelloFirst(t *testing.T) {
	s := startServer(t)
	c := dialViewer(t, s)
	c.replay(wire.ReplayPlay, 0)
	m := c.expect(wire.TypeError)
	if m.Error.Code != wire.CodeNoHello {
		t.Fatalf("replay before hello answered %v", m.Error.Code)
	}
	_, err := c.next(5 * time.Second)
	var closed wsutil.ClosedError
	if !errors.As(err, &closed) || closed.Code != ws.StatusProtocolError {
		t.Fatalf("after no_hello: %v, want close 1002", err)
	}
}

// TestPageRedirect: the page opens as /?replay, which makes the client
// watch without asking for a name.
func TestPageRedirect(t *testing.T) {
	s := startServer(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + s.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/?replay" {
		t.Fatalf("GET / = %d to %q, want 302 to /?replay", resp.StatusCode, resp.Header.Get("Location"))
	}
}
