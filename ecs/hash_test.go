package ecs_test

import (
	"testing"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// TestHashCoversTheState changes one thing that decides the arena's
// future at a time (every component of a player and a zombie, a
// session, the RNG, a fragment) and expects the state hash to change, and
// to come back when the change is undone.
func TestHashCoversTheState(t *testing.T) {
	w, a := ecs.NewWorld(emptyConfig(), 5)
	a.AddSession(1, "ann")
	player := a.NewMarble(1, "ann", 100, 100, 20)
	a.Session(1).Marble = player
	zombie := a.NewMarble(0, "zed", 300, 300, 30)
	frag := a.NewFragment(50, 60, 1)
	a.NewFragment(70, 80, 1)
	get[ecs.Brain](w, zombie).Food = frag

	type change struct {
		name string
		do   func() (undo func())
	}
	field := func(name string, p *float64) change {
		return change{name, func() func() { old := *p; *p += 0.5; return func() { *p = old } }}
	}
	u64 := func(name string, p *uint64) change {
		return change{name, func() func() { old := *p; *p++; return func() { *p = old } }}
	}
	u32 := func(name string, p *uint32) change {
		return change{name, func() func() { old := *p; *p++; return func() { *p = old } }}
	}
	flag := func(name string, p *bool) change {
		return change{name, func() func() { *p = !*p; return func() { *p = !*p } }}
	}
	var changes []change
	for _, e := range []struct {
		kind string
		e    arche.Entity
	}{{"player", player}, {"zombie", zombie}} {
		pos := get[ecs.Position](w, e.e)
		vel := get[ecs.Velocity](w, e.e)
		steer := get[ecs.Steering](w, e.e)
		kb := get[ecs.Knockback](w, e.e)
		fresh := get[ecs.Fresh](w, e.e)
		name := get[ecs.Name](w, e.e)
		changes = append(changes,
			field(e.kind+" x", &pos.X), field(e.kind+" y", &pos.Y),
			field(e.kind+" velocity x", &vel.X), field(e.kind+" velocity y", &vel.Y),
			field(e.kind+" mass", &get[ecs.Mass](w, e.e).Value),
			field(e.kind+" heading", &steer.Angle), field(e.kind+" top speed mass", &steer.TopSpeedMass),
			flag(e.kind+" boost wish", &steer.Boost), flag(e.kind+" boosting", &steer.Boosting), flag(e.kind+" steered", &steer.Steered),
			field(e.kind+" knockback x", &kb.X), field(e.kind+" knockback y", &kb.Y),
			u32(e.kind+" knockback left", &kb.Left), u32(e.kind+" knockback length", &kb.Of),
			u64(e.kind+" shield", &fresh.ShieldUntil), u64(e.kind+" spare", &fresh.SpareUntil),
			change{e.kind + " name", func() func() { old := name.Value; name.Value += "!"; return func() { name.Value = old } }},
		)
	}
	b := get[ecs.Brain](w, zombie)
	sess := a.Session(1)
	changes = append(changes,
		u32("zombie phase", &b.Phase), field("zombie target x", &b.FoodX), field("zombie target y", &b.FoodY),
		change{"zombie target", func() func() { old := b.Food; b.Food = arche.Entity{}; return func() { b.Food = old } }},
		u32("pilot", &get[ecs.Pilot](w, player).Session),
		u32("session ack", &sess.Ack), u64("session input tick", &sess.InputTick),
		change{"session marble", func() func() { old := sess.Marble; sess.Marble = arche.Entity{}; return func() { sess.Marble = old } }},
		u64("tick", &a.Tick), u64("RNG", &a.Rand.State),
		change{"a fragment eaten", func() func() {
			x, y := get[ecs.Position](w, frag).X, get[ecs.Position](w, frag).Y
			h := a.StaticHash
			a.TakeFragment(frag, x, y)
			return func() { a.StaticHash = h }
		}},
	)
	base := a.Hash()
	for _, c := range changes {
		undo := c.do()
		if a.Hash() == base {
			t.Errorf("changing the %s leaves the state hash as it was", c.name)
		}
		undo()
		if got := a.Hash(); got != base {
			t.Fatalf("undoing the %s: hash %016x, want %016x again", c.name, got, base)
		}
	}
}

// get returns e's component T.
func get[T any](w *arche.World, e arche.Entity) *T {
	m := generic.NewMap[T](w)
	return m.Get(e)
}
