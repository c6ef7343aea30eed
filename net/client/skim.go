package client

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/shatter/shatter/net/wire"
)

// errSkim is why skimSnap could not skim a frame: it is not a snap, or
// not one laid out the way skimSnap reads. The caller then decodes the
// frame in full, which reports what is wrong with it, if anything.
var errSkim = errors.New("client: not a snap to skim")

// skimSnap decodes a snap frame into s for Options.SkimSnaps: the tick,
// the ack, `you`, the eye and the add, upd and del lists, but not the
// names of added entities, which it leaves "". It walks the msgpack
// bytes itself: the full decoder (wire.Decoder) reads through a general
// msgpack library, and a load generator reading thousands of snaps a
// second would spend most of its time there.
//
// The top-level map's first key must be `t` naming a snap, as every
// encoder of ours writes it; otherwise, or on anything off the protocol,
// it returns errSkim, and s may be half filled: the caller decodes the
// frame again in full. Unknown keys are skipped, as the full decoder
// skips them; so are elements after those it reads in an entity record.
func skimSnap(frame []byte, s *wire.Snap) error {
	sk := skimmer{b: frame}
	n, ok := sk.mapLen()
	if !ok || n == 0 {
		return errSkim
	}
	if key, ok := sk.str(); !ok || string(key) != "t" {
		return errSkim
	}
	if name, ok := sk.str(); !ok || string(name) != "snap" {
		return errSkim
	}
	*s = wire.Snap{Add: s.Add[:0], Upd: s.Upd[:0], Del: s.Del[:0]}
	for range n - 1 {
		key, ok := sk.str()
		if !ok {
			return errSkim
		}
		switch string(key) {
		case "tick":
			s.Tick, ok = sk.uint(1<<64 - 1)
		case "ack":
			var v uint64
			v, ok = sk.uint(1<<32 - 1)
			s.Ack = uint32(v)
		case "you":
			if len(sk.b) > 0 && sk.b[0] == 0xc0 {
				sk.b = sk.b[1:]
				s.HasYou = false
				break
			}
			s.HasYou = true
			ok = sk.upd(&s.You)
			s.You.Marble, s.You.Heading, s.You.Flags = false, 0, 0
		case "add":
			var n int
			if n, ok = sk.arrayLen(); ok {
				s.Add = slices.Grow(s.Add[:0], n)[:n]
				for i := 0; ok && i < n; i++ {
					ok = sk.add(&s.Add[i])
				}
			}
		case "upd":
			var n int
			if n, ok = sk.arrayLen(); ok {
				s.Upd = slices.Grow(s.Upd[:0], n)[:n]
				for i := 0; ok && i < n; i++ {
					ok = sk.upd(&s.Upd[i])
				}
			}
		case "del":
			var n int
			if n, ok = sk.arrayLen(); ok {
				s.Del = slices.Grow(s.Del[:0], n)[:n]
				for i := 0; ok && i < n; i++ {
					var v uint64
					v, ok = sk.uint(1<<32 - 1)
					s.Del[i] = uint32(v)
				}
			}
		case "eye":
			var v uint64
			v, ok = sk.uint(1<<32 - 1)
			s.HasEye, s.Eye = true, uint32(v)
		case "t":
			ok = false // A second `t`: let the full decoder judge it.
		default:
			ok = sk.skip(0)
		}
		if !ok {
			return errSkim
		}
	}
	if len(sk.b) != 0 {
		return errSkim
	}
	return nil
}

// skimmer reads msgpack values from the front of b. Each method returns
// false, leaving b as it was or not, when b does not start with what it
// reads.
type skimmer struct {
	b []byte
}

// maxSkimDepth bounds the nesting skip follows, so that a hostile frame
// of nested arrays cannot exhaust the stack.
const maxSkimDepth = 16

