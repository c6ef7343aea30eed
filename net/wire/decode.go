package wire

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// DecodeError reports a frame that breaks PROTOCOL.md. Every error the
// decoders return is a *DecodeError.
type DecodeError struct {
	// Code is the protocol error code to answer with; always
	// CodeBadMessage.
	Code ErrorCode
	// Field is the key whose value is wrong, or "" when the frame as a whole
	// is (not msgpack, not a map, trailing bytes).
	Field string
	// Err says what is wrong; it is one of the sentinel errors of this
	// package, such as ErrWrongType.
	Err error
}

// Error returns "wire: bad_message: field: reason".
func (e *DecodeError) Error() string {
	s := "wire: " + string(e.Code) + ": "
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns Err, so that errors.Is finds the sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }

// What a DecodeError's Err can be. They are distinct so that tests and logs
// can tell the bad_message cases apart.
var (
	ErrTruncated   = errors.New("frame ends inside a value")
	ErrNotMsgpack  = errors.New("not msgpack")
	ErrNotMap      = errors.New("message is not a map")
	ErrMissingType = errors.New("missing t")
	ErrUnknownType = errors.New("unknown t")
	ErrTypeClash   = errors.New("t given twice with different values")
	ErrWrongType   = errors.New("wrong value type")
	ErrOutOfRange  = errors.New("value out of range")
	ErrNotFinite   = errors.New("number is not finite")
	ErrTooLong     = errors.New("string longer than MaxStringLen")
	ErrMissing     = errors.New("required field missing")
	ErrTrailing    = errors.New("bytes after the message")
	ErrTerrainSize = errors.New("terrain h is not n*n bytes")
)

func badMessage(field string, err error) error {
	return &DecodeError{Code: CodeBadMessage, Field: field, Err: err}
}

// Decoder decodes frames in both directions without reflection. Decoding an
// input allocates nothing; other messages allocate only their strings and,
// the first time, their slices.
//
// The zero Decoder is ready to use. A Decoder is not safe for concurrent
// use and must not be copied after its first use; give each reading
// goroutine its own.
type Decoder struct {
	// frame is the payload being decoded, and r reads it. mp reads msgpack
	// codes from r; since r is an io.ByteScanner, mp reads no further than
	// the value it decodes, so the code below can take string bytes straight
	// from frame at r's offset.
	frame []byte
	r     bytes.Reader
	mp    *msgpack.Decoder
}

func (d *Decoder) reset(frame []byte) {
	if d.mp == nil {
		d.mp = msgpack.NewDecoder(&d.r)
	}
	d.frame = frame
	d.r.Reset(frame)
}

