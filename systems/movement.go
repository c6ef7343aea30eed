package systems

import (
	"math"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// Movement rolls the marbles: each accelerates toward its heading (faster
// while boosting), the terrain's slope pulls it downhill, drag slows it, its
// speed is capped by its mass (times BoostFactor while boosting), and it is
// kept inside the arena, losing the velocity that pushed into a wall.
//
// It decides whether a boost wish is granted (mass above BoostFloor) and
// records that in Steering.Boosting for the mass system to charge.
type Movement struct {
	state  *ecs.State
	filter *generic.Filter4[ecs.Position, ecs.Velocity, ecs.Mass, ecs.Steering]
}

// Name implements System.
func (s *Movement) Name() string { return "movement" }

// Initialize implements System.
func (s *Movement) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.filter = generic.NewFilter4[ecs.Position, ecs.Velocity, ecs.Mass, ecs.Steering]().With(generic.T[ecs.Mover]())
	s.filter.Register(w)
}

// Update implements System.
func (s *Movement) Update(w *arche.World) {
	cfg := &s.state.Config
	terrain := s.state.Terrain
	dt := 1 / float64(cfg.TickRate)
	keep := max(0, 1-cfg.Drag*dt)
	q := s.filter.Query(w)
	for q.Next() {
		pos, vel, mass, st := q.Get()
		st.Boosting = st.Boost && mass.Value > cfg.BoostFloor
		accel := cfg.Acceleration
		if st.Boosting {
			accel *= cfg.BoostFactor
		}
		sin, cos := math.Sincos(st.Angle)
		gx, gy := terrain.Slope(pos.X, pos.Y)
		vel.X = (vel.X + (cos*accel-cfg.Gravity*gx)*dt) * keep
		vel.Y = (vel.Y + (sin*accel-cfg.Gravity*gy)*dt) * keep
		if st.TopSpeedMass != mass.Value {
			st.TopSpeed, st.TopSpeedMass = cfg.MaxSpeed(mass.Value, false), mass.Value
		}
		top := st.TopSpeed
		if st.Boosting {
			top *= cfg.BoostFactor
		}
		if sq := vel.X*vel.X + vel.Y*vel.Y; sq > top*top {
			f := top / math.Sqrt(sq)
			vel.X *= f
			vel.Y *= f
		}
		pos.X, vel.X = clampAxis(pos.X+vel.X*dt, vel.X, cfg.ArenaWidth)
		pos.Y, vel.Y = clampAxis(pos.Y+vel.Y*dt, vel.Y, cfg.ArenaHeight)
	}
}

// clampAxis keeps a coordinate within [0, limit], dropping the velocity
// that pushed it past the edge.
func clampAxis(p, v, limit float64) (float64, float64) {
	switch {
	case p < 0:
		return 0, max(v, 0)
	case p > limit:
		return limit, min(v, 0)
	}
	return p, v
}
