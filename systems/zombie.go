package systems

import (
	"math"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// Zombie steers the server's bots. Each zombie re-plans every
// ZombieThinkTicks ticks (spread by its Brain phase) from what it sees:
// it flees the nearest marble that could bust it within ZombieFleeRange,
// else chases the nearest marble lighter than ZombieChaseRatio of its mass
// within ZombieChaseRange, else heads for the nearest fragment within
// ZombieSearchRange (keeping that target until it is eaten), else wanders. It boosts when the chase or the escape
// is within ZombieBoostRange. It does not chase a player's marble within
// ZombieSpare of its making.
//
// It reads the mover grid of the previous tick's rebuild, which holds every
// marble's current position (movement comes after it) and, for masses, the
// ones of that rebuild; entries of marbles removed since are blank.
type Zombie struct {
	state  *ecs.State
	world  *arche.World
	filter *generic.Filter4[ecs.Position, ecs.Mass, ecs.Steering, ecs.Brain]
	fresh  generic.Map[ecs.Fresh]
}

// Name implements System.
func (s *Zombie) Name() string { return "zombie" }

// Initialize implements System.
func (s *Zombie) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.world = w
	s.filter = generic.NewFilter4[ecs.Position, ecs.Mass, ecs.Steering, ecs.Brain]()
	s.filter.Register(w)
	s.fresh = generic.NewMap[ecs.Fresh](w)
}

// Update implements System.
func (s *Zombie) Update(w *arche.World) {
	cfg := &s.state.Config
	think := uint64(cfg.ZombieThinkTicks)
	q := s.filter.Query(w)
	for q.Next() {
		pos, mass, st, brain := q.Get()
		if (s.state.Tick+uint64(brain.Phase))%think != 0 {
			continue
		}
		s.plan(q.Entity(), pos, mass.Value, st, brain)
	}
}

// plan sets one zombie's heading and boost.
func (s *Zombie) plan(self arche.Entity, pos *ecs.Position, mass float64, st *ecs.Steering, brain *ecs.Brain) {
	cfg := &s.state.Config
	canBoost := mass > cfg.BoostFloor
	threatX, threatY, threatD := 0.0, 0.0, math.Inf(1)
	preyX, preyY, preyD := 0.0, 0.0, math.Inf(1)
	sight := max(cfg.ZombieFleeRange, cfg.ZombieChaseRange)
	// Distances are compared squared.
	sightSq, fleeSq, chaseSq := sight*sight, cfg.ZombieFleeRange*cfg.ZombieFleeRange, cfg.ZombieChaseRange*cfg.ZombieChaseRange
	boostSq := cfg.ZombieBoostRange * cfg.ZombieBoostRange
	grid := s.state.Movers
	c0, r0, c1, r1 := grid.Span(pos.X, pos.Y, sight)
	cell := grid.CellSize
	for r := r0; r <= r1; r++ {
		// Distance from the zombie to the row's nearest edge.
		dy := max(float64(r)*cell-pos.Y, pos.Y-float64(r+1)*cell, 0)
		for c := c0; c <= c1; c++ {
			// The corner cells of the square span lie partly or wholly
			// outside the sight circle: skip those wholly outside.
			dx := max(float64(c)*cell-pos.X, pos.X-float64(c+1)*cell, 0)
			if dx*dx+dy*dy >= sightSq {
				continue
			}
			for _, it := range grid.Cell(c, r) {
				if it.Entity == self || it.Entity.IsZero() {
					continue
				}
				dx, dy := it.X-pos.X, it.Y-pos.Y
				d := dx*dx + dy*dy
				if d >= sightSq {
					continue
				}
				other := it.Mass
				switch {
				case other >= cfg.BustRatio*mass && d < fleeSq && d < threatD:
					threatX, threatY, threatD = it.X, it.Y, d
				case other < cfg.ZombieChaseRatio*mass && d < chaseSq && d < preyD && s.fresh.Get(it.Entity).SpareUntil <= s.state.Tick:
					preyX, preyY, preyD = it.X, it.Y, d
				}
			}
		}
	}
	switch {
	case !math.IsInf(threatD, 1):
		st.Angle = math.Atan2(pos.Y-threatY, pos.X-threatX)
		st.Boost = canBoost && threatD < boostSq
	case !math.IsInf(preyD, 1):
		st.Angle = math.Atan2(preyY-pos.Y, preyX-pos.X)
		st.Boost = canBoost && preyD < boostSq
	default:
		st.Boost = false
		if brain.Food.IsZero() || !s.world.Alive(brain.Food) {
			brain.Food, brain.FoodX, brain.FoodY = s.nearestFragment(pos.X, pos.Y)
		}
		if brain.Food.IsZero() {
			s.wander(pos, st)
		} else {
			st.Angle = math.Atan2(brain.FoodY-pos.Y, brain.FoodX-pos.X)
		}
	}
}

// nearestFragment searches the fragment index in growing square rings of
// cells around a point, stopping at the first ring that can hold nothing
// nearer than what was found, or at ZombieSearchRange.
func (s *Zombie) nearestFragment(x, y float64) (food arche.Entity, fx, fy float64) {
	ix := s.state.Fragments
	best := s.state.Config.ZombieSearchRange
	bestSq := best * best
	cx := min(max(int(x/ix.CellSize), 0), ix.Cols-1)
	cy := min(max(int(y/ix.CellSize), 0), ix.Rows-1)
	maxRing := int(best/ix.CellSize) + 1
	for ring := 0; ring <= maxRing; ring++ {
		// Every cell of this ring is at least (ring-1) cells away.
		if !food.IsZero() && float64(ring-1)*ix.CellSize > math.Sqrt(bestSq) {
			break
		}
		for r := cy - ring; r <= cy+ring; r++ {
			if r < 0 || r >= ix.Rows {
				continue
			}
			edgeRow := r == cy-ring || r == cy+ring
			for c := cx - ring; c <= cx+ring; c++ {
				if c < 0 || c >= ix.Cols || (!edgeRow && c != cx-ring && c != cx+ring) {
					continue
				}
				for _, it := range ix.Cell(c, r) {
					if d := (it.X-x)*(it.X-x) + (it.Y-y)*(it.Y-y); d < bestSq {
						bestSq, food, fx, fy = d, it.Entity, it.X, it.Y
					}
				}
			}
		}
	}
	return food, fx, fy
}

// wander keeps the heading, with a small random turn, and turns back toward
// the middle near the arena's edges.
func (s *Zombie) wander(pos *ecs.Position, st *ecs.Steering) {
	cfg := &s.state.Config
	const edge = 150
	if pos.X < edge || pos.Y < edge || pos.X > cfg.ArenaWidth-edge || pos.Y > cfg.ArenaHeight-edge {
		st.Angle = math.Atan2(cfg.ArenaHeight/2-pos.Y, cfg.ArenaWidth/2-pos.X)
		return
	}
	st.Angle += s.state.Rand.Range(-0.5, 0.5)
}