// DecodeClient decodes one client frame's payload into m. On success m.Type
// and the part of m it names are set; nothing else in m changes. Unknown keys
// are skipped, keys may come in any order, and integers of any width and
// sign are accepted where they fit the field. Names and tokens are returned
// as sent: validating them is the server's job.
//
// The error is a *DecodeError for every frame PROTOCOL.md calls a
// bad_message: not msgpack, not a map, missing or unknown `t` (server types
// included), a field of the wrong type or out of its range, a non-finite
// angle, an input without seq or angle, or bytes after the map. The
// version error is the caller's to decide from m.Hello.Version. After an
// error m.Type is unchanged, but the part of m that the frame's `t` names may
// be partly overwritten.
func (d *Decoder) DecodeClient(frame []byte, m *ClientMessage) error {
	t, n, err := d.open(frame, Type.fromClient)
	if err != nil {
		return err
	}
	var seen inputFields
	switch t {
	case TypeHello:
		m.Hello = Hello{}
	case TypeInput:
		m.Input = Input{}
	case TypePing:
		m.Ping = Ping{}
	}
	err = d.fields(t, n, func(key []byte) error {
		switch t {
		case TypeHello:
			return d.helloField(key, &m.Hello)
		case TypeInput:
			return d.inputField(key, &m.Input, &seen)
		case TypePing:
			return d.pingField(key, &m.Ping)
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	if t == TypeInput && seen&seenSeq == 0 {
		return badMessage("seq", ErrMissing)
	}
	if t == TypeInput && seen&seenAngle == 0 {
		return badMessage("angle", ErrMissing)
	}
	if d.r.Len() != 0 {
		return badMessage("", ErrTrailing)
	}
	m.Type = t
	return nil
}

// inputFields records which required input fields a frame carried.
type inputFields uint8

const (
	seenSeq inputFields = 1 << iota
	seenAngle
)

func (d *Decoder) helloField(key []byte, h *Hello) error {
	var err error
	switch string(key) {
	case "v":
		h.Version, err = d.int()
	case "name":
		h.Name, err = d.string(h.Name)
	case "token":
		h.Token, err = d.string(h.Token)
	default:
		err = d.skip()
	}
	return err
}

func (d *Decoder) inputField(key []byte, in *Input, seen *inputFields) error {
	var err error
	switch string(key) {
	case "seq":
		in.Seq, err = uintField[uint32](d)
		*seen |= seenSeq
	case "angle":
		in.Angle, err = d.number()
		if err == nil && (math.IsNaN(in.Angle) || math.IsInf(in.Angle, 0)) {
			err = ErrNotFinite
		}
		*seen |= seenAngle
	case "boost":
		in.Boost, err = d.bool()
	default:
		err = d.skip()
	}
	return err
}

func (d *Decoder) pingField(key []byte, p *Ping) error {
	var err error
	switch string(key) {
	case "c":
		p.C, err = d.int64()
	default:
		err = d.skip()
	}
	return err
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
		m.Welcome = Welcome{Terrain: m.Welcome.Terrain[:0], Rules: m.Welcome.Rules[:0]}
	case TypeSnap:
		m.Snap = Snap{Add: m.Snap.Add[:0], Upd: m.Snap.Upd[:0], Del: m.Snap.Del[:0]}
	case TypeDied:
		m.Died = Died{}
	case TypeBoard:
		m.Board = Board{Top: m.Board.Top[:0]}
	case TypePong:
		m.Pong = Pong{}
	case TypeError:
		m.Error = ErrorMessage{}
	}
	err = d.fields(t, n, func(key []byte) error {
		switch t {
		case TypeWelcome:
			return d.welcomeField(key, &m.Welcome)
		case TypeSnap:
			return d.snapField(key, &m.Snap)
		case TypeDied:
			return d.diedField(key, &m.Died)
		case TypeBoard:
			return d.boardField(key, &m.Board)
		case TypePong:
			return d.pongField(key, &m.Pong)
		}
		return d.errorField(key, &m.Error)
	})
	if err != nil {
		return err
	}
	if t == TypeWelcome && len(m.Welcome.Terrain) != m.Welcome.TerrainSize*m.Welcome.TerrainSize {
		return badMessage("terrain", ErrTerrainSize)
	}
	if d.r.Len() != 0 {
		return badMessage("", ErrTrailing)
	}
	m.Type = t
	return nil
}

// open finds a frame's message type, refuses one of the other direction
// (direction says which types are allowed), and positions the decoder on
// the top-level map's first key, returning the number of keys.
func (d *Decoder) open(frame []byte, direction func(Type) bool) (Type, int, error) {
	t, err := d.messageType(frame)
	if err != nil {
		return 0, 0, err
	}
	if !direction(t) {
		return 0, 0, badMessage("t", ErrUnknownType)
	}
	d.reset(frame)
	n, _ := d.mapLen() // messageType checked the header.
	return t, n, nil
}

// fields reads the n keys of a top-level map of type t: a repeated `t`
// must agree, every other key goes to field. Errors are wrapped as
// bad_message naming the key. field must not keep the key.
func (d *Decoder) fields(t Type, n int, field func(key []byte) error) error {
	for range n {
		key, err := d.key()
		if err != nil {
			return badMessage("", err)
		}
		if string(key) == "t" {
			err = d.sameType(t)
		} else {
			err = field(key)
		}
		if err != nil {
			return badMessage(string(key), err)
		}
	}
	return nil
}

// messageType finds the `t` of the map in frame. Our encoders put `t` first,
// but other libraries may not, and the fields of a message can only be
// decoded once its type is known; so this first pass stops at `t` and the
// caller decodes the fields in a second pass from the start.
func (d *Decoder) messageType(frame []byte) (Type, error) {
	d.reset(frame)
	c, err := d.peek()
	if err != nil {
		return 0, badMessage("", err)
	}
	switch {
	case c == neverUsed:
		return 0, badMessage("", ErrNotMsgpack)
	case !isMapCode(c):
		return 0, badMessage("", ErrNotMap)
	}
	n, err := d.mapLen()
	if err != nil {
		return 0, badMessage("", err)
	}
	for range n {
		key, err := d.key()
		if err != nil {
			return 0, badMessage("", err)
		}
		if string(key) != "t" {
			if err := d.skip(); err != nil {
				return 0, badMessage(string(key), err)
			}
			continue
		}
		name, err := d.stringBytes()
		if err != nil {
			return 0, badMessage("t", err)
		}
		t := typeNamed(name)
		if t == 0 {
			return 0, badMessage("t", ErrUnknownType)
		}
		return t, nil
	}
	return 0, badMessage("t", ErrMissingType)
}

// sameType decodes a repeated `t` and refuses it unless it names t.
func (d *Decoder) sameType(t Type) error {
	name, err := d.stringBytes()
	if err != nil {
		return err
	}
	if typeNamed(name) != t {
		return ErrTypeClash
	}
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
		err = d.addEntities(s)
	case "upd":
		var n int
		if n, err = d.arrayLen(); err != nil {
			return err
		}
		s.Upd = grow(s.Upd, n)
		for i := range s.Upd {
			if err := d.updEntity(&s.Upd[i]); err != nil {
				return err
			}
		}
	case "del":
		var n int
		if n, err = d.arrayLen(); err != nil {
			return err
		}
		s.Del = grow(s.Del, n)
		for i := range s.Del {
			if s.Del[i], err = uintField[uint32](d); err != nil {
				return err
			}
		}
	default:
		err = d.skip()
	}
	return err
}

func (d *Decoder) addEntities(s *Snap) error {
	n, err := d.arrayLen()
	if err != nil {
		return err
	}
	s.Add = grow(s.Add, n)
	for i := range s.Add {
		e := &s.Add[i]
		if err := d.tuple(6); err != nil {
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
	}
	return nil
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

func (d *Decoder) diedField(key []byte, m *Died) error {
	var err error
	switch string(key) {
	case "tick":
		m.Tick, err = uintField[uint64](d)
	case "by":
		m.By, err = uintField[uint32](d)
	case "name":
		m.Name, err = d.string(m.Name)
	case "mass":
		m.Mass, err = uintField[uint32](d)
	default:
		err = d.skip()
	}
	return err
}

func (d *Decoder) boardField(key []byte, b *Board) error {
	var err error
	switch string(key) {
	case "top":
		var n int
		if n, err = d.arrayLen(); err != nil {
			return err
		}
		b.Top = grow(b.Top, n)
		for i := range b.Top {
			e := &b.Top[i]
			if err := d.tuple(2); err != nil {
				return err
			}
			if e.Name, err = d.string(e.Name); err != nil {
				return err
			}
			if e.Mass, err = uintField[uint32](d); err != nil {
				return err
			}
		}
	case "count":
		b.Count, err = d.int()
	default:
		err = d.skip()
	}
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

// mapFields decodes a nested map with string keys, calling field for each
// key with the decoder at its value. Keys that are not strings are skipped
// with their values.
func (d *Decoder) mapFields(field func(key []byte) error) error {
	n, err := d.mapLen()
	if err != nil {
		return err
	}
	for range n {
		key, err := d.key()
		if err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
	}
	return nil
}

// grow returns s resized to n, reusing its capacity. Callers check n against
// the bytes left in the frame first, so a lying length cannot make it
// allocate more than the frame's size in elements.
func grow[S ~[]E, E any](s S, n int) S {
	return slices.Grow(s[:0], n)[:n]
}

// The helpers below read one value each. They return bare sentinel errors;
// the field loops wrap them with the key. Every length read from the frame is
// checked against the bytes left before it is used, which bounds allocation
// by the frame's size and keeps every slice expression in range.

// offset is the index in d.frame of the next unread byte.
func (d *Decoder) offset() int { return len(d.frame) - d.r.Len() }

// peek returns the next code without consuming it.
func (d *Decoder) peek() (byte, error) {
	if d.r.Len() == 0 {
		return 0, ErrTruncated
	}
	return d.frame[d.offset()], nil
}

// nextIs reports whether the next code is c.
func (d *Decoder) nextIs(c byte) bool {
	next, err := d.peek()
	return err == nil && next == c
}

// advance skips n bytes.
func (d *Decoder) advance(n int) error {
	if n < 0 || n > d.r.Len() { // Negative when a 32-bit int wraps a length.
		return ErrTruncated
	}
	_, err := d.r.Seek(int64(n), io.SeekCurrent)
	return err
}

// take consumes n bytes and returns them, borrowed from the frame.
func (d *Decoder) take(n int) ([]byte, error) {
	start := d.offset()
	if err := d.advance(n); err != nil {
		return nil, err
	}
	return d.frame[start : start+n], nil
}

// truncatedIf maps the msgpack decoder's read errors, which can only mean the
// frame ended early once the code has been checked, to ErrTruncated.
func truncatedIf(err error) error {
	if err != nil {
		return ErrTruncated
	}
	return nil
}

// neverUsed is the one code msgpack leaves undefined.
const neverUsed = 0xc1

func isMapCode(c byte) bool {
	return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32
}

func isArrayCode(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

// mapLen reads a map header. nil is not a map.
func (d *Decoder) mapLen() (int, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	if !isMapCode(c) {
		return 0, ErrWrongType
	}
	n, err := d.mp.DecodeMapLen()
	if err != nil {
		return 0, truncatedIf(err)
	}
	if n > d.r.Len()/2 { // Every key and value takes at least a byte.
		return 0, ErrTruncated
	}
	return n, nil
}

// arrayLen reads an array header. nil is not an array.
func (d *Decoder) arrayLen() (int, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	if !isArrayCode(c) {
		return 0, ErrWrongType
	}
	n, err := d.mp.DecodeArrayLen()
	if err != nil {
		return 0, truncatedIf(err)
	}
	if n > d.r.Len() { // Every element takes at least a byte.
		return 0, ErrTruncated
	}
	return n, nil
}

// tuple reads the header of an array that must have n elements.
func (d *Decoder) tuple(n int) error {
	got, err := d.arrayLen()
	if err == nil && got != n {
		err = ErrWrongType
	}
	return err
}

// key reads a map key. A key that is not a string cannot be one of ours, so
// it is skipped and returned as nil, which matches no field.
func (d *Decoder) key() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if !msgpcode.IsString(c) {
		return nil, d.skip()
	}
	n, err := d.mp.DecodeBytesLen()
	if err != nil {
		return nil, truncatedIf(err)
	}
	return d.take(n)
}

// stringBytes reads a string no longer than MaxStringLen, borrowed from the
// frame.
func (d *Decoder) stringBytes() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if !msgpcode.IsString(c) {
		return nil, ErrWrongType
	}
	n, err := d.mp.DecodeBytesLen()
	if err != nil {
		return nil, truncatedIf(err)
	}
	if n > MaxStringLen {
		return nil, ErrTooLong
	}
	return d.take(n)
}

// string reads a string, returning old instead of a new copy when it holds
// the same bytes, so that a reused message does not allocate for names that
// did not change.
func (d *Decoder) string(old string) (string, error) {
	b, err := d.stringBytes()
	if err != nil {
		return "", err
	}
	if string(b) == old {
		return old, nil
	}
	return string(b), nil
}

// bin reads a byte string into dst's storage.
func (d *Decoder) bin(dst []byte) ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if !msgpcode.IsBin(c) {
		return nil, ErrWrongType
	}
	n, err := d.mp.DecodeBytesLen()
	if err != nil {
		return nil, truncatedIf(err)
	}
	b, err := d.take(n)
	if err != nil {
		return nil, err
	}
	return append(dst[:0], b...), nil
}

func (d *Decoder) bool() (bool, error) {
	if !d.nextIs(msgpcode.True) && !d.nextIs(msgpcode.False) {
		return false, ErrWrongType
	}
	v, err := d.mp.DecodeBool()
	return v, truncatedIf(err)
}

// isSignedCode reports whether c starts a msgpack int that may be negative
// (the negative fixints and int8..int64).
func isSignedCode(c byte) bool {
	return c >= msgpcode.NegFixedNumLow || (c >= msgpcode.Int8 && c <= msgpcode.Int64)
}

// isUnsignedCode reports whether c starts a msgpack uint (the positive
// fixints and uint8..uint64).
func isUnsignedCode(c byte) bool {
	return c <= msgpcode.PosFixedNumHigh || (c >= msgpcode.Uint8 && c <= msgpcode.Uint64)
}

// uint64 reads an integer of any msgpack width that is not negative. The msgpack
// decoder alone would take nil as 0 and wrap negative numbers around.
func (d *Decoder) uint64() (uint64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	switch {
	case isUnsignedCode(c):
		n, err := d.mp.DecodeUint64()
		return n, truncatedIf(err)
	case isSignedCode(c):
		n, err := d.mp.DecodeInt64()
		if err != nil {
			return 0, ErrTruncated
		}
		if n < 0 {
			return 0, ErrOutOfRange
		}
		return uint64(n), nil
	}
	return 0, ErrWrongType
}

// uintField reads an integer that must fit in U.
func uintField[U uint8 | uint16 | uint32 | uint64](d *Decoder) (U, error) {
	n, err := d.uint64()
	if err != nil {
		return 0, err
	}
	if n > uint64(^U(0)) {
		return 0, ErrOutOfRange
	}
	return U(n), nil
}

// int64 reads an integer of any msgpack width that fits in an int64.
func (d *Decoder) int64() (int64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	switch {
	case isSignedCode(c):
		n, err := d.mp.DecodeInt64()
		return n, truncatedIf(err)
	case isUnsignedCode(c):
		n, err := d.mp.DecodeUint64()
		if err != nil {
			return 0, ErrTruncated
		}
		if n > math.MaxInt64 {
			return 0, ErrOutOfRange
		}
		return int64(n), nil
	}
	return 0, ErrWrongType
}

// int reads an integer that fits in an int.
func (d *Decoder) int() (int, error) {
	n, err := d.int64()
	if err != nil {
		return 0, err
	}
	if n < math.MinInt || n > math.MaxInt {
		return 0, ErrOutOfRange
	}
	return int(n), nil
}

// number reads any msgpack int or float as a float64: JavaScript encoders
// send whole numbers as ints.
func (d *Decoder) number() (float64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	switch {
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := d.mp.DecodeFloat64()
		return f, truncatedIf(err)
	case isUnsignedCode(c):
		n, err := d.mp.DecodeUint64()
		return float64(n), truncatedIf(err)
	case isSignedCode(c):
		n, err := d.mp.DecodeInt64()
		return float64(n), truncatedIf(err)
	}
	return 0, ErrWrongType
}

// skip skips one value of any type, nested ones included. It counts the
// values still to skip instead of recursing, so that deep nesting costs no
// stack; a count larger than the bytes left is refused at once.
func (d *Decoder) skip() error {
	for pending := 1; pending > 0; pending-- {
		c, err := d.peek()
		if err != nil {
			return err
		}
		switch {
		case msgpcode.IsFixedNum(c), c == msgpcode.Nil, c == msgpcode.False, c == msgpcode.True:
			err = d.advance(1)
		case msgpcode.IsString(c), msgpcode.IsBin(c):
			var n int
			if n, err = d.mp.DecodeBytesLen(); err == nil {
				err = d.advance(n)
			}
		case isMapCode(c):
			var n int
			if n, err = d.mapLen(); err == nil {
				pending += 2 * n
			}
		case isArrayCode(c):
			var n int
			if n, err = d.arrayLen(); err == nil {
				pending += n
			}
		case c == msgpcode.Uint8 || c == msgpcode.Int8:
			err = d.advance(2)
		case c == msgpcode.Uint16 || c == msgpcode.Int16:
			err = d.advance(3)
		case c == msgpcode.Uint32 || c == msgpcode.Int32 || c == msgpcode.Float:
			err = d.advance(5)
		case c == msgpcode.Uint64 || c == msgpcode.Int64 || c == msgpcode.Double:
			err = d.advance(9)
		case msgpcode.IsExt(c):
			err = d.skipExt(c)
		default:
			return ErrNotMsgpack
		}
		if err != nil {
			return truncatedIf(err)
		}
		if pending > d.r.Len()+1 { // +1: the value this iteration finishes.
			return ErrTruncated
		}
	}
	return nil
}

// skipExt skips an extension value, which the msgpack decoder has no public
// call for: a code, a length (implied for fixext), a type byte and the data.
func (d *Decoder) skipExt(c byte) error {
	switch c {
	case msgpcode.FixExt1:
		return d.advance(2 + 1)
	case msgpcode.FixExt2:
		return d.advance(2 + 2)
	case msgpcode.FixExt4:
		return d.advance(2 + 4)
	case msgpcode.FixExt8:
		return d.advance(2 + 8)
	case msgpcode.FixExt16:
		return d.advance(2 + 16)
	}
	lenSize := 4 // Ext32
	switch c {
	case msgpcode.Ext8:
		lenSize = 1
	case msgpcode.Ext16:
		lenSize = 2
	}
	header, err := d.take(1 + lenSize)
	if err != nil {
		return err
	}
	var n uint32
	for _, b := range header[1:] {
		n = n<<8 | uint32(b)
	}
	if uint64(n) >= uint64(d.r.Len()) { // The type byte and the data.
		return ErrTruncated
	}
	return d.advance(1 + int(n))
}
