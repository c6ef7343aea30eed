package idtable

import "iter"

// Table maps uint32 ids to values of type V, kept in a dense slice in no
// particular order (see the package doc).
//
// Pointers returned by Add, Get and At stay valid until the next Add,
// Delete, DeleteAt or Clear: an Add may grow the slice, and a delete moves
// the last value into the gap.
//
// The zero Table is empty and ready to use. It is not safe for concurrent
// use.
type Table[V any] struct {
	slots []slot[V]
	// index is an open-addressed hash table (linear probing) of
	// positions in slots, plus one; 0 marks an empty place. Its length
	// is a power of two at least twice the values', so a probe is short,
	// and it is a few bytes a value where a Go map takes tens: a lookup
	// touches one or two cache lines, which is what applying deltas to
	// thousands of bots' tables, out of cache in turn, pays for.
	index []int32
	shift uint8 // 32 - log2(len(index)): a hash's top bits pick the place
}

// slot is one value with its id, which a delete needs to fix up the index
// of the value it moves.
type slot[V any] struct {
	id  uint32
	val V
}

// minIndex is the smallest index a table allocates.
const minIndex = 16

// home returns where id's probe starts: Fibonacci hashing, whose top
// bits spread the consecutive ids the arenas give out.
func (t *Table[V]) home(id uint32) int { return int((id * 0x9e3779b1) >> t.shift) }

// find returns the index place holding id, or -1.
func (t *Table[V]) find(id uint32) int {
	if len(t.index) == 0 {
		return -1
	}
	mask := len(t.index) - 1
	for i := t.home(id); ; i = (i + 1) & mask {
		at := t.index[i]
		if at == 0 {
			return -1
		}
		if t.slots[at-1].id == id {
			return i
		}
	}
}

// Len returns the number of values in the table.
func (t *Table[V]) Len() int { return len(t.slots) }

// Get returns a pointer to id's value, or nil if id is not in the table.
func (t *Table[V]) Get(id uint32) *V {
	i := t.find(id)
	if i < 0 {
		return nil
	}
	return &t.slots[t.index[i]-1].val
}

// Add returns a pointer to id's value, first adding id with the zero value
// if it is not in the table; added reports whether it did. One call serves
// both "is it new?" and "where does it go?": a known id costs one probe.
func (t *Table[V]) Add(id uint32) (v *V, added bool) {
	if 2*(len(t.slots)+1) > len(t.index) {
		t.grow()
	}
	mask := len(t.index) - 1
	i := t.home(id)
	for ; t.index[i] != 0; i = (i + 1) & mask {
		if at := t.index[i]; t.slots[at-1].id == id {
			return &t.slots[at-1].val, false
		}
	}
	t.slots = append(t.slots, slot[V]{id: id})
	t.index[i] = int32(len(t.slots))
	return &t.slots[len(t.slots)-1].val, true
}

// grow doubles the index (or makes the first) and places every value
// again.
func (t *Table[V]) grow() {
	n := max(minIndex, 2*len(t.index))
	t.index = make([]int32, n)
	t.shift = uint8(32 - bitsOf(n))
	mask := n - 1
	for at := range t.slots {
		i := t.home(t.slots[at].id)
		for t.index[i] != 0 {
			i = (i + 1) & mask
		}
		t.index[i] = int32(at + 1)
	}
}

// bitsOf returns log2 of a power of two.
func bitsOf(n int) int {
	b := 0
	for n > 1 {
		n >>= 1
		b++
	}
	return b
}

// unplace empties index place i and moves later entries of its probe run
// back into the gap where their probe allows (backward-shift deletion),
// so that no probe ever stops short at a hole.
func (t *Table[V]) unplace(i int) {
	mask := len(t.index) - 1
	for j := (i + 1) & mask; t.index[j] != 0; j = (j + 1) & mask {
		h := t.home(t.slots[t.index[j]-1].id)
		// The entry at j may fill the gap at i unless its home lies
		// cyclically within (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			t.index[i] = t.index[j]
			i = j
		}
	}
	t.index[i] = 0
}

// Delete removes id and its value, moving the last value into its slot,
// and reports whether id was in the table.
func (t *Table[V]) Delete(id uint32) bool {
	i := t.find(id)
	if i < 0 {
		return false
	}
	t.DeleteAt(int(t.index[i] - 1))
	return true
}

// At returns the id and a pointer to the value in slot i, for a walk over
// every value by position: for i in [0, Len()).
//
// Panics if i is out of range.
func (t *Table[V]) At(i int) (id uint32, v *V) {
	s := &t.slots[i]
	return s.id, &s.val
}

// DeleteAt removes the value in slot i and its id, moving the last value
// into slot i. A walk that deletes as it goes therefore looks at slot i
// again after DeleteAt(i) instead of moving on:
//
//	for i := 0; i < t.Len(); {
//		if _, v := t.At(i); keep(v) {
//			i++
//		} else {
//			t.DeleteAt(i)
//		}
//	}
//
// Panics if i is out of range.
func (t *Table[V]) DeleteAt(i int) {
	t.unplace(t.find(t.slots[i].id))
	last := len(t.slots) - 1
	if i != last {
		t.slots[i] = t.slots[last]
		t.index[t.find(t.slots[i].id)] = int32(i + 1)
	}
	// Zero the vacated slot so that it holds no pointer the value had (a
	// name, say) for the garbage collector to keep alive.
	t.slots[last] = slot[V]{}
	t.slots = t.slots[:last]
}

// Clear removes every id and value, keeping the storage for reuse.
func (t *Table[V]) Clear() {
	clear(t.index)
	clear(t.slots) // As in DeleteAt: keep nothing alive.
	t.slots = t.slots[:0]
}

// All yields every id with a pointer to its value, in slot order. The loop
// body must not add or delete; use At and DeleteAt for a walk that deletes.
func (t *Table[V]) All() iter.Seq2[uint32, *V] {
	return func(yield func(uint32, *V) bool) {
		for i := range t.slots {
			s := &t.slots[i]
			if !yield(s.id, &s.val) {
				return
			}
		}
	}
}
