package ecs

import "math"

// Terrain is the arena's heightmap: N x N samples spread evenly over the
// arena (the first and last rows and columns lie on its edges), heights
// quantized to bytes exactly as the welcome message sends them, so a client
// that predicts motion sees the same hills the server simulates.
//
// Static after construction; safe to read from any goroutine.
type Terrain struct {
	N       int
	Heights []byte // row-major, height*255
	// cellW and cellH are the distance between samples in arena units.
	cellW, cellH float64
}

// NewTerrain makes the fractal value-noise heightmap for an arena seed:
// several octaves of smoothly interpolated lattice noise, each with twice
// the frequency and half the amplitude of the one before, normalized to the
// full 0..1 range. It draws from its own generator derived from the seed so
// that changing the terrain code never shifts the simulation's random
// sequence.
func NewTerrain(seed uint64, n int, arenaW, arenaH float64) *Terrain {
	rng := NewRand(seed ^ 0x7e77a1d5eed)
	const octaves = 5
	raw := make([]float64, n*n)
	amp, lattice := 1.0, 4
	for o := 0; o < octaves; o++ {
		side := lattice + 1
		values := make([]float64, side*side)
		for i := range values {
			values[i] = rng.Float64()
		}
		for y := 0; y < n; y++ {
			fy := float64(y) / float64(n-1) * float64(lattice)
			y0 := min(int(fy), lattice-1)
			ty := smoothstep(fy - float64(y0))
			for x := 0; x < n; x++ {
				fx := float64(x) / float64(n-1) * float64(lattice)
				x0 := min(int(fx), lattice-1)
				tx := smoothstep(fx - float64(x0))
				v00 := values[y0*side+x0]
				v10 := values[y0*side+x0+1]
				v01 := values[(y0+1)*side+x0]
				v11 := values[(y0+1)*side+x0+1]
				top := v00 + (v10-v00)*tx
				bottom := v01 + (v11-v01)*tx
				raw[y*n+x] += amp * (top + (bottom-top)*ty)
			}
		}
		amp /= 2
		lattice *= 2
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range raw {
		lo, hi = min(lo, v), max(hi, v)
	}
	t := &Terrain{N: n, Heights: make([]byte, n*n), cellW: arenaW / float64(n-1), cellH: arenaH / float64(n-1)}
	for i, v := range raw {
		t.Heights[i] = byte(math.Round((v - lo) / (hi - lo) * 255))
	}
	return t
}

func smoothstep(t float64) float64 { return t * t * (3 - 2*t) }

// sample returns the height (0..1) of sample (x, y), clamped to the map.
func (t *Terrain) sample(x, y int) float64 {
	x = min(max(x, 0), t.N-1)
	y = min(max(y, 0), t.N-1)
	return float64(t.Heights[y*t.N+x]) / 255
}

// HeightAt returns the bilinearly interpolated height (0..1) at an arena point.
func (t *Terrain) HeightAt(px, py float64) float64 {
	x0, y0, fx, fy := t.locate(px, py)
	top := t.sample(x0, y0) + (t.sample(x0+1, y0)-t.sample(x0, y0))*fx
	bottom := t.sample(x0, y0+1) + (t.sample(x0+1, y0+1)-t.sample(x0, y0+1))*fx
	return top + (bottom-top)*fy
}

// Slope returns the height gradient (height per unit of distance) at an
// arena point: the derivative of the bilinear surface. Movement pulls
// marbles along its negative, downhill.
func (t *Terrain) Slope(px, py float64) (dx, dy float64) {
	x0, y0, fx, fy := t.locate(px, py)
	h00, h10 := t.sample(x0, y0), t.sample(x0+1, y0)
	h01, h11 := t.sample(x0, y0+1), t.sample(x0+1, y0+1)
	dx = ((h10-h00)*(1-fy) + (h11-h01)*fy) / t.cellW
	dy = ((h01-h00)*(1-fx) + (h11-h10)*fx) / t.cellH
	return dx, dy
}

// locate finds the sample cell holding an arena point and the point's
// fractional offset inside it.
func (t *Terrain) locate(px, py float64) (x0, y0 int, fx, fy float64) {
	gx := min(max(px/t.cellW, 0), float64(t.N-1))
	gy := min(max(py/t.cellH, 0), float64(t.N-1))
	x0 = min(int(gx), t.N-2)
	y0 = min(int(gy), t.N-2)
	return x0, y0, gx - float64(x0), gy - float64(y0)
}
