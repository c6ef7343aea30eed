package sim

import (
	"sync/atomic"

	"github.com/shatter/shatter/ecs"
)

// Sink receives a session's events. The arena calls it on its own
// goroutine, so every method must return at once without blocking (queue,
// or drop and close the session as a slow consumer).
type Sink interface {
	// FrameReady says a new frame is published.
	FrameReady(tick uint64)
	// Died says the session's marble was busted.
	Died(Died)
	// Board delivers the leaderboard, once a second. The event is shared by
	// every session and must not be modified.
	Board(*Board)
	// Feed delivers the busts and spike hits of a tick, in the tick they
	// happened, after the tick's Died. The event is shared by every
	// session of the arena and must not be modified (but see
	// Feed.Encoded).
	Feed(*Feed)
	// Departed answers the session's Depart: the session has left the
	// arena, and this is what left with it. It is the sink's last event.
	Departed(Departed)
}

// Departed is what a Depart removed from the arena.
type Departed struct {
	Tick  uint64
	Alive bool    // whether the session had a living marble
	Name  string  // the session's name
	Mass  float64 // the marble's exact mass, 0 if not alive
}

// Died tells a session its marble was busted. It is the `died` message
// of PROTOCOL.md: the encoder writes it as it is.
type Died struct {
	Tick   uint64
	By     uint32 // network id of the buster, 0 for an obstacle or other cause
	ByName string // the buster's name, may be empty
	Mass   uint32 // the marble's final mass, rounded
}

// Feed is what happened in an arena in one tick, for everyone in it: the
// `feed` message of PROTOCOL.md. An arena makes at most one a tick, and only
// in a tick with events.
type Feed struct {
	Tick   uint64
	Events []FeedEvent // busts in the order they were applied, then spike hits
	// Encoded is a slot for the network side: the first session to write
	// the feed stores its encoding here, and the others reuse it, so a
	// burst is encoded once a tick however many sessions hear of it.
	Encoded atomic.Pointer[[]byte]
}

// FeedWhat says what a FeedEvent reports; the values are PROTOCOL.md's.
type FeedWhat string

// The kinds of feed event.
const (
	// FeedBust: ID/Name was busted by By/ByName; Mass is its final mass.
	FeedBust FeedWhat = "bust"
	// FeedSpike: ID/Name hit a spike ball and lost Mass; By is 0.
	FeedSpike FeedWhat = "spike"
)

// FeedEvent is one line of the kill feed: [what, id, name, by, by_name,
// mass] on the wire.
type FeedEvent struct {
	What   FeedWhat
	ID     uint32 // the marble busted or hurt
	Name   string
	By     uint32 // the buster, 0 for a spike hit
	ByName string
	Mass   uint32 // a bust's final mass, a spike hit's loss; rounded
}

// newFeed makes the feed of a tick's deaths and spike hits, or returns nil
// if there were none.
func newFeed(tick uint64, deaths []ecs.Death, hits []ecs.SpikeHit) *Feed {
	if len(deaths)+len(hits) == 0 {
		return nil
	}
	f := &Feed{Tick: tick, Events: make([]FeedEvent, 0, len(deaths)+len(hits))}
	for _, d := range deaths {
		f.Events = append(f.Events, FeedEvent{What: FeedBust, ID: d.Victim, Name: d.Name, By: d.By, ByName: d.ByName, Mass: RoundMass(d.Mass)})
	}
	for _, h := range hits {
		f.Events = append(f.Events, FeedEvent{What: FeedSpike, ID: h.ID, Name: h.Name, Mass: RoundMass(h.Loss)})
	}
	return f
}

// Board is the leaderboard as of a tick, the `board` message of
// PROTOCOL.md.
type Board struct {
	Top   []BoardRow // biggest first
	Count int        // players and zombies in the arena
}

// BoardRow is one line of the leaderboard.
type BoardRow struct {
	ID   uint32 // the marble's network id
	Name string
	Mass uint32 // rounded
}

// newBoard copies the leaderboard system's board into an event that
// sessions may keep and share.
func newBoard(b *ecs.Board) *Board {
	ev := &Board{Top: make([]BoardRow, len(b.Top)), Count: b.Count}
	for i, e := range b.Top {
		ev.Top[i] = BoardRow{ID: e.ID, Name: e.Name, Mass: RoundMass(e.Mass)}
	}
	return ev
}
