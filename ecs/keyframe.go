package ecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/mlange-42/arche/generic"
	"github.com/vmihailenco/msgpack/v5"
)

// KeyframeVersion is the version of the keyframe encoding; RestoreWorld
// refuses any other.
const KeyframeVersion = 1

// ErrKeyframe is wrapped by every error about a keyframe that cannot be
// restored.
var ErrKeyframe = errors.New("bad keyframe")

// A keyframe is an arena's whole state after a tick, from which the world
// restored by RestoreWorld plays on bit for bit as the original does: not
// only every component, but what makes the systems visit entities in the
// same order and name them the same way. That is arche's entity pool (ids,
// generations and the free list, so that new entities get the same ids
// and a zombie's remembered fragment stays alive or dead alike), the order
// in which each kind's archetype was made (queries visit archetypes in
// that order) and the order of the entities within each, the spatial
// indexes' cell order, the random generator, the sessions, and the names
// a zombie could be given. Everything a tick fills and clears itself is
// empty between ticks and is not kept.
type keyframe struct {
	Version int `msgpack:"v"`
	// Seed and Config (a hash of the rules) say which arena the keyframe
	// is of: RestoreWorld refuses it for another, which would not diverge
	// at once but from the first random draw or rule that differs.
	Seed       uint64       `msgpack:"seed"`
	Config     uint64       `msgpack:"config"`
	Tick       uint64       `msgpack:"tick"`
	Rand       uint64       `msgpack:"rand"`
	NextID     uint32       `msgpack:"next_id"`
	StaticHash uint64       `msgpack:"static_hash"`
	Board      Board        `msgpack:"board"`
	BoardTick  uint64       `msgpack:"board_tick"`
	Sessions   []keySession `msgpack:"sessions"`
	Kinds      []Kind       `msgpack:"kinds"` // the archetypes in the order they were made
	Pool       keyPool      `msgpack:"pool"`
	Players    []keyMarble  `msgpack:"players"` // each kind in its archetype's order
	Zombies    []keyMarble  `msgpack:"zombies"`
	Fragments  []keyStatic  `msgpack:"fragments"`
	Obstacles  []keyStatic  `msgpack:"obstacles"`
	Movers     keyGrid      `msgpack:"movers"`
	// FragCells and ObstCells are the static indexes, cell by cell in
	// order, as entity ids: an entry's position is its entity's.
	FragCells [][]uint32    `msgpack:"fragment_cells"`
	ObstCells [][]uint32    `msgpack:"obstacle_cells"`
	NamesLow  []keyNameLow  `msgpack:"names_low"` // sorted by base
	NamesMade []keySuffixed `msgpack:"names_made"`

	// limits bound the lists DecodeMsgpack takes; not encoded.
	limits keyLimits
}

// maxNameSuffix bounds the suffixes a keyframe's names may have.
const maxNameSuffix = 9_999_999

// handle is an arche entity as its id and generation.
type handle [2]uint32

type keySession struct {
	ID        uint32 `msgpack:"id"`
	Name      string `msgpack:"name"`
	Marble    handle `msgpack:"marble"`
	Ack       uint32 `msgpack:"ack"`
	InputTick uint64 `msgpack:"input_tick"`
}

// keyPool is arche's EntityDump.
type keyPool struct {
	Entities  []handle `msgpack:"entities"`
	Alive     []uint32 `msgpack:"alive"`
	Next      uint32   `msgpack:"next"`
	Available uint32   `msgpack:"available"`
}

type keyMarble struct {
	E         handle    `msgpack:"e"`
	Body      Body      `msgpack:"body"`
	Position  Position  `msgpack:"pos"`
	Velocity  Velocity  `msgpack:"vel"`
	Mass      float64   `msgpack:"mass"`
	Steering  Steering  `msgpack:"steer"`
	Name      string    `msgpack:"name"`
	Knockback Knockback `msgpack:"knock"`
	Fresh     Fresh     `msgpack:"fresh"`
	Pilot     uint32    `msgpack:"pilot,omitempty"`
	Brain     keyBrain  `msgpack:"brain,omitempty"`
}

type keyBrain struct {
	Phase uint32  `msgpack:"phase"`
	Food  handle  `msgpack:"food"`
	FoodX float64 `msgpack:"food_x"`
	FoodY float64 `msgpack:"food_y"`
}

type keyStatic struct {
	E        handle   `msgpack:"e"`
	Body     Body     `msgpack:"body"`
	Position Position `msgpack:"pos"`
	Mass     float64  `msgpack:"mass,omitempty"`
}

