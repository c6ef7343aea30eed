package session

import (
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// sentState is what a session was last sent about one entity.
type sentState struct {
	id     uint32
	qx, qy uint16
	mass   uint32
	// mark is the generation of the last delta that saw the entity in
	// view; an older mark means it left.
	mark uint32
}

// View computes a session's snapshots as deltas against what it was sent.
// What was sent lives in a dense slice, with a map from id to slice index:
// each entity in view costs one map lookup a tick, and finding the ones
// that left is a walk over the slice. Both keep their storage across
// ticks, so steady-state deltas allocate nothing.
//
// Owned by the session's writer goroutine.
type View struct {
	index map[uint32]int32
	sent  []sentState
	mark  uint32
}

// NewView returns a view that has sent nothing.
func NewView() *View { return &View{index: make(map[uint32]int32)} }

// Delta fills snap with the changes from what was sent to what frame f
// shows the session (sim's Frame.View), and records them as sent:
// entities entering the view are added, those in view whose quantized
// position or mass changed are updated, those gone from the view or the
// arena are deleted.
func (v *View) Delta(f *sim.Frame, session uint32, snap *wire.Snap) {
	v.mark++
	snap.Tick = f.Tick
	snap.Add, snap.Upd, snap.Del = snap.Add[:0], snap.Upd[:0], snap.Del[:0]
	snap.HasYou, snap.Ack = false, 0
	if p := f.Player(session); p != nil {
		snap.Ack = p.Ack
		if p.Alive {
			snap.HasYou = true
			snap.You = wire.UpdEntity{ID: p.Entity.ID, X: p.Entity.QX, Y: p.Entity.QY, Mass: p.Entity.Mass}
		}
	}
	view := f.View(session)
	c0, r0, c1, r1 := view.Cells()
	for row := r0; row <= r1; row++ {
		for col := c0; col <= c1; col++ {
			cell := f.Cell(col, row)
			for i := range cell {
				e := &cell[i]
				if !view.Shows(e) {
					continue
				}
				at, known := v.index[e.ID]
				if !known {
					snap.Add = append(snap.Add, wire.AddEntity{ID: e.ID, Kind: uint8(e.Kind), X: e.QX, Y: e.QY, Mass: e.Mass, Name: e.Name})
					v.index[e.ID] = int32(len(v.sent))
					v.sent = append(v.sent, sentState{id: e.ID, qx: e.QX, qy: e.QY, mass: e.Mass, mark: v.mark})
					continue
				}
				s := &v.sent[at]
				if s.qx != e.QX || s.qy != e.QY || s.mass != e.Mass {
					snap.Upd = append(snap.Upd, wire.UpdEntity{ID: e.ID, X: e.QX, Y: e.QY, Mass: e.Mass})
					s.qx, s.qy, s.mass = e.QX, e.QY, e.Mass
				}
				s.mark = v.mark
			}
		}
	}
	// Whatever was not seen this time left the view: delete it, moving the
	// last entry into its slot.
	for i := 0; i < len(v.sent); {
		s := &v.sent[i]
		if s.mark == v.mark {
			i++
			continue
		}
		snap.Del = append(snap.Del, s.id)
		delete(v.index, s.id)
		last := len(v.sent) - 1
		if i != last {
			v.sent[i] = v.sent[last]
			v.index[v.sent[i].id] = int32(i)
		}
		v.sent = v.sent[:last]
	}
}

// Reset forgets everything sent, so the next delta adds the whole view (a
// resumed session on a new connection).
func (v *View) Reset() {
	clear(v.index)
	v.sent = v.sent[:0]
}

// Len returns the number of entities the client holds.
func (v *View) Len() int { return len(v.sent) }
