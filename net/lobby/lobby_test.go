package lobby

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/sim"
)

type fakeConn struct {
	replaced, seated atomic.Int32
	seat             *Seat // the seat Seated gave it last
	refused          bool
}

func (c *fakeConn) Seated(s *Seat, tokenRefused bool) {
	c.seated.Add(1)
	c.seat, c.refused = s, tokenRefused
}

func (c *fakeConn) FrameReady(uint64)     {}
func (c *fakeConn) Died(sim.DiedEvent)    {}
func (c *fakeConn) Board(*sim.BoardEvent) {}
func (c *fakeConn) Replaced()             { c.replaced.Add(1) }

func newLobby(t *testing.T, maxArenas, maxPlayers int, grace time.Duration) *Lobby {
	t.Helper()
	cfg := ecs.DefaultConfig()
	cfg.MaxPlayers, cfg.MinPopulation = maxPlayers, 0
	l, err := New(Config{
		MaxArenas: maxArenas, Grace: grace, EmptyArenaTTL: time.Minute,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewArena: func(id int) (*sim.Arena, error) { return sim.New(sim.Options{ID: id, Config: cfg, Seed: 1}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

func TestJoinFillsArenasThenRefuses(t *testing.T) {
	l := newLobby(t, 2, 2, time.Second)
	arenaOf := map[int]int{}
	ids, tokens := map[uint32]bool{}, map[string]bool{}
	for i := range 4 {
		c := &fakeConn{}
		s, err := l.Join("p", "", c)
		// Every join is a new seat (not a resumed one): its own id and token.
		if err != nil || c.seated.Load() != 1 || c.seat != s || ids[s.ID] || tokens[s.Token] || c.refused {
			t.Fatalf("join %d: seated %d with its seat %v, new seat %v, refused %v, err %v", i, c.seated.Load(), c.seat == s, s != nil && !ids[s.ID] && !tokens[s.Token], c.refused, err)
		}
		ids[s.ID], tokens[s.Token] = true, true
		arenaOf[s.Arena.ID()]++
	}
	if len(arenaOf) != 2 || arenaOf[0] != 2 || arenaOf[1] != 2 {
		t.Fatalf("seats by arena %v, want two arenas of two", arenaOf)
	}
	if _, err := l.Join("p", "", &fakeConn{}); !errors.Is(err, ErrFull) {
		t.Fatalf("fifth join: %v, want ErrFull", err)
	}
}

// spawn gives the seat a living marble: only those are held for a resume.
func spawn(t *testing.T, s *Seat) {
	t.Helper()
	if err := s.Arena.Post(sim.Command{Command: ecs.Command{Kind: ecs.CmdSpawn, Session: s.ID}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !hasMarble(s) {
		if time.Now().After(deadline) {
			t.Fatal("no marble after spawning")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestResumeWithinGraceAndAfter(t *testing.T) {
	l := newLobby(t, 1, 10, 150*time.Millisecond)
	first := &fakeConn{}
	seat, err := l.Join("ann", "", first)
	if err != nil {
		t.Fatal(err)
	}
	spawn(t, seat)
	// A second connection with the token takes the seat over while the
	// first still plays it: the first is told it was replaced.
	second := &fakeConn{}
	again, err := l.Join("ann", seat.Token, second)
	if err != nil || second.seat != seat || second.refused || again != seat || first.replaced.Load() != 1 {
		t.Fatalf("takeover: same seat %v (given %v) refused %v replaced %d err %v", again == seat, second.seat == seat, second.refused, first.replaced.Load(), err)
	}
	// The replaced connection leaving changes nothing.
	l.Leave(seat, first, false)
	if seat.Arena.Seats() != 1 {
		t.Fatalf("seats %d after the replaced connection left, want 1", seat.Arena.Seats())
	}
	// Dropped, then resumed in time.
	l.Leave(seat, second, false)
	third := &fakeConn{}
	if s, err := l.Join("ann", seat.Token, third); err != nil || third.seat != seat || third.refused || s != seat {
		t.Fatalf("resume within grace: same seat %v (given %v) refused %v err %v", s == seat, third.seat == seat, third.refused, err)
	}
	// Dropped, and the grace period passes: the seat is released.
	l.Leave(seat, third, false)
	deadline := time.Now().Add(2 * time.Second)
	for seat.Arena.Seats() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("seat not released after the grace period")
		}
		time.Sleep(10 * time.Millisecond)
	}
	late := &fakeConn{}
	s, err := l.Join("ann", seat.Token, late)
	newSeat := s != nil && s != seat && s.ID != seat.ID && s.Token != seat.Token
	if err != nil || late.seat != s || !late.refused || !newSeat {
		t.Fatalf("expired token: refused %v, new seat %v (given %v), err %v", late.refused, newSeat, late.seat == s, err)
	}
}

func TestEmptyExtraArenaStops(t *testing.T) {
	l := newLobby(t, 2, 1, time.Millisecond)
	c1, c2 := &fakeConn{}, &fakeConn{}
	s1, _ := l.Join("a", "", c1)
	s2, _ := l.Join("b", "", c2)
	if s2.Arena == s1.Arena || len(l.Arenas()) != 2 {
		t.Fatalf("second player not in a second arena")
	}
	l.Leave(s2, c2, true)
	now := time.Now()
	l.reapEmpty(now)
	if len(l.Arenas()) != 2 {
		t.Fatal("extra arena stopped before its TTL")
	}
	l.reapEmpty(now.Add(2 * time.Minute))
	if got := l.Arenas(); len(got) != 1 || got[0] != s1.Arena {
		t.Fatalf("after the TTL: %d arenas, want only the first", len(got))
	}
	// The first arena is kept even when empty.
	l.Leave(s1, c1, true)
	l.reapEmpty(now.Add(10 * time.Minute))
	if len(l.Arenas()) != 1 {
		t.Fatal("the first arena was stopped")
	}
}

// TestSeatWithoutMarbleIsNotHeld: a spectator's dropped seat is released at
// once, so connecting and dropping in a loop cannot fill the arenas.
func TestSeatWithoutMarbleIsNotHeld(t *testing.T) {
	l := newLobby(t, 1, 1, time.Minute)
	for i := range 5 {
		c := &fakeConn{}
		seat, err := l.Join("spectator", "", c)
		if err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
		l.Leave(seat, c, false)
		if seat.Arena.Seats() != 0 {
			t.Fatalf("join %d: %d seats held after a spectator left", i, seat.Arena.Seats())
		}
	}
}
