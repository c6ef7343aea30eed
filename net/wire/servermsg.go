package wire

import "github.com/shatter/shatter/sim"

// ServerMessage is one decoded server frame. Only the part that Type names
// is meaningful; the others keep their earlier contents and slice
// capacities, so that one ServerMessage can be reused for every frame.
type ServerMessage struct {
	Type    Type
	Welcome Welcome
	Snap    Snap
	Died    sim.Died
	// Board and Fleet are a board: the arena's part and the fleet's.
	Board sim.Board
	Fleet FleetBoard
	Pong  Pong
	Error ErrorMessage
	Moved Moved
	Feed  Feed
	// Replay is a replay server's status (PROTOCOL.md "Replay viewer").
	Replay ReplayStatus
}

// Feed is the `feed` message: the busts and spike hits of one tick of the
// arena (sim.Feed without the network side's cache).
type Feed struct {
	Tick   uint64
	Events []sim.FeedEvent
}

// Welcome answers a hello: the session and the arena it plays in.
type Welcome struct {
	// Version is `v`; a server speaking this protocol sends Version.
	Version int
	// Session names the player's session; a resumed session keeps its number.
	Session uint32
	// Token lets a new connection take this session over (PROTOCOL.md, Resume).
	Token string
	// Name is `name`, the name the player plays under (the server may
	// have changed the one asked for: cleaned, or made distinct in its
	// arena); omitted when empty.
	Name string
	// Tick is the arena's current tick.
	Tick uint64
	// Rate is the arena's tick rate in ticks a second.
	Rate int
	// ArenaWidth and ArenaHeight are the arena's size in units, `arena.w`
	// and `arena.h`; quantized positions are relative to them.
	ArenaWidth, ArenaHeight float64
	// TerrainSize is `terrain.n`, the heightmap's samples per side.
	TerrainSize int
	// Terrain is `terrain.h`: TerrainSize*TerrainSize heights, row-major,
	// each height*255. The decoder checks the length.
	Terrain []byte
	// Rules are the arena's rule values by name, in the order they are sent.
	Rules []Rule
}

// Rule is one entry of the welcome's rules map. The rules are a slice rather
// than a Go map so that the encoded welcome is the same every time.
type Rule struct {
	Name  string
	Value float64
}

// Snap is one snapshot: a delta against everything the session was sent
// before. Apply Add, then Upd, then Del, in that order.
type Snap struct {
	// Tick is the tick the snapshot shows.
	Tick uint64
	// Ack is the seq of the last input the arena applied.
	Ack uint32
	// HasYou reports whether the session's player is alive; You is sent
	// only then, and the wire carries nil otherwise.
	HasYou bool
	// You is the session's own player.
	You UpdEntity
	// Add lists entities entering the view.
	Add []AddEntity
	// Upd lists entities in view whose quantized position or mass changed.
	Upd []UpdEntity
	// Del lists the ids of entities that left the view or died.
	Del []uint32
	// UpdRaw holds UpdRawN more upd records, encoded already (by
	// AppendUpdRecord, once per frame for every session): the encoder
	// writes them after Upd's as they are. The decoder leaves them empty.
	UpdRaw  []byte
	UpdRawN int
	// HasEye reports whether Eye is sent: while the session is not alive.
	HasEye bool
	// Eye is the id of the marble the view follows (the watched marble or
	// the leader), 0 when the view is centred on an arena without marbles.
	Eye uint32
}

// Entity kinds, the `kind` of AddEntity.
const (
	KindPlayer   uint8 = 0
	KindZombie   uint8 = 1
	KindFragment uint8 = 2
	KindObstacle uint8 = 3
)

// AddEntity is an entity entering a session's view: [id, kind, x, y, mass,
// name] on the wire, followed by heading and flags for a marble (kinds
// KindPlayer and KindZombie).
type AddEntity struct {
	// ID names the entity for its whole life; an arena never reuses one.
	ID uint32
	// Kind is one of KindPlayer, KindZombie, KindFragment, KindObstacle.
	Kind uint8
	// X and Y are quantized over the arena: X = round(x / arena.w * 65535).
	X, Y uint16
	// Mass is rounded to a whole unit.
	Mass uint32
	// Name is the player's or zombie's name; "" for fragments and obstacles.
	Name string
	// Heading and Flags are a marble's (see UpdEntity); the encoder writes
	// them for marbles only, and the decoder reads them when present.
	Heading, Flags uint8
}

// UpdEntity is a new position and mass of an entity already in view: [id, x,
// y, mass] on the wire, followed by heading and flags when Marble is set. A
// snap's `you` has the four-element shape.
type UpdEntity struct {
	ID   uint32
	X, Y uint16
	Mass uint32
	// Marble says the record carries Heading and Flags: the encoder writes
	// them, and the decoder sets it when they were on the wire.
	Marble bool
	// Heading is where the marble steers, in 1/256 of a turn
	// (sim.HeadingOf).
	Heading uint8
	// Flags are sim.FlagBoost and sim.FlagSpike.
	Flags uint8
}

