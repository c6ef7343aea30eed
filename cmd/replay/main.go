// Command replay re-runs a replay log headless and checks its recorded
// state hashes. It prints one line per checkpoint (or only the summary with
// -q) and exits 1 at the first tick whose state differs from the recording.
// With -serve ADDR it serves the log to browsers instead (serve.go).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/shatter/shatter/sim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quiet := fs.Bool("q", false, "print only the summary")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the playback (pprof labels system=<name>)")
	var sv serveFlags
	sv.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: replay [-q] [-cpuprofile FILE] LOG.jsonl")
		fmt.Fprintln(stderr, "       replay -serve ADDR [-web-dir DIR] [-max-viewers N] LOG.jsonl")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return 2
	}
	rp, err := sim.LoadReplay(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return 2
	}
	if sv.addr != "" {
		return sv.serve(rp, stderr)
	}
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "replay:", err)
			return 2
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintln(stderr, "replay:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stdout, "replay %s: arena %d, seed %d, %d ticks, checkpoint every %d\n", fs.Arg(0), rp.Arena, rp.Seed, rp.LastTick, rp.Checkpoint)
	start := time.Now()
	res, err := rp.Play(func(cp sim.Checkpoint) {
		if *quiet && cp.OK() {
			return
		}
		verdict := "ok"
		if !cp.OK() {
			verdict = "DIFFERS"
		}
		fmt.Fprintf(stdout, "tick %8d  recorded %016x  replayed %016x  %s\n", cp.Tick, cp.Want, cp.Got, verdict)
	})
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return 2
	}
	if res.Diverged != nil {
		lastGood := uint64(0)
		if n := len(res.Checkpoints); n > 1 {
			lastGood = res.Checkpoints[n-2].Tick
		}
		fmt.Fprintf(stdout, "DIVERGED: first differing state at tick %d (last matching checkpoint: tick %d); record with a checkpoint every tick to narrow it down\n", res.Diverged.Tick, lastGood)
		return 1
	}
	fmt.Fprintf(stdout, "OK: %d ticks, %d checkpoints match (%v)\n", res.Ticks, len(res.Checkpoints), time.Since(start).Round(time.Millisecond))
	return 0
}
