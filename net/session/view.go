package session

import (
	"sync"

	"github.com/shatter/shatter/net/idtable"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// sentMarble is what a session was last sent about one marble; its id is
// the key it is held under.
type sentMarble struct {
	qx, qy         uint16
	mass           uint32
	heading, flags uint8
	// mark is the generation of the last delta that saw the marble in
	// view; an older mark means it left.
	mark uint32
}

// sentStatic is what a session was sent about one fragment or spike ball.
// A static's mass never changes, and neither does anything else but
// through a change of its cell (sim.CellStatics.Changed), so its id and
// position are all a delta needs to compare.
type sentStatic struct {
	id     uint32
	qx, qy uint16
}

// sentCell is what a session was sent of the statics of one frame cell:
// statics[start:start+n] of its view, in the cell's order, as of the
// frame whose CellStatics.Changed for the cell was changed. whole says
// they were all of the cell's statics.
type sentCell struct {
	cell     int32
	start, n int32
	whole    bool
	changed  uint64
}

// View computes a session's snapshots as deltas against what it was sent.
//
// Marbles, which move every tick, are kept in an idtable.Table: each one
// in view costs a lookup a tick, and finding those that left is a walk
// over its dense slice. Fragments and spike balls, most of a view, rarely
// change: they are kept by frame cell, in the order the frame lists them,
// so a cell whose statics were all sent, are all still in view and have
// not changed since costs a copy of its block and no lookup at all, and
// any other cell a walk over its few statics beside the block sent.
//
// Everything keeps its storage across ticks, so steady-state deltas
// allocate nothing. Owned by the session's writer.
type View struct {
	marbles idtable.Table[sentMarble]
	mark    uint32
	// cells lists, by increasing cell index, the cells some of whose
	// statics were sent, and statics holds their blocks. A delta builds
	// their successors in next, borrowed for the call, and copies them
	// back: an idle view holds one copy, sized to fit.
	cells   []sentCell
	statics []sentStatic
	next    *viewScratch
	// watch is the marble to follow while the session is not alive, 0 for
	// the leader (sim's Frame.ViewWatching); the writer sets it.
	watch uint32
}

// NewView returns a view that has sent nothing.
func NewView() *View { return &View{} }

// Watch makes the next deltas follow marble id while the session is not
// alive (0: the leader), as a session's `watch` does. An id that is no
// marble of the frame follows the leader (sim's Frame.ViewWatching).
func (v *View) Watch(id uint32) { v.watch = id }

// Delta fills snap with the changes from what was sent to what frame f
// shows the session (sim's Frame.ViewWatching), and records them as sent:
// entities entering the view are added, those in view whose quantized
// position, mass, or (marbles) heading or flags changed are updated, those
// gone from the view or the arena are deleted.
func (v *View) Delta(f *sim.Frame, session uint32, snap *wire.Snap) {
	v.mark++
	snap.Tick = f.Tick
	snap.Add, snap.Upd, snap.Del = snap.Add[:0], snap.Upd[:0], snap.Del[:0]
	snap.UpdRaw, snap.UpdRawN = snap.UpdRaw[:0], 0
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
	v.next = viewScratches.Get().(*viewScratch)
	v.next.cells, v.next.statics, v.next.movedIDs = v.next.cells[:0], v.next.statics[:0], v.next.movedIDs[:0]
	old := 0 // v.cells[old:] are the cells sent before not passed yet
	var records []byte
	var recordAt []int32
	c0, r0, c1, r1 := view.Cells()
	for row := r0; row <= r1; row++ {
		for col := c0; col <= c1; col++ {
			index := int32(row*f.Cols + col)
			for old < len(v.cells) && v.cells[old].cell < index {
				v.dropCell(&v.cells[old], snap)
				old++
			}
			var was *sentCell
			if old < len(v.cells) && v.cells[old].cell == index {
				was = &v.cells[old]
				old++
			}
			cell := f.Cell(col, row)
			st := f.CellStatics(col, row)
			v.staticsOf(&view, index, cell[:st.N], st, was, snap)
			for i := st.N; i < int32(len(cell)); i++ {
				e := &cell[i]
				if !view.Shows(e) || !v.see(e, snap) {
					continue
				}
				// Changed: copy the frame's record, encoded once for all.
				if records == nil {
					records, recordAt = f.Records(encodeMarbleRecords)
				}
				at := f.CellStart[index] + i
				snap.UpdRaw = append(snap.UpdRaw, records[recordAt[at]:recordAt[at+1]]...)
				snap.UpdRawN++
			}
		}
	}
	for ; old < len(v.cells); old++ {
		v.dropCell(&v.cells[old], snap)
	}
	v.cells, v.statics = fit(v.cells, v.next.cells), fit(v.statics, v.next.statics)
	if len(v.next.movedIDs) > 0 && len(snap.Del) > 0 {
		movedAcross(v.next.movedIDs, snap)
	}
	viewScratches.Put(v.next)
	v.next = nil
	// Marbles not seen this time left the view: delete them. DeleteAt
	// moves the last entry into slot i, which is why i then stays.
	for i := 0; i < v.marbles.Len(); {
		id, s := v.marbles.At(i)
		if s.mark == v.mark {
			i++
			continue
		}
		snap.Del = append(snap.Del, id)
		v.marbles.DeleteAt(i)
	}
}

// staticsOf brings the statics of one cell (statics, with st) up to date
// in snap against was, what was sent of them (nil: nothing), and records
// the cell's new block.
func (v *View) staticsOf(view *sim.View, index int32, statics []sim.Entity, st *sim.CellStatics, was *sentCell, snap *wire.Snap) {
	all := view.ShowsAll(st)
	if !all && view.ShowsNone(st) {
		if was != nil {
			v.dropCell(was, snap)
		}
		return
	}
	var sent []sentStatic
	if was != nil {
		sent = v.statics[was.start : was.start+was.n]
	}
	start := int32(len(v.next.statics))
	switch {
	case was != nil && was.whole && all && was.changed == st.Changed:
		// Sent whole as they are, and all still in view.
		v.next.statics = append(v.next.statics, sent...)
	case was == nil || was.changed == st.Changed:
		// The cell's statics are as they were (or none were sent): what
		// was sent is a subsequence of them, in their order.
		j := 0
		for i := range statics {
			e := &statics[i]
			wasSent := j < len(sent) && sent[j].id == e.ID
			if wasSent {
				j++
			}
			switch shown := all || view.Shows(e); {
			case shown && !wasSent:
				v.addStatic(e, snap)
			case shown:
				v.next.statics = append(v.next.statics, sentStatic{id: e.ID, qx: e.QX, qy: e.QY})
			case wasSent:
				snap.Del = append(snap.Del, e.ID)
			}
		}
	default:
		// The cell changed: match each static shown with what was sent
		// by id (a cell holds a few), then delete what was sent and is
		// not shown now.
		for i := range statics {
			e := &statics[i]
			if !all && !view.Shows(e) {
				continue
			}
			k := findStatic(sent, e.ID)
			switch {
			case k < 0:
				v.addStatic(e, snap)
				continue
			case sent[k].qx != e.QX || sent[k].qy != e.QY:
				// A spike ball moved within the cell.
				snap.Upd = append(snap.Upd, wire.UpdEntity{ID: e.ID, X: e.QX, Y: e.QY, Mass: e.Mass})
			}
			v.next.statics = append(v.next.statics, sentStatic{id: e.ID, qx: e.QX, qy: e.QY})
		}
		shown := v.next.statics[start:]
		for _, s := range sent {
			if findStatic(shown, s.id) < 0 {
				snap.Del = append(snap.Del, s.id)
			}
		}
	}
	if n := int32(len(v.next.statics)) - start; n > 0 {
		v.next.cells = append(v.next.cells, sentCell{cell: index, start: start, n: n, whole: n == st.N, changed: st.Changed})
	}
}

// viewScratch is where a delta builds a view's new cells and statics.
type viewScratch struct {
	cells   []sentCell
	statics []sentStatic
	// movedIDs lists the spike balls the delta added, which may be one
	// that moved from a cell to another and was deleted there.
	movedIDs []uint32
}

// viewScratches lend scratch to deltas: only the deltas running at a
// moment hold one.
var viewScratches = sync.Pool{New: func() any { return new(viewScratch) }}

// fit copies src into dst, reallocated when it is too small or holds more
// than twice the room needed: the copy an idle view keeps stays near the
// size of its view, without a new slice for every tick's small change.
func fit[T any](dst, src []T) []T {
	if cap(dst) < len(src) || cap(dst) > 2*len(src)+16 {
		dst = make([]T, 0, len(src)+len(src)/8)
	}
	return append(dst[:0], src...)
}

// addStatic adds a static entering the view to snap and to the block
// being made.
func (v *View) addStatic(e *sim.Entity, snap *wire.Snap) {
	snap.Add = append(snap.Add, wire.AddEntity{ID: e.ID, Kind: uint8(e.Kind), X: e.QX, Y: e.QY, Mass: e.Mass})
	if e.Kind.IsObstacle() {
		v.next.movedIDs = append(v.next.movedIDs, e.ID)
	}
	v.next.statics = append(v.next.statics, sentStatic{id: e.ID, qx: e.QX, qy: e.QY})
}

// dropCell deletes every static sent of a cell that is out of view now.
func (v *View) dropCell(c *sentCell, snap *wire.Snap) {
	for _, s := range v.statics[c.start : c.start+c.n] {
		snap.Del = append(snap.Del, s.id)
	}
}

// movedAcross turns the spike balls among moved that snap both deletes
// (from the cell they left) and adds (in the cell they went to) into
// updates: one id is never in two of a snap's lists (PROTOCOL.md). It
// keeps the lists' order; spike balls move seldom, so this runs seldom.
func movedAcross(moved []uint32, snap *wire.Snap) {
	for _, id := range moved {
		d := -1
		for k, del := range snap.Del {
			if del == id {
				d = k
				break
			}
		}
		if d < 0 {
			continue
		}
		snap.Del = append(snap.Del[:d], snap.Del[d+1:]...)
		for k := range snap.Add {
			if a := &snap.Add[k]; a.ID == id {
				snap.Upd = append(snap.Upd, wire.UpdEntity{ID: id, X: a.X, Y: a.Y, Mass: a.Mass})
				snap.Add = append(snap.Add[:k], snap.Add[k+1:]...)
				break
			}
		}
	}
}

// findStatic returns the index of id in sent, or -1.
func findStatic(sent []sentStatic, id uint32) int {
	for k := range sent {
		if sent[k].id == id {
			return k
		}
	}
	return -1
}

// see records one marble that shows in the view, adding it to snap if
// it is new; it reports whether it was sent before and changed since, for
// the caller to add its upd record.
func (v *View) see(e *sim.Entity, snap *wire.Snap) (changed bool) {
	s, added := v.marbles.Add(e.ID)
	if added {
		snap.Add = append(snap.Add, wire.AddEntity{ID: e.ID, Kind: uint8(e.Kind), X: e.QX, Y: e.QY, Mass: e.Mass, Name: e.Name, Heading: e.Heading, Flags: e.Flags})
		*s = sentMarble{qx: e.QX, qy: e.QY, mass: e.Mass, heading: e.Heading, flags: e.Flags, mark: v.mark}
		return false
	}
	s.mark = v.mark
	if s.qx == e.QX && s.qy == e.QY && s.mass == e.Mass && s.heading == e.Heading && s.flags == e.Flags {
		return false
	}
	s.qx, s.qy, s.mass, s.heading, s.flags = e.QX, e.QY, e.Mass, e.Heading, e.Flags
	return true
}

// recordEncoders lend encoders to encodeMarbleRecords, which runs once
// per frame on whichever session's goroutine asks first.
var recordEncoders = sync.Pool{New: func() any { return new(wire.Encoder) }}

// encodeMarbleRecords is the sim.RecordEncoder of the frame's marble upd
// records (statics get none: their updates are rare and encoded in
// place).
func encodeMarbleRecords(f *sim.Frame, bytes []byte, at []int32) ([]byte, []int32) {
	enc := recordEncoders.Get().(*wire.Encoder)
	at = append(at, 0)
	for i := range f.Entities {
		if e := &f.Entities[i]; e.Kind.IsMover() {
			bytes = enc.AppendUpdRecord(bytes, &wire.UpdEntity{ID: e.ID, X: e.QX, Y: e.QY, Mass: e.Mass, Marble: true, Heading: e.Heading, Flags: e.Flags})
		}
		at = append(at, int32(len(bytes)))
	}
	recordEncoders.Put(enc)
	return bytes, at
}
