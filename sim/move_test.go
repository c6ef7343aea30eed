package sim

import (
	"bytes"
	"math"
	"testing"
)

// departSink keeps the events a session's sink is told.
type departSink struct {
	departed []Departed
	frames   int
}

func (s *departSink) FrameReady(uint64)   { s.frames++ }
func (s *departSink) Died(Died)           {}
func (s *departSink) Board(*Board)        {}
func (s *departSink) Feed(*Feed)          {}
func (s *departSink) Departed(d Departed) { s.departed = append(s.departed, d) }
func (s *departSink) last() (Departed, bool) {
	n := len(s.departed)
	return s.departed[max(n-1, 0)], n > 0
}

// TestArriveAndDepartCarryTheMarble moves a marble out of one arena with
// Depart and into another with Arrive, as a drain does between nodes: the
// mass that leaves is exactly the mass that arrives, and the replay log of
// the receiving arena reproduces the arrival.
func TestArriveAndDepartCarryTheMarble(t *testing.T) {
	from := newTestArena(t, Options{Seed: 21})
	sink := &departSink{}
	if err := from.StepWith(Join(5, "mover", sink), Spawn(5)); err != nil {
		t.Fatal(err)
	}
	step(t, from, 90) // it eats, boosts, grows or shrinks: an odd mass
	f := from.Acquire()
	p := f.Player(5)
	if p == nil || !p.Alive {
		t.Fatalf("player 5 not alive before departing: %+v", p)
	}
	f.Release()
	if err := from.StepWith(Depart(5)); err != nil {
		t.Fatal(err)
	}
	d, ok := sink.last()
	if !ok || len(sink.departed) != 1 || !d.Alive || d.Name != "mover" || d.Mass <= 0 || d.Tick != from.Tick() {
		t.Fatalf("departed events %+v, want one: alive, named mover, with its mass, this tick", sink.departed)
	}
	f = from.Acquire()
	if p := f.Player(5); p != nil {
		t.Fatalf("session 5 still in the arena after Depart: %+v", p)
	}
	f.Release()
	frames := sink.frames
	step(t, from, 3)
	if sink.frames != frames {
		t.Fatalf("a departed session's sink got %d more frames", sink.frames-frames)
	}

	var log bytes.Buffer
	to := newTestArena(t, Options{Seed: 22, Record: NewRecorder(&log)})
	step(t, to, 10)
	if err := to.StepWith(Join(9, d.Name, nil), Arrive(9, d.Mass)); err != nil {
		t.Fatal(err)
	}
	f = to.Acquire()
	p = f.Player(9)
	if p == nil || !p.Alive || p.Entity.Name != "mover" || p.Entity.Mass != RoundMass(d.Mass) {
		t.Fatalf("arrived player %+v, want alive, named mover, mass %v", p, d.Mass)
	}
	f.Release()
	step(t, to, 10)
	if err := to.Close(); err != nil {
		t.Fatal(err)
	}
	rp, err := LoadReplay(&log)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rp.Play(nil)
	if err != nil || res.Diverged != nil || len(res.Checkpoints) < 20 {
		t.Fatalf("replay of the receiving arena: %d checkpoints, diverged %+v, err %v", len(res.Checkpoints), res.Diverged, err)
	}
}

func TestArriveRefusesNonsenseMass(t *testing.T) {
	for _, mass := range []float64{0, -5, math.NaN(), math.Inf(1)} {
		a := newTestArena(t, Options{Seed: 23})
		if err := a.StepWith(Join(1, "x", nil), Arrive(1, mass)); err != nil {
			t.Fatal(err)
		}
		f := a.Acquire()
		p := f.Player(1)
		if p == nil || !p.Alive || p.Entity.Mass != RoundMass(a.Config().StartMass) {
			t.Errorf("arrive with mass %v: player %+v, want alive at the start mass", mass, p)
		}
		f.Release()
	}
}

func TestDepartOfASpectatorOrAStranger(t *testing.T) {
	a := newTestArena(t, Options{Seed: 24})
	spectator, stranger := &departSink{}, &departSink{}
	if err := a.StepWith(Join(1, "watcher", spectator)); err != nil {
		t.Fatal(err)
	}
	if err := a.StepWith(Depart(1), Depart(2)); err != nil {
		t.Fatal(err)
	}
	if d, ok := spectator.last(); !ok || d.Alive || d.Name != "watcher" || d.Mass != 0 {
		t.Fatalf("spectator's departure %+v, want not alive, named watcher, no mass", spectator.departed)
	}
	if len(stranger.departed) != 0 {
		t.Fatalf("a session that never joined was told %+v", stranger.departed)
	}
}

// TestArrivalsKeepTheirMass arrives marbles of several masses in a busy
// arena: they are placed after the tick's eating and collisions, somewhere
// quiet, so the first frame shows exactly the mass they carried (a
// drained player's first snap).
func TestArrivalsKeepTheirMass(t *testing.T) {
	a := newTestArena(t, Options{Seed: 31})
	step(t, a, 150) // zombies spread and grow
	exact, total := 0, 0
	for i, mass := range []float64{20, 35.5, 66, 94, 150, 158, 210, 320} {
		for j := range 6 {
			id := uint32(100 + i*10 + j)
			if err := a.StepWith(Join(id, "arriving", nil), Arrive(id, mass)); err != nil {
				t.Fatal(err)
			}
			f := a.Acquire()
			p := f.Player(id)
			if p == nil || !p.Alive {
				t.Fatalf("arrival %d (mass %v) not alive in its first frame", id, mass)
			}
			total++
			if p.Entity.Mass == RoundMass(mass) {
				exact++
			}
			f.Release()
			step(t, a, 5)
		}
	}
	t.Logf("%d of %d arrivals showed exactly their mass in their first frame", exact, total)
	if exact != total {
		t.Fatalf("%d of %d arrivals kept their mass in their first tick, want all", exact, total)
	}
}
