package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/shatter/shatter/sim"
)

// headlessOptions configure a socket-free run of one arena, for comparing
// the simulation's cost with other servers' bot loads and for profiling.
type headlessOptions struct {
	zombies, fragments, obstacles int
	duration                      time.Duration // paced at the tick rate
	ticks                         int           // if > 0: this many ticks, unpaced
	seed                          uint64
	cpuProfile                    string
	recordDir                     string
}

// runHeadless runs one arena filled with zombies, then prints ticks run,
// tick time mean/p50/p99/max, per-system means and the process CPU time
// per tick.
func runHeadless(ctx context.Context, cfg sim.Config, o headlessOptions, out io.Writer) error {
	cfg = cfg.ForPopulation(o.zombies, o.fragments, o.obstacles)
	var durations []time.Duration
	var systemTotals []time.Duration
	opts := sim.Options{Config: cfg, Seed: o.seed, OnTick: func(s *sim.TickStats) {
		durations = append(durations, s.Duration)
		if systemTotals == nil {
			systemTotals = make([]time.Duration, len(s.Systems))
		}
		for i, d := range s.Systems {
			systemTotals[i] += d
		}
	}}
	if o.recordDir != "" {
		rec, path, err := openRecorder(o.recordDir, 0, o.seed)
		if err != nil {
			return err
		}
		opts.Record = rec
		defer fmt.Fprintf(out, "replay log: %s\n", path)
	}
	arena, err := sim.New(opts)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cpuStart := processCPU()
	wallStart := time.Now()
	if o.ticks > 0 {
		for i := 0; i < o.ticks && ctx.Err() == nil; i++ {
			if err := arena.Step(); err != nil {
				return err
			}
			if opts.Record != nil {
				opts.Record.Drain() // as fast as it can, but the log whole
			}
		}
		if err := arena.Close(); err != nil {
			return err
		}
	} else {
		runCtx, cancel := context.WithTimeout(ctx, o.duration)
		defer cancel()
		if err := arena.Run(runCtx); err != nil {
			return err
		}
	}
	cpu := processCPU() - cpuStart
	wall := time.Since(wallStart)

	n := len(durations)
	fmt.Fprintf(out, "headless arena: %d zombies, %d fragments, %d obstacles, %.0fx%.0f units, %d Hz\n",
		o.zombies, o.fragments, o.obstacles, cfg.ArenaWidth, cfg.ArenaHeight, cfg.TickRate)
	if n == 0 {
		fmt.Fprintln(out, "no ticks ran")
		return nil
	}
	var total time.Duration
	for _, d := range durations {
		total += d
	}
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	pct := func(p float64) time.Duration { return sorted[min(n-1, int(p*float64(n)))] }
	fmt.Fprintf(out, "ticks run: %d in %v\n", n, wall.Round(time.Millisecond))
	fmt.Fprintf(out, "tick time: mean %v  p50 %v  p99 %v  max %v\n",
		(total / time.Duration(n)).Round(time.Microsecond), pct(0.5).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), sorted[n-1].Round(time.Microsecond))
	fmt.Fprintf(out, "process CPU: %.3f ms per tick (%.2f s total)\n", float64(cpu.Microseconds())/1000/float64(n), cpu.Seconds())
	fmt.Fprint(out, "per system (mean):")
	for i, name := range arena.SystemNames() {
		fmt.Fprintf(out, " %s %v", name, (systemTotals[i] / time.Duration(n)).Round(time.Microsecond))
	}
	fmt.Fprintln(out)
	return nil
}

// processCPU returns the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openRecorder creates a replay log file for an arena in dir.
func openRecorder(dir string, arena int, seed uint64) (*sim.Recorder, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	path := fmt.Sprintf("%s/arena-%d-seed-%d-%s%s", dir, arena, seed, time.Now().UTC().Format("20060102T150405"), sim.ReplayExt)
	f, err := os.Create(path)
	if err != nil {
		return nil, "", err
	}
	return sim.NewRecorder(f), path, nil
}
