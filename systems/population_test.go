package systems_test

import (
	"fmt"
	"testing"

	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

func TestPopulationZombies(t *testing.T) {
	tests := []struct {
		min, max, players int
		wantZombies       int
	}{
		{min: 0, max: 10, players: 0, wantZombies: 0},
		{min: 5, max: 10, players: 0, wantZombies: 5},
		{min: 5, max: 10, players: 3, wantZombies: 2},
		{min: 5, max: 10, players: 5, wantZombies: 0},
		{min: 5, max: 10, players: 8, wantZombies: 0},
		{min: 10, max: 10, players: 4, wantZombies: 6},
		{min: 25, max: 150, players: 1, wantZombies: 24},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("min %d max %d players %d", tt.min, tt.max, tt.players), func(t *testing.T) {
			f := newFixture(t, func(c *ecs.Config) {
				c.MinPopulation, c.MaxPlayers = tt.min, tt.max
			}, &systems.Spatial{}, &systems.Population{})
			for i := 0; i < tt.players; i++ {
				f.player(uint32(i+1), "P", 200+float64(i)*100, 500, 20)
			}
			// Several ticks: population must fill once and then hold.
			for i := 0; i < 5; i++ {
				f.step()
				if got := count[ecs.Brain](f.w); got != tt.wantZombies {
					t.Fatalf("tick %d: %d zombies, want %d", f.a.Tick, got, tt.wantZombies)
				}
			}
			wantMovers := tt.players + tt.wantZombies
			if got := f.a.MoverCount; got != wantMovers {
				t.Errorf("MoverCount = %d, want %d", got, wantMovers)
			}
			if got := count[ecs.Mover](f.w); got != wantMovers {
				t.Errorf("%d movers in the world, want %d", got, wantMovers)
			}
			if tt.players <= tt.max && wantMovers > tt.max {
				t.Errorf("%d movers, want at most max_players %d", wantMovers, tt.max)
			}
		})
	}
}

func TestPopulationZombieShape(t *testing.T) {
	f := newFixture(t, func(c *ecs.Config) { c.MinPopulation = 8 }, &systems.Spatial{}, &systems.Population{})
	f.step()
	n := 0
	for _, e := range entities[ecs.Brain](f.w) {
		n++
		b, m, p := f.body.Get(e), f.mass.Get(e), f.pos.Get(e)
		if b.Kind != ecs.KindZombie || m.Value != 20 {
			t.Errorf("zombie %d: kind %v mass %v, want zombie of start mass 20", b.ID, b.Kind, m.Value)
		}
		r := f.a.Config.Radius(20)
		if p.X < r || p.X > 3000-r || p.Y < r || p.Y > 3000-r {
			t.Errorf("zombie %d at %+v, want at least its radius %v inside the arena", b.ID, *p, r)
		}
	}
	if n != 8 {
		t.Errorf("%d zombies, want 8", n)
	}
}

func TestPopulationFragments(t *testing.T) {
	f := newFixture(t, func(c *ecs.Config) { c.FragmentCount = 50 }, &systems.Population{})
	f.step()
	if got := f.a.Fragments.Len(); got != 50 {
		t.Fatalf("fragment index len = %d, want 50", got)
	}
	frags := f.fragments()
	if len(frags) != 50 {
		t.Fatalf("%d fragments in the world, want 50", len(frags))
	}
	for _, s := range frags {
		if s.Mass != 1 || s.X < 0 || s.X > 3000 || s.Y < 0 || s.Y > 3000 {
			t.Errorf("fragment %+v, want mass 1 inside the arena", s)
		}
	}
	// Remove some; the next tick puts them back, no more.
	removed := 0
	for _, e := range entities[ecs.Fragment](f.w)[:10] {
		f.a.Remove(e)
		removed++
	}
	if got := f.a.Fragments.Len(); got != 50-removed {
		t.Fatalf("fragment index len = %d after removing %d, want %d", got, removed, 50-removed)
	}
	f.step()
	if got := f.a.Fragments.Len(); got != 50 {
		t.Errorf("fragment index len = %d after respawn, want 50", got)
	}
	if got := len(f.fragments()); got != 50 {
		t.Errorf("%d fragments in the world after respawn, want 50", got)
	}
	if got, want := f.a.StaticHash, f.staticHash(); got != want {
		t.Errorf("StaticHash = %#x, want %#x", got, want)
	}
}

