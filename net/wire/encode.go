package wire

import "github.com/vmihailenco/msgpack/v5"

// Encoder encodes messages in both directions, appending each to a byte
// slice the caller reuses, so that steady-state encoding allocates nothing.
// It drives msgpack's typed Encode calls, never reflection, and writes every
// integer in its smallest msgpack form. Numbers that may have a fraction
// (angles, arena sizes, rule values) are written as ints when they are whole,
// as JavaScript encoders do, and as float64 otherwise.
//
// Every message is a map whose first key is `t`; the other keys follow in
// PROTOCOL.md's order, and every field is always written, so the output for
// a given message is always the same bytes.
//
// The zero Encoder is ready to use. An Encoder is not safe for concurrent
// use and must not be copied after its first use; give each writing
// goroutine its own.
type Encoder struct {
	out appendWriter
	mp  *msgpack.Encoder
}

// appendWriter is the msgpack encoder's destination: it appends to the
// caller's slice. It never fails, so neither do the encoder's calls.
type appendWriter struct {
	buf []byte
}

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.buf = append(w.buf, c)
	return nil
}

// begin starts a message of type t with fields keys besides `t`, appending
// to dst.
func (e *Encoder) begin(dst []byte, t Type, fields int) {
	if e.mp == nil {
		e.mp = msgpack.NewEncoder(&e.out)
		e.mp.UseCompactFloats(true)
	}
	e.out.buf = dst
	e.mapLen(1 + fields)
	e.str("t")
	e.str(t.String())
}

// end returns the encoded message and forgets the caller's slice.
func (e *Encoder) end() []byte {
	b := e.out.buf
	e.out.buf = nil
	return b
}

// The msgpack encoder's calls fail only when its writer does, and
// appendWriter never does, so these wrappers drop the errors.

func (e *Encoder) mapLen(n int)     { _ = e.mp.EncodeMapLen(n) }
func (e *Encoder) arrayLen(n int)   { _ = e.mp.EncodeArrayLen(n) }
func (e *Encoder) str(s string)     { _ = e.mp.EncodeString(s) }
func (e *Encoder) uint(n uint64)    { _ = e.mp.EncodeUint(n) }
func (e *Encoder) int(n int64)      { _ = e.mp.EncodeInt(n) }
func (e *Encoder) number(f float64) { _ = e.mp.EncodeFloat64(f) }
func (e *Encoder) bool(b bool)      { _ = e.mp.EncodeBool(b) }
func (e *Encoder) nil()             { _ = e.mp.EncodeNil() }

// bin writes b as a msgpack bin, empty rather than nil when b is empty
// (msgpack's EncodeBytes writes nil for a nil slice).
func (e *Encoder) bin(b []byte) {
	_ = e.mp.EncodeBytesLen(len(b))
	e.out.buf = append(e.out.buf, b...)
}

func (e *Encoder) updEntity(u UpdEntity) {
	e.arrayLen(4)
	e.uint(uint64(u.ID))
	e.uint(uint64(u.X))
	e.uint(uint64(u.Y))
	e.uint(uint64(u.Mass))
}

// AppendHello appends a hello to dst and returns the extended slice. The
// token key is left out when h.Token is "".
func (e *Encoder) AppendHello(dst []byte, h *Hello) []byte {
	fields := 2
	if h.Token != "" {
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

// AppendDied appends a died to dst and returns the extended slice.
func (e *Encoder) AppendDied(dst []byte, m *Died) []byte {
	e.begin(dst, TypeDied, 4)
	e.str("tick")
	e.uint(m.Tick)
	e.str("by")
	e.uint(uint64(m.By))
	e.str("name")
	e.str(m.Name)
	e.str("mass")
	e.uint(uint64(m.Mass))
	return e.end()
}

// AppendBoard appends a board to dst and returns the extended slice.
func (e *Encoder) AppendBoard(dst []byte, b *Board) []byte {
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
