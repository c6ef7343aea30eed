package systems_test

import (
	"math"
	"testing"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

// testSeed seeds every fixture; the tests do not depend on its value except
// where they scan the terrain it makes.
const testSeed = 7

// quietConfig is the default config with nothing spawned, no terrain
// pull and no newcomer's grace, so a test sees only the entities it
// places, under the bare rules.
func quietConfig() ecs.Config {
	cfg := ecs.DefaultConfig()
	cfg.FragmentCount = 0
	cfg.ObstacleCount = 0
	cfg.MinPopulation = 0
	cfg.Gravity = 0
	cfg.SpawnShield = 0
	cfg.ZombieSpare = 0
	return cfg
}

// fixture is a small arena for one test, with the systems under test
// initialised in tick order.
type fixture struct {
	t       testing.TB
	w       *arche.World
	a       *ecs.State
	systems []systems.System

	pos   generic.Map[ecs.Position]
	vel   generic.Map[ecs.Velocity]
	mass  generic.Map[ecs.Mass]
	steer generic.Map[ecs.Steering]
	body  generic.Map[ecs.Body]
	brain generic.Map[ecs.Brain]
}

// newFixture builds a world from quietConfig, edited by edit if not nil,
// and initialises ss, which step then runs in the order given.
func newFixture(t testing.TB, edit func(*ecs.Config), ss ...systems.System) *fixture {
	t.Helper()
	cfg := quietConfig()
	if edit != nil {
		edit(&cfg)
	}
	w, a := ecs.NewWorld(cfg, testSeed)
	for _, s := range ss {
		s.Initialize(w)
	}
	return &fixture{
		t: t, w: w, a: a, systems: ss,
		pos:   generic.NewMap[ecs.Position](w),
		vel:   generic.NewMap[ecs.Velocity](w),
		mass:  generic.NewMap[ecs.Mass](w),
		steer: generic.NewMap[ecs.Steering](w),
		body:  generic.NewMap[ecs.Body](w),
		brain: generic.NewMap[ecs.Brain](w),
	}
}

// step runs one tick of the fixture's systems, advancing the tick first as
// the arena does.
func (f *fixture) step() {
	f.a.Tick++
	for _, s := range f.systems {
		s.Update(f.w)
	}
}

// player creates a session with a living marble at rest, heading +x.
func (f *fixture) player(session uint32, name string, x, y, mass float64) arche.Entity {
	sess := f.a.AddSession(session, name)
	e := f.a.NewMarble(session, name, x, y, mass)
	sess.Marble = e
	f.steer.Get(e).Angle = 0
	return e
}

// zombie creates a zombie at rest that plans on ticks divisible by
// ZombieThinkTicks.
func (f *fixture) zombie(name string, x, y, mass float64) arche.Entity {
	e := f.a.NewMarble(0, name, x, y, mass)
	f.brain.Get(e).Phase = 0
	f.steer.Get(e).Angle = 0
	return e
}

func (f *fixture) massOf(e arche.Entity) float64 { return f.mass.Get(e).Value }

func (f *fixture) alive(e arche.Entity) bool { return f.w.Alive(e) }

// shard is a fragment as the tests see it.
type shard struct{ X, Y, Mass float64 }

// fragments lists every fragment entity in the world.
func (f *fixture) fragments() []shard {
	var out []shard
	q := generic.NewFilter2[ecs.Position, ecs.Mass]().With(generic.T[ecs.Fragment]()).Query(f.w)
	for q.Next() {
		p, m := q.Get()
		out = append(out, shard{p.X, p.Y, m.Value})
	}
	return out
}

// fragmentMass is the total mass of all fragments.
func (f *fixture) fragmentMass() float64 {
	sum := 0.0
	for _, s := range f.fragments() {
		sum += s.Mass
	}
	return sum
}

// totalMass sums the mass of every marble and fragment.
func (f *fixture) totalMass() float64 {
	sum := 0.0
	q := generic.NewFilter1[ecs.Mass]().Query(f.w)
	for q.Next() {
		sum += q.Get().Value
	}
	return sum
}

// count returns how many entities have all the given components.
func count[T any](w *arche.World) int {
	q := generic.NewFilter1[T]().Query(w)
	n := q.Count()
	q.Close()
	return n
}

// staticHash recomputes the arena's StaticHash from the world.
func (f *fixture) staticHash() uint64 {
	var h uint64
	q := generic.NewFilter2[ecs.Body, ecs.Position]().Query(f.w)
	for q.Next() {
		b, p := q.Get()
		switch b.Kind {
		case ecs.KindFragment:
			h ^= ecs.EntityHash(b.ID, b.Kind, p.X, p.Y, f.mass.Get(q.Entity()).Value)
		case ecs.KindObstacle:
			h ^= ecs.EntityHash(b.ID, b.Kind, p.X, p.Y, 0)
		}
	}
	return h
}

// inIndex reports whether an entity is in the cell index, at (x, y).
func inIndex(ix *ecs.CellIndex, e arche.Entity, x, y float64) bool {
	for r := 0; r < ix.Rows; r++ {
		for c := 0; c < ix.Cols; c++ {
			for _, it := range ix.Cell(c, r) {
				if it.Entity == e {
					return it.X == x && it.Y == y
				}
			}
		}
	}
	return false
}

// near reports whether got is within tol of want.
func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// angleDiff is the absolute difference of two headings, in [0, π].
func angleDiff(a, b float64) float64 {
	d := math.Mod(math.Abs(a-b), 2*math.Pi)
	return math.Min(d, 2*math.Pi-d)
}

// entities lists the entities that have component T, in query order.
func entities[T any](w *arche.World) []arche.Entity {
	var out []arche.Entity
	q := generic.NewFilter1[T]().Query(w)
	for q.Next() {
		out = append(out, q.Entity())
	}
	return out
}
