package session

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/metrics"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// newCrowdedEnv is newEnv with an arena so crowded that nearly every tick
// has a burst of busts and spike hits: 100 marbles and 60 spike balls that
// hurt every marble in a 500 by 500 arena.
func newCrowdedEnv(t *testing.T, cfg Config) *Env {
	t.Helper()
	rules := sim.DefaultConfig()
	rules.ArenaWidth, rules.ArenaHeight = 500, 500
	rules.MinPopulation = 100
	rules.ObstacleCount = 60
	rules.ObstacleMinMass = 1
	// No newcomer's grace: the player must die within the test's seconds.
	rules.SpawnShield, rules.ZombieSpare = 0, 0
	lb, err := lobby.New(lobby.Config{
		MaxArenas: 1, Grace: grace, EmptyArenaTTL: time.Minute, Logger: slog.New(slog.DiscardHandler),
		NewArena: func(id int) (*sim.Arena, error) {
			return sim.New(sim.Options{ID: id, Config: rules, Seed: 9})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lb.Close(context.Background()) })
	return &Env{Config: cfg, Lobby: lb, Metrics: metrics.New(), Logger: slog.New(slog.DiscardHandler)}
}

// TestFeedBurstsKeepAReadingClient plays five seconds of an arena with a
// feed of dozens of events in nearly every tick, to a client that reads a
// tick's messages and then sleeps a tick, spawning again whenever it dies.
// The client must never be closed; it gets at most one feed a tick, each
// a whole tick's burst; and each of its died is followed by the feed of
// that tick, which reports its bust as died did.
func TestFeedBurstsKeepAReadingClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newCrowdedEnv(t, Config{})
		c := dial(t, env, nil)
		c.hello("reader", "")
		c.expect(wire.TypeWelcome)
		c.send(c.enc.AppendSpawn(nil))
		tick := time.Second / time.Duration(sim.DefaultConfig().TickRate)
		var (
			me          uint32 // the id of the player's marble, from `you`
			feeds, most int
			lastFeed    uint64
			died        *sim.Died // a died whose feed is still to come
			deaths      int
		)
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
			m, code := c.next(3 * time.Second)
			if m == nil {
				t.Fatalf("reading client closed with %d after %d feeds", code, feeds)
			}
			switch m.Type {
			case wire.TypeSnap:
				if m.Snap.HasYou {
					me = m.Snap.You.ID
				}
				time.Sleep(tick)
			case wire.TypeDied:
				d := m.Died
				died = &d
				deaths++
				c.send(c.enc.AppendSpawn(nil))
			case wire.TypeFeed:
				f := &m.Feed
				if f.Tick <= lastFeed || len(f.Events) == 0 {
					t.Fatalf("feed of tick %d with %d events after the feed of tick %d", f.Tick, len(f.Events), lastFeed)
				}
				lastFeed = f.Tick
				feeds++
				most = max(most, len(f.Events))
				if died == nil {
					break
				}
				found := false
				for _, ev := range f.Events {
					found = found || ev.What == sim.FeedBust && ev.ID == me && ev.By == died.By && ev.Mass == died.Mass
				}
				if f.Tick != died.Tick || !found {
					t.Fatalf("died %+v of marble %d, then a feed of tick %d without that bust: %+v", *died, me, f.Tick, f.Events)
				}
				died = nil
			}
		}
		if feeds < 100 || most < 20 || deaths == 0 {
			t.Fatalf("%d feeds, at most %d events in one, %d deaths: the test wants bursts and a death", feeds, most, deaths)
		}
		t.Logf("%d feeds, up to %d events each; the player died %d times", feeds, most, deaths)
	})
}
