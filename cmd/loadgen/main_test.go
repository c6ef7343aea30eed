package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shatter/shatter/net/client"
	"github.com/shatter/shatter/net/floor"
	"github.com/shatter/shatter/net/server"
	"github.com/shatter/shatter/net/server/servertest"
)

// A short load against an in-process server, its bots read by a goroutine
// each and by a poll group (timing their snaps by the kernel's receive
// timestamps): every bot connects, gets snapshots and acks, and the
// server's figures are read. This keeps the
// tool from rotting; the real measurements are -scenarios runs.
func TestShortLoad(t *testing.T) {
	for _, mode := range []struct{ poll, detach bool }{{false, false}, {true, false}, {true, true}} {
		poll := mode.poll
		t.Run(fmt.Sprintf("poll=%v,detach=%v", mode.poll, mode.detach), func(t *testing.T) {
			// 50 bots from 127.0.0.1: no per-address limit.
			s := servertest.Start(t, func(c *server.Config) { c.MaxArenas, c.MaxConnsPerIP = 2, -1 })
			res, err := runLoad(t.Context(), loadConfig{
				URLs: []string{"ws://" + s.Addr() + "/ws"}, Admin: s.AdminAddr(),
				Clients: 50, Ramp: 50, Duration: 4 * time.Second, InputRate: 20,
				Timeout: 30 * time.Second, DialTimeout: 5 * time.Second, Seed: 1, Name: "t", Workers: 2,
				FullEvery: 5, Progress: &progress{}, Poll: poll, PollDetach: mode.detach, Arrivals: poll,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Connected != 50 || res.Failed != 0 {
				t.Fatalf("connected %d, failed %d (%v); want 50 and 0", res.Connected, res.Failed, res.Failures)
			}
			if res.TickRate != 30 || res.SnapsPerClient < 15 || res.Gaps == 0 || res.Acks == 0 || res.BytesPerSnap <= 0 {
				t.Fatalf("tick rate %d, %.1f snaps/s per client, %d gaps, %d acks, %.0f bytes/snap: want snapshots and acks at 30 Hz",
					res.TickRate, res.SnapsPerClient, res.Gaps, res.Acks, res.BytesPerSnap)
			}
			if res.Silent != 0 {
				t.Errorf("%d bots got no snap", res.Silent)
			}
			if res.DeltaErrors != 0 || res.InputsPerClient < 10 {
				t.Errorf("%d delta errors, %.1f inputs/s per client; want none and about 20: the skimming bots play too", res.DeltaErrors, res.InputsPerClient)
			}
			if res.Closes["1000 closed by loadgen"] != 50 {
				t.Errorf("closes %v; want all 50 closed by the load generator", res.Closes)
			}
			srv := res.Server
			if srv == nil || len(srv.Arenas) != 1 || srv.ExpectedArenas != 1 || srv.End.Sessions != 50 || srv.End.Ticks <= srv.Start.Ticks || srv.End.RSS == 0 {
				t.Fatalf("server figures %+v; want one arena of 50 sessions, ticks and RSS", srv)
			}
			if !srv.Start.HasSystemCPU || !srv.End.HasSystemCPU || srv.kernelCores() < 0 || srv.kernelCores() > srv.cpuCores()+0.05 {
				t.Errorf("server system CPU %v of %v cores (exported at start %v, end %v); want the kernel's share of the server's CPU",
					srv.kernelCores(), srv.cpuCores(), srv.Start.HasSystemCPU, srv.End.HasSystemCPU)
			}
			row := resultsRow(res)
			if !strings.HasPrefix(row, "| 50 | 50 / 0 | 1 (1) | ") {
				t.Errorf("row %q", row)
			}

			var sum bytes.Buffer
			printSummary(&sum, res)
			if !strings.Contains(sum.String(), resultsHeader) {
				t.Errorf("summary lacks the results table:\n%s", sum.String())
			}
		})
	}
}

// Idle bots connect and read, but send no input.
func TestIdleLoad(t *testing.T) {
	s := servertest.Start(t, func(c *server.Config) { c.MaxArenas = 1 })
	res, err := runLoad(t.Context(), loadConfig{
		URLs: []string{"ws://" + s.Addr() + "/ws"}, Clients: 10, Idle: true, Ramp: 100, Duration: time.Second, InputRate: 20,
		Timeout: 10 * time.Second, DialTimeout: 5 * time.Second, Name: "i", Workers: 1, Progress: &progress{}, Poll: true, PollDetach: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 10 || res.Silent != 0 || res.InputsPerClient != 0 || res.Acks != 0 {
		t.Fatalf("connected %d, silent %d, %.1f inputs/s, %d acks; want 10 connected bots reading and sending nothing",
			res.Connected, res.Silent, res.InputsPerClient, res.Acks)
	}
	if row := resultsRow(res); !strings.HasPrefix(row, "| 10 idle | 10 / 0 |") {
		t.Errorf("row %q", row)
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := parseScenarios("100, 500,idle2000,fleet1500,soak24")
	want := []scenario{{Clients: 100}, {Clients: 500}, {Clients: 2000, Idle: true}, {Clients: 1500, Fleet: true}, {Clients: 24, Soak: true}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("parseScenarios = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "0", "idle", "100,x", "-5", "fleet", "idlefleet10", "fleet0", "soak", "fleetsoak10"} {
		if _, err := parseScenarios(bad); err == nil {
			t.Errorf("parseScenarios(%q): no error", bad)
		}
	}
}

func TestDialFailuresAreCounted(t *testing.T) {
	// A port nothing listens on: every dial is refused, and the run says so.
	addr, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	res, err := runLoad(t.Context(), loadConfig{
		URLs: []string{"ws://" + addr + "/ws"}, Clients: 5, Ramp: 100, Duration: 500 * time.Millisecond, InputRate: 20,
		Timeout: 10 * time.Second, DialTimeout: time.Second, Name: "f", Workers: 1, Progress: &progress{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 0 || res.Failed != 5 || res.Failures["connection refused"] != 5 {
		t.Fatalf("connected %d, failed %d, failures %v; want 5 refused", res.Connected, res.Failed, res.Failures)
	}
}

func TestParseAddrs(t *testing.T) {
	got, err := parseAddrs("127.0.0.1:4000, ws://b:4001,wss://c/game/ws")
	want := []string{"ws://127.0.0.1:4000/ws", "ws://b:4001/ws", "wss://c/game/ws"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("parseAddrs = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "a:1,", ",a:1", "a:1,http://b", "ws://"} {
		if _, err := parseAddrs(bad); err == nil {
			t.Errorf("parseAddrs(%q): no error", bad)
		}
	}
}

// Bots are spread round-robin over the addresses: with a live node and a
// port nothing listens on, every other bot connects.
func TestLoadSpreadsOverAddrs(t *testing.T) {
	s := servertest.Start(t, nil)
	dead, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	res, err := runLoad(t.Context(), loadConfig{
		URLs:    []string{"ws://" + s.Addr() + "/ws", "ws://" + dead + "/ws"},
		Clients: 6, Idle: true, Ramp: 100, Duration: 500 * time.Millisecond, InputRate: 20,
		Timeout: 10 * time.Second, DialTimeout: time.Second, Name: "rr", Workers: 1, Progress: &progress{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 3 || res.Failed != 3 || res.Failures["connection refused"] != 3 {
		t.Fatalf("connected %d, failed %d (%v); want 3 and 3 refused", res.Connected, res.Failed, res.Failures)
	}
	if res.Moves.Total() != 0 {
		t.Errorf("moves %+v without a fleet", res.Moves)
	}
}

func TestSummaryCountsMoves(t *testing.T) {
	res := &result{
		Config:      loadConfig{Clients: 4, InputRate: 20},
		Moves:       client.MoveStats{Drain: 3, Full: 1, FellBack: 1, Failed: 1},
		MoveSamples: 3, MoveToSnapP50: 40 * time.Millisecond, MoveToSnapP99: 90 * time.Millisecond,
	}
	var out bytes.Buffer
	printSummary(&out, res)
	want := "4 moves (full 1, resume 0, drain 3, other 0), 1 fell back, 1 failed; moved→first snap p50 40.0 / p99 90.0 ms over 3"
	if !strings.Contains(out.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, out.String())
	}
	if got := endReason(&client.MoveError{Err: io.EOF}); got != "move failed" {
		t.Errorf("endReason(MoveError) = %q, want \"move failed\"", got)
	}
}

func TestWriteSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "PERF.md")
	steps := []struct {
		before, section, want string
	}{
		{"", "one\n", sectionBegin + "\none\n" + sectionEnd + "\n"},
		{"# Perf\n\ntext\n", "one\n", "# Perf\n\ntext\n\n" + sectionBegin + "\none\n" + sectionEnd + "\n"},
		{"# Perf\n" + sectionBegin + "\nold\n" + sectionEnd + "\nafter\n", "new\n", "# Perf\n" + sectionBegin + "\nnew\n" + sectionEnd + "\nafter\n"},
	}
	for _, s := range steps {
		if err := os.WriteFile(path, []byte(s.before), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := writeSection(path, sectionBegin, sectionEnd, s.section); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != s.want {
			t.Errorf("file %q with section %q: got %q; want %q", s.before, s.section, got, s.want)
		}
	}
}

// Bars of phases cut short must still end: a bar short of its total would
// otherwise keep mpb waiting for ever.
func TestProgressBarsEnd(t *testing.T) {
	var out bytes.Buffer
	p := &progress{out: &out, bars: true}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.startRamp(10, func() (int, int) { return 3, 1 }) // cut short at 4 of 10
		p.endRamp(time.Second)
		p.startPlay(time.Hour, func() string { return "live" })
		p.endPlay()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the phases' bars did not end")
	}
	if !strings.Contains(out.String(), "ramp: done in 1s") || !strings.Contains(out.String(), "play: done") {
		t.Errorf("output lacks the phase ends:\n%s", out.String())
	}
}

func TestParseRedisInfo(t *testing.T) {
	body := "# Commandstats\r\ncmdstat_evalsha:calls=12,usec=300,usec_per_call=25.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_set:calls=500,usec=900,usec_per_call=1.80,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=3,usec=90\r\n" +
		"\r\n# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:0.750000\r\nused_cpu_sys_children:9.000000\r\n"
	s := parseRedisInfo(body, time.Time{})
	if s.Calls["evalsha"] != 12 || s.Calls["set"] != 500 || len(s.Calls) != 2 || s.total() != 512 || s.CPU != 2 {
		t.Errorf("parseRedisInfo = %+v (total %d); want evalsha 12, set 500, info left out, CPU 2 s", s, s.total())
	}
}

// The results row puts the write floor beside the CPU figures, and the
// server's CPU per snap over the floor's per write to 1,000 connections,
// and over the paced floor's.
func TestFloorCells(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := &result{
		Config: loadConfig{Clients: 100}, Connected: 100, SnapsPerClient: 30,
		// 0.06 cores over 3,000 snaps a second: 20 µs a snap.
		Server: &serverResult{Start: serverSample{At: t0}, End: serverSample{At: t0.Add(10 * time.Second), CPUSeconds: 0.6}},
		Floor: &floorResult{
			One:   floor.Result{Writes: 1000, CPU: time.Millisecond, Wall: 2 * time.Millisecond},
			Many:  floor.Result{Writes: 1000, CPU: 4 * time.Millisecond, Wall: 8 * time.Millisecond},
			Paced: floor.Result{Writes: 1000, CPU: 5 * time.Millisecond, Wall: 6 * time.Millisecond},
		},
	}
	cells := strings.Split(strings.Trim(resultsRow(r), "| \n"), " | ")
	if got := cells[len(cells)-4:]; !slices.Equal(got, []string{"0.06 cores (20.0 µs)", "0.00 cores", "1.0 / 4.0 / 5.0 (wall 2.0 / 8.0 / 6.0)", "5.0× (4.0× paced)"}) {
		t.Errorf("CPU and floor cells %q; want the server's 20 µs a snap, the floor's 1, 4 and 5 µs a write, and 5× and 4×", got)
	}
	// With the kernel's share: 0.024 cores of the 0.06, 8 µs a snap.
	r.Server.Start.HasSystemCPU, r.Server.End.HasSystemCPU, r.Server.End.SystemCPUSeconds = true, true, 0.24
	if cells := strings.Split(strings.Trim(resultsRow(r), "| \n"), " | "); cells[len(cells)-4] != "0.06 cores (20.0 µs; kernel 8.0)" {
		t.Errorf("server CPU cell %q; want the kernel's 8 µs of its 20 a snap", cells[len(cells)-4])
	}
	r.Floor.Err = errors.New("no sockets")
	if cells := strings.Split(strings.Trim(resultsRow(r), "| \n"), " | "); cells[len(cells)-1] != "—" || cells[len(cells)-2] != "—" {
		t.Errorf("floor cells %q without a floor; want dashes", cells[len(cells)-2:])
	}
}
