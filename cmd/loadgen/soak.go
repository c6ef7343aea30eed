package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shatter/shatter/net/hostile"
)

// Markers of the soak's section in -out.
const (
	soakBegin = "<!-- loadgen:soak:begin -->"
	soakEnd   = "<!-- loadgen:soak:end -->"
)

// soakPerIP is the per-address limit the soak's server runs with: the
// issue's default, given on the command line so that the attacks judge
// the limit the server has whatever its build's default. The honest bots
// all dial from 127.0.0.1 and must fit under it; the attacks dial from
// 127.0.0.10 on, each from its own address.
const soakPerIP = 32

// soakScale is how hard each round's attacks go (hostile.Target.Scale):
// each holds 4 connections at once, or makes 4 times its base count of
// tries.
const soakScale = 4

// soakSettle bounds the wait, after the last round, for the server to
// end its side of the attacks' last connections before the end sample.
const soakSettle = 20 * time.Second

// soakSample is the server's state at a moment of a soak.
type soakSample struct {
	RSS, HeapInuse float64 // bytes
	Goroutines     float64 // go_goroutines
	FDs            int     // entries of /proc/PID/fd
	TickP99Ms      float64 // the worst arena's, from /arenas (its last 1024 ticks)
	Sessions       float64 // shatter_sessions
}

// soakResult is what a soak measured.
type soakResult struct {
	Load   *result // the honest bots
	Bounds hostile.Bounds
	// Start is before the first round; First and End are once the server
	// settled after the first round and after the last. Growth from First
	// to End is what the rounds after the first cost; Start to First is
	// mostly warm-up (pools, maps and buffers at their working size).
	Start, First, End soakSample
	Rounds            int
	Attacks           []hostile.Report // summed over the rounds, in hostile.All's order
	Panics            []string         // server log lines that mention a panic
	LogPath           string
}

