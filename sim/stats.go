package sim

import (
	"slices"
	"sync"
	"time"
)

// TickStats describes one tick: its total duration and each system's, in
// the order of Arena.SystemNames. Publishing the frame is part of Duration
// but of no system.
type TickStats struct {
	Tick     uint64
	Duration time.Duration
	Systems  []time.Duration
	Entities int // entities in the frame
	Movers   int // players and zombies
}

// historySize is how many recent tick durations percentiles are taken over:
// about 34 s at 30 Hz.
const historySize = 1024

// tickHistory keeps the last historySize tick durations for percentiles.
type tickHistory struct {
	mu   sync.Mutex // guards ring, n
	ring [historySize]time.Duration
	n    int // ticks recorded, ever
}

func (h *tickHistory) add(d time.Duration) {
	h.mu.Lock()
	h.ring[h.n%historySize] = d
	h.n++
	h.mu.Unlock()
}

// TickPercentiles are tick durations over the recent window.
type TickPercentiles struct {
	Samples       int
	P50, P99, Max time.Duration
}

// Percentiles returns the arena's recent tick duration percentiles. Safe
// from any goroutine.
func (a *Arena) Percentiles() TickPercentiles {
	h := &a.history
	h.mu.Lock()
	n := min(h.n, historySize)
	d := slices.Clone(h.ring[:n])
	h.mu.Unlock()
	if n == 0 {
		return TickPercentiles{}
	}
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(n-1, int(p*float64(n)))] }
	return TickPercentiles{Samples: n, P50: at(0.50), P99: at(0.99), Max: d[n-1]}
}
