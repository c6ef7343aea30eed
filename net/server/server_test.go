package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/server/servertest"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/session"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

func newTestServer(t *testing.T, mutate func(*server.Config)) *server.Server {
	t.Helper()
	return servertest.Start(t, func(c *server.Config) {
		c.MaxArenas = 2
		if mutate != nil {
			mutate(c)
		}
	})
}

// join connects, says hello and returns the client with its welcome.
func join(t *testing.T, s *server.Server, name string) (*testClient, wire.Welcome) {
	t.Helper()
	c := dial(t, s.Addr())
	c.hello(name)
	w := c.expect(wire.TypeWelcome, 5*time.Second).Welcome
	return c, w
}

func TestHandshake(t *testing.T) {
	s := newTestServer(t, nil)
	c, w := join(t, s, "  Ann\x00ie  ")
	cfg := sim.DefaultConfig()
	if w.Version != 1 || w.Session == 0 || len(w.Token) != 32 || w.Rate != 30 || w.ArenaWidth != 3000 || w.ArenaHeight != 3000 {
		t.Fatalf("welcome = %+v", w)
	}
	if w.TerrainSize != cfg.TerrainSamples || len(w.Terrain) != w.TerrainSize*w.TerrainSize {
		t.Fatalf("terrain %d samples, %d bytes", w.TerrainSize, len(w.Terrain))
	}
	rules := map[string]float64{}
	for _, r := range w.Rules {
		rules[r.Name] = r.Value
	}
	for name, want := range map[string]float64{"radius_factor": 4, "start_mass": 20, "bust_ratio": 1.2, "view_w": 600, "boost_floor": 15} {
		if rules[name] != want {
			t.Errorf("rules[%s] = %v, want %v", name, rules[name], want)
		}
	}
	// A spectator's first snap adds its whole view, with no you.
	snap := c.expect(wire.TypeSnap, 5*time.Second).Snap
	if snap.HasYou || len(snap.Add) == 0 {
		t.Fatalf("spectator's first snap: you %v, %d adds", snap.HasYou, len(snap.Add))
	}
	board := c.expect(wire.TypeBoard, 3*time.Second).Board
	if board.Count < cfg.MinPopulation || len(board.Top) == 0 || len(board.Top) > 10 {
		t.Fatalf("board = %+v", board)
	}
	for i := 1; i < len(board.Top); i++ {
		if board.Top[i].Mass > board.Top[i-1].Mass {
			t.Fatalf("board not biggest first: %+v", board.Top)
		}
	}
	// The name was cleaned.
	c.send(c.enc.AppendSpawn(nil))
	for {
		m := c.expect(wire.TypeSnap, 3*time.Second)
		if m.Snap.HasYou {
			if e := c.table[m.Snap.You.ID]; e.Name != "Annie" || e.Kind != wire.KindPlayer {
				t.Fatalf("own marble %+v, want player named Annie", e)
			}
			break
		}
	}
}

// TestInputMovesMarble steers right, then down, and checks the marble's
// reported position follows, with ack catching up with the inputs.
func TestInputMovesMarble(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) { c.Arena.Gravity = 0 })
	c, _ := join(t, s, "mover")
	c.send(c.enc.AppendSpawn(nil))
	var you wire.UpdEntity
	for !c.msg.Snap.HasYou || c.msg.Type != wire.TypeSnap {
		c.expect(wire.TypeSnap, 3*time.Second)
	}
	you = c.msg.Snap.You
	for _, step := range []struct {
		angle  float64
		dx, dy int
	}{{0, 1, 0}, {math.Pi / 2, 0, 1}} {
		c.input(step.angle, false)
		start := you
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			m := c.expect(wire.TypeSnap, time.Second)
			if m.Snap.HasYou {
				you = m.Snap.You
			}
		}
		if c.msg.Snap.Ack != c.seq {
			t.Errorf("ack %d after input %d", c.msg.Snap.Ack, c.seq)
		}
		dx, dy := int(you.X)-int(start.X), int(you.Y)-int(start.Y)
		// A second at ~100 units/s is ~2,000 quantized steps.
		if step.dx == 1 && (dx < 500 || abs(dy) > dx/2) || step.dy == 1 && (dy < 500 || abs(dx) > dy/2) {
			t.Errorf("heading %.2f moved the marble by (%d,%d)", step.angle, dx, dy)
		}
	}
}

