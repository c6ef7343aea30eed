package idtable

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// contents returns what t holds, read through All, failing on an id seen
// twice.
func contents(t *testing.T, tb *Table[int]) map[uint32]int {
	t.Helper()
	got := map[uint32]int{}
	for id, v := range tb.All() {
		if _, dup := got[id]; dup {
			t.Fatalf("All yields id %d twice", id)
		}
		got[id] = *v
	}
	return got
}

// check fails unless t holds exactly want, through Len, All, At and Get.
func check(t *testing.T, tb *Table[int], want map[uint32]int) {
	t.Helper()
	if got := contents(t, tb); !maps.Equal(got, want) {
		t.Fatalf("All = %v, want %v", got, want)
	}
	if got := tb.Len(); got != len(want) {
		t.Fatalf("Len() = %d, want %d", got, len(want))
	}
	for i := range tb.Len() {
		id, v := tb.At(i)
		if w, ok := want[id]; !ok || *v != w {
			t.Fatalf("At(%d) = %d, %d; want an id of %v with its value", i, id, *v, want)
		}
		if g := tb.Get(id); g != v {
			t.Fatalf("Get(%d) = %p, want At(%d)'s pointer %p", id, g, i, v)
		}
	}
}

func TestTable(t *testing.T) {
	// op is one call on the table: "add" (then set the value to val),
	// "get", "set" (Get, then write val through the pointer), "del",
	// "delat" (DeleteAt(at)) or "clear". ok is what Add's added, Get's
	// non-nil or Delete's result must be.
	type op struct {
		name string
		id   uint32
		val  int
		at   int
		ok   bool
	}
	tests := []struct {
		name string
		ops  []op
		want map[uint32]int
	}{
		{name: "empty", want: map[uint32]int{}},
		{
			name: "add",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "add", id: 2, val: 20, ok: true}},
			want: map[uint32]int{1: 10, 2: 20},
		},
		{
			name: "add of a known id keeps its slot",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "add", id: 2, val: 20, ok: true}, {name: "add", id: 1, val: 11, ok: false}},
			want: map[uint32]int{1: 11, 2: 20},
		},
		{
			name: "id 0 is an id like any other",
			ops:  []op{{name: "add", id: 0, val: 5, ok: true}, {name: "get", id: 0, ok: true}},
			want: map[uint32]int{0: 5},
		},
		{
			name: "get of an unknown id",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "get", id: 2, ok: false}},
			want: map[uint32]int{1: 10},
		},
		{
			name: "set through Get's pointer",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "set", id: 1, val: 12, ok: true}},
			want: map[uint32]int{1: 12},
		},
		{
			name: "delete the first moves the last into its slot",
			ops: []op{
				{name: "add", id: 1, val: 10, ok: true}, {name: "add", id: 2, val: 20, ok: true}, {name: "add", id: 3, val: 30, ok: true},
				{name: "del", id: 1, ok: true},
				{name: "set", id: 3, val: 31, ok: true}, // The moved value must still be found.
			},
			want: map[uint32]int{2: 20, 3: 31},
		},
		{
			name: "delete the last",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "add", id: 2, val: 20, ok: true}, {name: "del", id: 2, ok: true}},
			want: map[uint32]int{1: 10},
		},
		{
			name: "delete of an unknown id",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "del", id: 2, ok: false}, {name: "del", id: 1, ok: true}, {name: "del", id: 1, ok: false}},
			want: map[uint32]int{},
		},
		{
			name: "delete then add again",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "del", id: 1, ok: true}, {name: "add", id: 1, val: 0, ok: true}},
			want: map[uint32]int{1: 0},
		},
		{
			name: "an added slot starts at zero after a delete",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "add", id: 2, val: 20, ok: true}, {name: "del", id: 2, ok: true}, {name: "get", id: 2, ok: false}, {name: "add", id: 3, val: 0, ok: true}},
			want: map[uint32]int{1: 10, 3: 0},
		},
		{
			name: "delete at",
			ops: []op{
				{name: "add", id: 1, val: 10, ok: true}, {name: "add", id: 2, val: 20, ok: true}, {name: "add", id: 3, val: 30, ok: true},
				{name: "delat", at: 0}, // 3 moves into slot 0.
				{name: "delat", at: 0}, // Deletes 3.
			},
			want: map[uint32]int{2: 20},
		},
		{
			name: "clear",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "add", id: 2, val: 20, ok: true}, {name: "clear"}, {name: "get", id: 1, ok: false}},
			want: map[uint32]int{},
		},
		{
			name: "add after clear",
			ops:  []op{{name: "add", id: 1, val: 10, ok: true}, {name: "clear"}, {name: "add", id: 1, val: 0, ok: true}, {name: "add", id: 4, val: 40, ok: true}},
			want: map[uint32]int{1: 0, 4: 40},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tb Table[int] // The zero Table is ready to use.
			for _, o := range tt.ops {
				switch o.name {
				case "add":
					v, added := tb.Add(o.id)
					if added != o.ok {
						t.Fatalf("Add(%d) added %v, want %v", o.id, added, o.ok)
					}
					if added && *v != 0 {
						t.Fatalf("Add(%d) of a new id = %d, want the zero value", o.id, *v)
					}
					*v = o.val
				case "get", "set":
					v := tb.Get(o.id)
					if (v != nil) != o.ok {
						t.Fatalf("Get(%d) = %v, want found %v", o.id, v, o.ok)
					}
					if o.name == "set" {
						*v = o.val
					}
				case "del":
					if got := tb.Delete(o.id); got != o.ok {
						t.Fatalf("Delete(%d) = %v, want %v", o.id, got, o.ok)
					}
				case "delat":
					tb.DeleteAt(o.at)
				case "clear":
					tb.Clear()
				default:
					t.Fatalf("unknown op %q", o.name)
				}
			}
			check(t, &tb, tt.want)
		})
	}
}

