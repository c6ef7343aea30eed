package ecs

import (
	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
)

// MoverCellScale is the mover grid's cell size in multiples of GridCell.
// Movers are sparser than fragments and are searched over wider ranges (a
// zombie looks 400 units around), so larger cells mean fewer cells visited.
const MoverCellScale = 2

// State is the resource every system shares: config, randomness, terrain,
// spatial indexes, sessions and the tick's buffers, plus the factories that
// keep those in step with the world (factory.go). It is named State, not
// Arena, because sim.Arena is the actor that owns it.
//
// Owned by the arena goroutine; nothing here is safe for concurrent use.
// Each field says who writes it and who clears it: "the driver" is
// whatever steps the world (sim.Arena, or a test).
type State struct {
	// Config is static after NewWorld.
	Config Config
	// Rand is the arena's one source of randomness; every system draws
	// from it, in tick order, and its state is part of the state hash.
	Rand *Rand
	// Terrain is static after NewWorld.
	Terrain *Terrain
	// Tick is the number of the tick being run; the driver increments it
	// before the systems run.
	Tick uint64

	// Movers is rebuilt every tick by the spatial system (and entries are
	// blanked by Remove); Fragments and Obstacles are kept current by the
	// factories.
	Movers    *Grid
	Fragments *CellIndex
	Obstacles *CellIndex

	// Sessions is sorted by ID. Written by the input system (through
	// AddSession and RemoveSession); Remove clears a session's Marble when
	// that marble goes.
	Sessions []SessionState

	// Commands are the tick's commands. Filled by the driver before the
	// systems run; applied and cleared by the input system.
	Commands []Command
	// Deaths are appended by the collision system during a tick; the driver
	// reads and clears them after the systems ran.
	Deaths []Death
	// SpikeHits are appended by the collision system during a tick; the
	// driver reads and clears them after the systems ran.
	SpikeHits []SpikeHit
	// Arrivals are appended by the input system (CmdArrive); the population
	// system places their marbles and clears the list.
	Arrivals []Arrival
	// Departures are appended by the input system (CmdDepart); the driver
	// reads and clears them after the systems ran.
	Departures []Departure
	// HitObstacles are appended by the collision system; the population
	// system relocates them and clears the list.
	HitObstacles []arche.Entity
	// Board is the latest leaderboard and BoardTick the tick it was made;
	// both written only by the leaderboard system and read by the driver.
	Board     Board
	BoardTick uint64

	// StaticHash is the XOR of EntityHash over all fragments and obstacles,
	// updated by the factories as they come and go, so hashing the state
	// costs only the movers. Never cleared.
	StaticHash uint64
	// StaticLog lists the fragments and obstacles created, moved or removed
	// since the driver last took them, in order, so that it can keep its
	// copy of the static world current instead of rebuilding it every
	// tick. Appended by the factories; the driver clears it after reading.
	StaticLog []StaticChange
	// MoverCount is the number of players and zombies alive, kept by the
	// factories.
	MoverCount int

	nextID uint32
	seed   uint64 // the arena's seed, which a keyframe names
	world  *arche.World
	// kinds lists the kinds in the order their first entity was made,
	// kindSeen which are in it (noteKind).
	kinds    []Kind
	kindSeen [4]bool
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
	fresh    generic.Map[Fresh]

	zombieNames *generic.Filter1[Name]
	hashMovers  *moverHashFilter
	marbleNames marbleNames
}

// NewWorld creates an arena's world with its State resource, its terrain
// and its obstacles; fragments and zombies are left to the population
// system's first tick. It panics if cfg is invalid: validate configs from
// users first.
func NewWorld(cfg Config, seed uint64) (*arche.World, *State) {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	w, a := newState(cfg, seed)
	reserveEntities(w, cfg.MaxMovers()+cfg.FragmentCount+cfg.FragmentCount/4+cfg.ObstacleCount)
	a.addResource()
	for i := 0; i < cfg.ObstacleCount; i++ {
		x, y := a.RandomPoint(cfg.ObstacleRadius)
		a.NewObstacle(x, y)
	}
	return w, a
}

