package lobby

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shatter/shatter/net/fleet"
	"github.com/shatter/shatter/sim"
)

// lockedBuffer is a log that tests read while the lobby writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// faultRig is a lobby whose arenas panic on demand, on a memory
// directory, with its log and the arenas it was told stopped.
type faultRig struct {
	l       *Lobby
	dir     fleet.Directory
	boom    atomic.Int32 // the arena whose next tick panics; -1 for none
	stopped chan int     // Config.ArenaStopped's ids
	log     lockedBuffer
}

func newFaultRig(t *testing.T, maxArenas, maxPlayers int, clock sim.Clock) *faultRig {
	t.Helper()
	rig := &faultRig{dir: fleet.NewMemory(), stopped: make(chan int, 16)}
	rig.boom.Store(-1)
	cfg := sim.DefaultConfig()
	cfg.MaxPlayers, cfg.MinPopulation = maxPlayers, 0
	logger := slog.New(slog.NewTextHandler(&rig.log, nil))
	l, err := New(Config{
		MaxArenas: maxArenas, Grace: 10 * time.Second, EmptyArenaTTL: time.Minute,
		Logger: logger,
		Clock:  clock,
		NewArena: func(id int) (*sim.Arena, error) {
			return sim.New(sim.Options{ID: id, Config: cfg, Seed: 1, Logger: logger, Drill: func(uint64) {
				if rig.boom.Load() == int32(id) {
					panic("drill: a system fails")
				}
			}})
		},
		ArenaStopped: func(id int, _ error) { rig.stopped <- id },
		Fleet:        FleetConfig{Directory: rig.dir, Node: "a", URL: "ws://a/ws"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	rig.l = l
	return rig
}

// fault panics arena id and waits until the lobby was told it stopped.
func (rig *faultRig) fault(t *testing.T, id int) {
	t.Helper()
	rig.boom.Store(int32(id))
	select {
	case got := <-rig.stopped:
		if got != id {
			t.Fatalf("arena %d stopped, want %d", got, id)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("arena %d did not stop within 3 s of its panic", id)
	}
}

func arenaIDs(l *Lobby) []int {
	var ids []int
	for _, a := range l.Arenas() {
		ids = append(ids, a.ID())
	}
	return ids
}

// TestArenaFaultStaysInItsArena panics a system in one of two arenas: the
// lobby stops routing there, tells the connection playing there (Failed),
// releases its detached seat too and forgets both tokens here and in the
// directory; the other arena plays on, and new players get a fresh arena
// when the one left is full.
func TestArenaFaultStaysInItsArena(t *testing.T) {
	rig := newFaultRig(t, 2, 2, nil)
	l, ctx := rig.l, context.Background()
	playing, dropped, other := &fakeConn{}, &fakeConn{}, &fakeConn{}
	sPlaying, err := join(l, "playing", "", playing)
	if err != nil {
		t.Fatal(err)
	}
	sDropped, err := join(l, "dropped", "", dropped)
	if err != nil {
		t.Fatal(err)
	}
	sOther, err := join(l, "other", "", other)
	if err != nil || sPlaying.Arena.ID() != 0 || sDropped.Arena.ID() != 0 || sOther.Arena.ID() != 1 {
		t.Fatalf("seats in arenas %d, %d, %d (%v), want 0, 0, 1", sPlaying.Arena.ID(), sDropped.Arena.ID(), sOther.Arena.ID(), err)
	}
	waitAlive(t, sDropped)
	l.Leave(sDropped, dropped, false) // detached: waits for its token
	l.FleetRound(ctx)                 // every seat's resume record is written
	for _, tok := range []string{sPlaying.Token, sDropped.Token} {
		if _, err := rig.dir.LookupResume(ctx, tok); err != nil {
			t.Fatalf("resume record before the fault: %v", err)
		}
	}

	rig.fault(t, 0)
	if playing.failed.Load() != 1 || dropped.failed.Load() != 0 || other.failed.Load() != 0 {
		t.Fatalf("Failed calls: playing %d, dropped %d, other %d; want 1, 0, 0", playing.failed.Load(), dropped.failed.Load(), other.failed.Load())
	}
	if ids := arenaIDs(l); len(ids) != 1 || ids[0] != 1 {
		t.Fatalf("arenas after the fault %v, want [1]", ids)
	}
	if !strings.Contains(rig.log.String(), "stack=") {
		t.Fatalf("the panic was not logged with its stack:\n%s", rig.log.String())
	}
	// The other arena plays on.
	before := sOther.Arena.Tick()
	waitFrame(t, sOther, "a later tick", func(*sim.Player) bool { return sOther.Arena.Tick() > before+3 })
	// The tokens are forgotten, in the directory after the next round.
	l.FleetRound(ctx)
	for _, tok := range []string{sPlaying.Token, sDropped.Token} {
		if _, err := rig.dir.LookupResume(ctx, tok); !errors.Is(err, fleet.ErrNotFound) {
			t.Fatalf("resume record after the fault: %v, want ErrNotFound", err)
		}
	}
	// The dropped player's token is refused; it plays on in arena 1, and
	// the next player gets a fresh arena.
	back := &fakeConn{}
	s, err := join(l, "back", sDropped.Token, back)
	if err != nil || !back.refused || s.Arena.ID() != 1 {
		t.Fatalf("the dropped token after the fault: refused %v, arena %v, err %v; want refused, a new seat in arena 1", back.refused, s, err)
	}
	s, err = join(l, "new", "", &fakeConn{})
	if err != nil || s.Arena.ID() != 2 {
		t.Fatalf("a new player with arena 1 full: %v, %v; want a seat in a fresh arena 2", s, err)
	}
	l.reapEmpty(time.Now().Add(time.Hour))
	if ids := arenaIDs(l); len(ids) != 2 || ids[0] != 1 || ids[1] != 2 {
		t.Fatalf("arenas %v, want [1 2]", ids)
	}
}

// TestOnlyArenaFaults: with the first and only arena gone, the janitor
// has nothing to keep and the next player starts a fresh arena.
func TestOnlyArenaFaults(t *testing.T) {
	rig := newFaultRig(t, 1, 2, nil)
	c := &fakeConn{}
	if _, err := join(rig.l, "p", "", c); err != nil {
		t.Fatal(err)
	}
	rig.fault(t, 0)
	if ids := arenaIDs(rig.l); len(ids) != 0 || c.failed.Load() != 1 {
		t.Fatalf("arenas %v, Failed %d; want none and 1", ids, c.failed.Load())
	}
	rig.l.reapEmpty(time.Now().Add(time.Hour))
	s, err := join(rig.l, "q", "", &fakeConn{})
	if err != nil || s.Arena.ID() != 1 {
		t.Fatalf("join after the only arena faulted: %v, %v; want a seat in a fresh arena 1", s, err)
	}
}

// faultyClock is a manual clock whose Now panics while panics is above 0.
type faultyClock struct {
	*sim.ManualClock
	panics atomic.Int32
}

func (c *faultyClock) Now() time.Time {
	if c.panics.Add(-1) >= 0 {
		panic("drill: the clock fails")
	}
	return c.ManualClock.Now()
}

// tickWithin delivers a tick to the janitor, failing if no loop takes it.
func tickWithin(t *testing.T, clk *sim.ManualClock) {
	t.Helper()
	done := make(chan struct{})
	go func() { clk.Tick(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("the janitor took no tick within 3 s: its loop ended")
	}
}

// TestLobbyPanicsDoNotEndTheProcess panics a grace timer's callback and a
// janitor's check (both read the clock): each is recovered and logged,
// the janitor's loop takes its next tick and reaps as usual, and the
// lobby seats players after.
func TestLobbyPanicsDoNotEndTheProcess(t *testing.T) {
	clk := &faultyClock{ManualClock: sim.NewManualClock()}
	rig := newFaultRig(t, 2, 1, clk)
	l := rig.l

	// A grace timer that panics: releasing the seat empties arena 0,
	// which reads the clock.
	c := &fakeConn{}
	s, err := join(l, "p", "", c)
	if err != nil {
		t.Fatal(err)
	}
	waitAlive(t, s)
	l.Leave(s, c, false)
	clk.panics.Store(1)
	clk.Advance(10 * time.Second) // runs the timer on this goroutine
	if !strings.Contains(rig.log.String(), "in=grace_timer") {
		t.Fatalf("the timer's panic was not logged:\n%s", rig.log.String())
	}

	// An extra arena, emptied, for the janitor to reap.
	first, err := join(l, "q", "", &fakeConn{})
	if err != nil {
		t.Fatal(err)
	}
	second := &fakeConn{}
	extra, err := join(l, "r", "", second)
	if err != nil || extra.Arena.ID() != 1 {
		t.Fatalf("second player: %v, %v; want arena 1", extra, err)
	}
	l.Leave(extra, second, true)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx, time.Second)
	clk.panics.Store(1)
	tickWithin(t, clk.ManualClock) // the check panics
	clk.Advance(2 * time.Minute)
	tickWithin(t, clk.ManualClock) // the loop lives: this check reaps arena 1
	select {
	case id := <-rig.stopped:
		if id != 1 {
			t.Fatalf("arena %d stopped, want the empty extra arena 1", id)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the janitor did not reap the empty arena after its panic")
	}
	if !strings.Contains(rig.log.String(), "in=janitor") {
		t.Fatalf("the janitor's panic was not logged:\n%s", rig.log.String())
	}
	if _, err := join(l, "s", "", &fakeConn{}); err != nil || first.Arena.Stopped() {
		t.Fatalf("join after the panics: %v", err)
	}
}
