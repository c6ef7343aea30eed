package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// loadPlayersLog loads the scripted players' log of testdata/replays.
func loadPlayersLog(t *testing.T) *Replay {
	t.Helper()
	f, err := os.Open(filepath.Join(replayDir, "players.replay"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rp, err := LoadReplay(f)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// TestPlaybackMatchesRecording steps a playback through the whole log and
// checks every recorded state hash: a viewer sees the match as it was.
func TestPlaybackMatchesRecording(t *testing.T) {
	rp := loadPlayersLog(t)
	p, err := NewPlayback(rp)
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[uint64]uint64{}
	for _, rt := range rp.Ticks {
		if rt.HasHash {
			hashes[rt.Tick] = rt.Hash
		}
	}
	checked, feeds, sawPlayers := 0, 0, false
	for {
		ok, err := p.Step()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		f := p.Acquire()
		if want, has := hashes[f.Tick]; has {
			if f.Hash != want {
				t.Fatalf("tick %d: playback hash %016x, recorded %016x", f.Tick, f.Hash, want)
			}
			checked++
		}
		if len(Players(f, nil)) > 0 {
			sawPlayers = true
		}
		f.Release()
		for _, fd := range p.TakeFeeds(nil) {
			if fd.Tick != p.Tick() || len(fd.Events) == 0 {
				t.Fatalf("feed of tick %d with %d events taken at tick %d", fd.Tick, len(fd.Events), p.Tick())
			}
			feeds++
		}
	}
	if p.Tick() != rp.LastTick || checked != len(hashes) || checked == 0 {
		t.Fatalf("stopped at tick %d of %d with %d of %d hashes checked", p.Tick(), rp.LastTick, checked, len(hashes))
	}
	if feeds == 0 || !sawPlayers {
		t.Fatalf("%d feeds, players seen %v: the scripted match has busts and players", feeds, sawPlayers)
	}
}

// TestPlaybackSeek seeks forward, back and past the end, and checks that
// each seek lands on the recorded state of its tick.
func TestPlaybackSeek(t *testing.T) {
	rp := loadPlayersLog(t)
	p, err := NewPlayback(rp)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]uint64{}
	for _, rt := range rp.Ticks {
		if rt.HasHash {
			want[rt.Tick] = rt.Hash
		}
	}
	for _, tick := range []uint64{900, 300, 301, 1800, 30} {
		got, err := p.Seek(tick)
		if err != nil {
			t.Fatal(err)
		}
		if got != tick || p.Tick() != tick {
			t.Fatalf("Seek(%d) reached %d, Tick %d", tick, got, p.Tick())
		}
		if len(p.TakeFeeds(nil)) != 0 {
			t.Fatalf("Seek(%d) kept the feeds of the ticks it ran through", tick)
		}
		if h, ok := want[tick]; ok {
			f := p.Acquire()
			if f.Tick != tick || f.Hash != h {
				t.Errorf("after Seek(%d): frame of tick %d, hash %016x; recorded %016x", tick, f.Tick, f.Hash, h)
			}
			f.Release()
		}
	}
	if got, err := p.Seek(rp.LastTick + 1000); err != nil || got != rp.LastTick {
		t.Fatalf("Seek past the end reached %d (%v), want the last tick %d", got, err, rp.LastTick)
	}
	if ok, err := p.Step(); ok || err != nil {
		t.Fatalf("Step at the last tick = %v, %v; want false, nil", ok, err)
	}
	// In steps: back to the start, then at most 100 ticks a call.
	calls := 0
	for done := false; !done; calls++ {
		if done, err = p.SeekToward(990, 100); err != nil {
			t.Fatal(err)
		}
		if !done && p.Tick() != uint64(100*(calls+1)) {
			t.Fatalf("SeekToward(990, 100) call %d reached %d", calls+1, p.Tick())
		}
	}
	f := p.Acquire()
	defer f.Release()
	if calls != 10 || f.Tick != 990 || f.Hash != want[990] {
		t.Fatalf("SeekToward(990, 100): %d calls to tick %d, hash %016x; want 10 calls to the recorded %016x", calls, f.Tick, f.Hash, want[1000])
	}
}

// TestPlaybackSeeksFromKeyframes records the players scenario with a
// keyframe every 10 s of play and seeks a playback around it: each seek
// starts at the nearest keyframe (forward past one too), lands on the
// recorded state, and the feeds of sessions that joined before the
// keyframe still reach the playback.
func TestPlaybackSeeksFromKeyframes(t *testing.T) {
	sc := scenarioNamed(t, "players")
	var log bytes.Buffer
	a := playScenario(t, sc, Options{Record: NewRecorder(&log), KeyframeEvery: 10 * time.Second}, nil)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	rp, err := LoadReplay(bytes.NewReader(log.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[uint64]uint64{}
	for _, rt := range rp.Ticks {
		hashes[rt.Tick] = rt.Hash
	}
	p, err := NewPlayback(rp)
	if err != nil {
		t.Fatal(err)
	}
	for _, tick := range []uint64{1500, 950, 2399, 301, 299, 1200, 2400} {
		got, err := p.Seek(tick)
		if err != nil {
			t.Fatal(err)
		}
		if got != tick || frameHash(p.arena) != hashes[tick] {
			t.Fatalf("seek to %d reached tick %d with hash %016x, recorded %016x", tick, got, frameHash(p.arena), hashes[tick])
		}
		if kf := rp.From(tick); kf != nil && p.arena.state.Tick-kf.Tick > 300 {
			t.Fatalf("seek to %d did not start at the keyframe of tick %d", tick, kf.Tick)
		}
	}
	// From a keyframe, the feeds of the scripted players (who joined at
	// tick 1) come through as they do when played from the start.
	if _, err := p.Seek(600); err != nil {
		t.Fatal(err)
	}
	feeds := 0
	for range 1200 {
		if _, err := p.Step(); err != nil {
			t.Fatal(err)
		}
		feeds += len(p.TakeFeeds(nil))
	}
	whole, err := NewPlayback(rp)
	if err != nil {
		t.Fatal(err)
	}
	for range 600 { // Stepped, not sought: from tick 0, no keyframe.
		if _, err := whole.Step(); err != nil {
			t.Fatal(err)
		}
	}
	whole.TakeFeeds(nil)
	want := 0
	for range 1200 {
		if _, err := whole.Step(); err != nil {
			t.Fatal(err)
		}
		want += len(whole.TakeFeeds(nil))
	}
	if feeds != want || want == 0 {
		t.Fatalf("%d feeds after a seek to a keyframe, %d played from the start", feeds, want)
	}
}
