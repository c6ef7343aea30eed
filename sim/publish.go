package sim

import (
	"math"

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
	arena     int
	cfg       *ecs.Config
	cellSize  float64
	cols      int
	rows      int
	movers    *generic.Filter4[ecs.Body, ecs.Position, ecs.Mass, ecs.Name]
	fragments *generic.Filter3[ecs.Body, ecs.Position, ecs.Mass]
	obstacles *generic.Filter2[ecs.Body, ecs.Position]
	bodies    generic.Map[ecs.Body]
	pos       generic.Map[ecs.Position]
	masses    generic.Map[ecs.Mass]
	names     generic.Map[ecs.Name]
	world     *arche.World

	scratch []Entity
	cellOf  []int32
	pool    chan *Frame
}

func (b *frameBuilder) init(w *arche.World, arena int, cfg *ecs.Config) {
	b.arena, b.cfg, b.world = arena, cfg, w
	b.cellSize = cfg.GridCell * frameCells
	b.cols = max(1, int(math.Ceil(cfg.ArenaWidth/b.cellSize)))
	b.rows = max(1, int(math.Ceil(cfg.ArenaHeight/b.cellSize)))
	b.movers = generic.NewFilter4[ecs.Body, ecs.Position, ecs.Mass, ecs.Name]().With(generic.T[ecs.Mover]())
	b.movers.Register(w)
	b.fragments = generic.NewFilter3[ecs.Body, ecs.Position, ecs.Mass]().With(generic.T[ecs.Fragment]())
	b.fragments.Register(w)
	b.obstacles = generic.NewFilter2[ecs.Body, ecs.Position]().With(generic.T[ecs.Obstacle]())
	b.obstacles.Register(w)
	b.bodies = generic.NewMap[ecs.Body](w)
	b.pos = generic.NewMap[ecs.Position](w)
	b.masses = generic.NewMap[ecs.Mass](w)
	b.names = generic.NewMap[ecs.Name](w)
	// Readers hold a frame for at most a tick or two; a few spares cover
	// every reader without letting a leak grow without bound.
	b.pool = make(chan *Frame, 8)
}

func (b *frameBuilder) entity(body *ecs.Body, pos *ecs.Position, mass float64, name string) Entity {
	return Entity{
		ID: body.ID, Kind: body.Kind,
		QX: Quantize(pos.X, b.cfg.ArenaWidth), QY: Quantize(pos.Y, b.cfg.ArenaHeight),
		Mass: RoundMass(mass), X: float32(pos.X), Y: float32(pos.Y), Name: name,
	}
}

func (b *frameBuilder) add(e Entity) {
	c := min(max(int(float64(e.X)/b.cellSize), 0), b.cols-1)
	r := min(max(int(float64(e.Y)/b.cellSize), 0), b.rows-1)
	b.scratch = append(b.scratch, e)
	b.cellOf = append(b.cellOf, int32(r*b.cols+c))
}

// build fills f with the world's state after tick st.Tick and its hash.
func (b *frameBuilder) build(st *ecs.Arena, f *Frame) *Frame {
	f.Tick, f.Arena = st.Tick, b.arena
	f.Width, f.Height = b.cfg.ArenaWidth, b.cfg.ArenaHeight
	f.CellSize, f.Cols, f.Rows = b.cellSize, b.cols, b.rows
	f.Leader, f.Movers = Entity{}, 0
	b.scratch, b.cellOf = b.scratch[:0], b.cellOf[:0]

	// The hash covers the tick, the RNG, every mover in query order (which
	// is deterministic) and the static entities' running XOR.
	hash := ecs.Mix64(uint64(st.Tick) ^ 0x5ba77e4)
	hash = ecs.Mix64(hash ^ st.Rand.State)
	leaderMass := -1.0
	mq := b.movers.Query(b.world)
	for mq.Next() {
		body, pos, mass, name := mq.Get()
		hash = ecs.Mix64(hash ^ ecs.EntityHash(body.ID, body.Kind, pos.X, pos.Y, mass.Value))
		e := b.entity(body, pos, mass.Value, name.Value)
		b.add(e)
		f.Movers++
		if mass.Value > leaderMass {
			leaderMass, f.Leader = mass.Value, e
		}
	}
	f.Hash = ecs.Mix64(hash ^ st.StaticHash)
	fq := b.fragments.Query(b.world)
	for fq.Next() {
		body, pos, mass := fq.Get()
		b.add(b.entity(body, pos, mass.Value, ""))
	}
	oq := b.obstacles.Query(b.world)
	for oq.Next() {
		body, pos := oq.Get()
		b.add(b.entity(body, pos, 0, ""))
	}

	// Counting sort into cells.
	cells := b.cols * b.rows
	if cap(f.CellStart) < cells+1 {
		f.CellStart = make([]int32, cells+1)
	}
	f.CellStart = f.CellStart[:cells+1]
	clear(f.CellStart)
	for _, c := range b.cellOf {
		f.CellStart[c+1]++
	}
	for i := 1; i <= cells; i++ {
		f.CellStart[i] += f.CellStart[i-1]
	}
	if cap(f.Entities) < len(b.scratch) {
		f.Entities = make([]Entity, len(b.scratch), len(b.scratch)+len(b.scratch)/4)
	}
	f.Entities = f.Entities[:len(b.scratch)]
	for i := range b.scratch {
		c := b.cellOf[i]
		f.Entities[f.CellStart[c]] = b.scratch[i]
		f.CellStart[c]++
	}
	copy(f.CellStart[1:], f.CellStart[:cells])
	f.CellStart[0] = 0

	f.Players = f.Players[:0]
	for i := range st.Sessions {
		s := &st.Sessions[i]
		p := Player{Session: s.ID, Ack: s.Ack}
		if !s.Marble.IsZero() && b.world.Alive(s.Marble) {
			p.Alive = true
			p.Entity = b.entity(b.bodies.Get(s.Marble), b.pos.Get(s.Marble), b.masses.Get(s.Marble).Value, b.names.Get(s.Marble).Value)
		}
		f.Players = append(f.Players, p)
	}
	return f
}
