package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/sim"
)

// A fleet scenario (-scenarios fleetN) runs N bots against a fleet on
// loopback: a redis-server and fleetNodes nodes of -server-bin. The bots
// are spread over the nodes; at a third of the window node-1 is sent
// SIGTERM (it drains its players to the others and exits), at two thirds
// node-2 is sent SIGKILL (a crash: its players reconnect to node-0 with
// their tokens). node-0 seats every bot at the end, so each node may run
// enough arenas for all of them.
const (
	fleetNodes = 3
	drainNode  = 1
	killNode   = 2
	// fleetReadyTimeout bounds the wait for every node to list the
	// others in /fleet before the ramp.
	fleetReadyTimeout = 15 * time.Second
	// logLinesKept is how many warning lines of each node's log the
	// summary quotes.
	logLinesKept = 5
)

// fleetResult is what a fleet scenario measured of its nodes and its
// Redis, beside what the bots saw.
type fleetResult struct {
	MaxArenas       int
	NodeArgs        []string      // extra flags every node had
	DrainAt, KillAt time.Duration // since the window's start; 0 if it did not happen
	Samples         []nodeSample  // each live node before the drain, before the kill and at the end
	Redis           []redisPhase
	RedisTop        []commandCount // the window's commands, most first
	Drained, Killed nodeEnd
	Logs            []nodeLog
}

// nodeSample is what one node said about itself at one moment.
type nodeSample struct {
	Node, Moment     string
	At               time.Duration // since the window's start
	Sessions, Arenas int
	TickP50, TickP99 float64 // ms, the node's worst arena over its last 1024 ticks
	CPU              float64 // cores since the node's previous sample (or the window's start); < 0 unknown
	Err              string  // why the node could not be read
}

// redisPhase is Redis's work between two moments of the window.
type redisPhase struct {
	Name        string
	Length      time.Duration
	NodeSeconds float64 // seconds of running node processes in the phase
	Commands    uint64  // commands executed for every node, those its scripts call included (the load generator's INFO left out)
	Scripts     uint64  // of them, script runs (EVALSHA, EVAL)
	CPU         float64 // Redis's cores
}

// perNode is the phase's commands a second per running node.
func (p redisPhase) perNode() float64 {
	if p.NodeSeconds <= 0 {
		return 0
	}
	return float64(p.Commands) / p.NodeSeconds
}

type commandCount struct {
	Name  string
	Calls uint64
}

// nodeEnd says how a node that was signalled ended.
type nodeEnd struct {
	Node      string
	Sessions  int           // its sessions just before the signal
	ExitAfter time.Duration // from the signal to its exit; 0 if it did not exit during the run
	Exit      string
}

// nodeLog is what a node's log holds that an operator would look at.
type nodeLog struct {
	Node, Path string
	Warnings   int      // lines at level WARN or ERROR, and panics
	First      []string // the first logLinesKept of them
}

// fleetNode is one node process of a fleet scenario.
type fleetNode struct {
	id      string
	proc    *serverProcess
	adm     *admin
	url     string // its WebSocket, ws://HOST:PORT/ws
	logPath string

	// Owned by the scenario's During goroutine.
	cpu       float64   // process_cpu_seconds_total at the previous sample
	cpuAt     time.Time // when; zero before the first
	signalled time.Time // when it was sent SIGTERM or SIGKILL
}

// fleetRun is a fleet scenario under way.
type fleetRun struct {
	redis  *redisProcess
	nodes  []*fleetNode
	res    *fleetResult
	show   *progress
	window time.Duration // the measured play, the load's Duration

	// Owned by During, read after runLoad returns.
	start  time.Time    // the window's start
	marks  []redisStats // Redis at the window's start and at each event, then at its end
	phases []string     // the name of the phase each mark but the last starts

	stopOnce sync.Once
}

// arenasFor is the -max-arenas that lets one node seat clients bots,
// with arenaHeadroom to spare.
func arenasFor(clients int) int {
	return int(math.Ceil(float64(clients)/float64(sim.DefaultConfig().MaxPlayers))) + arenaHeadroom
}