// mapLen reads a map header.
func (s *skimmer) mapLen() (int, bool) {
	if len(s.b) == 0 {
		return 0, false
	}
	c := s.b[0]
	switch {
	case c&0xf0 == 0x80:
		s.b = s.b[1:]
		return int(c & 0x0f), true
	case c == 0xde:
		return s.length(2)
	case c == 0xdf:
		return s.length(4)
	}
	return 0, false
}

// arrayLen reads an array header.
func (s *skimmer) arrayLen() (int, bool) {
	if len(s.b) == 0 {
		return 0, false
	}
	c := s.b[0]
	switch {
	case c&0xf0 == 0x90:
		s.b = s.b[1:]
		return int(c & 0x0f), true
	case c == 0xdc:
		return s.length(2)
	case c == 0xdd:
		return s.length(4)
	}
	return 0, false
}

// length reads the big-endian length of size bytes after a header byte.
func (s *skimmer) length(size int) (int, bool) {
	if len(s.b) < 1+size {
		return 0, false
	}
	var n uint64
	if size == 2 {
		n = uint64(binary.BigEndian.Uint16(s.b[1:]))
	} else {
		n = uint64(binary.BigEndian.Uint32(s.b[1:]))
	}
	s.b = s.b[1+size:]
	if n > uint64(len(s.b)) { // Each element takes a byte at least.
		return 0, false
	}
	return int(n), true
}

// str reads a string, returning its bytes within b.
func (s *skimmer) str() ([]byte, bool) {
	if len(s.b) == 0 {
		return nil, false
	}
	c := s.b[0]
	var n, head int
	switch {
	case c&0xe0 == 0xa0:
		n, head = int(c&0x1f), 1
	case c == 0xd9 && len(s.b) >= 2:
		n, head = int(s.b[1]), 2
	case c == 0xda && len(s.b) >= 3:
		n, head = int(binary.BigEndian.Uint16(s.b[1:])), 3
	default:
		return nil, false
	}
	if len(s.b) < head+n {
		return nil, false
	}
	v := s.b[head : head+n]
	s.b = s.b[head+n:]
	return v, true
}

// uint reads a non-negative integer of at most limit.
func (s *skimmer) uint(limit uint64) (uint64, bool) {
	// Most of a snap's numbers are fixints: those are read here, inlined,
	// the rest by uintLong.
	if len(s.b) > 0 {
		if c := s.b[0]; c <= 0x7f {
			s.b = s.b[1:]
			return uint64(c), uint64(c) <= limit
		}
	}
	return s.uintLong(limit)
}

// uintLong reads a non-negative integer of at most limit that is not a
// positive fixint.
func (s *skimmer) uintLong(limit uint64) (uint64, bool) {
	if b := s.b; len(b) >= 3 && b[0] == 0xcd { // A position, most often.
		v := uint64(b[1])<<8 | uint64(b[2])
		s.b = b[3:]
		return v, v <= limit
	}
	v, neg, rest, ok := wire.SkimInt(s.b)
	if !ok || neg {
		return 0, false
	}
	s.b = rest
	return v, v <= limit
}

// upd reads an upd record: id, x, y and mass, then a marble's heading and
// flags when present, which set Marble; anything after is skipped.
func (s *skimmer) upd(e *wire.UpdEntity) bool {
	n, ok := s.arrayLen()
	if !ok || n < 4 {
		return false
	}
	id, ok1 := s.uint(1<<32 - 1)
	x, ok2 := s.uint(1<<16 - 1)
	y, ok3 := s.uint(1<<16 - 1)
	mass, ok4 := s.uint(1<<32 - 1)
	if !(ok1 && ok2 && ok3 && ok4) {
		return false
	}
	*e = wire.UpdEntity{ID: uint32(id), X: uint16(x), Y: uint16(y), Mass: uint32(mass)}
	e.Heading, e.Flags, e.Marble, ok = s.look(n - 4)
	return ok
}

