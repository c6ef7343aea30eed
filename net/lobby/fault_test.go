package lobby

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/sim"
)

// Regression tests for faults a review found in the fleet paths.

// A detached player of a draining node presents its token to another node:
// the marble is brought back there, yet the draining node keeps the seat,
// the marble in its arena, and re-checkpoints the token every round.
func TestFaultDrainingTokenDuplicates(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 4)
	b := fleetLobby(t, dir, "b", 1, 4)
	c := fleetLobby(t, dir, "c", 1, 4)
	conn := &moveConn{l: a}
	s, err := joinReq(a, JoinRequest{Name: "dup"}, conn)
	if err != nil {
		t.Fatal(err)
	}
	waitAlive(t, s)
	a.FleetRound(context.Background())
	a.Leave(s, conn, false) // dropped: detached
	if err := a.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	s1, err := joinReq(b, JoinRequest{Name: "x", Token: s.Token}, &moveConn{l: b})
	if err != nil || s1.Name != "dup" {
		t.Fatalf("b: %+v %v, want the drained node's dropped player back", s1, err)
	}
	waitArrived(t, s1)
	b.FleetRound(context.Background())
	a.FleetRound(context.Background()) // a gave the seat up: writes nothing for it
	cc := &moveConn{l: c}
	s2, err := joinReq(c, JoinRequest{Name: "y", Token: s.Token}, cc)
	if err != nil || cc.refusals != TokenRefused || s2.Name != "y" {
		t.Fatalf("the same token on c: %+v refused %v err %v, want refused (the marble lives on b)", s2, cc.refusals, err)
	}
	waitUntilGone(t, s)
}

// waitUntilGone waits until the seat's arena no longer shows its marble.
func waitUntilGone(t *testing.T, s *Seat) {
	t.Helper()
	waitFrame(t, s, "gone from its arena", func(p *sim.Player) bool { return p == nil })
}

