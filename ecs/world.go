package ecs

import (
	"math"
	"sort"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
)

// CommandKind names what a session asked of its arena.
type CommandKind uint8

// Command kinds. Join and Leave bracket a session's life in the arena;
// Spawn, Input and Detach act on its marble.
const (
	CmdJoin   CommandKind = 1 // a session enters, spectating
	CmdLeave  CommandKind = 2 // a session is gone; its marble is removed
	CmdSpawn  CommandKind = 3 // create the session's marble (ignored while alive)
	CmdInput  CommandKind = 4 // heading and boost wish
	CmdDetach CommandKind = 5 // connection dropped: hold heading, stop boosting
)

// String returns the command's name.
func (k CommandKind) String() string {
	switch k {
	case CmdJoin:
		return "join"
	case CmdLeave:
		return "leave"
	case CmdSpawn:
		return "spawn"
	case CmdInput:
		return "input"
	case CmdDetach:
		return "detach"
	}
	return "unknown"
}

// Command is one request from a session, applied at the start of a tick in
// arrival order. It is plain data, which is what the replay log records.
type Command struct {
	Kind    CommandKind `json:"k"`
	Session uint32      `json:"s"`
	Name    string      `json:"n,omitempty"` // join
	Seq     uint32      `json:"q,omitempty"` // input
	Angle   float64     `json:"a,omitempty"` // input
	Boost   bool        `json:"b,omitempty"` // input
}

// SessionState is what the arena knows of one session.
type SessionState struct {
	ID     uint32
	Name   string
	Marble arche.Entity // zero while the session has no living marble
	Ack    uint32       // last input seq applied
}

// Death records a marble busted or otherwise removed during a tick, for the
// session that owned it (Session is 0 for zombies).
type Death struct {
	Session uint32
	Victim  uint32  // network id of the dead marble
	By      uint32  // network id of the buster, 0 for an obstacle or other cause
	ByName  string  // the buster's name, may be empty
	Mass    float64 // the victim's final mass
}

// BoardEntry is one row of the leaderboard.
type BoardEntry struct {
	ID   uint32
	Name string
	Mass float64
}

// Board is the leaderboard, recomputed once a second.
type Board struct {
	Top   []BoardEntry // biggest first
	Count int          // players+zombies in the arena
}

// MoverCellScale is the mover grid's cell size in multiples of GridCell.
// Movers are sparser than fragments and are searched over wider ranges (a
// zombie looks 400 units around), so larger cells mean fewer cells visited.
const MoverCellScale = 2

// Arena is the resource every system shares: config, randomness, terrain,
// spatial indexes, sessions and the tick's buffers, plus the factories that
// keep those in step with the world.
//
// Owned by the arena goroutine; nothing here is safe for concurrent use.
type Arena struct {
	Config  Config
	Rand    *Rand
	Terrain *Terrain
	Tick    uint64

	// Movers is rebuilt every tick by the spatial system; Fragments and
	// Obstacles are kept current by the factories.
	Movers    *Grid
	Fragments *CellIndex
	Obstacles *CellIndex

	// Sessions is sorted by ID.
	Sessions []SessionState

	// Commands are the tick's commands, set by the arena before the systems
	// run and applied by the input system.
	Commands []Command
	// Deaths are collected during a tick and drained by the arena after it.
	Deaths []Death
	// HitObstacles are obstacles hit this tick, relocated by population.
	HitObstacles []arche.Entity
	// Board is the latest leaderboard; BoardTick is the tick it was made.
	Board     Board
	BoardTick uint64

	// StaticHash is the XOR of EntityHash over all fragments and obstacles,
	// updated as they come and go, so hashing the state costs only the
	// movers.
	StaticHash uint64
	// StaticLog lists the fragments and obstacles created, moved or removed
	// since the frame builder last took them, in order, so it can keep its
	// copy of the static world current instead of rebuilding it every
	// tick. Whoever drives the world must clear it after reading.
	StaticLog []StaticChange
	// MoverCount is the number of players and zombies alive.
	MoverCount int

	nextID uint32
	world  *arche.World
	// Component id lists of each kind's archetype, so an entity is created
	// with all its components in one step.
	playerIDs, zombieIDs, fragmentIDs, obstacleIDs []arche.ID

	bodies   generic.Map[Body]
	pos      generic.Map[Position]
	masses   generic.Map[Mass]
	steering generic.Map[Steering]
	names    generic.Map[Name]
	pilots   generic.Map[Pilot]
	brains   generic.Map[Brain]
}

