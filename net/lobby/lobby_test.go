package lobby

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shatter/shatter/sim"
)

type fakeConn struct {
	replaced, seated, failed atomic.Int32
	seat                     *Seat  // the seat Seated gave it last
	token                    string // the seat's token then, as a welcome carries it
	refused                  bool
}

func (c *fakeConn) Seated(s *Seat, refused Refusals) {
	tokenRefused := refused&TokenRefused != 0
	c.seated.Add(1)
	c.seat, c.token, c.refused = s, s.Token, tokenRefused
}

func (c *fakeConn) FrameReady(uint64)     {}
func (c *fakeConn) Died(sim.Died)         {}
func (c *fakeConn) Board(*sim.Board)      {}
func (c *fakeConn) Feed(*sim.Feed)        {}
func (c *fakeConn) Replaced()             { c.replaced.Add(1) }
func (c *fakeConn) Shutdown()             {}
func (c *fakeConn) Failed()               { c.failed.Add(1) }
func (c *fakeConn) Move(*Moved)           {}
func (c *fakeConn) Departed(sim.Departed) {}

// join is Join with a name and a token, as a hello without a seat.
func join(l *Lobby, name, token string, c Conn) (*Seat, error) {
	return l.Join(context.Background(), JoinRequest{Name: name, Token: token}, c)
}

func newLobby(t *testing.T, maxArenas, maxPlayers int, grace time.Duration) *Lobby {
	t.Helper()
	return newLobbyClock(t, maxArenas, maxPlayers, grace, nil)
}

// newLobbyClock is newLobby with the lobby's clock (not its arenas').
func newLobbyClock(t *testing.T, maxArenas, maxPlayers int, grace time.Duration, clock sim.Clock) *Lobby {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.MaxPlayers, cfg.MinPopulation = maxPlayers, 0
	l, err := New(Config{
		MaxArenas: maxArenas, Grace: grace, EmptyArenaTTL: time.Minute,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewArena: func(id int) (*sim.Arena, error) { return sim.New(sim.Options{ID: id, Config: cfg, Seed: 1}) },
		Clock:    clock,
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
		s, err := join(l, "p", "", c)
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
	if _, err := join(l, "p", "", &fakeConn{}); !errors.Is(err, ErrFull) {
		t.Fatalf("fifth join: %v, want ErrFull", err)
	}
}

// spawn gives the seat a living marble: only those are held for a resume.
func spawn(t *testing.T, s *Seat) {
	t.Helper()
	if err := s.Arena.Post(sim.Spawn(s.ID)); err != nil {
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

// TestResumeWithinGraceAndAfter runs in a synctest bubble, so the lobby's
// grace timers run on the bubble's fake clock: the grace period is
// PROTOCOL.md's 10 s, and the test checks its edges to the millisecond
// without waiting for it.
func TestResumeWithinGraceAndAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = 10 * time.Second
		l := newLobby(t, 1, 10, grace)
		first := &fakeConn{}
		seat, err := join(l, "ann", "", first)
		if err != nil {
			t.Fatal(err)
		}
		spawn(t, seat)
		// A second connection with the token takes the seat over while the
		// first still plays it: the first is told it was replaced.
		second := &fakeConn{}
		again, err := join(l, "ann", seat.Token, second)
		if err != nil || second.seat != seat || second.refused || again != seat || first.replaced.Load() != 1 {
			t.Fatalf("takeover: same seat %v (given %v) refused %v replaced %d err %v", again == seat, second.seat == seat, second.refused, first.replaced.Load(), err)
		}
		// The replaced connection leaving changes nothing.
		l.Leave(seat, first, false)
		if seat.Arena.Seats() != 1 {
			t.Fatalf("seats %d after the replaced connection left, want 1", seat.Arena.Seats())
		}
		// Dropped, then resumed just before the grace period ends.
		l.Leave(seat, second, false)
		time.Sleep(grace - time.Millisecond)
		synctest.Wait()
		third := &fakeConn{}
		if s, err := join(l, "ann", seat.Token, third); err != nil || third.seat != seat || third.refused || s != seat {
			t.Fatalf("resume within grace: same seat %v (given %v) refused %v err %v", s == seat, third.seat == seat, third.refused, err)
		}
		// The resume stopped the grace timer: the seat outlives it.
		time.Sleep(time.Second)
		synctest.Wait()
		if seat.Arena.Seats() != 1 {
			t.Fatal("a resumed seat was released when its old grace period ended")
		}
		// Dropped, and the grace period passes: the seat is released then,
		// not before.
		l.Leave(seat, third, false)
		time.Sleep(grace - time.Millisecond)
		synctest.Wait()
		if seat.Arena.Seats() != 1 {
			t.Fatal("seat released before the grace period ended")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if seat.Arena.Seats() != 0 {
			t.Fatal("seat not released after the grace period")
		}
		late := &fakeConn{}
		s, err := join(l, "ann", seat.Token, late)
		newSeat := s != nil && s != seat && s.ID != seat.ID && s.Token != seat.Token
		if err != nil || late.seat != s || !late.refused || !newSeat {
			t.Fatalf("expired token: refused %v, new seat %v (given %v), err %v", late.refused, newSeat, late.seat == s, err)
		}
	})
}

// TestGraceOnTheLobbyClock gives the lobby a manual clock: the grace
// period runs on it alone, so a seat is held however long the bubble's
// time passes, and released when the clock is advanced through the grace
// period.
func TestGraceOnTheLobbyClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := sim.NewManualClock()
		l := newLobbyClock(t, 1, 10, time.Second, clock)
		c := &fakeConn{}
		seat, err := join(l, "ann", "", c)
		if err != nil {
			t.Fatal(err)
		}
		spawn(t, seat)
		l.Leave(seat, c, false)
		time.Sleep(time.Minute) // the arena's time, not the lobby's
		synctest.Wait()
		clock.Advance(time.Second - time.Millisecond)
		if seat.Arena.Seats() != 1 {
			t.Fatal("seat released before the lobby's clock reached the grace period")
		}
		clock.Advance(time.Millisecond) // runs the grace timer
		if seat.Arena.Seats() != 0 {
			t.Fatal("seat not released once the lobby's clock passed the grace period")
		}
	})
}