// runFleet runs one fleet scenario with the load settings of cfg: starts
// Redis and the nodes, runs the load with the drain and the kill in its
// window, and stops everything it started, whatever happens.
func runFleet(ctx context.Context, sc scenarioConfig, cfg loadConfig, bin string) (*result, error) {
	show := cfg.Progress
	maxArenas := arenasFor(cfg.Clients)
	redis, err := startRedis(ctx)
	if err != nil {
		return nil, err
	}
	defer redis.stop()
	fr := &fleetRun{redis: redis, show: show, window: cfg.Duration, res: &fleetResult{MaxArenas: maxArenas, NodeArgs: sc.NodeArgs}}
	defer fr.stopNodes()
	name := strings.ReplaceAll(scenarioName(cfg), " ", "-")
	for i := range fleetNodes {
		id := fmt.Sprintf("node-%d", i)
		logPath := filepath.Join(os.TempDir(), "shatter-loadtest-"+name+"-"+id+".log")
		// startServer turns the per-address limit off: every bot dials from
		// 127.0.0.1.
		args := append([]string{"-max-arenas", strconv.Itoa(maxArenas), "-log-level", "info", "-seed", strconv.Itoa(1 + 1000*i),
			"-redis", redis.url(), "-node-id", id}, sc.NodeArgs...)
		// SIGKILL if the load generator dies: a SIGTERM would start drains.
		p, err := startServer(ctx, []string{bin}, args, logPath, syscall.SIGKILL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		fr.nodes = append(fr.nodes, &fleetNode{id: id, proc: p, adm: newAdmin(p.admin), url: "ws://" + p.addr + "/ws", logPath: logPath})
	}
	if err := fr.waitReady(ctx); err != nil {
		return nil, err
	}
	show.note("scenario: %s bots over %d nodes (max %d arenas each), Redis on %s; logs %s", scenarioName(cfg), fleetNodes, maxArenas,
		redis.addr, filepath.Join(os.TempDir(), "shatter-loadtest-"+name+"-node-*.log"))

	cfg.URLs = nil
	for _, n := range fr.nodes {
		cfg.URLs = append(cfg.URLs, n.url)
	}
	cfg.Admin, cfg.Reconnect, cfg.Fleet, cfg.During = "", true, true, fr.during
	cfg.Timeout = planned(cfg) + time.Minute
	res, err := runLoad(ctx, cfg)
	fr.stopNodes()
	if err != nil {
		return nil, err
	}
	fr.finish()
	res.Fleet = fr.res
	return res, nil
}

// waitReady waits until every node's /fleet lists every node.
func (fr *fleetRun) waitReady(ctx context.Context) error {
	var want []string
	for _, n := range fr.nodes {
		want = append(want, n.id)
	}
	deadline := time.Now().Add(fleetReadyTimeout)
	for _, n := range fr.nodes {
		for {
			ids, err := n.adm.fleetNodes(ctx)
			slices.Sort(ids)
			if err == nil && slices.Equal(ids, want) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s's /fleet lists %v (%v) after %v, want %v (log %s)", n.id, ids, err, fleetReadyTimeout, want, n.logPath)
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// during runs the window's events: it reads every node and Redis at the
// start, drains node-1 at a third of the window, kills node-2 at two
// thirds, and reads what is left at the end.
func (fr *fleetRun) during(ctx context.Context, windowEnd <-chan struct{}, run *loadRun) {
	fr.start = time.Now()
	fr.mark(ctx, "3 nodes, until the drain")
	for _, n := range fr.nodes {
		fr.cpuSample(ctx, n)
	}
	until := func(at time.Duration) bool {
		select {
		case <-time.After(time.Until(fr.start.Add(at))):
			return true
		case <-windowEnd:
		case <-ctx.Done():
		}
		return false
	}
	window := fr.window
	if until(window / 3) {
		fr.sampleLive(ctx, "before the drain")
		fr.mark(ctx, "from the drain to the kill")
		n := fr.nodes[drainNode]
		fr.res.Drained = nodeEnd{Node: n.id, Sessions: fr.lastSessions(n.id)}
		fr.res.DrainAt = time.Since(fr.start)
		n.signalled = time.Now()
		if err := n.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			fr.show.event("fleet: SIGTERM to %s: %v", n.id, err)
		} else {
			fr.show.event("fleet: %v into the window, SIGTERM to %s (drain) with %d sessions", fr.res.DrainAt.Round(time.Millisecond), n.id, fr.res.Drained.Sessions)
		}
	}
	if until(2 * window / 3) {
		fr.sampleLive(ctx, "before the kill")
		fr.mark(ctx, "after the kill")
		n := fr.nodes[killNode]
		fr.res.Killed = nodeEnd{Node: n.id, Sessions: fr.lastSessions(n.id)}
		fr.res.KillAt = time.Since(fr.start)
		n.signalled = time.Now()
		if err := n.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			fr.show.event("fleet: SIGKILL to %s: %v", n.id, err)
		} else {
			fr.show.event("fleet: %v into the window, SIGKILL to %s (crash) with %d sessions", fr.res.KillAt.Round(time.Millisecond), n.id, fr.res.Killed.Sessions)
			// Its checkpoints no longer change: what its players come
			// back with must be what they say.
			cps, err := readCheckpoints(fr.redis.addr, n.id, run.tokens())
			if err != nil {
				fr.show.event("fleet: reading %s's checkpoints: %v", n.id, err)
			}
			run.tally.setCheckpoints(cps)
		}
	}
	select {
	case <-windowEnd:
	case <-ctx.Done():
	}
	if ctx.Err() == nil {
		fr.sampleLive(ctx, "at the end")
		fr.mark(ctx, "")
	}
}

// mark reads Redis's counters; name is the phase that starts there.
func (fr *fleetRun) mark(ctx context.Context, name string) {
	if ctx.Err() != nil {
		return
	}
	s, err := readRedisStats(fr.redis.addr)
	if err != nil {
		fr.show.event("fleet: redis INFO: %v", err)
		return
	}
	fr.marks = append(fr.marks, s)
	fr.phases = append(fr.phases, name)
}

// cpuSample reads the node's CPU time and returns its cores since the
// previous reading, or -1 for the first or when it cannot be read.
func (fr *fleetRun) cpuSample(ctx context.Context, n *fleetNode) float64 {
	s, err := n.adm.sample(ctx)
	if err != nil {
		return -1
	}
	cores := -1.0
	if !n.cpuAt.IsZero() {
		if w := s.At.Sub(n.cpuAt).Seconds(); w > 0 {
			cores = (s.CPUSeconds - n.cpu) / w
		}
	}
	n.cpu, n.cpuAt = s.CPUSeconds, s.At
	return cores
}

// sampleLive reads each node still running: its arenas and CPU.
func (fr *fleetRun) sampleLive(ctx context.Context, moment string) {
	for _, n := range fr.nodes {
		select {
		case <-n.proc.exited:
			continue
		default:
		}
		ns := nodeSample{Node: n.id, Moment: moment, At: time.Since(fr.start), CPU: -1}
		arenas, err := n.adm.arenas(ctx)
		if err != nil {
			ns.Err = err.Error()
		}
		for _, a := range arenas {
			ns.Sessions += a.Sessions
			ns.Arenas++
			ns.TickP50, ns.TickP99 = max(ns.TickP50, a.TickP50Ms), max(ns.TickP99, a.TickP99Ms)
		}
		ns.CPU = fr.cpuSample(ctx, n)
		fr.res.Samples = append(fr.res.Samples, ns)
	}
}

// lastSessions returns the sessions of node's latest sample.
func (fr *fleetRun) lastSessions(node string) int {
	for i := len(fr.res.Samples) - 1; i >= 0; i-- {
		if s := fr.res.Samples[i]; s.Node == node {
			return s.Sessions
		}
	}
	return 0
}

// stopNodes stops every node still running, at once: SIGTERM, then
// SIGKILL after 10 s. Safe to call more than once.
func (fr *fleetRun) stopNodes() {
	fr.stopOnce.Do(func() {
		var stopping sync.WaitGroup
		for _, n := range fr.nodes {
			stopping.Go(func() { _ = n.proc.stop() })
		}
		stopping.Wait()
	})
}

// finish works out, once the nodes have stopped, how the signalled nodes
// ended, Redis's phases and what the logs hold.
func (fr *fleetRun) finish() {
	res := fr.res
	for _, e := range []*nodeEnd{&res.Drained, &res.Killed} {
		if e.Node == "" {
			continue
		}
		n := fr.node(e.Node)
		e.Exit = "exit 0"
		if n.proc.err != nil {
			e.Exit = n.proc.err.Error()
		}
		if !n.proc.exitedAt.IsZero() && !n.signalled.IsZero() {
			e.ExitAfter = n.proc.exitedAt.Sub(n.signalled)
		}
	}
	for i := 0; i+1 < len(fr.marks); i++ {
		a, b := fr.marks[i], fr.marks[i+1]
		p := redisPhase{Name: fr.phases[i], Length: b.At.Sub(a.At), Commands: b.total() - a.total(),
			Scripts: b.Calls["evalsha"] + b.Calls["eval"] - a.Calls["evalsha"] - a.Calls["eval"]}
		if w := p.Length.Seconds(); w > 0 {
			p.CPU = (b.CPU - a.CPU) / w
		}
		for _, n := range fr.nodes {
			end := b.At
			if !n.proc.exitedAt.IsZero() && n.proc.exitedAt.Before(end) {
				end = n.proc.exitedAt
			}
			p.NodeSeconds += max(0, end.Sub(a.At).Seconds())
		}
		res.Redis = append(res.Redis, p)
	}
	if len(fr.marks) >= 2 {
		first, last := fr.marks[0], fr.marks[len(fr.marks)-1]
		for name, calls := range last.Calls {
			if d := calls - first.Calls[name]; d > 0 {
				res.RedisTop = append(res.RedisTop, commandCount{Name: name, Calls: d})
			}
		}
		slices.SortFunc(res.RedisTop, func(x, y commandCount) int { return cmp.Or(cmp.Compare(y.Calls, x.Calls), cmp.Compare(x.Name, y.Name)) })
	}
	for _, n := range fr.nodes {
		res.Logs = append(res.Logs, scanLog(n.id, n.logPath))
	}
}

func (fr *fleetRun) node(id string) *fleetNode {
	for _, n := range fr.nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

// readCheckpoints reads the resume records of tokens from Redis, in one
// pipeline, and keeps those of node.
func readCheckpoints(addr, node string, tokens []string) (map[string]checkpoint, error) {
	cps := map[string]checkpoint{}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return cps, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var req strings.Builder
	for _, tok := range tokens {
		fmt.Fprintf(&req, "GET {%s}:resume:%s\r\n", fleet.DefaultPrefix, tok)
	}
	if _, err := io.WriteString(c, req.String()); err != nil {
		return cps, err
	}
	br := bufio.NewReader(c)
	for _, tok := range tokens {
		head, err := br.ReadString('\n')
		if err != nil {
			return cps, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "$")))
		if !strings.HasPrefix(head, "$") || err != nil {
			return cps, fmt.Errorf("redis GET: unexpected answer %q", strings.TrimSpace(head))
		}
		if size < 0 {
			continue // no record
		}
		body := make([]byte, size+2)
		if _, err := io.ReadFull(br, body); err != nil {
			return cps, err
		}
		var cp checkpoint
		if json.Unmarshal(body[:size], &cp) == nil && cp.Node == node {
			cps[tok] = cp
		}
	}
	return cps, nil
}

// scanLog counts the warnings, errors and panics in a node's log.
func scanLog(node, path string) nodeLog {
	l := nodeLog{Node: node, Path: path}
	f, err := os.Open(path)
	if err != nil {
		l.First = []string{err.Error()}
		return l
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.HasPrefix(line, "panic:") {
			l.Warnings++
			if len(l.First) < logLinesKept {
				l.First = append(l.First, line)
			}
		}
	}
	return l
}