// runSoak runs cfg.Clients honest bots for cfg.Duration against one
// server of its own, with every attack of net/hostile round after round
// beside them (a round ends when its slowest attack has been judged,
// about a minute with the default bounds), and samples the server before
// the first round and once the last has ended and the server has settled.
func runSoak(ctx context.Context, sc scenarioConfig, cfg loadConfig, bin string) (*soakResult, error) {
	if cfg.Clients > soakPerIP {
		return nil, fmt.Errorf("the honest bots all dial from 127.0.0.1: at most %d fit under the per-address limit", soakPerIP)
	}
	web, err := os.MkdirTemp("", "shatter-soak-web-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(web)
	if err := soakWebDir(web); err != nil {
		return nil, err
	}
	logPath := filepath.Join(os.TempDir(), "shatter-soak-server.log")
	srv, err := startServer(ctx, []string{bin}, []string{"-max-arenas", "4", "-log-level", "warn", "-seed", "1",
		"-web-dir", web, "-max-conns-per-ip", strconv.Itoa(soakPerIP)}, logPath, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	bounds := hostile.DefaultBounds()
	bounds.MaxConnsPerIP = soakPerIP
	bounds.Slack = 2 * time.Second // the bots, the attacks and the server share the cores
	soak := &soakResult{Bounds: bounds, LogPath: logPath}
	show := cfg.Progress
	adm := newAdmin(srv.admin)
	pid := srv.cmd.Process.Pid
	target := hostile.Target{Addr: srv.addr, Admin: srv.admin, DownloadPath: "/big.bin", Scale: soakScale, Bounds: bounds}

	cfg.URLs = []string{"ws://" + srv.addr + "/ws"}
	cfg.Admin = srv.admin
	cfg.Timeout = planned(cfg) + soakSettle + 3*time.Minute
	cfg.During = func(ctx context.Context, windowEnd <-chan struct{}, _ *loadRun) {
		soak.Start = sampleSoak(ctx, adm, pid)
		attackCtx, stopAttacks := context.WithCancel(ctx)
		defer stopAttacks()
		// Owned by During; exits when the window ends or ctx is done.
		go func() {
			select {
			case <-windowEnd:
			case <-attackCtx.Done():
			}
			stopAttacks()
		}()
		// settled samples the server once it has ended its side of the
		// attacks' connections, or after soakSettle.
		settled := func() soakSample {
			deadline := time.Now().Add(soakSettle)
			for {
				s := sampleSoak(ctx, adm, pid)
				if s.FDs <= soak.Start.FDs && s.Goroutines <= soak.Start.Goroutines || time.Now().After(deadline) || ctx.Err() != nil {
					return s
				}
				time.Sleep(500 * time.Millisecond)
			}
		}
		for attackCtx.Err() == nil {
			reports := hostile.Run(attackCtx, target, hostile.All(), 10)
			soak.Rounds++
			failed := 0
			for i, r := range reports {
				if len(soak.Attacks) < len(reports) {
					soak.Attacks = append(soak.Attacks, hostile.Report{Attack: r.Attack})
				}
				soak.Attacks[i] = addReports(soak.Attacks[i], r)
				failed += r.Failed
			}
			show.note("soak: round %d done, %d wrong answers", soak.Rounds, failed)
			if soak.Rounds == 1 && attackCtx.Err() == nil {
				soak.First = settled()
			}
		}
		// The attacks have closed their ends; the server's must follow.
		soak.End = settled()
	}
	sc.Load.Progress.note("soak: %d honest bots and every attack, round after round, for %v against %s (log %s)", cfg.Clients, cfg.Duration, srv.addr, logPath)
	res, err := runLoad(ctx, cfg)
	if serr := srv.stop(); serr != nil {
		show.note("warning: soak server: %v (log %s)", serr, logPath)
	}
	if err != nil {
		return nil, err
	}
	soak.Load = res
	soak.Panics = panicLines(logPath)
	return soak, nil
}

// soakWebDir fills the server's web directory: an index (so that the
// server serves files) and a sparse 64 MiB file, far larger than the
// socket buffers, for the download nobody reads.
func soakWebDir(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html><title>Shatter soak</title>"), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		return err
	}
	if err := f.Truncate(64 << 20); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sampleSoak reads the server's figures; a figure it cannot read stays 0.
func sampleSoak(ctx context.Context, adm *admin, pid int) soakSample {
	var s soakSample
	if m, err := adm.sample(ctx); err == nil {
		s.RSS, s.HeapInuse, s.Goroutines, s.Sessions = m.RSS, m.HeapInuse, m.Goroutines, m.Sessions
	}
	if arenas, err := adm.arenas(ctx); err == nil {
		for _, a := range arenas {
			s.TickP99Ms = max(s.TickP99Ms, a.TickP99Ms)
		}
	}
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		s.FDs = len(fds)
	}
	return s
}

// addReports sums two reports of one attack, keeping the first failures.
func addReports(a, b hostile.Report) hostile.Report {
	a.Tries += b.Tries
	a.Passed += b.Passed
	a.Refused += b.Refused
	a.Failed += b.Failed
	a.Errors += b.Errors
	for _, f := range b.Failures {
		if len(a.Failures) < 3 {
			a.Failures = append(a.Failures, f)
		}
	}
	if a.Err == nil {
		a.Err = b.Err
	}
	return a
}

// panicLines returns the lines of the log at path that mention a panic.
func panicLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{"cannot read the server log: " + err.Error()}
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(strings.ToLower(line), "panic") {
			out = append(out, line)
		}
	}
	return out
}

