package sim

import (
	"testing"
)

// feedSink records a session's died and feed events in order.
type feedSink struct {
	events []string // "died" or "feed", in arrival order
	died   []Died
	feeds  []*Feed
}

func (s *feedSink) FrameReady(uint64) {}
func (s *feedSink) Died(d Died)       { s.events = append(s.events, "died"); s.died = append(s.died, d) }
func (s *feedSink) Board(*Board)      {}
func (s *feedSink) Departed(Departed) {}
func (s *feedSink) Feed(f *Feed)      { s.events = append(s.events, "feed"); s.feeds = append(s.feeds, f) }

// TestFeed plays a crowded arena, where busts and spike hits happen every
// few ticks, and checks the feed: at most one a tick, in the tick of its
// events, the same event for every session, each spike hit shown by its
// marble's FlagSpike in that tick's frame (and no other marble's), and
// each died followed by the feed that reports the bust with its buster
// and mass.
func TestFeed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ArenaWidth, cfg.ArenaHeight = 1200, 1200
	cfg.MinPopulation = 60
	cfg.ObstacleCount = 40
	cfg.ObstacleMinMass = 10
	a := newTestArena(t, Options{Config: cfg, Seed: 9})
	me, other := &feedSink{}, &feedSink{}
	if err := a.StepWith(Join(1, "me", me), Join(2, "other", other), Spawn(1)); err != nil {
		t.Fatal(err)
	}
	busts, spikes := 0, 0
	for range 900 {
		var cmds []Command
		if f := a.Acquire(); !f.Player(1).Alive {
			cmds = append(cmds, Spawn(1))
			f.Release()
		} else {
			f.Release()
		}
		before := len(other.feeds)
		if err := a.StepWith(cmds...); err != nil {
			t.Fatal(err)
		}
		f := a.Acquire()
		flagged := map[uint32]bool{}
		for _, e := range f.Entities {
			if e.Flags&FlagSpike != 0 {
				flagged[e.ID] = true
			}
		}
		switch len(other.feeds) - before {
		case 0:
			if len(flagged) != 0 {
				t.Fatalf("tick %d: marbles %v flagged as hit by a spike ball, and no feed", f.Tick, flagged)
			}
		case 1:
			feed := other.feeds[len(other.feeds)-1]
			if feed.Tick != f.Tick || len(feed.Events) == 0 {
				t.Fatalf("tick %d: feed of tick %d with %d events", f.Tick, feed.Tick, len(feed.Events))
			}
			hit := map[uint32]bool{}
			for _, ev := range feed.Events {
				switch ev.What {
				case FeedBust:
					busts++
					if ev.ID == 0 || ev.By == 0 || ev.ByName == "" || ev.Name == "" {
						t.Fatalf("tick %d: bust event %+v lacks a name or id", f.Tick, ev)
					}
				case FeedSpike:
					spikes++
					hit[ev.ID] = true
					if ev.By != 0 || ev.Mass == 0 {
						t.Fatalf("tick %d: spike event %+v", f.Tick, ev)
					}
				default:
					t.Fatalf("tick %d: event %+v", f.Tick, ev)
				}
			}
			for id := range hit {
				if !flagged[id] {
					t.Fatalf("tick %d: %d hit a spike ball but its frame record has no FlagSpike", f.Tick, id)
				}
			}
			for id := range flagged {
				if !hit[id] {
					t.Fatalf("tick %d: %d flagged as hit by a spike ball, not in the feed", f.Tick, id)
				}
			}
		default:
			t.Fatalf("tick %d: %d feeds in one tick", f.Tick, len(other.feeds)-before)
		}
		f.Release()
	}
	if busts == 0 || spikes == 0 || len(me.died) == 0 {
		t.Fatalf("%d busts, %d spike hits and %d deaths of the player: the test wants all", busts, spikes, len(me.died))
	}
	t.Logf("%d feeds: %d busts, %d spike hits; the player died %d times", len(other.feeds), busts, spikes, len(me.died))
	if len(me.feeds) != len(other.feeds) {
		t.Fatalf("the sessions heard %d and %d feeds", len(me.feeds), len(other.feeds))
	}
	for i := range me.feeds {
		if me.feeds[i] != other.feeds[i] {
			t.Fatalf("feed %d is not shared", i)
		}
	}
	// Each died is followed at once by the feed of its tick, which reports
	// the bust as died did.
	d, fi := 0, 0
	for i, ev := range me.events {
		if ev != "died" {
			fi++
			continue
		}
		if i+1 >= len(me.events) || me.events[i+1] != "feed" {
			t.Fatalf("died %d is not followed by a feed", d)
		}
		died, feed := me.died[d], me.feeds[fi]
		found := false
		for _, e := range feed.Events {
			found = found || e.What == FeedBust && e.By == died.By && e.ByName == died.ByName && e.Mass == died.Mass && e.Name == "me"
		}
		if feed.Tick != died.Tick || !found {
			t.Fatalf("died %+v, then feed of tick %d %+v without that bust", died, feed.Tick, feed.Events)
		}
		d++
	}
}
