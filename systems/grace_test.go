package systems_test

import (
	"testing"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

// grace gives newcomers a 1 s shield and 2 s of being spared (30 and 60
// ticks at the default 30 ticks a second).
func grace(c *ecs.Config) { c.SpawnShield, c.ZombieSpare = 1, 2 }

func TestSpawnShieldStopsBusts(t *testing.T) {
	f := newFixture(t, grace, &systems.Spatial{}, &systems.Collision{})
	z := f.zombie("Z", 1500, 1500, 100)
	m := f.player(1, "M", 1500, 1500, 20) // made at tick 0: shielded to tick 30
	for f.a.Tick < 29 {
		f.step()
		if !f.alive(m) {
			t.Fatalf("busted at tick %d, inside its 1 s shield", f.a.Tick)
		}
	}
	if got := f.massOf(z); got != 100 {
		t.Errorf("zombie mass = %v while the marble was shielded, want 100", got)
	}
	f.step() // tick 30: the shield is over
	if f.alive(m) {
		t.Errorf("still alive at tick %d, after its shield", f.a.Tick)
	}
}

func TestSpawnShieldOffForZombies(t *testing.T) {
	f := newFixture(t, grace, &systems.Spatial{}, &systems.Collision{})
	big := f.zombie("Big", 1500, 1500, 100)
	small := f.zombie("Small", 1500, 1500, 20)
	f.step()
	if !f.alive(big) || f.alive(small) {
		t.Errorf("a new zombie was not busted: zombies have no grace")
	}
}

func TestZombiesSpareNewcomers(t *testing.T) {
	f := newFixture(t, grace, &systems.Spatial{}, &systems.Zombie{})
	z := f.zombie("Z", 1500, 1500, 100)
	f.player(1, "M", 1500, 1600, 20) // below the zombie, in chase range
	f.a.NewFragment(1400, 1500, 1)   // food to its left
	// Think ticks are the multiples of 3; spared until tick 60.
	for f.a.Tick < 59 {
		f.step()
		if a := f.steer.Get(z).Angle; a != 3.141592653589793 && f.a.Tick >= 3 {
			t.Fatalf("tick %d: heading %v, want toward the food (pi) while the newcomer is spared", f.a.Tick, a)
		}
	}
	for f.a.Tick < 63 {
		f.step()
	}
	if a := f.steer.Get(z).Angle; a != 3.141592653589793/2 {
		t.Errorf("heading %v after the grace, want down at the newcomer (pi/2)", a)
	}
}
