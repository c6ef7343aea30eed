package lobby

import (
	"context"
	"errors"
	"testing"

	"github.com/shatter/shatter/net/fleet"
)

// TestTakeoverRotatesToken: every takeover, by the token or by a resume
// seat from another node, gives the seat a new token, which the new
// connection is seated with; the old token is refused from then on, here
// and on other nodes; and the fleet directory's resume record follows the
// new token, so that the player comes back with it if its node dies.
func TestTakeoverRotatesToken(t *testing.T) {
	dir := fleet.NewMemory()
	a := fleetLobby(t, dir, "a", 1, 4)
	b := fleetLobby(t, dir, "b", 1, 4)
	ctx := context.Background()

	first := &moveConn{l: a}
	s, err := joinReq(a, JoinRequest{Name: "ann"}, first)
	if err != nil {
		t.Fatal(err)
	}
	waitAlive(t, s)
	t0 := first.token
	a.FleetRound(ctx)
	if _, err := dir.LookupResume(ctx, t0); err != nil {
		t.Fatalf("first token's resume record: %v", err)
	}

	// A takeover by the token, while the first connection plays.
	second := &moveConn{l: a}
	if got, err := joinReq(a, JoinRequest{Name: "ann", Token: t0}, second); err != nil || got != s || second.refusals != 0 {
		t.Fatalf("takeover by token: seat %v err %v refused %v", got == s, err, second.refusals)
	}
	t1 := second.token
	if t1 == t0 || len(t1) != len(t0) || s.Token != t1 {
		t.Fatalf("after a takeover the seat's token is %q and the connection was given %q; want a new one (the old was %q)", s.Token, t1, t0)
	}
	a.FleetRound(ctx) // the directory moves to the new token
	if _, err := dir.LookupResume(ctx, t0); !errors.Is(err, fleet.ErrNotFound) {
		t.Fatalf("old token's resume record after a round: %v, want not found", err)
	}
	if rec, err := dir.LookupResume(ctx, t1); err != nil || rec.Session != s.ID || rec.Node != "a" {
		t.Fatalf("new token's resume record: %+v, %v", rec, err)
	}
	// The old token is refused, here and on another node.
	stale := &moveConn{l: a}
	if got, err := joinReq(a, JoinRequest{Name: "thief", Token: t0}, stale); err != nil || got == s || stale.refusals&TokenRefused == 0 {
		t.Fatalf("old token here: same seat %v err %v refused %v; want a new session and resume_expired", got == s, err, stale.refusals)
	} else {
		a.Leave(got, stale, true)
	}
	elsewhere := &moveConn{l: b}
	if got, err := joinReq(b, JoinRequest{Name: "thief", Token: t0}, elsewhere); err != nil || elsewhere.refusals&TokenRefused == 0 {
		t.Fatalf("old token on another node: err %v refused %v; want a new session there and resume_expired", err, elsewhere.refusals)
	} else {
		b.Leave(got, elsewhere, true)
	}

	// A takeover through a resume seat (the token given to another node).
	_, err = joinReq(b, JoinRequest{Name: "ann", Token: t1}, &moveConn{l: b})
	var m *Moved
	if !errors.As(err, &m) || m.Why != fleet.WhyResume {
		t.Fatalf("new token on another node: %v, want moved resume", err)
	}
	third := &moveConn{l: a}
	if got, err := joinReq(a, JoinRequest{Seat: m.Seat}, third); err != nil || got != s {
		t.Fatalf("resume seat: same seat %v err %v", got == s, err)
	}
	t2 := third.token
	if t2 == t1 || t2 == t0 || s.Token != t2 {
		t.Fatalf("after a resume seat the connection was given %q; want a new token (had %q)", t2, t1)
	}
	if second.replaced.Load() != 1 || first.replaced.Load() != 1 {
		t.Fatalf("replaced: first %d, second %d; want 1 each", first.replaced.Load(), second.replaced.Load())
	}

	// Node a dies: the latest token brings the marble back on b.
	a.FleetRound(ctx)
	if err := dir.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.healthySince = b.healthySince.Add(-b.cfg.Fleet.LeaseTTL * 10) // b has trusted the directory for long
	b.mu.Unlock()
	back := &moveConn{l: b}
	if got, err := joinReq(b, JoinRequest{Name: "x", Token: t2}, back); err != nil || back.refusals != 0 || got.Name != "ann" {
		t.Fatalf("latest token after its node died: %+v err %v refused %v; want ann back", got, err, back.refusals)
	}
	if _, err := dir.LookupResume(ctx, t1); !errors.Is(err, fleet.ErrNotFound) {
		t.Fatalf("an older token's record is still there: %v", err)
	}
}
