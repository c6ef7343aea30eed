package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/shatter/shatter/net/floor"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/shatter/shatter/sim"
)

// The markers around the knee search's section of -out.
const (
	kneeBegin = "<!-- loadgen:knee:begin -->"
	kneeEnd   = "<!-- loadgen:knee:end -->"
)

// The knee scenario's defaults: the word "knee" alone is knee500-8000.
const (
	kneeDefaultStart = 500
	kneeDefaultLimit = 8000
)

// Pass conditions of a probe, and the goal the knee is held against.
const (
	// kneeOnTime is the share of snaps that must arrive on time.
	kneeOnTime = 0.95
	// kneeAckTicks bounds input→ack p99, in ticks: one is the wait for
	// the next tick, the other the tick and the fan-out, since one core
	// cannot write thousands of snaps in the 5 ms a tick is allowed.
	kneeAckTicks = 2
	// kneeGoal is the share of the write-floor bound the knee should reach.
	kneeGoal = 0.36
)

// kneeProbe is one probe of a knee search: a count of playing bots
// against a fresh server.
type kneeProbe struct {
	Clients int
	Res     *result
	Pass    bool
	Why     []string // the conditions it failed
}

// kneeResult is what a knee search found.
type kneeResult struct {
	Start, Limit int
	MaxProbes    int
	Window       time.Duration // each probe's measured play
	Pinning      pinning
	Probes       []kneeProbe
	Knee         int
	Bracketed    bool // the knee's first failing count above it was found within the resolution
	MaxArenas    int
}

// runKnee searches for the knee of sn: probes of playing bots, each
// against a fresh server pinned to one CPU while the load generator runs
// on another, the write floor measured before each probe's server starts.
func runKnee(ctx context.Context, sc scenarioConfig, sn scenario, bin string, stdout io.Writer) (*kneeResult, error) {
	kr := &kneeResult{
		Start: sn.Clients, Limit: sn.KneeLimit, MaxProbes: sc.KneeProbes, Window: min(sc.Load.Duration, sc.KneeWindow),
		Pinning: planPinning(), MaxArenas: arenasFor(sn.KneeLimit),
	}
	show := sc.Load.Progress
	show.note("knee search from %d to at most %d clients, %v windows, at most %d probes; %s", kr.Start, kr.Limit, kr.Window, kr.MaxProbes, kr.Pinning.Note)
	search := newKneeSearch(kr.Start, kr.Limit, kr.MaxProbes)
	err := runKneeSearch(search, func(clients int) (bool, error) {
		cfg := sc.Load
		cfg.Clients, cfg.Idle, cfg.Fleet, cfg.Duration = clients, false, false, kr.Window
		res, err := kneeProbeRun(ctx, cfg, bin, kr.MaxArenas, &kr.Pinning)
		if err != nil {
			return false, fmt.Errorf("knee probe of %d clients: %w", clients, err)
		}
		pass, why := judgeProbe(res)
		kr.Probes = append(kr.Probes, kneeProbe{Clients: clients, Res: res, Pass: pass, Why: why})
		printSummary(stdout, res)
		fmt.Fprintf(stdout, "\nknee probe %d clients: %s\n", clients, passText(pass, why))
		return pass, context.Cause(ctx)
	})
	kr.Knee, kr.Bracketed = search.knee()
	return kr, err
}

