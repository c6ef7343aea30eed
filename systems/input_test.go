package systems_test

import (
	"math"
	"testing"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

// newInput is a fixture that applies commands, with a mover grid for
// SafeSpot.
func newInput(t *testing.T, edit func(*ecs.Config)) *fixture {
	return newFixture(t, edit, &systems.Input{}, &systems.Spatial{})
}

// send queues commands for the next step.
func (f *fixture) send(cmds ...ecs.Command) { f.a.Commands = append(f.a.Commands, cmds...) }

func join(s uint32, name string) ecs.Command {
	return ecs.Command{Kind: ecs.CmdJoin, Session: s, Name: name}
}
func spawn(s uint32) ecs.Command  { return ecs.Command{Kind: ecs.CmdSpawn, Session: s} }
func leave(s uint32) ecs.Command  { return ecs.Command{Kind: ecs.CmdLeave, Session: s} }
func detach(s uint32) ecs.Command { return ecs.Command{Kind: ecs.CmdDetach, Session: s} }
func input(s, seq uint32, angle float64, boost bool) ecs.Command {
	return ecs.Command{Kind: ecs.CmdInput, Session: s, Seq: seq, Turn: ecs.TurnOf(angle), Boost: boost}
}

// quantized is the heading an input of angle gives: the angle rounded to
// 1/65536 of a turn.
func quantized(angle float64) float64 { return ecs.TurnAngle(ecs.TurnOf(angle)) }

func TestJoinAndSpawn(t *testing.T) {
	f := newInput(t, nil)
	f.send(join(7, "ann"), join(3, "bob"))
	f.step()
	if got := len(f.a.Commands); got != 0 {
		t.Errorf("%d commands left after input, want 0", got)
	}
	if len(f.a.Sessions) != 2 || f.a.Sessions[0].ID != 3 || f.a.Sessions[1].ID != 7 {
		t.Fatalf("Sessions = %+v, want 3 and 7, sorted", f.a.Sessions)
	}
	s := f.a.Session(7)
	if s.Name != "ann" || !s.Marble.IsZero() || s.Ack != 0 {
		t.Errorf("session 7 = %+v, want name ann, spectating, ack 0", *s)
	}
	f.send(spawn(7))
	f.step()
	s = f.a.Session(7)
	if s.Marble.IsZero() || !f.alive(s.Marble) {
		t.Fatalf("session 7 has no living marble after spawn")
	}
	e := s.Marble
	b := f.body.Get(e)
	if b.Kind != ecs.KindPlayer || f.massOf(e) != 20 {
		t.Errorf("marble kind %v mass %v, want player of mass 20", b.Kind, f.massOf(e))
	}
	if got := *f.steer.Get(e); got.Boost || got.Boosting {
		t.Errorf("new marble steering %+v, want no boost", got)
	}
	if f.a.MoverCount != 1 {
		t.Errorf("MoverCount = %d, want 1", f.a.MoverCount)
	}
	p := f.pos.Get(e)
	if r := f.a.Config.Radius(20); p.X < r || p.X > 3000-r || p.Y < r || p.Y > 3000-r {
		t.Errorf("spawned at %+v, want at least radius %v inside", *p, r)
	}
}

func TestSpawnIgnored(t *testing.T) {
	tests := []struct {
		name  string
		setup []ecs.Command
		cmd   ecs.Command
	}{
		{"while alive", []ecs.Command{join(1, "a"), spawn(1)}, spawn(1)},
		{"before join", nil, spawn(1)},
		{"after leave", []ecs.Command{join(1, "a"), leave(1)}, spawn(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newInput(t, nil)
			f.send(tt.setup...)
			f.step()
			before := f.a.MoverCount
			var marble arche.Entity
			if s := f.a.Session(1); s != nil {
				marble = s.Marble
			}
			f.send(tt.cmd)
			f.step()
			if got := f.a.MoverCount; got != before {
				t.Errorf("MoverCount = %d, want %d", got, before)
			}
			var now arche.Entity
			if s := f.a.Session(1); s != nil {
				now = s.Marble
			}
			if now != marble {
				t.Errorf("session marble changed from %v to %v, want kept", marble, now)
			}
		})
	}
}

func TestInputCommand(t *testing.T) {
	tests := []struct {
		name      string
		cmds      []ecs.Command
		wantAngle float64
		wantBoost bool
		wantAck   uint32
	}{
		{"applied", []ecs.Command{input(1, 1, 1.25, true)}, quantized(1.25), true, 1},
		{"later seq wins", []ecs.Command{input(1, 1, 1, true), input(1, 5, 2, false)}, quantized(2), false, 5},
		{"repeated seq ignored", []ecs.Command{input(1, 4, 1, true), input(1, 4, 2, false)}, quantized(1), true, 4},
		{"older seq ignored", []ecs.Command{input(1, 4, 1, true), input(1, 3, 2, false)}, quantized(1), true, 4},
		{"seq 0 ignored", []ecs.Command{input(1, 0, 2, true)}, 0.5, false, 0},
		{"negative angle wraps", []ecs.Command{input(1, 1, -math.Pi/2, false)}, 3 * math.Pi / 2, false, 1},
		{"other session's input ignored", []ecs.Command{input(2, 9, 3, true)}, 0.5, false, 0},
		{"detach stops boost, keeps heading", []ecs.Command{input(1, 1, 2.5, true), detach(1)}, quantized(2.5), false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newInput(t, nil)
			f.send(join(1, "a"), spawn(1), join(2, "b"))
			f.step()
			e := f.a.Session(1).Marble
			f.steer.Get(e).Angle = 0.5
			f.send(tt.cmds...)
			f.step()
			st := f.steer.Get(e)
			if st.Angle != tt.wantAngle || st.Boost != tt.wantBoost {
				t.Errorf("steering angle %v boost %v, want %v %v", st.Angle, st.Boost, tt.wantAngle, tt.wantBoost)
			}
			if got := f.a.Session(1).Ack; got != tt.wantAck {
				t.Errorf("ack = %d, want %d", got, tt.wantAck)
			}
		})
	}
}

