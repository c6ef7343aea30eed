package ecs

// Cells holds one slice per grid cell, for entities that do not move
// (fragments, spike balls and their frame records). Every cell has a home
// block, all of one room and carved from one backing array, which covers an
// average cell's churn. A cell that outgrows its home (a bust or a
// spike-ball hit scatters a cluster of fragments into it) borrows a spill
// block from a free list, and Settle gives the block back once the cell
// fits home again. So the spill blocks in use follow the clusters alive at
// once, not every cell that ever held one, and once the arena has seen its
// busiest moment no insert allocates: a long-running server reaches that
// high-water mark early and stays there. A cell's items keep their order
// through every move, so whatever reads them stays deterministic.
//
// Owned by the arena goroutine.
type Cells[T any] struct {
	cells   [][]T
	home    int // the room of every home block
	backing []T // cell c's home is backing[c*home : (c+1)*home]
	// spillRoom is the room of the smallest spill block; class k holds
	// spillRoom<<k items.
	spillRoom int
	free      [][][]T // free spill blocks by class
	spilled   []int32 // the cells living in a spill block, for Settle
}

// NewCells returns n empty cells, each with a home of room items.
func NewCells[T any](n, room int) *Cells[T] {
	room = max(room, 1)
	x := &Cells[T]{cells: make([][]T, n), home: room, backing: make([]T, n*room),
		spillRoom: max(overflowRoom, 2*room)}
	for c := range x.cells {
		x.cells[c] = x.backing[c*room : c*room : (c+1)*room]
	}
	return x
}

// overflowRoom is the least room of a spill block: a shatter scatters at
// most MaxShatterFragments (40 by default) over a few cells, so a cell
// reaches a cluster's size in one move, not a move at every doubling.
const overflowRoom = 32

// Reserve makes spill blocks ahead of need, from one allocation: blocks of
// the smallest class, and for the rarer cells that a second cluster
// crowds, one in eight as many of twice the room and one in sixty-four of
// four times (the proportions BenchmarkTick's arenas reached). An arena
// sized for a population then borrows from them instead of allocating
// while it plays.
func (x *Cells[T]) Reserve(blocks int) {
	counts := [...]int{blocks, blocks/8 + 1, blocks/64 + 1}
	total := 0
	for k, n := range counts {
		total += n * x.spillRoom << k
	}
	backing := make([]T, total)
	for len(x.free) < len(counts) {
		x.free = append(x.free, nil)
	}
	for k, n := range counts {
		room := x.spillRoom << k
		x.free[k] = append(make([][]T, 0, len(x.free[k])+n), x.free[k]...)
		for range n {
			x.free[k] = append(x.free[k], backing[:0:room])
			backing = backing[room:]
		}
	}
	x.spilled = append(make([]int32, 0, cap(x.spilled)+blocks), x.spilled...)
}

// Len returns the number of cells.
func (x *Cells[T]) Len() int { return len(x.cells) }

// Cell returns the items of cell c. The slice is only valid until the next
// Append, RemoveAt, DropFirst or Settle.
func (x *Cells[T]) Cell(c int) []T { return x.cells[c] }

// All returns every cell's items, indexed by cell, valid as Cell's are.
func (x *Cells[T]) All() [][]T { return x.cells }

// Append adds v at the end of cell c.
func (x *Cells[T]) Append(c int, v T) {
	s := x.cells[c]
	if len(s) == cap(s) {
		s = x.spill(c, s)
	}
	x.cells[c] = append(s, v)
}

// RemoveAt deletes item i of cell c; the cell's last item takes its place.
// The cell stays where it lives: a caller walking it backwards may go on.
func (x *Cells[T]) RemoveAt(c, i int) {
	s := x.cells[c]
	last := len(s) - 1
	s[i] = s[last]
	var zero T
	s[last] = zero
	x.cells[c] = s[:last]
}

// DropFirst deletes the first n items of cell c; the others keep their
// order.
func (x *Cells[T]) DropFirst(c, n int) {
	s := x.cells[c]
	k := copy(s, s[n:])
	clear(s[k:])
	x.cells[c] = s[:k]
}

// Settle moves every spilled cell that fits its home again back there and
// frees its spill block. Call it once a tick where no cell's slice is held.
func (x *Cells[T]) Settle() {
	for i := 0; i < len(x.spilled); {
		c := int(x.spilled[i])
		s := x.cells[c]
		if len(s) > x.home {
			i++
			continue
		}
		x.cells[c] = append(x.backing[c*x.home:c*x.home:(c+1)*x.home], s...)
		x.give(s)
		last := len(x.spilled) - 1
		x.spilled[i] = x.spilled[last]
		x.spilled = x.spilled[:last]
	}
}

// spill moves full cell c into a spill block twice its room or more and
// returns it; a spill block it leaves goes back to the free list.
func (x *Cells[T]) spill(c int, s []T) []T {
	k := 0
	for x.spillRoom<<k <= len(s) {
		k++
	}
	b := x.take(k)
	b = append(b, s...)
	if cap(s) == x.home {
		x.spilled = append(x.spilled, int32(c))
	} else {
		x.give(s)
	}
	return b
}

// take returns an empty spill block of class k, made if none is free.
func (x *Cells[T]) take(k int) []T {
	for len(x.free) <= k {
		x.free = append(x.free, nil)
	}
	if n := len(x.free[k]); n > 0 {
		b := x.free[k][n-1]
		x.free[k] = x.free[k][:n-1]
		return b
	}
	return make([]T, 0, x.spillRoom<<k)
}

// give clears spill block s, so it holds on to nothing, and frees it.
func (x *Cells[T]) give(s []T) {
	s = s[:cap(s)]
	clear(s)
	k := 0
	for x.spillRoom<<k < len(s) {
		k++
	}
	x.free[k] = append(x.free[k], s[:0])
}
