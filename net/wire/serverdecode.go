package wire

import (
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/shatter/shatter/sim"
)

// DecodeServer decodes one server frame's payload into m, for Go clients.
// On success m.Type and the part of m it names are set (for a board, both
// Board and Fleet), reusing that part's slices; nothing else in m changes. It is as lenient and as strict as
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
		m.Fleet = FleetBoard{Global: m.Fleet.Global[:0]}
		err = d.fields(t, n, func(key []byte) error { return d.boardField(key, &m.Board, &m.Fleet) })
	case TypePong:
		m.Pong = Pong{}
		err = d.fields(t, n, func(key []byte) error { return d.pongField(key, &m.Pong) })
	case TypeError:
		m.Error = ErrorMessage{}
		err = d.fields(t, n, func(key []byte) error { return d.errorField(key, &m.Error) })
	case TypeMoved:
		m.Moved = Moved{}
		err = d.fields(t, n, func(key []byte) error { return d.movedField(key, &m.Moved) })
	case TypeFeed:
		m.Feed = Feed{Events: m.Feed.Events[:0]}
		err = d.fields(t, n, func(key []byte) error { return d.feedField(key, &m.Feed) })
	case TypeReplay:
		m.Replay = ReplayStatus{Players: m.Replay.Players[:0]}
		err = d.fields(t, n, func(key []byte) error { return d.replayStatusField(key, &m.Replay) })
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
	case "name":
		w.Name, err = d.string(w.Name)
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
		s.You.Marble, s.You.Heading, s.You.Flags = false, 0, 0
	case "add":
		s.Add, err = list(d, s.Add, (*Decoder).addEntity)
	case "upd":
		s.Upd, err = list(d, s.Upd, (*Decoder).updEntity)
	case "del":
		s.Del, err = list(d, s.Del, func(d *Decoder, id *uint32) (err error) {
			*id, err = uintField[uint32](d)
			return err
		})
	case "eye":
		s.HasEye = true
		s.Eye, err = uintField[uint32](d)
	default:
		err = d.skip()
	}
	return err
}

// addEntity decodes an add record: six elements, then a marble's heading
// and flags when present; elements after those are skipped (records may
// grow at the end).
func (d *Decoder) addEntity(e *AddEntity) error {
	extra, err := d.record(6)
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
	if e.Name, err = d.string(e.Name); err != nil {
		return err
	}
	e.Heading, e.Flags, _, err = d.look(extra)
	return err
}

// look decodes the end of an entity record whose first elements are read,
// extra elements being left: a marble's heading and flags when there are
// two or more (marble reports it), then skips whatever follows (records
// may grow at the end).
func (d *Decoder) look(extra int) (heading, flags uint8, marble bool, err error) {
	if extra >= 2 {
		if heading, err = uintField[uint8](d); err != nil {
			return 0, 0, false, err
		}
		if flags, err = uintField[uint8](d); err != nil {
			return 0, 0, false, err
		}
		marble, extra = true, extra-2
	}
	return heading, flags, marble, d.skipN(extra)
}

// skipN skips n elements of a record.
func (d *Decoder) skipN(n int) error {
	for range n {
		if err := d.skip(); err != nil {
			return err
		}
	}
	return nil
}

// updEntity decodes an upd (or `you`) record: four elements, then a
// marble's heading and flags when present, which set Marble.
func (d *Decoder) updEntity(e *UpdEntity) error {
	extra, err := d.record(4)
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
	if e.Mass, err = uintField[uint32](d); err != nil {
		return err
	}
	e.Heading, e.Flags, e.Marble, err = d.look(extra)
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

func (d *Decoder) boardField(key []byte, b *sim.Board, f *FleetBoard) error {
	var err error
	switch string(key) {
	case "top":
		b.Top, err = list(d, b.Top, (*Decoder).boardEntry)
	case "count":
		b.Count, err = d.int()
	case "global":
		f.HasGlobal = true
		f.Global, err = list(d, f.Global, (*Decoder).globalRow)
	case "online":
		f.HasOnline = true
		f.Online, err = d.int()
	default:
		err = d.skip()
	}
	return err
}

// boardEntry decodes a row of the arena's board, [name, mass, id]; a row
// from an older server, without the id, decodes with ID 0, and elements
// after the id are skipped.
func (d *Decoder) boardEntry(e *sim.BoardRow) error {
	extra, err := d.record(2)
	if err != nil {
		return err
	}
	if e.Name, err = d.string(e.Name); err != nil {
		return err
	}
	if e.Mass, err = uintField[uint32](d); err != nil {
		return err
	}
	e.ID = 0
	if extra > 0 {
		if e.ID, err = uintField[uint32](d); err != nil {
			return err
		}
		extra--
	}
	return d.skipN(extra)
}

// globalRow decodes a row of the fleet's board, [name, mass]. Being new, it
// follows PROTOCOL.md's rule that records may grow at the end: elements
// after the two it knows are skipped.
func (d *Decoder) globalRow(r *GlobalRow) error {
	extra, err := d.record(2)
	if err != nil {
		return err
	}
	if r.Name, err = d.string(r.Name); err != nil {
		return err
	}
	if r.Mass, err = uintField[uint32](d); err != nil {
		return err
	}
	return d.skipN(extra)
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

func (d *Decoder) movedField(key []byte, m *Moved) error {
	var err error
	switch string(key) {
	case "url":
		m.URL, err = d.string(m.URL)
	case "seat":
		m.Seat, err = d.string(m.Seat)
	case "why":
		var b []byte
		if b, err = d.stringBytes(); err == nil {
			m.Why = moveReasonNamed(b)
		}
	default:
		err = d.skip()
	}
	return err
}

func (d *Decoder) feedField(key []byte, f *Feed) error {
	var err error
	switch string(key) {
	case "tick":
		f.Tick, err = uintField[uint64](d)
	case "ev":
		f.Events, err = list(d, f.Events, (*Decoder).feedEvent)
	default:
		err = d.skip()
	}
	return err
}

// feedEvent decodes a feed event, [what, id, name, by, by_name, mass];
// elements after those are skipped (records may grow at the end).
func (d *Decoder) feedEvent(e *sim.FeedEvent) error {
	extra, err := d.record(6)
	if err != nil {
		return err
	}
	b, err := d.stringBytes()
	if err != nil {
		return err
	}
	e.What = feedWhatNamed(b)
	if e.ID, err = uintField[uint32](d); err != nil {
		return err
	}
	if e.Name, err = d.string(e.Name); err != nil {
		return err
	}
	if e.By, err = uintField[uint32](d); err != nil {
		return err
	}
	if e.ByName, err = d.string(e.ByName); err != nil {
		return err
	}
	if e.Mass, err = uintField[uint32](d); err != nil {
		return err
	}
	return d.skipN(extra)
}
