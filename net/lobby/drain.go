package lobby

import (
	"context"
	"errors"
	"time"

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
	ev   sim.Departed
}

// Drain moves every player of this node to other nodes (PROTOCOL.md
// "Fleet", why drain). The node leaves routing (its lease says draining,
// new players are sent elsewhere); each connected session's marble
// departs its arena in one tick, a seat carrying it (name, mass, alive)
// is reserved on the node with the most room, and the session is sent
// moved. Sessions that dropped (detached, in their grace period) are
// given up as resume records that name no node, so that their tokens
// bring their marbles back on any node. A marble that finds no seat
// elsewhere is given up the same way, and its session shut down. Drain
// returns once every departure is handled, or ctx is done; ErrAlone,
// before anything is touched, when no other node is ready. Sessions that
// connect while it runs are moved the same way. A panic in the drain is
// logged and ends it with ErrDrainFailed; the caller then shuts down.
func (l *Lobby) Drain(ctx context.Context) (err error) {
	err = ErrDrainFailed // unless drain returns
	defer l.survive("drain")
	return l.drain(ctx)
}

// ErrDrainFailed is Drain's answer when a panic cut the drain short.
var ErrDrainFailed = errors.New("drain failed")

func (l *Lobby) drain(ctx context.Context) error {
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
	func() { // a closure, so that a panic (recovered by Drain) leaves no lock held
		l.mu.Lock()
		defer l.mu.Unlock()
		l.draining, l.drainActive = true, true
		for _, s := range l.seats {
			if s.conn != nil {
				l.departLocked(s)
			}
		}
	}()
	defer l.endDrain()
	// Tell the fleet at once, then give the dropped sessions up.
	l.FleetRound(ctx)
	l.handOff(ctx, func(*Seat) bool { return true })
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

// endDrain stops departing new sessions, and gives up the marbles that
// departed but were not handled before the drain's time ran out, so that
// their tokens still bring them back elsewhere.
func (l *Lobby) endDrain() {
	l.mu.Lock()
	l.drainActive = false
	l.mu.Unlock()
	l.settleLeft()
}

// settleLeft gives up the marbles that departed but were not handled, so
// that their tokens still bring them back elsewhere.
func (l *Lobby) settleLeft() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for {
		select {
		case d := <-l.departures:
			l.settle(ctx, d, nil, nil)
		default:
			return
		}
	}
}

// handOff gives up every detached seat that which picks as a record
// naming no node, with its marble as the latest frame shows it.
func (l *Lobby) handOff(ctx context.Context, which func(*Seat) bool) {
	l.roundMu.Lock()
	defer l.roundMu.Unlock()
	var seats []*Seat
	var recs []fleet.Resume
	func() { // a closure, so that a panic (recovered by Drain) leaves no lock held
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, s := range l.seats {
			if s.conn != nil || s.departing || !which(s) {
				continue
			}
			rec := fleet.Resume{Token: s.Token, Session: s.ID, Name: s.Name}
			f := s.Arena.Acquire()
			if p := f.Player(s.ID); p != nil && p.Alive {
				rec.Alive, rec.Mass = true, float64(p.Entity.Mass)
			}
			f.Release()
			seats, recs = append(seats, s), append(recs, rec)
		}
	}()
	if len(recs) == 0 {
		return
	}
	cctx, cancel := l.call(ctx)
	defer cancel()
	if err := l.dir.Checkpoint(cctx, recs, l.cfg.Fleet.ResumeTTL); err != nil {
		l.directoryFailed("checkpoint", err)
		return // they stay detached; their tokens work here until the node stops
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range seats {
		if s.conn == nil {
			l.handOffLocked(s)
		}
	}
}

// departLocked tells the seat's arena to let its marble depart; the
// arena's Departed event brings it to Drain. Called with mu held.
func (l *Lobby) departLocked(s *Seat) {
	if s.departing || s.expired {
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
func (l *Lobby) Departed(s *Seat, ev sim.Departed) {
	s.departed.Store(true)
	select {
	case l.departures <- departure{seat: s, ev: ev}:
	default:
		// Cannot happen (the channel holds every seat the node can have),
		// but a drain must never stall an arena: the marble is lost.
		l.log.Error("drain: departure queue full; a marble is lost", "session", s.ID)
		l.mu.Lock()
		l.departing--
		l.mu.Unlock()
	}
}

// moveDeparted reserves a seat elsewhere for a departed marble and sends
// whoever plays the seat now there.
func (l *Lobby) moveDeparted(ctx context.Context, d departure) {
	lease, seat, err := l.reserveElsewhere(ctx, fleet.Seat{Why: fleet.WhyDrain, Name: d.ev.Name, Alive: d.ev.Alive, Mass: d.ev.Mass})
	if err != nil {
		l.log.Warn("drain: no seat elsewhere; the marble waits for its token", "session", d.seat.ID, "err", err)
		l.settle(ctx, d, nil, nil)
		return
	}
	l.settle(ctx, d, &lease, &seat)
}

// settle ends a departed seat here. With a seat elsewhere and a
// connection playing it, the connection is moved there and the old token
// forgotten at once (the player continues under a new one); otherwise the
// marble is given up as a record naming no node, and a connection is shut
// down.
func (l *Lobby) settle(ctx context.Context, d departure, lease *fleet.Lease, seat *fleet.Seat) {
	// No fleet round may write this seat's record between the hand-off
	// and the write below.
	l.roundMu.Lock()
	defer l.roundMu.Unlock()
	var conn Conn
	var token string
	func() { // a closure, so that a panic (recovered by Drain) leaves no lock held
		l.mu.Lock()
		defer l.mu.Unlock()
		l.departing--
		conn = d.seat.conn // whoever plays it now, maybe a resumed connection
		token = d.seat.Token
		d.seat.conn = nil
		l.handOffLocked(d.seat)
	}()
	cctx, cancel := l.call(context.WithoutCancel(ctx))
	defer cancel()
	if lease != nil && conn != nil {
		l.countMove(fleet.WhyDrain)
		conn.Move(&Moved{URL: lease.URL, Seat: seat.ID, Why: fleet.WhyDrain})
		if err := l.dir.Forget(cctx, token); err != nil {
			l.directoryFailed("forget", err)
			l.forgetLater(token)
		}
		return
	}
	rec := fleet.Resume{Token: token, Session: d.seat.ID, Name: d.ev.Name, Alive: d.ev.Alive, Mass: d.ev.Mass}
	if err := l.dir.Checkpoint(cctx, []fleet.Resume{rec}, l.cfg.Fleet.ResumeTTL); err != nil {
		l.directoryFailed("checkpoint", err)
	}
	if conn != nil {
		conn.Shutdown()
	}
}

// forgetLater queues a token whose resume record the next round (or
// LeaveFleet) deletes.
func (l *Lobby) forgetLater(token string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetLocked(token)
}
