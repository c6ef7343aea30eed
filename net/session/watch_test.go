package session

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/shatter/shatter/net/wire"
)

// nextSnap reads until a snap and returns a copy of it.
func (c *client) nextSnap() wire.Snap {
	c.t.Helper()
	m := c.expect(wire.TypeSnap)
	s := m.Snap
	s.Add = append([]wire.AddEntity(nil), s.Add...)
	return s
}

// TestWatch: a spectator's snaps say whom its view follows (`eye`): the
// leader, then the marble it watches, still that one after a watch of an
// id that is no marble, the leader again after a watch of 0; a living
// player's snaps carry no eye; watches over 2 a second are dropped.
func TestWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{})
		c := dial(t, env, nil)
		c.hello("spectator", "")
		c.expect(wire.TypeWelcome)
		first := c.nextSnap()
		if !first.HasEye || first.Eye == 0 {
			t.Fatalf("first snap of a spectator: eye %v %d, want the leader", first.HasEye, first.Eye)
		}
		leader := first.Eye
		var zombie, fragment uint32
		for _, a := range first.Add {
			switch {
			case a.Kind == wire.KindZombie && a.ID != leader && zombie == 0:
				zombie = a.ID
			case a.Kind == wire.KindFragment && fragment == 0:
				fragment = a.ID
			}
		}
		if zombie == 0 || fragment == 0 {
			t.Fatal("the leader's view holds no other zombie or no fragment")
		}
		// eyeAfter sends a watch, lets the rate limit refill, and returns
		// the eye of the next snap.
		eyeAfter := func(id uint32) uint32 {
			t.Helper()
			c.send(c.enc.AppendWatch(nil, &wire.Watch{ID: id}))
			time.Sleep(600 * time.Millisecond)
			s := c.nextSnap()
			if !s.HasEye {
				t.Fatal("a spectator's snap without eye")
			}
			return s.Eye
		}
		if eye := eyeAfter(zombie); eye != zombie {
			t.Fatalf("after watch %d, eye %d", zombie, eye)
		}
		if eye := eyeAfter(fragment); eye != zombie {
			t.Fatalf("after watch of fragment %d, eye %d, want still %d", fragment, eye, zombie)
		}
		if eye := eyeAfter(4000000000); eye != zombie {
			t.Fatalf("after watch of an unknown id, eye %d, want still %d", eye, zombie)
		}
		if eye := eyeAfter(0); eye == zombie || eye == 0 {
			t.Fatalf("after watch 0, eye %d, want the leader", eye)
		}

		// Five at once: the limit (2 a second, no burst) drops four.
		for range 5 {
			c.send(c.enc.AppendWatch(nil, &wire.Watch{ID: zombie}))
		}
		c.expect(wire.TypeError)
		if c.msg.Error.Code != wire.CodeRateLimited {
			t.Fatalf("error %+v after a burst of watches, want rate_limited", c.msg.Error)
		}
		// The error comes at the first drop; the reader may still be on
		// the others until everything in the bubble waits.
		synctest.Wait()
		if got := value(t, env.Metrics.Drops.WithLabelValues("rate_limited_watch")); got != 4 {
			t.Fatalf("rate_limited_watch drops = %v, want 4", got)
		}

		c.send(c.enc.AppendSpawn(nil))
		for {
			s := c.nextSnap()
			if s.HasYou {
				if s.HasEye {
					t.Fatalf("a living player's snap has eye %d", s.Eye)
				}
				break
			}
		}
	})
}

// TestWatchKeepsASpectatorFromIdling: a session that only watches is not
// idle.
func TestWatchKeepsASpectatorFromIdling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, Config{IdleTimeout: 3 * time.Second})
		c := dial(t, env, nil)
		c.hello("watcher", "")
		c.expect(wire.TypeWelcome)
		for end := time.Now().Add(8 * time.Second); time.Now().Before(end); {
			c.send(c.enc.AppendWatch(nil, &wire.Watch{}))
			for next := time.Now().Add(time.Second); time.Now().Before(next); {
				if m, code := c.next(time.Second); m == nil {
					t.Fatalf("a watching spectator was closed with %d", code)
				}
			}
		}
		if got := value(t, env.Metrics.Closes.WithLabelValues("idle")); got != 0 {
			t.Fatalf("idle closes = %v, want 0", got)
		}
	})
}