// TestSweep deletes while walking by position, as a session deletes what
// left its view: every value is looked at once, including those moved
// into a deleted slot, and only the unwanted go.
func TestSweep(t *testing.T) {
	tests := []struct {
		name string
		n    int
		keep func(v int) bool
	}{
		{name: "empty", n: 0, keep: func(int) bool { return false }},
		{name: "keep all", n: 10, keep: func(int) bool { return true }},
		{name: "delete all", n: 10, keep: func(int) bool { return false }},
		{name: "delete odd", n: 10, keep: func(v int) bool { return v%2 == 0 }},
		{name: "delete the last half", n: 10, keep: func(v int) bool { return v < 5 }},
		{name: "delete the first half", n: 10, keep: func(v int) bool { return v >= 5 }},
		{name: "keep one", n: 10, keep: func(v int) bool { return v == 4 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tb Table[int]
			want := map[uint32]int{}
			var wantGone []uint32
			for v := range tt.n {
				p, _ := tb.Add(uint32(100 + v))
				*p = v
				if tt.keep(v) {
					want[uint32(100+v)] = v
				} else {
					wantGone = append(wantGone, uint32(100+v))
				}
			}
			seen := map[uint32]int{}
			var gone []uint32
			for i := 0; i < tb.Len(); {
				id, v := tb.At(i)
				seen[id]++
				if tt.keep(*v) {
					i++
					continue
				}
				gone = append(gone, id)
				tb.DeleteAt(i)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("the walk looked at %d %d times, want once", id, n)
				}
			}
			if len(seen) != tt.n {
				t.Errorf("the walk looked at %d ids, want %d", len(seen), tt.n)
			}
			for _, id := range wantGone {
				if tb.Get(id) != nil {
					t.Errorf("Get(%d) after its DeleteAt = non-nil, want nil", id)
				}
			}
			if len(gone) != len(wantGone) {
				t.Errorf("deleted %v, want %v in any order", gone, wantGone)
			}
			check(t, &tb, want)
		})
	}
}

