package systems_test

import (
	"math"
	"testing"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

func TestBoostGranted(t *testing.T) {
	tests := []struct {
		name  string
		mass  float64
		wish  bool
		grant bool
	}{
		{"above the floor", 20, true, true},
		{"a hair above the floor", math.Nextafter(15, 16), true, true},
		{"exactly at the floor", 15, true, false},
		{"below the floor", 14, true, false},
		{"no wish", 20, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Movement{})
			m := f.player(1, "M", 1500, 1500, tt.mass)
			f.steer.Get(m).Boost = tt.wish
			f.step()
			if got := f.steer.Get(m).Boosting; got != tt.grant {
				t.Errorf("mass %v, wish %v: Boosting = %v, want %v", tt.mass, tt.wish, got, tt.grant)
			}
		})
	}
}

func TestBoostCost(t *testing.T) {
	const dt = 1.0 / 30
	tests := []struct {
		name     string
		mass     float64
		boosting bool
		want     float64
	}{
		{"one boosted tick costs 2%/s", 20, true, 20 - 20*0.02*dt},
		{"bigger marble pays more", 90, true, 90 - 90*0.02*dt},
		{"never below the floor", 15.001, true, 15},
		{"at the floor stays", 15, true, 15},
		{"not boosting costs nothing", 20, false, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Mass{})
			m := f.player(1, "M", 1500, 1500, tt.mass)
			f.steer.Get(m).Boosting = tt.boosting
			f.step()
			if got := f.massOf(m); !near(got, tt.want, 1e-12) {
				t.Errorf("mass %v after one tick = %v, want %v", tt.mass, got, tt.want)
			}
		})
	}
}

// TestBoostBurnsDownToFloor boosts through whole ticks: movement grants
// the boost and mass charges it until the floor refuses it.
func TestBoostBurnsDownToFloor(t *testing.T) {
	f := newFixture(t, nil, &systems.Movement{}, &systems.Mass{})
	m := f.player(1, "M", 1500, 1500, 16)
	f.steer.Get(m).Boost = true
	for i := 0; i < 30*10; i++ {
		f.step()
		if got := f.massOf(m); got < 15 {
			t.Fatalf("tick %d: mass = %v, want >= 15", f.a.Tick, got)
		}
	}
	if got := f.massOf(m); got != 15 {
		t.Errorf("mass after 10 s of boost = %v, want 15", got)
	}
	f.step()
	if f.steer.Get(m).Boosting {
		t.Errorf("Boosting = true at mass 15, want refused")
	}
}

func TestDecay(t *testing.T) {
	const dt = 1.0 / 30
	tests := []struct {
		name string
		mass float64
		want float64
	}{
		{"above 100 decays 0.2%/s", 200, 200 - 200*0.002*dt},
		{"large marble", 5000, 5000 - 5000*0.002*dt},
		{"a hair above 100 stops at 100", 100.0001, 100},
		{"exactly 100 keeps", 100, 100},
		{"below 100 keeps", 60, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Mass{})
			m := f.zombie("M", 1500, 1500, tt.mass)
			f.step()
			if got := f.massOf(m); !near(got, tt.want, 1e-12) {
				t.Errorf("mass %v after one tick = %v, want %v", tt.mass, got, tt.want)
			}
		})
	}
}

func TestDecayNeverBelowThreshold(t *testing.T) {
	f := newFixture(t, func(c *ecs.Config) { c.DecayRate = 0.5 }, &systems.Mass{})
	m := f.player(1, "M", 1500, 1500, 101)
	for i := 0; i < 300; i++ {
		f.step()
		if got := f.massOf(m); got < 100 {
			t.Fatalf("tick %d: mass = %v, want >= 100", f.a.Tick, got)
		}
	}
	if got := f.massOf(m); got != 100 {
		t.Errorf("mass after 10 s = %v, want 100", got)
	}
}
