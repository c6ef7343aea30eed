package ecs_test

import (
	"fmt"
	"slices"
	"testing"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/shatter/shatter/ecs"
)

// newEntities returns n live entities of an empty world, for indexing.
func newEntities(n int) []arche.Entity {
	w := arche.NewWorld()
	out := make([]arche.Entity, n)
	for i := range out {
		out[i] = w.NewEntity()
	}
	return out
}

type point struct{ X, Y float64 }

func TestGridShape(t *testing.T) {
	tests := []struct {
		cell, w, h       float64
		wantCols, wantRs int
	}{
		{100, 1000, 1000, 10, 10},
		{100, 1050, 999, 11, 10},
		{200, 3000, 3000, 15, 15},
		{100, 50, 50, 1, 1},
		{1000, 10, 3000, 1, 3},
	}
	for _, tt := range tests {
		g := ecs.NewGrid(tt.cell, tt.w, tt.h)
		ix := ecs.NewCellIndex(tt.cell, tt.w, tt.h, 10)
		if g.Cols != tt.wantCols || g.Rows != tt.wantRs || ix.Cols != tt.wantCols || ix.Rows != tt.wantRs {
			t.Errorf("cell %v over %vx%v: grid %dx%d, index %dx%d, want %dx%d",
				tt.cell, tt.w, tt.h, g.Cols, g.Rows, ix.Cols, ix.Rows, tt.wantCols, tt.wantRs)
		}
	}
}

func TestGridSpan(t *testing.T) {
	g := ecs.NewGrid(100, 1000, 1000)
	tests := []struct {
		name           string
		x, y, r        float64
		c0, r0, c1, r1 int
	}{
		{"inside one cell", 150, 150, 10, 1, 1, 1, 1},
		{"radius 0", 150, 250, 0, 1, 2, 1, 2},
		{"across a corner", 200, 200, 10, 1, 1, 2, 2},
		{"clamped at the top-left", 5, 5, 50, 0, 0, 0, 0},
		{"clamped at the bottom-right", 995, 995, 50, 9, 9, 9, 9},
		{"outside the arena", -500, 2000, 10, 0, 9, 0, 9},
		{"whole arena", 500, 500, 5000, 0, 0, 9, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c0, r0, c1, r1 := g.Span(tt.x, tt.y, tt.r)
			if c0 != tt.c0 || r0 != tt.r0 || c1 != tt.c1 || r1 != tt.r1 {
				t.Errorf("Span(%v, %v, %v) = %d,%d..%d,%d, want %d,%d..%d,%d",
					tt.x, tt.y, tt.r, c0, r0, c1, r1, tt.c0, tt.r0, tt.c1, tt.r1)
			}
		})
	}
}

func TestGridBuild(t *testing.T) {
	es := newEntities(8)
	pts := []point{
		{150, 150}, {10, 10}, {160, 140}, {999, 999}, // cells (1,1) (0,0) (1,1) (9,9)
		{-20, 50}, {1200, 50}, {199.9, 100}, {100, 199.9}, // (0,0) clamped, (9,0) clamped, (1,1), (1,1)
	}
	want := map[[2]int][]int{ // cell -> indexes into es, in add order
		{1, 1}: {0, 2, 6, 7},
		{0, 0}: {1, 4},
		{9, 9}: {3},
		{9, 0}: {5},
	}
	g := ecs.NewGrid(100, 1000, 1000)
	for round := 0; round < 2; round++ { // a rebuild must give the same grid
		g.Reset()
		for i, p := range pts {
			g.Add(es[i], p.X, p.Y, float64(i))
		}
		g.Build()
		if got := len(g.Items); got != len(pts) {
			t.Fatalf("round %d: %d items, want %d", round, got, len(pts))
		}
		for r := 0; r < g.Rows; r++ {
			for c := 0; c < g.Cols; c++ {
				cell := g.Cell(c, r)
				wantIdx := want[[2]int{c, r}]
				if len(cell) != len(wantIdx) {
					t.Errorf("round %d: cell (%d,%d) holds %d items, want %d", round, c, r, len(cell), len(wantIdx))
					continue
				}
				for k, it := range cell {
					i := wantIdx[k]
					if it.Entity != es[i] || it.X != pts[i].X || it.Y != pts[i].Y || it.Mass != float64(i) {
						t.Errorf("round %d: cell (%d,%d)[%d] = %+v, want entity %d at %+v mass %d", round, c, r, k, it, i, pts[i], i)
					}
				}
			}
		}
	}
}