func TestInputWithoutMarbleAcks(t *testing.T) {
	f := newInput(t, nil)
	f.send(join(1, "a"), input(1, 3, 1, true))
	f.step()
	if got := f.a.Session(1).Ack; got != 3 {
		t.Errorf("ack = %d, want 3 while spectating", got)
	}
}

func TestLeave(t *testing.T) {
	f := newInput(t, nil)
	f.send(join(1, "a"), spawn(1), join(2, "b"), spawn(2))
	f.step()
	e1, e2 := f.a.Session(1).Marble, f.a.Session(2).Marble
	f.send(leave(1), leave(99))
	f.step()
	if f.a.Session(1) != nil {
		t.Errorf("session 1 still known after leave")
	}
	if f.alive(e1) {
		t.Errorf("session 1's marble alive after leave, want removed")
	}
	if !f.alive(e2) || f.a.Session(2) == nil {
		t.Errorf("session 2 or its marble gone, want untouched")
	}
	if got := f.a.MoverCount; got != 1 {
		t.Errorf("MoverCount = %d, want 1", got)
	}
}

func TestSpawnAtCap(t *testing.T) {
	tests := []struct {
		name        string
		zombies     []float64 // masses
		players     int
		wantSpawned bool
		wantRemoved int // index into zombies, -1 for none
	}{
		{"lightest zombie makes room", []float64{30, 10, 20}, 0, true, 1},
		{"first of equal lightest", []float64{12, 30, 12}, 0, true, 0},
		{"zombie makes room among players", []float64{40}, 2, true, 0},
		{"no zombie: refused", nil, 3, false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newInput(t, func(c *ecs.Config) { c.MaxPlayers = 3 })
			for i := 0; i < tt.players; i++ {
				f.player(uint32(i+10), "p", 300+float64(i)*300, 300, 20)
			}
			var zs []arche.Entity
			for i, m := range tt.zombies {
				zs = append(zs, f.zombie("z", 2500, 500+float64(i)*500, m))
			}
			f.send(join(1, "new"), spawn(1))
			f.step()
			s := f.a.Session(1)
			if got := !s.Marble.IsZero(); got != tt.wantSpawned {
				t.Fatalf("spawned = %v, want %v", got, tt.wantSpawned)
			}
			for i, z := range zs {
				if got, want := f.alive(z), i != tt.wantRemoved; got != want {
					t.Errorf("zombie %d (mass %v) alive = %v, want %v", i, tt.zombies[i], got, want)
				}
			}
			if got := f.a.MoverCount; got != 3 {
				t.Errorf("MoverCount = %d, want 3 (the cap)", got)
			}
		})
	}
}

