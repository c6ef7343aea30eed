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
	// obstacle is a spike ball's radius (the config's, kept at hand).
	obstacle float64
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
	v := View{cfg: f.cfg, shape: f.GridShape, obstacle: f.cfg.ObstacleRadius}
	v.margin = max(f.cfg.ObstacleRadius, f.cfg.Radius(float64(f.Leader.Mass)))
	if e == nil {
		v.X, v.Y = f.Width/2, f.Height/2
		v.HalfW, v.HalfH = f.cfg.ViewHalfSize(0)
		return v
	}
	v.X, v.Y, v.Follow = float64(e.X), float64(e.Y), e.ID
	v.HalfW, v.HalfH = f.cfg.ViewHalfSize(float64(e.Mass))
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
	return v.within(e, v.cfg.Radius(float64(e.Mass)))
}

// ShowsStatic is Shows for a fragment or a spike ball, which a session's
// delta asks of every static of the cells its view's edges cross: the
// same test without a marble's radius to work out.
func (v *View) ShowsStatic(e *Entity) bool {
	reach := 0.0
	if e.Kind == ecs.KindObstacle {
		reach = v.obstacle
	}
	return v.within(e, reach)
}

// within reports whether an entity whose centre lies within reach of the
// rectangle shows: Shows's one test.
func (v *View) within(e *Entity, reach float64) bool {
	dx, dy := float64(e.X)-v.X, float64(e.Y)-v.Y
	return dx >= -v.HalfW-reach && dx <= v.HalfW+reach && dy >= -v.HalfH-reach && dy <= v.HalfH+reach
}

// ShowsAll reports whether every static of a cell (CellStatics) shows in
// the view: all their centres lie inside the rectangle, which Shows takes
// for any reach. It may say false when all show (a cell without statics,
// a spike ball shown by its reach alone); a reader then looks at each.
func (v *View) ShowsAll(s *CellStatics) bool {
	// The same subtractions as Shows: float rounding is monotone, so a
	// bound that passes here passes for every centre between the bounds.
	return s.N > 0 &&
		float64(s.MinX)-v.X >= -v.HalfW && float64(s.MaxX)-v.X <= v.HalfW &&
		float64(s.MinY)-v.Y >= -v.HalfH && float64(s.MaxY)-v.Y <= v.HalfH
}

// ShowsNone reports whether no static of a cell shows in the view: the
// bounds of their centres, grown by the largest reach of a static (a spike
// ball's radius), miss the rectangle. Like ShowsAll it may say false
// when it is true.
func (v *View) ShowsNone(s *CellStatics) bool {
	if s.N == 0 {
		return true
	}
	r := v.obstacle
	return float64(s.MaxX)-v.X < -v.HalfW-r || float64(s.MinX)-v.X > v.HalfW+r ||
		float64(s.MaxY)-v.Y < -v.HalfH-r || float64(s.MinY)-v.Y > v.HalfH+r
}

// watched returns the marble a session watches, or nil for none.
func (f *Frame) watched(id uint32) *Entity {
	if id == 0 {
		return nil
	}
	return f.Marble(id)
}