func TestPopulationRelocatesHitObstacles(t *testing.T) {
	f := newFixture(t, nil, &systems.Population{})
	hit := f.a.NewObstacle(500, 500)
	kept := f.a.NewObstacle(2500, 2500)
	f.a.HitObstacles = append(f.a.HitObstacles, hit)
	f.step()
	p := f.pos.Get(hit)
	if *p == (ecs.Position{X: 500, Y: 500}) {
		t.Errorf("hit obstacle still at (500, 500), want moved")
	}
	if r := f.a.Config.ObstacleRadius; p.X < r || p.X > 3000-r || p.Y < r || p.Y > 3000-r {
		t.Errorf("hit obstacle moved to %+v, want at least %v from the edges", *p, r)
	}
	if !inIndex(f.a.Obstacles, hit, p.X, p.Y) {
		t.Errorf("obstacle index does not hold the moved ball at %+v", *p)
	}
	if got := *f.pos.Get(kept); got != (ecs.Position{X: 2500, Y: 2500}) {
		t.Errorf("untouched obstacle at %+v, want (2500, 2500)", got)
	}
	if got := f.a.Obstacles.Len(); got != 2 {
		t.Errorf("obstacle index len = %d, want 2", got)
	}
	if got := len(f.a.HitObstacles); got != 0 {
		t.Errorf("HitObstacles len = %d after population, want 0", got)
	}
	if got, want := f.a.StaticHash, f.staticHash(); got != want {
		t.Errorf("StaticHash = %#x, want %#x", got, want)
	}
}

func TestPopulationDeterministic(t *testing.T) {
	run := func() (uint64, []ecs.Position) {
		f := newFixture(t, func(c *ecs.Config) {
			c.FragmentCount, c.ObstacleCount, c.MinPopulation = 100, 5, 10
		}, systems.Default()...)
		for i := 0; i < 20; i++ {
			f.step()
		}
		var ps []ecs.Position
		for _, e := range entities[ecs.Mover](f.w) {
			ps = append(ps, *f.pos.Get(e))
		}
		return f.a.StaticHash ^ f.a.Rand.State, ps
	}
	h1, p1 := run()
	h2, p2 := run()
	if h1 != h2 {
		t.Errorf("static hash ^ rand state = %#x then %#x, want equal runs", h1, h2)
	}
	if len(p1) != len(p2) {
		t.Fatalf("%d then %d movers, want equal runs", len(p1), len(p2))
	}
	for i := range p1 {
		if p1[i] != p2[i] {
			t.Errorf("mover %d at %+v then %+v, want equal runs", i, p1[i], p2[i])
		}
	}
}

// TestZombieNamesDistinct fills an arena with more zombies than there are
// zombie names: no two share one.
func TestZombieNamesDistinct(t *testing.T) {
	f := newFixture(t, func(c *ecs.Config) { c.MinPopulation = 60 }, &systems.Spatial{}, &systems.Population{})
	f.player(1, "Tumble", 100, 100, 20)
	f.step()
	seen := map[string]bool{"Tumble": true}
	q := generic.NewFilter1[ecs.Name]().With(generic.T[ecs.Brain]()).Query(f.w)
	n := 0
	for q.Next() {
		name := q.Get().Value
		if seen[name] {
			t.Errorf("two marbles are named %q", name)
		}
		seen[name] = true
		n++
	}
	if n != 59 {
		t.Errorf("%d zombies, want 59", n)
	}
}

// TestZombieYieldsItsNameToAJoiningPlayer: a player's name was promised in
// its welcome, so a zombie that has it takes another.
func TestZombieYieldsItsNameToAJoiningPlayer(t *testing.T) {
	f := newFixture(t, nil, &systems.Input{})
	z := f.zombie("Flint", 100, 100, 20)
	f.zombie("Flint 2", 200, 100, 20)
	f.a.Commands = append(f.a.Commands, ecs.Command{Kind: ecs.CmdJoin, Session: 1, Name: "Flint"})
	f.step()
	names := generic.NewMap[ecs.Name](f.w)
	if got := names.Get(z).Value; got != "Flint 3" {
		t.Errorf("zombie renamed %q, want %q", got, "Flint 3")
	}
	if got := f.a.Session(1).Name; got != "Flint" {
		t.Errorf("session name %q, want Flint", got)
	}
}
