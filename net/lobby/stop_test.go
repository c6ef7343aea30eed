package lobby

import (
	"context"
	"errors"
	"testing"

	"github.com/shatter/shatter/net/fleet"
)

// TestStopArena: stopping an arena moves its connected player to another
// arena of this node (a seat on itself: no other node), gives its
// detached player up as a record any node may honour, takes the arena out
// of the lobby, and refuses an unknown arena or a second stop during a
// drain.
func TestStopArena(t *testing.T) {
	dir := fleet.NewMemory()
	l := fleetLobby(t, dir, "a", 3, 2)
	ctx := context.Background()
	playing := &moveConn{l: l}
	s1, err := joinReq(l, JoinRequest{Name: "ann"}, playing)
	if err != nil {
		t.Fatal(err)
	}
	waitAlive(t, s1)
	dropped := &moveConn{l: l}
	s2, err := joinReq(l, JoinRequest{Name: "bob"}, dropped)
	if err != nil {
		t.Fatal(err)
	}
	waitAlive(t, s2)
	if s1.Arena.ID() != 0 || s2.Arena.ID() != 0 {
		t.Fatalf("arenas %d and %d, want both in 0", s1.Arena.ID(), s2.Arena.ID())
	}
	l.Leave(s2, dropped, false) // detached, in its grace period
	token := s2.Token

	if _, err := l.StopArena(ctx, 7); !errors.Is(err, ErrNoArena) {
		t.Fatalf("StopArena of no arena: %v", err)
	}
	moved, err := l.StopArena(ctx, 0)
	if err != nil || moved != 1 {
		t.Fatalf("StopArena: moved %d, err %v; want 1", moved, err)
	}
	playing.mu.Lock()
	m := playing.moved
	playing.mu.Unlock()
	if m == nil || m.URL != "ws://a/ws" || m.Why != fleet.WhyDrain {
		t.Fatalf("the player's move: %+v, want a drain to this node", m)
	}
	if rec, err := dir.LookupResume(ctx, token); err != nil || rec.Node != "" || !rec.Alive {
		t.Fatalf("the detached player's record: %+v, %v; want alive, naming no node", rec, err)
	}
	for _, a := range l.Arenas() {
		if a.ID() == 0 {
			t.Fatal("arena 0 still in the lobby")
		}
	}
	// The moved player claims its seat here, in a new arena.
	again := &moveConn{l: l}
	s3, err := joinReq(l, JoinRequest{Name: "ann", Seat: m.Seat}, again)
	if err != nil || s3.Arena.ID() == 0 || again.refusals != 0 {
		t.Fatalf("claim of the stop's seat: %v, arena %v, refused %v", err, s3, again.refusals)
	}
	waitAlive(t, s3)

	l.mu.Lock()
	l.draining = true
	l.mu.Unlock()
	if _, err := l.StopArena(ctx, s3.Arena.ID()); !errors.Is(err, ErrBusy) {
		t.Fatalf("StopArena while draining: %v, want ErrBusy", err)
	}
}
