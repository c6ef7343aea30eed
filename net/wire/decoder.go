package wire

import (
	"bytes"
	"errors"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
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

// finish returns err, or else the error for bytes after the top-level map:
// a decoder's last check, after its message's own.
func (d *Decoder) finish(err error) error {
	if err == nil && d.r.Len() != 0 {
		err = badMessage("", ErrTrailing)
	}
	return err
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
	if string(name) != t.String() {
		return ErrTypeClash
	}
	return nil
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

// list reads an array into s's storage, decoding each element in place
// with elem, and returns s resized to the array's length. After an error
// the elements from the bad one on hold whatever they held before.
func list[E any](d *Decoder, s []E, elem func(*Decoder, *E) error) ([]E, error) {
	n, err := d.arrayLen()
	if err != nil {
		return s, err
	}
	s = grow(s, n)
	for i := range s {
		if err := elem(d, &s[i]); err != nil {
			return s, err
		}
	}
	return s, nil
}

// grow returns s resized to n, reusing its capacity. Callers check n against
// the bytes left in the frame first, so a lying length cannot make it
// allocate more than the frame's size in elements.
func grow[S ~[]E, E any](s S, n int) S {
	return slices.Grow(s[:0], n)[:n]
}
