package lobby

import (
	"context"
	"errors"

	"github.com/shatter/shatter/net/fleet"
)

// Errors of StopArena.
var (
	// ErrNoArena: no running arena has that id.
	ErrNoArena = errors.New("no such arena on this node")
	// ErrBusy: the node is draining, or another arena is stopping, and
	// handles its departures itself.
	ErrBusy = errors.New("the node is draining or stopping another arena")
)

// StopArena stops arena id on an operator's word, moving its players as a
// drain does: every connected player's marble departs and is seated on
// the other node with the most room or, when no other node has room, in
// another arena of this node (the player is sent moved to this node's own
// URL, and the seat it claims keeps it out of the stopping arena; a new
// arena starts if none has room and MaxArenas allows). A marble that
// finds no seat anywhere is given up as a record that names no node, and
// its session shut down, as a drain does; so are the arena's detached
// seats. No new seat goes to the arena meanwhile. Once every departure is
// handled (or ctx is done) the arena stops; the first arena may be
// stopped too, and the next player then starts a new one. It returns how
// many players were moved.
func (l *Lobby) StopArena(ctx context.Context, id int) (moved int, err error) {
	err = ErrDrainFailed // unless stopArena returns
	defer l.survive("stop_arena")
	return l.stopArena(ctx, id)
}

func (l *Lobby) stopArena(ctx context.Context, id int) (int, error) {
	var target *running
	err := func() error { // a closure, so that a panic leaves no lock held
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, r := range l.arenas {
			if r.arena.ID() == id && !r.arena.Stopped() {
				target = r
			}
		}
		switch {
		case target == nil:
			return ErrNoArena
		case l.draining || l.stopping != nil:
			return ErrBusy
		}
		l.stopping = target
		for _, s := range l.seats {
			if s.Arena == target.arena && s.conn != nil {
				l.departLocked(s)
			}
		}
		return nil
	}()
	if err != nil {
		return 0, err
	}
	defer l.endStop(target)
	l.handOff(ctx, func(s *Seat) bool { return s.Arena == target.arena })
	moved := 0
	for {
		l.mu.Lock()
		left := l.departing
		l.mu.Unlock()
		if left == 0 {
			return moved, nil
		}
		select {
		case d := <-l.departures:
			if l.moveStopped(ctx, d) {
				moved++
			}
		case <-ctx.Done():
			return moved, ctx.Err()
		}
	}
}

// moveStopped seats a marble that departed a stopping arena on another
// node, else on this one, and reports whether it found a seat.
func (l *Lobby) moveStopped(ctx context.Context, d departure) bool {
	want := fleet.Seat{Why: fleet.WhyDrain, Name: d.ev.Name, Alive: d.ev.Alive, Mass: d.ev.Mass}
	lease, seat, err := l.reserveElsewhere(ctx, want)
	if err != nil && l.localRoom() {
		cctx, cancel := l.call(ctx)
		want.ID, want.Node = newToken(), l.cfg.Fleet.Node
		if err = l.dir.Reserve(cctx, want, l.cfg.Fleet.SeatTTL); err == nil {
			lease, seat = fleet.Lease{Node: l.cfg.Fleet.Node, URL: l.cfg.Fleet.URL}, want
			l.seatEvent("reserved")
		} else {
			l.directoryFailed("reserve", err)
		}
		cancel()
	}
	if err != nil {
		l.log.Warn("arena stop: no seat for a marble; it waits for its token", "session", d.seat.ID, "err", err)
		l.settle(ctx, d, nil, nil)
		return false
	}
	l.settle(ctx, d, &lease, &seat)
	return true
}

// localRoom reports whether an arena of this node other than the
// stopping one has room, or another may start.
func (l *Lobby) localRoom() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	others := 0
	for _, r := range l.arenas {
		if r == l.stopping || r.arena.Stopped() {
			continue
		}
		others++
		if r.arena.Seats() < r.arena.Config().MaxPlayers {
			return true
		}
	}
	return others < l.cfg.MaxArenas
}

// endStop stops the arena and takes it out of the lobby, giving up the
// marbles that departed but were not handled in time.
func (l *Lobby) endStop(r *running) {
	l.mu.Lock()
	draining := l.drainActive
	l.mu.Unlock()
	if !draining { // else the drain handles what is left
		l.settleLeft()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopping = nil
	kept := l.arenas[:0]
	for _, x := range l.arenas {
		if x != r {
			kept = append(kept, x)
		}
	}
	l.arenas = kept
	r.cancel()
	l.log.Info("arena stopped by an operator", "arena", r.arena.ID(), "arenas", len(l.arenas))
}
