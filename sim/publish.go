package sim

import (
	"slices"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/shatter/shatter/ecs"
)

// frameCells is the frame grid's cell size in multiples of the simulation
// grid's: views are large, so coarser cells mean fewer cells to visit.
const frameCells = 2

// frameBuilder turns the world into a Frame after each tick. Its scratch
// slices and the recycled frames' slices are reused, so building a frame
// allocates nothing once they have grown.
//
// Owned by the arena goroutine.
type frameBuilder struct {
	arena  int
	cfg    *ecs.Config
	shape  ecs.GridShape
	movers *generic.Filter5[ecs.Body, ecs.Position, ecs.Mass, ecs.Name, ecs.Steering]
	// statics holds the frame records of the fragments and obstacles by
	// cell, kept current from the arena's StaticLog: they rarely change, so
	// a frame copies them cell by cell instead of rebuilding them.
	statics *ecs.Cells[Entity]
	// cellStatics is each cell's CellStatics, copied into every frame;
	// dirty lists the cells the current StaticLog touched.
	cellStatics []CellStatics
	dirty       []int32
	bodies      generic.Map[ecs.Body]
	pos         generic.Map[ecs.Position]
	masses      generic.Map[ecs.Mass]
	names       generic.Map[ecs.Name]
	fresh       generic.Map[ecs.Fresh]
	world       *arche.World

	scratch []Entity
	cellOf  []int32
	pool    chan *Frame

	// gone holds, cell by cell in the order they left, the statics that
	// left a cell in the last goneSeconds: a frame copies its cells as
	// blocks, as it does the statics, where sorting them all by cell
	// each tick cost a tenth of a busy arena's tick. left[leftFirst:]
	// says when each left and which cell, in that order, so that forget
	// finds the cells to trim; goneSince is the tick after which every
	// one that left is there (see Frame.Gone).
	gone      *ecs.Cells[Gone]
	left      []leftMark
	leftFirst int
	goneSince uint64
	started   bool
	// slots gives the marbles their slots (Frame.Slots).
	slots slotBook
}

// goneSeconds is how long the statics that left a cell are kept for the
// frames' readers: a reader whose last frame is older than that cannot
// tell what it showed. It is longer than net/session lets a session go
// without a snap before it ends it as a slow consumer (StallTimeout, 3 s).
const goneSeconds = 5

// leftMark is when a static left a cell, and which.
type leftMark struct {
	tick uint64
	cell int32
}

func (b *frameBuilder) init(w *arche.World, arena int, cfg *ecs.Config) {
	b.arena, b.cfg, b.world = arena, cfg, w
	b.shape = ecs.NewGridShape(cfg.GridCell*frameCells, cfg.ArenaWidth, cfg.ArenaHeight)
	b.movers = generic.NewFilter5[ecs.Body, ecs.Position, ecs.Mass, ecs.Name, ecs.Steering]().With(generic.T[ecs.Mover]())
	b.movers.Register(w)
	cells := b.shape.NumCells()
	statics := cfg.FragmentCount + cfg.ObstacleCount
	b.statics = ecs.NewCells[Entity](cells, 4+4*statics/cells)
	b.statics.Reserve(ecs.SpillReserve(statics))
	b.cellStatics = make([]CellStatics, cells)
	// What left in the last goneSeconds gets room for a quarter of the
	// statics, and each cell a home four times its share of that, so
	// that a long-running arena's ticks neither grow the lists by small
	// steps nor spill most cells (the lists still double, and a crowded
	// cell spills, if an arena needs more).
	gone := statics/4 + 16
	b.gone = ecs.NewCells[Gone](cells, 4+4*gone/cells)
	b.gone.Reserve(ecs.SpillReserve(gone))
	b.left = make([]leftMark, 0, gone)
	b.slots.reserve(cfg.MaxPlayers)
	b.bodies = generic.NewMap[ecs.Body](w)
	b.pos = generic.NewMap[ecs.Position](w)
	b.masses = generic.NewMap[ecs.Mass](w)
	b.names = generic.NewMap[ecs.Name](w)
	b.fresh = generic.NewMap[ecs.Fresh](w)
	// Readers hold a frame for at most a tick or two; a few spares cover
	// every reader without letting a leak grow without bound.
	b.pool = make(chan *Frame, 8)
}