// A drained seat whose connection drops in the tick its Depart is posted:
// the drain must still learn of the departure (it used to wait for its
// whole context, the Detach having removed the sink), and give the
// marble up as a record its token can bring back.
func TestFaultDrainHangsOnDropInSameTick(t *testing.T) {
	dir := fleet.NewMemory()
	clk := sim.NewManualClock()
	cfg := sim.DefaultConfig()
	cfg.MaxPlayers, cfg.MinPopulation = 4, 0
	a, err := New(Config{
		MaxArenas: 1, Grace: 10 * time.Second, EmptyArenaTTL: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewArena: func(id int) (*sim.Arena, error) {
			return sim.New(sim.Options{ID: id, Config: cfg, Seed: 1, Clock: clk})
		},
		Fleet: FleetConfig{Directory: dir, Node: "a", URL: "ws://a/ws", Shared: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	a.FleetRound(context.Background())
	_ = fleetLobby(t, dir, "b", 1, 4)
	conn := &moveConn{l: a}
	s, err := joinReq(a, JoinRequest{Name: "p"}, conn)
	if err != nil {
		t.Fatal(err)
	}
	clk.Tick()
	_ = s.Arena.Post(sim.Spawn(s.ID))
	clk.Tick()
	clk.Tick()
	// Tick returns when the arena took the tick, not when it finished it:
	// wait for the step, so the Depart lands in the next tick.
	for s.Arena.Tick() < 3 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go func() { done <- a.Drain(ctx) }()
	for {
		a.mu.Lock()
		n := a.departing
		a.mu.Unlock()
		if n > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Drain returned %v before the departure", err)
		default:
		}
		time.Sleep(time.Millisecond)
	}
	a.Leave(s, conn, false) // the client drops before the next tick
	clk.Tick()
	clk.Tick()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Drain: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Drain still waiting a second after the departure")
	}
	rec, err := dir.LookupResume(context.Background(), s.Token)
	if err != nil || rec.Node != "" || !rec.Alive || rec.Mass <= 0 {
		t.Fatalf("record of the dropped, departed player: %+v %v; want alive, naming no node", rec, err)
	}
}

type slowReserveAny struct{ fleet.Directory }

func (d slowReserveAny) ReserveAny(ctx context.Context, ex string, s fleet.Seat, ttl time.Duration) (fleet.Lease, fleet.Seat, error) {
	time.Sleep(300 * time.Millisecond)
	return d.Directory.ReserveAny(ctx, ex, s, ttl)
}

// The player reconnects to the draining node with its token while its
// departure waits for a seat elsewhere.
func TestFaultResumeDuringDrainDoubleRelease(t *testing.T) {
	mem := fleet.NewMemory()
	a := fleetLobby(t, slowReserveAny{mem}, "a", 1, 4)
	_ = fleetLobby(t, mem, "b", 1, 4)
	c1 := &moveConn{l: a}
	s, err := joinReq(a, JoinRequest{Name: "p"}, c1)
	if err != nil {
		t.Fatal(err)
	}
	waitAlive(t, s)
	done := make(chan error, 1)
	go func() { done <- a.Drain(context.Background()) }()
	for { // wait for the Departed
		c1.mu.Lock()
		d := c1.departed
		c1.mu.Unlock()
		if d != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c2 := &moveConn{l: a}
	s2, err := joinReq(a, JoinRequest{Name: "p", Token: s.Token}, c2)
	if err != nil || s2 != s {
		t.Fatalf("resume during the drain: %v %v", s2 == s, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m := c2.lastMove(); m == nil || m.Why != fleet.WhyDrain {
		t.Fatalf("the resumed connection's move %+v, want drain", m)
	}
	a.Leave(s, c2, true)
	a.Leave(s, c1, true)
	if n := s.Arena.Seats(); n != 0 {
		t.Fatalf("arena seats %d after everyone left, want 0", n)
	}
}

// Drain when no other node has room: the marble has already departed, the
// session is shut down, and its token is forgotten: nowhere to come back.
func TestFaultDrainNoRoomLosesMarble(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 4)
	b := fleetLobby(t, dir, "b", 1, 1)
	if _, err := joinReq(b, JoinRequest{Name: "filler"}, &moveConn{l: b}); err != nil {
		t.Fatal(err)
	}
	b.FleetRound(context.Background())
	c := &moveConn{l: a}
	s, err := joinReq(a, JoinRequest{Name: "p"}, c)
	if err != nil {
		t.Fatal(err)
	}
	waitAlive(t, s)
	a.FleetRound(context.Background())
	if err := a.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.FleetRound(context.Background())
	rec, err := dir.LookupResume(context.Background(), s.Token)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.shutdown || err != nil || rec.Node != "" || !rec.Alive || rec.Mass != c.departed.Mass {
		t.Fatalf("no room elsewhere: shutdown %v, record %+v %v; want shut down and the marble kept in a record naming no node", c.shutdown, rec, err)
	}
}

// A dead node's token on two nodes before the first one's next round.
func TestFaultDeadTokenTwice(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 4)
	b := fleetLobby(t, dir, "b", 1, 4)
	c := fleetLobby(t, dir, "c", 1, 4)
	conn := &moveConn{l: a}
	s, _ := joinReq(a, JoinRequest{Name: "p"}, conn)
	waitAlive(t, s)
	a.FleetRound(context.Background())
	_ = dir.Remove(context.Background(), "a")
	for _, l := range []*Lobby{b, c} {
		l.mu.Lock()
		l.healthySince = time.Now().Add(-time.Hour)
		l.mu.Unlock()
	}
	s1, e1 := joinReq(b, JoinRequest{Token: s.Token}, &moveConn{l: b})
	cc := &moveConn{l: c}
	_, e2 := joinReq(c, JoinRequest{Token: s.Token}, cc)
	if e1 != nil || e2 != nil || cc.refusals != TokenRefused {
		t.Fatalf("b: %v; c: %v refused %v; want the marble on b and the token refused on c", e1, e2, cc.refusals)
	}
	waitArrived(t, s1)
}

// Node a crashes and is restarted with the same -node-id.
func TestFaultRestartSameNodeID(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 4)
	b := fleetLobby(t, dir, "b", 1, 4)
	conn := &moveConn{l: a}
	s, _ := joinReq(a, JoinRequest{Name: "p"}, conn)
	waitAlive(t, s)
	a.FleetRound(context.Background())
	_ = a.Close(context.Background())         // crash: no Remove
	_ = dir.Remove(context.Background(), "a") // lease lapsed
	a2 := fleetLobby(t, dir, "a", 1, 4)       // restarted, same id
	_ = b
	c1 := &moveConn{l: a2}
	s1, err := joinReq(a2, JoinRequest{Token: s.Token}, c1)
	if err != nil || c1.refusals != 0 || s1.Name != "p" {
		t.Fatalf("token at the restarted node: %+v refused %v err %v; want its marble back", s1, c1.refusals, err)
	}
	waitArrived(t, s1)
}

func TestFaultDeadTokenFullFleetForgets(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 4)
	b := fleetLobby(t, dir, "b", 1, 1)
	_, _ = joinReq(b, JoinRequest{Name: "filler"}, &moveConn{l: b})
	conn := &moveConn{l: a}
	s, _ := joinReq(a, JoinRequest{Name: "p"}, conn)
	waitAlive(t, s)
	a.FleetRound(context.Background())
	_ = dir.Remove(context.Background(), "a")
	b.mu.Lock()
	b.healthySince = time.Now().Add(-time.Hour)
	b.mu.Unlock()
	_, err := joinReq(b, JoinRequest{Token: s.Token}, &moveConn{l: b})
	b.FleetRound(context.Background())
	_, lerr := dir.LookupResume(context.Background(), s.Token)
	if !errors.Is(err, ErrFull) || lerr != nil {
		t.Fatalf("join on a full fleet: %v; record afterwards: %v; want ErrFull and the record kept", err, lerr)
	}
}