func abs(v int) int { return max(v, -v) }

// TestReplayIsNotLive: a live server has no playback to control, so the
// replay viewer's message is a bad_message there, and the session goes on.
func TestReplayIsNotLive(t *testing.T) {
	s := newTestServer(t, nil)
	c, _ := join(t, s, "x")
	c.send(c.enc.AppendReplay(nil, &wire.ReplayControl{Op: wire.ReplayPause}))
	if m := c.expect(wire.TypeError, 2*time.Second); m.Error.Code != wire.CodeBadMessage || !strings.Contains(m.Error.Msg, "replay") {
		t.Fatalf("replay on a live server answered %q %q, want bad_message about replay", m.Error.Code, m.Error.Msg)
	}
	c.expect(wire.TypeSnap, 2*time.Second)
}

func TestBadMessagesCloseOnTheThird(t *testing.T) {
	s := newTestServer(t, nil)
	c, _ := join(t, s, "x")
	garbage := [][]byte{
		{0xc1},                   // never used in msgpack
		[]byte{0x92, 0x01, 0x02}, // an array, not a map
		c.enc.AppendInput(nil, &wire.Input{Seq: 0, Angle: 1}), // seq not increasing
	}
	for i, g := range garbage[:2] {
		c.send(g)
		m := c.expect(wire.TypeError, 2*time.Second)
		if m.Error.Code != wire.CodeBadMessage {
			t.Fatalf("bad message %d answered with %q", i+1, m.Error.Code)
		}
	}
	c.send(garbage[2])
	code, errs := c.expectClose(2 * time.Second)
	if code != ws.StatusProtocolError || len(errs) == 0 || errs[len(errs)-1] != wire.CodeBadMessage {
		t.Fatalf("third bad message: close %d after errors %v, want 1002 after bad_message", code, errs)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*server.Config)
		act       func(c *testClient)
		wantError wire.ErrorCode
		wantClose ws.StatusCode
	}{
		{"spawn before hello", nil, func(c *testClient) { c.send(c.enc.AppendSpawn(nil)) }, wire.CodeNoHello, ws.StatusProtocolError},
		{"garbage before hello", nil, func(c *testClient) { c.send([]byte("nope")) }, wire.CodeNoHello, ws.StatusProtocolError},
		{"wrong version", nil, func(c *testClient) { c.send(c.enc.AppendHello(nil, &wire.Hello{Version: 2, Name: "x"})) }, wire.CodeVersion, ws.StatusProtocolError},
		{"text frame before hello", nil, func(c *testClient) {
			if err := wsutil.WriteClientText(c.conn, []byte(`{"t":"hello"}`)); err != nil {
				c.t.Fatal(err)
			}
		}, wire.CodeTextFrame, ws.StatusUnsupportedData},
		{"text frame after hello", nil, func(c *testClient) {
			c.hello("x")
			c.expect(wire.TypeWelcome, 2*time.Second)
			if err := wsutil.WriteClientText(c.conn, []byte("hi")); err != nil {
				c.t.Fatal(err)
			}
		}, wire.CodeTextFrame, ws.StatusUnsupportedData},
		{"frame over 1 KiB", nil, func(c *testClient) {
			c.hello("x")
			c.expect(wire.TypeWelcome, 2*time.Second)
			c.send(make([]byte, 2048))
		}, wire.CodeTooBig, ws.StatusMessageTooBig},
		{"fragmented message over 1 KiB", nil, func(c *testClient) {
			for i := 0; i < 3; i++ {
				f := ws.NewFrame(ws.OpContinuation, false, make([]byte, 600))
				if i == 0 {
					f.Header.OpCode = ws.OpBinary
				}
				f = ws.MaskFrameInPlace(f)
				if err := ws.WriteFrame(c.conn, f); err != nil {
					c.t.Fatal(err)
				}
			}
		}, wire.CodeTooBig, ws.StatusMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, tt.mutate)
			c := dial(t, s.Addr())
			tt.act(c)
			code, errs := c.expectClose(3 * time.Second)
			if code != tt.wantClose || len(errs) == 0 || errs[len(errs)-1] != tt.wantError {
				t.Fatalf("close %d after errors %v; want %d after %q", code, errs, tt.wantClose, tt.wantError)
			}
		})
	}
}

