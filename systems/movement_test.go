package systems_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

func speed(v *ecs.Velocity) float64 { return math.Hypot(v.X, v.Y) }

func TestTopSpeed(t *testing.T) {
	tests := []struct {
		mass  float64
		boost bool
	}{
		{1, false}, {20, false}, {150, false}, {1000, false}, {20000, false},
		{20, true}, {150, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("mass %v boost %v", tt.mass, tt.boost), func(t *testing.T) {
			f := newFixture(t, nil, &systems.Movement{})
			m := f.player(1, "M", 100, 1500, tt.mass)
			f.steer.Get(m).Boost = tt.boost
			want := 220 * math.Pow(tt.mass, -0.22)
			if tt.boost {
				want *= 2
			}
			for i := 0; i < 90; i++ {
				f.step()
				if got := speed(f.vel.Get(m)); got > want*(1+1e-12) {
					t.Fatalf("tick %d: speed = %v, want <= %v", f.a.Tick, got, want)
				}
			}
			if got := speed(f.vel.Get(m)); !near(got, want, 1e-9) {
				t.Errorf("speed after 3 s = %v, want top speed %v", got, want)
			}
			if got := f.a.Config.MaxSpeed(tt.mass, tt.boost); !near(got, want, 1e-9) {
				t.Errorf("Config.MaxSpeed(%v, %v) = %v, want %v", tt.mass, tt.boost, got, want)
			}
		})
	}
}

func TestTopSpeedFollowsMassChange(t *testing.T) {
	// Steering caches the top speed by mass; a new mass must re-cap it.
	f := newFixture(t, nil, &systems.Movement{})
	m := f.player(1, "M", 100, 1500, 20)
	for i := 0; i < 60; i++ {
		f.step()
	}
	f.mass.Get(m).Value = 500
	f.step()
	if got, want := speed(f.vel.Get(m)), 220*math.Pow(500, -0.22); !near(got, want, 1e-9) {
		t.Errorf("speed after growing to 500 = %v, want %v", got, want)
	}
}

func TestHeading(t *testing.T) {
	tests := []struct {
		name   string
		angle  float64
		wx, wy float64 // sign of the wanted displacement, 0 for none
	}{
		{"0 is +x", 0, 1, 0},
		{"pi/2 is +y", math.Pi / 2, 0, 1},
		{"pi is -x", math.Pi, -1, 0},
		{"-pi/2 is -y", -math.Pi / 2, 0, -1},
		{"pi/4 is +x+y", math.Pi / 4, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Movement{})
			m := f.player(1, "M", 1500, 1500, 20)
			f.steer.Get(m).Angle = tt.angle
			for i := 0; i < 10; i++ {
				f.step()
			}
			p := f.pos.Get(m)
			dx, dy := p.X-1500, p.Y-1500
			for _, c := range []struct {
				axis      string
				got, want float64
			}{{"x", dx, tt.wx}, {"y", dy, tt.wy}} {
				switch {
				case c.want == 0 && math.Abs(c.got) > 1e-9:
					t.Errorf("%s moved %v, want 0", c.axis, c.got)
				case c.want != 0 && (c.got*c.want <= 0 || math.Abs(c.got) < 1):
					t.Errorf("%s moved %v, want clearly %+v", c.axis, c.got, c.want)
				}
			}
		})
	}
}