func TestGridRebuildForgets(t *testing.T) {
	es := newEntities(3)
	g := ecs.NewGrid(100, 1000, 1000)
	for i, e := range es {
		g.Add(e, 50, 50+float64(i)*300, 1)
	}
	g.Build()
	g.Reset()
	g.Add(es[1], 950, 950, 2)
	g.Build()
	if got := len(g.Items); got != 1 {
		t.Fatalf("%d items after rebuild with one, want 1", got)
	}
	for _, c := range [][2]int{{0, 0}, {0, 3}, {0, 6}} {
		if n := len(g.Cell(c[0], c[1])); n != 0 {
			t.Errorf("cell %v holds %d stale items, want 0", c, n)
		}
	}
	if cell := g.Cell(9, 9); len(cell) != 1 || cell[0].Entity != es[1] || cell[0].Mass != 2 {
		t.Errorf("cell (9,9) = %+v, want entity 1 with mass 2", cell)
	}
}

func TestGridDeterministic(t *testing.T) {
	es := newEntities(500)
	build := func() []ecs.GridItem {
		r := ecs.NewRand(99)
		g := ecs.NewGrid(200, 3000, 3000)
		for _, e := range es {
			g.Add(e, r.Range(0, 3000), r.Range(0, 3000), r.Range(1, 100))
		}
		g.Build()
		return append([]ecs.GridItem(nil), g.Items...)
	}
	a, b := build(), build()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("item %d = %+v then %+v, want identical builds", i, a[i], b[i])
		}
	}
}

func TestGridRebuildAllocs(t *testing.T) {
	es := newEntities(300)
	r := ecs.NewRand(5)
	pts := make([]point, len(es))
	for i := range pts {
		pts[i] = point{r.Range(0, 3000), r.Range(0, 3000)}
	}
	g := ecs.NewGrid(200, 3000, 3000)
	rebuild := func() {
		g.Reset()
		for i, e := range es {
			g.Add(e, pts[i].X, pts[i].Y, 1)
		}
		g.Build()
	}
	rebuild()
	if allocs := testing.AllocsPerRun(20, rebuild); allocs != 0 {
		t.Errorf("steady-state rebuild of %d movers: %v allocs, want 0", len(es), allocs)
	}
}