// Pong answers a ping.
type Pong struct {
	// C is the ping's C.
	C int64
	// Tick is the arena's tick when the ping was answered.
	Tick uint64
}

// FleetBoard is the fleet-wide part of a board, which the network side
// adds to the arena's sim.Board: `global` and `online`, each optional
// (PROTOCOL.md leaves them out when the fleet's figures are older than
// 2 s). The zero FleetBoard has neither.
type FleetBoard struct {
	// HasGlobal reports whether Global is sent; it may be sent empty.
	HasGlobal bool
	// Global is the top of every arena of every node, biggest first (at
	// most 10).
	Global []GlobalRow
	// HasOnline reports whether Online is sent.
	HasOnline bool
	// Online counts the welcomed open sessions of the whole fleet.
	Online int
}

// GlobalRow is one line of the fleet's board: [name, mass] on the wire.
type GlobalRow struct {
	Name string
	Mass uint32
}

// Moved sends the player to another node: connect to URL and say hello
// with Seat (PROTOCOL.md, Fleet). It is the last message of its
// connection; close CloseMoved follows.
type Moved struct {
	// URL is the ws:// or wss:// URL of a node's WebSocket.
	URL string
	// Seat is the seat reserved there, for the next hello's Seat.
	Seat string
	// Why is MoveFull, MoveResume or MoveDrain, or a reason this package
	// does not know, kept as sent.
	Why MoveReason
}

// ErrorMessage is the error message: a refusal, sent before the server
// closes the connection where the session cannot go on.
type ErrorMessage struct {
	Code ErrorCode
	// Msg is for a person to read.
	Msg string
}

// updEntity writes an upd record, with heading and flags for a marble.
func (e *Encoder) updEntity(u *UpdEntity) {
	if u.Marble {
		e.arrayLen(6)
	} else {
		e.arrayLen(4)
	}
	e.uint(uint64(u.ID))
	e.uint(uint64(u.X))
	e.uint(uint64(u.Y))
	e.uint(uint64(u.Mass))
	if u.Marble {
		e.uint(uint64(u.Heading))
		e.uint(uint64(u.Flags))
	}
}

// AppendUpdRecord appends one upd record of a snap, as AppendSnap writes
// it, to dst: a frame's marble records are encoded once this way and
// copied into each session's snap (Snap.UpdRaw).
func (e *Encoder) AppendUpdRecord(dst []byte, u *UpdEntity) []byte {
	e.start(dst)
	e.updEntity(u)
	return e.end()
}

// isMarble reports whether an entity of this kind is a marble, whose add
// and upd records carry heading and flags.
func isMarble(kind uint8) bool { return kind == KindPlayer || kind == KindZombie }

// AppendWelcome appends a welcome to dst and returns the extended slice.
// The rules map holds w.Rules in their order.
func (e *Encoder) AppendWelcome(dst []byte, w *Welcome) []byte {
	fields := 8
	if w.Name != "" {
		fields++
	}
	e.begin(dst, TypeWelcome, fields)
	e.str("v")
	e.int(int64(w.Version))
	e.str("session")
	e.uint(uint64(w.Session))
	e.str("token")
	e.str(w.Token)
	if w.Name != "" {
		e.str("name")
		e.str(w.Name)
	}
	e.str("tick")
	e.uint(w.Tick)
	e.str("rate")
	e.int(int64(w.Rate))
	e.str("arena")
	e.mapLen(2)
	e.str("w")
	e.number(w.ArenaWidth)
	e.str("h")
	e.number(w.ArenaHeight)
	e.str("terrain")
	e.mapLen(2)
	e.str("n")
	e.int(int64(w.TerrainSize))
	e.str("h")
	e.bin(w.Terrain)
	e.str("rules")
	e.mapLen(len(w.Rules))
	for _, r := range w.Rules {
		e.str(r.Name)
		e.number(r.Value)
	}
	return e.end()
}

