package sim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the replay logs in testdata/replays")

const replayDir = "../testdata/replays"

// TestReplays plays every scenario's recorded log twice and checks every
// recorded state hash, both times. With -update it first re-records the
// logs from the scenarios.
func TestReplays(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			path := filepath.Join(replayDir, sc.name+".jsonl")
			if *update {
				recordScenario(t, sc, path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./sim -run TestReplays -update to record it)", err)
			}
			var first *ReplayResult
			for run := 1; run <= 2; run++ {
				rp, err := LoadReplay(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				res, err := rp.Play(nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.Diverged != nil {
					t.Fatalf("run %d: tick %d: state hash %016x, recorded %016x", run, res.Diverged.Tick, res.Diverged.Got, res.Diverged.Want)
				}
				if res.Ticks != uint64(sc.ticks) || len(res.Checkpoints) == 0 {
					t.Fatalf("run %d: played %d ticks with %d checkpoints, want %d ticks and some checkpoints", run, res.Ticks, len(res.Checkpoints), sc.ticks)
				}
				if first == nil {
					first = res
					continue
				}
				for i, cp := range res.Checkpoints {
					if cp != first.Checkpoints[i] {
						t.Fatalf("run 2 checkpoint %d = %+v, run 1 had %+v", i, cp, first.Checkpoints[i])
					}
				}
			}
		})
	}
}

func recordScenario(t *testing.T, sc scenario, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sinks, _, err := runScenario(sc, NewRecorder(f, 30))
	if err != nil {
		t.Fatal(err)
	}
	deaths := 0
	for _, s := range sinks {
		deaths += s.deaths
	}
	t.Logf("recorded %s: %d ticks, %d player deaths", path, sc.ticks, deaths)
}

// TestReplayFindsDivergence changes one recorded input and expects the
// playback to report a differing hash at the first checkpoint after it.
func TestReplayFindsDivergence(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(replayDir, "players.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rp, err := LoadReplay(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	changed := uint64(0)
	for i := range rp.Ticks {
		rt := &rp.Ticks[i]
		if rt.Tick > 300 && len(rt.Commands) > 0 && rt.Commands[0].Kind == 4 {
			rt.Commands[0].Angle += 1
			changed = rt.Tick
			break
		}
	}
	if changed == 0 {
		t.Fatal("no input command after tick 300 in players.jsonl")
	}
	res, err := rp.Play(nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Diverged == nil {
		t.Fatalf("changed the input of tick %d, playback matched every checkpoint", changed)
	}
	wantBy := changed - changed%uint64(rp.Checkpoint) + uint64(rp.Checkpoint)
	if res.Diverged.Tick < changed || res.Diverged.Tick > wantBy {
		t.Fatalf("diverged at tick %d, want between %d and %d", res.Diverged.Tick, changed, wantBy)
	}
}

func TestLoadReplayRejectsBadLogs(t *testing.T) {
	tests := []struct{ name, log string }{
		{"empty", ""},
		{"not json", "hello\n"},
		{"wrong format", `{"format":"other","version":1}` + "\n"},
		{"future version", `{"format":"shatter-replay","version":2}` + "\n"},
		{"bad config", `{"format":"shatter-replay","version":1,"config":{"tick_rate":5}}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadReplay(bytes.NewReader([]byte(tt.log))); err == nil {
				t.Fatalf("LoadReplay(%q) = nil error, want one", tt.log)
			}
		})
	}
}
