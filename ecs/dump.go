package ecs

import (
	"slices"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
)

// DumpRecord is one line of a state dump: the arena's own state (ID 0)
// or one entity with every component it has, by component name. Dumps of
// the same tick from two builds, compared line by line, show where their
// states part; the state hash (Hash) covers the same things.
type DumpRecord struct {
	ID         uint32
	Components map[string]any
}

// SessionDump is a session as the arena's dump record shows it.
type SessionDump struct {
	ID        uint32 `json:"id"`
	Name      string `json:"name"`
	Marble    uint32 `json:"marble"` // the network id of its marble, 0 if none
	Ack       uint32 `json:"ack"`
	InputTick uint64 `json:"input_tick"`
}

// BrainDump is a zombie's Brain with its target named by network id.
type BrainDump struct {
	Phase        uint32
	Food         uint32 // 0 when it has no target (or the target is gone)
	FoodX, FoodY float64
}

// Dump returns the arena's state after the last tick: first the arena's
// record (tick, RNG, next entity id, sessions), then every entity's, by
// network id. A mover's record also holds its place in the order the
// systems walk the movers ("order"), which decides the future as much as
// its components do. Exact values are kept: JSON writes a float64 so that
// it reads back bit for bit. For debugging; it allocates.
func (a *State) Dump() []DumpRecord {
	w := a.world
	sessions := make([]SessionDump, len(a.Sessions))
	for i, s := range a.Sessions {
		sessions[i] = SessionDump{ID: s.ID, Name: s.Name, Marble: a.wireID(s.Marble), Ack: s.Ack, InputTick: s.InputTick}
	}
	out := []DumpRecord{{ID: 0, Components: map[string]any{
		"kind": "arena", "tick": a.Tick, "rand": a.Rand.State, "next_id": a.nextID, "sessions": sessions,
	}}}

	order := map[arche.Entity]int{}
	mq := a.hashMovers.Query(w)
	for mq.Next() {
		order[mq.Entity()] = len(order)
	}
	vel := generic.NewMap[Velocity](w)
	kb := generic.NewMap[Knockback](w)
	q := w.Query(arche.All())
	for q.Next() {
		e := q.Entity()
		if !a.bodies.Has(e) {
			continue
		}
		body := *a.bodies.Get(e)
		c := map[string]any{"kind": body.Kind.String()}
		if i, ok := order[e]; ok {
			c["order"] = i
		}
		addComponent(c, "Position", a.pos, e)
		addComponent(c, "Velocity", vel, e)
		addComponent(c, "Mass", a.masses, e)
		addComponent(c, "Steering", a.steering, e)
		addComponent(c, "Name", a.names, e)
		addComponent(c, "Knockback", kb, e)
		addComponent(c, "Fresh", a.fresh, e)
		addComponent(c, "Pilot", a.pilots, e)
		if a.brains.Has(e) {
			b := a.brains.Get(e)
			c["Brain"] = BrainDump{Phase: b.Phase, Food: a.wireID(b.Food), FoodX: b.FoodX, FoodY: b.FoodY}
		}
		out = append(out, DumpRecord{ID: body.ID, Components: c})
	}
	slices.SortFunc(out[1:], func(x, y DumpRecord) int { return int(int64(x.ID) - int64(y.ID)) })
	return out
}

func addComponent[T any](c map[string]any, name string, m generic.Map[T], e arche.Entity) {
	if m.Has(e) {
		c[name] = *m.Get(e)
	}
}
