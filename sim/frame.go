package sim

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/shatter/shatter/ecs"
)

// Entity is one entity as a frame shows it: network id, kind, exact and
// quantized position, rounded mass, name, and for marbles the heading and
// flags that PROTOCOL.md puts in their records.
type Entity struct {
	ID   uint32
	Kind ecs.Kind
	// Heading is where a marble steers, in 1/256 of a turn (PROTOCOL.md's
	// `heading`): 0 for a player's marble that its session never steered.
	// Zero for fragments and spike balls.
	Heading uint8
	// Flags are a marble's FlagBoost and FlagSpike in this tick.
	Flags  uint8
	QX, QY uint16 // PROTOCOL.md quantization: round(X / arena.w * 65535)
	Mass   uint32 // rounded to a whole unit
	X, Y   float32
	Name   string
	// Born is, for a fragment or spike ball, the tick whose frame first
	// showed it where it is (a spike ball that moves is born again); 0 for
	// a marble. With the cell's Gone it tells what a frame of an earlier
	// tick showed of the cell (Frame.Knows).
	Born uint64
}

// The bits of Entity.Flags, PROTOCOL.md's `flags`.
const (
	// FlagBoost: the marble boosted in this tick (the boost the server
	// applied, which it refuses at or below the boost floor, not the wish).
	FlagBoost uint8 = 1 << 0
	// FlagSpike: the marble hit a spike ball in this tick.
	FlagSpike uint8 = 1 << 1
)

// HeadingOf turns a steering angle in radians into PROTOCOL.md's heading:
// round(angle / 2π * 256) mod 256, after reducing the angle modulo 2π.
func HeadingOf(angle float64) uint8 {
	a := math.Mod(angle, 2*math.Pi)
	if a < 0 {
		a += 2 * math.Pi
	}
	return uint8(int(math.Round(a/(2*math.Pi)*256)) & 0xff)
}

// Player is what a frame says about one joined session.
type Player struct {
	Session uint32
	Alive   bool
	Ack     uint32 // last input seq the arena applied
	Entity  Entity // the session's marble; zero unless Alive
	// Protected says the marble is in its spawn shield (spawn_shield):
	// nothing can bust it yet. Kept for the client to show; not on the
	// wire yet.
	Protected bool
}

// Frame is the immutable state of an arena after one tick, for sessions to
// read from their own goroutines: every entity bucketed by a uniform grid
// so that a view rectangle touches only the cells it overlaps, and every
// joined session's marble and input ack.
//
// A frame is reference counted: Arena.Acquire hands out a reference that
// the reader must Release when done. Released frames are recycled by the
// arena, so a reader must not keep any slice of a frame past Release.
type Frame struct {
	Tick   uint64
	Hash   uint64 // the state hash after the tick (ecs.State.Hash), as the replay log records it
	Arena  int    // the arena's id
	Width  float64
	Height float64

	// GridShape is the frame grid's: cells of frameCells simulation cells.
	ecs.GridShape
	// Entities of cell i (row-major) are Entities[CellStart[i]:CellStart[i+1]],
	// its fragments and spike balls first (Statics[i].N of them), then its
	// marbles.
	CellStart []int32
	Entities  []Entity
	// Statics says, for each cell, when its fragments and spike balls
	// last changed and where they lie, so that a session that sent all of
	// them already can skip the cell's statics (see CellStatics).
	Statics []CellStatics
	// Gone lists, cell by cell (cell i's are Gone[GoneStart[i]:GoneStart[i+1]],
	// in the order they left), the fragments and spike balls that left a
	// cell at a tick after GoneSince. With Entity.Born this is what lets a
	// reader know what a frame of any tick from GoneSince on showed of a
	// cell's statics without keeping a copy of them (Knows).
	Gone      []Gone
	GoneStart []int32
	GoneSince uint64

	// Every marble holds a slot, a small number of its own for its life
	// in the arena, given to another marble after it leaves. The slots of
	// cell i's marbles are MoverSlot[MoverStart[i]:MoverStart[i+1]], in
	// the cell's order; Slots says, by slot, who holds it now and since
	// when, and when its record last changed; Vacated, who left a slot
	// after GoneSince. A reader that kept which slots it was sent at an
	// earlier tick the frame Knows can tell, without keeping the marbles,
	// which it was sent, which changed since and which left (the marbles'
	// counterpart of Gone).
	MoverStart []int32
	MoverSlot  []int32
	Slots      []Slot
	Vacated    []Vacated

	// Players is sorted by Session.
	Players []Player
	// marbles indexes the players and zombies of Entities by id for
	// Marble, made on the first call: most frames are never asked (only a
	// spectator who watches a marble asks), so the tick does not pay for
	// sorting thousands of marbles.
	marbles marbleIndex
	// records holds encodings every session would make alike (see
	// Records), made once by the first reader that asks.
	records frameRecords
	// Leader is the heaviest marble, which sessions without a marble
	// spectate; zero if the arena has none.
	Leader Entity
	// Movers counts players and zombies.
	Movers int

	cfg  *Config // the arena's rules, for View
	refs atomic.Int32
	pool chan *Frame
}

