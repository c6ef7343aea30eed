package sim

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/internal/allocprof"
)

func newTestArena(t *testing.T, opts Options) *Arena {
	t.Helper()
	if opts.Config.TickRate == 0 {
		opts.Config = ecs.DefaultConfig()
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func step(t *testing.T, a *Arena, n int) {
	t.Helper()
	for range n {
		if err := a.Step(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := ecs.DefaultConfig()
	cfg.TickRate = 500
	if _, err := New(Options{Config: cfg}); !errors.Is(err, ecs.ErrConfig) {
		t.Fatalf("New with tick rate 500: err = %v, want ErrConfig", err)
	}
}

// TestRunDrivenByManualClock drives Run tick by tick without sleeping: a
// session joins and spawns, and its sink sees the frames that show its
// marble.
func TestRunDrivenByManualClock(t *testing.T) {
	clock := NewManualClock()
	a := newTestArena(t, Options{Clock: clock, Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()

	sink := &chanSink{frames: make(chan uint64, 16)}
	for _, c := range []ecs.Command{{Kind: ecs.CmdJoin, Session: 7, Name: "ann"}, {Kind: ecs.CmdSpawn, Session: 7}} {
		if err := a.Post(Command{cmd: c, sink: sink}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Tick()
	if got := <-sink.frames; got != 1 {
		t.Fatalf("first frame ready for tick %d, want 1", got)
	}
	clock.Tick()
	<-sink.frames
	f := a.Acquire()
	p := f.Player(7)
	if p == nil || !p.Alive || p.Entity.Name != "ann" || p.Entity.Kind != ecs.KindPlayer {
		t.Fatalf("frame %d player 7 = %+v, want a living player named ann", f.Tick, p)
	}
	f.Release()

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if err := a.Post(Spawn(7)); !errors.Is(err, ErrStopped) {
		t.Fatalf("Post after Run returned: %v, want ErrStopped", err)
	}
}

type chanSink struct{ frames chan uint64 }

func (s *chanSink) FrameReady(t uint64) { s.frames <- t }
func (s *chanSink) Died(Died)           {}
func (s *chanSink) Board(*Board)        {}
func (s *chanSink) Departed(Departed)   {}
func (s *chanSink) Feed(*Feed)          {}

func TestPostRefusesWhenInboxFull(t *testing.T) {
	a := newTestArena(t, Options{InboxSize: 2})
	cmd := Join(1, "a", nil)
	for i := range 2 {
		if err := a.Post(cmd); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if err := a.Post(cmd); !errors.Is(err, ErrInboxFull) {
		t.Fatalf("third post: %v, want ErrInboxFull", err)
	}
	step(t, a, 1)
	if err := a.Post(cmd); err != nil {
		t.Fatalf("post after the tick drained the inbox: %v", err)
	}
}

func TestReserveStopsAtMaxPlayers(t *testing.T) {
	cfg := ecs.DefaultConfig()
	cfg.MaxPlayers, cfg.MinPopulation = 3, 3
	a := newTestArena(t, Options{Config: cfg})
	for i := range 3 {
		if !a.Reserve() {
			t.Fatalf("reserve %d refused", i)
		}
	}
	if a.Reserve() {
		t.Fatal("fourth reserve granted at max_players 3")
	}
	a.Unreserve()
	if !a.Reserve() || a.Seats() != 3 {
		t.Fatalf("after unreserve: seats %d, want a seat granted and 3 taken", a.Seats())
	}
}

// TestFrameIndexesEveryEntity checks that a frame holds every entity once,
// each in the cell its position belongs to.
func TestFrameIndexesEveryEntity(t *testing.T) {
	a := newTestArena(t, Options{Seed: 3})
	step(t, a, 60)
	f := a.Acquire()
	defer f.Release()
	cfg := a.Config()
	want := cfg.FragmentCount + cfg.ObstacleCount + cfg.MinPopulation
	if len(f.Entities) < want {
		t.Fatalf("frame has %d entities, want at least %d", len(f.Entities), want)
	}
	seen := map[uint32]bool{}
	kinds := map[ecs.Kind]int{}
	for r := 0; r < f.Rows; r++ {
		for c := 0; c < f.Cols; c++ {
			for _, e := range f.Cell(c, r) {
				if seen[e.ID] {
					t.Fatalf("entity %d appears twice", e.ID)
				}
				seen[e.ID] = true
				kinds[e.Kind]++
				if gc, gr, _, _ := f.SpanRect(float64(e.X), float64(e.Y), float64(e.X), float64(e.Y)); gc != c || gr != r {
					t.Fatalf("entity %d at (%v,%v) is in cell (%d,%d), want (%d,%d)", e.ID, e.X, e.Y, c, r, gc, gr)
				}
				// X and Y are float32 copies; quantizing them may round the
				// other way than the exact position did.
				if absDiff(e.QX, Quantize(float64(e.X), f.Width)) > 1 || absDiff(e.QY, Quantize(float64(e.Y), f.Height)) > 1 {
					t.Fatalf("entity %d quantized to (%d,%d) from (%v,%v)", e.ID, e.QX, e.QY, e.X, e.Y)
				}
			}
		}
	}
	if len(seen) != len(f.Entities) {
		t.Fatalf("cells hold %d entities, frame %d", len(seen), len(f.Entities))
	}
	if kinds[ecs.KindObstacle] != cfg.ObstacleCount || kinds[ecs.KindZombie] != f.Movers || kinds[ecs.KindFragment] < cfg.FragmentCount {
		t.Fatalf("kinds %v, movers %d; want %d obstacles, every mover a zombie, >= %d fragments", kinds, f.Movers, cfg.ObstacleCount, cfg.FragmentCount)
	}
	if f.Leader.ID == 0 || !f.Leader.Kind.IsMover() {
		t.Fatalf("leader %+v, want a marble", f.Leader)
	}
}

// TestHeldFrameIsNotRecycled holds a frame across many ticks and checks it
// still says what it said.
func TestHeldFrameIsNotRecycled(t *testing.T) {
	a := newTestArena(t, Options{Seed: 4})
	step(t, a, 5)
	held := a.Acquire()
	tick, hash, first := held.Tick, held.Hash, held.Entities[0]
	step(t, a, 50)
	if held.Tick != tick || held.Hash != hash || held.Entities[0] != first {
		t.Fatalf("held frame changed: tick %d->%d hash %x->%x", tick, held.Tick, hash, held.Hash)
	}
	held.Release()
	latest := a.Acquire()
	defer latest.Release()
	if latest.Tick != 55 {
		t.Fatalf("latest frame tick %d, want 55", latest.Tick)
	}
}

func TestSameSeedSameHashesOtherSeedDiffers(t *testing.T) {
	hashes := func(seed uint64) []uint64 {
		a := newTestArena(t, Options{Seed: seed})
		var hs []uint64
		for range 200 {
			step(t, a, 1)
			f := a.Acquire()
			hs = append(hs, f.Hash)
			f.Release()
		}
		return hs
	}
	a, b, c := hashes(5), hashes(5), hashes(6)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("tick %d: same seed gave hashes %x and %x", i+1, a[i], b[i])
		}
	}
	if a[len(a)-1] == c[len(c)-1] {
		t.Fatal("seeds 5 and 6 ended in the same state hash")
	}
}

// TestSinksGetDeathsAndBoards runs the scripted players scenario and checks
// its sessions heard of their deaths and of the leaderboard once a second.
func TestSinksGetDeathsAndBoards(t *testing.T) {
	var sc scenario
	for _, s := range scenarios {
		if s.name == "players" {
			sc = s
		}
	}
	sinks, a, err := runScenario(sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	deaths := 0
	for id, s := range sinks {
		deaths += s.deaths
		if id == 1 && (s.boards < sc.ticks/sc.cfg.TickRate-1 || s.lastBoard == nil || len(s.lastBoard.Top) == 0) {
			t.Errorf("session 1 got %d boards (last %+v), want about %d", s.boards, s.lastBoard, sc.ticks/sc.cfg.TickRate)
		}
		if s.deaths > 0 && (s.lastDeath.Tick == 0 || s.lastDeath.Mass == 0) {
			t.Errorf("session %d death event %+v lacks tick or mass", id, s.lastDeath)
		}
	}
	if deaths == 0 {
		t.Error("no player died in the players scenario")
	}
	if st := a.Percentiles(); st.Samples != sc.ticks && st.Samples != historySize {
		t.Errorf("percentiles over %d samples after %d ticks", st.Samples, sc.ticks)
	}
}

// TestStepAllocatesOnlyTheBoard checks that a steady-state tick allocates
// nothing but the leaderboard event, made once a second and shared with
// every session, whose writers may keep it, so it is not recycled: newBoard
// allocates the Board and its rows. BenchmarkTick reports the same
// property; this counts it exactly (testing.AllocsPerRun rounds down), in
// a default arena and at BenchmarkTick's 5,000 and 10,000 movers, where a
// fragment cell crowded by a shatter used to allocate its first growth.
func TestStepAllocatesOnlyTheBoard(t *testing.T) {
	const boardAllocs = 2
	sizes := []struct {
		name                         string
		movers, fragments, warm, run int
	}{
		{"default", 0, 0, 600, 600},
		// Warmed for twice goneSeconds: the statics that left cells are
		// kept that long, and their list reaches its size after it.
		{"movers=5000", 5000, 10000, 300, 300},
		{"movers=10000", 10000, 20000, 300, 300},
	}
	for _, sz := range sizes {
		t.Run(sz.name, func(t *testing.T) {
			cfg := ecs.DefaultConfig()
			if sz.movers > 0 {
				if testing.Short() || raceEnabled {
					t.Skip("thousands of movers: seconds of ticks, minutes under the race detector")
				}
				cfg = cfg.ForPopulation(sz.movers, sz.fragments, 300)
			}
			a := newTestArena(t, Options{Config: cfg, Seed: 9})
			step(t, a, sz.warm)
			boards := uint64(0)
			n := allocprof.In("github.com/shatter/shatter/sim.(*Arena).Step", func() {
				for range sz.run {
					if err := a.Step(); err != nil {
						t.Fatal(err)
					}
					if a.state.BoardTick == a.state.Tick {
						boards++
					}
				}
			})
			t.Logf("%d ticks: %d allocations, %d boards", sz.run, n, boards)
			if n > boardAllocs*boards {
				t.Fatalf("%d ticks allocated %d times, want at most %d for their %d boards", sz.run, n, boardAllocs*boards, boards)
			}
		})
	}
}

func absDiff(a, b uint16) int { return max(int(a)-int(b), int(b)-int(a)) }

// diskFull accepts room bytes, then fails every write.
type diskFull struct{ room int }

func (d *diskFull) Write(p []byte) (int, error) {
	if len(p) > d.room {
		return 0, errors.New("disk full")
	}
	d.room -= len(p)
	return len(p), nil
}

// TestRecordFailureStopsRecordingNotTheArena: a replay log that cannot be
// written is reported once, and the arena keeps ticking.
func TestRecordFailureStopsRecordingNotTheArena(t *testing.T) {
	// Room for the header only; a tiny buffer makes the first checkpoint
	// line reach the writer.
	rec := newRecorder(&diskFull{room: 4096}, RecordQueue, 1)
	a, err := New(Options{Seed: 1, Config: ecs.DefaultConfig(), Record: rec})
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	// The writer fails on its own goroutine, and the tick hears of it at
	// its next step: on a loaded machine that can come after 300 quick
	// ticks, so the arena steps on (a millisecond apart) until it has,
	// then 100 ticks more that must bring no second error.
	errs := 0
	deadline := time.Now().Add(10 * time.Second)
	for a.Tick() < 300 || errs == 0 && time.Now().Before(deadline) {
		if err := a.Step(); err != nil {
			errs++
		}
		if a.Tick() >= 300 && errs == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	for range 100 {
		if err := a.Step(); err != nil {
			errs++
		}
	}
	if errs != 1 {
		t.Fatalf("%d errors by tick %d, want exactly one and every tick played", errs, a.Tick())
	}
}

// TestFrameTellsEarlierStatics checks what a frame says of the statics
// of earlier frames (Frame.Knows, Entity.BornBy, Gone.There): in a small
// crowded arena where fragments are eaten and scattered and spike balls
// move, within a cell and across cells, every earlier frame it knows had
// in each cell exactly its statics born by then and its gone that were
// there then, and a cell unchanged since had its statics now. It also
// checks that a frame knows the last goneSeconds of ticks and no more.
func TestFrameTellsEarlierStatics(t *testing.T) {
	cfg := ecs.DefaultConfig()
	cfg.ArenaWidth, cfg.ArenaHeight = 1600, 1600
	cfg.MinPopulation = 60
	cfg.ObstacleCount, cfg.ObstacleMinMass = 60, 0 // every hit moves the spike ball
	cfg.SpawnShield, cfg.ZombieSpare = 0, 0
	a := newTestArena(t, Options{Config: cfg, Seed: 9})
	type static struct {
		id     uint32
		qx, qy uint16
	}
	// cellsAt records each frame's statics by cell, sorted by id.
	cellsAt := map[uint64][][]static{}
	record := func(f *Frame) {
		cells := make([][]static, len(f.Statics))
		for i := range cells {
			c, r := i%f.Cols, i/f.Cols
			for _, e := range f.Cell(c, r)[:f.Statics[i].N] {
				cells[i] = append(cells[i], static{e.ID, e.QX, e.QY})
			}
			slices.SortFunc(cells[i], func(p, q static) int { return cmp.Compare(p.id, q.id) })
		}
		cellsAt[f.Tick] = cells
	}
	keep := uint64(goneSeconds * cfg.TickRate)
	moved, left, checked := 0, 0, 0
	ticks := int(keep) + 90
	for range ticks {
		step(t, a, 1)
		f := a.Acquire()
		record(f)
		if f.Tick > keep && (f.GoneSince != f.Tick-keep || f.Knows(f.GoneSince-1)) {
			t.Fatalf("tick %d: knows from %d, want %d and nothing before", f.Tick, f.GoneSince, f.Tick-keep)
		}
		if !f.Knows(f.Tick) || f.Knows(f.Tick+1) {
			t.Fatalf("tick %d: knows its own tick %v, the next %v", f.Tick, f.Knows(f.Tick), f.Knows(f.Tick+1))
		}
		for _, back := range []uint64{1, 2, 7, 40, keep} {
			if back > f.Tick || !f.Knows(f.Tick-back) || cellsAt[f.Tick-back] == nil {
				continue
			}
			then := f.Tick - back
			for i, want := range cellsAt[then] {
				c, r := i%f.Cols, i/f.Cols
				var got []static
				for _, e := range f.Cell(c, r)[:f.Statics[i].N] {
					if e.BornBy(then) {
						got = append(got, static{e.ID, e.QX, e.QY})
					}
				}
				unchanged := len(got) == int(f.Statics[i].N)
				for _, g := range f.CellGone(i) {
					if g.There(then) {
						got = append(got, static{g.ID, g.QX, g.QY})
						unchanged = false
					}
				}
				slices.SortFunc(got, func(p, q static) int { return cmp.Compare(p.id, q.id) })
				if !slices.Equal(got, want) {
					t.Fatalf("tick %d, cell %d at tick %d: told %v, was %v", f.Tick, i, then, got, want)
				}
				if f.Statics[i].Changed <= then && !unchanged {
					t.Fatalf("tick %d, cell %d: unchanged since %d by Changed %d, but not by Born and Gone", f.Tick, i, then, f.Statics[i].Changed)
				}
				checked++
			}
		}
		for _, g := range f.Gone {
			if g.Left == f.Tick {
				left++
				if g.Kind == ecs.KindObstacle {
					moved++
				}
			}
		}
		f.Release()
	}
	if moved == 0 || left == moved || checked == 0 {
		t.Fatalf("%d statics left cells, %d of them spike balls, %d cells checked; the test wants fragments and spike balls leaving", left, moved, checked)
	}
	t.Logf("%d statics left cells (%d spike balls moving), %d cells checked", left, moved, checked)
}

// TestFrameTellsEarlierMarbles checks the marble slots (Frame.Slots,
// SlotsOf, HolderAt) in a crowded arena where marbles die and spawn all
// the time: a marble keeps its slot for its life, no two marbles hold one
// at once, every earlier tick the frame knows had in each slot the holder
// HolderAt says, and a marble's record changed since such a tick exactly
// when its slot's Change is after it.
func TestFrameTellsEarlierMarbles(t *testing.T) {
	cfg := ecs.DefaultConfig()
	cfg.ArenaWidth, cfg.ArenaHeight = 1500, 1500
	cfg.MinPopulation = 40
	cfg.SpawnShield, cfg.ZombieSpare = 0, 0 // no newcomer's grace: deaths come soon
	a := newTestArena(t, Options{Config: cfg, Seed: 5})
	type held struct {
		id  uint32
		rec slotRecord
	}
	slotsAt := map[uint64]map[int32]held{} // by tick, by slot
	slotOf := map[uint32]int32{}
	keep := uint64(goneSeconds * cfg.TickRate)
	taken, vacated, checked := 0, 0, 0
	for range int(keep) + 60 {
		step(t, a, 1)
		f := a.Acquire()
		now := map[int32]held{}
		for i := range f.Statics {
			cell := f.Cell(i%f.Cols, i/f.Cols)[f.Statics[i].N:]
			slots := f.SlotsOf(i)
			if len(slots) != len(cell) {
				t.Fatalf("tick %d, cell %d: %d marbles, %d slots", f.Tick, i, len(cell), len(slots))
			}
			for k, s := range slots {
				e := &cell[k]
				if _, dup := now[s]; dup {
					t.Fatalf("tick %d: slot %d held twice", f.Tick, s)
				}
				if was, ok := slotOf[e.ID]; ok && was != s {
					t.Fatalf("tick %d: marble %d moved from slot %d to %d", f.Tick, e.ID, was, s)
				}
				if f.Slots[s].ID != e.ID {
					t.Fatalf("tick %d: slot %d says %d, holds %d", f.Tick, s, f.Slots[s].ID, e.ID)
				}
				if f.Slots[s].Taken == f.Tick {
					taken++
				}
				slotOf[e.ID] = s
				now[s] = held{e.ID, recordOf(e)}
			}
		}
		slotsAt[f.Tick] = now
		for _, v := range f.Vacated {
			if v.Left == f.Tick {
				vacated++
			}
		}
		for _, back := range []uint64{1, 2, 5, 30, keep} {
			then := f.Tick - back
			if back > f.Tick || !f.Knows(then) || slotsAt[then] == nil {
				continue
			}
			for s := range int32(len(f.Slots)) {
				want := slotsAt[then][s]
				if got := f.HolderAt(s, then); got != want.id {
					t.Fatalf("tick %d: slot %d at tick %d held by %d, told %d", f.Tick, s, then, want.id, got)
				}
				if h, ok := now[s]; ok && f.Slots[s].Taken <= then {
					if changed := h.rec != want.rec; changed != (f.Slots[s].Change > then) {
						t.Fatalf("tick %d: marble %d changed since %d: %v, Change %d", f.Tick, h.id, then, changed, f.Slots[s].Change)
					}
				}
				checked++
			}
		}
		f.Release()
	}
	if taken == 0 || vacated == 0 || checked == 0 {
		t.Fatalf("%d slots taken, %d vacated, %d checked; the test wants marbles coming and going", taken, vacated, checked)
	}
	t.Logf("%d slots taken, %d vacated, %d checked", taken, vacated, checked)
}
