package sim

import "github.com/shatter/shatter/ecs"

// View is what one session sees of a frame (DESIGN.md "Views"): a
// rectangle around the marble it follows, growing with that marble's mass.
// An entity shows when any part of it is inside the rectangle. This is the
// one place that rule lives; sessions only compute what changed since they
// last sent a view, and encode it.
type View struct {
	// X, Y is the centre, HalfW and HalfH the half extents, in arena units.
	X, Y, HalfW, HalfH float64
	// Follow is the network id of the marble the view is centred on: the
	// session's own while it is alive, else the marble it watches (see
	// ViewWatching) or the arena's leader (the session spectates); 0 in an
	// arena without marbles, when the view is centred on the arena.
	Follow uint32

	cfg   *Config
	shape ecs.GridShape
	// margin is how far outside the rectangle the centre of an entity
	// that shows may lie: the largest marble's radius, or a spike ball's.
	margin float64
	// rect bounds the centres of the fragments that show (the rectangle)
	// and spike holds those of the spike balls that show (the rectangle
	// grown by their radius): worked out once, as every static of the
	// cells a delta's edges cross is tested against them.
	rect, spike bounds
}

// bounds is a rectangle of centres, its edges included.
type bounds struct{ x0, y0, x1, y1 float64 }

// holds reports whether the point x, y lies in b.
func (b *bounds) holds(x, y float64) bool { return x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1 }

// grown returns b grown by r on every side.
func (b *bounds) grown(r float64) bounds { return bounds{b.x0 - r, b.y0 - r, b.x1 + r, b.y1 + r} }

// setBounds works out rect and spike from the centre and half extents.
func (v *View) setBounds() {
	v.rect = bounds{v.X - v.HalfW, v.Y - v.HalfH, v.X + v.HalfW, v.Y + v.HalfH}
	v.spike = v.rect.grown(v.cfg.ObstacleRadius)
}

// View returns what session sees in the frame: around its marble while it
// is alive, else around the leader, else around the arena's centre.
func (f *Frame) View(session uint32) View { return f.ViewWatching(session, 0) }

// ViewWatching is View for a session that watches the marble with network
// id watch (PROTOCOL.md's `watch`): while the session is not alive, the
// view follows that marble instead of the leader, as long as it is in the
// frame. A watch of 0, or of an id that is no marble of the frame, follows
// the leader. Which marble a session watches is the session's choice of
// view, not arena state: it is not a command and not in the replay log.
func (f *Frame) ViewWatching(session, watch uint32) View {
	var e *Entity
	if p := f.Player(session); p != nil && p.Alive {
		e = &p.Entity
	} else if m := f.watched(watch); m != nil {
		e = m
	} else if f.Leader.ID != 0 {
		e = &f.Leader
	}
	v := View{cfg: f.cfg, shape: f.GridShape}
	v.margin = max(f.cfg.ObstacleRadius, f.cfg.Radius(float64(f.Leader.Mass)))
	if e == nil {
		v.X, v.Y = f.Width/2, f.Height/2
		v.HalfW, v.HalfH = f.cfg.ViewHalfSize(0)
		v.setBounds()
		return v
	}
	v.X, v.Y, v.Follow = float64(e.X), float64(e.Y), e.ID
	v.HalfW, v.HalfH = f.cfg.ViewHalfSize(float64(e.Mass))
	v.setBounds()
	return v
}

// Cells returns the inclusive range of the frame's cell columns and rows
// that can hold an entity the view shows (see Frame.Cell).
func (v *View) Cells() (c0, r0, c1, r1 int) {
	m := v.margin
	return v.shape.SpanRect(v.X-v.HalfW-m, v.Y-v.HalfH-m, v.X+v.HalfW+m, v.Y+v.HalfH+m)
}

// Shows reports whether any part of an entity of the frame shows in the
// view: a marble within its radius of the rectangle, a spike ball within
// its radius, a fragment (a point) inside it.
func (v *View) Shows(e *Entity) bool {
	if !e.Kind.IsMover() {
		return v.ShowsStatic(e)
	}
	x, y := float64(e.X), float64(e.Y)
	if v.rect.holds(x, y) {
		// The rectangle grown by a radius holds it too: most marbles a
		// delta looks at need no square root.
		return true
	}
	b := v.rect.grown(v.cfg.Radius(float64(e.Mass)))
	return b.holds(x, y)
}

// ShowsStatic is Shows for a fragment or a spike ball, which a session's
// delta asks of every static of the cells its view's edges cross: two
// tests of its centre against bounds worked out with the view.
func (v *View) ShowsStatic(e *Entity) bool {
	b := &v.rect
	if e.Kind == ecs.KindObstacle {
		b = &v.spike
	}
	return b.holds(float64(e.X), float64(e.Y))
}

// ShowsAll reports whether every static of a cell (CellStatics) shows in
// the view: all their centres lie inside the rectangle, which Shows takes
// for any reach. It may say false when all show (a cell without statics,
// a spike ball shown by its reach alone); a reader then looks at each.
// Shows compares centres with the same bounds, so bounds of the centres
// that pass here pass for every centre between them.
func (v *View) ShowsAll(s *CellStatics) bool {
	b := &v.rect
	return s.N > 0 &&
		float64(s.MinX) >= b.x0 && float64(s.MaxX) <= b.x1 &&
		float64(s.MinY) >= b.y0 && float64(s.MaxY) <= b.y1
}

// ShowsNone reports whether no static of a cell shows in the view: the
// bounds of their centres miss the rectangle grown by the largest reach
// of a static (a spike ball's radius). Like ShowsAll it may say false
// when it is true.
func (v *View) ShowsNone(s *CellStatics) bool {
	if s.N == 0 {
		return true
	}
	b := &v.spike
	return float64(s.MaxX) < b.x0 || float64(s.MinX) > b.x1 ||
		float64(s.MaxY) < b.y0 || float64(s.MinY) > b.y1
}

// watched returns the marble a session watches, or nil for none.
func (f *Frame) watched(id uint32) *Entity {
	if id == 0 {
		return nil
	}
	return f.Marble(id)
}
