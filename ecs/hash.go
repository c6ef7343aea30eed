package ecs

import "math"

// StaticChange records a fragment or obstacle coming or going.
type StaticChange struct {
	Removed bool
	ID      uint32
	Kind    Kind
	X, Y    float64
	Mass    float64
}

// staticChange accounts for a static entity coming or going: the state
// hash's running XOR and the log the frame builder follows.
func (a *State) staticChange(removed bool, id uint32, kind Kind, x, y, mass float64) {
	a.StaticHash ^= EntityHash(id, kind, x, y, mass)
	a.StaticLog = append(a.StaticLog, StaticChange{Removed: removed, ID: id, Kind: kind, X: x, Y: y, Mass: mass})
}

// EntityHash mixes one entity's identity and exact state into 64 bits. The
// exact float bits are hashed (not the quantized wire values) so a replay
// catches a divergence on the tick it happens, not when it grows visible.
func EntityHash(id uint32, kind Kind, x, y, mass float64) uint64 {
	h := uint64(id)<<8 | uint64(kind)
	h = Mix64(h ^ math.Float64bits(x))
	h = Mix64(h ^ math.Float64bits(y))
	return Mix64(h ^ math.Float64bits(mass))
}

// Mix64 is the SplitMix64 finalizer: a cheap, well-distributed bijection,
// used to chain state hashes.
func Mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