// AppendSnap appends a snap to dst and returns the extended slice. `you` is
// nil unless s.HasYou; `eye` is sent only if s.HasEye.
func (e *Encoder) AppendSnap(dst []byte, s *Snap) []byte {
	fields := 6
	if s.HasEye {
		fields++
	}
	e.begin(dst, TypeSnap, fields)
	e.str("tick")
	e.uint(s.Tick)
	e.str("ack")
	e.uint(uint64(s.Ack))
	e.str("you")
	if s.HasYou {
		// `you` keeps its four elements: heading and flags are in the
		// marble's own add and upd records.
		you := s.You
		you.Marble = false
		e.updEntity(&you)
	} else {
		e.nil()
	}
	e.str("add")
	e.arrayLen(len(s.Add))
	for i := range s.Add {
		a := &s.Add[i]
		marble := isMarble(a.Kind)
		if marble {
			e.arrayLen(8)
		} else {
			e.arrayLen(6)
		}
		e.uint(uint64(a.ID))
		e.uint(uint64(a.Kind))
		e.uint(uint64(a.X))
		e.uint(uint64(a.Y))
		e.uint(uint64(a.Mass))
		e.str(a.Name)
		if marble {
			e.uint(uint64(a.Heading))
			e.uint(uint64(a.Flags))
		}
	}
	e.str("upd")
	e.arrayLen(len(s.Upd) + s.UpdRawN)
	for i := range s.Upd {
		e.updEntity(&s.Upd[i])
	}
	e.out.buf = append(e.out.buf, s.UpdRaw...)
	e.str("del")
	e.arrayLen(len(s.Del))
	for _, id := range s.Del {
		e.uint(uint64(id))
	}
	if s.HasEye {
		e.str("eye")
		e.uint(uint64(s.Eye))
	}
	return e.end()
}

// AppendDied appends a died to dst and returns the extended slice. The
// arena's event is the message: it is written as it is.
func (e *Encoder) AppendDied(dst []byte, m *sim.Died) []byte {
	e.begin(dst, TypeDied, 4)
	e.str("tick")
	e.uint(m.Tick)
	e.str("by")
	e.uint(uint64(m.By))
	e.str("name")
	e.str(m.ByName)
	e.str("mass")
	e.uint(uint64(m.Mass))
	return e.end()
}

// AppendBoard appends a board to dst and returns the extended slice. The
// arena's event is the message: it is written as it is (each row [name,
// mass, id]), followed by the fleet's part when f is not nil: its
// `global` if f.HasGlobal and its `online` if f.HasOnline. With a nil f
// (or one that has neither) the board is the same bytes as a board of a
// server without a fleet.
func (e *Encoder) AppendBoard(dst []byte, b *sim.Board, f *FleetBoard) []byte {
	fields := 2
	if f != nil {
		if f.HasGlobal {
			fields++
		}
		if f.HasOnline {
			fields++
		}
	}
	e.begin(dst, TypeBoard, fields)
	e.str("top")
	e.arrayLen(len(b.Top))
	for _, entry := range b.Top {
		e.arrayLen(3)
		e.str(entry.Name)
		e.uint(uint64(entry.Mass))
		e.uint(uint64(entry.ID))
	}
	e.str("count")
	e.int(int64(b.Count))
	if f == nil {
		return e.end()
	}
	if f.HasGlobal {
		e.str("global")
		e.arrayLen(len(f.Global))
		for _, row := range f.Global {
			e.arrayLen(2)
			e.str(row.Name)
			e.uint(uint64(row.Mass))
		}
	}
	if f.HasOnline {
		e.str("online")
		e.int(int64(f.Online))
	}
	return e.end()
}

// AppendPong appends a pong to dst and returns the extended slice.
func (e *Encoder) AppendPong(dst []byte, p *Pong) []byte {
	e.begin(dst, TypePong, 2)
	e.str("c")
	e.int(p.C)
	e.str("tick")
	e.uint(p.Tick)
	return e.end()
}

// AppendError appends an error message to dst and returns the extended
// slice.
func (e *Encoder) AppendError(dst []byte, m *ErrorMessage) []byte {
	e.begin(dst, TypeError, 2)
	e.str("code")
	e.str(string(m.Code))
	e.str("msg")
	e.str(m.Msg)
	return e.end()
}

// AppendMoved appends a moved to dst and returns the extended slice.
func (e *Encoder) AppendMoved(dst []byte, m *Moved) []byte {
	e.begin(dst, TypeMoved, 3)
	e.str("url")
	e.str(m.URL)
	e.str("seat")
	e.str(m.Seat)
	e.str("why")
	e.str(string(m.Why))
	return e.end()
}

// AppendFeed appends a feed to dst and returns the extended slice.
func (e *Encoder) AppendFeed(dst []byte, f *Feed) []byte {
	e.begin(dst, TypeFeed, 2)
	e.str("tick")
	e.uint(f.Tick)
	e.str("ev")
	e.arrayLen(len(f.Events))
	for i := range f.Events {
		ev := &f.Events[i]
		e.arrayLen(6)
		e.str(string(ev.What))
		e.uint(uint64(ev.ID))
		e.str(ev.Name)
		e.uint(uint64(ev.By))
		e.str(ev.ByName)
		e.uint(uint64(ev.Mass))
	}
	return e.end()
}
