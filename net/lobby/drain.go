package lobby

import (
	"context"
	"errors"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/sim"
)

// ErrAlone is Drain's answer when no other node is ready to take the
// players: the node then shuts down as a single node does.
var ErrAlone = errors.New("no other node is ready")

// departure is a seat whose marble left its arena for a drain, waiting
// for a seat on another node.
type departure struct {
	seat *Seat
	conn Conn
	ev   sim.Departed
}

// Drain moves every player of this node to other nodes (PROTOCOL.md
// "Fleet", why drain): the node leaves routing (its lease says draining,
// new players are sent elsewhere), then each connected session's marble
// departs its arena in one tick, a seat carrying it (name, mass, alive) is
// reserved on the node with the most room, and the session is sent moved.
// A session whose seat cannot be reserved is shut down. Drain returns
// once every session it started moving has been handled, or ctx is done;
// ErrAlone, before anything is touched, when no other node is ready.
// Sessions that connect during the drain are moved the same way.
func (l *Lobby) Drain(ctx context.Context) error {
	cctx, cancel := l.call(ctx)
	nodes, err := l.dir.Nodes(cctx)
	cancel()
	if err != nil {
		l.directoryFailed("nodes", err)
		return ErrAlone
	}
	ready := false
	for _, n := range nodes {
		ready = ready || (n.Node != l.cfg.Fleet.Node && n.State == fleet.Ready)
	}
	if !ready {
		return ErrAlone
	}
	l.mu.Lock()
	l.draining = true
	for _, s := range l.seats {
		if s.conn != nil {
			l.departLocked(s)
		}
	}
	l.mu.Unlock()
	// Tell the fleet at once, and checkpoint the detached seats a last
	// time: their tokens will be honoured elsewhere once this node is gone.
	l.FleetRound(ctx)
	for {
		l.mu.Lock()
		left := l.departing
		l.mu.Unlock()
		if left == 0 {
			return nil
		}
		select {
		case d := <-l.departures:
			l.moveDeparted(ctx, d)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// departLocked tells the seat's arena to let its marble depart; the
// arena's Departed event brings it to Drain. Called with mu held.
func (l *Lobby) departLocked(s *Seat) {
	if s.departing {
		return
	}
	if err := s.Arena.PostControl(sim.Depart(s.ID)); err != nil {
		// The arena is far behind or stopped: this one cannot move.
		if s.conn != nil {
			s.conn.Shutdown()
		}
		return
	}
	s.departing = true
	l.departing++
}

// Departed hands a departed seat to the drain. Called by the seat's
// connection from the arena's goroutine: it never blocks.
func (l *Lobby) Departed(s *Seat, conn Conn, ev sim.Departed) {
	select {
	case l.departures <- departure{seat: s, conn: conn, ev: ev}:
	default:
		// Cannot happen (the channel holds every seat the node can have),
		// but a drain must never stall an arena.
		conn.Shutdown()
		l.mu.Lock()
		l.departing--
		l.mu.Unlock()
	}
}

// moveDeparted reserves a seat elsewhere for a departed marble and sends
// its session there; the seat here is released for good.
func (l *Lobby) moveDeparted(ctx context.Context, d departure) {
	cctx, cancel := l.call(ctx)
	defer cancel()
	seat := fleet.Seat{ID: newToken(), Why: fleet.WhyDrain, Name: d.ev.Name, Alive: d.ev.Alive, Mass: d.ev.Mass}
	lease, seat, err := l.dir.ReserveAny(cctx, l.cfg.Fleet.Node, seat, l.cfg.Fleet.SeatTTL)
	if err != nil {
		l.directoryFailed("reserve_any", err)
		l.log.Warn("drain: no seat elsewhere; shutting the session down", "session", d.seat.ID, "err", err)
		d.conn.Shutdown()
	} else {
		l.fleetMetrics().FleetSeats.WithLabelValues("reserved").Inc()
		l.fleetMetrics().moved(fleet.WhyDrain)
		d.conn.Move(&Moved{URL: lease.URL, Seat: seat.ID, Why: fleet.WhyDrain})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.departing--
	if d.seat.conn == d.conn {
		d.seat.conn = nil
	}
	if !d.seat.expired {
		l.releaseLocked(d.seat)
	}
}
