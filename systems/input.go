package systems

import (
	"math"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// Input applies the tick's session commands, in arrival order: joins and
// leaves, spawns, and heading/boost wishes.
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
}

func (s *Input) apply(c *ecs.Command) {
	a := s.state
	switch c.Kind {
	case ecs.CmdJoin:
		// A join of a session already here is a resumed connection, which
		// numbers its inputs afresh.
		a.AddSession(c.Session, c.Name).Ack = 0
	case ecs.CmdLeave:
		a.RemoveSession(c.Session)
	case ecs.CmdSpawn:
		s.spawn(c.Session, a.Config.StartMass)
	case ecs.CmdArrive:
		mass := c.Mass
		if math.IsNaN(mass) || math.IsInf(mass, 0) || mass <= 0 {
			mass = a.Config.StartMass
		}
		s.spawn(c.Session, mass)
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
		if sess == nil || c.Seq <= sess.Ack || math.IsNaN(c.Angle) || math.IsInf(c.Angle, 0) {
			return
		}
		sess.Ack = c.Seq
		if !sess.Marble.IsZero() {
			st := s.steering.Get(sess.Marble)
			st.Angle, st.Boost = c.Angle, c.Boost
		}
	case ecs.CmdDetach:
		if sess := a.Session(c.Session); sess != nil && !sess.Marble.IsZero() {
			s.steering.Get(sess.Marble).Boost = false
		}
	}
}

// spawn gives a session a new marble of the given mass at a safe spot.
// While the arena is at its population cap, a zombie makes room; players
// are never refused for zombies' sake.
func (s *Input) spawn(session uint32, mass float64) {
	a := s.state
	sess := a.Session(session)
	if sess == nil || !sess.Marble.IsZero() {
		return
	}
	if a.MoverCount >= a.Config.MaxPlayers && !s.removeSmallestZombie() {
		return
	}
	x, y := SafeSpot(a, mass)
	sess.Marble = a.NewMarble(session, sess.Name, x, y, mass)
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

// SafeSpot picks a random point where no marble that could bust a newcomer
// of the given mass is near, trying a few candidates and keeping the one
// farthest from danger if none is clear. It reads the mover grid of the
// previous rebuild, masses included.
func SafeSpot(a *ecs.State, mass float64) (x, y float64) {
	const tries = 8
	const clearance = 200
	margin := a.Config.Radius(mass)
	bestDanger := math.Inf(1)
	for i := 0; i < tries; i++ {
		cx, cy := a.RandomPoint(margin)
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
		if danger < bestDanger {
			bestDanger, x, y = danger, cx, cy
		}
		if danger <= 0 {
			break
		}
	}
	return x, y
}
