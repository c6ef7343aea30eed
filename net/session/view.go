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

// View computes a session's snapshots as deltas against what it was sent.
//
// Marbles, which move every tick, are kept in an idtable.Table: each one
// in view costs a lookup a tick, and finding those that left is a walk
// over its dense slice.
//
// Fragments and spike balls, most of a view, are not kept at all: what a
// session was sent of them is exactly what the frame of its last delta
// showed in that delta's rectangle, and a later frame can tell what that
// was (sim's Frame.Knows: a cell unchanged since has the same statics; a
// changed one, its statics born since and those gone since). So a delta
// compares two rectangles over the frame's cells: a cell whose statics
// did not change and lie all inside both, or all outside both, costs two
// tests of its bounds and no look at its statics; a cell the edge of
// either rectangle crosses, a look at each of its statics, which are the
// frame's, shared by every session of the arena. Nothing of a session's
// own is read for them, which is what made them cost most while they were
// kept by session (a copy of every id in view, read and written every
// tick), and an idle view holds no copy.
//
// Everything keeps its storage across ticks, so steady-state deltas
// allocate nothing. Owned by the session's writer.
type View struct {
	marbles idtable.Table[sentMarble]
	mark    uint32
	// sent is the rectangle of the last delta and sentTick its frame's
	// tick; hasSent is false before the first.
	sent     sim.View
	sentTick uint64
	hasSent  bool
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
	d := deltas.Get().(*delta)
	d.f, d.snap, d.moved = f, snap, d.moved[:0]
	d.now, d.old = &view, nil
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
			d.statics(index, cell[:st.N], st, d.now)
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
	d.f, d.snap, d.now, d.old = nil, nil, nil, nil
	deltas.Put(d)
	v.sent, v.sentTick, v.hasSent = view, f.Tick, true
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
	return true
}

// delta is one Delta's work on statics: the frame, the snap, the
// rectangles of the last delta (old, with its frame's tick since; nil
// before the first) and of this one (now).
type delta struct {
	f     *sim.Frame
	snap  *wire.Snap
	old   *sim.View
	since uint64
	now   *sim.View
	// moved lists the spike balls added, which may be ones that moved
	// from a cell to another and were deleted there.
	moved []uint32
}

// deltas lend a delta's scratch: only the deltas running at a moment
// hold one.
var deltas = sync.Pool{New: func() any { return new(delta) }}

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