func TestFullServerRefusesWith1013(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) {
		c.MaxArenas = 1
		c.Arena.MaxPlayers, c.Arena.MinPopulation = 2, 2
	})
	join(t, s, "a")
	join(t, s, "b")
	c := dial(t, s.Addr())
	c.hello("c")
	code, errs := c.expectClose(3 * time.Second)
	if code != session.CloseTryAgainLater || len(errs) != 1 || errs[0] != wire.CodeFull {
		t.Fatalf("third player: close %d after %v, want 1013 after full", code, errs)
	}
}

// TestNewArenaStartsWhenFull fills the first arena and checks the next
// player lands in a second one, visible in /arenas.
func TestNewArenaStartsWhenFull(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) { c.Arena.MaxPlayers, c.Arena.MinPopulation = 1, 1 })
	join(t, s, "a")
	join(t, s, "b")
	resp, err := http.Get("http://" + s.AdminAddr() + "/arenas")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Arenas []server.ArenaStatus }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Arenas) != 2 || body.Arenas[0].Sessions != 1 || body.Arenas[1].Sessions != 1 {
		t.Fatalf("/arenas = %+v, want two arenas with a session each", body.Arenas)
	}
}

func TestPingPong(t *testing.T) {
	s := newTestServer(t, nil)
	c, _ := join(t, s, "pinger")
	c.expect(wire.TypeSnap, 2*time.Second) // the arena has ticked
	c.send(c.enc.AppendPing(nil, &wire.Ping{C: 4242}))
	p := c.expect(wire.TypePong, 2*time.Second).Pong
	if p.C != 4242 || p.Tick == 0 {
		t.Fatalf("pong = %+v, want c 4242 and a tick", p)
	}
	// A third ping within a second is over the limit of 2.
	c.send(c.enc.AppendPing(nil, &wire.Ping{C: 1}))
	c.send(c.enc.AppendPing(nil, &wire.Ping{C: 2}))
	c.send(c.enc.AppendPing(nil, &wire.Ping{C: 3}))
	sawLimit := false
	deadline := time.Now().Add(2 * time.Second)
	for !sawLimit && time.Now().Before(deadline) {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			t.Fatal(err)
		}
		sawLimit = m.Type == wire.TypeError && m.Error.Code == wire.CodeRateLimited
	}
	if !sawLimit {
		t.Fatal("four pings in a second drew no rate_limited error")
	}
}

