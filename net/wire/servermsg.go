package wire

import (
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/shatter/shatter/sim"
)

// ServerMessage is one decoded server frame. Only the part that Type names
// is meaningful; the others keep their earlier contents and slice
// capacities, so that one ServerMessage can be reused for every frame.
type ServerMessage struct {
	Type    Type
	Welcome Welcome
	Snap    Snap
	Died    sim.Died
	Board   sim.Board
	Pong    Pong
	Error   ErrorMessage
}

// Welcome answers a hello: the session and the arena it plays in.
type Welcome struct {
	// Version is `v`; a server speaking this protocol sends Version.
	Version int
	// Session names the player's session; a resumed session keeps its number.
	Session uint32
	// Token lets a new connection take this session over (PROTOCOL.md, Resume).
	Token string
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
}

// Entity kinds, the `kind` of AddEntity.
const (
	KindPlayer   uint8 = 0
	KindZombie   uint8 = 1
	KindFragment uint8 = 2
	KindObstacle uint8 = 3
)

// AddEntity is an entity entering a session's view: [id, kind, x, y, mass,
// name] on the wire.
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
}

// UpdEntity is a new position and mass of an entity already in view: [id, x,
// y, mass] on the wire. A snap's `you` has the same shape.
type UpdEntity struct {
	ID   uint32
	X, Y uint16
	Mass uint32
}

// Pong answers a ping.
type Pong struct {
	// C is the ping's C.
	C int64
	// Tick is the arena's tick when the ping was answered.
	Tick uint64
}

// ErrorMessage is the error message: a refusal, sent before the server
// closes the connection where the session cannot go on.
type ErrorMessage struct {
	Code ErrorCode
	// Msg is for a person to read.
	Msg string
}

func (e *Encoder) updEntity(u UpdEntity) {
	e.arrayLen(4)
	e.uint(uint64(u.ID))
	e.uint(uint64(u.X))
	e.uint(uint64(u.Y))
	e.uint(uint64(u.Mass))
}

