package sim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shatter/shatter/ecs"
)

var update = flag.Bool("update", false, "rewrite the scripted replay logs in testdata/replays")

const replayDir = "../testdata/replays"

// TestReplays plays every replay log in testdata/replays, recognised by
// its content whatever its name (a bug report is a file dropped there),
// twice, and checks every tick's state hash both times. With -update it
// first re-records the scripted scenarios' logs.
func TestReplays(t *testing.T) {
	scripted := map[string]scenario{}
	for _, sc := range scenarios {
		path := filepath.Join(replayDir, sc.name+ReplayExt)
		scripted[filepath.Base(path)] = sc
		if *update {
			recordScenario(t, sc, path)
		}
	}
	entries, err := os.ReadDir(replayDir)
	if err != nil {
		t.Fatal(err)
	}
	played := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(replayDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !IsReplayLog(data) {
			t.Logf("%s: not a replay log, skipped", e.Name())
			continue
		}
		played++
		sc, isScripted := scripted[e.Name()]
		delete(scripted, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
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
				if len(res.Checkpoints) == 0 || res.Ticks != rp.LastTick {
					t.Fatalf("run %d: played %d of %d ticks with %d hashes checked", run, res.Ticks, rp.LastTick, len(res.Checkpoints))
				}
				if isScripted && (res.Ticks != uint64(sc.ticks) || len(res.Checkpoints) != sc.ticks) {
					t.Fatalf("run %d: played %d ticks and %d hashes, want %d of each", run, res.Ticks, len(res.Checkpoints), sc.ticks)
				}
				if first == nil {
					first = res
					continue
				}
				if !reflect.DeepEqual(res.Checkpoints, first.Checkpoints) {
					t.Fatal("the second playback's hashes differ from the first's")
				}
			}
		})
	}
	for name := range scripted {
		t.Errorf("%s is missing (run go test ./sim -run TestReplays -update to record it)", name)
	}
	if played == 0 {
		t.Fatal("no replay log in " + replayDir)
	}
}

func recordScenario(t *testing.T, sc scenario, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sinks, _, err := runScenario(sc, NewRecorder(f))
	if err != nil {
		t.Fatal(err)
	}
	deaths := 0
	for _, s := range sinks {
		deaths += s.deaths
	}
	t.Logf("recorded %s: %d ticks, %d player deaths", path, sc.ticks, deaths)
}

// loadScripted loads one of the scripted logs.
func loadScripted(t testing.TB, name string) (*Replay, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(replayDir, name+ReplayExt))
	if err != nil {
		t.Fatal(err)
	}
	rp, err := LoadReplay(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return rp, data
}

