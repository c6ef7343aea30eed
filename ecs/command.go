package ecs

// CommandKind names what a session asked of its arena.
type CommandKind uint8

// Command kinds. Join and Leave bracket a session's life in the arena;
// Spawn, Input and Detach act on its marble.
const (
	CmdJoin   CommandKind = 1 // a session enters, spectating
	CmdLeave  CommandKind = 2 // a session is gone; its marble is removed
	CmdSpawn  CommandKind = 3 // create the session's marble (ignored while alive)
	CmdInput  CommandKind = 4 // heading and boost wish
	CmdDetach CommandKind = 5 // connection dropped: hold heading, stop boosting
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
}
