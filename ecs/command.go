package ecs

// CommandKind names what a session asked of its arena.
type CommandKind uint8

// Command kinds. Join and Leave (or Depart) bracket a session's life in
// the arena; Spawn, Arrive, Input and Detach act on its marble.
const (
	CmdJoin   CommandKind = 1 // a session enters, spectating
	CmdLeave  CommandKind = 2 // a session is gone; its marble is removed
	CmdSpawn  CommandKind = 3 // create the session's marble (ignored while alive)
	CmdInput  CommandKind = 4 // heading and boost wish
	CmdDetach CommandKind = 5 // connection dropped: hold heading, stop boosting
	// CmdArrive creates the session's marble with the mass it had on the
	// node it came from (a drain, or a crashed node's checkpoint); ignored
	// while alive.
	CmdArrive CommandKind = 6
	// CmdDepart is a Leave that reports the marble it removes (alive or
	// not, name, exact mass) in State.Departures, so that the marble can
	// continue on another node with exactly that mass.
	CmdDepart CommandKind = 7
)

// String returns the command's name.
func (k CommandKind) String() string {
	switch k {
	case CmdJoin:
		return "join"
	case CmdLeave:
		return "leave"
	case CmdSpawn:
		return "spawn"
	case CmdInput:
		return "input"
	case CmdDetach:
		return "detach"
	case CmdArrive:
		return "arrive"
	case CmdDepart:
		return "depart"
	}
	return "unknown"
}

// Command is one request from a session, applied at the start of a tick in
// arrival order. It is plain data, which is what the replay log records.
type Command struct {
	Kind    CommandKind `json:"k"`
	Session uint32      `json:"s"`
	Name    string      `json:"n,omitempty"` // join
	Seq     uint32      `json:"q,omitempty"` // input
	Angle   float64     `json:"a,omitempty"` // input
	Boost   bool        `json:"b,omitempty"` // input
	Mass    float64     `json:"m,omitempty"` // arrive
}