func TestCellIndexInsertRemove(t *testing.T) {
	es := newEntities(5)
	ix := ecs.NewCellIndex(100, 1000, 1000, 5)
	pts := []point{{10, 10}, {20, 20}, {30, 30}, {550, 550}, {-5, 1e6}}
	for i, e := range es {
		ix.Insert(e, pts[i].X, pts[i].Y)
	}
	if ix.Len() != 5 {
		t.Fatalf("Len() = %d, want 5", ix.Len())
	}
	if cell := ix.Cell(0, 9); len(cell) != 1 || cell[0].Entity != es[4] {
		t.Errorf("clamped point's cell (0,9) = %+v, want entity 4", cell)
	}
	tests := []struct {
		name   string
		e      int
		at     point
		want   bool
		after  []int // cell (0,0) contents afterwards
		length int
	}{
		{"wrong cell", 0, point{550, 550}, false, []int{0, 1, 2}, 5},
		{"first of a cell, last takes its place", 0, pts[0], true, []int{2, 1}, 4},
		{"already removed", 0, pts[0], false, []int{2, 1}, 4},
		{"last of a cell", 1, pts[1], true, []int{2}, 3},
		{"only one", 2, pts[2], true, nil, 2},
	}
	for _, tt := range tests {
		if got := ix.Remove(es[tt.e], tt.at.X, tt.at.Y); got != tt.want {
			t.Errorf("%s: Remove(entity %d) = %v, want %v", tt.name, tt.e, got, tt.want)
		}
		cell := ix.Cell(0, 0)
		var got []int
		for _, it := range cell {
			for i, e := range es {
				if it.Entity == e {
					got = append(got, i)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.after) || ix.Len() != tt.length {
			t.Errorf("%s: cell (0,0) = %v len %d, want %v len %d", tt.name, got, ix.Len(), tt.after, tt.length)
		}
	}
}

func TestCellIndexCrowdedCell(t *testing.T) {
	// Far more entities in one cell than its preset room.
	es := newEntities(200)
	ix := ecs.NewCellIndex(100, 1000, 1000, 10)
	for i, e := range es {
		ix.Insert(e, 55, 55+float64(i%40))
	}
	// A neighbour cell must not be disturbed by the crowded one growing.
	other := newEntities(1)[0]
	ix.Insert(other, 155, 55)
	if got := len(ix.Cell(0, 0)); got != 200 {
		t.Fatalf("crowded cell holds %d, want 200", got)
	}
	if cell := ix.Cell(1, 0); len(cell) != 1 || cell[0].Entity != other {
		t.Fatalf("neighbour cell = %+v, want the one entity", cell)
	}
	for i, e := range es {
		if !ix.Remove(e, 55, 55+float64(i%40)) {
			t.Fatalf("Remove(entity %d) = false, want true", i)
		}
	}
	if ix.Len() != 1 || len(ix.Cell(0, 0)) != 0 {
		t.Errorf("after removing all: Len %d, cell len %d; want 1, 0", ix.Len(), len(ix.Cell(0, 0)))
	}
}

func TestCellIndexChurnAllocs(t *testing.T) {
	es := newEntities(100)
	ix := ecs.NewCellIndex(100, 1000, 1000, len(es))
	r := ecs.NewRand(3)
	pts := make([]point, len(es))
	for i, e := range es {
		pts[i] = point{r.Range(0, 1000), r.Range(0, 1000)}
		ix.Insert(e, pts[i].X, pts[i].Y)
	}
	i := 0
	churn := func() {
		e, p := es[i%len(es)], pts[i%len(es)]
		ix.Remove(e, p.X, p.Y)
		ix.Insert(e, p.X, p.Y)
		i++
	}
	if allocs := testing.AllocsPerRun(200, churn); allocs != 0 {
		t.Errorf("remove+insert: %v allocs, want 0", allocs)
	}
}

func TestCountingSort(t *testing.T) {
	tests := []struct {
		name   string
		items  []string
		cellOf []int32
		fixed  [][]string
		want   [][]string // by cell
	}{
		{"empty", nil, nil, nil, [][]string{{}, {}, {}}},
		{"keeps order within a cell", []string{"a", "b", "c", "d"}, []int32{2, 0, 2, 0}, nil,
			[][]string{{"b", "d"}, {}, {"a", "c"}}},
		{"fixed blocks first", []string{"a", "b", "c"}, []int32{1, 1, 0},
			[][]string{{"F0"}, {"F1", "G1"}, {"F2"}},
			[][]string{{"F0", "c"}, {"F1", "G1", "a", "b"}, {"F2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := make([]int32, len(tt.want)+1)
			out := ecs.CountingSort(tt.items, tt.cellOf, tt.fixed, start, []string{"stale"})
			for c, want := range tt.want {
				got := out[start[c]:start[c+1]]
				if !slices.Equal(got, want) {
					t.Errorf("cell %d = %q, want %q", c, got, want)
				}
			}
			if int(start[len(start)-1]) != len(out) {
				t.Errorf("last start %d, want len(out) %d", start[len(start)-1], len(out))
			}
		})
	}
}