// add reads an add record: id, kind, x, y, mass and a name it skips,
// then a marble's heading and flags when present; anything after is
// skipped.
func (s *skimmer) add(e *wire.AddEntity) bool {
	n, ok := s.arrayLen()
	if !ok || n < 6 {
		return false
	}
	id, ok1 := s.uint(1<<32 - 1)
	kind, ok2 := s.uint(1<<8 - 1)
	x, ok3 := s.uint(1<<16 - 1)
	y, ok4 := s.uint(1<<16 - 1)
	mass, ok5 := s.uint(1<<32 - 1)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return false
	}
	if _, ok := s.str(); !ok {
		return false
	}
	*e = wire.AddEntity{ID: uint32(id), Kind: uint8(kind), X: uint16(x), Y: uint16(y), Mass: uint32(mass)}
	e.Heading, e.Flags, _, ok = s.look(n - 6)
	return ok
}

// look reads the end of an entity record, extra elements being left: a
// marble's heading and flags when there are two or more, then skips the
// rest, as wire.Decoder's look does.
func (s *skimmer) look(extra int) (heading, flags uint8, marble, ok bool) {
	if extra >= 2 {
		h, ok1 := s.uint(1<<8 - 1)
		f, ok2 := s.uint(1<<8 - 1)
		if !ok1 || !ok2 {
			return 0, 0, false, false
		}
		heading, flags, marble, extra = uint8(h), uint8(f), true, extra-2
	}
	return heading, flags, marble, s.skipN(extra, 1)
}

// skip skips one value of any msgpack type, depth levels deep.
func (s *skimmer) skip(depth int) bool {
	if len(s.b) == 0 || depth > maxSkimDepth {
		return false
	}
	c := s.b[0]
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return s.advance(1)
	case c&0xe0 == 0xa0:
		return s.advance(1 + int(c&0x1f))
	case c&0xf0 == 0x80, c == 0xde, c == 0xdf:
		n, ok := s.mapLen()
		return ok && s.skipN(2*n, depth+1)
	case c&0xf0 == 0x90, c == 0xdc, c == 0xdd:
		n, ok := s.arrayLen()
		return ok && s.skipN(n, depth+1)
	}
	switch c {
	case 0xcc, 0xd0:
		return s.advance(2)
	case 0xcd, 0xd1:
		return s.advance(3)
	case 0xca, 0xce, 0xd2:
		return s.advance(5)
	case 0xcb, 0xcf, 0xd3:
		return s.advance(9)
	case 0xd4:
		return s.advance(3)
	case 0xd5:
		return s.advance(4)
	case 0xd6:
		return s.advance(6)
	case 0xd7:
		return s.advance(10)
	case 0xd8:
		return s.advance(18)
	case 0xc4, 0xd9: // bin 8, str 8
		return len(s.b) >= 2 && s.advance(2+int(s.b[1]))
	case 0xc5, 0xda: // bin 16, str 16
		return len(s.b) >= 3 && s.advance(3+int(binary.BigEndian.Uint16(s.b[1:])))
	case 0xc6, 0xdb: // bin 32, str 32
		return len(s.b) >= 5 && s.advance(5+int(binary.BigEndian.Uint32(s.b[1:])))
	case 0xc7: // ext 8
		return len(s.b) >= 2 && s.advance(3+int(s.b[1]))
	case 0xc8: // ext 16
		return len(s.b) >= 3 && s.advance(4+int(binary.BigEndian.Uint16(s.b[1:])))
	case 0xc9: // ext 32
		return len(s.b) >= 5 && s.advance(6+int(binary.BigEndian.Uint32(s.b[1:])))
	}
	return false // 0xc1, never used
}

// skipN skips n values.
func (s *skimmer) skipN(n, depth int) bool {
	for range n {
		if !s.skip(depth) {
			return false
		}
	}
	return true
}

// advance drops n bytes.
func (s *skimmer) advance(n int) bool {
	if n < 0 || n > len(s.b) {
		return false
	}
	s.b = s.b[n:]
	return true
}