// NewWorld creates an arena's world with its Arena resource, its terrain
// and its obstacles; fragments and zombies are left to the population
// system's first tick. It panics if cfg is invalid: validate configs from
// users first.
func NewWorld(cfg Config, seed uint64) (*arche.World, *Arena) {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	w := arche.NewWorld()
	a := &Arena{
		Config:    cfg,
		Rand:      NewRand(seed),
		Terrain:   NewTerrain(seed, cfg.TerrainSamples, cfg.ArenaWidth, cfg.ArenaHeight),
		Movers:    NewGrid(cfg.GridCell*MoverCellScale, cfg.ArenaWidth, cfg.ArenaHeight),
		Fragments: NewCellIndex(cfg.GridCell, cfg.ArenaWidth, cfg.ArenaHeight, cfg.FragmentCount),
		Obstacles: NewCellIndex(cfg.GridCell, cfg.ArenaWidth, cfg.ArenaHeight, cfg.ObstacleCount),
		nextID:    1,
		world:     &w,
		bodies:    generic.NewMap[Body](&w),
		pos:       generic.NewMap[Position](&w),
		masses:    generic.NewMap[Mass](&w),
		steering:  generic.NewMap[Steering](&w),
		names:     generic.NewMap[Name](&w),
		pilots:    generic.NewMap[Pilot](&w),
		brains:    generic.NewMap[Brain](&w),
	}
	moverIDs := []arche.ID{
		arche.ComponentID[Body](&w), arche.ComponentID[Position](&w), arche.ComponentID[Velocity](&w),
		arche.ComponentID[Mass](&w), arche.ComponentID[Steering](&w), arche.ComponentID[Name](&w),
		arche.ComponentID[Mover](&w),
	}
	a.playerIDs = append(append([]arche.ID{}, moverIDs...), arche.ComponentID[Pilot](&w))
	a.zombieIDs = append(append([]arche.ID{}, moverIDs...), arche.ComponentID[Brain](&w))
	a.fragmentIDs = []arche.ID{arche.ComponentID[Body](&w), arche.ComponentID[Position](&w), arche.ComponentID[Mass](&w), arche.ComponentID[Fragment](&w)}
	a.obstacleIDs = []arche.ID{arche.ComponentID[Body](&w), arche.ComponentID[Position](&w), arche.ComponentID[Obstacle](&w)}
	res := generic.NewResource[Arena](&w)
	res.Add(a)
	for i := 0; i < cfg.ObstacleCount; i++ {
		x, y := a.RandomPoint(cfg.ObstacleRadius)
		a.NewObstacle(x, y)
	}
	return &w, a
}

// ArenaOf returns the Arena resource of a world made by NewWorld.
func ArenaOf(w *arche.World) *Arena {
	res := generic.NewResource[Arena](w)
	return res.Get()
}

// RandomPoint returns a uniformly random point at least margin from the
// arena's edges.
func (a *Arena) RandomPoint(margin float64) (x, y float64) {
	m := min(margin, a.Config.ArenaWidth/2, a.Config.ArenaHeight/2)
	return a.Rand.Range(m, a.Config.ArenaWidth-m), a.Rand.Range(m, a.Config.ArenaHeight-m)
}

func (a *Arena) newID() uint32 {
	id := a.nextID
	a.nextID++
	return id
}

// NewMarble creates a player (session != 0) or zombie (session == 0) at
// rest. Must not be called while a query is open.
func (a *Arena) NewMarble(session uint32, name string, x, y, mass float64) arche.Entity {
	kind, ids := KindZombie, a.zombieIDs
	if session != 0 {
		kind, ids = KindPlayer, a.playerIDs
	}
	e := a.world.NewEntity(ids...)
	*a.bodies.Get(e) = Body{Kind: kind, ID: a.newID()}
	*a.pos.Get(e) = Position{X: x, Y: y}
	*a.masses.Get(e) = Mass{Value: mass}
	*a.steering.Get(e) = Steering{Angle: a.Rand.Angle()}
	*a.names.Get(e) = Name{Value: name}
	if session != 0 {
		*a.pilots.Get(e) = Pilot{Session: session}
	} else {
		*a.brains.Get(e) = Brain{Phase: uint32(a.Rand.Intn(a.Config.ZombieThinkTicks))}
	}
	a.MoverCount++
	return e
}

// NewFragment creates a fragment of the given mass. Must not be called while
// a query is open.
func (a *Arena) NewFragment(x, y, mass float64) arche.Entity {
	id := a.newID()
	e := a.world.NewEntity(a.fragmentIDs...)
	*a.bodies.Get(e) = Body{Kind: KindFragment, ID: id}
	*a.pos.Get(e) = Position{X: x, Y: y}
	*a.masses.Get(e) = Mass{Value: mass}
	a.Fragments.Insert(e, x, y)
	a.staticChange(false, id, KindFragment, x, y, mass)
	return e
}

// NewObstacle creates a spike ball. Must not be called while a query is open.
func (a *Arena) NewObstacle(x, y float64) arche.Entity {
	id := a.newID()
	e := a.world.NewEntity(a.obstacleIDs...)
	*a.bodies.Get(e) = Body{Kind: KindObstacle, ID: id}
	*a.pos.Get(e) = Position{X: x, Y: y}
	a.Obstacles.Insert(e, x, y)
	a.staticChange(false, id, KindObstacle, x, y, 0)
	return e
}

