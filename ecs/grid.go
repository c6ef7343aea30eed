package ecs

import (
	"math"

	arche "github.com/mlange-42/arche/ecs"
)

// GridItem is one entity in a spatial index, with the position (and, in
// the mover grid, the mass) it had when indexed, so a search reads no
// component.
type GridItem struct {
	Entity arche.Entity
	X, Y   float64
	Mass   float64 // mover grid only: the mass at the last rebuild
}

// GridShape maps arena positions to the cells of a uniform grid. The mover
// grid, the static indexes and the frames that sessions read all share it.
type GridShape struct {
	CellSize   float64
	Cols, Rows int
}

// NewGridShape returns the shape of a grid of square cells covering a
// w x h arena.
func NewGridShape(cell, w, h float64) GridShape {
	return GridShape{CellSize: cell, Cols: max(1, int(math.Ceil(w/cell))), Rows: max(1, int(math.Ceil(h/cell)))}
}

// NumCells returns the number of cells.
func (s GridShape) NumCells() int { return s.Cols * s.Rows }

// CellOf returns the cell index (row-major) of a position, clamped to the
// grid.
func (s GridShape) CellOf(x, y float64) int {
	c := min(max(int(x/s.CellSize), 0), s.Cols-1)
	r := min(max(int(y/s.CellSize), 0), s.Rows-1)
	return r*s.Cols + c
}

// Span returns the inclusive cell columns and rows that a circle of radius r
// around (x, y) touches, clamped to the grid.
func (s GridShape) Span(x, y, r float64) (c0, r0, c1, r1 int) {
	return s.SpanRect(x-r, y-r, x+r, y+r)
}

// SpanRect returns the inclusive cell columns and rows that the rectangle
// [x0,x1] x [y0,y1] overlaps, clamped to the grid.
func (s GridShape) SpanRect(x0, y0, x1, y1 float64) (c0, r0, c1, r1 int) {
	c0 = min(max(int(x0/s.CellSize), 0), s.Cols-1)
	c1 = min(max(int(x1/s.CellSize), 0), s.Cols-1)
	r0 = min(max(int(y0/s.CellSize), 0), s.Rows-1)
	r1 = min(max(int(y1/s.CellSize), 0), s.Rows-1)
	return c0, r0, c1, r1
}

// CountingSort places items into out grouped by cell, cellOf[i] being the
// cell of items[i], and fills start (one longer than the number of cells)
// so that cell c holds out[start[c]:start[c+1]]. Each cell first gets its
// block fixed[c] (nil fixed: none), copied whole, then its items in the
// order given, so the result is deterministic. out is grown if it is too
// short and returned; nothing is allocated once it has room.
func CountingSort[T any](items []T, cellOf []int32, fixed [][]T, start []int32, out []T) []T {
	total := len(items)
	start[0] = 0
	for c := 1; c < len(start); c++ {
		start[c] = 0
		if fixed != nil {
			start[c] = int32(len(fixed[c-1]))
			total += len(fixed[c-1])
		}
	}
	for _, c := range cellOf {
		start[c+1]++
	}
	for c := 1; c < len(start); c++ {
		start[c] += start[c-1]
	}
	if cap(out) < total {
		out = make([]T, total, total+total/4)
	}
	out = out[:total]
	for c, block := range fixed {
		copy(out[start[c]:], block)
	}
	// start[c+1] minus the items of c is where c's items begin: fill each
	// cell from its end backwards, then undo the count-down.
	for i := len(items) - 1; i >= 0; i-- {
		c := cellOf[i]
		start[c+1]--
		out[start[c+1]] = items[i]
	}
	for _, c := range cellOf {
		start[c+1]++
	}
	return out
}

// Grid is a uniform grid rebuilt from scratch each tick by a counting sort,
// for the movers, whose positions all change every tick. Its items live in
// one flat slice ordered by cell, which keeps searches cache-friendly and the
// rebuild free of allocations once the slices have grown.
//
// Owned by the arena goroutine.
type Grid struct {
	GridShape
	start   []int32 // items of cell i are Items[start[i]:start[i+1]]
	Items   []GridItem
	pending []GridItem
	cellIdx []int32
}

// NewGrid returns an empty grid covering a w x h arena with square cells.
func NewGrid(cell, w, h float64) *Grid {
	s := NewGridShape(cell, w, h)
	return &Grid{GridShape: s, start: make([]int32, s.NumCells()+1)}
}