func TestResume(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) { c.Grace = 2 * time.Second })
	c, w := join(t, s, "phoenix")
	c.send(c.enc.AppendSpawn(nil))
	var id uint32
	for id == 0 {
		if m := c.expect(wire.TypeSnap, 3*time.Second); m.Snap.HasYou {
			id = m.Snap.You.ID
		}
	}
	c.conn.Close() // abrupt: no close frame

	c2 := dial(t, s.Addr())
	c2.send(c2.enc.AppendHello(nil, &wire.Hello{Version: 1, Name: "phoenix", Token: w.Token}))
	w2 := c2.expect(wire.TypeWelcome, 3*time.Second).Welcome
	// A takeover rotates the token (PROTOCOL.md's notes).
	if w2.Session != w.Session || w2.Token == w.Token || len(w2.Token) != len(w.Token) {
		t.Fatalf("resumed welcome session %d token %q, want %d and a new token (the old one was %q)", w2.Session, w2.Token, w.Session, w.Token)
	}
	snap := c2.expect(wire.TypeSnap, 3*time.Second).Snap
	if !snap.HasYou || snap.You.ID != id {
		t.Fatalf("resumed snap you = %v %+v, want marble %d", snap.HasYou, snap.You, id)
	}
	if _, ok := c2.table[id]; !ok || len(snap.Add) < 10 {
		t.Fatalf("first snap after resume added %d entities (own marble included: %v), want the whole view", len(snap.Add), ok)
	}
	// Inputs number afresh on the new connection.
	c2.input(0, false)
	for c2.msg.Type != wire.TypeSnap || c2.msg.Snap.Ack != 1 {
		c2.expect(wire.TypeSnap, 2*time.Second)
	}
}

