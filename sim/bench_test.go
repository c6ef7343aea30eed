package sim

import (
	"fmt"
	"testing"

	"github.com/shatter/shatter/ecs"
)

// BenchmarkTick measures one full tick (inbox drain, all systems, frame
// publish and state hash) in steady state, sized by population. The arena
// grows with the movers (ecs.Config.ForPopulation) so density, and thus
// per-marble work, stays that of a full default arena.
func BenchmarkTick(b *testing.B) {
	sizes := []struct{ movers, fragments, obstacles int }{
		{1000, 5000, 300},
		{2000, 10000, 300},
		{5000, 10000, 300},
		{10000, 20000, 300},
	}
	for _, sz := range sizes {
		name := fmt.Sprintf("movers=%d/fragments=%d/obstacles=%d", sz.movers, sz.fragments, sz.obstacles)
		b.Run(name, func(b *testing.B) {
			cfg := ecs.DefaultConfig().ForPopulation(sz.movers, sz.fragments, sz.obstacles)
			a, err := New(Options{Config: cfg, Seed: 7})
			if err != nil {
				b.Fatal(err)
			}
			// Warm up: populate, let slices and pools reach their size.
			for range 200 {
				if err := a.Step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(sz.movers), "ns/mover")
		})
	}
}
