package systems

import (
	"math"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// Input applies the tick's session commands, in arrival order: joins and
// leaves, spawns, and heading/boost wishes. A boost wish lapses when no
// input has come for Config.BoostHold, counted in ticks so that replays
// see the same.
type Input struct {
	state    *ecs.State
	world    *arche.World
	steering generic.Map[ecs.Steering]
	masses   generic.Map[ecs.Mass]
}

// Name implements System.
func (s *Input) Name() string { return "input" }

// Initialize implements System.
func (s *Input) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.world = w
	s.steering = generic.NewMap[ecs.Steering](w)
	s.masses = generic.NewMap[ecs.Mass](w)
}

// Update implements System.
func (s *Input) Update(w *arche.World) {
	for i := range s.state.Commands {
		s.apply(&s.state.Commands[i])
	}
	s.state.Commands = s.state.Commands[:0]
	s.lapseBoosts()
}

// lapseBoosts turns off the boost of every player whose session sent no
// input for BoostHold: a client that stops sending stops burning mass.
// Sessions are kept sorted by id, so the walk's order is fixed.
func (s *Input) lapseBoosts() {
	a := s.state
	hold := a.Config.BoostHoldTicks()
	if hold == 0 {
		return
	}
	for i := range a.Sessions {
		sess := &a.Sessions[i]
		if sess.Marble.IsZero() || a.Tick-sess.InputTick < hold {
			continue
		}
		if st := s.steering.Get(sess.Marble); st.Boost {
			st.Boost = false
		}
	}
}

func (s *Input) apply(c *ecs.Command) {
	a := s.state
	switch c.Kind {
	case ecs.CmdJoin:
		// A join of a session already here is a resumed connection, which
		// numbers its inputs afresh. A new session's name was made
		// distinct among the players by the lobby; a zombie that has it
		// takes another.
		fresh := a.Session(c.Session) == nil
		a.AddSession(c.Session, c.Name).Ack = 0
		if fresh {
			a.YieldName(c.Name)
		}
	case ecs.CmdLeave:
		a.RemoveSession(c.Session)
	case ecs.CmdSpawn:
		s.spawn(c.Session)
	case ecs.CmdArrive:
		s.arrive(c.Session, c.Mass)
	case ecs.CmdDepart:
		d := ecs.Departure{Session: c.Session}
		if sess := a.Session(c.Session); sess != nil {
			d.Name = sess.Name
			if !sess.Marble.IsZero() {
				d.Alive, d.Mass = true, s.masses.Get(sess.Marble).Value
			}
		}
		a.Departures = append(a.Departures, d)
		a.RemoveSession(c.Session)
	case ecs.CmdInput:
		sess := a.Session(c.Session)
		if sess == nil || c.Seq <= sess.Ack {
			return
		}
		sess.Ack, sess.InputTick = c.Seq, a.Tick
		if !sess.Marble.IsZero() {
			st := s.steering.Get(sess.Marble)
			st.Angle, st.Boost, st.Steered = ecs.TurnAngle(c.Turn), c.Boost, true
		}
	case ecs.CmdDetach:
		if sess := a.Session(c.Session); sess != nil && !sess.Marble.IsZero() {
			s.steering.Get(sess.Marble).Boost = false
		}
	}
}

// spawn gives a session a new marble at a safe spot. While the arena is
// at its population cap, a zombie makes room; players are never refused
// for zombies' sake.
func (s *Input) spawn(session uint32) {
	a := s.state
	sess := a.Session(session)
	if sess == nil || !sess.Marble.IsZero() || s.arriving(session) {
		return
	}
	if a.MoverCount+len(a.Arrivals) >= a.Config.MaxPlayers && !s.removeSmallestZombie() {
		return
	}
	x, y := SafeSpot(a, a.Config.StartMass)
	sess.Marble = a.NewMarble(session, sess.Name, x, y, a.Config.StartMass)
}

// arrive queues a marble carried from another node, with its mass (the
// start mass if the carried one is not a positive finite number), for the
// population system to place at the end of the tick. Room is made as for
// a spawn.
func (s *Input) arrive(session uint32, mass float64) {
	a := s.state
	sess := a.Session(session)
	if sess == nil || !sess.Marble.IsZero() || s.arriving(session) {
		return
	}
	if math.IsNaN(mass) || math.IsInf(mass, 0) || mass <= 0 {
		mass = a.Config.StartMass
	}
	if a.MoverCount+len(a.Arrivals) >= a.Config.MaxPlayers && !s.removeSmallestZombie() {
		return
	}
	a.Arrivals = append(a.Arrivals, ecs.Arrival{Session: session, Mass: mass})
}