// Release gives up a reference taken by Arena.Acquire. The frame must not be
// used afterwards.
func (f *Frame) Release() {
	if f.refs.Add(-1) == 0 {
		select {
		case f.pool <- f:
		default: // pool full: let the garbage collector have it
		}
	}
}

// Player returns the frame's record of a session, or nil if the session has
// not joined the arena.
func (f *Frame) Player(session uint32) *Player {
	lo, hi := 0, len(f.Players)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f.Players[m].Session < session {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(f.Players) && f.Players[lo].Session == session {
		return &f.Players[lo]
	}
	return nil
}

// marbleIndex is a frame's sorted list of its marbles' ids and places in
// Entities, made once per frame by whichever reader asks first.
type marbleIndex struct {
	mu    sync.Mutex
	built bool
	ids   []idAt // reused by the pooled frame
}

// idAt is a marble's id and its index in Frame.Entities.
type idAt struct {
	id uint32
	at int32
}

// Marble returns the frame's record of the player or zombie with network id
// id, or nil if there is none (a fragment, a spike ball, a marble that is
// gone). Safe from any goroutine holding a reference.
func (f *Frame) Marble(id uint32) *Entity {
	ix := &f.marbles
	ix.mu.Lock()
	if !ix.built {
		ix.ids = ix.ids[:0]
		for i := range f.Entities {
			if k := f.Entities[i].Kind; k == ecs.KindPlayer || k == ecs.KindZombie {
				ix.ids = append(ix.ids, idAt{id: f.Entities[i].ID, at: int32(i)})
			}
		}
		slices.SortFunc(ix.ids, func(a, b idAt) int { return cmp.Compare(a.id, b.id) })
		ix.built = true
	}
	ids := ix.ids
	ix.mu.Unlock()
	i, ok := slices.BinarySearchFunc(ids, id, func(e idAt, id uint32) int { return cmp.Compare(e.id, id) })
	if !ok {
		return nil
	}
	return &f.Entities[ids[i].at]
}

// frameRecords is a frame's encoded records of its entities, reused by
// the pooled frame.
type frameRecords struct {
	ready atomic.Bool // built, for readers that need not lock
	mu    sync.Mutex
	bytes []byte
	at    []int32
}

// RecordEncoder appends the record of each of a frame's entities, in the
// order of Entities, to bytes (nothing for an entity without one), and to
// at where each record starts, then where the last one ends (one more
// than the entities); it returns both slices extended.
type RecordEncoder func(f *Frame, bytes []byte, at []int32) ([]byte, []int32)

// Records returns the frame's entities' records as encode makes them,
// encoding them on the first call: the record of Entities[i] is
// bytes[at[i]:at[i+1]]. Every session of an arena
// would encode a marble that moved alike, so the first to ask encodes for
// all (off the tick's goroutine) and the others copy bytes. encode must be
// the same function on every call for a frame. Safe from any goroutine
// holding a reference; the slices are the frame's, valid until Release.
func (f *Frame) Records(encode RecordEncoder) (bytes []byte, at []int32) {
	r := &f.records
	if !r.ready.Load() {
		r.build(f, encode)
	}
	return r.bytes, r.at
}

// build encodes the records once, under the lock; a panic in encode
// unlocks it and leaves them not ready, for the next reader to try.
func (r *frameRecords) build(f *Frame, encode RecordEncoder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready.Load() {
		r.bytes, r.at = encode(f, r.bytes[:0], r.at[:0])
		r.ready.Store(true)
	}
}

// Cell returns the entities of the cell at column c, row r.
func (f *Frame) Cell(c, r int) []Entity {
	i := r*f.Cols + c
	return f.Entities[f.CellStart[i]:f.CellStart[i+1]]
}

// CellStatics is what a frame says about the fragments and spike balls
// of one cell. They rarely change (a fragment eaten or scattered, a spike
// ball placed), while a session's view covers dozens of cells holding
// over a hundred of them: a session that sent every static of a cell as of
// the same Changed, and still sees all of them (View.ShowsAll), has
// nothing to look up in that cell but its marbles.
type CellStatics struct {
	// Changed is the tick whose frame first showed the cell's statics as
	// they are: any creation, move or removal in the cell moves it on.
	Changed uint64
	// N is how many of the cell's entities, its first ones, are statics.
	N int32
	// MinX, MinY, MaxX, MaxY bound the statics' centres (the frame's
	// float32 positions); meaningless when N is 0.
	MinX, MinY, MaxX, MaxY float32
}

// CellStatics returns what the frame says about the statics of the cell
// at column c, row r.
func (f *Frame) CellStatics(c, r int) *CellStatics { return &f.Statics[r*f.Cols+c] }

// Gone is a fragment or spike ball as it was in a cell it left (eaten,
// scattered, or moved, within the cell or out of it), and the tick whose
// frame first did not show it there.
type Gone struct {
	Entity
	Left uint64
}

// Slot is what a frame says of a marble slot: the marble holding it (ID,
// 0 when none does), the tick it took the slot, and the tick whose frame
// first showed its record (quantized position, mass, heading, flags) as
// it is.
type Slot struct {
	ID            uint32
	Taken, Change uint64
}

// Vacated is a marble that held a slot from tick Taken until the frame of
// tick Left no longer showed it.
type Vacated struct {
	ID          uint32
	Slot        int32
	Taken, Left uint64
}

// SlotsOf returns the slots of the marbles of the cell at index i, in the
// cell's order (its marbles are Cell's entities after its statics).
func (f *Frame) SlotsOf(i int) []int32 { return f.MoverSlot[f.MoverStart[i]:f.MoverStart[i+1]] }

// HolderAt returns the marble that held slot s at tick t, a tick the
// frame Knows, or 0 if none did.
func (f *Frame) HolderAt(s int32, t uint64) uint32 {
	if sl := &f.Slots[s]; sl.ID != 0 && sl.Taken <= t {
		return sl.ID
	}
	for i := range f.Vacated {
		if v := &f.Vacated[i]; v.Slot == s && v.Taken <= t && t < v.Left {
			return v.ID
		}
	}
	return 0
}

// CellGone returns the statics that left the cell at index i (row-major)
// after GoneSince.
func (f *Frame) CellGone(i int) []Gone { return f.Gone[f.GoneStart[i]:f.GoneStart[i+1]] }

// Knows reports whether the frame can tell what the frame of tick t
// showed of its cells' statics: t is no later than the frame and no
// earlier than GoneSince. A cell's statics at tick t were then its
// statics now that were there by t (BornBy) and its Gone that were there
// at t (There); a cell whose CellStatics.Changed is at most t had exactly
// its statics now.
func (f *Frame) Knows(t uint64) bool { return t >= f.GoneSince && t <= f.Tick }

// BornBy reports whether a static of a frame was where it is at tick t.
func (e *Entity) BornBy(t uint64) bool { return e.Born <= t }

// There reports whether a static that left its cell was there at tick t.
func (g *Gone) There(t uint64) bool { return g.Born <= t && t < g.Left }

// Quantize maps an arena coordinate onto the 0..65535 wire range.
func Quantize(v, size float64) uint16 {
	q := math.Round(v / size * 65535)
	return uint16(min(max(q, 0), 65535))
}

// RoundMass rounds a mass to the wire's whole units.
func RoundMass(m float64) uint32 {
	if m <= 0 {
		return 0
	}
	return uint32(min(math.Round(m), math.MaxUint32))
}