// TestAgainstMap runs random adds, updates and deletes on a table and on a
// map side by side.
// TestAgainstMap runs random adds, deletes and lookups against a Go map,
// over ids few enough to collide in the index and, in a second round,
// many enough to grow it several times, with every id a multiple of a
// power of two (the hash's weak case) in a third.
func TestAgainstMap(t *testing.T) {
	for _, ids := range []struct {
		name      string
		n, stride int
	}{{"few", 64, 1}, {"many", 3000, 1}, {"strided", 500, 1 << 12}} {
		t.Run(ids.name, func(t *testing.T) { againstMap(t, ids.n, ids.stride) })
	}
}

func againstMap(t *testing.T, n, stride int) {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	var tb Table[int]
	model := map[uint32]int{}
	for step := range 40 * n {
		id := uint32(rng.IntN(n) * stride)
		switch r := rng.IntN(10); {
		case r < 4:
			_, known := model[id]
			v, added := tb.Add(id)
			if added == known {
				t.Fatalf("step %d: Add(%d) added %v, want %v", step, id, added, !known)
			}
			*v = step
			model[id] = step
		case r < 7:
			_, known := model[id]
			if got := tb.Delete(id); got != known {
				t.Fatalf("step %d: Delete(%d) = %v, want %v", step, id, got, known)
			}
			delete(model, id)
		case r < 9:
			v := tb.Get(id)
			if w, known := model[id]; (v != nil) != known || known && *v != w {
				t.Fatalf("step %d: Get(%d) = %v, want %d (found %v)", step, id, v, w, known)
			}
		default:
			if tb.Len() > 0 {
				i := rng.IntN(tb.Len())
				id, _ := tb.At(i)
				tb.DeleteAt(i)
				delete(model, id)
			}
		}
		if step%(4*n) == 0 {
			check(t, &tb, model)
		}
	}
	check(t, &tb, model)
}

func TestAllStops(t *testing.T) {
	var tb Table[int]
	for id := range uint32(5) {
		tb.Add(id)
	}
	n := 0
	for range tb.All() {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("a loop over All that breaks at the second value ran %d times, want 2", n)
	}
}

// TestDeleteForgetsTheValue checks that a deleted or cleared slot no
// longer holds its value, so that a table of values with pointers keeps
// nothing alive for the garbage collector.
func TestDeleteForgetsTheValue(t *testing.T) {
	var tb Table[*int]
	for id := range uint32(3) {
		p, _ := tb.Add(id)
		*p = new(int)
	}
	tb.Delete(0)
	tb.DeleteAt(0)
	if got := tb.slots[:3][1:]; got[0].val != nil || got[1].val != nil {
		t.Errorf("vacated slots hold %v and %v, want nil", got[0].val, got[1].val)
	}
	tb.Clear()
	if got := tb.slots[:1][0]; got.val != nil {
		t.Errorf("a cleared slot holds %v, want nil", got.val)
	}
}

// BenchmarkTick runs one tick of a session's view per op: look up every
// entity in view, update a quarter of them, add a tenth anew and sweep out
// as many that left. In steady state it allocates nothing.
func BenchmarkTick(b *testing.B) {
	type state struct{ mark, val uint32 }
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			var tb Table[state]
			ids := make([]uint32, n) // The ids in view this tick.
			for i := range ids {
				ids[i] = uint32(i)
			}
			next := uint32(n)
			var mark uint32
			tick := func() {
				mark++
				// A tenth of the view is replaced by new ids.
				for k := range n / 10 {
					ids[(int(mark)*7+k*10)%n] = next
					next++
				}
				for i, id := range ids {
					v, added := tb.Add(id)
					if added || i%4 == 0 {
						v.val = mark
					}
					v.mark = mark
				}
				for i := 0; i < tb.Len(); {
					if _, v := tb.At(i); v.mark == mark {
						i++
						continue
					}
					tb.DeleteAt(i)
				}
			}
			for range 100 { // Warm up: grow the slice and the map.
				tick()
			}
			b.ReportAllocs()
			for b.Loop() {
				tick()
			}
			if tb.Len() != n {
				b.Fatalf("the table holds %d, want %d", tb.Len(), n)
			}
		})
	}
}
