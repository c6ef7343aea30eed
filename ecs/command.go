package ecs

import "math"

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

// MarshalText names the kind in the replay log's JSON export.
func (k CommandKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Command is one request from a session, applied at the start of a tick in
// arrival order. It is plain data, which is what the replay log records.
type Command struct {
	Kind    CommandKind `json:"k"`
	Session uint32      `json:"s"`
	Name    string      `json:"n,omitempty"` // join
	Seq     uint32      `json:"q,omitempty"` // input
	// Turn is the heading wish in 1/65536 of a turn (TurnOf): the angle as
	// it arrived, quantized once at the door, so that what is applied,
	// recorded and replayed is the same small integer.
	Turn  uint16  `json:"turn,omitempty"` // input
	Boost bool    `json:"b,omitempty"`    // input
	Mass  float64 `json:"m,omitempty"`    // arrive
}

// TurnsPerCircle is the resolution of an input heading: PROTOCOL.md's
// 1/65536 of a turn, about 0.0055 degrees.
const TurnsPerCircle = 1 << 16

// TurnOf quantizes an angle in radians to 1/65536 of a turn: the angle is
// reduced modulo 2π into [0, 2π) and rounded to the nearest step (2π
// itself wraps to 0). A non-finite angle, which the network refuses
// before it gets here, is 0.
func TurnOf(angle float64) uint16 {
	if math.IsNaN(angle) || math.IsInf(angle, 0) {
		return 0
	}
	r := math.Mod(angle, 2*math.Pi)
	if r < 0 {
		r += 2 * math.Pi
	}
	return uint16(uint32(math.Round(r/(2*math.Pi)*TurnsPerCircle)) % TurnsPerCircle)
}

// TurnAngle is the angle in radians, in [0, 2π), of a quantized heading.
func TurnAngle(turn uint16) float64 { return float64(turn) * (2 * math.Pi / TurnsPerCircle) }
