package sim

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// playScenario is driveScenario for a test, which fails on an error.
func playScenario(t *testing.T, sc scenario, opts Options, each func(a *Arena)) *Arena {
	t.Helper()
	_, a, err := driveScenario(sc, opts, each)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func scenarioNamed(t *testing.T, name string) scenario {
	for _, sc := range scenarios {
		if sc.name == name {
			return sc
		}
	}
	t.Fatalf("no scenario %q", name)
	return scenario{}
}

// TestLogKeyframesStartPlayback records the players scenario with a
// keyframe every 10 s of play, and plays the log from each keyframe: every
// later tick's recorded hash must match.
func TestLogKeyframesStartPlayback(t *testing.T) {
	sc := scenarioNamed(t, "players")
	var log bytes.Buffer
	rec := NewRecorder(&log)
	a := playScenario(t, sc, Options{Record: rec, KeyframeEvery: 10 * time.Second}, nil)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	rp, err := LoadReplay(bytes.NewReader(log.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if want := sc.ticks / 300; len(rp.Keyframes) != want || rp.Start != nil {
		t.Fatalf("%d keyframes (start %v), want %d and none at the start", len(rp.Keyframes), rp.Start, want)
	}
	hashes := map[uint64]uint64{}
	for _, rt := range rp.Ticks {
		hashes[rt.Tick] = rt.Hash
	}
	for _, kf := range rp.Keyframes {
		b, err := rp.arenaAt(&kf)
		if err != nil {
			t.Fatalf("keyframe of tick %d: %v", kf.Tick, err)
		}
		if rp.From(kf.Tick+299) == nil || rp.From(kf.Tick+299).Tick != kf.Tick {
			t.Fatalf("From(%d) is not the keyframe of tick %d", kf.Tick+299, kf.Tick)
		}
		cmds := map[uint64]int{}
		for i, rt := range rp.Ticks {
			cmds[rt.Tick] = i
		}
		for tick := kf.Tick + 1; tick <= rp.LastTick; tick++ {
			var err error
			if i, ok := cmds[tick]; ok {
				err = b.stepRecorded(rp.Ticks[i].Commands)
			} else {
				err = b.stepRecorded(nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := frameHash(b); got != hashes[tick] {
				t.Fatalf("from the keyframe of tick %d: tick %d hash %016x, recorded %016x", kf.Tick, tick, got, hashes[tick])
			}
		}
	}
	if rp.From(0) != nil || rp.From(rp.Keyframes[0].Tick-1) != nil {
		t.Fatal("From before the first keyframe is not nil")
	}
	t.Logf("%d keyframes, log %d bytes for %d ticks", len(rp.Keyframes), log.Len(), rp.LastTick)
}

// TestClipRingCutsAClip plays the players scenario with a clip ring of
// 3 s of play in 1 s segments and cuts clips along the way and at the
// end: each starts at a keyframe, reaches back at least as asked, ends
// within a second of the present, replays with every hash matching, and
// survives a round trip through a file. Old segments are removed.
func TestClipRingCutsAClip(t *testing.T) {
	sc := scenarioNamed(t, "players")
	sc.ticks = 600
	dir := t.TempDir()
	ring := NewClipRing(ClipOptions{Dir: dir, Minutes: 3.0 / 60})
	check := func(a *Arena, minutes float64) {
		t.Helper()
		clip, err := a.Clip(minutes)
		if err != nil {
			t.Fatalf("tick %d: %v", a.Tick(), err)
		}
		var file bytes.Buffer
		if err := clip.Save(&file); err != nil {
			t.Fatal(err)
		}
		rp, err := LoadReplay(bytes.NewReader(file.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		span := uint64(minutes * 60 * 30)
		switch {
		case rp.Start == nil || rp.Cut != "":
			t.Fatalf("tick %d: clip without a start keyframe (%v) or cut (%q)", a.Tick(), rp.Start, rp.Cut)
		case a.Tick() > span && rp.LastTick-rp.Start.Tick < span:
			t.Fatalf("tick %d: clip of ticks %d..%d, shorter than asked (%d)", a.Tick(), rp.Start.Tick, rp.LastTick, span)
		case rp.LastTick+31 < a.Tick():
			t.Fatalf("tick %d: clip ends at tick %d, over a second ago", a.Tick(), rp.LastTick)
		}
		res, err := rp.Play(nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Diverged != nil || len(res.Checkpoints) != int(rp.LastTick-rp.Start.Tick) {
			t.Fatalf("tick %d: clip of ticks %d..%d replayed %d hashes, diverged %+v", a.Tick(), rp.Start.Tick, rp.LastTick, len(res.Checkpoints), res.Diverged)
		}
		// The viewer plays a clip from its start; a seek before it
		// lands there.
		p, err := NewPlayback(rp)
		if err != nil || p.Tick() != rp.Start.Tick {
			t.Fatalf("a playback of the clip starts at tick %d (%v), want %d", p.Tick(), err, rp.Start.Tick)
		}
		if got, err := p.Seek(rp.LastTick); err != nil || got != rp.LastTick || frameHash(p.arena) != rp.Ticks[len(rp.Ticks)-1].Hash {
			t.Fatalf("seek to the clip's end: tick %d, %v", got, err)
		}
		if got, err := p.Seek(0); err != nil || got != rp.Start.Tick {
			t.Fatalf("seek to 0 in a clip from tick %d reached %d (%v)", rp.Start.Tick, got, err)
		}
	}
	a := playScenario(t, sc, Options{Clips: ring, KeyframeEvery: time.Second}, func(a *Arena) {
		if a.Tick()%97 == 0 {
			check(a, 2.0/60)
		}
	})
	check(a, 3.0/60)
	a.clips.closers.Wait()
	// 3 s, the segment being written and one more.
	if n := len(clipSegmentsIn(dir)); n != 5 {
		t.Fatalf("%d segments on disk, want 5", n)
	}
	// An arena that stops (reaped, shut down) takes its segments along.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(clipSegmentsIn(dir)); n != 0 {
		t.Fatalf("%d segments on disk after the arena stopped, want none", n)
	}
}

// TestClipRingKeptAfterAFault stops a ringed arena with a panic in its
// tick while clips are being cut from another goroutine (the admin
// listener's): the segments stay on disk and still make a clip, and
// nothing races.
func TestClipRingKeptAfterAFault(t *testing.T) {
	dir := t.TempDir()
	a, err := New(Options{Config: playersConfig(), Seed: 3, KeyframeEvery: time.Second,
		Clips: NewClipRing(ClipOptions{Dir: dir, Minutes: 1}),
		Drill: func(tick uint64) {
			if tick == 200 {
				panic("drill")
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var cutter sync.WaitGroup
	cutter.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			a.Clip(1) // Racing the fault is the point; the answer may be ErrNoClip early on.
		}
	})
	for range 199 {
		if err := a.Step(); err != nil {
			t.Fatal(err)
		}
		a.clips.cur.Drain()
	}
	err = func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = a.fault(p, nil)
			}
		}()
		return a.Step()
	}()
	close(stop)
	cutter.Wait()
	var fault *Fault
	if !errors.As(err, &fault) {
		t.Fatalf("the drill's panic gave %v, want a *Fault", err)
	}
	if n := len(clipSegmentsIn(dir)); n == 0 {
		t.Fatal("no segments kept after the fault")
	}
	clip, err := a.Clip(1)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := clip.Play(nil); err != nil || res.Diverged != nil || clip.LastTick < 180 {
		t.Fatalf("clip after the fault: to tick %d, %v, %+v", clip.LastTick, err, res)
	}
}

// TestRestoredArenaRecordsFromItsKeyframe records an arena that starts at
// a keyframe: its log starts there too, and replays.
func TestRestoredArenaRecordsFromItsKeyframe(t *testing.T) {
	sc := scenarioNamed(t, "players")
	sc.ticks = 150
	a := playScenario(t, sc, Options{}, nil)
	key, err := a.AppendKeyframe(nil)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rec := NewRecorder(&log)
	b, err := New(Options{Config: sc.cfg, Seed: sc.seed, Keyframe: key, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		f := b.Acquire()
		sc.drive(b, f, map[uint32]*countingSink{})
		f.Release()
		if err := b.Step(); err != nil {
			t.Fatal(err)
		}
		rec.Drain()
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	rp, err := LoadReplay(&log)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rp.Play(nil)
	if err != nil || rp.Start == nil || rp.Start.Tick != 150 || res.Diverged != nil || len(res.Checkpoints) != 100 {
		t.Fatalf("log from tick %v: %v, %+v", rp.Start, err, res)
	}
}

// TestFailedLogStartsNoRing: an arena whose replay log cannot be started
// is not made, and leaves no clip ring writing behind it.
func TestFailedLogStartsNoRing(t *testing.T) {
	dir := t.TempDir()
	before := runtime.NumGoroutine()
	for range 5 {
		_, err := New(Options{Config: playersConfig(), Seed: 1, Record: NewRecorder(failingWriter{}),
			Clips: NewClipRing(ClipOptions{Dir: dir, Minutes: 1})})
		if err == nil {
			t.Fatal("New with a log that cannot be written: no error")
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := runtime.NumGoroutine(); n > before+1 {
		t.Fatalf("%d goroutines after five failed arenas, %d before", n, before)
	}
	if n := len(clipSegmentsIn(dir)); n != 0 {
		t.Fatalf("%d segments written by arenas that were never made", n)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestClipRingCapsItsSize keeps a ring under a byte cap far below three
// seconds of play: the oldest segments go, the two newest stay.
func TestClipRingCapsItsSize(t *testing.T) {
	sc := scenarioNamed(t, "players")
	sc.ticks = 300
	dir := t.TempDir()
	ring := NewClipRing(ClipOptions{Dir: dir, Minutes: 1, MaxBytes: 1})
	a := playScenario(t, sc, Options{Clips: ring, KeyframeEvery: time.Second}, nil)
	a.clips.closers.Wait()
	if n := len(clipSegmentsIn(dir)); n > 3 {
		t.Fatalf("%d segments on disk under a 1-byte cap, want at most 3", n)
	}
	if _, err := a.Clip(1); err != nil {
		t.Fatalf("the newest segments should still make a clip: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestClipRingInAnUnwritableDir starts an arena whose ring cannot
// create its directory: the arena plays, and Clip says there is none.
func TestClipRingInAnUnwritableDir(t *testing.T) {
	file := t.TempDir() + "/file"
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Config: playersConfig(), Seed: 1, Clips: NewClipRing(ClipOptions{Dir: file + "/ring", Minutes: 1})})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Step(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Clip(1); !errors.Is(err, ErrNoClip) {
		t.Fatalf("Clip = %v, want ErrNoClip", err)
	}
}