// MoveObstacle relocates a spike ball. Must not be called while a query is
// open.
func (a *Arena) MoveObstacle(e arche.Entity, x, y float64) {
	body, pos := a.bodies.Get(e), a.pos.Get(e)
	a.Obstacles.Remove(e, pos.X, pos.Y)
	a.staticChange(true, body.ID, KindObstacle, pos.X, pos.Y, 0)
	pos.X, pos.Y = x, y
	a.Obstacles.Insert(e, x, y)
	a.staticChange(false, body.ID, KindObstacle, x, y, 0)
}

// TakeFragment takes a fragment out of the fragment index at once, so that
// nothing else finds it this tick, while its entity waits for Remove after
// the query that found it. Safe during a query.
func (a *Arena) TakeFragment(e arche.Entity, x, y float64) {
	if a.Fragments.Remove(e, x, y) {
		a.staticChange(true, a.bodies.Get(e).ID, KindFragment, x, y, a.masses.Get(e).Value)
	}
}

// Remove deletes an entity of any kind and takes it out of the indexes and
// counts. Movers are removed only where they sit at their indexed position
// (commands before movement, collisions after the rebuild), so the mover
// grid's entry is found and blanked. A session whose marble it was is left without one. Must not be
// called while a query is open.
func (a *Arena) Remove(e arche.Entity) {
	body, pos := a.bodies.Get(e), a.pos.Get(e)
	switch body.Kind {
	case KindFragment:
		a.TakeFragment(e, pos.X, pos.Y)
	case KindObstacle:
		a.Obstacles.Remove(e, pos.X, pos.Y)
		a.staticChange(true, body.ID, KindObstacle, pos.X, pos.Y, 0)
	case KindPlayer:
		if s := a.Session(a.pilots.Get(e).Session); s != nil && s.Marble == e {
			s.Marble = arche.Entity{}
		}
		a.Movers.Forget(e, pos.X, pos.Y)
		a.MoverCount--
	case KindZombie:
		a.Movers.Forget(e, pos.X, pos.Y)
		a.MoverCount--
	}
	a.world.RemoveEntity(e)
}

// Session returns the state of a session, or nil if it has not joined.
func (a *Arena) Session(id uint32) *SessionState {
	i := sort.Search(len(a.Sessions), func(i int) bool { return a.Sessions[i].ID >= id })
	if i < len(a.Sessions) && a.Sessions[i].ID == id {
		return &a.Sessions[i]
	}
	return nil
}

// AddSession registers a session, keeping Sessions sorted. A session that
// is already there keeps its state (a resumed connection).
func (a *Arena) AddSession(id uint32, name string) *SessionState {
	i := sort.Search(len(a.Sessions), func(i int) bool { return a.Sessions[i].ID >= id })
	if i < len(a.Sessions) && a.Sessions[i].ID == id {
		return &a.Sessions[i]
	}
	a.Sessions = append(a.Sessions, SessionState{})
	copy(a.Sessions[i+1:], a.Sessions[i:])
	a.Sessions[i] = SessionState{ID: id, Name: name}
	return &a.Sessions[i]
}

// RemoveSession forgets a session and removes its marble, if any.
func (a *Arena) RemoveSession(id uint32) {
	s := a.Session(id)
	if s == nil {
		return
	}
	if !s.Marble.IsZero() && a.world.Alive(s.Marble) {
		a.Remove(s.Marble)
	}
	i := sort.Search(len(a.Sessions), func(i int) bool { return a.Sessions[i].ID >= id })
	a.Sessions = append(a.Sessions[:i], a.Sessions[i+1:]...)
}

// StaticChange records a fragment or obstacle coming or going.
type StaticChange struct {
	Removed bool
	ID      uint32
	Kind    Kind
	X, Y    float64
	Mass    float64
}

// staticChange accounts for a static entity coming or going: the state
// hash's running XOR and the log the frame builder follows.
func (a *Arena) staticChange(removed bool, id uint32, kind Kind, x, y, mass float64) {
	a.StaticHash ^= EntityHash(id, kind, x, y, mass)
	a.StaticLog = append(a.StaticLog, StaticChange{Removed: removed, ID: id, Kind: kind, X: x, Y: y, Mass: mass})
}

// EntityHash mixes one entity's identity and exact state into 64 bits. The
// exact float bits are hashed (not the quantized wire values) so a replay
// catches a divergence on the tick it happens, not when it grows visible.
func EntityHash(id uint32, kind Kind, x, y, mass float64) uint64 {
	h := uint64(id)<<8 | uint64(kind)
	h = Mix64(h ^ math.Float64bits(x))
	h = Mix64(h ^ math.Float64bits(y))
	return Mix64(h ^ math.Float64bits(mass))
}

// Mix64 is the SplitMix64 finalizer: a cheap, well-distributed bijection,
// used to chain state hashes.
func Mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