func TestEmptyExtraArenaStops(t *testing.T) {
	l := newLobby(t, 2, 1, time.Millisecond)
	c1, c2 := &fakeConn{}, &fakeConn{}
	s1, _ := join(l, "a", "", c1)
	s2, _ := join(l, "b", "", c2)
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

// TestRunStopsEmptyExtraArena runs the janitor on the bubble's fake clock:
// an extra arena left empty stops once EmptyArenaTTL has passed, at the
// first check after that.
func TestRunStopsEmptyExtraArena(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLobby(t, 2, 1, time.Second) // EmptyArenaTTL is a minute
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.Run(ctx, 10*time.Second)
		}()
		defer func() { cancel(); <-done }()
		c1, c2 := &fakeConn{}, &fakeConn{}
		s1, _ := join(l, "a", "", c1)
		s2, _ := join(l, "b", "", c2)
		if s2.Arena == s1.Arena || len(l.Arenas()) != 2 {
			t.Fatalf("second player not in a second arena")
		}
		l.Leave(s2, c2, true)
		time.Sleep(time.Minute - time.Millisecond)
		synctest.Wait()
		if len(l.Arenas()) != 2 {
			t.Fatal("extra arena stopped before its TTL")
		}
		time.Sleep(time.Millisecond) // the check at one minute
		synctest.Wait()
		if got := l.Arenas(); len(got) != 1 || got[0] != s1.Arena {
			t.Fatalf("after the TTL: %d arenas, want only the first", len(got))
		}
	})
}

// TestSeatWithoutMarbleIsNotHeld: a spectator's dropped seat is released at
// once, so connecting and dropping in a loop cannot fill the arenas.
func TestSeatWithoutMarbleIsNotHeld(t *testing.T) {
	l := newLobby(t, 1, 1, time.Minute)
	for i := range 5 {
		c := &fakeConn{}
		seat, err := join(l, "spectator", "", c)
		if err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
		l.Leave(seat, c, false)
		if seat.Arena.Seats() != 0 {
			t.Fatalf("join %d: %d seats held after a spectator left", i, seat.Arena.Seats())
		}
	}
}

// TestJoinNamesDistinctInAnArena: a player who picks a name already taken
// in its arena gets a numbered one (which the welcome carries); in
// another arena the name is free.
func TestJoinNamesDistinctInAnArena(t *testing.T) {
	l := newLobby(t, 2, 3, time.Second)
	var names []string
	for range 3 {
		s, err := join(l, "Flint", "", &fakeConn{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Arena.ID() != 0 {
			t.Fatalf("seat in arena %d, want 0", s.Arena.ID())
		}
		names = append(names, s.Name)
	}
	if want := []string{"Flint", "Flint 2", "Flint 3"}; !slices.Equal(names, want) {
		t.Errorf("names in one arena = %q, want %q", names, want)
	}
	s, err := join(l, "Flint", "", &fakeConn{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Arena.ID() != 1 || s.Name != "Flint" {
		t.Errorf("fourth join: arena %d name %q, want arena 1 as Flint", s.Arena.ID(), s.Name)
	}
}
