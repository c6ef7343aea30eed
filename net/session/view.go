package session

import (
	mathbits "math/bits"
	"sync"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// View computes a session's snapshots as deltas against what it was sent.
//
// It keeps almost nothing of what it sent: the frame of its last delta
// showed it all, and a later frame can tell what that frame showed (sim's
// Frame.Knows). Fragments and spike balls, most of a view, are not kept
// at all: what was sent of them is what the last delta's rectangle showed,
// so a delta compares two rectangles over the frame's cells. A cell whose
// statics did not change and lie all inside both, or all outside both,
// costs two tests of its bounds and no look at its statics; a cell the
// edge of either rectangle crosses, a look at each of its statics, which
// are the frame's, shared by every session of the arena. Marbles, which
// move, are kept as one bit for each marble slot (sim's Frame.Slots): a
// marble in view whose bit is set, and whose slot it held then, was sent,
// and its slot says whether its record changed since; a set bit no marble
// in view claims is one to delete, the frame telling who held the slot.
// Nothing of a session's own but those bits is read, which is what made
// deltas cost most while they kept every id sent (a table read and
// written every tick, out of the caches by the session's turn), and an
// idle view holds a few words.
//
// Everything keeps its storage across ticks, so steady-state deltas
// allocate nothing. Owned by the session's writer.
type View struct {
	// sent is the rectangle of the last delta and sentTick its frame's
	// tick; hasSent is false before the first.
	sent     sim.View
	sentTick uint64
	hasSent  bool
	// sentSlots has the bit of each marble slot whose holder the last
	// delta sent; a delta sets nextSlots, and the two swap.
	sentSlots, nextSlots []uint64
	// d is the running delta's work, kept here rather than lent from a
	// pool so that the rectangles it points at never leave the View.
	d delta
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
//
// It reports false, and fills nothing, when f cannot tell what the last
// delta's frame showed (sim's Frame.Knows): the session fell further
// behind than the arena keeps the statics that left for (sim's
// goneSeconds), or f is older than that frame. No delta can be made for
// the session then; its writer ends it as a slow consumer.
func (v *View) Delta(f *sim.Frame, session uint32, snap *wire.Snap) bool {
	if v.hasSent && !f.Knows(v.sentTick) {
		return false
	}
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
	d := &v.d
	d.view = f.ViewWatching(session, v.watch)
	view := &d.view
	// While not alive, the snap says whom the view follows.
	snap.HasEye, snap.Eye = !snap.HasYou, view.Follow
	d.f, d.snap, d.moved, d.old = f, snap, d.moved[:0], nil
	if v.hasSent {
		d.old, d.since = &v.sent, v.sentTick
	}
	var records []byte
	var recordAt []int32
	c0, r0, c1, r1 := view.Cells()
	for row := r0; row <= r1; row++ {
		for col := c0; col <= c1; col++ {
			index := row*f.Cols + col
			cell := f.Cell(col, row)
			st := f.CellStatics(col, row)
			d.statics(index, cell[:st.N], st, view)
			slots := f.SlotsOf(index)
			for i := st.N; i < int32(len(cell)); i++ {
				e := &cell[i]
				if !view.Shows(e) {
					continue
				}
				s := slots[i-st.N]
				v.nextSlots = setBit(v.nextSlots, s)
				sl := &f.Slots[s]
				if !hasBit(v.sentSlots, s) || sl.Taken > v.sentTick {
					// Not sent as it is: new to the view, or to its slot.
					snap.Add = append(snap.Add, wire.AddEntity{ID: e.ID, Kind: uint8(e.Kind), X: e.QX, Y: e.QY, Mass: e.Mass, Name: e.Name, Heading: e.Heading, Flags: e.Flags})
					continue
				}
				if sl.Change <= v.sentTick {
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
	if d.old != nil {
		// The cells of the last delta's window outside this one: what was
		// sent there is deleted.
		o0, q0, o1, q1 := d.old.Cells()
		for row := q0; row <= q1; row++ {
			for col := o0; col <= o1; col++ {
				if col >= c0 && col <= c1 && row >= r0 && row <= r1 {
					continue
				}
				st := f.CellStatics(col, row)
				d.statics(row*f.Cols+col, f.Cell(col, row)[:st.N], st, nil)
			}
		}
	}
	if len(d.moved) > 0 && len(snap.Del) > 0 {
		movedAcross(d.moved, snap)
	}
	d.f, d.snap, d.old = nil, nil, nil
	// Marbles sent and not in view now as the same holder of their slot
	// left the view or the arena: delete them.
	for w, bits := range v.sentSlots {
		for bits != 0 {
			s := int32(w*64 + mathbits.TrailingZeros64(bits))
			bits &= bits - 1
			if hasBit(v.nextSlots, s) && f.Slots[s].Taken <= v.sentTick {
				continue
			}
			if id := f.HolderAt(s, v.sentTick); id != 0 {
				snap.Del = append(snap.Del, id)
			}
		}
	}
	v.sentSlots, v.nextSlots = v.nextSlots, v.sentSlots
	clear(v.nextSlots)
	v.sent, v.sentTick, v.hasSent = *view, f.Tick, true
	return true
}

// setBit sets bit s of a bit set, growing it as needed.
func setBit(set []uint64, s int32) []uint64 {
	w := int(s / 64)
	for len(set) <= w {
		set = append(set, 0)
	}
	set[w] |= 1 << (s % 64)
	return set
}

// hasBit reports whether bit s of a bit set is set.
func hasBit(set []uint64, s int32) bool {
	w := int(s / 64)
	return w < len(set) && set[w]&(1<<(s%64)) != 0
}

// delta is one Delta's work on statics: the frame, the snap, the
// rectangles of this delta (view) and of the last (old, with its frame's
// tick since; nil before the first).
type delta struct {
	f     *sim.Frame
	snap  *wire.Snap
	view  sim.View
	old   *sim.View
	since uint64
	// moved lists the spike balls added, which may be ones that moved
	// from a cell to another and were deleted there.
	moved []uint32
}

// statics brings the fragments and spike balls of the cell at index
// (statics, with st) up to date in the snap: from what the old rectangle
// showed of them at tick since to what now shows of them (nil: the cell
// is outside this delta's window).
func (d *delta) statics(index int, statics []sim.Entity, st *sim.CellStatics, now *sim.View) {
	old := d.old
	if old != nil && st.Changed > d.since {
		d.changed(index, statics, now)
		return
	}
	// Unchanged since the last delta (or nothing sent): the statics it
	// saw are these. The bounds decide most cells.
	oldAll, oldNone := false, true
	if old != nil {
		oldAll, oldNone = old.ShowsAll(st), old.ShowsNone(st)
	}
	nowAll, nowNone := false, true
	if now != nil {
		nowAll, nowNone = now.ShowsAll(st), now.ShowsNone(st)
	}
	switch {
	case oldNone && nowNone, oldAll && nowAll:
		return
	case oldNone && nowAll:
		for i := range statics {
			d.add(&statics[i])
		}
		return
	case oldAll && nowNone:
		for i := range statics {
			d.snap.Del = append(d.snap.Del, statics[i].ID)
		}
		return
	}
	for i := range statics {
		e := &statics[i]
		was := !oldNone && (oldAll || old.ShowsStatic(e))
		is := !nowNone && (nowAll || now.ShowsStatic(e))
		switch {
		case is && !was:
			d.add(e)
		case was && !is:
			d.snap.Del = append(d.snap.Del, e.ID)
		}
	}
}

// changed is statics for a cell whose statics changed since the last
// delta: what that delta sent of it were its statics born by then and
// those gone since, shown in the old rectangle.
func (d *delta) changed(index int, statics []sim.Entity, now *sim.View) {
	old, since, snap := d.old, d.since, d.snap
	gone := d.f.CellGone(index)
	for i := range statics {
		e := &statics[i]
		was := e.BornBy(since) && old.ShowsStatic(e)
		is := now != nil && now.ShowsStatic(e)
		switch {
		case was == is:
			// Both: there since, unchanged. Neither: nothing to say.
		case was:
			snap.Del = append(snap.Del, e.ID)
		default:
			// New to the view as it is: an add, or a spike ball sent
			// where it was in this cell and moved within it since.
			if g := sentGone(gone, e.ID, since, old); g != nil {
				if g.QX != e.QX || g.QY != e.QY {
					snap.Upd = append(snap.Upd, wire.UpdEntity{ID: e.ID, X: e.QX, Y: e.QY, Mass: e.Mass})
				}
				continue
			}
			d.add(e)
		}
	}
	for k := range gone {
		g := &gone[k]
		if !g.There(since) || !old.ShowsStatic(&g.Entity) || now != nil && showsStatic(statics, g.ID, now) {
			// Not sent, or still in the cell and shown (the loop above
			// made it an upd or found it unchanged).
			continue
		}
		snap.Del = append(snap.Del, g.ID)
	}
}

// sentGone returns the entry of gone with id that was in the cell at
// tick since and shown in old, or nil.
func sentGone(gone []sim.Gone, id uint32, since uint64, old *sim.View) *sim.Gone {
	for k := range gone {
		if g := &gone[k]; g.ID == id && g.There(since) && old.ShowsStatic(&g.Entity) {
			return g
		}
	}
	return nil
}

// showsStatic reports whether the static with id among statics shows in
// view.
func showsStatic(statics []sim.Entity, id uint32, view *sim.View) bool {
	for i := range statics {
		if statics[i].ID == id {
			return view.ShowsStatic(&statics[i])
		}
	}
	return false
}

// add adds a static entering the view to the snap.
func (d *delta) add(e *sim.Entity) {
	d.snap.Add = append(d.snap.Add, wire.AddEntity{ID: e.ID, Kind: uint8(e.Kind), X: e.QX, Y: e.QY, Mass: e.Mass})
	if e.Kind.IsObstacle() {
		d.moved = append(d.moved, e.ID)
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
