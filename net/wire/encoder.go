package wire

import (
	"github.com/vmihailenco/msgpack/v5"
)

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
	e.start(dst)
	e.mapLen(1 + fields)
	e.str("t")
	e.str(t.String())
}

// start makes the encoder append to dst.
func (e *Encoder) start(dst []byte) {
	if e.mp == nil {
		e.mp = msgpack.NewEncoder(&e.out)
		e.mp.UseCompactFloats(true)
	}
	e.out.buf = dst
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
