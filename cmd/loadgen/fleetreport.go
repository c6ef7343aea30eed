package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shatter/shatter/net/wire"
)

// fleetHeader heads the fleet's main table; fleetRow fills a row of it.
const fleetHeader = `| bots | connected / failed | open at end | moves: drain / resume / full / other | fell back | failed moves | drain moved→first snap p50 / p99 ms | drained marbles carried (±1) | crash: dropped / back / back alive | crash mass: back = checkpoint (±1) / checkpoint in its last 2 s | crash drop→first snap p50 / p99 ms | snaps on time | input→ack p99 ms | loadgen CPU |
|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
`

func fleetRow(r *result) string {
	m, c, k := r.Moves, r.Carry, r.Crash
	drain := r.MoveToSnapByWhy[string(wire.MoveDrain)]
	cells := []string{
		scenarioName(r.Config),
		fmt.Sprintf("%d / %d", r.Connected, r.Failed),
		fmt.Sprint(r.OpenAtEnd),
		fmt.Sprintf("%d / %d / %d / %d", m.Drain, m.Resume, m.Full, m.Other),
		fmt.Sprint(m.FellBack),
		fmt.Sprint(m.Failed),
		timingCell(drain),
		fmt.Sprintf("%d of %d (%s)", c.Carried, c.Alive, percent(c.Carried, c.Alive)),
		fmt.Sprintf("%d / %d / %d", r.Drops, k.Back, k.Alive),
		fmt.Sprintf("%d / %d of %d", k.Carried, k.Fresh, k.Checked),
		timingCell(k.ToSnap),
		percent(r.OnTime, r.Gaps),
		"—",
		fmt.Sprintf("%.2f cores", r.LoadgenCPU),
	}
	if r.Acks > 0 {
		cells[12] = ms(r.AckP99)
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

func timingCell(t timing) string {
	if t.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%s / %s (%d)", ms(t.P50), ms(t.P99), t.N)
}

// nodesHeader heads the table of what each node said of itself.
const nodesHeader = `| bots | node | moment | at | sessions | arenas | tick p50 / p99 ms (worst arena) | node CPU since its previous row |
|---:|---|---|---:|---:|---:|---:|---:|
`

func nodesRows(r *result) string {
	var b strings.Builder
	for _, s := range r.Fleet.Samples {
		cpu := "—"
		if s.CPU >= 0 {
			cpu = fmt.Sprintf("%.2f cores", s.CPU)
		}
		tick := fmt.Sprintf("%.2f / %.2f", s.TickP50, s.TickP99)
		if s.Err != "" {
			tick = "unreadable: " + s.Err
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f s | %d | %d | %s | %s |\n",
			scenarioName(r.Config), s.Node, s.Moment, s.At.Seconds(), s.Sessions, s.Arenas, tick, cpu)
	}
	return b.String()
}

// fleetDetailsLine says what explains the main row: where the drain
// moves' time went, the carry of the drained bots seen at both ends, and
// the crashed bots' arrivals.
func fleetDetailsLine(r *result) string {
	c, k := r.Carry, r.Crash
	line := fmt.Sprintf("%s: drain moves: moved→welcome %s ms, welcome→first snap %s ms (p50 / p99 (count)); "+
		"%d of %d drained bots' first snap there was of the tick that seated them; "+
		"drained marbles seen at both ends (last two snaps before the moved of consecutive ticks, first snap of the arrival tick): %d of %d carried",
		scenarioName(r.Config), timingCell(c.ToWelcome), timingCell(c.WelcomeToSnap), c.ArrivalTicks, c.Drained,
		c.ExactCarried, c.ExactViews)
	if c.Shown < c.Alive {
		line += fmt.Sprintf("; %d drained alive arrived without their marble in the first snap", c.Alive-c.Shown)
	}
	line += fmt.Sprintf("; crash: %d checkpoints of the killed node read from Redis just after the kill; of %d bots alive before the drop, %d back alive, %d in their first snap",
		k.Checkpoints, k.WasAlive, k.Alive, k.AtOnce)
	if left := int64(r.Drops) - int64(k.Back) - int64(r.ReconnectsFailed); left > 0 {
		line += fmt.Sprintf("; %d dropped bots still reconnecting at the window's end", left)
	}
	if k.SameSession > 0 {
		line += fmt.Sprintf("; %d bots came back with the session they had", k.SameSession)
	}
	return line + ".\n"
}

// endsLine says how the drained and the killed node ended.
func endsLine(r *result) string {
	var parts []string
	if e := r.Fleet.Drained; e.Node != "" {
		p := fmt.Sprintf("%s had %d sessions at its SIGTERM (%.1f s into the window)", e.Node, e.Sessions, r.Fleet.DrainAt.Seconds())
		if e.ExitAfter > 0 {
			p += fmt.Sprintf(" and exited %.2f s after it (%s)", e.ExitAfter.Seconds(), e.Exit)
		} else {
			p += " and had not exited by the end"
		}
		parts = append(parts, p)
	}
	if e := r.Fleet.Killed; e.Node != "" {
		parts = append(parts, fmt.Sprintf("%s had %d sessions at its SIGKILL (%.1f s into the window)", e.Node, e.Sessions, r.Fleet.KillAt.Seconds()))
	}
	if len(parts) == 0 {
		return ""
	}
	return scenarioName(r.Config) + ": " + strings.Join(parts, "; ") + ".\n"
}

// redisHeader heads the table of Redis's work by phase.
const redisHeader = `| bots | phase | length | node-seconds | Redis commands (script calls included) | of them script runs | commands/s per node | script runs/s per node | Redis CPU |
|---:|---|---:|---:|---:|---:|---:|---:|---:|
`

func redisRows(r *result) string {
	var b strings.Builder
	for _, p := range r.Fleet.Redis {
		scripts := 0.0
		if p.NodeSeconds > 0 {
			scripts = float64(p.Scripts) / p.NodeSeconds
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f s | %.1f | %d | %d | %.1f | %.1f | %.3f cores |\n",
			scenarioName(r.Config), p.Name, p.Length.Seconds(), p.NodeSeconds, p.Commands, p.Scripts, p.perNode(), scripts, p.CPU)
	}
	return b.String()
}

// redisTopLine lists the window's commands, most first.
func redisTopLine(r *result) string {
	if len(r.Fleet.RedisTop) == 0 {
		return ""
	}
	var parts []string
	for _, c := range r.Fleet.RedisTop {
		parts = append(parts, fmt.Sprintf("%s %d", c.Name, c.Calls))
	}
	return scenarioName(r.Config) + ": Redis commands over the window: " + strings.Join(parts, ", ") + ".\n"
}

// fleetGoalsHeader heads the table that checks the fleet's goals.
const fleetGoalsHeader = `| bots | drained marbles carried 100% | drain moved→first snap p99 < 500 ms | no failed moves | crashed node's players back alive | crashed marbles back with their checkpoint's mass |
|---:|---|---|---|---|---|
`

func fleetGoalsRow(r *result) string {
	mark := func(ok bool, value string) string {
		if ok {
			return "yes (" + value + ")"
		}
		return "**no** (" + value + ")"
	}
	c, k := r.Carry, r.Crash
	drain := r.MoveToSnapByWhy[string(wire.MoveDrain)]
	cells := []string{
		scenarioName(r.Config),
		mark(c.Alive > 0 && c.Carried == c.Alive, fmt.Sprintf("%d of %d", c.Carried, c.Alive)),
		mark(drain.N > 0 && drain.P99 < 500*time.Millisecond, ms(drain.P99)+" ms"),
		mark(r.Moves.Failed == 0 && r.ReconnectsFailed == 0, fmt.Sprintf("%d failed moves, %d failed reconnections", r.Moves.Failed, r.ReconnectsFailed)),
		mark(k.WasAlive > 0 && k.Alive == k.WasAlive && k.Back == r.Drops,
			fmt.Sprintf("%d dropped, %d back, %d of %d alive before back alive", r.Drops, k.Back, k.Alive, k.WasAlive)),
		mark(k.Checked > 0 && k.Carried == k.Checked, fmt.Sprintf("%d of %d", k.Carried, k.Checked)),
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// fleetReport renders the fleet scenarios' results as a markdown section.
func fleetReport(sc scenarioConfig, version string, results []*result) string {
	var b strings.Builder
	l := sc.Load
	b.WriteString("## Fleet\n\n")
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	fmt.Fprintf(&b, "Command: `%s`, source %s.\n\n", sc.Command, version)
	nodeArgs := "the default fleet timings (heartbeat 1 s, lease 3 s)"
	if len(sc.NodeArgs) > 0 {
		nodeArgs = "`" + strings.Join(sc.NodeArgs, " ") + "`"
	}
	moveTimeout := "5 s"
	if l.MoveTimeout > 0 {
		moveTimeout = l.MoveTimeout.String()
	}
	fmt.Fprintf(&b, "Each fleet scenario starts a `redis-server` (persistence off) and %d `shatter-server` nodes that share it "+
		"(`-redis`, %s, default rules, and enough `-max-arenas` that one node can seat every bot: %d for %d bots), all on 127.0.0.1. "+
		"It opens its bots at %g a second, round-robin over the nodes, then measures %v of play: every bot steers with net/bot and sends %g inputs a second. "+
		"At a third of the window node-1 gets SIGTERM: it drains, moving each player with its marble to another node (`moved`, why drain), and exits. "+
		"At two thirds node-2 gets SIGKILL: its players' connections drop, and each bot says hello with its token to the next node of its list "+
		"(net/client `Options.Reconnect`; a `moved` it gets back is followed, and one whose node cannot be reached falls back after %s). "+
		"The load generator, Redis and the nodes share the machine's cores.\n\n",
		fleetNodes, nodeArgs, results[0].Fleet.MaxArenas, results[0].Config.Clients, l.Ramp, l.Duration, l.InputRate, moveTimeout)
	b.WriteString(fleetHeader)
	for _, r := range results {
		b.WriteString(fleetRow(r))
	}
	b.WriteString("\n")
	for _, r := range results {
		b.WriteString(fleetDetailsLine(r))
	}
	b.WriteString("\n" + nodesHeader)
	for _, r := range results {
		b.WriteString(nodesRows(r))
	}
	b.WriteString("\n")
	for _, r := range results {
		b.WriteString(endsLine(r))
	}
	b.WriteString("\n" + redisHeader)
	for _, r := range results {
		b.WriteString(redisRows(r))
	}
	b.WriteString("\n")
	for _, r := range results {
		b.WriteString(redisTopLine(r))
	}
	b.WriteString("\n" + fleetGoalsHeader)
	for _, r := range results {
		b.WriteString(fleetGoalsRow(r))
	}
	b.WriteString(fleetDefinitions)
	return b.String()
}

// printFleetSummary writes a fleet scenario's tables, and what the
// report leaves out: the marbles not carried and the nodes' warnings.
func printFleetSummary(w io.Writer, r *result) {
	fmt.Fprintf(w, "\n%s%s\n%s\n%s%s\n%s\n%s%s\n%s\n%s%s", fleetHeader, fleetRow(r), fleetDetailsLine(r), nodesHeader, nodesRows(r), endsLine(r),
		redisHeader, redisRows(r), redisTopLine(r), fleetGoalsHeader, fleetGoalsRow(r))
	if len(r.Carry.Misses) > 0 {
		fmt.Fprintf(w, "\ndrained marbles not carried (first %d):\n", len(r.Carry.Misses))
		for _, m := range r.Carry.Misses {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	if len(r.Crash.Misses) > 0 {
		fmt.Fprintf(w, "\ncrashed marbles not back as checkpointed (first %d):\n", len(r.Crash.Misses))
		for _, m := range r.Crash.Misses {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	for _, l := range r.Fleet.Logs {
		if l.Warnings == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: %d warning or error lines in %s, first:\n", l.Node, l.Warnings, l.Path)
		for _, line := range l.First {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

// fleetDefinitions says how each fleet figure is measured.
const fleetDefinitions = `
How the fleet figures are measured:

- **moves**: the moved messages the bots received, by why (net/client's counts, over the whole run). **fell back**: moves whose node could not be reached within the move timeout, after which the bot went back to the node that sent it, with its token. **failed moves**: moves that ended a bot (a ` + "`MoveError`" + `).
- **drain moved→first snap**: from the arrival of a ` + "`moved`" + ` (why drain) to the first snap on the new node, as net/client's ` + "`Move.ToSnap`" + `: the close 4003, the dial, the hello with the seat, the welcome and the first tick there. Quantiles are bucket upper bounds, within 1.6%; the count is in brackets.
- **drained marbles carried**: for each bot whose last snap before its ` + "`moved`" + ` (drain) showed its marble, the first snap on the new node must show it with the same mass within ±1 unit (masses travel rounded). The share is over those bots; a bot that was dead when drained arrives spectating and is not counted.
- **drained marbles seen at both ends**: the same check, over the bots whose last two snaps before the moved were of consecutive ticks (the session kept up as it left; a departed session gets no more frames, and its moved waits for the seat's reservation, so the time from the last snap to the moved says nothing) and whose first snap on the new node was of the tick that seated them (the welcome's tick + 1), so that the masses compared are those of the departure and of the arrival. A session that cannot keep up skips ticks (snapshots are latest-wins), so its last snap may show the marble several ticks before it left and its first snap several ticks after it arrived, and the marble eats, boosts, hits spikes, busts or is busted in between: that difference is the client's late view, not mass lost in the move. Even at both ends the arrival tick is played: the marble is placed, then that tick's systems run (it eats the fragments it lands on), so its first snap may differ from the departure mass. **moved→welcome** and **welcome→first snap** split the drain moves' time.
- **crash**: **dropped** counts the bots' connections that ended without a close frame or with 1001 (net/client ` + "`Stats.Drops`" + `); **back** those whose reconnection reached a first snap; **back alive** those whose marble showed before the drop and shows again within 30 snaps of coming back. **Crash mass**: just after the kill the load generator reads from Redis the resume record (the checkpoint) of every bot's token; of the marbles back alive in their first snap, how many came back with their checkpoint's mass (±1), and how many had a checkpoint within ±1 of the range of masses they saw in the 2 s before the drop (PROTOCOL.md promises the mass of at most 2 s before the crash). **drop→first snap**: from the drop to the first snap after the reconnection, as net/client's ` + "`Reconnect.ToSnap`" + `; the bots' first hello goes to the next node, which, while the dead node's lease lives, sends them back to it (` + "`moved`" + `, why resume), so this holds the move timeout spent on the dead node.
- **nodes**: each node's ` + "`/arenas`" + ` just before the drain, just before the kill and at the window's end (for the nodes still running): sessions and arenas, and the worst arena's tick p50 / p99 over its last 1024 ticks (about 34 s). **node CPU**: ` + "`process_cpu_seconds_total`" + ` since the node's previous row (the first row: since the window's start), in cores.
- **Redis**: ` + "`INFO commandstats`" + ` and ` + "`INFO cpu`" + ` read at the window's start, at the drain, at the kill and at the window's end. Commands are every node's (the load generator's own INFO calls are left out), and Redis counts each command a Lua script calls as well as the script's run itself (` + "`EVALSHA`" + `), so commands are what Redis executed, not round trips; script runs are the atomic directory operations (seats, admissions, claims, reaps). **commands/s per node** divides a phase's commands by its node-seconds: the seconds each node process was running in the phase, added up (node-1 counts until it exited, node-2 until its kill), so it is a fleet-wide average per node, not a per-node count. **Redis CPU**: ` + "`used_cpu_sys + used_cpu_user`" + ` over the phase.
- **snaps on time**, **input→ack p99**, **loadgen CPU**: as in the load test section, over the whole window, moves and crashes included.
`
