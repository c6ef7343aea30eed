package wire

import (
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The Decoder's msgpack reading primitives: each reads one value. They
// return bare sentinel errors; the field loops wrap them with the key. Every
// length read from the frame is checked against the bytes left before it is
// used, which bounds allocation by the frame's size and keeps every slice
// expression in range.

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

// record reads the header of an array of at least n elements, a record
// that may have grown at the end, and returns how many elements follow the
// n the caller knows.
func (d *Decoder) record(n int) (extra int, err error) {
	got, err := d.arrayLen()
	if err != nil {
		return 0, err
	}
	if got < n {
		return 0, ErrWrongType
	}
	return got - n, nil
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