// newState makes a world and its State with nothing in them: the
// components registered, the terrain made, the indexes and buffers sized.
// NewWorld fills it from the seed, RestoreWorld from a keyframe.
func newState(cfg Config, seed uint64) (*arche.World, *State) {
	w := arche.NewWorld()
	a := &State{
		Config:    cfg,
		Rand:      NewRand(seed),
		seed:      seed,
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
		fresh:     generic.NewMap[Fresh](&w),
	}
	moverIDs := []arche.ID{
		arche.ComponentID[Body](&w), arche.ComponentID[Position](&w), arche.ComponentID[Velocity](&w),
		arche.ComponentID[Mass](&w), arche.ComponentID[Steering](&w), arche.ComponentID[Name](&w),
		arche.ComponentID[Mover](&w), arche.ComponentID[Knockback](&w), arche.ComponentID[Fresh](&w),
	}
	a.playerIDs = append(append([]arche.ID{}, moverIDs...), arche.ComponentID[Pilot](&w))
	a.zombieIDs = append(append([]arche.ID{}, moverIDs...), arche.ComponentID[Brain](&w))
	a.fragmentIDs = []arche.ID{arche.ComponentID[Body](&w), arche.ComponentID[Position](&w), arche.ComponentID[Mass](&w), arche.ComponentID[Fragment](&w)}
	a.obstacleIDs = []arche.ID{arche.ComponentID[Body](&w), arche.ComponentID[Position](&w), arche.ComponentID[Obstacle](&w)}
	// The lists a tick fills up to a bound the config sets get their room
	// now, so that a busy tick does not grow them while the arena plays:
	// the mover grid holds every marble, each dies at most once, and a
	// spike ball is hit at most once a tick.
	a.Movers.Reserve(cfg.MaxMovers())
	a.Deaths = make([]Death, 0, cfg.MaxMovers())
	a.HitObstacles = make([]arche.Entity, 0, cfg.ObstacleCount)
	a.SpikeHits = make([]SpikeHit, 0, cfg.ObstacleCount)
	a.marbleNames = newMarbleNames(cfg.MaxMovers())
	return &w, a
}

// addResource registers the State as its world's resource, with the
// filters it queries by.
func (a *State) addResource() {
	a.zombieNames = newNameFilters()
	a.zombieNames.Register(a.world)
	a.hashMovers = newMoverHashFilter()
	a.hashMovers.Register(a.world)
	res := generic.NewResource[State](a.world)
	res.Add(a)
}

// idsOf returns the components an entity of kind is made with.
func (a *State) idsOf(kind Kind) []arche.ID {
	switch kind {
	case KindPlayer:
		return a.playerIDs
	case KindZombie:
		return a.zombieIDs
	case KindFragment:
		return a.fragmentIDs
	}
	return a.obstacleIDs
}

// noteKind records the first entity of a kind: arche makes a kind's
// archetype then, and its queries visit archetypes in the order they were
// made, which a keyframe must therefore keep.
func (a *State) noteKind(kind Kind) {
	if !a.kindSeen[kind] {
		a.kindSeen[kind] = true
		a.kinds = append(a.kinds, kind)
	}
}

// StateOf returns the State resource of a world made by NewWorld.
func StateOf(w *arche.World) *State {
	res := generic.NewResource[State](w)
	return res.Get()
}

// RandomPoint returns a uniformly random point at least margin from the
// arena's edges.
func (a *State) RandomPoint(margin float64) (x, y float64) {
	m := min(margin, a.Config.ArenaWidth/2, a.Config.ArenaHeight/2)
	return a.Rand.Range(m, a.Config.ArenaWidth-m), a.Rand.Range(m, a.Config.ArenaHeight-m)
}

func (a *State) newID() uint32 {
	id := a.nextID
	a.nextID++
	return id
}

// reserveEntities makes n entities and removes them, so that the world's
// list of entity ids has room for n live entities (the arena's marbles, its
// spike balls and its fragments with a quarter more for those that busts
// scatter) and does not grow while the arena plays: new entities recycle
// these ids. arche has no call that reserves ids alone: NewWorld's capacity
// would give every archetype that room as well, a third of a megabyte more
// in a default arena. Which ids entities get changes nothing the arena
// shows: nothing orders by them.
func reserveEntities(w *arche.World, n int) {
	es := make([]arche.Entity, n)
	for i := range es {
		es[i] = w.NewEntity()
	}
	for _, e := range es {
		w.RemoveEntity(e)
	}
}
