package sim

import (
	"cmp"
	"slices"
)

// slotBook gives the marbles of an arena their slots (Frame.Slots): a
// small number each, held for a marble's life in the arena and given to
// another after it leaves, so that a reader can keep which marbles it
// was sent as a few bits a slot instead of a table of ids, and ask the
// frame which of them changed or left since. Owned by the frame builder.
type slotBook struct {
	// held lists the marbles of the last frame by id, with their slots;
	// next is where the next list is made.
	held, next []heldSlot
	// slots is each slot's state, records the record its holder last
	// showed, free the slots no marble holds (taken last freed first).
	slots   []Slot
	records []slotRecord
	free    []int32
	// vacated[vacFirst:] lists who left a slot in the last goneSeconds,
	// in the order they left.
	vacated  []Vacated
	vacFirst int
	byID     []idAt
	// of[i] is the slot of the builder's scratch[i].
	of []int32
}

type heldSlot struct {
	id   uint32
	slot int32
}

// slotRecord is what a marble's upd record says; a change of it is what
// Slot.Change marks.
type slotRecord struct {
	qx, qy         uint16
	mass           uint32
	heading, flags uint8
}

func recordOf(e *Entity) slotRecord {
	return slotRecord{qx: e.QX, qy: e.QY, mass: e.Mass, heading: e.Heading, flags: e.Flags}
}

// reserve makes room for an arena of up to marbles marbles at once.
func (k *slotBook) reserve(marbles int) {
	n := marbles + 16
	k.held, k.next = make([]heldSlot, 0, n), make([]heldSlot, 0, n)
	k.slots, k.records, k.free = make([]Slot, 0, n), make([]slotRecord, 0, n), make([]int32, 0, n)
	k.byID, k.of = make([]idAt, 0, n), make([]int32, 0, n)
	k.vacated = make([]Vacated, 0, 2*n)
}

// assign gives the marbles of a tick (the builder's scratch, flags set)
// their slots: those that were in the last frame keep theirs, those that
// are not any more vacate theirs, and new ones take a free one. It merges
// the tick's marbles, sorted by id, with the last frame's, so it needs no
// map and allocates nothing once its lists have grown.
func (k *slotBook) assign(marbles []Entity, tick uint64) {
	k.byID = k.byID[:0]
	for i := range marbles {
		k.byID = append(k.byID, idAt{id: marbles[i].ID, at: int32(i)})
	}
	slices.SortFunc(k.byID, func(p, q idAt) int { return cmp.Compare(p.id, q.id) })
	k.of = slices.Grow(k.of[:0], len(marbles))[:len(marbles)]
	k.next = k.next[:0]
	// First those that stay and those that left, then the new ones, so
	// that a slot vacated in this tick is free for them: the slots never
	// outnumber the most marbles the arena held at once.
	j := 0
	for _, m := range k.byID {
		for j < len(k.held) && k.held[j].id < m.id {
			k.vacate(k.held[j], tick)
			j++
		}
		if j < len(k.held) && k.held[j].id == m.id {
			s := k.held[j].slot
			j++
			if rec := recordOf(&marbles[m.at]); k.records[s] != rec {
				k.records[s], k.slots[s].Change = rec, tick
			}
			k.of[m.at] = s
		} else {
			k.of[m.at] = -1 // new: given a slot below
		}
	}
	for ; j < len(k.held); j++ {
		k.vacate(k.held[j], tick)
	}
	for _, m := range k.byID {
		if k.of[m.at] < 0 {
			k.of[m.at] = k.take(m.id, recordOf(&marbles[m.at]), tick)
		}
		k.next = append(k.next, heldSlot{id: m.id, slot: k.of[m.at]})
	}
	k.held, k.next = k.next, k.held
}

// take gives marble id a slot from tick on.
func (k *slotBook) take(id uint32, rec slotRecord, tick uint64) int32 {
	var s int32
	if n := len(k.free); n > 0 {
		s, k.free = k.free[n-1], k.free[:n-1]
	} else {
		s = int32(len(k.slots))
		k.slots, k.records = append(k.slots, Slot{}), append(k.records, slotRecord{})
	}
	k.slots[s], k.records[s] = Slot{ID: id, Taken: tick, Change: tick}, rec
	return s
}

// vacate frees the slot of a marble the tick's frame no longer shows.
func (k *slotBook) vacate(h heldSlot, tick uint64) {
	k.vacated = append(k.vacated, Vacated{ID: h.id, Slot: h.slot, Taken: k.slots[h.slot].Taken, Left: tick})
	k.slots[h.slot] = Slot{}
	k.free = append(k.free, h.slot)
}

// forget drops who left a slot at or before cutoff (see
// frameBuilder.forget).
func (k *slotBook) forget(cutoff uint64) {
	i := k.vacFirst
	for i < len(k.vacated) && k.vacated[i].Left <= cutoff {
		i++
	}
	k.vacated, k.vacFirst = trimFront(k.vacated, i)
}
