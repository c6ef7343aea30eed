package session

import (
	"github.com/shatter/shatter/net/idtable"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// sentState is what a session was last sent about one entity; its id is
// the key it is held under.
type sentState struct {
	qx, qy uint16
	mass   uint32
	// heading and flags are a marble's; zero for the others.
	heading, flags uint8
	// mark is the generation of the last delta that saw the entity in
	// view; an older mark means it left.
	mark uint32
}

// View computes a session's snapshots as deltas against what it was sent.
// What was sent lives in an idtable.Table: each entity in view costs one
// map lookup a tick, and finding the ones that left is a walk over its
// dense slice. Both keep their storage across ticks, so steady-state
// deltas allocate nothing.
//
// Owned by the session's writer goroutine.
type View struct {
	sent idtable.Table[sentState]
	mark uint32
	// watch is the marble to follow while the session is not alive, 0 for
	// the leader (sim's Frame.ViewWatching); the writer sets it.
	watch uint32
}

// NewView returns a view that has sent nothing.
func NewView() *View { return &View{} }

// Delta fills snap with the changes from what was sent to what frame f
// shows the session (sim's Frame.ViewWatching), and records them as sent:
// entities entering the view are added, those in view whose quantized
// position, mass, or (marbles) heading or flags changed are updated, those gone from the view or the
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
	view := f.ViewWatching(session, v.watch)
	// While not alive, the snap says whom the view follows.
	snap.HasEye, snap.Eye = !snap.HasYou, view.Follow
	c0, r0, c1, r1 := view.Cells()
	for row := r0; row <= r1; row++ {
		for col := c0; col <= c1; col++ {
			cell := f.Cell(col, row)
			for i := range cell {
				e := &cell[i]
				if !view.Shows(e) {
					continue
				}
				s, added := v.sent.Add(e.ID)
				if added {
					snap.Add = append(snap.Add, wire.AddEntity{ID: e.ID, Kind: uint8(e.Kind), X: e.QX, Y: e.QY, Mass: e.Mass, Name: e.Name, Heading: e.Heading, Flags: e.Flags})
					*s = sentState{qx: e.QX, qy: e.QY, mass: e.Mass, heading: e.Heading, flags: e.Flags, mark: v.mark}
					continue
				}
				if s.qx != e.QX || s.qy != e.QY || s.mass != e.Mass || s.heading != e.Heading || s.flags != e.Flags {
					snap.Upd = append(snap.Upd, wire.UpdEntity{ID: e.ID, X: e.QX, Y: e.QY, Mass: e.Mass, Marble: e.Kind.IsMover(), Heading: e.Heading, Flags: e.Flags})
					s.qx, s.qy, s.mass, s.heading, s.flags = e.QX, e.QY, e.Mass, e.Heading, e.Flags
				}
				s.mark = v.mark
			}
		}
	}
	// Whatever was not seen this time left the view: delete it. DeleteAt
	// moves the last entry into slot i, which is why i then stays.
	for i := 0; i < v.sent.Len(); {
		id, s := v.sent.At(i)
		if s.mark == v.mark {
			i++
			continue
		}
		snap.Del = append(snap.Del, id)
		v.sent.DeleteAt(i)
	}
}
