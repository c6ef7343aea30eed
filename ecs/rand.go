package ecs

import "math"

// Rand is the arena's one source of randomness: a SplitMix64 generator.
// Everything random in the simulation draws from it in system order, so a
// seed and a command log reproduce a match. Its whole state is one word,
// which the state hash includes.
//
// Not safe for concurrent use; only the arena goroutine touches it.
type Rand struct {
	State uint64
}

// NewRand returns a generator seeded with seed.
func NewRand(seed uint64) *Rand { return &Rand{State: seed} }

// Uint64 returns the next pseudo-random 64-bit value.
func (r *Rand) Uint64() uint64 {
	r.State += 0x9e3779b97f4a7c15
	z := r.State
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float64 returns a value in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Range returns a value in [lo, hi).
func (r *Rand) Range(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// Intn returns a value in [0, n). Panics if n <= 0.
func (r *Rand) Intn(n int) int {
	if n <= 0 {
		panic("ecs: Rand.Intn with n <= 0")
	}
	return int(r.Uint64() % uint64(n))
}

// Angle returns a direction in [0, 2π).
func (r *Rand) Angle() float64 { return r.Float64() * 2 * math.Pi }
