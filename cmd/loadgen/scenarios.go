package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shatter/shatter/sim"
)

// scenarioConfig describes a -scenarios run: one fresh server per client
// count, the same load settings for each.
type scenarioConfig struct {
	Scenarios  []scenario
	ServerBin  string
	Build      bool
	ProfileDir string // a server CPU profile per scenario goes here if set
	Out        string
	Command    string        // the command line, quoted in the report
	Load       loadConfig    // everything but URLs, Admin, Clients, Timeout and ProfileFile
	NodeArgs   []string      // extra flags for each node of a fleet scenario
	KneeProbes int           // a knee search's most probes
	KneeWindow time.Duration // the most a knee probe's window lasts (Load.Duration bounds it too)
}

// scenario is one run of -scenarios: a client count, playing or idle,
// against one server or a fleet (fleet.go), or playing beside hostile
// traffic (soak.go); or a knee search (knee.go) from Clients up to
// KneeLimit playing bots.
type scenario struct {
	Clients   int
	Idle      bool
	Fleet     bool
	Soak      bool
	Knee      bool
	KneeLimit int
}

// arenaHeadroom is how many arenas a scenario's server may start beyond
// the ones its largest count fills, so that routing never refuses a bot.
const arenaHeadroom = 2

// runScenarios runs each scenario against its own server, or its own
// fleet, on loopback and writes the results into sc.Out: the single
// servers' section and the fleet's, each between its own markers.
func runScenarios(ctx context.Context, sc scenarioConfig, stdout io.Writer) error {
	largest, largestSingle := 0, 0
	for _, sn := range sc.Scenarios {
		largest = max(largest, sn.Clients, sn.KneeLimit)
		if !sn.Fleet && !sn.Knee {
			largestSingle = max(largestSingle, sn.Clients)
		}
	}
	// Before the server starts, so that it inherits the limit too.
	if limit, err := raiseOpenFiles(2 * largest); err != nil {
		sc.Load.Progress.note("warning: %v; dials past %d open files will fail with EMFILE", err, limit)
	}
	bin, err := filepath.Abs(sc.ServerBin)
	if err != nil {
		return err
	}
	if sc.Build {
		if err := buildServer(ctx, bin); err != nil {
			return err
		}
	}
	version := sourceVersion(ctx)
	maxArenas := arenasFor(largestSingle)
	if sc.ProfileDir != "" {
		if err := os.MkdirAll(sc.ProfileDir, 0o755); err != nil {
			return err
		}
	}

	var single, fleets []*result
	var soaks []*soakResult
	var knees []*kneeResult
	for _, sn := range sc.Scenarios {
		if sn.Knee {
			kr, err := runKnee(ctx, sc, sn, bin, stdout)
			if err != nil {
				return fmt.Errorf("scenario knee%d-%d: %w", sn.Clients, sn.KneeLimit, err)
			}
			printKnee(stdout, kr)
			knees = append(knees, kr)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		cfg := sc.Load
		cfg.Clients, cfg.Idle, cfg.Fleet = sn.Clients, sn.Idle, sn.Fleet
		if sn.Soak {
			soak, err := runSoak(ctx, sc, cfg, bin)
			if err != nil {
				return fmt.Errorf("scenario soak%d: %w", sn.Clients, err)
			}
			printSummary(stdout, soak.Load)
			printSoak(stdout, soak)
			soaks = append(soaks, soak)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		var res *result
		var err error
		if sn.Fleet {
			res, err = runFleet(ctx, sc, cfg, bin)
		} else {
			res, err = runSingle(ctx, sc, cfg, bin, maxArenas)
		}
		if err != nil {
			return fmt.Errorf("scenario %s: %w", scenarioName(cfg), err)
		}
		printSummary(stdout, res)
		if sn.Fleet {
			fleets = append(fleets, res)
		} else {
			single = append(single, res)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if len(soaks) > 0 && ctx.Err() == nil {
		if err := writeSection(sc.Out, soakBegin, soakEnd, soakReport(sc, version, soaks)); err != nil {
			return err
		}
	}
	for _, kr := range knees {
		if len(kr.Probes) == 0 {
			return errNoProbe
		}
		if err := writeSection(sc.Out, kneeBegin, kneeEnd, kneeReport(sc, version, kr)); err != nil {
			return err
		}
	}
	if len(single) > 0 {
		if err := writeSection(sc.Out, sectionBegin, sectionEnd, scenarioReport(sc, maxArenas, version, single)); err != nil {
			return err
		}
	}
	if len(fleets) > 0 {
		if ctx.Err() != nil {
			fmt.Fprintf(stdout, "\nthe run was interrupted: the fleet section of %s is left as it was\n", sc.Out)
			return context.Cause(ctx)
		}
		if err := writeSection(sc.Out, fleetBegin, fleetEnd, fleetReport(sc, version, fleets)); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", sc.Out)
	return nil
}

// runSingle runs one scenario against a server of its own.
func runSingle(ctx context.Context, sc scenarioConfig, cfg loadConfig, bin string, maxArenas int) (*result, error) {
	name := strings.ReplaceAll(scenarioName(cfg), " ", "-")
	logPath := filepath.Join(os.TempDir(), "shatter-loadtest-server-"+name+".log")
	args := singleServerArgs(cfg, maxArenas)
	// Measured on a machine the scenario's server does not load yet, so
	// that the ratio to it in the report compares the server's cost with
	// what this machine can do.
	sc.Load.Progress.note("scenario: %s clients: measuring the write floor", scenarioName(cfg))
	fl := measureFloor()
	srv, err := startServer(ctx, []string{bin}, args, logPath, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	cfg.URLs = []string{"ws://" + srv.addr + "/ws"}
	cfg.Admin = srv.admin
	cfg.Timeout = planned(cfg) + time.Minute
	if sc.ProfileDir != "" {
		cfg.ProfileFile = filepath.Join(sc.ProfileDir, "server-cpu-"+name+".pprof")
		cfg.HeapFile = filepath.Join(sc.ProfileDir, "server-heap-"+name+".pprof")
		cfg.SelfProfile = filepath.Join(sc.ProfileDir, "loadgen-cpu-"+name+".pprof")
	}
	sc.Load.Progress.note("scenario: %s clients against %s (max %d arenas, log %s)", scenarioName(cfg), srv.addr, maxArenas, logPath)
	res, err := runLoad(ctx, cfg)
	if res != nil {
		res.Floor = fl
	}
	if serr := srv.stop(); serr != nil {
		sc.Load.Progress.note("warning: server of scenario %s: %v (log %s)", scenarioName(cfg), serr, logPath)
	}
	return res, err
}

// singleServerArgs are the flags of a single-server scenario's server,
// and of each probe of a knee search.
func singleServerArgs(cfg loadConfig, maxArenas int) []string {
	args := []string{"-max-arenas", strconv.Itoa(maxArenas), "-log-level", "warn", "-seed", "1"}
	if cfg.Idle {
		// Idle bots spectate for the whole window, which is what they
		// measure: the server's idle timeout would close them after 60 s.
		args = append(args, "-idle-timeout", "0")
	}
	return args
}

// planned is how long a run should take: the ramp and the window.
func planned(cfg loadConfig) time.Duration {
	return time.Duration(float64(cfg.Clients)/cfg.Ramp*float64(time.Second)) + cfg.Duration
}

// buildServer builds cmd/server into bin from the module's root.
func buildServer(ctx context.Context, bin string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("find the module root: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/server")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the server: %w\n%s", err, out)
	}
	return nil
}

// sourceVersion names the source tree the server was built from: its
// commit, marked dirty when the tree had changes, or "unknown" outside git.
func sourceVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return "`" + strings.TrimSpace(string(out)) + "`"
}

// serverProcess is a server started for a scenario.
type serverProcess struct {
	cmd         *exec.Cmd
	addr, admin string
	exited      chan struct{} // closed when the process has exited
	err         error         // how it exited; set before exited is closed
	exitedAt    time.Time     // when; set before exited is closed
}

// startServer runs the command line launch (the server binary, or a
// launcher such as taskset followed by its arguments and the binary,
// which execs the server in its own place) with args on free loopback
// ports (-addr and -admin-addr come first, then -max-conns-per-ip 0:
// every bot comes from 127.0.0.1) and waits until its admin listener
// answers. deathSig is the signal the process gets if the load generator
// dies without stopping it.
func startServer(ctx context.Context, launch []string, args []string, logPath string, deathSig syscall.Signal) (*serverProcess, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	admin, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(launch[0], slices.Concat(launch[1:], []string{"-addr", addr, "-admin-addr", admin, "-max-conns-per-ip", "0"}, args)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A load generator killed without a chance to stop its server takes
	// the server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: deathSig}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", strings.Join(launch, " "), err)
	}
	s := &serverProcess{cmd: cmd, addr: addr, admin: admin, exited: make(chan struct{})}
	// Owned by the serverProcess: exits when the process does.
	go func() {
		s.err = cmd.Wait()
		s.exitedAt = time.Now()
		logFile.Close()
		close(s.exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + admin + "/arenas")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("server exited at start: %v (log %s)", s.err, logPath)
		case <-ctx.Done():
			s.stop()
			return nil, context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("server not ready after 10 s (log %s)", logPath)
		}
	}
}

// stop asks the server to shut down (SIGTERM) and kills it if it has not
// exited within 10 s, twice its own shutdown bound.
func (s *serverProcess) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.exited:
		return s.err
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return errors.New("killed: did not stop within 10 s of SIGTERM")
	}
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// scenarioReport renders the scenarios' results as a markdown section.
func scenarioReport(sc scenarioConfig, maxArenas int, version string, results []*result) string {
	var b strings.Builder
	l := sc.Load
	fmt.Fprintf(&b, "## Load test\n\n")
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	fmt.Fprintf(&b, "Command: `%s`, source %s.\n\n", sc.Command, version)
	fmt.Fprintf(&b, "Each scenario starts a fresh `shatter-server` on 127.0.0.1 (default rules: %d Hz, %d sessions an arena; `-max-arenas %d`), "+
		"opens its bot sessions over real WebSocket connections at %g a second, then measures %v of play: every bot steers with net/bot "+
		"(feeds, chases, flees, boosts, respawns) and sends %g inputs a second; %s. The bots of an idle row connect and never spawn or send input: "+
		"they spectate, so the server still sends them snapshots. The load generator runs on the same machine and competes with the server for its cores.\n\n",
		sim.DefaultConfig().TickRate, sim.DefaultConfig().MaxPlayers, maxArenas, l.Ramp, l.Duration, l.InputRate, fullBotsText(l.FullEvery)+"; "+readersText(l))
	b.WriteString(resultsHeader)
	for _, r := range results {
		b.WriteString(resultsRow(r))
	}
	b.WriteString("\n" + detailsHeader)
	for _, r := range results {
		b.WriteString(detailsRow(r))
	}
	b.WriteString("\n" + goalsHeader)
	for _, r := range results {
		b.WriteString(goalsRow(r))
	}
	if sc.ProfileDir != "" {
		fmt.Fprintf(&b, "\nServer profiles of each scenario N: CPU over 10 s of the window in `%s/server-cpu-N.pprof`, heap at the window's end in `%s/server-heap-N.pprof`, where N is the row's first cell with a dash for the space (`go tool pprof -top FILE`).\n", sc.ProfileDir, sc.ProfileDir)
	}
	b.WriteString(definitions)
	return b.String()
}

// fullBotsText says which bots decode their snaps in full, for the
// report.
func fullBotsText(every int) string {
	if every <= 1 {
		return "every bot decodes and applies every snap in full, checking each delta against its table (-full-every 1)"
	}
	return fmt.Sprintf("one bot in %d decodes and applies every snap in full, checking each delta against its table and steering by its whole view, "+
		"and the others skim their snaps: a quick decoder of their own, no table of named entities, and a brain that sees only the marbles that moved "+
		"and a few fragments (net/client SkimSnaps, net/bot Glimpse; -full-every %d)", every, every)
}

// readersText says what reads the bots' sockets, for the report.
func readersText(l loadConfig) string {
	if !l.Poll {
		return "each bot's socket is read by a goroutine of its own, woken for every frame (-poll=false)"
	}
	detached := ""
	if l.PollDetach {
		detached = ", the sockets taken out of the Go runtime's poller (-poll-detach)"
	}
	stamps := ""
	if l.Arrivals {
		stamps = "; snaps are timed by the kernel's receive timestamps (-arrival-times)"
	}
	return fmt.Sprintf("the bots' sockets are read by one loop a core, each an epoll instance looked at every %v while frames arrive, "+
		"instead of a goroutine a bot (net/client PollGroup; -poll, -poll-pace %v)%s%s", l.PollPace, l.PollPace, detached, stamps)
}

// goalsHeader heads the table that checks each scenario against the load
// goals.
const goalsHeader = `| clients | ≥ 95% snaps on time | input→ack p99 ≤ 1 tick + 5 ms | server tick p99 < 5 ms | < 20 KiB server memory per session | < 20 KB/s per client |
|---:|---|---|---|---|---|
`

func goalsRow(r *result) string {
	mark := func(ok bool, value string) string {
		if ok {
			return "yes (" + value + ")"
		}
		return "**no** (" + value + ")"
	}
	tick := time.Second / time.Duration(max(1, r.TickRate))
	onTime := 0.0
	if r.Gaps > 0 {
		onTime = float64(r.OnTime) / float64(r.Gaps)
	}
	cells := []string{
		scenarioName(r.Config),
		mark(r.Gaps > 0 && onTime >= 0.95, percent(r.OnTime, r.Gaps)),
		"— (no input)",
		"—", "—",
		mark(r.BytesPerClient < 20000, fmt.Sprintf("%.1f KB/s", r.BytesPerClient/1000)),
	}
	if !r.Config.Idle {
		cells[2] = mark(r.Acks > 0 && r.AckP99 <= tick+5*time.Millisecond, ms(r.AckP99)+" ms")
	}
	if s := r.Server; s != nil {
		_, p99 := s.worstTicks()
		cells[3] = mark(p99 < 5, fmt.Sprintf("%.2f ms", p99))
		perSession := s.perSession(s.End.RSS - s.Before.RSS)
		cells[4] = mark(perSession < 20<<10, kib(perSession))
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// definitions says how each figure is measured.
const definitions = `
How the figures are measured:

- **snaps/s per client**: snaps received in the window ÷ window ÷ connected bots, against the tick rate from the welcome.
- **on time**: share of snap arrivals that came within 1.5 tick periods (50 ms at 30 Hz) of the same bot's previous snap. A snap arrives when its bytes reach the bot's socket: the kernel's receive timestamp (SO_TIMESTAMPNS, ` + "`-arrival-times`" + `, on by default on Linux), so that the load generator's own waits before it reads (its loops share one core in the knee) are not counted as the server's; a read the kernel left unstamped, and every read with ` + "`-arrival-times=false`" + `, is timed when the load generator reads it. A late snap and the ticks a slow session skipped both count against it; **ticks skipped** counts the ticks the snaps' tick numbers jumped over.
- **input→ack**: from writing an input to the arrival (as above) of the first snap whose ack covers its seq (net/client's send-time ring), so it holds the wait for the next tick (0 to 1 tick), the tick, and the session's snapshot encoding and delivery; without ` + "`-arrival-times`" + ` also the bot's own delay before reading. Quantiles are bucket upper bounds, within 1.6%.
- **bytes**: message payloads without WebSocket framing (2 to 4 bytes a frame). Bytes/snap is every server message received in the window (snaps, the 1 Hz board, deaths) ÷ snaps.
- **server tick**: the worst arena's p50 and p99 from ` + "`/arenas`" + ` (each arena's last 1024 ticks, about the window). **ticks > 5 ms** is over every arena's ticks in the window, from the ` + "`shatter_tick_seconds`" + ` histogram, whose 5 ms bucket bound makes it exact.
- **server RSS**: ` + "`process_resident_memory_bytes`" + ` at the window's end; per session is (RSS at the end − RSS before the ramp) ÷ open sessions. The sessions are playing, so this bounds an idle session's cost from above. Server heap is ` + "`go_memstats_heap_inuse_bytes`" + ` the same way.
- **CPU**: ` + "`process_cpu_seconds_total`" + ` over the window ÷ the window, in cores; the load generator's is its own user and system time. In brackets, the same per snapshot the bots received (cores ÷ snapshots a second): the fan-out's cost, to compare with the write floor; after **kernel**, the part of it the kernel spent on the process's behalf (its system time: ` + "`shatter_process_cpu_seconds_total{mode=\"system\"}`" + ` for the server, getrusage for the load generator), mostly the sockets' writes and reads, which none of the process's own code can make cheaper short of batching them (io_uring: docs/PERFORMANCE.md, the seventh stop on fan-out).
- **write floor**: what one write system call of a 300-byte frame (a typical snap) to a loopback TCP connection drained by a reader costs on this machine, measured by net/floor just before each scenario's server starts (the same as ` + "`go test -run '^$' -bench LoopbackWriteFloor ./net/session`" + `): the writing thread's own CPU time per write (CLOCK_THREAD_CPUTIME_ID), wall time in brackets, writing again and again to 1 connection, round-robin to 1,000, each drained by its own reader goroutine, and to the 1,000 in a burst 30 times a second (paced: the writes of a tick, between which the readers sleep and the sockets' kernel state leaves the caches, as in a server's fan-out). A session's snap can cost the server no less than one such write. **server ÷ floor** is the server's CPU per snap ÷ the floor's CPU per write to 1,000 connections round-robin, and in brackets ÷ the paced floor's: a fan-out writes to thousands of sockets whose kernel state has left the CPU's caches since the last tick, which one connection written again and again never does, so the one-connection figure (printed too) is a fraction of what a fan-out's writes can cost (a fifth to a half on the 2-CPU machine this was written on), and the paced floor is about 1.7 times the round-robin one there.
- **loadgen CPU**: all of the load generator's CPU, its bots' reads, decoding, steering and input writes included. Most bots skim their snaps (see above), which does not change what they measure: every bot reads every frame from its socket, and its snaps count for on time, ticks skipped, input→ack and bytes. Only the full bots check the deltas, so **snap entries that contradicted a table** (printed when there are any) counts theirs.
- **pacer missed**: times the bots' shared input ticker found a sender still busy with the previous slot, each a slot of bots whose input came one period late.
`
