package bot

import (
	"iter"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/idtable"
	"github.com/shatter/shatter/net/wire"
)

// Table is a compact copy of a session's view, kept by applying each snap
// as it arrives. A bot steering many times a second would otherwise copy
// the client's whole table with Client.Snapshot before every decision;
// applying the delta costs only what changed, which is what lets one load
// generator run thousands of bots. Names are not kept.
//
// The zero Table is an empty view. It is not safe for concurrent use.
type Table struct {
	// Tick is the tick of the last snap applied, or the one set before.
	Tick uint64
	// Alive reports whether the last snap carried the session's marble,
	// which is then You.
	Alive bool
	You   wire.UpdEntity

	rows idtable.Table[row] // the entities in view
}

// row is one entity of a Table: 12 bytes, 16 with its id in the table.
type row struct {
	mass uint32
	x, y uint16
	kind uint8
}

// Apply applies a snap: add, then upd, then del, as PROTOCOL.md says. An
// entry that contradicts the table (an add of an id in view, an upd or del
// of one that is not) is applied as far as it makes sense; net/client
// counts those as server bugs.
func (t *Table) Apply(s *wire.Snap) {
	for i := range s.Add {
		a := &s.Add[i]
		r, _ := t.rows.Add(a.ID)
		*r = row{mass: a.Mass, x: a.X, y: a.Y, kind: a.Kind}
	}
	for _, u := range s.Upd {
		if r := t.rows.Get(u.ID); r != nil {
			r.x, r.y, r.mass = u.X, u.Y, u.Mass
		}
	}
	for _, id := range s.Del {
		t.rows.Delete(id)
	}
	t.Tick, t.Alive, t.You = s.Tick, s.HasYou, s.You
	if !s.HasYou {
		t.You = wire.UpdEntity{}
	}
}

// Reset empties the view and sets Tick to tick, for a new welcome: after a
// move (PROTOCOL.md, Fleet) the snaps start again from an empty table. It
// keeps the table's storage.
func (t *Table) Reset(tick uint64) {
	t.rows.Clear()
	t.Tick, t.Alive, t.You = tick, false, wire.UpdEntity{}
}

// Len returns the number of entities in view.
func (t *Table) Len() int { return t.rows.Len() }

// All yields every entity in view, without names, in no particular order.
func (t *Table) All() iter.Seq2[uint32, client.Entity] {
	return func(yield func(uint32, client.Entity) bool) {
		for id, r := range t.rows.All() {
			if !yield(id, client.Entity{Kind: r.kind, X: r.x, Y: r.y, Mass: r.mass}) {
				return
			}
		}
	}
}
