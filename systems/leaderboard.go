package systems

import (
	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// Leaderboard recomputes the top LeaderboardSize marbles by mass once a
// second (every TickRate ticks, starting with the first tick), into the
// arena's Board. Ties keep query order.
type Leaderboard struct {
	state  *ecs.State
	filter *generic.Filter3[ecs.Body, ecs.Mass, ecs.Name]
}

// Name implements System.
func (s *Leaderboard) Name() string { return "leaderboard" }

// Initialize implements System.
func (s *Leaderboard) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.filter = generic.NewFilter3[ecs.Body, ecs.Mass, ecs.Name]().With(generic.T[ecs.Mover]())
	s.filter.Register(w)
}

// Update implements System.
func (s *Leaderboard) Update(w *arche.World) {
	a := s.state
	if a.Tick%uint64(a.Config.TickRate) != 0 {
		return
	}
	size := a.Config.LeaderboardSize
	top := a.Board.Top[:0]
	count := 0
	q := s.filter.Query(w)
	for q.Next() {
		count++
		body, mass, name := q.Get()
		if len(top) == size && mass.Value <= top[size-1].Mass {
			continue
		}
		// Insert in place, keeping top sorted biggest first.
		i := len(top)
		if i < size {
			top = append(top, ecs.BoardEntry{})
		} else {
			i = size - 1
		}
		for i > 0 && top[i-1].Mass < mass.Value {
			top[i] = top[i-1]
			i--
		}
		top[i] = ecs.BoardEntry{ID: body.ID, Name: name.Value, Mass: mass.Value}
	}
	a.Board.Top, a.Board.Count, a.BoardTick = top, count, a.Tick
}
