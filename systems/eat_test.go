package systems_test

import (
	"testing"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/shatter/shatter/systems"
)

// newEat is a fixture that indexes the movers and lets them eat.
func newEat(t *testing.T) *fixture {
	return newFixture(t, nil, &systems.Spatial{}, &systems.Eat{})
}

func TestEatBoundary(t *testing.T) {
	// A marble of mass 25 has radius exactly 20.
	tests := []struct {
		name    string
		dx, dy  float64
		wantAte bool
	}{
		{"same centre", 0, 0, true},
		{"inside", 19.99, 0, true},
		{"just inside on y", 0, -19.999999, true},
		{"exactly on the rim", 20, 0, false},
		{"just outside", 20.000001, 0, false},
		{"diagonal outside", 15, 15, false},
		{"diagonal inside", 14, 14, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newEat(t)
			m := f.player(1, "M", 1000, 1000, 25)
			if r := f.a.Config.Radius(25); r != 20 {
				t.Fatalf("radius of mass 25 = %v, want 20", r)
			}
			frag := f.a.NewFragment(1000+tt.dx, 1000+tt.dy, 1.5)
			f.step()
			wantMass, wantLen := 25.0, 1
			if tt.wantAte {
				wantMass, wantLen = 26.5, 0
			}
			if got := f.massOf(m); got != wantMass {
				t.Errorf("mass = %v, want %v", got, wantMass)
			}
			if got := f.alive(frag); got == tt.wantAte {
				t.Errorf("fragment alive = %v, want %v", got, !tt.wantAte)
			}
			if got := f.a.Fragments.Len(); got != wantLen {
				t.Errorf("fragment index len = %d, want %d", got, wantLen)
			}
		})
	}
}

func TestEatSharedFragmentOnce(t *testing.T) {
	f := newEat(t)
	a := f.player(1, "A", 1000, 1000, 25)
	b := f.zombie("B", 1030, 1000, 25)
	frag := f.a.NewFragment(1015, 1000, 1)
	f.step()
	ga, gb := f.massOf(a)-25, f.massOf(b)-25
	if !(ga == 1 && gb == 0 || ga == 0 && gb == 1) {
		t.Errorf("A gained %v and B gained %v, want one of them 1 and the other 0", ga, gb)
	}
	if f.alive(frag) {
		t.Errorf("fragment alive, want eaten")
	}
}

func TestEatenFragmentsLeaveIndex(t *testing.T) {
	f := newEat(t)
	m := f.player(1, "M", 1050, 1050, 400) // radius 80
	var inside []arche.Entity
	for i := 0; i < 12; i++ {
		inside = append(inside, f.a.NewFragment(1000+float64(i)*8, 1040+float64(i%3)*10, 1))
	}
	farX, farY := 2000.0, 2000.0
	far := f.a.NewFragment(farX, farY, 1)
	f.step()
	if got, want := f.massOf(m), 412.0; got != want {
		t.Errorf("mass = %v, want %v", got, want)
	}
	for i, e := range inside {
		if f.alive(e) {
			t.Errorf("fragment %d alive, want eaten", i)
		}
	}
	if got := f.a.Fragments.Len(); got != 1 {
		t.Errorf("fragment index len = %d, want 1", got)
	}
	if !f.alive(far) || !inIndex(f.a.Fragments, far, farX, farY) {
		t.Errorf("far fragment alive = %v, indexed = %v; want both", f.alive(far), inIndex(f.a.Fragments, far, farX, farY))
	}
	if got, want := f.a.StaticHash, f.staticHash(); got != want {
		t.Errorf("StaticHash = %#x, want %#x recomputed from the world", got, want)
	}
}

func TestEatAcrossCells(t *testing.T) {
	// A marble on a cell corner eats from all four cells around it.
	f := newEat(t)
	m := f.player(1, "M", 1000, 1000, 100) // radius 40
	for _, d := range [][2]float64{{-10, -10}, {10, -10}, {-10, 10}, {10, 10}} {
		f.a.NewFragment(1000+d[0], 1000+d[1], 1)
	}
	f.step()
	if got := f.massOf(m); got != 104 {
		t.Errorf("mass = %v, want 104", got)
	}
	if got := f.a.Fragments.Len(); got != 0 {
		t.Errorf("fragment index len = %d, want 0", got)
	}
}
