package systems_test

import (
	"fmt"
	"testing"

	arche "github.com/mlange-42/arche/ecs"
	"github.com/shatter/shatter/ecs"
	"github.com/shatter/shatter/systems"
)

func TestLeaderboardTop(t *testing.T) {
	tests := []struct {
		name   string
		masses []float64
		want   []float64 // masses of the board, in order
	}{
		{"empty arena", nil, nil},
		{"fewer than ten", []float64{5, 30, 20}, []float64{30, 20, 5}},
		{"twelve keep the top ten",
			[]float64{3, 12, 1, 7, 9, 2, 11, 4, 10, 6, 8, 5},
			[]float64{12, 11, 10, 9, 8, 7, 6, 5, 4, 3}},
		{"biggest last", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 100}, []float64{100, 11, 10, 9, 8, 7, 6, 5, 4, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, &systems.Leaderboard{})
			ids := map[float64]uint32{}
			for i, m := range tt.masses {
				// Players and zombies both rank.
				var e arche.Entity
				if i%2 == 0 {
					e = f.player(uint32(i+1), fmt.Sprint("p", m), float64(100+i*100), 300, m)
				} else {
					e = f.zombie(fmt.Sprint("z", m), float64(100+i*100), 100, m)
				}
				ids[m] = f.body.Get(e).ID
			}
			f.a.Tick = 29 // step makes it 30: a board tick
			f.step()
			b := f.a.Board
			if f.a.BoardTick != 30 {
				t.Errorf("BoardTick = %d, want 30", f.a.BoardTick)
			}
			if wantCount := len(tt.masses); b.Count != wantCount {
				t.Errorf("Count = %d, want %d", b.Count, wantCount)
			}
			if len(b.Top) != len(tt.want) {
				t.Fatalf("board has %d rows (%+v), want %d", len(b.Top), b.Top, len(tt.want))
			}
			for i, m := range tt.want {
				row := b.Top[i]
				if row.Mass != m || row.ID != ids[m] || row.Name[1:] != fmt.Sprint(m) {
					t.Errorf("row %d = %+v, want mass %v id %d", i, row, m, ids[m])
				}
			}
		})
	}
}

func TestLeaderboardOncePerSecond(t *testing.T) {
	f := newFixture(t, nil, &systems.Leaderboard{})
	e := f.zombie("z", 100, 100, 50)
	var boards []uint64
	for i := 0; i < 95; i++ {
		f.step()
		if f.a.BoardTick == f.a.Tick {
			boards = append(boards, f.a.Tick)
		}
		f.mass.Get(e).Value++
	}
	if want := []uint64{30, 60, 90}; fmt.Sprint(boards) != fmt.Sprint(want) {
		t.Errorf("boards made on ticks %v, want %v", boards, want)
	}
	// The board still shows the mass as of tick 90, not the current one.
	if got, want := f.a.Board.Top[0].Mass, 50.0+89; got != want {
		t.Errorf("board mass at tick %d = %v, want %v (from tick 90)", f.a.Tick, got, want)
	}
}

func TestLeaderboardTiesKeepQueryOrder(t *testing.T) {
	f := newFixture(t, func(c *ecs.Config) { c.LeaderboardSize = 2 }, &systems.Leaderboard{})
	first := f.zombie("first", 100, 100, 10)
	second := f.zombie("second", 200, 100, 10)
	f.zombie("third", 300, 100, 10)
	f.a.Tick = 29
	f.step()
	top := f.a.Board.Top
	if len(top) != 2 || top[0].ID != f.body.Get(first).ID || top[1].ID != f.body.Get(second).ID {
		t.Errorf("board = %+v, want the first two zombies made, in order", top)
	}
	if top[0].Name != "first" {
		t.Errorf("row 0 name = %q, want %q", top[0].Name, "first")
	}
}
