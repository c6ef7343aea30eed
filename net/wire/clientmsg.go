package wire

import "math"

// ClientMessage is one decoded client frame. Only the part that Type names
// is meaningful; the others keep whatever an earlier decode left there, so
// that one ClientMessage can be reused for every frame of a session.
type ClientMessage struct {
	Type  Type
	Hello Hello
	Input Input
	Ping  Ping
	Watch Watch
	// Replay is a replay viewer's control (PROTOCOL.md "Replay viewer").
	Replay ReplayControl
	// A spawn carries no fields.
}

// Watch picks the marble a session spectates while it is not alive.
type Watch struct {
	// ID is the marble's entity id; 0 (or a missing `id`) goes back to the
	// leader.
	ID uint32
}

// Hello is the first message of a session.
type Hello struct {
	// Version is `v`, the protocol version the client speaks. The decoder
	// does not check it: answering a wrong one with a version error is the
	// server's decision. Missing `v` decodes as 0.
	Version int
	// Name is the player's wished-for name, as sent (untrimmed, unvalidated).
	Name string
	// Token is the resume token of a recent session, or "" for a new one.
	// The encoder leaves the key out when it is "".
	Token string
	// Seat is a seat reserved for this connection by a moved message or
	// GET /join (PROTOCOL.md, Fleet), or "" for none; it wins over Token.
	// The encoder leaves the key out when it is "".
	Seat string
}

// Input is the player's heading and boost wish.
type Input struct {
	// Seq is strictly increasing per session; the server echoes the last
	// one it applied as a snap's ack.
	Seq uint32
	// Angle is the heading in radians: 0 along +x, growing toward +y.
	// The decoder accepts any msgpack int or float and refuses non-finite
	// values.
	Angle float64
	// Boost is the boost wish; missing `boost` decodes as false.
	Boost bool
}

// Ping asks the server for a pong.
type Ping struct {
	// C is echoed in the pong, so a client can match the two.
	C int64
}

// AppendHello appends a hello to dst and returns the extended slice. The
// token and seat keys are left out when h.Token and h.Seat are "", so that
// a hello without them is the same bytes as before seats existed.
func (e *Encoder) AppendHello(dst []byte, h *Hello) []byte {
	fields := 2
	if h.Token != "" {
		fields++
	}
	if h.Seat != "" {
		fields++
	}
	e.begin(dst, TypeHello, fields)
	e.str("v")
	e.int(int64(h.Version))
	e.str("name")
	e.str(h.Name)
	if h.Token != "" {
		e.str("token")
		e.str(h.Token)
	}
	if h.Seat != "" {
		e.str("seat")
		e.str(h.Seat)
	}
	return e.end()
}

// AppendSpawn appends a spawn to dst and returns the extended slice.
func (e *Encoder) AppendSpawn(dst []byte) []byte {
	e.begin(dst, TypeSpawn, 0)
	return e.end()
}

// AppendInput appends an input to dst and returns the extended slice.
func (e *Encoder) AppendInput(dst []byte, in *Input) []byte {
	e.begin(dst, TypeInput, 3)
	e.str("seq")
	e.uint(uint64(in.Seq))
	e.str("angle")
	e.number(in.Angle)
	e.str("boost")
	e.bool(in.Boost)
	return e.end()
}

// AppendPing appends a ping to dst and returns the extended slice.
func (e *Encoder) AppendPing(dst []byte, p *Ping) []byte {
	e.begin(dst, TypePing, 1)
	e.str("c")
	e.int(p.C)
	return e.end()
}

// AppendWatch appends a watch to dst and returns the extended slice.
func (e *Encoder) AppendWatch(dst []byte, w *Watch) []byte {
	e.begin(dst, TypeWatch, 1)
	e.str("id")
	e.uint(uint64(w.ID))
	return e.end()
}

// DecodeClient decodes one client frame's payload into m. On success m.Type
// and the part of m it names are set; nothing else in m changes. Unknown keys
// are skipped, keys may come in any order, and integers of any width and
// sign are accepted where they fit the field. Names, tokens and seats are
// returned as sent: validating them is the server's job.
//
// The error is a *DecodeError for every frame PROTOCOL.md calls a
// bad_message: not msgpack, not a map, missing or unknown `t` (server types
// included), a field of the wrong type or out of its range, a non-finite
// angle, an input without seq or angle, a replay whose op is unknown or
// whose arg is missing or out of its range, or bytes after the map. The
// version error is the caller's to decide from m.Hello.Version. After an
// error m.Type is unchanged, but the part of m that the frame's `t` names may
// be partly overwritten.
func (d *Decoder) DecodeClient(frame []byte, m *ClientMessage) error {
	if in, ok := skimInput(frame); ok {
		m.Type, m.Input = TypeInput, in
		return nil
	}
	return d.decodeClient(frame, m)
}

// decodeClient is DecodeClient without the fast path for inputs: the
// full decoder, which decides every frame skimInput passes over.
func (d *Decoder) decodeClient(frame []byte, m *ClientMessage) error {
	t, n, err := d.open(frame, Type.fromClient)
	if err != nil {
		return err
	}
	switch t {
	case TypeHello:
		m.Hello = Hello{}
		err = d.fields(t, n, func(key []byte) error { return d.helloField(key, &m.Hello) })
	case TypeSpawn:
		err = d.fields(t, n, func([]byte) error { return d.skip() })
	case TypeInput:
		m.Input = Input{}
		var seen inputFields
		err = d.fields(t, n, func(key []byte) error { return d.inputField(key, &m.Input, &seen) })
		if err == nil {
			err = seen.missing()
		}
	case TypePing:
		m.Ping = Ping{}
		err = d.fields(t, n, func(key []byte) error { return d.pingField(key, &m.Ping) })
	case TypeWatch:
		m.Watch = Watch{}
		err = d.fields(t, n, func(key []byte) error { return d.watchField(key, &m.Watch) })
	case TypeReplay:
		m.Replay = ReplayControl{}
		var seen replayFields
		err = d.fields(t, n, func(key []byte) error { return d.replayField(key, &m.Replay, &seen) })
		if err == nil {
			err = checkReplay(&m.Replay, seen)
		}
	}
	if err := d.finish(err); err != nil {
		return err
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

// missing returns the error for the first required input field that seen
// lacks, or nil.
func (seen inputFields) missing() error {
	switch {
	case seen&seenSeq == 0:
		return badMessage("seq", ErrMissing)
	case seen&seenAngle == 0:
		return badMessage("angle", ErrMissing)
	}
	return nil
}

func (d *Decoder) helloField(key []byte, h *Hello) error {
	var err error
	switch string(key) {
	case "v":
		h.Version, err = d.int()
	case "name":
		h.Name, err = d.string(h.Name)
	case "token":
		h.Token, err = d.string(h.Token)
	case "seat":
		h.Seat, err = d.string(h.Seat)
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

func (d *Decoder) watchField(key []byte, w *Watch) error {
	if string(key) == "id" {
		var err error
		w.ID, err = uintField[uint32](d)
		return err
	}
	return d.skip()
}
