// Package allocprof counts the allocations made under one function, for
// tests that prove a hot path allocates nothing (the tick, a zombie's
// name): it reads a memory profile that records every allocation with its
// stack, where the process-wide counters would also count what other
// goroutines of the test binary allocate.
package allocprof

import "runtime"

// In runs f and returns how many objects were allocated meanwhile
// under the function named fn, counted from a memory profile that records
// every allocation with its stack: the process-wide counters would also
// count what other goroutines allocate.
func In(fn string, f func()) uint64 {
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	before := soFar(fn)
	f()
	return soFar(fn) - before
}

// soFar sums the allocations the memory profile holds whose stack
// passes through fn.
func soFar(fn string) uint64 {
	// An allocation reaches the profile only after a collection has
	// completed the cycle it was made in, and the next has published it.
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+64)
	}
	total := uint64(0)
	for i := range recs {
		frames := runtime.CallersFrames(recs[i].Stack())
		for {
			fr, more := frames.Next()
			if fr.Function == fn {
				total += uint64(recs[i].AllocObjects)
				break
			}
			if !more {
				break
			}
		}
	}
	return total
}
