// Command loadgen puts a Shatter server under load: it opens -clients bot
// sessions over real WebSocket connections, -ramp a second, lets them play
// (steer, boost, respawn: net/bot, as cmd/client does) for -duration, and
// stops by itself. It measures what the clients see (sessions connected
// and failed, snapshot rate and timing, input-to-ack latency, bytes) and,
// with -admin, what the server says about itself (tick time, memory, CPU,
// how the sessions spread over arenas), prints a summary table, and with
// -out appends its row to a markdown table.
//
// -addr may list several servers, the nodes of a fleet, separated by
// commas: bot i dials the (i mod n)th. Bots follow the fleet's moves from
// node to node (net/client), and the summary counts the moves, those that
// fell back or failed, and the time from each moved to the first snap at
// the other node. With -reconnect, a bot whose connection drops resumes
// with its token at the next address.
//
// With -scenarios 100,500,1000,2000 it instead builds and starts its own
// server on free loopback ports for each client count in turn, and writes
// the tables, the machine and the definitions of every figure into -out
// (docs/PERFORMANCE.md by default), between markers it replaces on a rerun.
//
// A scenario written fleetN (-scenarios fleet1500) runs N bots against a
// fleet of its own instead: a redis-server (persistence off, a free
// loopback port) and three nodes of -server-bin sharing it, the bots
// spread over the nodes and reconnecting with their tokens when their
// connection drops. A third into the window node-1 gets SIGTERM (it
// drains its players to the others), two thirds in node-2 gets SIGKILL
// (a crash). The report (its own section of -out) counts the moves by
// why and those that failed, checks that every drained marble arrived
// with its mass, times moved to first snap, says how the crashed node's
// players came back, and gives each node's sessions, tick time and CPU
// and Redis's commands a second per node. Everything it starts is
// stopped at the end, on error and on Ctrl-C.
//
// The scenario knee (knee500-8000; kneeSTART-LIMIT) searches for the
// largest count of playing bots the server keeps up with on one core (at
// least 95% of snaps on time, input→ack p99 within two ticks): each probe
// a fresh server under taskset on one CPU and the load generator's
// threads on another, the count doubled from START until a probe fails,
// then bisected (knee.go, kneesearch.go, pin.go). Its section of -out
// sets the knee against the write-floor bound, one second ÷ tick rate ÷
// the floor.
//
// Most bots skim their snaps (net/client SkimSnaps, net/bot Glimpse), so
// that the load generator costs far less per snap than the server does;
// one in -full-every decodes and applies every snap in full and checks
// the deltas. Every bot reads every frame, sends its inputs and respawns.
// Before each single-server scenario's server starts, the write floor
// (net/floor) is measured, and the report sets the server's CPU per snap
// beside it. -loadgen-cpuprofile profiles the load generator itself.
//
// The bots' sockets are read by one net/client PollGroup for the run
// (-poll, on by default): a few epoll loops, one a core, paced by
// -poll-pace, instead of a goroutine a bot woken for every frame; the
// group is closed after the bots. -poll-detach (on by default) also
// takes the sockets out of the Go runtime's poller: 9% less of the load
// generator's CPU a snap at 1,000 bots (docs/PERFORMANCE.md).
// -arrival-times (on by default) times snaps and input acks by the
// kernel's receive timestamps, so that the load generator's own waits
// before it reads a socket are not counted as the server's lateness.
//
// A progress bar shows each phase when stdout is a terminal, unless
// -quiet. Every flag has an environment twin: -clients is
// SHATTER_CLIENTS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shatter/shatter/cmd/internal/flagenv"
	"github.com/shatter/shatter/net/bot"
	"github.com/shatter/shatter/net/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// defaultReport is where -scenarios writes without -out.
