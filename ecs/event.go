package ecs

// Death records a marble busted or otherwise removed during a tick, for the
// session that owned it (Session is 0 for zombies).
type Death struct {
	Session uint32
	Victim  uint32  // network id of the dead marble
	Name    string  // the dead marble's name, for the kill feed
	By      uint32  // network id of the buster, 0 for an obstacle or other cause
	ByName  string  // the buster's name, may be empty
	Mass    float64 // the victim's final mass
}

// SpikeHit records a marble that hit a spike ball during a tick, for the
// kill feed and the marble's flags in that tick's frame.
type SpikeHit struct {
	ID   uint32  // network id of the marble
	Name string  // its name
	Loss float64 // the mass it lost
}

// Departure records a session that left with CmdDepart: whether its
// marble was alive, and its name and exact mass when it was removed.
type Departure struct {
	Session uint32
	Alive   bool
	Name    string
	Mass    float64
}

// Arrival is a marble that arrives from another node (CmdArrive): it is
// placed at the end of the tick, after eating and collisions, so that the
// frame of its first tick shows exactly the mass it carried.
type Arrival struct {
	Session uint32
	Mass    float64
}

// BoardEntry is one row of the leaderboard.
type BoardEntry struct {
	ID   uint32
	Name string
	Mass float64
}

// Board is the leaderboard, recomputed once a second.
type Board struct {
	Top   []BoardEntry // biggest first
	Count int          // players+zombies in the arena
}
