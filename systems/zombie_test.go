package systems_test

import (
	"fmt"
	"math"
	"testing"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/shatter/shatter/systems"
)

// other is a marble a zombie sees, placed relative to it.
type other struct{ dx, dy, mass float64 }

func TestZombieChoice(t *testing.T) {
	const zx, zy = 1500.0, 1500.0
	// food is where the zombie heads when nothing else matters.
	food := [][2]float64{{0, -50}}
	toFood := math.Atan2(-50, 0)
	tests := []struct {
		name      string
		mass      float64
		others    []other
		frags     [][2]float64
		wantAngle float64
		wantBoost bool
	}{
		{"flees 1.2x close, boosting", 20, []other{{100, 0, 24}}, food, math.Pi, true},
		{"flees 1.2x within 300", 20, []other{{0, 299, 24}}, food, -math.Pi / 2, false},
		{"flees diagonally away", 20, []other{{-30, -40, 100}}, food, math.Atan2(40, 30), true},
		{"ignores 1.2x beyond 300", 20, []other{{301, 0, 24}}, food, toFood, false},
		{"ignores 1.19x", 20, []other{{100, 0, 23.8}}, food, toFood, false},
		{"flees the nearest threat", 20, []other{{200, 0, 50}, {0, 100, 50}}, food, -math.Pi / 2, true},
		{"chases under 0.8x close, boosting", 20, []other{{0, 100, 10}}, food, math.Pi / 2, true},
		{"chases under 0.8x within 400", 20, []other{{-399, 0, 15.9}}, food, math.Pi, false},
		{"boosts within 149", 20, []other{{149, 0, 10}}, food, 0, true},
		{"no boost at 151", 20, []other{{151, 0, 10}}, food, 0, false},
		{"ignores exactly 0.8x", 20, []other{{100, 0, 16}}, food, toFood, false},
		{"ignores prey beyond 400", 20, []other{{401, 0, 10}}, food, toFood, false},
		{"chases the nearest prey", 20, []other{{300, 0, 10}, {0, 200, 10}}, food, math.Pi / 2, false},
		{"fleeing beats chasing", 20, []other{{0, 50, 10}, {250, 0, 30}}, food, math.Pi, false},
		{"no boost at the floor", 15, []other{{100, 0, 18}}, food, math.Pi, false},
		{"boost just above the floor", 15.01, []other{{100, 0, 18.02}}, food, math.Pi, true},
		{"nearest fragment", 20, nil, [][2]float64{{200, 0}, {0, 120}, {-150, -150}}, math.Pi / 2, false},
		{"equal marble is food-neutral", 20, []other{{30, 0, 20}}, food, toFood, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Spatial{}, &systems.Zombie{})
			z := f.zombie("Z", zx, zy, tt.mass)
			f.steer.Get(z).Boost = !tt.wantBoost
			for i, o := range tt.others {
				f.player(uint32(i+1), "o", zx+o.dx, zy+o.dy, o.mass)
			}
			for _, fr := range tt.frags {
				f.a.NewFragment(zx+fr[0], zy+fr[1], 1)
			}
			f.a.Tick = 2 // step makes it 3, a think tick for phase 0
			f.step()
			st := f.steer.Get(z)
			if d := angleDiff(st.Angle, tt.wantAngle); d > 1e-9 {
				t.Errorf("heading = %v, want %v", st.Angle, tt.wantAngle)
			}
			if st.Boost != tt.wantBoost {
				t.Errorf("boost = %v, want %v", st.Boost, tt.wantBoost)
			}
		})
	}
}

func TestZombieThinksOnItsPhase(t *testing.T) {
	tests := []struct {
		phase     uint32
		tick      uint64 // the tick the zombie plans on
		wantThink bool
	}{
		{0, 3, true}, {0, 4, false}, {1, 5, true}, {1, 6, false}, {2, 4, true}, {2, 3, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("phase %d tick %d", tt.phase, tt.tick), func(t *testing.T) {
			f := newFixture(t, nil, &systems.Spatial{}, &systems.Zombie{})
			z := f.zombie("Z", 1500, 1500, 20)
			f.brain.Get(z).Phase = tt.phase
			f.a.NewFragment(1500, 1600, 1)
			f.a.Tick = tt.tick - 1
			f.step()
			thought := angleDiff(f.steer.Get(z).Angle, math.Pi/2) < 1e-9
			if thought != tt.wantThink {
				t.Errorf("planned = %v, want %v", thought, tt.wantThink)
			}
		})
	}
}

