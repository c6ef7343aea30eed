package systems

import (
	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// Eat lets every marble eat the fragments whose centre lies inside it,
// gaining their mass. Marbles eat in query order, so when two overlap one
// fragment the first takes it.
type Eat struct {
	state  *ecs.State
	filter *generic.Filter2[ecs.Position, ecs.Mass]
	masses generic.Map[ecs.Mass]
	eaten  []arche.Entity // reused each tick
}

// Name implements System.
func (s *Eat) Name() string { return "eat" }

// Initialize implements System.
func (s *Eat) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.filter = generic.NewFilter2[ecs.Position, ecs.Mass]().With(generic.T[ecs.Mover]())
	s.filter.Register(w)
	s.masses = generic.NewMap[ecs.Mass](w)
	// Room for every marble to eat a fragment in one tick; a tick that
	// eats more grows the list once, to its new peak, and keeps it.
	s.eaten = make([]arche.Entity, 0, s.state.Config.MaxMovers())
}

// Update implements System.
func (s *Eat) Update(w *arche.World) {
	cfg := &s.state.Config
	ix := s.state.Fragments
	s.eaten = s.eaten[:0]
	q := s.filter.Query(w)
	for q.Next() {
		pos, mass := q.Get()
		r := cfg.Radius(mass.Value)
		c0, r0, c1, r1 := ix.Span(pos.X, pos.Y, r)
		for row := r0; row <= r1; row++ {
			for col := c0; col <= c1; col++ {
				cell := ix.Cell(col, row)
				// Backwards, because taking an item moves the cell's last
				// item, already visited, into its place.
				for i := len(cell) - 1; i >= 0; i-- {
					it := cell[i]
					if dx, dy := it.X-pos.X, it.Y-pos.Y; dx*dx+dy*dy < r*r {
						mass.Value += s.masses.Get(it.Entity).Value
						s.state.TakeFragment(it.Entity, it.X, it.Y)
						s.eaten = append(s.eaten, it.Entity)
					}
				}
			}
		}
	}
	for _, e := range s.eaten {
		s.state.Remove(e)
	}
}
