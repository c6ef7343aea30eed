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
// kept inside the arena, losing the velocity that pushed into a wall. A
// spike ball's knockback is added on top of the capped roll, fading over
// its ticks, so the push is not lost to the cap.
//
// It decides whether a boost wish is granted (mass above BoostFloor) and
// records that in Steering.Boosting for the mass system to charge.
type Movement struct {
	state  *ecs.State
	filter *generic.Filter5[ecs.Position, ecs.Velocity, ecs.Mass, ecs.Steering, ecs.Knockback]
}

// Name implements System.
func (s *Movement) Name() string { return "movement" }

// Initialize implements System.
func (s *Movement) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.filter = generic.NewFilter5[ecs.Position, ecs.Velocity, ecs.Mass, ecs.Steering, ecs.Knockback]().With(generic.T[ecs.Mover]())
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
		pos, vel, mass, st, kb := q.Get()
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
		if kb.Left == 0 {
			pos.X, vel.X = clampAxis(pos.X+vel.X*dt, vel.X, cfg.ArenaWidth)
			pos.Y, vel.Y = clampAxis(pos.Y+vel.Y*dt, vel.Y, cfg.ArenaHeight)
			continue
		}
		f := float64(kb.Left) / float64(kb.Of)
		kb.Left--
		pos.X, vel.X, kb.X = clampPushed(pos.X, vel.X, kb.X, f, dt, cfg.ArenaWidth)
		pos.Y, vel.Y, kb.Y = clampPushed(pos.Y, vel.Y, kb.Y, f, dt, cfg.ArenaHeight)
	}
}

// clampPushed moves a coordinate by its velocity v plus the share f of the
// knockback k, keeping it within [0, limit]: at an edge, both the velocity
// and the knockback that pushed past it are dropped.
func clampPushed(p, v, k, f, dt, limit float64) (float64, float64, float64) {
	p += (v + k*f) * dt
	switch {
	case p < 0:
		return 0, max(v, 0), max(k, 0)
	case p > limit:
		return limit, min(v, 0), min(k, 0)
	}
	return p, v, k
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
