package sim

import (
	"math"
	"testing"

	"github.com/shatter/shatter/ecs"
)

func TestHeadingOf(t *testing.T) {
	for _, tt := range []struct {
		angle float64
		want  uint8
	}{
		{0, 0}, {math.Pi / 2, 64}, {math.Pi, 128}, {-math.Pi / 2, 192},
		{2 * math.Pi, 0}, {2*math.Pi - 0.001, 0}, {5 * math.Pi, 128},
		{2 * math.Pi / 256 * 10.4, 10}, {2 * math.Pi / 256 * 10.6, 11},
	} {
		if got := HeadingOf(tt.angle); got != tt.want {
			t.Errorf("HeadingOf(%v) = %d, want %d", tt.angle, got, tt.want)
		}
	}
}

// entityOf finds an entity of a frame by id.
func entityOf(t *testing.T, f *Frame, id uint32) Entity {
	t.Helper()
	for _, e := range f.Entities {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("tick %d: entity %d not in the frame", f.Tick, id)
	return Entity{}
}

// TestFrameHeadingAndBoost checks a player's heading and boost flag in the
// frame: heading 0 before its session steers, its input's angle after,
// the boost flag only while the boost is applied (not below the boost
// floor, whatever the wish), and the heading kept by a detached marble.
func TestFrameHeadingAndBoost(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BoostCost = 0 // the marble stays above the floor however long it boosts
	a := newTestArena(t, Options{Config: cfg, Seed: 2})
	if err := a.StepWith(Join(1, "me", nil), Spawn(1)); err != nil {
		t.Fatal(err)
	}
	look := func() Entity {
		f := a.Acquire()
		defer f.Release()
		return entityOf(t, f, f.Player(1).Entity.ID)
	}
	if e := look(); e.Heading != 0 || e.Flags != 0 {
		t.Fatalf("unsteered marble has heading %d flags %d, want 0 0", e.Heading, e.Flags)
	}
	if err := a.StepWith(Input(1, 1, math.Pi/2, true)); err != nil {
		t.Fatal(err)
	}
	if e := look(); e.Heading != 64 || e.Flags != FlagBoost {
		t.Fatalf("steered boosting marble has heading %d flags %d, want 64 %d", e.Heading, e.Flags, FlagBoost)
	}
	if err := a.StepWith(Input(1, 2, -math.Pi/2, false)); err != nil {
		t.Fatal(err)
	}
	if e := look(); e.Heading != 192 || e.Flags != 0 {
		t.Fatalf("marble has heading %d flags %d, want 192 0", e.Heading, e.Flags)
	}
	if err := a.StepWith(Detach(1)); err != nil {
		t.Fatal(err)
	}
	if e := look(); e.Heading != 192 {
		t.Fatalf("detached marble has heading %d, want its last, 192", e.Heading)
	}

	// Below the boost floor the wish is refused, and the flag says so.
	low := DefaultConfig()
	low.StartMass = low.BoostFloor
	b := newTestArena(t, Options{Config: low, Seed: 2})
	if err := b.StepWith(Join(1, "me", nil), Spawn(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.StepWith(Input(1, 1, 0, true)); err != nil {
		t.Fatal(err)
	}
	f := b.Acquire()
	defer f.Release()
	if e := entityOf(t, f, f.Player(1).Entity.ID); e.Flags&FlagBoost != 0 {
		t.Fatalf("marble at the boost floor flags %d: boost shown though refused", e.Flags)
	}
}

// TestFrameZombieHeading checks that zombies show where their AI steers.
func TestFrameZombieHeading(t *testing.T) {
	a := newTestArena(t, Options{Seed: 3})
	step(t, a, 30)
	f := a.Acquire()
	defer f.Release()
	headings := map[uint8]bool{}
	for _, e := range f.Entities {
		if e.Kind.IsMover() {
			headings[e.Heading] = true
		} else if e.Heading != 0 || e.Flags != 0 {
			t.Fatalf("%v %d has heading %d flags %d", e.Kind, e.ID, e.Heading, e.Flags)
		}
	}
	if len(headings) < 5 {
		t.Fatalf("zombies show only headings %v", headings)
	}
}

// TestViewWatching checks whom a session's view follows: a watched marble
// while not alive, the leader for a watch of 0, of an id that is no marble
// (a spike ball) or of a marble that is gone, and its own marble while
// alive whatever it watches.
func TestViewWatching(t *testing.T) {
	a, f := viewFrame(t, false)
	defer f.Release()
	var zombie, ball uint32
	for _, e := range f.Entities {
		switch {
		case e.Kind == ecs.KindZombie && e.ID != f.Leader.ID && zombie == 0:
			zombie = e.ID
		case e.Kind == ecs.KindObstacle && ball == 0:
			ball = e.ID
		}
	}
	if f.Marble(zombie) == nil || f.Marble(ball) != nil {
		t.Fatalf("Marble finds zombie %d: %v, spike ball %d: %v", zombie, f.Marble(zombie) != nil, ball, f.Marble(ball) != nil)
	}
	for _, tt := range []struct {
		watch, want uint32
	}{{zombie, zombie}, {0, f.Leader.ID}, {ball, f.Leader.ID}, {1 << 31, f.Leader.ID}} {
		if v := f.ViewWatching(1, tt.watch); v.Follow != tt.want {
			t.Errorf("watching %d, the view follows %d, want %d", tt.watch, v.Follow, tt.want)
		}
	}
	if err := a.StepWith(Spawn(1)); err != nil {
		t.Fatal(err)
	}
	g := a.Acquire()
	defer g.Release()
	if v := g.ViewWatching(1, zombie); v.Follow != g.Player(1).Entity.ID {
		t.Errorf("alive and watching %d, the view follows %d, want its own marble", zombie, v.Follow)
	}
}
