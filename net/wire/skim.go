package wire

import (
	"encoding/binary"
	"math"
)

// inputHead is how every input our Encoder and the web client's msgpack
// encoder write begins after the map header: the key `t` and the value
// "input", both as fixstr.
const inputHead = "\xa1t\xa5input"

// skimInput decodes frame if it is an input laid out the way clients
// write one, and reports whether it did. It is DecodeClient's fast path
// for the message every playing client sends 20 times a second: it
// walks the msgpack bytes itself instead of going through the msgpack
// library, and in one pass instead of messageType's and then the
// fields'.
//
// The layout it takes is a fixmap whose first key is `t` naming input,
// whose other keys are fixstr keys among seq, angle and boost (in any
// order, repeated or not, seq and angle present), with values that the
// full decoder accepts, and nothing after the map. For such a frame it
// gives exactly what DecodeClient's full decoder gives: it checks the
// same ranges (seq a non-negative integer of any width that fits in a
// uint32), refuses a non-finite angle, converts numbers the same way,
// and, like it, keeps the last value of a repeated key. For anything
// else, unknown keys included, it returns false, and the full decoder
// decides, reporting what is wrong, if anything. FuzzSkimInput holds it
// to that.
func skimInput(frame []byte) (Input, bool) {
	if len(frame) < 1+len(inputHead) || frame[0]&0xf0 != 0x80 || string(frame[1:1+len(inputHead)]) != inputHead {
		return Input{}, false
	}
	n, b := int(frame[0]&0x0f), frame[1+len(inputHead):]
	var in Input
	var seen inputFields
	for range n - 1 {
		if len(b) == 0 || b[0]&0xe0 != 0xa0 || len(b) < 1+int(b[0]&0x1f) {
			return Input{}, false
		}
		key := b[1 : 1+int(b[0]&0x1f)]
		b = b[1+len(key):]
		var ok bool
		switch string(key) {
		case "seq":
			var v uint64
			v, b, ok = skimUint(b)
			ok = ok && v <= math.MaxUint32
			in.Seq = uint32(v)
			seen |= seenSeq
		case "angle":
			in.Angle, b, ok = skimNumber(b)
			ok = ok && !math.IsNaN(in.Angle) && !math.IsInf(in.Angle, 0)
			seen |= seenAngle
		case "boost":
			ok = len(b) > 0 && (b[0] == 0xc2 || b[0] == 0xc3)
			if ok {
				in.Boost, b = b[0] == 0xc3, b[1:]
			}
		}
		if !ok {
			return Input{}, false
		}
	}
	if seen != seenSeq|seenAngle || len(b) != 0 {
		return Input{}, false
	}
	return in, true
}

// skimUint reads a msgpack integer of any width that is not negative,
// as Decoder.uint64 does, and returns it with the bytes after it.
func skimUint(b []byte) (uint64, []byte, bool) {
	v, neg, b, ok := SkimInt(b)
	return v, b, ok && !neg
}

// skimNumber reads any msgpack int or float as a float64, converting as
// Decoder.number does, and returns it with the bytes after it.
func skimNumber(b []byte) (float64, []byte, bool) {
	if len(b) == 0 {
		return 0, b, false
	}
	switch b[0] {
	case 0xcb: // float 64: most angles
		if len(b) < 9 {
			return 0, b, false
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b[1:])), b[9:], true
	case 0xca: // float 32
		if len(b) < 5 {
			return 0, b, false
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:]))), b[5:], true
	}
	v, neg, b, ok := SkimInt(b)
	if neg {
		return float64(int64(v)), b, ok
	}
	return float64(v), b, ok
}

// SkimInt reads a msgpack integer of any width from the start of b and
// returns its bits (an int64's when neg is set, a uint64's otherwise)
// with the bytes after it; ok is false, and rest is b, when b does not
// start with one. It serves the decoders that walk msgpack bytes
// themselves: skimInput here, the client's snap skimmer (net/client).
func SkimInt(b []byte) (v uint64, neg bool, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, false, b, false
	}
	c := b[0]
	switch {
	case c <= 0x7f:
		return uint64(c), false, b[1:], true
	case c >= 0xe0: // A negative fixint.
		return uint64(int64(int8(c))), true, b[1:], true
	}
	var size int
	switch c {
	case 0xcc, 0xd0:
		size = 1
	case 0xcd, 0xd1:
		size = 2
	case 0xce, 0xd2:
		size = 4
	case 0xcf, 0xd3:
		size = 8
	default:
		return 0, false, b, false
	}
	if len(b) < 1+size {
		return 0, false, b, false
	}
	p := b[1 : 1+size]
	switch size {
	case 1:
		v = uint64(p[0])
	case 2:
		v = uint64(binary.BigEndian.Uint16(p))
	case 4:
		v = uint64(binary.BigEndian.Uint32(p))
	default:
		v = binary.BigEndian.Uint64(p)
	}
	if c >= 0xd0 { // A signed code: sign-extend its bits.
		shift := 64 - 8*size
		v = uint64(int64(v<<shift) >> shift)
		neg = int64(v) < 0
	}
	return v, neg, b[1+size:], true
}
