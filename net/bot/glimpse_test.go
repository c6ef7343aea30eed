package bot

import (
	"maps"
	"slices"
	"testing"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/wire"
)

// TestGlimpse checks what a Glimpse shows: the marbles of the latest snap
// only, the fragments nearest the player of those added and not deleted,
// and nothing after a reset.
func TestGlimpse(t *testing.T) {
	var g Glimpse
	you := wire.UpdEntity{ID: 1, X: 1000, Y: 1000, Mass: 20}
	first := wire.Snap{Tick: 1, HasYou: true, You: you, Add: []wire.AddEntity{
		{ID: 1, Kind: wire.KindPlayer, X: 1000, Y: 1000, Mass: 20},
		{ID: 2, Kind: wire.KindZombie, X: 1100, Y: 1000, Mass: 50},
		{ID: 3, Kind: wire.KindObstacle, X: 900, Y: 900, Mass: 100},
	}}
	// Fragments 10..19, the nearer the lower the id: the two farthest
	// (18, 19) do not fit.
	for i := range 10 {
		id := uint32(10 + i)
		first.Add = append(first.Add, wire.AddEntity{ID: id, Kind: wire.KindFragment, X: 1000 + uint16(10*(i+1)), Y: 1000, Mass: 1})
	}
	g.Apply(&first)
	want := []uint32{1, 2, 10, 11, 12, 13, 14, 15, 16, 17}
	if got := ids(g.All()); !slices.Equal(got, want) {
		t.Fatalf("after the first snap: %v, want %v", got, want)
	}

	second := wire.Snap{Tick: 2, HasYou: true, You: you,
		Upd: []wire.UpdEntity{{ID: 2, X: 1090, Y: 1000, Mass: 50, Marble: true}, {ID: 30, X: 5, Y: 5, Mass: 1}},
		Del: []uint32{10, 11, 99}}
	g.Apply(&second)
	want = []uint32{2, 12, 13, 14, 15, 16, 17}
	if got := ids(g.All()); !slices.Equal(got, want) {
		t.Fatalf("after the second snap: %v, want %v", got, want)
	}
	if g.Tick != 2 || !g.Alive || g.You != you {
		t.Errorf("tick %d, alive %v, you %+v; want 2, true, %+v", g.Tick, g.Alive, g.You, you)
	}

	g.Reset(40)
	if got := ids(g.All()); len(got) != 0 || g.Tick != 40 || g.Alive {
		t.Errorf("after Reset(40): %v, tick %d, alive %v; want nothing, 40, false", got, g.Tick, g.Alive)
	}
}

// TestGlimpseSteers checks that a brain deciding on a Glimpse flees a
// marble that can bust it and feeds on a kept fragment otherwise.
func TestGlimpseSteers(t *testing.T) {
	var g Glimpse
	b := NewBrain(1, DefaultRules())
	you := wire.UpdEntity{ID: 1, X: 30000, Y: 30000, Mass: 20}
	g.Apply(&wire.Snap{Tick: 1, HasYou: true, You: you, Add: []wire.AddEntity{{ID: 5, Kind: wire.KindFragment, X: 30500, Y: 30000, Mass: 1}}})
	if a := b.Decide(g.Tick, g.Alive, g.You, g.All()); a.Goal != GoalFeed || a.Target != 5 {
		t.Errorf("with a fragment kept: %+v, want to feed on 5", a)
	}
	g.Apply(&wire.Snap{Tick: 2, HasYou: true, You: you, Upd: []wire.UpdEntity{{ID: 7, X: 30300, Y: 30000, Mass: 200, Marble: true}}})
	if a := b.Decide(g.Tick, g.Alive, g.You, g.All()); a.Goal != GoalFlee || a.Target != 7 {
		t.Errorf("with a heavy marble near: %+v, want to flee 7", a)
	}
}

func ids(all func(func(uint32, client.Entity) bool)) []uint32 {
	m := map[uint32]bool{}
	for id := range all {
		m[id] = true
	}
	return slices.Sorted(maps.Keys(m))
}