type keyItem struct {
	E    handle  `msgpack:"e"`
	X    float64 `msgpack:"x"`
	Y    float64 `msgpack:"y"`
	Mass float64 `msgpack:"mass"`
}

type keyGrid struct {
	Start []int32   `msgpack:"start"`
	Items []keyItem `msgpack:"items"`
}

type keyNameLow struct {
	Base string `msgpack:"base"`
	Low  int    `msgpack:"low"`
}

type keySuffixed struct {
	Base string `msgpack:"base"`
	N    int    `msgpack:"n"`
}

func handleOf(e arche.Entity) handle { return handle{e.ID(), e.Generation()} }

func itemsOf(items []GridItem) []keyItem {
	out := make([]keyItem, len(items))
	for i, it := range items {
		out[i] = keyItem{E: handleOf(it.Entity), X: it.X, Y: it.Y, Mass: it.Mass}
	}
	return out
}

// AppendKeyframe appends the world's keyframe to dst. It must be called
// between ticks, on the goroutine that owns the world.
func (a *State) AppendKeyframe(dst []byte) ([]byte, error) {
	w := a.world
	k := keyframe{
		Version: KeyframeVersion, Seed: a.seed, Config: configHash(&a.Config),
		Tick: a.Tick, Rand: a.Rand.State, NextID: a.nextID,
		StaticHash: a.StaticHash, Board: a.Board, BoardTick: a.BoardTick,
		Kinds: a.kinds,
	}
	for _, s := range a.Sessions {
		k.Sessions = append(k.Sessions, keySession{ID: s.ID, Name: s.Name, Marble: handleOf(s.Marble), Ack: s.Ack, InputTick: s.InputTick})
	}
	dump := w.DumpEntities()
	k.Pool = keyPool{Alive: dump.Alive, Next: dump.Next, Available: dump.Available, Entities: make([]handle, len(dump.Entities))}
	for i, e := range dump.Entities {
		k.Pool.Entities[i] = handleOf(e)
	}
	k.Players = a.keyMarbles(a.playerIDs)
	k.Zombies = a.keyMarbles(a.zombieIDs)
	k.Fragments = a.keyStatics(a.fragmentIDs)
	k.Obstacles = a.keyStatics(a.obstacleIDs)
	k.Movers = keyGrid{Start: a.Movers.start, Items: itemsOf(a.Movers.Items)}
	k.FragCells, k.ObstCells = idsOfCells(a.Fragments), idsOfCells(a.Obstacles)
	for base, low := range a.marbleNames.low {
		k.NamesLow = append(k.NamesLow, keyNameLow{base, low})
	}
	slices.SortFunc(k.NamesLow, func(x, y keyNameLow) int { return strings.Compare(x.Base, y.Base) })
	for key := range a.marbleNames.made {
		k.NamesMade = append(k.NamesMade, keySuffixed{key.base, key.n})
	}
	slices.SortFunc(k.NamesMade, func(x, y keySuffixed) int {
		if c := strings.Compare(x.Base, y.Base); c != 0 {
			return c
		}
		return x.N - y.N
	})
	buf := bytes.NewBuffer(dst)
	enc := msgpack.NewEncoder(buf)
	enc.UseCompactInts(true)
	// Structs as arrays: a keyframe holds thousands of small ones, whose
	// field names would be most of its size.
	enc.UseArrayEncodedStructs(true)
	if err := enc.Encode(&k); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// idsOfCells lists the entity ids of a static index, cell by cell.
func idsOfCells(ix *CellIndex) [][]uint32 {
	cells := ix.cells.All()
	out := make([][]uint32, len(cells))
	for c, cell := range cells {
		for _, it := range cell {
			out[c] = append(out[c], it.Entity.ID())
		}
	}
	return out
}

// keyMarbles lists the marbles of the archetype of ids in its order.
func (a *State) keyMarbles(ids []arche.ID) []keyMarble {
	var out []keyMarble
	vels, knocks := generic.NewMap[Velocity](a.world), generic.NewMap[Knockback](a.world)
	filter := arche.All(ids...).Exclusive()
	q := a.world.Query(&filter)
	for q.Next() {
		e := q.Entity()
		m := keyMarble{
			E: handleOf(e), Body: *a.bodies.Get(e), Position: *a.pos.Get(e), Velocity: *vels.Get(e),
			Mass: a.masses.Get(e).Value, Steering: *a.steering.Get(e), Name: a.names.Get(e).Value,
			Knockback: *knocks.Get(e), Fresh: *a.fresh.Get(e),
		}
		if m.Body.Kind == KindPlayer {
			m.Pilot = a.pilots.Get(e).Session
		} else {
			b := a.brains.Get(e)
			m.Brain = keyBrain{Phase: b.Phase, Food: handleOf(b.Food), FoodX: b.FoodX, FoodY: b.FoodY}
		}
		out = append(out, m)
	}
	return out
}

// keyStatics lists the fragments or spike balls of the archetype of ids
// in its order.
func (a *State) keyStatics(ids []arche.ID) []keyStatic {
	var out []keyStatic
	filter := arche.All(ids...).Exclusive()
	q := a.world.Query(&filter)
	for q.Next() {
		e := q.Entity()
		s := keyStatic{E: handleOf(e), Body: *a.bodies.Get(e), Position: *a.pos.Get(e)}
		if s.Body.Kind == KindFragment {
			s.Mass = a.masses.Get(e).Value
		}
		out = append(out, s)
	}
	return out
}

// RestoreWorld makes the world a keyframe of an arena with this config
// and seed holds (the seed makes the terrain; everything random after it
// comes from the keyframe's generator). A keyframe that is not one, or
// that does not fit the config, is refused with an error that wraps
// ErrKeyframe; it never panics.
func RestoreWorld(cfg Config, seed uint64, data []byte) (w *arche.World, st *State, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKeyframe, err)
	}
	if len(data) > MaxKeyframeSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, over %d", ErrKeyframe, len(data), MaxKeyframeSize)
	}
	k := keyframe{limits: keyframeLimits(&cfg)}
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&k); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKeyframe, err)
	}
	if k.Seed != seed {
		return nil, nil, fmt.Errorf("%w: of an arena of seed %d, not %d", ErrKeyframe, k.Seed, seed)
	}
	if want := configHash(&cfg); k.Config != want {
		return nil, nil, fmt.Errorf("%w: of an arena of other rules (config hash %016x, these are %016x)", ErrKeyframe, k.Config, want)
	}
	if err := k.check(&cfg); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrKeyframe, err)
	}
	// check catches what it can name; arche panics on anything else a
	// forged keyframe might hold (an alive entity listed twice, say).
	defer func() {
		if p := recover(); p != nil {
			w, st, err = nil, nil, fmt.Errorf("%w: %v", ErrKeyframe, p)
		}
	}()
	w, st = newState(cfg, seed)
	st.restore(&k)
	return w, st, nil
}

