package systems

import (
	arche "github.com/mlange-42/arche/ecs"
	"github.com/shatter/shatter/ecs"
)

// zombieNames are given to zombies in turn, drawn with the arena's RNG,
// with a number added when the name is in use in the arena ("Tumble 2").
var zombieNames = [...]string{
	"Rolling Stone", "Marbleous", "Glassjaw", "Pebble", "Shardlord", "Cat's Eye",
	"Boulder", "Agate", "Onyx", "Quartz", "Tumble", "Spinner", "Ricochet",
	"Gravel", "Obsidian", "Jasper", "Flint", "Cobble", "Opal", "Crusher",
}

// Population keeps the arena lively: marbles arriving from other nodes are
// placed (after this tick's eating and collisions, so their first frame
// shows the mass they carried), zombies fill it to MinPopulation marbles
// (players count too), fragments are respawned up to FragmentCount, and
// spike balls hit this tick move to random spots.
type Population struct {
	state *ecs.State
}

// Name implements System.
func (s *Population) Name() string { return "population" }

// Initialize implements System.
func (s *Population) Initialize(w *arche.World) {
	s.state = ecs.StateOf(w)
	s.state.ReserveZombieNames(zombieNames[:], s.state.Config.MinPopulation)
}

// Update implements System.
func (s *Population) Update(w *arche.World) {
	a := s.state
	cfg := &a.Config
	for _, ar := range a.Arrivals {
		// The session may have left in the same tick.
		if sess := a.Session(ar.Session); sess != nil && sess.Marble.IsZero() {
			x, y := ArrivalSpot(a, ar.Mass)
			sess.Marble = a.NewMarble(ar.Session, sess.Name, x, y, ar.Mass)
		}
	}
	a.Arrivals = a.Arrivals[:0]
	for a.MoverCount < cfg.MinPopulation {
		x, y := SafeSpot(a, cfg.StartMass)
		name := a.ZombieName(zombieNames[a.Rand.Intn(len(zombieNames))])
		a.NewMarble(0, name, x, y, cfg.StartMass)
	}
	for a.Fragments.Len() < cfg.FragmentCount {
		x, y := a.RandomPoint(0)
		a.NewFragment(x, y, cfg.FragmentMass)
	}
	for _, ob := range a.HitObstacles {
		x, y := a.RandomPoint(cfg.ObstacleRadius)
		a.MoveObstacle(ob, x, y)
	}
	a.HitObstacles = a.HitObstacles[:0]
}
