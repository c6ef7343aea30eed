package wire

// Version is the protocol version this package speaks: the `v` of hello and
// welcome.
const Version = 1

// MaxClientFrameSize is the largest client frame payload, in bytes, that the
// server accepts; larger frames are refused with too_big and close 1009.
const MaxClientFrameSize = 1024

// MaxStringLen is the longest string field, in bytes, that either decoder
// accepts. It bounds what a Go client allocates for one name or error text;
// a client frame could not carry a longer string anyway.
const MaxStringLen = 1024

// CloseSlowConsumer is the WebSocket close code the server sends to a client
// that reads too slowly for its bounded queue, with the reason
// SlowConsumerReason. The other close codes of PROTOCOL.md are standard ones.
const CloseSlowConsumer = 4001

// SlowConsumerReason is the close reason that goes with CloseSlowConsumer.
const SlowConsumerReason = "slow consumer"

// Type names a message: the value of its `t` key.
// The zero Type is no message at all; decoders never return it.
type Type uint8

// The message types of PROTOCOL.md. Hello, spawn, input and ping go from
// client to server; the rest from server to client.
const (
	TypeHello Type = iota + 1
	TypeSpawn
	TypeInput
	TypePing
	TypeWelcome
	TypeSnap
	TypeDied
	TypeBoard
	TypePong
	TypeError
)

// String returns the type's name on the wire, or "" for a Type that names no
// message.
func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeSpawn:
		return "spawn"
	case TypeInput:
		return "input"
	case TypePing:
		return "ping"
	case TypeWelcome:
		return "welcome"
	case TypeSnap:
		return "snap"
	case TypeDied:
		return "died"
	case TypeBoard:
		return "board"
	case TypePong:
		return "pong"
	case TypeError:
		return "error"
	}
	return ""
}

// typeNamed returns the Type whose wire name is name, or 0. Converting the
// byte slice inside the switch does not allocate.
func typeNamed(name []byte) Type {
	switch string(name) {
	case "hello":
		return TypeHello
	case "spawn":
		return TypeSpawn
	case "input":
		return TypeInput
	case "ping":
		return TypePing
	case "welcome":
		return TypeWelcome
	case "snap":
		return TypeSnap
	case "died":
		return TypeDied
	case "board":
		return TypeBoard
	case "pong":
		return TypePong
	case "error":
		return TypeError
	}
	return 0
}

// fromClient reports whether t is sent by clients.
func (t Type) fromClient() bool { return t >= TypeHello && t <= TypePing }

// fromServer reports whether t is sent by the server.
func (t Type) fromServer() bool { return t >= TypeWelcome && t <= TypeError }

// ErrorCode is the `code` of an error message: why the server refused
// something (PROTOCOL.md, "Errors and closing").
type ErrorCode string

// The error codes of PROTOCOL.md.
const (
	CodeBadMessage    ErrorCode = "bad_message"
	CodeNoHello       ErrorCode = "no_hello"
	CodeVersion       ErrorCode = "version"
	CodeRateLimited   ErrorCode = "rate_limited"
	CodeTextFrame     ErrorCode = "text_frame"
	CodeTooBig        ErrorCode = "too_big"
	CodeResumeExpired ErrorCode = "resume_expired"
	CodeFull          ErrorCode = "full"
	CodeShutdown      ErrorCode = "shutdown"
)

// errorCodeNamed returns the ErrorCode spelled name, sharing the constant's
// storage for known codes so that decoding them does not allocate.
func errorCodeNamed(name []byte) ErrorCode {
	switch string(name) {
	case string(CodeBadMessage):
		return CodeBadMessage
	case string(CodeNoHello):
		return CodeNoHello
	case string(CodeVersion):
		return CodeVersion
	case string(CodeRateLimited):
		return CodeRateLimited
	case string(CodeTextFrame):
		return CodeTextFrame
	case string(CodeTooBig):
		return CodeTooBig
	case string(CodeResumeExpired):
		return CodeResumeExpired
	case string(CodeFull):
		return CodeFull
	case string(CodeShutdown):
		return CodeShutdown
	}
	return ErrorCode(name)
}

// ClientMessage is one decoded client frame. Only the part that Type names
// is meaningful; the others keep whatever an earlier decode left there, so
// that one ClientMessage can be reused for every frame of a session.
type ClientMessage struct {
	Type  Type
	Hello Hello
	Input Input
	Ping  Ping
	// A spawn carries no fields.
}

// Hello is the first message of a session.
type Hello struct {
	// Version is `v`, the protocol version the client speaks. The decoder
	// does not check it: answering a wrong one with a version error is the
	// server's decision. Missing `v` decodes as 0.
	Version int
	// Name is the player's wished-for name, as sent (untrimmed, unvalidated).
	Name string
	// Token is the resume token of a recent session, or "" for a new one.
	// The encoder leaves the key out when it is "".
	Token string
}

