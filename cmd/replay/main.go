// Command replay re-runs a replay log headless and checks its state hash
// at every tick. It prints the first tick whose state differs from the
// recording and exits 1 there; with -dump it writes every entity's
// components at a tick as sorted JSON lines (so two builds' dumps can be
// compared with diff), with -diff it names the first entity and component
// that differ from such a dump, and with -json it exports the log itself
// as JSON lines for people.
// With -serve ADDR it serves the log to browsers instead (serve.go).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/sim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// tickFlag is a tick number flag that knows whether it was given.
type tickFlag struct {
	tick uint64
	set  bool
}

func (f *tickFlag) String() string { return strconv.FormatUint(f.tick, 10) }
func (f *tickFlag) Set(s string) error {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return fmt.Errorf("not a tick number (1 or more): %q", s)
	}
	f.tick, f.set = v, true
	return nil
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quiet := fs.Bool("q", false, "print only the summary")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the playback (pprof labels system=<name>)")
	asJSON := fs.Bool("json", false, "export the log as JSON lines instead of playing it")
	var dump, diff tickFlag
	fs.Var(&dump, "dump", "write every entity's components after `TICK` as sorted JSON lines instead of checking")
	fs.Var(&diff, "diff", "compare the state after `TICK` with the dump named by -against")
	against := fs.String("against", "", "the dump (by -dump, from another build, say) that -diff compares with")
	var sv serveFlags
	sv.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: replay [-q] [-cpuprofile FILE] LOG\n       replay -json LOG\n       replay -dump TICK LOG\n       replay -diff TICK -against DUMP LOG\n       replay -serve ADDR [-web-dir DIR] [-max-viewers N] LOG")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	modes := 0
	for _, on := range []bool{*asJSON, dump.set, diff.set, sv.addr != ""} {
		if on {
			modes++
		}
	}
	if fs.NArg() != 1 || modes > 1 || diff.set != (*against != "") {
		fs.Usage()
		return 2
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return 2
	}
	rp, err := sim.LoadReplay(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "replay: %s: %v\n", path, err)
		return 2
	}
	if rp.Cut != "" {
		fmt.Fprintf(stderr, "replay: %s was cut short (%s): it holds ticks %d to %d\n", path, rp.Cut, rp.FirstTick()+1, rp.LastTick)
	}
	switch {
	case sv.addr != "":
		return sv.serve(rp, stderr)
	case *asJSON:
		if err := exportJSON(rp, stdout); err != nil {
			fmt.Fprintln(stderr, "replay:", err)
			return 2
		}
		return 0
	case dump.set:
		if err := rp.Dump(dump.tick, stdout); err != nil {
			fmt.Fprintln(stderr, "replay:", err)
			return 2
		}
		return 0
	case diff.set:
		return diffDump(rp, diff.tick, *against, stdout, stderr)
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
	fmt.Fprintf(stdout, "replay %s: arena %d, seed %d, %d ticks, %d keyframes\n", path, rp.Arena, rp.Seed, rp.LastTick, len(rp.Keyframes))
	if rp.Start != nil {
		fmt.Fprintf(stdout, "a clip: it starts at the keyframe of tick %d\n", rp.Start.Tick)
	}
	start := time.Now()
	res, err := rp.Play(func(cp sim.Checkpoint) {
		if cp.OK() && (*quiet || cp.Tick%uint64(rp.Config.TickRate*60) != 0) {
			return // a line a minute of play, and the one that differs
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
	if d := res.Diverged; d != nil {
		fmt.Fprintf(stdout, "DIVERGED: first differing state at tick %d (every tick before it matches)\n", d.Tick)
		fmt.Fprintf(stdout, "to see what differs: replay -dump %d %s > this.jsonl with the build that recorded it, then replay -diff %d -against this.jsonl %s with this one\n", d.Tick, path, d.Tick, path)
		return 1
	}
	fmt.Fprintf(stdout, "OK: %d ticks, %d state hashes match (%v)\n", res.Ticks, len(res.Checkpoints), time.Since(start).Round(time.Millisecond))
	return 0
}

// diffDump plays the log to tick and prints the first entity and
// component whose state differs from the dump at path.
func diffDump(rp *sim.Replay, tick uint64, path string, stdout, stderr io.Writer) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return 2
	}
	defer f.Close()
	d, err := rp.Diff(tick, f)
	if err != nil {
		fmt.Fprintf(stderr, "replay: %s: %v\n", path, err)
		return 2
	}
	if d == nil {
		fmt.Fprintf(stdout, "SAME: the state after tick %d matches %s\n", tick, path)
		return 0
	}
	fmt.Fprintf(stdout, "DIFFERS: %s\n", d)
	return 1
}

// jsonHeader, jsonTick and jsonEnd are the lines of the JSON export.
type jsonHeader struct {
	Format  string     `json:"format"`
	Version int        `json:"version"`
	Arena   int        `json:"arena"`
	Seed    uint64     `json:"seed"`
	Config  ecs.Config `json:"config"`
}

type jsonTick struct {
	Tick uint64        `json:"tick"`
	Hash string        `json:"hash,omitempty"`
	Cmds []ecs.Command `json:"cmds,omitempty"`
}

type jsonEnd struct {
	End uint64 `json:"end"`
	Cut string `json:"cut,omitempty"`
}

// exportJSON writes the log as JSON lines: a header, a line a tick (its
// state hash in hex and its commands; an input's heading in turn, 1/65536
// of a full turn), and an end line.
func exportJSON(rp *sim.Replay, w io.Writer) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(jsonHeader{Format: "shatter-replay", Version: sim.ReplayVersion, Arena: rp.Arena, Seed: rp.Seed, Config: rp.Config}); err != nil {
		return err
	}
	for _, rt := range rp.Ticks {
		line := jsonTick{Tick: rt.Tick, Cmds: rt.Commands}
		if rt.HasHash {
			line.Hash = fmt.Sprintf("%016x", rt.Hash)
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return enc.Encode(jsonEnd{End: rp.LastTick, Cut: rp.Cut})
}
