package ecs_test

import (
	"slices"
	"testing"

	"github.com/shatter/shatter/ecs"
)

// TestCellsMatchesPlainSlices drives Cells and a plain slice per cell with
// the same random appends, swap-removes, drops from the front and
// settles: whether a cell lives home or in a spill block of any class, it
// must hold the same items in the same order, and its neighbours must be
// untouched.
func TestCellsMatchesPlainSlices(t *testing.T) {
	const cells, room = 4, 3
	x := ecs.NewCells[int](cells, room)
	model := make([][]int, cells)
	r := ecs.NewRand(5)
	next, longest := 0, 0
	for step := range 20000 {
		c := r.Intn(cells)
		// Phases of growth and shrinkage, so cells cross every class
		// (up to 32 << 2) and come back home.
		grow := step/2000%2 == 0
		switch {
		case len(model[c]) > 0 && r.Intn(20) == 0:
			// Rare and small, so that growth still reaches every class.
			n := 1 + r.Intn(min(3, len(model[c])))
			x.DropFirst(c, n)
			model[c] = slices.Delete(model[c], 0, n)
		case len(model[c]) > 0 && (!grow && r.Intn(4) != 0 || grow && r.Intn(4) == 0):
			i := r.Intn(len(model[c]))
			x.RemoveAt(c, i)
			last := len(model[c]) - 1
			model[c][i] = model[c][last]
			model[c] = model[c][:last]
		default:
			x.Append(c, next)
			model[c] = append(model[c], next)
			next++
		}
		if r.Intn(8) == 0 {
			x.Settle()
		}
		for c := range cells {
			if !slices.Equal(x.Cell(c), model[c]) {
				t.Fatalf("step %d: cell %d = %v, want %v", step, c, x.Cell(c), model[c])
			}
			longest = max(longest, len(model[c]))
		}
	}
	if longest <= 32<<1 {
		t.Fatalf("the longest cell held %d items: the walk never needed the largest spill class (%d)", longest, 32<<2)
	}
}

// TestCellsSettledSpillIsReused: a cell crowded past its home and emptied
// again gives its spill block back at Settle, so crowding another cell
// borrows it instead of allocating: the allocations follow the cells
// crowded at once, not every cell ever crowded.
func TestCellsSettledSpillIsReused(t *testing.T) {
	const cells, room = 64, 4
	x := ecs.NewCells[int](cells, room)
	c := 0
	crowdAndClear := func() {
		for i := range 40 { // past the smallest spill class too
			x.Append(c, i)
		}
		for len(x.Cell(c)) > 0 {
			x.RemoveAt(c, 0)
		}
		x.Settle()
		c = (c + 1) % cells
	}
	if allocs := testing.AllocsPerRun(200, crowdAndClear); allocs != 0 {
		t.Errorf("crowding one cell after another: %v allocs each, want 0", allocs)
	}
}

// TestCellsReserve: spill blocks reserved ahead cover as many cells
// crowded at once, in every class Reserve promises, without allocating.
// Each run crowds a table of its own, reserved beforehand; AllocsPerRun
// averages over the runs (and runs them on one processor), so that an
// allocation of another goroutine meanwhile (a test that ran before,
// the runtime) is not taken for one of Append's, which would come every
// run.
func TestCellsReserve(t *testing.T) {
	const cells, room, blocks, runs = 256, 4, 64, 10
	tables := make([]*ecs.Cells[int], runs+1) // AllocsPerRun's warm-up run too
	for i := range tables {
		tables[i] = ecs.NewCells[int](cells, room)
		tables[i].Reserve(blocks)
	}
	next := 0
	// blocks cells past their home, blocks/8+1 of them past 32 items and
	// blocks/64+1 past 64.
	allocs := testing.AllocsPerRun(runs, func() {
		x := tables[next]
		next++
		for c := range blocks {
			n := 20
			switch {
			case c < blocks/64+1:
				n = 100
			case c < blocks/64+1+blocks/8+1:
				n = 50
			}
			for i := range n {
				x.Append(c, i)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("crowding %d cells within the reserve: %v allocations a run, want 0", blocks, allocs)
	}
	if next != runs+1 {
		t.Fatalf("AllocsPerRun ran %d times, want %d", next, runs+1)
	}
	for i, x := range tables {
		if got := len(x.Cell(0)); got != 100 {
			t.Errorf("table %d: cell 0 holds %d items, want 100", i, got)
		}
	}
}
