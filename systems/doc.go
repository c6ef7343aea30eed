// Package systems holds the game rules of ShatterLand, one system per file,
// each an arche-style system: exported configuration, unexported filters and
// resources cached in Initialize, the rule applied in Update.
//
// The systems are deterministic: they read no wall clock, range over no Go
// map, and draw all randomness from the arena's one seeded ecs.Rand. They
// never create or remove entities inside a query; they collect what must
// change in reused slices and apply it after the loop.
//
// The arena (package sim) runs them in the order of DESIGN.md's tick:
// Input, Zombie, Movement, Mass, Spatial, Eat, Collision, Population,
// Leaderboard.
package systems

import arche "github.com/mlange-42/arche/ecs"

// System is one step of the tick.
type System interface {
	// Name is the system's short name, used as its pprof label value and
	// in tick statistics.
	Name() string
	// Initialize caches filters and resources; called once per world.
	Initialize(w *arche.World)
	// Update applies the system's rule for one tick.
	Update(w *arche.World)
}

// Default returns a fresh set of every system, in tick order.
func Default() []System {
	return []System{
		&Input{}, &Zombie{}, &Movement{}, &Mass{}, &Spatial{},
		&Eat{}, &Collision{}, &Population{}, &Leaderboard{},
	}
}