const defaultReport = "docs/PERFORMANCE.md"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4000", "server: HOST:PORT or a ws:// URL; several, comma-separated, spread the bots round-robin over the nodes of a fleet")
	adminAddr := fs.String("admin", "", "server admin HOST:PORT to read tick time, memory and CPU from (optional)")
	var cfg loadConfig
	fs.IntVar(&cfg.Clients, "clients", 100, "bot sessions to open")
	fs.BoolVar(&cfg.Idle, "idle", false, "the bots never spawn or send input, only read (spectating): the cost of an idle session")
	fs.Float64Var(&cfg.Ramp, "ramp", 100, "sessions opened a second")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "play measured after the ramp")
	fs.Float64Var(&cfg.InputRate, "input-rate", 20, "inputs a second per bot (the server allows 60)")
	fs.IntVar(&cfg.Spread, "spread", 0, "arenas the scenario assumes the server spreads the sessions over, checked against /arenas (0: clients / max_players, rounded up)")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "hard limit on the whole run (0: the ramp's time + -duration + 1m)")
	fs.DurationVar(&cfg.DialTimeout, "dial-timeout", 10*time.Second, "limit on each session's dial, hello and welcome")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "bot i steers with seed+i")
	fs.StringVar(&cfg.Name, "name", "lg", "bot i is named this followed by i")
	fs.IntVar(&cfg.Workers, "workers", 4, "goroutines sending the bots' inputs, paced by one shared ticker")
	fs.BoolVar(&cfg.Poll, "poll", true, "read the bots' sockets on a few epoll loops (one a core, net/client PollGroup) instead of a goroutine a bot woken for every frame")
	fs.DurationVar(&cfg.PollPace, "poll-pace", client.DefaultPollPace, "with -poll: how long a loop sleeps after reading what it found before it looks again (a snap waits half of it on average)")
	fs.BoolVar(&cfg.PollDetach, "poll-detach", true, "with -poll: take the bots' sockets out of the Go runtime's poller (net/client PollOptions.Detach), so that a frame arriving while the loops pace wakes no thread")
	fs.BoolVar(&cfg.Arrivals, "arrival-times", true, "time snaps and input acks by when they reached the bot's socket (the kernel's receive timestamp, Linux) rather than when a loop of the load generator read them, so that its own waits do not count as the server's")
	fs.IntVar(&cfg.FullEvery, "full-every", 10, "one bot in this many (bot 0 among them) decodes and applies every snap in full, checking the deltas and steering by its whole view; the others skim theirs (a decoder of their own that leaves names out, no table) and steer by the marbles that moved and a few fragments they saw added (1: every bot in full)")
	fs.StringVar(&cfg.ProfileFile, "cpuprofile", "", "with -admin: write a 10 s server CPU profile taken during the play to this file")
	fs.StringVar(&cfg.SelfProfile, "loadgen-cpuprofile", "", "write the load generator's own CPU profile over the window to this file (with -scenarios, -profile-dir gets one per scenario instead)")
	fs.BoolVar(&cfg.Reconnect, "reconnect", false, "a bot whose connection drops (no close frame, or 1001) resumes with its token at the next -addr, then the others (always on in fleet scenarios)")
	fs.DurationVar(&cfg.MoveTimeout, "move-timeout", 0, "how long a bot tries to reach a moved's node before it goes back with its token (0: net/client's 5 s)")
	out := fs.String("out", "", "append the result row to this markdown table (with -scenarios: write the section, default "+defaultReport+")")
	quiet := fs.Bool("quiet", false, "no progress bar or phase lines; the summary still prints")
	scenarios := fs.String("scenarios", "", "comma-separated client counts, each run against a server of its own; \"idle\" before a count makes its bots idle, \"fleet\" runs them against a fleet of its own (redis-server and 3 nodes; a drain and a kill in the window), \"soak\" adds every attack of net/hostile, round after round, for the whole -duration, e.g. 100,500,1000,2000,idle2000, fleet1500 or soak24; "+
		"\"knee\" (knee500-8000; kneeSTART-LIMIT to choose) searches for the largest count of playing bots with >= 95% of snaps on time and input→ack p99 <= 2 ticks, the server under taskset on one CPU and the load generator on another: a fresh server a probe, START doubled (up to LIMIT) until a probe fails, then bisected down to 100 clients or 4%, at most -knee-probes probes of -knee-window each")
	serverBin := fs.String("server-bin", "bin/shatter-server", "with -scenarios: the server binary")
	build := fs.Bool("build", true, "with -scenarios: build -server-bin from ./cmd/server first")
	kneeProbes := fs.Int("knee-probes", 9, "with -scenarios knee: the most probes of the search")
	kneeWindow := fs.Duration("knee-window", 15*time.Second, "with -scenarios knee: the most each probe measures (-duration, if shorter, bounds it too)")
	profileDir := fs.String("profile-dir", "", "with -scenarios: write server CPU and heap profiles of each scenario here")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	if cfg.Clients < 1 || cfg.Ramp <= 0 || cfg.Duration <= 0 || cfg.Workers < 1 || cfg.DialTimeout <= 0 || cfg.FullEvery < 1 {
		return errors.New("-clients, -ramp, -duration, -workers, -dial-timeout and -full-every must be positive")
	}
	if cfg.MoveTimeout < 0 || cfg.PollPace < 0 {
		return errors.New("-move-timeout and -poll-pace must not be negative")
	}
	if cfg.InputRate <= 0 || cfg.InputRate > 60 {
		return fmt.Errorf("-input-rate %v: want more than 0 and at most 60", cfg.InputRate)
	}
	cfg.Progress = &progress{}
	if !*quiet {
		cfg.Progress.out = stdout
		if f, ok := stdout.(*os.File); ok && isTerminal(f) {
			cfg.Progress.bars = true
		}
	}

	if *scenarios != "" {
		list, err := parseScenarios(*scenarios)
		if err != nil {
			return err
		}
		sc := scenarioConfig{
			Scenarios: list, ServerBin: *serverBin, Build: *build, ProfileDir: *profileDir,
			Out: *out, Command: "loadgen " + strings.Join(args, " "), Load: cfg,
			KneeProbes: *kneeProbes, KneeWindow: *kneeWindow,
		}
		if sc.KneeProbes < 1 || sc.KneeWindow <= 0 {
			return errors.New("-knee-probes and -knee-window must be positive")
		}
		if sc.Out == "" {
			sc.Out = defaultReport
		}
		return runScenarios(ctx, sc, stdout)
	}

	urls, err := parseAddrs(*addr)
	if err != nil {
		return err
	}
	cfg.URLs, cfg.Admin = urls, *adminAddr
	if cfg.Timeout <= 0 {
		cfg.Timeout = planned(cfg) + time.Minute
	}
	if cfg.ProfileFile != "" && cfg.Admin == "" {
		return errors.New("-cpuprofile needs -admin")
	}
	res, err := runLoad(ctx, cfg)
	if err != nil {
		return err
	}
	printSummary(stdout, res)
	if *out != "" {
		if err := appendRow(*out, res); err != nil {
			return err
		}
	}
	if res.Connected == 0 {
		return errors.New("no session connected")
	}
	return nil
}

