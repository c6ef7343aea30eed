package sim

import (
	"testing"

	"github.com/shatter/shatter/ecs"
)

// viewFrame returns a frame of a fresh arena after a few ticks, with session
// 1 joined and, if alive, spawned.
func viewFrame(t *testing.T, alive bool) (*Arena, *Frame) {
	t.Helper()
	a := newTestArena(t, Options{Seed: 4})
	cmds := []Command{Join(1, "me", nil)}
	if alive {
		cmds = append(cmds, Spawn(1))
	}
	if err := a.StepWith(cmds...); err != nil {
		t.Fatal(err)
	}
	step(t, a, 5)
	return a, a.Acquire()
}

func TestViewFollowsOwnMarbleThenLeaderThenCentre(t *testing.T) {
	cfg := ecs.DefaultConfig()
	t.Run("alive: own marble, grown by its mass", func(t *testing.T) {
		_, f := viewFrame(t, true)
		defer f.Release()
		me := f.Player(1).Entity
		v := f.View(1)
		hw, hh := cfg.ViewHalfSize(float64(me.Mass))
		if v.Follow != me.ID || v.X != float64(me.X) || v.Y != float64(me.Y) || v.HalfW != hw || v.HalfH != hh {
			t.Fatalf("view %+v, want centred on own marble %d at (%v,%v) with half size %vx%v", v, me.ID, me.X, me.Y, hw, hh)
		}
		if hw <= cfg.ViewWidth {
			t.Fatalf("half width %v at mass %d, want more than the base %v", hw, me.Mass, cfg.ViewWidth)
		}
	})
	t.Run("not alive: the leader", func(t *testing.T) {
		_, f := viewFrame(t, false)
		defer f.Release()
		v := f.View(1)
		if f.Leader.ID == 0 || v.Follow != f.Leader.ID || v.X != float64(f.Leader.X) || v.Y != float64(f.Leader.Y) {
			t.Fatalf("view %+v, want centred on the leader %+v", v, f.Leader)
		}
	})
	t.Run("unknown session: the leader too", func(t *testing.T) {
		_, f := viewFrame(t, true)
		defer f.Release()
		if v := f.View(99); v.Follow != f.Leader.ID {
			t.Fatalf("view of a session not in the arena follows %d, want the leader %d", v.Follow, f.Leader.ID)
		}
	})
	t.Run("no marble at all: the arena's centre", func(t *testing.T) {
		empty := ecs.DefaultConfig()
		empty.MinPopulation = 0
		a := newTestArena(t, Options{Config: empty, Seed: 4})
		step(t, a, 1)
		f := a.Acquire()
		defer f.Release()
		v := f.View(1)
		hw, hh := cfg.ViewHalfSize(0)
		if v.Follow != 0 || v.X != f.Width/2 || v.Y != f.Height/2 || v.HalfW != hw || v.HalfH != hh {
			t.Fatalf("view %+v, want the centre (%v,%v) at half size %vx%v", v, f.Width/2, f.Height/2, hw, hh)
		}
	})
}

func TestViewShowsWhatReachesIntoIt(t *testing.T) {
	_, f := viewFrame(t, false)
	defer f.Release()
	cfg := ecs.DefaultConfig()
	v := f.View(1)
	edge := float32(v.X + v.HalfW) // the right edge of the rectangle
	y := float32(v.Y)
	tests := []struct {
		name string
		e    Entity
		want bool
	}{
		{"fragment inside", Entity{Kind: ecs.KindFragment, X: edge - 1, Y: y}, true},
		{"fragment just outside", Entity{Kind: ecs.KindFragment, X: edge + 1, Y: y}, false},
		{"spike ball whose edge reaches in", Entity{Kind: ecs.KindObstacle, X: edge + float32(cfg.ObstacleRadius) - 1, Y: y}, true},
		{"spike ball beyond its radius", Entity{Kind: ecs.KindObstacle, X: edge + float32(cfg.ObstacleRadius) + 1, Y: y}, false},
		{"marble whose edge reaches in", Entity{Kind: ecs.KindZombie, Mass: 100, X: edge + float32(cfg.Radius(100)) - 1, Y: y}, true},
		{"marble beyond its radius", Entity{Kind: ecs.KindPlayer, Mass: 100, X: edge + float32(cfg.Radius(100)) + 1, Y: y}, false},
		{"above the rectangle", Entity{Kind: ecs.KindFragment, X: float32(v.X), Y: float32(v.Y-v.HalfH) - 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v.Shows(&tt.e); got != tt.want {
				t.Fatalf("Shows(%+v) = %v, want %v (view %+v)", tt.e, got, tt.want, v)
			}
		})
	}
}

// TestViewCellsHoldEverythingItShows checks the cell range against every
// entity of the frame, for a player and a spectator.
func TestViewCellsHoldEverythingItShows(t *testing.T) {
	for _, alive := range []bool{true, false} {
		_, f := viewFrame(t, alive)
		v := f.View(1)
		c0, r0, c1, r1 := v.Cells()
		shown := 0
		for r := 0; r < f.Rows; r++ {
			for c := 0; c < f.Cols; c++ {
				for _, e := range f.Cell(c, r) {
					if !v.Shows(&e) {
						continue
					}
					shown++
					if c < c0 || c > c1 || r < r0 || r > r1 {
						t.Errorf("alive %v: entity %d shows but its cell (%d,%d) is outside cells (%d,%d)-(%d,%d)", alive, e.ID, c, r, c0, r0, c1, r1)
					}
				}
			}
		}
		if shown == 0 {
			t.Errorf("alive %v: the view shows nothing", alive)
		}
		f.Release()
	}
}