// check refuses a keyframe whose numbers do not fit together or the
// config: the restore below indexes by them.
func (k *keyframe) check(cfg *Config) error {
	shape := NewGridShape(cfg.GridCell, cfg.ArenaWidth, cfg.ArenaHeight)
	movers := NewGridShape(cfg.GridCell*MoverCellScale, cfg.ArenaWidth, cfg.ArenaHeight)
	if len(k.FragCells) != shape.NumCells() || len(k.ObstCells) != shape.NumCells() {
		return fmt.Errorf("%d and %d index cells, want %d", len(k.FragCells), len(k.ObstCells), shape.NumCells())
	}
	if len(k.Movers.Start) != movers.NumCells()+1 {
		return fmt.Errorf("%d mover cell starts, want %d", len(k.Movers.Start), movers.NumCells()+1)
	}
	prev := int32(0)
	for _, s := range k.Movers.Start {
		if s < prev || int(s) > len(k.Movers.Items) {
			return errors.New("mover cell starts out of order")
		}
		prev = s
	}
	if int(prev) != len(k.Movers.Items) {
		return errors.New("mover cell starts do not cover the items")
	}
	if len(k.Pool.Entities) == 0 || len(k.Pool.Entities) > math.MaxInt32 {
		return errors.New("no entity pool")
	}
	seen := make([]bool, len(k.Pool.Entities))
	for _, id := range k.Pool.Alive {
		if id == 0 || int(id) >= len(seen) || seen[id] {
			return fmt.Errorf("alive entity %d", id)
		}
		seen[id] = true
	}
	alive := func(h handle) bool {
		return int(h[0]) < len(seen) && seen[h[0]] && k.Pool.Entities[h[0]] == h
	}
	placed := make([]bool, len(seen))
	place := func(h handle, what Kind, body Body) error {
		if !alive(h) || placed[h[0]] {
			return fmt.Errorf("%v entity %v is not alive or listed twice", what, h)
		}
		if body.Kind != what {
			return fmt.Errorf("entity %v of kind %v listed as a %v", h, body.Kind, what)
		}
		placed[h[0]] = true
		return nil
	}
	for _, m := range k.Players {
		if err := place(m.E, KindPlayer, m.Body); err != nil {
			return err
		}
	}
	for _, m := range k.Zombies {
		if err := place(m.E, KindZombie, m.Body); err != nil {
			return err
		}
		if int(m.Brain.Food[0]) >= len(k.Pool.Entities) {
			return fmt.Errorf("zombie %v heads for entity %v, outside the pool", m.E, m.Brain.Food)
		}
	}
	for _, s := range k.Fragments {
		if err := place(s.E, KindFragment, s.Body); err != nil {
			return err
		}
	}
	for _, s := range k.Obstacles {
		if err := place(s.E, KindObstacle, s.Body); err != nil {
			return err
		}
	}
	if n := len(k.Players) + len(k.Zombies) + len(k.Fragments) + len(k.Obstacles); n != len(k.Pool.Alive) {
		return fmt.Errorf("%d entities listed, %d alive", n, len(k.Pool.Alive))
	}
	var kinds [4]bool
	for _, kind := range k.Kinds {
		if kind > KindObstacle || kinds[kind] {
			return fmt.Errorf("archetype order %v", k.Kinds)
		}
		kinds[kind] = true
	}
	for kind, n := range [4]int{len(k.Players), len(k.Zombies), len(k.Fragments), len(k.Obstacles)} {
		if n > 0 && !kinds[kind] {
			return fmt.Errorf("%v entities without their archetype in the order", Kind(kind))
		}
	}
	mover := map[handle]bool{}
	for _, list := range [][]keyMarble{k.Players, k.Zombies} {
		for _, m := range list {
			mover[m.E] = true
		}
	}
	for _, it := range k.Movers.Items {
		// A blanked entry is the zero entity.
		if it.E != (handle{}) && !mover[it.E] {
			return fmt.Errorf("mover grid entry of entity %v, not a marble", it.E)
		}
	}
	indexed := make([]bool, len(seen))
	for _, ix := range []struct {
		cells [][]uint32
		list  []keyStatic
	}{{k.FragCells, k.Fragments}, {k.ObstCells, k.Obstacles}} {
		for _, s := range ix.list {
			indexed[s.E[0]] = true
		}
		n := 0
		for _, cell := range ix.cells {
			for _, id := range cell {
				if int(id) >= len(indexed) || !indexed[id] {
					return fmt.Errorf("index entry of entity %d, not one of its kind", id)
				}
				indexed[id] = false // listed once
				n++
			}
		}
		if n != len(ix.list) {
			return fmt.Errorf("%d index entries for %d entities", n, len(ix.list))
		}
	}
	pilotOf := map[handle]uint32{}
	for _, m := range k.Players {
		pilotOf[m.E] = m.Pilot
	}
	for _, s := range k.Sessions {
		if pilot, ok := pilotOf[s.Marble]; s.Marble != (handle{}) && (!ok || pilot != s.ID) {
			return fmt.Errorf("session %d's marble %v is not a player it pilots", s.ID, s.Marble)
		}
	}
	// A zombie's suffix is a small number: one of seven digits already
	// names more zombies than any arena holds.
	for _, m := range k.NamesMade {
		if m.N < 2 || m.N > maxNameSuffix {
			return fmt.Errorf("a name suffix of %d", m.N)
		}
	}
	for _, l := range k.NamesLow {
		if l.Low < 0 || l.Low > maxNameSuffix+1 {
			return fmt.Errorf("a name suffix search from %d", l.Low)
		}
	}
	if !slices.IsSortedFunc(k.Sessions, func(x, y keySession) int { return int(x.ID) - int(y.ID) }) {
		return errors.New("sessions not sorted")
	}
	return nil
}

