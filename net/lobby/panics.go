package lobby

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/shatter/shatter/sim"
)

// survive, deferred at the top of each of the lobby's goroutines, rounds
// and timer callbacks, recovers a panic there so that it ends neither the
// process nor any arena: the panic is logged with its stack and counted
// (shatter_panics_total{where}). What the panicking call was doing is
// lost (a grace timer's release, a round's writes); a loop goes on with
// its next turn. Every section of the lobby that runs under its lock
// unlocks with defer (drain.go's inside closures), so none is left held.
func (l *Lobby) survive(where string) {
	p := recover()
	if p == nil {
		return
	}
	l.cfg.Fleet.Metrics.Panics.WithLabelValues(where).Inc()
	l.log.Error("panic recovered; the server goes on", "in", where, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
}

// arenaEnded is what the lobby does once an arena's Run returned, on that
// arena's goroutine: after a fault it gives the arena up (arenaFailed);
// in every case it calls Config.ArenaStopped.
func (l *Lobby) arenaEnded(r *running, err error) {
	defer l.survive("arena_end")
	if l.cfg.ArenaStopped != nil {
		defer l.cfg.ArenaStopped(r.arena.ID(), err)
	}
	var fault *sim.Fault
	switch {
	case errors.As(err, &fault):
		// sim logged the panic, its stack and the replay log.
		l.cfg.Fleet.Metrics.Panics.WithLabelValues("arena").Inc()
		l.arenaFailed(r)
	case err != nil:
		l.log.Error("arena stopped", "arena", r.arena.ID(), "err", err)
	}
}

// arenaFailed gives up an arena that a fault stopped, so that every other
// arena and session plays on: the lobby stops routing to it (a fresh arena
// starts when the others are full, even if it was the first), and each of
// its seats is released, its token forgotten here and in the directory
// (the marble is gone: the token gets resume_expired), and its
// connection, if one plays it, told (Conn.Failed). A seat whose marble
// had already left the arena for a drain is the drain's: it carries the
// marble on.
func (l *Lobby) arenaFailed(r *running) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.arenas = slices.DeleteFunc(l.arenas, func(x *running) bool { return x == r })
	released := 0
	for _, s := range l.seats {
		if s.Arena != r.arena || s.departed.Load() {
			continue
		}
		if s.departing {
			// Its Departed will never come: the drain must not wait for it.
			s.departing = false
			l.departing--
		}
		conn := s.conn
		s.conn = nil // so that its Leave does nothing
		l.releaseLocked(s)
		if conn != nil {
			conn.Failed()
		}
		released++
	}
	l.log.Error("arena stopped by a fault: its seats are released and no player is sent there again",
		"arena", r.arena.ID(), "seats", released, "arenas", len(l.arenas))
}
