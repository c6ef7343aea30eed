package systems

import (
	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// Mass charges boosting marbles BoostCost of their mass per second, never
// taking them below BoostFloor, and decays marbles above DecayThreshold by
// DecayRate per second, never below the threshold. Burnt and decayed mass
// leaves the game.
type Mass struct {
	state  *ecs.State
	filter *generic.Filter2[ecs.Mass, ecs.Steering]
}

// Name implements System.
func (s *Mass) Name() string { return "mass" }

// Initialize implements System.
func (s *Mass) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.filter = generic.NewFilter2[ecs.Mass, ecs.Steering]().With(generic.T[ecs.Mover]())
	s.filter.Register(w)
}

// Update implements System.
func (s *Mass) Update(w *arche.World) {
	cfg := &s.state.Config
	dt := 1 / float64(cfg.TickRate)
	q := s.filter.Query(w)
	for q.Next() {
		mass, st := q.Get()
		if st.Boosting {
			mass.Value = max(mass.Value*(1-cfg.BoostCost*dt), cfg.BoostFloor)
		}
		if mass.Value > cfg.DecayThreshold {
			mass.Value = max(mass.Value*(1-cfg.DecayRate*dt), cfg.DecayThreshold)
		}
	}
}