// entities turns handles into arche entities. arche makes entities only
// in its pool; its JSON form, [id, generation], is the one door to
// writing one down and reading it back, which serialization is what it is
// for.
func entities(hs []handle) []arche.Entity {
	b := []byte{'['}
	for i, h := range hs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendUint(b, uint64(h[0]), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(h[1]), 10)
		b = append(b, ']')
	}
	b = append(b, ']')
	out := make([]arche.Entity, 0, len(hs))
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err) // The JSON above is well formed by construction.
	}
	return out
}

// restore fills a world fresh from newState with keyframe k, checked.
func (a *State) restore(k *keyframe) {
	w := a.world
	// The archetypes first, in the order the original made them: queries
	// visit them in that order. An entity of each makes it; the world is
	// then reset to take the pool, which keeps the archetypes.
	for _, kind := range k.Kinds {
		w.RemoveEntity(w.NewEntity(a.idsOf(kind)...))
		a.noteKind(kind)
	}
	w.Reset()
	a.addResource()
	var pool arche.EntityDump
	pool.Entities = entities(k.Pool.Entities)
	pool.Alive, pool.Next, pool.Available = k.Pool.Alive, k.Pool.Next, k.Pool.Available
	w.LoadEntities(&pool)
	byID := func(h handle) arche.Entity {
		if h == (handle{}) {
			return arche.Entity{}
		}
		return pool.Entities[h[0]]
	}

	a.Tick, a.Rand.State, a.nextID = k.Tick, k.Rand, k.NextID
	a.Board, a.BoardTick = k.Board, k.BoardTick
	for _, s := range k.Sessions {
		a.Sessions = append(a.Sessions, SessionState{ID: s.ID, Name: s.Name, Marble: byID(s.Marble), Ack: s.Ack, InputTick: s.InputTick})
		a.marbleNames.sessions[s.Name]++
	}
	vels, knocks := generic.NewMap[Velocity](w), generic.NewMap[Knockback](w)
	for _, list := range [][]keyMarble{k.Players, k.Zombies} {
		for i := range list {
			m := &list[i]
			e := byID(m.E)
			w.Add(e, a.idsOf(m.Body.Kind)...)
			*a.bodies.Get(e), *a.pos.Get(e) = m.Body, m.Position
			*vels.Get(e) = m.Velocity
			*a.masses.Get(e) = Mass{Value: m.Mass}
			*a.steering.Get(e), *a.names.Get(e) = m.Steering, Name{Value: m.Name}
			*knocks.Get(e) = m.Knockback
			*a.fresh.Get(e) = m.Fresh
			if m.Body.Kind == KindPlayer {
				*a.pilots.Get(e) = Pilot{Session: m.Pilot}
			} else {
				// A remembered fragment may be gone: its handle is kept as
				// it was, generation and all, so that it stays dead.
				food := arche.Entity{}
				if m.Brain.Food != (handle{}) {
					food = entities([]handle{m.Brain.Food})[0]
				}
				*a.brains.Get(e) = Brain{Phase: m.Brain.Phase, Food: food, FoodX: m.Brain.FoodX, FoodY: m.Brain.FoodY}
			}
			a.marbleNames.add(m.Name)
			a.MoverCount++
		}
	}
	for _, list := range [][]keyStatic{k.Fragments, k.Obstacles} {
		for i := range list {
			s := &list[i]
			e := byID(s.E)
			w.Add(e, a.idsOf(s.Body.Kind)...)
			*a.bodies.Get(e), *a.pos.Get(e) = s.Body, s.Position
			if s.Body.Kind == KindFragment {
				*a.masses.Get(e) = Mass{Value: s.Mass}
			}
		}
	}
	restoreIndex := func(ix *CellIndex, cells [][]uint32) {
		for c, cell := range cells {
			for _, id := range cell {
				e := pool.Entities[id]
				pos := a.pos.Get(e)
				ix.cells.Append(c, GridItem{Entity: e, X: pos.X, Y: pos.Y})
				ix.count++
			}
		}
	}
	restoreIndex(a.Fragments, k.FragCells)
	restoreIndex(a.Obstacles, k.ObstCells)
	copy(a.Movers.start, k.Movers.Start)
	a.Movers.Items = a.Movers.Items[:0]
	for _, it := range k.Movers.Items {
		a.Movers.Items = append(a.Movers.Items, GridItem{Entity: byID(it.E), X: it.X, Y: it.Y, Mass: it.Mass})
	}
	// The statics as the log the frame builder takes them from, as if
	// each had just come; the hash of them is the one kept.
	for _, list := range [][]keyStatic{k.Fragments, k.Obstacles} {
		for _, s := range list {
			a.StaticLog = append(a.StaticLog, StaticChange{ID: s.Body.ID, Kind: s.Body.Kind, X: s.Position.X, Y: s.Position.Y, Mass: s.Mass})
		}
	}
	a.StaticHash = k.StaticHash
	for _, l := range k.NamesLow {
		a.marbleNames.low[l.Base] = l.Low
	}
	for _, m := range k.NamesMade {
		a.marbleNames.suffixed(m.Base, m.N)
	}
}
