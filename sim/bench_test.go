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
			// Warm up: populate, let slices and pools reach their size
			// (the statics that left cells are kept for goneSeconds: twice
			// that, for their list to reach its size).
			for range max(200, 2*goneSeconds*int(cfg.TickRate)) {
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

// BenchmarkKeyframe measures taking a keyframe (what a tick costs once a
// minute with a replay log or a clip ring) and restoring one (what a seek
// costs before it replays the ticks after the keyframe), for a full
// default arena (150 marbles) and a crowded one, with the keyframe's size.
func BenchmarkKeyframe(b *testing.B) {
	for _, sz := range []struct{ movers, fragments, obstacles int }{{150, 1200, 30}, {1000, 5000, 300}} {
		cfg := ecs.DefaultConfig().ForPopulation(sz.movers, sz.fragments, sz.obstacles)
		a, err := New(Options{Config: cfg, Seed: 7})
		if err != nil {
			b.Fatal(err)
		}
		for range 300 {
			if err := a.Step(); err != nil {
				b.Fatal(err)
			}
		}
		key, err := a.AppendKeyframe(nil)
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("movers=%d/fragments=%d", sz.movers, sz.fragments)
		b.Run("take/"+name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				if buf, err = a.AppendKeyframe(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(buf)), "bytes")
		})
		b.Run("restore/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(Options{Config: cfg, Seed: 7, Keyframe: key}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