func TestSafeSpotAvoidsBigMarbles(t *testing.T) {
	// A huge marble in every corner but one: spawns land away from them.
	f := newInput(t, func(c *ecs.Config) { c.ArenaWidth, c.ArenaHeight = 600, 600 })
	for _, p := range [][2]float64{{150, 150}, {450, 150}, {150, 450}} {
		f.zombie("big", p[0], p[1], 2000)
	}
	f.step() // builds the mover grid
	for s := uint32(1); s <= 20; s++ {
		f.send(join(s, "p"), spawn(s))
	}
	f.step()
	far := 0
	for s := uint32(1); s <= 20; s++ {
		p := f.pos.Get(f.a.Session(s).Marble)
		if p.X > 300 && p.Y > 300 {
			far++
		}
	}
	// A blind pick lands in the free quarter a quarter of the time.
	if far < 15 {
		t.Errorf("%d of 20 spawns in the free quarter, want >= 15", far)
	}
}

func TestRejoinResumes(t *testing.T) {
	// A second join of a known session is a resumed connection: it keeps
	// its name and marble, and its input numbering starts again.
	f := newInput(t, nil)
	f.send(join(1, "ann"), spawn(1), input(1, 40, 1, true))
	f.step()
	marble := f.a.Session(1).Marble
	f.send(join(1, "someone else"), input(1, 1, 2, false))
	f.step()
	s := f.a.Session(1)
	if s.Name != "ann" || s.Marble != marble {
		t.Errorf("after rejoin: name %q marble %v, want %q %v", s.Name, s.Marble, "ann", marble)
	}
	if s.Ack != 1 {
		t.Errorf("ack = %d, want 1 (numbering restarted by the rejoin)", s.Ack)
	}
	if st := f.steer.Get(marble); st.Angle != quantized(2) || st.Boost {
		t.Errorf("steering %+v, want angle 2 without boost from the resumed input", *st)
	}
	if len(f.a.Sessions) != 1 {
		t.Errorf("%d sessions, want 1", len(f.a.Sessions))
	}
}

// TestBoostHold: a boost wish stands for boost_hold (1 s: 30 ticks at 30
// Hz) after the input that made it, then lapses; each new input starts the
// count again. With boost_hold 0 (replay logs made before the rule) the
// wish stands until the next input.
func TestBoostHold(t *testing.T) {
	tests := []struct {
		name       string
		hold       float64
		lapseAfter int // ticks after the input's own tick; 0: never
	}{
		{"default 1 s", 1, 30},
		{"half a second", 0.5, 15},
		{"off", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newInput(t, func(c *ecs.Config) { c.BoostHold = tt.hold })
			f.send(join(1, "a"), spawn(1))
			f.step()
			e := f.a.Session(1).Marble
			f.send(input(1, 1, 0, true))
			f.step() // the input's tick
			// A second input 10 ticks later starts the count again.
			for range 10 {
				f.step()
			}
			f.send(input(1, 2, 1, true))
			f.step()
			for i := 1; i <= 100; i++ {
				f.step()
				boost := f.steer.Get(e).Boost
				want := tt.lapseAfter == 0 || i < tt.lapseAfter
				if boost != want {
					t.Fatalf("%d ticks after the last input: boost %v, want %v", i, boost, want)
				}
			}
			if got := f.steer.Get(e).Angle; got != quantized(1) {
				t.Errorf("heading %v after the boost lapsed, want the last input's 1", got)
			}
			// A new input with boost brings it back.
			f.send(input(1, 3, 1, true))
			f.step()
			if !f.steer.Get(e).Boost {
				t.Error("boost off after a new input with boost")
			}
		})
	}
}