// Input is the player's heading and boost wish.
type Input struct {
	// Seq is strictly increasing per session; the server echoes the last
	// one it applied as a snap's ack.
	Seq uint32
	// Angle is the heading in radians: 0 along +x, growing toward +y.
	// The decoder accepts any msgpack int or float and refuses non-finite
	// values.
	Angle float64
	// Boost is the boost wish; missing `boost` decodes as false.
	Boost bool
}

// Ping asks the server for a pong.
type Ping struct {
	// C is echoed in the pong, so a client can match the two.
	C int64
}

// ServerMessage is one decoded server frame. Only the part that Type names
// is meaningful; the others keep their earlier contents and slice
// capacities, so that one ServerMessage can be reused for every frame.
type ServerMessage struct {
	Type    Type
	Welcome Welcome
	Snap    Snap
	Died    Died
	Board   Board
	Pong    Pong
	Error   ErrorMessage
}

// Welcome answers a hello: the session and the arena it plays in.
type Welcome struct {
	// Version is `v`; a server speaking this protocol sends Version.
	Version int
	// Session names the player's session; a resumed session keeps its number.
	Session uint32
	// Token lets a new connection take this session over (PROTOCOL.md, Resume).
	Token string
	// Tick is the arena's current tick.
	Tick uint64
	// Rate is the arena's tick rate in ticks a second.
	Rate int
	// ArenaWidth and ArenaHeight are the arena's size in units, `arena.w`
	// and `arena.h`; quantized positions are relative to them.
	ArenaWidth, ArenaHeight float64
	// TerrainSize is `terrain.n`, the heightmap's samples per side.
	TerrainSize int
	// Terrain is `terrain.h`: TerrainSize*TerrainSize heights, row-major,
	// each height*255. The decoder checks the length.
	Terrain []byte
	// Rules are the arena's rule values by name, in the order they are sent.
	Rules []Rule
}

// Rule is one entry of the welcome's rules map. The rules are a slice rather
// than a Go map so that the encoded welcome is the same every time.
type Rule struct {
	Name  string
	Value float64
}

// Snap is one snapshot: a delta against everything the session was sent
// before. Apply Add, then Upd, then Del, in that order.
type Snap struct {
	// Tick is the tick the snapshot shows.
	Tick uint64
	// Ack is the seq of the last input the arena applied.
	Ack uint32
	// HasYou reports whether the session's player is alive; You is sent
	// only then, and the wire carries nil otherwise.
	HasYou bool
	// You is the session's own player.
	You UpdEntity
	// Add lists entities entering the view.
	Add []AddEntity
	// Upd lists entities in view whose quantized position or mass changed.
	Upd []UpdEntity
	// Del lists the ids of entities that left the view or died.
	Del []uint32
}

// Entity kinds, the `kind` of AddEntity.
const (
	KindPlayer   uint8 = 0
	KindZombie   uint8 = 1
	KindFragment uint8 = 2
	KindObstacle uint8 = 3
)

// AddEntity is an entity entering a session's view: [id, kind, x, y, mass,
// name] on the wire.
type AddEntity struct {
	// ID names the entity for its whole life; an arena never reuses one.
	ID uint32
	// Kind is one of KindPlayer, KindZombie, KindFragment, KindObstacle.
	Kind uint8
	// X and Y are quantized over the arena: X = round(x / arena.w * 65535).
	X, Y uint16
	// Mass is rounded to a whole unit.
	Mass uint32
	// Name is the player's or zombie's name; "" for fragments and obstacles.
	Name string
}

// UpdEntity is a new position and mass of an entity already in view: [id, x,
// y, mass] on the wire. A snap's `you` has the same shape.
type UpdEntity struct {
	ID   uint32
	X, Y uint16
	Mass uint32
}

// Died tells a session that its player was busted.
type Died struct {
	// Tick is the tick it happened.
	Tick uint64
	// By is the id of the entity that busted the player, 0 for an obstacle
	// or another cause.
	By uint32
	// Name is By's name, possibly "".
	Name string
	// Mass is the player's final mass.
	Mass uint32
}

// Board is the leaderboard, sent once a second.
type Board struct {
	// Top lists at most 10 entries, biggest first.
	Top []BoardEntry
	// Count is the number of players and zombies in the arena.
	Count int
}

// BoardEntry is one leaderboard line: [name, mass] on the wire.
type BoardEntry struct {
	Name string
	Mass uint32
}

// Pong answers a ping.
type Pong struct {
	// C is the ping's C.
	C int64
	// Tick is the arena's tick when the ping was answered.
	Tick uint64
}

// ErrorMessage is the error message: a refusal, sent before the server
// closes the connection where the session cannot go on.
type ErrorMessage struct {
	Code ErrorCode
	// Msg is for a person to read.
	Msg string
}