// kneeProbeRun runs one probe: the floor, a pinned server, the load with
// the load generator pinned, and stops the server whatever happens.
func kneeProbeRun(ctx context.Context, cfg loadConfig, bin string, maxArenas int, pin *pinning) (*result, error) {
	logPath := filepath.Join(os.TempDir(), fmt.Sprintf("shatter-loadtest-server-knee-%d.log", cfg.Clients))
	cfg.Progress.note("knee probe: %d clients: measuring the write floor", cfg.Clients)
	fl := pin.measureFloor()
	srv, err := startServer(ctx, pin.launch(bin), singleServerArgs(cfg, maxArenas), logPath, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	cfg.URLs = []string{"ws://" + srv.addr + "/ws"}
	cfg.Admin = srv.admin
	cfg.Timeout = planned(cfg) + time.Minute
	cfg.Progress.note("knee probe: %d clients against %s (max %d arenas, log %s)", cfg.Clients, srv.addr, maxArenas, logPath)
	res, err := func() (*result, error) {
		restore, err := pin.pinLoadgen()
		if err != nil {
			return nil, err
		}
		defer restore()
		return runLoad(ctx, cfg)
	}()
	if res != nil {
		res.Floor = fl
	}
	if serr := srv.stop(); serr != nil {
		cfg.Progress.note("warning: server of knee probe %d: %v (log %s)", cfg.Clients, serr, logPath)
	}
	return res, err
}

// judgeProbe says whether a probe passed: every bot connected, at least
// kneeOnTime of the snaps on time, input→ack p99 within kneeAckTicks
// ticks of the welcome's rate; and if not, which of these it missed.
func judgeProbe(r *result) (bool, []string) {
	var why []string
	if r.Connected < r.Config.Clients {
		why = append(why, fmt.Sprintf("%d of %d connected", r.Connected, r.Config.Clients))
	}
	if r.Gaps == 0 || float64(r.OnTime) < kneeOnTime*float64(r.Gaps) {
		why = append(why, "on time "+percent(r.OnTime, r.Gaps))
	}
	if bound := ackBound(r.TickRate); r.Acks == 0 || bound == 0 || r.AckP99 > bound {
		why = append(why, fmt.Sprintf("p99 %s ms > %s ms", ms(r.AckP99), ms(bound)))
	}
	return len(why) == 0, why
}

// ackBound is the bound on input→ack p99 at rate ticks a second, or 0
// without a rate (no welcome).
func ackBound(rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return kneeAckTicks * time.Second / time.Duration(rate)
}

func passText(pass bool, why []string) string {
	if pass {
		return "pass"
	}
	return "**fail** (" + strings.Join(why, "; ") + ")"
}

// floor is the median of the probes' write floors to floorManyConns
// connections, CPU per write, or 0 where none was measured.
func (kr *kneeResult) floor() time.Duration {
	return kr.medianFloor(func(f *floorResult) floor.Result { return f.Many })
}

// pacedFloor is floor for the paced floor (writes in bursts each tick).
func (kr *kneeResult) pacedFloor() time.Duration {
	return kr.medianFloor(func(f *floorResult) floor.Result { return f.Paced })
}

// medianFloor is the median of the probes' floors that pick selects.
func (kr *kneeResult) medianFloor(pick func(*floorResult) floor.Result) time.Duration {
	var fs []time.Duration
	for _, p := range kr.Probes {
		if f := p.Res.Floor; f != nil && f.Err == nil && pick(f).CPUPerWrite() > 0 {
			fs = append(fs, pick(f).CPUPerWrite())
		}
	}
	if len(fs) == 0 {
		return 0
	}
	slices.Sort(fs)
	if n := len(fs); n%2 == 0 {
		return (fs[n/2-1] + fs[n/2]) / 2
	}
	return fs[len(fs)/2]
}

// tickRate is the probes' tick rate from the welcome, or 0.
func (kr *kneeResult) tickRate() int {
	for _, p := range kr.Probes {
		if p.Res.TickRate > 0 {
			return p.Res.TickRate
		}
	}
	return 0
}

// bound is the write-floor bound: the clients one core could send a snap
// every tick if each cost one floor's write and nothing else (one second
// ÷ tick rate ÷ floor), or 0 without a floor or a rate.
func (kr *kneeResult) bound() float64 { return kr.boundOf(kr.floor()) }

// boundOf is the write-floor bound for a floor of fl a write.
func (kr *kneeResult) boundOf(fl time.Duration) float64 {
	rate := kr.tickRate()
	if fl <= 0 || rate <= 0 {
		return 0
	}
	return float64(time.Second) / float64(rate) / float64(fl)
}

// kneeHeader heads the table of probes.
const kneeHeader = `| probe | clients | connected / failed | on time | input→ack p50 / p99 ms | server CPU (per snap; kernel) | loadgen CPU (per snap; kernel) | write floor µs, 1 / 1000 conns / 1000 paced | server ÷ floor (paced) | result |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
`

func kneeRow(i int, p kneeProbe) string {
	r := p.Res
	cells := []string{
		fmt.Sprint(i + 1), fmt.Sprint(p.Clients),
		fmt.Sprintf("%d / %d", r.Connected, r.Failed),
		percent(r.OnTime, r.Gaps), "—", "—",
		cpuPerSnap(r.LoadgenCPU, r.LoadgenKernelCPU, r), "—", "—",
		passText(p.Pass, p.Why),
	}
	if r.Acks > 0 {
		cells[4] = fmt.Sprintf("%s / %s", ms(r.AckP50), ms(r.AckP99))
	}
	if f := r.Floor; f != nil && f.Err == nil {
		cells[7] = f.cell()
	}
	if s := r.Server; s != nil {
		cells[5] = cpuPerSnap(s.cpuCores(), s.kernelCores(), r)
		cells[8] = r.Floor.ratioCell(perSnapMicros(s.cpuCores(), r))
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// kneeLine states the knee, the bound and their ratio.
func (kr *kneeResult) kneeLine() string {
	var b strings.Builder
	switch {
	case kr.Knee == 0:
		fmt.Fprintf(&b, "**Knee: below %d clients** (no probe passed)", kr.Probes[len(kr.Probes)-1].Clients)
	case kr.Bracketed:
		fmt.Fprintf(&b, "**Knee: %d clients**", kr.Knee)
	case kr.Knee >= kr.Limit:
		fmt.Fprintf(&b, "**Knee: at least %d clients** (every count up to the search's limit passed)", kr.Knee)
	default:
		fmt.Fprintf(&b, "**Knee: at least %d clients** (the search ran out of probes, -knee-probes, before a failing count came within its resolution)", kr.Knee)
	}
	fl, bound := kr.floor(), kr.bound()
	if bound == 0 {
		b.WriteString("; no write floor was measured, so no bound.")
		return b.String()
	}
	ratio := float64(kr.Knee) / bound
	verdict := "meets"
	if ratio < kneeGoal {
		verdict = "**misses**"
	}
	fmt.Fprintf(&b, ". Write floor %.2f µs CPU a write to %d connections (the median of the %d probes'); write-floor bound 1 s ÷ %d Hz ÷ %.2f µs = %.0f clients; "+
		"the goal, %.0f%% of it, is %.0f clients. **Knee ÷ bound: %.1f%%**, which %s the goal.",
		micros(fl), floorManyConns, len(kr.Probes), kr.tickRate(), micros(fl), bound, 100*kneeGoal, kneeGoal*bound, 100*ratio, verdict)
	if pf := kr.pacedFloor(); pf > 0 {
		pb := kr.boundOf(pf)
		fmt.Fprintf(&b, " Against the paced floor, %.2f µs a write in a burst to %d connections each tick as a server makes them, the bound is %.0f clients and knee ÷ bound %.1f%%.",
			micros(pf), floorManyConns, pb, 100*float64(kr.Knee)/pb)
	}
	return b.String()
}

// kneeReport renders the search as a markdown section.
func kneeReport(sc scenarioConfig, version string, kr *kneeResult) string {
	var b strings.Builder
	l := sc.Load
	rate := kr.tickRate()
	if rate == 0 {
		rate = sim.DefaultConfig().TickRate
	}
	fmt.Fprintf(&b, "## Capacity on one core: the knee\n\n")
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	fmt.Fprintf(&b, "Command: `%s`, source %s.\n\n", sc.Command, version)
	fmt.Fprintf(&b, "Pinning: %s.", kr.Pinning.Note)
	if kr.Pinning.On {
		b.WriteString(" Nothing keeps other processes of the machine off either CPU: on a shared machine the figures are noisy.")
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "The knee is the largest count of playing bots for which every bot connected, at least %.0f%% of snaps arrived on time "+
		"and input→ack p99 stayed within %d ticks (%s ms at %d Hz). Each probe starts a fresh `shatter-server` on 127.0.0.1 "+
		"(the single-server scenarios' flags, `-max-arenas %d`), opens its bots at %g a second and measures %v of play, "+
		"%g inputs a second a bot; %s. The search probes %d clients, then doubles the count (at most %d) until a probe fails, "+
		"then bisects between the largest count that passed and the smallest that failed (counts rounded to %d) until they are within "+
		"%d clients or %d%% of the failing count, whichever is more; at most %d probes. "+
		"The write-floor bound is one second ÷ tick rate ÷ the write floor to %d connections (CPU per write, net/floor, measured before each probe's server started): "+
		"how many clients one core could send a snap every tick if each snap cost one such write and nothing else.\n\n",
		100*kneeOnTime, kneeAckTicks, ms(ackBound(rate)), rate, kr.MaxArenas, l.Ramp, kr.Window, l.InputRate, fullBotsText(l.FullEvery)+"; "+readersText(l),
		kr.Start, kr.Limit, kneeGrain, kneeMinGap, kneeGapPercent, kr.MaxProbes, floorManyConns)
	b.WriteString(kneeHeader)
	for i, p := range kr.Probes {
		b.WriteString(kneeRow(i, p))
	}
	b.WriteString("\n" + kr.kneeLine() + "\n\n")
	b.WriteString("CPU is each process's over the window in cores, in brackets per snapshot the bots received; **server ÷ floor** is the server's CPU per snap ÷ the probe's floor to 1,000 connections; the other figures are measured as in the load test's section.\n")
	return b.String()
}

// printKnee writes the search's outcome for a person.
func printKnee(w io.Writer, kr *kneeResult) {
	fmt.Fprintf(w, "\nknee search (pinning: %s)\n\n%s", kr.Pinning.Note, kneeHeader)
	for i, p := range kr.Probes {
		io.WriteString(w, kneeRow(i, p))
	}
	if len(kr.Probes) > 0 {
		fmt.Fprintf(w, "\n%s\n", kr.kneeLine())
	}
}

// errNoProbe is returned when a knee search ran no probe at all.
var errNoProbe = errors.New("the knee search ran no probe")
