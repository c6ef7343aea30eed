package idtable_test

import (
	"fmt"

	"github.com/shatter/shatter/net/idtable"
)

// A table applies a snap's adds, updates and deletes, and a walk by
// position deletes what it does not want as it goes.
func ExampleTable() {
	type pos struct{ x, y uint16 }
	var view idtable.Table[pos]

	for _, id := range []uint32{7, 8, 9, 10} {
		v, _ := view.Add(id)
		*v = pos{uint16(id), uint16(id)}
	}
	if v := view.Get(8); v != nil {
		v.y = 0 // Updates in place.
	}
	view.Delete(7)
	fmt.Println(view.Len(), view.Get(7) == nil)

	// Sweep: drop everything with y below 9.
	for i := 0; i < view.Len(); {
		if _, v := view.At(i); v.y >= 9 {
			i++
			continue
		}
		view.DeleteAt(i) // Slot i now holds what was last: look at it again.
	}
	for id, v := range view.All() {
		fmt.Println(id, *v)
	}
	// Unordered output:
	// 3 true
	// 9 {9 9}
	// 10 {10 10}
}