// TestSlowConsumer stalls one client until the server gives up on it, and
// checks that the arena kept its tick rate and another client kept getting
// snapshots meanwhile.
func TestSlowConsumer(t *testing.T) {
	s := newTestServer(t, func(c *server.Config) {
		c.Session.WriteTimeout = 300 * time.Millisecond
		c.Session.CloseTimeout = 3 * time.Second
		c.Session.SendBuffer = 16 << 10
		// A view of the whole arena and many fragments make snaps big, so
		// a stalled reader's socket buffers fill at once.
		c.Arena.ViewWidth, c.Arena.ViewHeight = 3000, 3000
		c.Arena.FragmentCount = 20000
	})
	slow := dial(t, s.Addr(), dialOpts{rcvBuf: 4096})
	slow.hello("sloth")
	other, _ := join(t, s, "busy")
	a := s.Lobby().Arenas()[0]
	tick0 := a.Tick()
	start := time.Now()
	snaps := 0
	for time.Since(start) < 1500*time.Millisecond {
		if other.expect(wire.TypeSnap, time.Second); true {
			snaps++
		}
	}
	ticks := a.Tick() - tick0
	if ticks < 30 || snaps < 30 {
		t.Fatalf("while one client stalled for 1.5 s: %d ticks, %d snaps to the other client; want about 45 each", ticks, snaps)
	}
	code, _ := slow.expectClose(5 * time.Second)
	if code != wire.CloseSlowConsumer {
		t.Fatalf("stalled client closed with %d, want 4001", code)
	}
	// The close is counted when the session's goroutine has finished,
	// which may be just after the client saw the close frame.
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := counterValue(t, s, "shatter_session_closes_total", `reason="slow_consumer"`)
		if got == 1 {
			break
		}
		if got > 1 || time.Now().After(deadline) {
			t.Fatalf("slow_consumer closes = %v, want 1", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAbruptDisconnectMidFrame cuts a connection in the middle of a frame
// and checks the server carries on.
func TestAbruptDisconnectMidFrame(t *testing.T) {
	s := newTestServer(t, nil)
	c, _ := join(t, s, "cut")
	frame := ws.MaskFrameInPlace(ws.NewBinaryFrame(c.enc.AppendInput(nil, &wire.Input{Seq: 1, Angle: 1})))
	var buf strings.Builder
	if err := ws.WriteFrame(&writerAdapter{&buf}, frame); err != nil {
		t.Fatal(err)
	}
	if _, err := c.conn.Write([]byte(buf.String()[:5])); err != nil {
		t.Fatal(err)
	}
	c.conn.Close()
	other, _ := join(t, s, "fine")
	other.expect(wire.TypeSnap, 2*time.Second)
	deadline := time.Now().Add(3 * time.Second)
	for counterValue(t, s, "shatter_session_closes_total", `reason="client_closed"`) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the cut session was not closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type writerAdapter struct{ b *strings.Builder }

func (w *writerAdapter) Write(p []byte) (int, error) { return w.b.Write(p) }

func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	s := newTestServer(t, func(c *server.Config) { c.RecordDir = dir })
	c1, _ := join(t, s, "a")
	c2, _ := join(t, s, "b")
	done := make(chan error)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	for _, c := range []*testClient{c1, c2} {
		code, errs := c.expectClose(5 * time.Second)
		if code != ws.StatusGoingAway || len(errs) == 0 || errs[len(errs)-1] != wire.CodeShutdown {
			t.Fatalf("close %d after %v, want 1001 after shutdown", code, errs)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	// The replay log was flushed and closed with its end line.
	logs := replayLogs(t, dir)
	if len(logs) != 1 || logs[0] != "end" {
		t.Fatalf("replay logs after shutdown: %d, ending %q", len(logs), logs)
	}
	if _, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		t.Fatal("public listener still accepts after shutdown")
	}
}

func TestHealthAndHelpPage(t *testing.T) {
	s := newTestServer(t, nil)
	for path, want := range map[string]string{"/healthz": "ok", "/": "ws://"} {
		resp, err := http.Get("http://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s = %d %q, want 200 containing %q", path, resp.StatusCode, body, want)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := newTestServer(t, nil)
	c, _ := join(t, s, "m")
	c.expect(wire.TypeSnap, 2*time.Second)
	body := get(t, "http://"+s.AdminAddr()+"/metrics")
	for _, want := range []string{
		`shatter_tick_seconds_bucket{arena="0",system="movement"`,
		`shatter_tick_seconds_count{arena="0",system="total"}`,
		"shatter_sessions 1", `shatter_messages_out_total{type="welcome"} 1`, "shatter_bytes_out_total",
		`shatter_arena_bytes_out_total{arena="0"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// /arenas has the arena's share of the bytes sent.
	var arenas struct{ Arenas []server.ArenaStatus }
	if err := json.Unmarshal([]byte(get(t, "http://"+s.AdminAddr()+"/arenas")), &arenas); err != nil || len(arenas.Arenas) == 0 || arenas.Arenas[0].BytesOut <= 0 {
		t.Errorf("/arenas: %+v (%v), want the arena's bytes out", arenas, err)
	}
	if !strings.Contains(get(t, "http://"+s.AdminAddr()+"/debug/pprof/"), "goroutine") {
		t.Error("/debug/pprof/ index missing")
	}
}

// TestSpawnFloodIsLimited floods spawns, which share the arena's inbox with
// everyone's inputs: the flood is refused with rate_limited, and other
// players still get in and play.
func TestSpawnFloodIsLimited(t *testing.T) {
	s := newTestServer(t, nil)
	flood, _ := join(t, s, "flood")
	spawn := flood.enc.AppendSpawn(nil)
	for range 300 {
		flood.send(spawn)
	}
	if m := flood.expect(wire.TypeError, 2*time.Second); m.Error.Code != wire.CodeRateLimited {
		t.Fatalf("spawn flood answered with %q, want rate_limited", m.Error.Code)
	}
	other, _ := join(t, s, "other")
	other.send(other.enc.AppendSpawn(nil))
	for !other.msg.Snap.HasYou || other.msg.Type != wire.TypeSnap {
		other.expect(wire.TypeSnap, 2*time.Second)
	}
	if dropped := counterValue(t, s, "shatter_messages_dropped_total", `reason="rate_limited_spawn"`); dropped < 250 {
		t.Fatalf("%v spawns dropped by the rate limit, want nearly all 300", dropped)
	}
}

// TestShutdownWithStalledClient stops the server while one client has
// stopped reading: shutdown still ends within its 5 s and the replay log is
// flushed.
func TestShutdownWithStalledClient(t *testing.T) {
	dir := t.TempDir()
	s := newTestServer(t, func(c *server.Config) {
		c.RecordDir = dir
		c.Session.SendBuffer = 16 << 10
		c.Arena.ViewWidth, c.Arena.ViewHeight = 3000, 3000
		c.Arena.FragmentCount = 20000
	})
	stalled := dial(t, s.Addr(), dialOpts{rcvBuf: 4096})
	stalled.hello("stalled")
	time.Sleep(300 * time.Millisecond) // its writer is now blocked
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	if logs := replayLogs(t, dir); len(logs) != 1 || logs[0] != "end" {
		t.Fatalf("replay log not flushed: %q", logs)
	}
}

func TestConnectionLimits(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*server.Config)
	}{
		{"per address", func(c *server.Config) { c.MaxConnsPerIP = 2 }},
		{"in all", func(c *server.Config) { c.MaxConns = 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, tt.mutate)
			first, _ := join(t, s, "a")
			join(t, s, "b")
			_, _, _, err := ws.Dial(context.Background(), "ws://"+s.Addr()+"/ws")
			var status ws.StatusError
			if !errors.As(err, &status) || int(status) != http.StatusServiceUnavailable {
				t.Fatalf("third connection: %v, want HTTP 503", err)
			}
			// A connection that ends gives its place back.
			first.conn.Close()
			deadline := time.Now().Add(3 * time.Second)
			for {
				c, _, _, err := ws.Dial(context.Background(), "ws://"+s.Addr()+"/ws")
				if err == nil {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no room after a connection ended: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestHostileClientsDoNotHurtOthers lets several clients throw random
// frames at the server (random opcodes, lengths, masks, fragments, payloads
// that are almost msgpack) while one player plays: the player keeps getting
// a snapshot every tick, no session panics, and the server still admits
// new players afterwards.
func TestHostileClientsDoNotHurtOthers(t *testing.T) {
	s := newTestServer(t, nil)
	player, _ := join(t, s, "player")
	player.send(player.enc.AppendSpawn(nil))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 99))
			var enc wire.Encoder
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, _, _, err := ws.Dial(context.Background(), "ws://"+s.Addr()+"/ws")
				if err != nil {
					continue
				}
				if rng.IntN(2) == 0 { // half of them get past the hello
					_ = wsutil.WriteClientBinary(conn, enc.AppendHello(nil, &wire.Hello{Version: 1, Name: "hostile"}))
				}
				for range 1 + rng.IntN(40) {
					payload := make([]byte, rng.IntN(1500))
					for j := range payload {
						payload[j] = byte(rng.UintN(256))
					}
					if rng.IntN(3) == 0 && len(payload) > 0 {
						payload[0] = 0x80 | byte(rng.IntN(16)) // a small map, to get further
					}
					f := ws.NewFrame(ws.OpCode(rng.IntN(16)), rng.IntN(4) != 0, payload)
					f.Header.Rsv = byte(rng.IntN(8)) * byte(rng.IntN(2))
					if rng.IntN(10) != 0 {
						f = ws.MaskFrameInPlace(f)
					}
					_ = conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
					if ws.WriteFrame(conn, f) != nil {
						break
					}
				}
				conn.Close()
			}
		}(uint64(i))
	}
	start, snaps := time.Now(), 0
	for time.Since(start) < 2*time.Second {
		player.expect(wire.TypeSnap, time.Second)
		snaps++
	}
	close(stop)
	wg.Wait()
	if snaps < 50 {
		t.Fatalf("the player got %d snaps in 2 s under attack, want about 60", snaps)
	}
	if n := counterValue(t, s, "shatter_session_closes_total", `reason="panic"`); n != 0 {
		t.Fatalf("%v sessions panicked", n)
	}
	late, _ := join(t, s, "late")
	late.expect(wire.TypeSnap, 2*time.Second)
}
