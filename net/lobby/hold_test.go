package lobby

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shatter/shatter/sim"
)

// TestHoldCoversDetachedSeats checks Config.Hold: a seat whose connection
// drops with a living marble is held (for the address that dropped it)
// until it is resumed or its grace period releases it; a seat without a
// marble is released at once and never held.
func TestHoldCoversDetachedSeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = 10 * time.Second
		var mu sync.Mutex // the grace timer's goroutine unholds
		counts := map[Conn]int{}
		held := func(c Conn) int {
			mu.Lock()
			defer mu.Unlock()
			return counts[c]
		}
		cfg := sim.DefaultConfig()
		cfg.MaxPlayers, cfg.MinPopulation = 10, 0
		l, err := New(Config{
			MaxArenas: 1, Grace: grace, EmptyArenaTTL: time.Minute,
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			NewArena: func(id int) (*sim.Arena, error) { return sim.New(sim.Options{ID: id, Config: cfg, Seed: 1}) },
			Hold: func(c Conn) func() {
				mu.Lock()
				defer mu.Unlock()
				counts[c]++
				return func() {
					mu.Lock()
					defer mu.Unlock()
					counts[c]--
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close(context.Background())

		// A spectator that drops is released at once: nothing held.
		spectator := &fakeConn{}
		s, err := join(l, "spec", "", spectator)
		if err != nil {
			t.Fatal(err)
		}
		l.Leave(s, spectator, false)
		if held(spectator) != 0 {
			t.Fatalf("a dropped spectator's seat is held %d times, want 0", held(spectator))
		}

		// A player that drops is held until it resumes.
		first := &fakeConn{}
		seat, err := join(l, "ann", "", first)
		if err != nil {
			t.Fatal(err)
		}
		spawn(t, seat)
		l.Leave(seat, first, false)
		if held(first) != 1 {
			t.Fatalf("a dropped player's seat is held %d times, want 1", held(first))
		}
		second := &fakeConn{}
		if _, err := join(l, "ann", seat.Token, second); err != nil {
			t.Fatal(err)
		}
		if held(first) != 0 {
			t.Fatalf("after the resume the seat is still held %d times for the dropped connection", held(first))
		}

		// Dropped again: held until the grace period releases it.
		l.Leave(seat, second, false)
		if held(second) != 1 {
			t.Fatalf("held %d times after the second drop, want 1", held(second))
		}
		time.Sleep(grace)
		synctest.Wait()
		if held(second) != 0 || seat.Arena.Seats() != 0 {
			t.Fatalf("after the grace period: held %d, seats %d; want 0, 0", held(second), seat.Arena.Seats())
		}
	})
}