// TestReplayFindsDivergence changes one recorded input of a living
// marble and expects the playback to name that very tick: every tick
// carries a hash, and the hash covers the steering.
func TestReplayFindsDivergence(t *testing.T) {
	rp, _ := loadScripted(t, "players")
	changed := uint64(0)
	for i := range rp.Ticks {
		rt := &rp.Ticks[i]
		if rt.Tick > 300 && len(rt.Commands) > 0 && rt.Commands[0].Kind == ecs.CmdInput {
			rt.Commands[0].Turn += 5000
			changed = rt.Tick
			break
		}
	}
	if changed == 0 {
		t.Fatal("no input command after tick 300 in players" + ReplayExt)
	}
	res, err := rp.Play(nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Diverged == nil || res.Diverged.Tick != changed {
		t.Fatalf("changed the input of tick %d, playback diverged at %+v, want that tick", changed, res.Diverged)
	}
}

// TestReplayCodecRoundTrip writes every kind of command through the
// codec, with the seq and turn deltas it takes (a resumed session's seq
// starting again, a turn wrapping), and reads the same back.
func TestReplayCodecRoundTrip(t *testing.T) {
	ticks := []ReplayTick{
		{Tick: 1, Hash: 0xdeadbeefcafef00d, HasHash: true, Commands: []ecs.Command{
			{Kind: ecs.CmdJoin, Session: 7, Name: "Ann ünïcode"}, {Kind: ecs.CmdSpawn, Session: 7},
			{Kind: ecs.CmdInput, Session: 7, Seq: 1, Turn: 65500, Boost: true},
		}},
		{Tick: 2, Hash: 1, HasHash: true, Commands: []ecs.Command{
			{Kind: ecs.CmdInput, Session: 7, Seq: 2, Turn: 30},
			{Kind: ecs.CmdInput, Session: 1 << 31, Seq: math.MaxUint32, Turn: 32768},
		}},
		{Tick: 9, Hash: 2, HasHash: true},
		{Tick: 10, Commands: []ecs.Command{
			{Kind: ecs.CmdDetach, Session: 7}, {Kind: ecs.CmdJoin, Session: 7, Name: "Ann"},
			{Kind: ecs.CmdInput, Session: 7, Seq: 1, Turn: 12345},
			{Kind: ecs.CmdArrive, Session: 8, Mass: 123.456789},
			{Kind: ecs.CmdDepart, Session: 8}, {Kind: ecs.CmdLeave, Session: 1 << 31},
		}},
	}
	var buf []byte
	codes := sessionCodes{}
	prev := uint64(0)
	for _, rt := range ticks {
		buf = appendTickRecord(buf, rt.Tick-prev, rt.Hash, rt.HasHash, rt.Commands, codes)
		prev = rt.Tick
	}
	if len(codes) != 1 {
		t.Errorf("the encoder remembers %d sessions, want 1 (the others left or joined again)", len(codes))
	}
	head, _ := jsonHeader(t)
	stream := append(appendRecord(nil, recHeader, head), buf...)
	stream = appendRecord(stream, recEnd, binary.AppendUvarint(nil, 12))
	rp, err := LoadReplay(bytes.NewReader(compressed(t, stream)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rp.Ticks, ticks) || rp.LastTick != 12 || rp.Cut != "" {
		t.Fatalf("read back %+v (last %d, cut %q),\nwant %+v", rp.Ticks, rp.LastTick, rp.Cut, ticks)
	}
}

// TestLoadReplayTakesACutLog cuts a recorded log at many places, as a
// process that dies while recording leaves it: past the header every cut
// loads, holds whole ticks only, says it was cut, and replays with every
// hash it holds matching.
func TestLoadReplayTakesACutLog(t *testing.T) {
	var log bytes.Buffer
	rec := newRecorder(&log, RecordQueue, 30)
	sc := scenarios[1] // players: commands of every kind
	sc.ticks = 400
	if _, _, err := runScenario(sc, rec); err != nil {
		t.Fatal(err)
	}
	data := log.Bytes()
	full, err := LoadReplay(bytes.NewReader(data))
	if err != nil || full.Cut != "" || full.LastTick != 400 {
		t.Fatalf("the whole log: last tick %d, cut %q, err %v", full.LastTick, full.Cut, err)
	}
	longest := uint64(0)
	for cut := 20; cut < len(data); cut += len(data)/23 + 1 {
		rp, err := LoadReplay(bytes.NewReader(data[:cut]))
		if err != nil {
			if rp == nil && strings.Contains(err.Error(), "no header") {
				continue // cut inside the header
			}
			t.Fatalf("cut at byte %d of %d: %v", cut, len(data), err)
		}
		if rp.Cut == "" || rp.LastTick > 400 {
			t.Fatalf("cut at byte %d: last tick %d, cut %q; want a cut log", cut, rp.LastTick, rp.Cut)
		}
		if len(rp.Ticks) > 0 && !reflect.DeepEqual(rp.Ticks, full.Ticks[:len(rp.Ticks)]) {
			t.Fatalf("cut at byte %d: its ticks differ from the whole log's", cut)
		}
		res, err := rp.Play(nil)
		if err != nil || res.Diverged != nil || res.Ticks != rp.LastTick {
			t.Fatalf("cut at byte %d: replay %+v, %v", cut, res, err)
		}
		longest = max(longest, rp.LastTick)
	}
	if longest < 300 {
		t.Fatalf("the longest cut log held %d ticks; flushed once a second, it should hold nearly all 400", longest)
	}
}

func TestLoadReplayRejectsBadLogs(t *testing.T) {
	head, cfg := jsonHeader(t)
	cfg.TickRate = 5
	badCfg := appendRecord(nil, recHeader, mustJSON(t, replayHeader{Config: cfg}))
	tick := appendTickRecord(nil, 1, 0, true, nil, sessionCodes{})
	tests := []struct {
		name string
		log  []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"not a log", []byte("hello, world\n"), "not a Shatter replay log"},
		{"version 1", []byte(`{"format":"shatter-replay","version":1,"arena":0}` + "\n"), "version 1"},
		{"future version", append([]byte(replayMagic), 3, 0), "version 3"},
		{"magic alone", []byte(replayMagic), "version"},
		{"not zstd", append([]byte(replayMagic), ReplayVersion, 0, 1, 2, 3, 4, 5, 6, 7, 8), "no header"},
		{"no header", compressed(t, tick), "not the header"},
		{"bad config", compressed(t, badCfg), "tick_rate"},
		{"two headers", compressed(t, appendRecord(appendRecord(nil, recHeader, head), recHeader, head)), "second header"},
		{"tick 0", compressed(t, append(appendRecord(nil, recHeader, head), appendTickRecord(nil, 0, 0, true, nil, sessionCodes{})...)), "again"},
		{"garbled tick", compressed(t, appendRecord(appendRecord(nil, recHeader, head), recTick, []byte{1, 1, 2})), "truncated"},
		{"a tick beyond any recording", compressed(t, append(appendRecord(nil, recHeader, head), appendTickRecord(nil, 1<<50, 0, true, nil, sessionCodes{})...)), "beyond any recording"},
		{"end before the last tick", compressed(t, appendRecord(append(appendRecord(nil, recHeader, head), appendTickRecord(nil, 5, 0, true, nil, sessionCodes{})...), recEnd, []byte{3})), "end at tick 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadReplay(bytes.NewReader(tt.log))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadReplay = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestLoadReplaySkipsUnknownRecords: a record kind this build does not
// know (a later build's keyframe, say) is skipped.
func TestLoadReplaySkipsUnknownRecords(t *testing.T) {
	head, _ := jsonHeader(t)
	stream := appendRecord(nil, recHeader, head)
	stream = append(stream, appendTickRecord(nil, 1, 42, true, nil, sessionCodes{})...)
	stream = appendRecord(stream, 200, []byte("a keyframe, perhaps"))
	stream = append(stream, appendTickRecord(nil, 1, 43, true, nil, sessionCodes{})...)
	rp, err := LoadReplay(bytes.NewReader(compressed(t, stream)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rp.Ticks) != 2 || rp.Ticks[1].Tick != 2 || rp.Ticks[1].Hash != 43 {
		t.Fatalf("ticks %+v, want ticks 1 and 2 around the unknown record", rp.Ticks)
	}
}

func jsonHeader(t testing.TB) ([]byte, ecs.Config) {
	cfg := ecs.DefaultConfig()
	return mustJSON(t, replayHeader{Arena: 1, Seed: 2, Config: cfg}), cfg
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compressed makes a version 2 log of the given records.
func compressed(t testing.TB, records []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(replayMagic)
	b.Write(binary.LittleEndian.AppendUint16(nil, ReplayVersion))
	enc, err := newLogEncoder(&b)
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(records)
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzLoadReplay: whatever the bytes, loading is an answer or an error,
// never a panic; a log that loads keeps its ticks rising, and saving it
// and loading it again gives the same ticks.
func FuzzLoadReplay(f *testing.F) {
	_, data := loadScripted(f, "movers500")
	f.Add(data)
	f.Add(data[:len(data)/2])
	head, _ := jsonHeader(f)
	codes := sessionCodes{}
	f.Add(compressed(f, append(appendRecord(nil, recHeader, head), appendTickRecord(nil, 1, 5, true, []ecs.Command{
		{Kind: ecs.CmdJoin, Session: 3, Name: "x"}, {Kind: ecs.CmdInput, Session: 3, Seq: 1, Turn: 9}, {Kind: ecs.CmdArrive, Session: 3, Mass: 40},
	}, codes)...)))
	f.Fuzz(func(t *testing.T, data []byte) {
		rp, err := LoadReplay(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 1; i < len(rp.Ticks); i++ {
			if rp.Ticks[i].Tick <= rp.Ticks[i-1].Tick {
				t.Fatalf("ticks %d then %d", rp.Ticks[i-1].Tick, rp.Ticks[i].Tick)
			}
		}
		var b bytes.Buffer
		if err := rp.Save(&b); err != nil {
			t.Fatal(err)
		}
		again, err := LoadReplay(&b)
		if err != nil || len(again.Ticks) != len(rp.Ticks) || again.LastTick != rp.LastTick {
			t.Fatalf("saved and loaded again: %v, %d ticks to %d, want %d to %d", err, len(again.Ticks), again.LastTick, len(rp.Ticks), rp.LastTick)
		}
	})
}