// soakRows renders the start, first-round and end figures as markdown
// table rows.
func soakRows(s *soakResult) string {
	var b strings.Builder
	row := func(name string, f func(soakSample) string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, f(s.Start), f(s.First), f(s.End))
	}
	row("server RSS", func(x soakSample) string { return mib(x.RSS) })
	row("server heap in use", func(x soakSample) string { return mib(x.HeapInuse) })
	row("goroutines", func(x soakSample) string { return fmt.Sprint(x.Goroutines) })
	row("open descriptors", func(x soakSample) string { return fmt.Sprint(x.FDs) })
	row("open sessions", func(x soakSample) string { return fmt.Sprint(x.Sessions) })
	row("tick p99 (worst arena)", func(x soakSample) string { return fmt.Sprintf("%.2f ms", x.TickP99Ms) })
	return b.String()
}

// attackRows renders the attacks' counts as markdown table rows.
func attackRows(s *soakResult) string {
	var b strings.Builder
	for _, r := range s.Attacks {
		first := "—"
		if len(r.Failures) > 0 {
			first = strings.ReplaceAll(r.Failures[0], "|", "\\|")
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s |\n", r.Attack, r.Tries, r.Passed, r.Refused, r.Failed, r.Errors, first)
	}
	return b.String()
}

const (
	soakFiguresHeader = "| | start | after round 1 | end |\n|---|---:|---:|---:|\n"
	soakAttacksHeader = "| attack | tries | passed | refused | wrong | not made | first wrong answer |\n|---|---:|---:|---:|---:|---:|---|\n"
)

// printSoak writes the soak's figures to w.
func printSoak(w io.Writer, s *soakResult) {
	fmt.Fprintf(w, "\nsoak: %d rounds of attacks beside %d honest bots (%.1f snaps/s each, %s on time)\n\n",
		s.Rounds, s.Load.Connected, s.Load.SnapsPerClient, percent(s.Load.OnTime, s.Load.Gaps))
	fmt.Fprint(w, soakFiguresHeader+soakRows(s)+"\n"+soakAttacksHeader+attackRows(s))
	if len(s.Panics) == 0 {
		fmt.Fprintf(w, "\nno panic in the server log (%s)\n", s.LogPath)
	} else {
		fmt.Fprintf(w, "\n%d panic lines in the server log (%s), the first: %s\n", len(s.Panics), s.LogPath, s.Panics[0])
	}
}

// soakReport renders the soaks as the soak section of -out.
func soakReport(sc scenarioConfig, version string, soaks []*soakResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Soak\n\n")
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	fmt.Fprintf(&b, "Command: `%s`, source %s.\n\n", sc.Command, version)
	for _, s := range soaks {
		l := s.Load
		fmt.Fprintf(&b, "One `shatter-server` (default flags but `-max-conns-per-ip %d`, given so that the attacks judge a known limit) "+
			"ran %v with %d honest bots playing from 127.0.0.1 and, beside them, every attack of net/hostile at once, round after round "+
			"(%d rounds; each attack from its own loopback address, judged against the issue's loosest default bounds plus %v of slack). "+
			"The honest bots got %.1f snaps a second each, %s of them on time. Start is before the first round; after round 1 and end are once the server had settled (at most %v) after the first round and after the last, "+
			"so that growth from the one to the other is what the later rounds cost.\n\n",
			soakPerIP, l.Window.Round(time.Second), l.Connected, s.Rounds, s.Bounds.Slack, l.SnapsPerClient, percent(l.OnTime, l.Gaps), soakSettle)
		b.WriteString(soakFiguresHeader + soakRows(s) + "\n" + soakAttacksHeader + attackRows(s))
		if len(s.Panics) == 0 {
			b.WriteString("\nNo panic in the server's log.\n\n")
		} else {
			fmt.Fprintf(&b, "\n**%d panic lines in the server's log**, the first: `%s`\n\n", len(s.Panics), s.Panics[0])
		}
	}
	b.WriteString("Tries the server handled as its bounds require are passed; refused ones were turned away at the door (HTTP 503 or 429, " +
		"a limit doing its job); wrong ones broke a bound (net/hostile says what each attack expects); not made are tries the attack itself " +
		"could not make. The last round is cut short by the end of the window, and its unfinished tries are not judged.\n")
	return b.String()
}
