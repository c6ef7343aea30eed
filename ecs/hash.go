package ecs

import (
	"math"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
)

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

// moverHashFilter selects every mover with every component the state hash
// covers; Pilot and Brain are optional (players have one, zombies the
// other).
type moverHashFilter = generic.Filter10[Body, Position, Velocity, Mass, Steering, Name, Knockback, Fresh, Pilot, Brain]

func newMoverHashFilter() *moverHashFilter {
	return generic.NewFilter10[Body, Position, Velocity, Mass, Steering, Name, Knockback, Fresh, Pilot, Brain]().
		Optional(generic.T[Pilot](), generic.T[Brain]()).With(generic.T[Mover]())
}

// Hash mixes into 64 bits everything that decides the arena's future, so
// that a replay names the first tick whose state differs, whatever part of
// it differs: the tick, the RNG, the next entity id, every session (its
// marble, last input, the tick of that input), every mover in query order
// (which is the arche storage order the systems walk) with all its
// components (position, velocity, mass, steering, name, knockback, grace,
// pilot, and a zombie's plan: phase and target), and the static entities'
// running XOR. Exact float bits are hashed, not the wire's quantized
// values. Steering's TopSpeed cache is left out: it is a function of
// TopSpeedMass, which is in. Allocation-free: it runs every tick.
func (a *State) Hash() uint64 {
	h := Mix64(a.Tick ^ 0x5ba77e4)
	h = Mix64(h ^ a.Rand.State)
	h = Mix64(h ^ uint64(a.nextID))
	for i := range a.Sessions {
		s := &a.Sessions[i]
		h = Mix64(h ^ uint64(s.ID)<<32 ^ uint64(a.wireID(s.Marble)))
		h = Mix64(h ^ uint64(s.Ack)<<32 ^ s.InputTick)
		h = Mix64(h ^ stringHash(s.Name))
	}
	q := a.hashMovers.Query(a.world)
	for q.Next() {
		body, pos, vel, mass, steer, name, kb, fresh, pilot, brain := q.Get()
		e := fold(h, EntityHash(body.ID, body.Kind, pos.X, pos.Y, mass.Value))
		e = fold(e, math.Float64bits(vel.X))
		e = fold(e, math.Float64bits(vel.Y))
		e = fold(e, math.Float64bits(steer.Angle))
		e = fold(e, math.Float64bits(steer.TopSpeedMass))
		e = fold(e, flagBits(steer.Boost, steer.Steered, steer.Boosting))
		e = fold(e, stringHash(name.Value))
		e = fold(e, math.Float64bits(kb.X))
		e = fold(e, math.Float64bits(kb.Y))
		e = fold(e, uint64(kb.Left)<<32|uint64(kb.Of))
		e = fold(e, fresh.ShieldUntil)
		e = fold(e, fresh.SpareUntil)
		if pilot != nil {
			e = fold(e, 1<<40|uint64(pilot.Session))
		}
		if brain != nil {
			e = fold(e, 2<<40^uint64(brain.Phase)<<32^uint64(a.wireID(brain.Food)))
			e = fold(e, math.Float64bits(brain.FoodX))
			e = fold(e, math.Float64bits(brain.FoodY))
		}
		h = Mix64(e)
	}
	return Mix64(h ^ a.StaticHash)
}

// wireID is the network id of e, or 0 for the zero entity or one that is
// gone (a zombie's target eaten this tick).
func (a *State) wireID(e arche.Entity) uint32 {
	if e.IsZero() || !a.world.Alive(e) {
		return 0
	}
	return a.bodies.Get(e).ID
}

// fold chains one more word into a mover's part of the hash, cheaper
// than a Mix64 a word: for a fixed v it is a bijection of h, and for a
// fixed h one of v, so any one word that differs changes the result;
// Mix64 then spreads it, once a mover.
func fold(h, v uint64) uint64 { return (h ^ v) * 0x9e3779b97f4a7c15 }

func flagBits(bits ...bool) uint64 {
	var v uint64
	for i, b := range bits {
		if b {
			v |= 1 << i
		}
	}
	return v
}

// stringHash is FNV-1a over s's bytes, without allocating.
func stringHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}
