package sim

import "github.com/shatter/shatter/ecs"

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