// parseAddrs parses -addr: one server address or several, comma-separated,
// each as bot.ServerURL takes it.
func parseAddrs(s string) ([]string, error) {
	var urls []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("-addr %q: an empty address", s)
		}
		url, err := bot.ServerURL(f)
		if err != nil {
			return nil, fmt.Errorf("-addr: %w", err)
		}
		urls = append(urls, url)
	}
	return urls, nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// parseScenarios parses "100,500,idle1000,fleet1500,soak24,knee" (or
// knee500-8000: a knee search's first count and its limit).
func parseScenarios(s string) ([]scenario, error) {
	var list []scenario
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if bounds, ok := strings.CutPrefix(f, "knee"); ok {
			sn, err := parseKnee(bounds)
			if err != nil {
				return nil, fmt.Errorf("-scenarios %q: %q: %w", s, f, err)
			}
			list = append(list, sn)
			continue
		}
		count, idle := strings.CutPrefix(f, "idle")
		count, fleet := strings.CutPrefix(count, "fleet")
		count, soak := strings.CutPrefix(count, "soak")
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 || countTrue(idle, fleet, soak) > 1 {
			return nil, fmt.Errorf("-scenarios %q: %q is not a positive client count, alone or after one of \"idle\", \"fleet\" or \"soak\"", s, f)
		}
		list = append(list, scenario{Clients: n, Idle: idle, Fleet: fleet, Soak: soak})
	}
	return list, nil
}

// parseKnee parses what follows "knee" in a scenario: nothing, for the
// defaults, or "START-LIMIT".
func parseKnee(bounds string) (scenario, error) {
	if bounds == "" {
		return scenario{Knee: true, Clients: kneeDefaultStart, KneeLimit: kneeDefaultLimit}, nil
	}
	lo, hi, ok := strings.Cut(bounds, "-")
	start, err1 := strconv.Atoi(lo)
	limit, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || start < 1 || limit < start {
		return scenario{}, errors.New("want knee alone or kneeSTART-LIMIT with 1 <= START <= LIMIT, e.g. knee500-8000")
	}
	return scenario{Knee: true, Clients: start, KneeLimit: limit}, nil
}