// Reserve gives the grid room for movers entities, the most an arena can
// hold at once, so that no rebuild grows a slice while the arena plays.
func (g *Grid) Reserve(movers int) {
	g.pending = make([]GridItem, 0, movers)
	g.cellIdx = make([]int32, 0, movers)
	g.Items = make([]GridItem, 0, movers)
}

// Reset empties the grid before a rebuild.
func (g *Grid) Reset() { g.pending = g.pending[:0] }

// Add queues an entity for the next Build.
func (g *Grid) Add(e arche.Entity, x, y, mass float64) {
	g.pending = append(g.pending, GridItem{Entity: e, X: x, Y: y, Mass: mass})
}

// Build sorts the queued entities into their cells. Within a cell they keep
// the order they were added in, so the grid is deterministic.
func (g *Grid) Build() {
	g.cellIdx = g.cellIdx[:0]
	for _, it := range g.pending {
		g.cellIdx = append(g.cellIdx, int32(g.CellOf(it.X, it.Y)))
	}
	g.Items = CountingSort(g.pending, g.cellIdx, nil, g.start, g.Items)
}

// Forget blanks the entry of an entity removed since the last Build (its
// Entity becomes the zero entity, which searches skip), so that no system
// finds a dead marble in the grid and none needs to ask the world whether
// an entry is alive. (x, y) is where the entity was indexed.
func (g *Grid) Forget(e arche.Entity, x, y float64) {
	i := g.CellOf(x, y)
	items := g.Items[g.start[i]:g.start[i+1]]
	for j := range items {
		if items[j].Entity == e {
			items[j] = GridItem{}
			return
		}
	}
}

// Cell returns the items of the cell at column c, row r. Entries of
// entities removed since the last Build have a zero Entity.
func (g *Grid) Cell(c, r int) []GridItem {
	i := r*g.Cols + c
	return g.Items[g.start[i]:g.start[i+1]]
}

// CellIndex is a uniform grid updated in place, for entities that do not
// move (fragments and obstacles): inserting or removing one costs a short
// scan of one cell, so a tick pays only for what was eaten or spawned, never
// a full re-insert of the static world.
//
// Owned by the arena goroutine.
type CellIndex struct {
	GridShape
	cells *Cells[GridItem]
	count int
}

// NewCellIndex returns an empty index covering a w x h arena, sized for
// about expected entities. Every cell's home has room for several times
// its average share, so the steady churn of eaten and respawned fragments
// stays home; a cell that a shatter crowds borrows a spill block (see
// Cells), of which the index keeps a reserve sized from expected.
func NewCellIndex(cell, w, h float64, expected int) *CellIndex {
	s := NewGridShape(cell, w, h)
	n := s.NumCells()
	ix := &CellIndex{GridShape: s, cells: NewCells[GridItem](n, 4+4*expected/n)}
	ix.cells.Reserve(SpillReserve(expected))
	return ix
}

// SpillReserve is how many spill blocks (Cells.Reserve) an index of about
// expected static entities keeps ready: one per 32 of them. In
// BenchmarkTick's arenas, 15,000 ticks (over eight minutes) crowded at
// most one cell per 55 fragments at once at 1,000 movers and one per 80 at
// 10,000, so the reserve is about twice the peak.
func SpillReserve(expected int) int { return 8 + expected/32 }

// Len returns the number of entities in the index.
func (ix *CellIndex) Len() int { return ix.count }

// Insert adds an entity at a position.
func (ix *CellIndex) Insert(e arche.Entity, x, y float64) {
	ix.cells.Append(ix.CellOf(x, y), GridItem{Entity: e, X: x, Y: y})
	ix.count++
}

// Remove deletes an entity that was inserted at (x, y) and reports whether
// it was there. The last item of the cell takes its place, and the cell
// stays where it lives until Settle.
func (ix *CellIndex) Remove(e arche.Entity, x, y float64) bool {
	c := ix.CellOf(x, y)
	items := ix.cells.Cell(c)
	for i := range items {
		if items[i].Entity == e {
			ix.cells.RemoveAt(c, i)
			ix.count--
			return true
		}
	}
	return false
}

// Cell returns the items of the cell at column c, row r. The slice is only
// valid until the next Insert or Settle; a Remove in it moves the cell's
// last item into the gap, so a walk that removes goes backwards.
func (ix *CellIndex) Cell(c, r int) []GridItem { return ix.cells.Cell(r*ix.Cols + c) }

// Settle gives back the spill blocks of cells that fit their home again
// (Cells.Settle). Call it once a tick, outside any walk over a cell.
func (ix *CellIndex) Settle() { ix.cells.Settle() }
