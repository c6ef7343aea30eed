package lobby

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/sim"
)

// moveConn is a connection that records what the lobby tells it of the
// fleet, and hands its departures to its lobby as a session does.
type moveConn struct {
	fakeConn
	l        *Lobby
	mu       sync.Mutex
	refusals Refusals
	moved    *Moved
	shutdown bool
	departed *sim.Departed
}

func (c *moveConn) Seated(s *Seat, refused Refusals) {
	c.fakeConn.Seated(s, refused)
	c.mu.Lock()
	c.refusals = refused
	c.mu.Unlock()
}

func (c *moveConn) Move(m *Moved) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moved = m
}

func (c *moveConn) Shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shutdown = true
}

func (c *moveConn) Departed(ev sim.Departed) {
	c.mu.Lock()
	c.departed = &ev
	c.mu.Unlock()
	c.l.Departed(c.seat, ev)
}

func (c *moveConn) lastMove() *Moved {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.moved
}

// fleetLobby is a node of a fleet whose directory is dir.
func fleetLobby(t *testing.T, dir fleet.Directory, node string, maxArenas, maxPlayers int) *Lobby {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.MaxPlayers, cfg.MinPopulation = maxPlayers, 0
	l, err := New(Config{
		MaxArenas: maxArenas, Grace: 10 * time.Second, EmptyArenaTTL: time.Minute,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewArena: func(id int) (*sim.Arena, error) { return sim.New(sim.Options{ID: id, Config: cfg, Seed: 1}) },
		Fleet: FleetConfig{Directory: dir, Node: node, URL: "ws://" + node + "/ws", Shared: true,
			// The test's nodes have no address; every one of them is up.
			Reachable: func(context.Context, string) bool { return true }},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	l.FleetRound(context.Background())
	return l
}

func joinReq(l *Lobby, req JoinRequest, c Conn) (*Seat, error) {
	return l.Join(context.Background(), req, c)
}

// waitAlive spawns the seat's marble and waits until a frame shows it.
func waitAlive(t *testing.T, s *Seat) sim.Player {
	t.Helper()
	if err := s.Arena.Post(sim.Spawn(s.ID)); err != nil {
		t.Fatal(err)
	}
	return waitArrived(t, s)
}

func TestFullNodeMovesNewPlayersToARoomyOne(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 1)
	b := fleetLobby(t, dir, "b", 1, 2)
	a.FleetRound(context.Background())
	if _, err := joinReq(a, JoinRequest{Name: "first"}, &moveConn{l: a}); err != nil {
		t.Fatal(err)
	}
	_, err := joinReq(a, JoinRequest{Name: "second", Token: "nobody's"}, &moveConn{l: a})
	var m *Moved
	if !errors.As(err, &m) || m.Why != fleet.WhyFull || m.URL != "ws://b/ws" || m.Seat == "" || m.Refused != TokenRefused {
		t.Fatalf("join on a full node: %v, want moved full to ws://b/ws with a seat, the token refused first", err)
	}
	c := &moveConn{l: b}
	s, err := joinReq(b, JoinRequest{Name: "ignored", Seat: m.Seat}, c)
	if err != nil || c.refusals != 0 || s.Name != "second" {
		t.Fatalf("arriving with the seat: %+v refused %v err %v, want a new seat named second", s, c.refusals, err)
	}
	// The seat is used up.
	c2 := &moveConn{l: b}
	if _, err := joinReq(b, JoinRequest{Name: "again", Seat: m.Seat}, c2); err != nil || c2.refusals != SeatRefused {
		t.Fatalf("a used seat: refused %v err %v, want bad_seat then a new session", c2.refusals, err)
	}
	// Now the fleet is full.
	if _, err := joinReq(b, JoinRequest{Name: "late"}, &moveConn{l: b}); !errors.Is(err, ErrFull) {
		t.Fatalf("join on a full fleet: %v, want ErrFull", err)
	}
}

func TestTokenOfAnotherNodeMovesOrComesBack(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 4)
	b := fleetLobby(t, dir, "b", 1, 4)
	c := &moveConn{l: a}
	s, err := joinReq(a, JoinRequest{Name: "roamer"}, c)
	if err != nil {
		t.Fatal(err)
	}
	p := waitAlive(t, s)
	a.FleetRound(context.Background()) // checkpoint
	a.Leave(s, c, false)               // dropped: the seat waits for its token

	_, err = joinReq(b, JoinRequest{Name: "x", Token: s.Token}, &moveConn{l: b})
	var m *Moved
	if !errors.As(err, &m) || m.Why != fleet.WhyResume || m.URL != "ws://a/ws" {
		t.Fatalf("token of a live node's session: %v, want moved resume to ws://a/ws", err)
	}
	back := &moveConn{l: a}
	if got, err := joinReq(a, JoinRequest{Seat: m.Seat}, back); err != nil || got != s || back.refusals != 0 {
		t.Fatalf("resume seat: seat %v (want %v) refused %v err %v", got, s, back.refusals, err)
	}

	// Node a dies (its lease goes); its token brings the marble to b.
	a.FleetRound(context.Background())
	if err := dir.Remove(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.healthySince = time.Now().Add(-time.Hour) // b has trusted the directory for long
	b.mu.Unlock()
	c3 := &moveConn{l: b}
	s3, err := joinReq(b, JoinRequest{Name: "impostor", Token: s.Token}, c3)
	if err != nil || s3.Name != "roamer" || s3.Token == s.Token {
		t.Fatalf("token of a dead node: %+v err %v, want a new session named roamer", s3, err)
	}
	got := waitArrived(t, s3)
	if got.Entity.Mass != p.Entity.Mass {
		t.Fatalf("came back with mass %d, had %d", got.Entity.Mass, p.Entity.Mass)
	}
}

// waitArrived waits until a frame shows the seat's marble (posted by the
// lobby as an Arrive, or spawned).
func waitArrived(t *testing.T, s *Seat) sim.Player {
	t.Helper()
	var got sim.Player
	waitFrame(t, s, "its marble alive", func(p *sim.Player) bool {
		if p != nil && p.Alive {
			got = *p
			return true
		}
		return false
	})
	return got
}

// waitFrame waits until the seat's arena publishes a frame whose record
// of the seat (nil if none) satisfies ok.
func waitFrame(t *testing.T, s *Seat, what string, ok func(*sim.Player) bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		f := s.Arena.Acquire()
		done := ok(f.Player(s.ID))
		f.Release()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("seat %d: %s not within 3 s", s.ID, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDrainMovesEveryMarble(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 4)
	b := fleetLobby(t, dir, "b", 2, 4)
	var conns []*moveConn
	for i := range 3 {
		c := &moveConn{l: a}
		s, err := joinReq(a, JoinRequest{Name: fmt.Sprintf("p%d", i)}, c)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			waitAlive(t, s)
		}
		conns = append(conns, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := joinReq(a, JoinRequest{Name: "newcomer"}, &moveConn{l: a}); !isMove(err, fleet.WhyFull) {
		t.Fatalf("a new player on a draining node: %v, want moved full", err)
	}
	for _, c := range conns {
		m := c.lastMove()
		if m == nil || m.Why != fleet.WhyDrain || m.URL != "ws://b/ws" {
			t.Fatalf("seat %s: moved %+v, want drain to ws://b/ws", c.seat.Name, m)
		}
		nc := &moveConn{l: b}
		s, err := joinReq(b, JoinRequest{Seat: m.Seat}, nc)
		if err != nil || s.Name != c.seat.Name {
			t.Fatalf("arrival of %s: %+v err %v", c.seat.Name, s, err)
		}
		c.mu.Lock()
		d := c.departed
		c.mu.Unlock()
		if d == nil || d.Name != s.Name {
			t.Fatalf("%s: departure %+v", s.Name, d)
		}
		if !d.Alive {
			continue // the spectator arrives spectating
		}
		// The marble arrives with the exact mass it left with; its first
		// tick there may already feed it a fragment or two.
		want := sim.RoundMass(d.Mass)
		if got := waitArrived(t, s).Entity.Mass; got < want || got > want+2 {
			t.Fatalf("%s arrived with mass %d, left with %v", s.Name, got, d.Mass)
		}
	}
	a.mu.Lock()
	left := len(a.seats)
	a.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d seats left on the drained node", left)
	}
}

func isMove(err error, why string) bool {
	var m *Moved
	return errors.As(err, &m) && m.Why == why
}

func TestDrainAloneTouchesNothing(t *testing.T) {
	a := fleetLobby(t, fleet.NewMemory(), "a", 1, 4)
	c := &moveConn{l: a}
	if _, err := joinReq(a, JoinRequest{Name: "stay"}, c); err != nil {
		t.Fatal(err)
	}
	if err := a.Drain(context.Background()); !errors.Is(err, ErrAlone) {
		t.Fatalf("drain without other nodes: %v, want ErrAlone", err)
	}
	if c.lastMove() != nil || a.isDraining() {
		t.Fatal("a lone node's drain moved someone or left routing")
	}
}

// downDirectory fails every call, as a Redis that is down does.
type downDirectory struct{ fleet.Directory }

func (downDirectory) err() error { return fmt.Errorf("down: %w", fleet.ErrUnavailable) }
func (d downDirectory) Admit(context.Context, string) error {
	return d.err()
}
func (d downDirectory) Claim(context.Context, string, string) (fleet.Seat, error) {
	return fleet.Seat{}, d.err()
}
func (d downDirectory) LookupResume(context.Context, string) (fleet.Resume, error) {
	return fleet.Resume{}, d.err()
}
func (d downDirectory) Heartbeat(context.Context, fleet.Lease, time.Duration) error { return d.err() }

func TestDirectoryDownSeatsLocally(t *testing.T) {
	a := fleetLobby(t, downDirectory{fleet.NewMemory()}, "a", 1, 2)
	for i := range 2 {
		c := &moveConn{l: a}
		if _, err := joinReq(a, JoinRequest{Name: "local", Seat: "unverifiable", Token: "unknowable"}, c); err != nil || c.refusals != SeatRefused|TokenRefused {
			t.Fatalf("join %d with the directory down: refused %v err %v, want a local seat with seat and token refused", i, c.refusals, err)
		}
	}
	if _, err := joinReq(a, JoinRequest{Name: "one too many"}, &moveConn{l: a}); !errors.Is(err, ErrFull) {
		t.Fatalf("local arenas full with the directory down: %v, want ErrFull", err)
	}
	if a.trustsAbsence() {
		t.Fatal("a node whose directory is down trusts its absences")
	}
}

// TestTokenOfANodeThatJustDied: the token's node stopped beating a moment
// ago and does not answer at its address, but its lease still lives. The
// node asked waits for the lease to lapse (longer than one directory
// call's deadline) and brings the marble back, instead of sending the
// player to a dead node.
func TestTokenOfANodeThatJustDied(t *testing.T) {
	dir := fleet.NewMemory()
	mk := func(node string) *Lobby {
		cfg := sim.DefaultConfig()
		cfg.MaxPlayers, cfg.MinPopulation = 4, 0
		l, err := New(Config{
			MaxArenas: 1, Grace: 10 * time.Second, EmptyArenaTTL: time.Minute,
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			NewArena: func(id int) (*sim.Arena, error) { return sim.New(sim.Options{ID: id, Config: cfg, Seed: 1}) },
			Fleet: FleetConfig{Directory: dir, Node: node, URL: "ws://" + node + "/ws",
				Heartbeat: 100 * time.Millisecond, LeaseTTL: 800 * time.Millisecond, CallTimeout: 200 * time.Millisecond,
				Reachable: func(_ context.Context, url string) bool { return url != "ws://a/ws" }},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		l.FleetRound(context.Background())
		return l
	}
	a, b := mk("a"), mk("b")
	conn := &moveConn{l: a}
	s, err := joinReq(a, JoinRequest{Name: "lazarus"}, conn)
	if err != nil {
		t.Fatal(err)
	}
	waitAlive(t, s)
	a.FleetRound(context.Background()) // a checkpoint; then a "dies"
	time.Sleep(900 * time.Millisecond) // b has trusted the directory for a lease
	b.FleetRound(context.Background())
	a.FleetRound(context.Background()) // a fresh lease (and its last checkpoint): a looks alive to b
	last, err := dir.LookupResume(context.Background(), s.Token)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c := &moveConn{l: b}
	got, err := joinReq(b, JoinRequest{Name: "x", Token: s.Token}, c)
	if err != nil || c.refusals != 0 || got.Name != "lazarus" {
		t.Fatalf("token of a node that just died: %+v refused %v err %v; want its marble back here", got, c.refusals, err)
	}
	if waited := time.Since(start); waited < 500*time.Millisecond || waited > 2*time.Second {
		t.Fatalf("waited %v for the lease's verdict; want about a lease (800 ms)", waited)
	}
	if m := waitArrived(t, got).Entity.Mass; m != sim.RoundMass(last.Mass) {
		t.Fatalf("came back with mass %d, its last checkpoint had %v", m, last.Mass)
	}
}

// TestFleetRoundCountsTheFleet: a round publishes the fleet's connected
// players and seats, summed over the live nodes' leases it read.
func TestFleetRoundCountsTheFleet(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 1)
	b := fleetLobby(t, dir, "b", 1, 2)
	for _, l := range []*Lobby{a, b} {
		if _, err := joinReq(l, JoinRequest{Name: "player"}, &moveConn{l: l}); err != nil {
			t.Fatal(err)
		}
		l.FleetRound(context.Background()) // its lease with the player
	}
	// A round reads the leases before writing its own: a second round
	// of a reads both with their player.
	a.FleetRound(context.Background())
	m := a.cfg.Fleet.Metrics
	if nodes, players, seats := gauge(t, m.FleetNodes), gauge(t, m.FleetPlayers),
		gauge(t, m.FleetCapacity); nodes != 2 || players != 2 || seats != 3 {
		t.Fatalf("fleet nodes %v, players %v, capacity %v; want 2, 2 and 3 (1 + 2 seats)", nodes, players, seats)
	}
}

func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
