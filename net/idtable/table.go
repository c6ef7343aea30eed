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
	// index maps each id in slots to its position. int32, not int, halves
	// the map's values; a table never holds 2^31 entities.
	index map[uint32]int32
}

// slot is one value with its id, which a delete needs to fix up the index
// of the value it moves.
type slot[V any] struct {
	id  uint32
	val V
}

// Len returns the number of values in the table.
func (t *Table[V]) Len() int { return len(t.slots) }

// Get returns a pointer to id's value, or nil if id is not in the table.
func (t *Table[V]) Get(id uint32) *V {
	at, ok := t.index[id]
	if !ok {
		return nil
	}
	return &t.slots[at].val
}

// Add returns a pointer to id's value, first adding id with the zero value
// if it is not in the table; added reports whether it did. One call serves
// both "is it new?" and "where does it go?", so that a new id costs one
// map lookup and one map insert, and a known one a single lookup.
func (t *Table[V]) Add(id uint32) (v *V, added bool) {
	if at, ok := t.index[id]; ok {
		return &t.slots[at].val, false
	}
	if t.index == nil {
		t.index = make(map[uint32]int32)
	}
	t.index[id] = int32(len(t.slots))
	t.slots = append(t.slots, slot[V]{id: id})
	return &t.slots[len(t.slots)-1].val, true
}

// Delete removes id and its value, moving the last value into its slot,
// and reports whether id was in the table.
func (t *Table[V]) Delete(id uint32) bool {
	at, ok := t.index[id]
	if ok {
		t.DeleteAt(int(at))
	}
	return ok
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
	delete(t.index, t.slots[i].id)
	last := len(t.slots) - 1
	if i != last {
		t.slots[i] = t.slots[last]
		t.index[t.slots[i].id] = int32(i)
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
