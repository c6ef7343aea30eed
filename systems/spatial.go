package systems

import (
	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// Spatial rebuilds the mover grid from the marbles' new positions. The
// static fragment and obstacle indexes are not rebuilt: the factories keep
// them current as entities come and go, and Spatial only lets their cells
// that a cluster crowded and has left give back their spill blocks, at a
// point where no system walks a cell.
type Spatial struct {
	state  *ecs.State
	filter *generic.Filter2[ecs.Position, ecs.Mass]
}

// Name implements System.
func (s *Spatial) Name() string { return "spatial" }

// Initialize implements System.
func (s *Spatial) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.filter = generic.NewFilter2[ecs.Position, ecs.Mass]().With(generic.T[ecs.Mover]())
	s.filter.Register(w)
}

// Update implements System.
func (s *Spatial) Update(w *arche.World) {
	grid := s.state.Movers
	grid.Reset()
	q := s.filter.Query(w)
	for q.Next() {
		pos, mass := q.Get()
		grid.Add(q.Entity(), pos.X, pos.Y, mass.Value)
	}
	grid.Build()
	s.state.Fragments.Settle()
	s.state.Obstacles.Settle()
}