func TestClampToArena(t *testing.T) {
	tests := []struct {
		name       string
		x, y       float64
		angle      float64
		wantX      float64 // NaN: not checked
		wantY      float64
		wallVX     bool // whether vel.X must be 0 (pushing into a side wall)
		wallVY     bool
		otherSpeed bool // whether the marble must keep moving along the wall
	}{
		{"right edge", 2999, 1500, 0, 3000, math.NaN(), true, false, false},
		{"left edge", 1, 1500, math.Pi, 0, math.NaN(), true, false, false},
		{"bottom edge", 1500, 2999, math.Pi / 2, math.NaN(), 3000, false, true, false},
		{"top edge", 1500, 1, -math.Pi / 2, math.NaN(), 0, false, true, false},
		{"slides along the right wall", 2999, 1500, math.Pi / 4, 3000, math.NaN(), true, false, true},
		{"corner", 2999, 2999, math.Pi / 4, 3000, 3000, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Movement{})
			m := f.player(1, "M", tt.x, tt.y, 20)
			f.steer.Get(m).Angle = tt.angle
			for i := 0; i < 30; i++ {
				f.step()
				p := f.pos.Get(m)
				if p.X < 0 || p.X > 3000 || p.Y < 0 || p.Y > 3000 {
					t.Fatalf("tick %d: position %+v outside the 3000 x 3000 arena", f.a.Tick, *p)
				}
			}
			p, v := f.pos.Get(m), f.vel.Get(m)
			if !math.IsNaN(tt.wantX) && p.X != tt.wantX {
				t.Errorf("x = %v, want %v", p.X, tt.wantX)
			}
			if !math.IsNaN(tt.wantY) && p.Y != tt.wantY {
				t.Errorf("y = %v, want %v", p.Y, tt.wantY)
			}
			if tt.wallVX && v.X != 0 {
				t.Errorf("vel.X = %v against the wall, want 0", v.X)
			}
			if tt.wallVY && v.Y != 0 {
				t.Errorf("vel.Y = %v against the wall, want 0", v.Y)
			}
			if tt.otherSpeed && v.Y <= 0 {
				t.Errorf("vel.Y = %v, want > 0 sliding along the wall", v.Y)
			}
		})
	}
}

// steepPoints returns up to n points, drawn from a fixed sequence, where
// the terrain's slope is at least minSlope.
func steepPoints(a *ecs.State, n int, minSlope float64) [][2]float64 {
	r := ecs.NewRand(1)
	var out [][2]float64
	for i := 0; i < 1000 && len(out) < n; i++ {
		x, y := r.Range(100, a.Config.ArenaWidth-100), r.Range(100, a.Config.ArenaHeight-100)
		if gx, gy := a.Terrain.Slope(x, y); math.Hypot(gx, gy) >= minSlope {
			out = append(out, [2]float64{x, y})
		}
	}
	return out
}

func TestGravityRollsDownhill(t *testing.T) {
	// Thrust is made negligible so the marble is "at rest" but for gravity.
	edit := func(c *ecs.Config) {
		c.Gravity = ecs.DefaultConfig().Gravity
		c.Acceleration = 1e-9
	}
	probe := newFixture(t, edit)
	points := steepPoints(probe.a, 6, 5e-4)
	if len(points) < 3 {
		t.Fatalf("found %d steep points on the terrain of seed %d, want >= 3", len(points), testSeed)
	}
	for _, pt := range points {
		t.Run(fmt.Sprintf("at %.0f,%.0f", pt[0], pt[1]), func(t *testing.T) {
			f := newFixture(t, edit, &systems.Movement{})
			m := f.player(1, "M", pt[0], pt[1], 20)
			gx, gy := f.a.Terrain.Slope(pt[0], pt[1])
			h0 := f.a.Terrain.HeightAt(pt[0], pt[1])
			for i := 0; i < 5; i++ {
				f.step()
			}
			p, v := f.pos.Get(m), f.vel.Get(m)
			if h := f.a.Terrain.HeightAt(p.X, p.Y); h >= h0 {
				t.Errorf("height went %v -> %v rolling from rest to %+v, want lower", h0, h, *p)
			}
			if dot := v.X*gx + v.Y*gy; dot >= 0 {
				t.Errorf("velocity %+v . slope (%v, %v) = %v, want < 0 (downhill)", *v, gx, gy, dot)
			}
		})
	}
}

func TestNoGravityStaysPut(t *testing.T) {
	f := newFixture(t, func(c *ecs.Config) { c.Acceleration = 1e-9 }, &systems.Movement{})
	m := f.player(1, "M", 1234, 987, 20)
	for i := 0; i < 30; i++ {
		f.step()
	}
	if p := f.pos.Get(m); !near(p.X, 1234, 1e-6) || !near(p.Y, 987, 1e-6) {
		t.Errorf("position %+v after 1 s with gravity 0 and no thrust, want (1234, 987)", *p)
	}
}