func TestZombieKeepsFood(t *testing.T) {
	f := newFixture(t, nil, &systems.Spatial{}, &systems.Zombie{})
	z := f.zombie("Z", 1500, 1500, 20)
	target := f.a.NewFragment(1500, 1700, 1)
	f.a.Tick = 2
	f.step()
	if got := f.brain.Get(z).Food; got != target {
		t.Fatalf("food = %v, want %v", got, target)
	}
	// A nearer fragment appears; the zombie keeps its target until eaten.
	f.a.NewFragment(1400, 1500, 1)
	f.a.Tick = 5
	f.step()
	if d := angleDiff(f.steer.Get(z).Angle, math.Pi/2); d > 1e-9 {
		t.Errorf("heading = %v, want %v toward the kept target", f.steer.Get(z).Angle, math.Pi/2)
	}
	f.a.Remove(target)
	f.a.Tick = 8
	f.step()
	if d := angleDiff(f.steer.Get(z).Angle, math.Pi); d > 1e-9 {
		t.Errorf("heading = %v after the target went, want %v toward the other fragment", f.steer.Get(z).Angle, math.Pi)
	}
}

func TestZombieWanders(t *testing.T) {
	tests := []struct {
		name   string
		x, y   float64
		center bool // whether it must head for the middle
	}{
		{"near the left edge turns to the middle", 50, 1500, true},
		{"in a corner turns to the middle", 2950, 2950, true},
		{"in the open turns a little", 1500, 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Spatial{}, &systems.Zombie{})
			z := f.zombie("Z", tt.x, tt.y, 20)
			f.steer.Get(z).Angle = 1
			f.a.Tick = 2
			f.step()
			got := f.steer.Get(z).Angle
			if tt.center {
				if want := math.Atan2(1500-tt.y, 1500-tt.x); angleDiff(got, want) > 1e-9 {
					t.Errorf("heading = %v, want %v toward the middle", got, want)
				}
				return
			}
			if d := math.Abs(got - 1); d == 0 || d > 0.5 {
				t.Errorf("heading turned by %v, want a small turn in (0, 0.5]", d)
			}
		})
	}
}

func TestZombieIgnoresRemovedMarbles(t *testing.T) {
	f := newFixture(t, nil, &systems.Spatial{}, &systems.Zombie{})
	z := f.zombie("Z", 1500, 1500, 20)
	threat := f.player(1, "big", 1600, 1500, 100)
	f.a.NewFragment(1500, 1400, 1)
	f.systems[0].Update(f.w) // grid holds the threat
	f.a.Remove(threat)
	f.a.Tick = 3
	f.systems[1].Update(f.w) // zombie reads the stale grid
	if d := angleDiff(f.steer.Get(z).Angle, -math.Pi/2); d > 1e-9 {
		t.Errorf("heading = %v, want %v (food; the removed threat is ignored)", f.steer.Get(z).Angle, -math.Pi/2)
	}
}

func TestZombieNearestFragmentSearch(t *testing.T) {
	tests := []struct {
		name      string
		zx, zy    float64
		frags     [][2]float64
		wantFood  int // index into frags, -1 for none
		wantAngle float64
	}{
		// The diagonal neighbour cell is found first, but a fragment two
		// cells straight down is nearer.
		{"nearer one in a farther ring", 1599, 1599, [][2]float64{{1401, 1401}, {1599, 1790}}, 1, math.Pi / 2},
		{"same cell", 1550, 1550, [][2]float64{{1590, 1550}, {1450, 1550}}, 0, 0},
		{"just inside search range", 1500, 1500, [][2]float64{{1500, 2099}}, 0, math.Pi / 2},
		{"beyond search range", 1500, 1500, [][2]float64{{1500, 2101}}, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Spatial{}, &systems.Zombie{})
			z := f.zombie("Z", tt.zx, tt.zy, 20)
			var frags []arche.Entity
			for _, p := range tt.frags {
				frags = append(frags, f.a.NewFragment(p[0], p[1], 1))
			}
			f.a.Tick = 2
			f.step()
			got := f.brain.Get(z).Food
			if tt.wantFood < 0 {
				if !got.IsZero() {
					t.Errorf("food = %v, want none beyond the search range", got)
				}
				return
			}
			if got != frags[tt.wantFood] {
				t.Errorf("food = %v, want fragment %d at %v", got, tt.wantFood, tt.frags[tt.wantFood])
			}
			if d := angleDiff(f.steer.Get(z).Angle, tt.wantAngle); d > 1e-9 {
				t.Errorf("heading = %v, want %v", f.steer.Get(z).Angle, tt.wantAngle)
			}
		})
	}
}