// arriving reports whether the session's marble is already on its way in.
func (s *Input) arriving(session uint32) bool {
	for _, ar := range s.state.Arrivals {
		if ar.Session == session {
			return true
		}
	}
	return false
}

// removeSmallestZombie removes the lightest zombie (the first one found
// among equals) and reports whether there was one.
func (s *Input) removeSmallestZombie() bool {
	var victim arche.Entity
	best := math.Inf(1)
	q := generic.NewFilter2[ecs.Mass, ecs.Brain]().Query(s.world)
	for q.Next() {
		if m, _ := q.Get(); m.Value < best {
			best, victim = m.Value, q.Entity()
		}
	}
	if victim.IsZero() {
		return false
	}
	s.state.Remove(victim)
	return true
}

// ArrivalSpot picks a random point for a marble that arrives from another
// node with the mass it had there. It should arrive with exactly that
// mass, so the spot is quiet as well as safe: no marble of any mass near
// (it would bust or be busted), no spike ball within reach, and as few
// fragments under it as can be found, so that its first tick here neither
// feeds it nor costs it. It tries more candidates than SafeSpot and keeps
// the quietest.
func ArrivalSpot(a *ecs.State, mass float64) (x, y float64) {
	const clearance = 200
	r := a.Config.Radius(mass)
	return bestSpot(a, r, 24, func(cx, cy float64) float64 {
		score := 0.0
		c0, r0, c1, r1 := a.Movers.Span(cx, cy, clearance+r)
		for row := r0; row <= r1; row++ {
			for col := c0; col <= c1; col++ {
				for _, it := range a.Movers.Cell(col, row) {
					if it.Entity.IsZero() {
						continue
					}
					if d := math.Hypot(it.X-cx, it.Y-cy); d < clearance+r+a.Config.Radius(it.Mass) {
						score += 1000 + clearance + r - d
					}
				}
			}
		}
		reach := r + a.Config.ObstacleRadius + 20
		c0, r0, c1, r1 = a.Obstacles.Span(cx, cy, reach)
		for row := r0; row <= r1; row++ {
			for col := c0; col <= c1; col++ {
				for _, it := range a.Obstacles.Cell(col, row) {
					if math.Hypot(it.X-cx, it.Y-cy) < reach {
						score += 1000
					}
				}
			}
		}
		margin := r + 5 // what its first tick's roll may reach
		c0, r0, c1, r1 = a.Fragments.Span(cx, cy, margin)
		for row := r0; row <= r1; row++ {
			for col := c0; col <= c1; col++ {
				for _, it := range a.Fragments.Cell(col, row) {
					if math.Hypot(it.X-cx, it.Y-cy) < margin {
						score++
					}
				}
			}
		}
		return score
	})
}

// bestSpot draws up to tries random points at least margin from the
// arena's edges and returns the one that scores lowest, stopping at the
// first that scores 0. Its draws from the arena's RNG are the replay's, so
// its order must not change.
func bestSpot(a *ecs.State, margin float64, tries int, score func(x, y float64) float64) (x, y float64) {
	best := math.Inf(1)
	for i := 0; i < tries; i++ {
		cx, cy := a.RandomPoint(margin)
		sc := score(cx, cy)
		if sc < best {
			best, x, y = sc, cx, cy
		}
		if sc <= 0 {
			break
		}
	}
	return x, y
}

// SafeSpot picks a random point where no marble that could bust a newcomer
// of the given mass is near, trying a few candidates and keeping the one
// farthest from danger if none is clear. It reads the mover grid of the
// previous rebuild, masses included.
func SafeSpot(a *ecs.State, mass float64) (x, y float64) {
	const clearance = 200
	return bestSpot(a, a.Config.Radius(mass), 8, func(cx, cy float64) float64 {
		danger := 0.0
		c0, r0, c1, r1 := a.Movers.Span(cx, cy, clearance)
		for r := r0; r <= r1; r++ {
			for c := c0; c <= c1; c++ {
				for _, it := range a.Movers.Cell(c, r) {
					if it.Entity.IsZero() {
						continue
					}
					if m := it.Mass; m >= a.Config.BustRatio*mass {
						d := math.Hypot(it.X-cx, it.Y-cy)
						danger = max(danger, clearance+a.Config.Radius(m)-d)
					}
				}
			}
		}
		return danger
	})
}