func (b *frameBuilder) entity(id uint32, kind ecs.Kind, x, y, mass float64, name string) Entity {
	return Entity{
		ID: id, Kind: kind,
		QX: Quantize(x, b.cfg.ArenaWidth), QY: Quantize(y, b.cfg.ArenaHeight),
		Mass: RoundMass(mass), X: float32(x), Y: float32(y), Name: name,
	}
}

// cellOfEntity returns the frame cell of an entity, computed from the
// float32 coordinates the frame stores, so a reader locating an entity by
// its frame position finds the same cell.
func (b *frameBuilder) cellOfEntity(e *Entity) int32 {
	return int32(b.shape.CellOf(float64(e.X), float64(e.Y)))
}

// applyStaticLog brings the static records up to date with the arena's
// log of fragments and obstacles created, moved and removed, and clears it.
// Every cell it touched gets the tick as its Changed, and its count and
// bounds anew.
func (b *frameBuilder) applyStaticLog(st *ecs.State) {
	b.dirty = b.dirty[:0]
	for i := range st.StaticLog {
		ch := &st.StaticLog[i]
		e := b.entity(ch.ID, ch.Kind, ch.X, ch.Y, ch.Mass, "")
		c := int(b.cellOfEntity(&e))
		b.cellStatics[c].Changed = st.Tick
		b.dirty = append(b.dirty, int32(c)) // a cell twice is measured twice, the same
		if !ch.Removed {
			e.Born = st.Tick
			b.statics.Append(c, e)
			continue
		}
		for j, old := range b.statics.Cell(c) {
			if old.ID == ch.ID {
				b.statics.RemoveAt(c, j)
				if old.Born < st.Tick { // else no frame showed it
					b.gone.Append(c, Gone{Entity: old, Left: st.Tick})
					b.left = append(b.left, leftMark{st.Tick, int32(c)})
				}
				break
			}
		}
	}
	st.StaticLog = st.StaticLog[:0]
	b.statics.Settle()
	for _, c := range b.dirty {
		cs := &b.cellStatics[c]
		cell := b.statics.Cell(int(c))
		cs.N = int32(len(cell))
		for i, e := range cell {
			if i == 0 {
				cs.MinX, cs.MinY, cs.MaxX, cs.MaxY = e.X, e.Y, e.X, e.Y
				continue
			}
			cs.MinX, cs.MinY = min(cs.MinX, e.X), min(cs.MinY, e.Y)
			cs.MaxX, cs.MaxY = max(cs.MaxX, e.X), max(cs.MaxY, e.Y)
		}
	}
}

// forget drops the statics that left a cell and the marbles that left a
// slot at least goneSeconds before tick now, and moves goneSince on to
// match.
func (b *frameBuilder) forget(now uint64) {
	if !b.started {
		// Nothing left before the first frame that any reader saw.
		b.goneSince, b.started = now, true
	}
	keep := uint64(goneSeconds * b.cfg.TickRate)
	if now <= keep {
		return
	}
	cutoff := now - keep
	b.slots.forget(cutoff)
	// Each cell's first is its oldest: one left[] entry, one drop, and a
	// run of entries of one cell (a cluster eaten at once) one call.
	k := b.leftFirst
	for k < len(b.left) && b.left[k].tick <= cutoff {
		c, run := b.left[k].cell, 1
		for k+run < len(b.left) && b.left[k+run].cell == c && b.left[k+run].tick <= cutoff {
			run++
		}
		b.gone.DropFirst(int(c), run)
		k += run
	}
	b.left, b.leftFirst = trimFront(b.left, k)
	b.gone.Settle()
	b.goneSince = max(b.goneSince, cutoff)
}

// trimFront drops s[:first], the entries a list kept in time order is
// done with, once they are half of it: a copy every few ticks instead of
// one each tick. It returns the list and where its live entries start.
func trimFront[T any](s []T, first int) ([]T, int) {
	if first > len(s)/2 {
		return s[:copy(s, s[first:])], 0
	}
	return s, first
}

