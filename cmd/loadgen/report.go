package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// The markers around the sections -scenarios writes, the single servers'
// and the fleet's, so that a rerun replaces its own figures and nothing
// else of the file.
const (
	sectionBegin = "<!-- loadgen:begin -->"
	sectionEnd   = "<!-- loadgen:end -->"
	fleetBegin   = "<!-- loadgen:fleet:begin -->"
	fleetEnd     = "<!-- loadgen:fleet:end -->"
)

// resultsHeader is the head of the main results table; resultsRow fills a
// row of it.
const resultsHeader = `| clients | connected / failed | arenas (expected) | snaps/s per client (tick rate) | on time | input→ack p50 / p95 / p99 ms | bytes/snap | bytes/s per client | server tick p50 / p99 ms | ticks > 5 ms | server RSS (per session) | server CPU (per snap; kernel) | loadgen CPU (per snap; kernel) | write floor µs, 1 / 1000 conns / 1000 paced | server ÷ floor (paced) |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
`

func resultsRow(r *result) string {
	cells := []string{
		scenarioName(r.Config),
		fmt.Sprintf("%d / %d", r.Connected, r.Failed),
		"—",
		fmt.Sprintf("%.1f (%d)", r.SnapsPerClient, r.TickRate),
		percent(r.OnTime, r.Gaps),
		"—",
		fmt.Sprintf("%.0f", r.BytesPerSnap),
		fmt.Sprintf("%.1f KB", r.BytesPerClient/1000),
		"—", "—", "—", "—",
		cpuPerSnap(r.LoadgenCPU, r.LoadgenKernelCPU, r),
		"—", "—",
	}
	if f := r.Floor; f != nil && f.Err == nil {
		cells[13] = f.cell()
	}
	if r.Acks > 0 {
		cells[5] = fmt.Sprintf("%s / %s / %s", ms(r.AckP50), ms(r.AckP95), ms(r.AckP99))
	}
	if s := r.Server; s != nil {
		cells[2] = fmt.Sprintf("%d (%d)", len(s.Arenas), s.ExpectedArenas)
		p50, p99 := s.worstTicks()
		cells[8] = fmt.Sprintf("%.2f / %.2f", p50, p99)
		ticks := s.End.Ticks - s.Start.Ticks
		cells[9] = percent(uint64(ticks-(s.End.TicksUnder5ms-s.Start.TicksUnder5ms)), uint64(ticks))
		cells[10] = fmt.Sprintf("%s (%s)", mib(s.End.RSS), kib(s.perSession(s.End.RSS-s.Before.RSS)))
		cells[11] = cpuPerSnap(s.cpuCores(), s.kernelCores(), r)
		cells[14] = r.Floor.ratioCell(perSnapMicros(s.cpuCores(), r))
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// detailsHeader heads the second table: what explains the first.
const detailsHeader = `| clients | sessions per arena | inputs/s per client | ticks skipped per client | deaths | server heap (per session) | server bytes out/s | loadgen RSS (per client) | pacer missed | dial failures | how sessions ended |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|
`

func detailsRow(r *result) string {
	cells := []string{
		scenarioName(r.Config), "—",
		fmt.Sprintf("%.1f", r.InputsPerClient),
		fmt.Sprintf("%.2f", float64(r.SkippedTicks)/float64(max(1, r.Connected))),
		fmt.Sprint(r.Deaths), "—", "—",
		fmt.Sprintf("%s (%s)", mib(float64(r.LoadgenRSS)), kib(float64(r.LoadgenRSS)/float64(max(1, r.Connected)))),
		fmt.Sprint(r.PacerMissed),
		counts(r.Failures), counts(r.Closes),
	}
	if s := r.Server; s != nil {
		var spread []string
		for _, a := range s.Arenas {
			spread = append(spread, fmt.Sprint(a.Sessions))
		}
		cells[1] = strings.Join(spread, ", ")
		cells[5] = fmt.Sprintf("%s (%s)", mib(s.End.HeapInuse), kib(s.perSession(s.End.HeapInuse-s.Before.HeapInuse)))
		if w := s.End.At.Sub(s.Start.At).Seconds(); w > 0 {
			cells[6] = fmt.Sprintf("%.1f MB", (s.End.BytesOut-s.Start.BytesOut)/w/1e6)
		}
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// scenarioName is a run's client count, marked when the bots were idle
// or played against a fleet scenario's nodes.
func scenarioName(cfg loadConfig) string {
	switch {
	case cfg.Idle:
		return fmt.Sprintf("%d idle", cfg.Clients)
	case cfg.Fleet:
		return fmt.Sprintf("%d fleet", cfg.Clients)
	}
	return fmt.Sprint(cfg.Clients)
}

// worstTicks returns the highest tick p50 and p99 of any arena, in ms.
func (s *serverResult) worstTicks() (p50, p99 float64) {
	for _, a := range s.Arenas {
		p50, p99 = max(p50, a.TickP50Ms), max(p99, a.TickP99Ms)
	}
	return p50, p99
}

// perSession divides bytes by the sessions open at the window's end.
func (s *serverResult) perSession(bytes float64) float64 {
	return bytes / max(1, s.End.Sessions)
}

// cpuPerSnap renders a process's CPU use in cores and per snapshot the
// bots received: the fan-out's cost, to compare with a small loopback
// write's (BenchmarkLoopbackWriteFloor in net/session). kernel is the
// kernel's share of cores (system time), negative when unknown: per
// snapshot, what the process's system calls cost, which none of its own
// code can make cheaper.
func cpuPerSnap(cores, kernel float64, r *result) string {
	us := perSnapMicros(cores, r)
	switch {
	case us <= 0:
		return fmt.Sprintf("%.2f cores", cores)
	case kernel < 0:
		return fmt.Sprintf("%.2f cores (%.1f µs)", cores, us)
	}
	return fmt.Sprintf("%.2f cores (%.1f µs; kernel %.1f)", cores, us, perSnapMicros(kernel, r))
}

// perSnapMicros turns a process's CPU use in cores into µs per snapshot
// the bots received, or 0 without snapshots.
func perSnapMicros(cores float64, r *result) float64 {
	perSecond := r.SnapsPerClient * float64(r.Connected)
	if perSecond <= 0 {
		return 0
	}
	return cores / perSecond * 1e6
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// cpuCores is the server's CPU use over the window, in cores.
func (s *serverResult) cpuCores() float64 {
	w := s.End.At.Sub(s.Start.At).Seconds()
	if w <= 0 {
		return 0
	}
	return (s.End.CPUSeconds - s.Start.CPUSeconds) / w
}

// kernelCores is the kernel's share of cpuCores (the server's system
// time), or -1 when the server does not export it.
func (s *serverResult) kernelCores() float64 {
	w := s.End.At.Sub(s.Start.At).Seconds()
	if w <= 0 || !s.Start.HasSystemCPU || !s.End.HasSystemCPU {
		return -1
	}
	return (s.End.SystemCPUSeconds - s.Start.SystemCPUSeconds) / w
}

// printSummary writes a run's tables and definitions for a person.
func printSummary(w io.Writer, r *result) {
	inputs := fmt.Sprintf("%g inputs/s each", r.Config.InputRate)
	if r.Config.Idle {
		inputs = "idle: no spawn, no input"
	}
	nodes := ""
	if n := len(r.Config.URLs); n > 1 {
		nodes = fmt.Sprintf(" over %d nodes", n)
	}
	fmt.Fprintf(w, "\n%d clients%s, ramp %g/s, %v measured, %s\n\n", r.Config.Clients, nodes, r.Config.Ramp, r.Window.Round(time.Millisecond), inputs)
	io.WriteString(w, resultsHeader+resultsRow(r)+"\n"+detailsHeader+detailsRow(r))
	if f := r.Floor; f != nil {
		fmt.Fprintf(w, "\n%s\n", f.line())
	}
	if r.Server != nil && r.Server.ProfileErr != nil {
		fmt.Fprintf(w, "\nserver profile failed: %v\n", r.Server.ProfileErr)
	}
	if r.Silent > 0 {
		fmt.Fprintf(w, "\n%d connected bots never received a snap\n", r.Silent)
	}
	if m := r.Moves; m.Total() > 0 {
		fmt.Fprintf(w, "\n%s\n", movesLine(r))
	}
	if r.Drops > 0 {
		fmt.Fprintf(w, "\n%d connections dropped, %d of them not taken back by any node\n", r.Drops, r.ReconnectsFailed)
	}
	if r.Fleet != nil {
		printFleetSummary(w, r)
	}
	if r.DeltaErrors > 0 || r.SendErrors > 0 {
		fmt.Fprintf(w, "\n%d snap entries contradicted a full bot's table (server bugs), %d sends failed\n", r.DeltaErrors, r.SendErrors)
	}
}

// movesLine describes the bots' moves between nodes.
func movesLine(r *result) string {
	m := r.Moves
	line := fmt.Sprintf("%d moves (full %d, resume %d, drain %d, other %d), %d fell back, %d failed",
		m.Total(), m.Full, m.Resume, m.Drain, m.Other, m.FellBack, m.Failed)
	if r.MoveSamples > 0 {
		line += fmt.Sprintf("; moved→first snap p50 %s / p99 %s ms over %d", ms(r.MoveToSnapP50), ms(r.MoveToSnapP99), r.MoveSamples)
	}
	return line
}

// appendRow appends a run's row to the results table in path, writing the
// table's header first if the file is new or empty.
func appendRow(path string, r *result) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Size() == 0 {
		_, err = io.WriteString(f, resultsHeader)
	}
	if err == nil {
		_, err = io.WriteString(f, resultsRow(r))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeSection puts section between the markers beginMark and endMark of
// path, replacing what they held; a file without them gets the section
// appended, a missing file is created.
func writeSection(path, beginMark, endMark, section string) error {
	block := beginMark + "\n" + section + endMark + "\n"
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text := string(old)
	begin, end := strings.Index(text, beginMark), strings.Index(text, endMark)
	switch {
	case begin >= 0 && end > begin:
		text = text[:begin] + block + strings.TrimPrefix(text[end+len(endMark):], "\n")
	case text == "":
		text = block
	default:
		text = strings.TrimRight(text, "\n") + "\n\n" + block
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// machine describes the machine the run was on.
func machine() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := "unknown memory"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb uint64
		for _, line := range strings.Split(string(data), "\n") {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (nproc), %s, %s RAM, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func percent(part, whole uint64) string {
	if whole == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// counts renders a tally as "reason: n; reason: n", biggest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "—"
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", strings.ReplaceAll(k, "|", "/"), m[k]))
	}
	return strings.Join(parts, "; ")
}