// AppendWelcome appends a welcome to dst and returns the extended slice.
// The rules map holds w.Rules in their order.
func (e *Encoder) AppendWelcome(dst []byte, w *Welcome) []byte {
	e.begin(dst, TypeWelcome, 8)
	e.str("v")
	e.int(int64(w.Version))
	e.str("session")
	e.uint(uint64(w.Session))
	e.str("token")
	e.str(w.Token)
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
// nil unless s.HasYou.
func (e *Encoder) AppendSnap(dst []byte, s *Snap) []byte {
	e.begin(dst, TypeSnap, 6)
	e.str("tick")
	e.uint(s.Tick)
	e.str("ack")
	e.uint(uint64(s.Ack))
	e.str("you")
	if s.HasYou {
		e.updEntity(s.You)
	} else {
		e.nil()
	}
	e.str("add")
	e.arrayLen(len(s.Add))
	for i := range s.Add {
		a := &s.Add[i]
		e.arrayLen(6)
		e.uint(uint64(a.ID))
		e.uint(uint64(a.Kind))
		e.uint(uint64(a.X))
		e.uint(uint64(a.Y))
		e.uint(uint64(a.Mass))
		e.str(a.Name)
	}
	e.str("upd")
	e.arrayLen(len(s.Upd))
	for _, u := range s.Upd {
		e.updEntity(u)
	}
	e.str("del")
	e.arrayLen(len(s.Del))
	for _, id := range s.Del {
		e.uint(uint64(id))
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
// arena's event is the message: it is written as it is (a row's ID is not
// on the wire yet).
func (e *Encoder) AppendBoard(dst []byte, b *sim.Board) []byte {
	e.begin(dst, TypeBoard, 2)
	e.str("top")
	e.arrayLen(len(b.Top))
	for _, entry := range b.Top {
		e.arrayLen(2)
		e.str(entry.Name)
		e.uint(uint64(entry.Mass))
	}
	e.str("count")
	e.int(int64(b.Count))
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

// DecodeServer decodes one server frame's payload into m, for Go clients.
// On success m.Type and the part of m it names are set, reusing that part's
// slices; nothing else in m changes. It is as lenient and as strict as
// DecodeClient: unknown keys are skipped, missing fields decode as zero
// values, and anything else off the protocol is a *DecodeError, after which
// m is left as DecodeClient leaves it. Strings are copied: m keeps no
// reference to frame.
func (d *Decoder) DecodeServer(frame []byte, m *ServerMessage) error {
	t, n, err := d.open(frame, Type.fromServer)
	if err != nil {
		return err
	}
	switch t {
	case TypeWelcome:
		w := &m.Welcome
		*w = Welcome{Terrain: w.Terrain[:0], Rules: w.Rules[:0]}
		err = d.fields(t, n, func(key []byte) error { return d.welcomeField(key, w) })
		if err == nil && len(w.Terrain) != w.TerrainSize*w.TerrainSize {
			err = badMessage("terrain", ErrTerrainSize)
		}
	case TypeSnap:
		s := &m.Snap
		*s = Snap{Add: s.Add[:0], Upd: s.Upd[:0], Del: s.Del[:0]}
		err = d.fields(t, n, func(key []byte) error { return d.snapField(key, s) })
	case TypeDied:
		m.Died = sim.Died{}
		err = d.fields(t, n, func(key []byte) error { return d.diedField(key, &m.Died) })
	case TypeBoard:
		m.Board = sim.Board{Top: m.Board.Top[:0]}
		err = d.fields(t, n, func(key []byte) error { return d.boardField(key, &m.Board) })
	case TypePong:
		m.Pong = Pong{}
		err = d.fields(t, n, func(key []byte) error { return d.pongField(key, &m.Pong) })
	case TypeError:
		m.Error = ErrorMessage{}
		err = d.fields(t, n, func(key []byte) error { return d.errorField(key, &m.Error) })
	}
	if err := d.finish(err); err != nil {
		return err
	}
	m.Type = t
	return nil
}

func (d *Decoder) welcomeField(key []byte, w *Welcome) error {
	var err error
	switch string(key) {
	case "v":
		w.Version, err = d.int()
	case "session":
		w.Session, err = uintField[uint32](d)
	case "token":
		w.Token, err = d.string(w.Token)
	case "tick":
		w.Tick, err = uintField[uint64](d)
	case "rate":
		w.Rate, err = d.int()
	case "arena":
		err = d.mapFields(func(key []byte) error {
			switch string(key) {
			case "w":
				w.ArenaWidth, err = d.number()
			case "h":
				w.ArenaHeight, err = d.number()
			default:
				return d.skip()
			}
			return err
		})
	case "terrain":
		err = d.mapFields(func(key []byte) error {
			switch string(key) {
			case "n":
				// Bounded so that n*n cannot overflow in the length check.
				var n uint16
				n, err = uintField[uint16](d)
				w.TerrainSize = int(n)
			case "h":
				w.Terrain, err = d.bin(w.Terrain)
			default:
				return d.skip()
			}
			return err
		})
	case "rules":
		err = d.rules(w)
	default:
		err = d.skip()
	}
	return err
}

// rules decodes the welcome's rules map, reusing w.Rules and the names
// already in it.
func (d *Decoder) rules(w *Welcome) error {
	n, err := d.mapLen()
	if err != nil {
		return err
	}
	w.Rules = grow(w.Rules, n)
	for i := range w.Rules {
		r := &w.Rules[i]
		if r.Name, err = d.string(r.Name); err != nil {
			return err
		}
		if r.Value, err = d.number(); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) snapField(key []byte, s *Snap) error {
	var err error
	switch string(key) {
	case "tick":
		s.Tick, err = uintField[uint64](d)
	case "ack":
		s.Ack, err = uintField[uint32](d)
	case "you":
		if d.nextIs(msgpcode.Nil) {
			s.HasYou = false
			return d.advance(1)
		}
		s.HasYou = true
		err = d.updEntity(&s.You)
	case "add":
		s.Add, err = list(d, s.Add, (*Decoder).addEntity)
	case "upd":
		s.Upd, err = list(d, s.Upd, (*Decoder).updEntity)
	case "del":
		s.Del, err = list(d, s.Del, func(d *Decoder, id *uint32) (err error) {
			*id, err = uintField[uint32](d)
			return err
		})
	default:
		err = d.skip()
	}
	return err
}

func (d *Decoder) addEntity(e *AddEntity) error {
	err := d.tuple(6)
	if err != nil {
		return err
	}
	if e.ID, err = uintField[uint32](d); err != nil {
		return err
	}
	if e.Kind, err = uintField[uint8](d); err != nil {
		return err
	}
	if e.X, err = uintField[uint16](d); err != nil {
		return err
	}
	if e.Y, err = uintField[uint16](d); err != nil {
		return err
	}
	if e.Mass, err = uintField[uint32](d); err != nil {
		return err
	}
	e.Name, err = d.string(e.Name)
	return err
}

func (d *Decoder) updEntity(e *UpdEntity) error {
	err := d.tuple(4)
	if err != nil {
		return err
	}
	if e.ID, err = uintField[uint32](d); err != nil {
		return err
	}
	if e.X, err = uintField[uint16](d); err != nil {
		return err
	}
	if e.Y, err = uintField[uint16](d); err != nil {
		return err
	}
	e.Mass, err = uintField[uint32](d)
	return err
}

func (d *Decoder) diedField(key []byte, m *sim.Died) error {
	var err error
	switch string(key) {
	case "tick":
		m.Tick, err = uintField[uint64](d)
	case "by":
		m.By, err = uintField[uint32](d)
	case "name":
		m.ByName, err = d.string(m.ByName)
	case "mass":
		m.Mass, err = uintField[uint32](d)
	default:
		err = d.skip()
	}
	return err
}

func (d *Decoder) boardField(key []byte, b *sim.Board) error {
	var err error
	switch string(key) {
	case "top":
		b.Top, err = list(d, b.Top, (*Decoder).boardEntry)
	case "count":
		b.Count, err = d.int()
	default:
		err = d.skip()
	}
	return err
}

func (d *Decoder) boardEntry(e *sim.BoardRow) error {
	err := d.tuple(2)
	if err != nil {
		return err
	}
	if e.Name, err = d.string(e.Name); err != nil {
		return err
	}
	e.Mass, err = uintField[uint32](d)
	return err
}

func (d *Decoder) pongField(key []byte, p *Pong) error {
	var err error
	switch string(key) {
	case "c":
		p.C, err = d.int64()
	case "tick":
		p.Tick, err = uintField[uint64](d)
	default:
		err = d.skip()
	}
	return err
}

func (d *Decoder) errorField(key []byte, e *ErrorMessage) error {
	var err error
	switch string(key) {
	case "code":
		var b []byte
		if b, err = d.stringBytes(); err == nil {
			e.Code = errorCodeNamed(b)
		}
	case "msg":
		e.Msg, err = d.string(e.Msg)
	default:
		err = d.skip()
	}
	return err
}
