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

// gridShape maps arena positions to cells; both spatial indexes share it.
type gridShape struct {
	CellSize   float64
	Cols, Rows int
}

func newGridShape(cell, w, h float64) gridShape {
	return gridShape{CellSize: cell, Cols: max(1, int(math.Ceil(w/cell))), Rows: max(1, int(math.Ceil(h/cell)))}
}

// cellOf returns the cell index of a position, clamped to the grid.
func (s gridShape) cellOf(x, y float64) int {
	c := min(max(int(x/s.CellSize), 0), s.Cols-1)
	r := min(max(int(y/s.CellSize), 0), s.Rows-1)
	return r*s.Cols + c
}

// Span returns the inclusive cell columns and rows that a circle of radius r
// around (x, y) touches, clamped to the grid.
func (s gridShape) Span(x, y, r float64) (c0, r0, c1, r1 int) {
	c0 = min(max(int((x-r)/s.CellSize), 0), s.Cols-1)
	c1 = min(max(int((x+r)/s.CellSize), 0), s.Cols-1)
	r0 = min(max(int((y-r)/s.CellSize), 0), s.Rows-1)
	r1 = min(max(int((y+r)/s.CellSize), 0), s.Rows-1)
	return c0, r0, c1, r1
}

// Grid is a uniform grid rebuilt from scratch each tick by a counting sort,
// for the movers, whose positions all change every tick. Its items live in
// one flat slice ordered by cell, which keeps searches cache-friendly and the
// rebuild free of allocations once the slices have grown.
//
// Owned by the arena goroutine.
type Grid struct {
	gridShape
	start   []int32 // items of cell i are Items[start[i]:start[i+1]]
	Items   []GridItem
	pending []GridItem
	cellIdx []int32
}

// NewGrid returns an empty grid covering a w x h arena with square cells.
func NewGrid(cell, w, h float64) *Grid {
	s := newGridShape(cell, w, h)
	return &Grid{gridShape: s, start: make([]int32, s.Cols*s.Rows+1)}
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
	for i := range g.start {
		g.start[i] = 0
	}
	g.cellIdx = g.cellIdx[:0]
	for _, it := range g.pending {
		c := g.cellOf(it.X, it.Y)
		g.cellIdx = append(g.cellIdx, int32(c))
		g.start[c+1]++
	}
	for i := 1; i < len(g.start); i++ {
		g.start[i] += g.start[i-1]
	}
	if cap(g.Items) < len(g.pending) {
		g.Items = make([]GridItem, len(g.pending), 2*len(g.pending))
	}
	g.Items = g.Items[:len(g.pending)]
	// start[c] is used as the fill cursor of cell c, then restored.
	for i, it := range g.pending {
		c := g.cellIdx[i]
		g.Items[g.start[c]] = it
		g.start[c]++
	}
	for i := len(g.start) - 1; i > 0; i-- {
		g.start[i] = g.start[i-1]
	}
	g.start[0] = 0
}

// Forget blanks the entry of an entity removed since the last Build (its
// Entity becomes the zero entity, which searches skip), so that no system
// finds a dead marble in the grid and none needs to ask the world whether
// an entry is alive. (x, y) is where the entity was indexed.
func (g *Grid) Forget(e arche.Entity, x, y float64) {
	i := g.cellOf(x, y)
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
	gridShape
	cells [][]GridItem
	count int
}

// NewCellIndex returns an empty index covering a w x h arena, sized for
// about expected entities. Every cell starts with room for several times
// its average share, carved from one backing array, so the steady churn of
// eaten and respawned fragments does not allocate; only a cell that
// overflows (a dense shatter) grows once, and keeps that room.
func NewCellIndex(cell, w, h float64, expected int) *CellIndex {
	s := newGridShape(cell, w, h)
	n := s.Cols * s.Rows
	room := 4 + 4*expected/n
	backing := make([]GridItem, n*room)
	ix := &CellIndex{gridShape: s, cells: make([][]GridItem, n)}
	for i := range ix.cells {
		ix.cells[i] = backing[i*room : i*room : (i+1)*room]
	}
	return ix
}

// Len returns the number of entities in the index.
func (ix *CellIndex) Len() int { return ix.count }

// Insert adds an entity at a position.
func (ix *CellIndex) Insert(e arche.Entity, x, y float64) {
	c := ix.cellOf(x, y)
	ix.cells[c] = AppendRoomy(ix.cells[c], GridItem{Entity: e, X: x, Y: y})
	ix.count++
}

// Remove deletes an entity that was inserted at (x, y) and reports whether
// it was there. The last item of the cell takes its place.
func (ix *CellIndex) Remove(e arche.Entity, x, y float64) bool {
	c := ix.cellOf(x, y)
	items := ix.cells[c]
	for i := range items {
		if items[i].Entity == e {
			last := len(items) - 1
			items[i] = items[last]
			ix.cells[c] = items[:last]
			ix.count--
			return true
		}
	}
	return false
}

// Cell returns the items of the cell at column c, row r. The slice is only
// valid until the next Insert or Remove.
func (ix *CellIndex) Cell(c, r int) []GridItem { return ix.cells[r*ix.Cols+c] }

// AppendRoomy appends like append, but a slice that must grow gets room
// for at least overflowRoom items at once: a cell overflows when a bust or
// a spike-ball hit scatters a cluster of fragments into it, and growing
// straight to a cluster's size means it allocates once, not at every
// doubling.
func AppendRoomy[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		grown := make([]T, len(s), max(2*cap(s), overflowRoom))
		copy(grown, s)
		s = grown
	}
	return append(s, v)
}

// overflowRoom is the capacity an overflowing cell grows to at least: a
// shatter scatters at most MaxShatterFragments (40) over a few cells.
const overflowRoom = 32
