package ecs_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/shatter/shatter/ecs"
)

func TestTerrainSeeded(t *testing.T) {
	tests := []struct {
		seed uint64
		n    int
	}{
		{0, 129}, {1, 129}, {42, 65}, {1 << 63, 129}, {7, 2}, {7, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("seed %d n %d", tt.seed, tt.n), func(t *testing.T) {
			a := ecs.NewTerrain(tt.seed, tt.n, 3000, 3000)
			b := ecs.NewTerrain(tt.seed, tt.n, 3000, 3000)
			if a.N != tt.n || len(a.Heights) != tt.n*tt.n {
				t.Fatalf("N = %d with %d heights, want %d with %d", a.N, len(a.Heights), tt.n, tt.n*tt.n)
			}
			if !bytes.Equal(a.Heights, b.Heights) {
				t.Errorf("two terrains of seed %d differ, want identical bytes", tt.seed)
			}
			lo, hi := byte(255), byte(0)
			for _, h := range a.Heights {
				lo, hi = min(lo, h), max(hi, h)
			}
			if lo != 0 || hi != 255 {
				t.Errorf("heights span %d..%d, want 0..255", lo, hi)
			}
		})
	}
}

func TestTerrainSeedsDiffer(t *testing.T) {
	seeds := []uint64{0, 1, 2, 3, 42, 1 << 40}
	maps := make([][]byte, len(seeds))
	for i, s := range seeds {
		maps[i] = ecs.NewTerrain(s, 129, 3000, 3000).Heights
	}
	for i := range seeds {
		for j := i + 1; j < len(seeds); j++ {
			if bytes.Equal(maps[i], maps[j]) {
				t.Errorf("seeds %d and %d make the same terrain, want different", seeds[i], seeds[j])
			}
		}
	}
}

func TestTerrainHeightAtSamples(t *testing.T) {
	tr := ecs.NewTerrain(11, 33, 3200, 1600)
	cw, ch := 3200.0/32, 1600.0/32
	for _, s := range [][2]int{{0, 0}, {32, 32}, {5, 7}, {31, 1}, {16, 16}} {
		want := float64(tr.Heights[s[1]*33+s[0]]) / 255
		if got := tr.HeightAt(float64(s[0])*cw, float64(s[1])*ch); !near(got, want, 1e-12) {
			t.Errorf("HeightAt(sample %v) = %v, want %v", s, got, want)
		}
	}
	// Outside the arena the edge height holds.
	tests := []struct{ out, in [2]float64 }{
		{[2]float64{-100, 800}, [2]float64{0, 800}},
		{[2]float64{5000, 800}, [2]float64{3200, 800}},
		{[2]float64{1000, -1}, [2]float64{1000, 0}},
		{[2]float64{1000, 1e9}, [2]float64{1000, 1600}},
	}
	for _, tt := range tests {
		if got, want := tr.HeightAt(tt.out[0], tt.out[1]), tr.HeightAt(tt.in[0], tt.in[1]); got != want {
			t.Errorf("HeightAt%v = %v, want %v as at %v", tt.out, got, want, tt.in)
		}
	}
}

func TestTerrainHeightRange(t *testing.T) {
	tr := ecs.NewTerrain(3, 129, 3000, 3000)
	r := ecs.NewRand(1)
	for i := 0; i < 2000; i++ {
		x, y := r.Range(0, 3000), r.Range(0, 3000)
		if h := tr.HeightAt(x, y); h < 0 || h > 1 {
			t.Fatalf("HeightAt(%v, %v) = %v, want in [0, 1]", x, y, h)
		}
	}
}

func TestTerrainSlope(t *testing.T) {
	const n, side = 129, 3000.0
	tr := ecs.NewTerrain(5, n, side, side)
	cell := side / (n - 1)
	h := cell * 1e-3 // both probes stay inside the sample cell
	r := ecs.NewRand(8)
	steep := 0
	for i := 0; i < 500; i++ {
		// A point well inside a random sample cell.
		cx, cy := float64(r.Intn(n-1)), float64(r.Intn(n-1))
		x, y := (cx+r.Range(0.1, 0.9))*cell, (cy+r.Range(0.1, 0.9))*cell
		gx, gy := tr.Slope(x, y)
		fdx := (tr.HeightAt(x+h, y) - tr.HeightAt(x-h, y)) / (2 * h)
		fdy := (tr.HeightAt(x, y+h) - tr.HeightAt(x, y-h)) / (2 * h)
		if !near(gx, fdx, 1e-9) || !near(gy, fdy, 1e-9) {
			t.Errorf("Slope(%v, %v) = (%v, %v), want finite differences (%v, %v)", x, y, gx, gy, fdx, fdy)
		}
		if math.Signbit(gx) != math.Signbit(fdx) && gx != 0 && fdx != 0 {
			t.Errorf("Slope(%v, %v).dx = %v, sign differs from the height difference %v", x, y, gx, fdx)
		}
		if math.Hypot(gx, gy) > 1e-4 {
			steep++
		}
	}
	if steep < 250 {
		t.Errorf("%d of 500 points have a slope > 1e-4, want most (a flat map tests nothing)", steep)
	}
}

func TestWorldTerrainFromSeed(t *testing.T) {
	cfg := ecs.DefaultConfig()
	cfg.ObstacleCount = 0
	_, a := ecs.NewWorld(cfg, 77)
	want := ecs.NewTerrain(77, cfg.TerrainSamples, cfg.ArenaWidth, cfg.ArenaHeight)
	if !bytes.Equal(a.Terrain.Heights, want.Heights) {
		t.Errorf("arena terrain of seed 77 differs from NewTerrain(77, ...)")
	}
}