// cellStarts returns s as a list of where each frame cell's entries start
// (CountingSort's start: one longer than the cells), reallocated only if
// it is too short.
func (b *frameBuilder) cellStarts(s []int32) []int32 {
	n := b.shape.NumCells() + 1
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// build fills f with the world's state after tick st.Tick and its hash.
func (b *frameBuilder) build(st *ecs.State, f *Frame) *Frame {
	f.Tick, f.Arena = st.Tick, b.arena
	f.Width, f.Height = b.cfg.ArenaWidth, b.cfg.ArenaHeight
	f.GridShape, f.cfg = b.shape, b.cfg
	f.Leader, f.Movers = Entity{}, 0
	b.scratch, b.cellOf = b.scratch[:0], b.cellOf[:0]
	b.applyStaticLog(st)
	b.forget(st.Tick)

	f.Hash = st.Hash()
	leaderMass := -1.0
	mq := b.movers.Query(b.world)
	for mq.Next() {
		body, pos, mass, name, steer := mq.Get()
		e := b.entity(body.ID, body.Kind, pos.X, pos.Y, mass.Value, name.Value)
		// A zombie's first heading is its AI's choice; a player's random
		// start angle is not its session's, so it shows as 0 until steered.
		if steer.Steered || body.Kind == ecs.KindZombie {
			e.Heading = HeadingOf(steer.Angle)
		}
		if steer.Boosting {
			e.Flags |= FlagBoost
		}
		b.scratch = append(b.scratch, e)
		b.cellOf = append(b.cellOf, b.cellOfEntity(&e))
		f.Movers++
		if mass.Value > leaderMass {
			leaderMass, f.Leader = mass.Value, e
		}
	}
	// Spike hits are few, so each looks its marble up in the scratch list.
	for _, h := range st.SpikeHits {
		for i := range b.scratch {
			if b.scratch[i].ID == h.ID {
				b.scratch[i].Flags |= FlagSpike
				break
			}
		}
	}

	b.slots.assign(b.scratch, st.Tick)

	// The frame is the builder's alone until published: its marble
	// index is made afresh by the first reader that asks.
	f.marbles.built = false
	f.records.ready.Store(false)

	// Each cell holds its static records, copied as a block, then its
	// movers.
	f.CellStart = b.cellStarts(f.CellStart)
	f.Entities = ecs.CountingSort(b.scratch, b.cellOf, b.statics.All(), f.CellStart, f.Entities)
	f.Statics = append(f.Statics[:0], b.cellStatics...)
	// A frame's lists of what left and of the slots get the room the
	// builder's have, so that they grow only when those double, not each
	// time a count of the last seconds tops its earlier most.
	f.GoneStart = b.cellStarts(f.GoneStart)
	f.Gone = ecs.CountingSort(nil, nil, b.gone.All(), f.GoneStart, slices.Grow(f.Gone[:0], cap(b.left)))
	f.GoneSince = b.goneSince
	k := &b.slots
	f.MoverStart = b.cellStarts(f.MoverStart)
	f.MoverSlot = ecs.CountingSort(k.of, b.cellOf, nil, f.MoverStart, slices.Grow(f.MoverSlot[:0], cap(k.of)))
	f.Slots = append(slices.Grow(f.Slots[:0], cap(k.slots)), k.slots...)
	f.Vacated = append(slices.Grow(f.Vacated[:0], cap(k.vacated)), k.vacated[k.vacFirst:]...)

	f.Players = f.Players[:0]
	for i := range st.Sessions {
		s := &st.Sessions[i]
		p := Player{Session: s.ID, Ack: s.Ack}
		if !s.Marble.IsZero() && b.world.Alive(s.Marble) {
			p.Alive = true
			body, pos := b.bodies.Get(s.Marble), b.pos.Get(s.Marble)
			p.Entity = b.entity(body.ID, body.Kind, pos.X, pos.Y, b.masses.Get(s.Marble).Value, b.names.Get(s.Marble).Value)
			p.Protected = b.fresh.Get(s.Marble).ShieldUntil > st.Tick
		}
		f.Players = append(f.Players, p)
	}
	return f
}
