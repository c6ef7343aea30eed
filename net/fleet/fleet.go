package fleet

import (
	"context"
	"errors"
	"time"
)

// Errors a Directory returns. Callers test them with errors.Is.
var (
	// ErrNoRoom: the node (or, for ReserveAny and Admit, every candidate)
	// has no free seat, or is draining.
	ErrNoRoom = errors.New("fleet: no room")
	// ErrNodeGone: the node has no live lease.
	ErrNodeGone = errors.New("fleet: node gone")
	// ErrBadSeat: the seat is unknown, expired, already claimed, or
	// reserved for another node (PROTOCOL.md's bad_seat).
	ErrBadSeat = errors.New("fleet: bad seat")
	// ErrNotFound: no resume record for that token (or no answer, ban).
	ErrNotFound = errors.New("fleet: not found")
	// ErrUnavailable wraps every failure to reach the directory (a Redis
	// that is down, frozen or timing out). A node that gets it keeps
	// playing and seating locally and tries again later.
	ErrUnavailable = errors.New("fleet: directory unavailable")
	// ErrTooBig: an answer's file is over MaxAnswerData.
	ErrTooBig = errors.New("fleet: too big")
)

// State is a node's routing state.
type State string

// Node states.
const (
	// Ready nodes take new players.
	Ready State = "ready"
	// Draining nodes are shutting down: no seat goes to them, and they
	// move their players to other nodes.
	Draining State = "draining"
)

// Why a seat was reserved: the `why` of PROTOCOL.md's moved.
const (
	WhyFull   = "full"   // the player's node had no room: a new session there
	WhyResume = "resume" // the token belongs to a session on that node
	WhyDrain  = "drain"  // the player's node is shutting down: the marble moves
)

// ArenaLoad is one arena of a node, as its lease reports it.
type ArenaLoad struct {
	ID      int `json:"id"`
	Players int `json:"players"` // seats taken
	// The arena's figures as of the heartbeat, for the operator's console
	// of another node: its tick, marbles, tick time percentiles and the
	// bytes sent to its sessions since it started.
	Tick       uint64  `json:"tick,omitempty"`
	Population int     `json:"population,omitempty"`
	TickP50Ms  float64 `json:"tick_p50_ms,omitempty"`
	TickP99Ms  float64 `json:"tick_p99_ms,omitempty"`
	BytesOut   float64 `json:"bytes_out,omitempty"`
}

// Lease is what a node publishes about itself at every heartbeat. A node
// whose lease lapses (no heartbeat within its TTL) is dead: no seat goes to
// it, and it drops out of Nodes.
type Lease struct {
	Node string `json:"node"` // the node's id
	// Incarnation is new at every start of the node's process, so that a
	// node restarted under the same id knows its predecessor's records.
	Incarnation string `json:"incarnation,omitempty"`
	URL         string `json:"url"`   // its public WebSocket URL, sent verbatim in moved and /join
	State       State  `json:"state"` // Ready or Draining
	// Capacity is the seats the node can hold: its maximum arenas times
	// their maximum players.
	Capacity int `json:"capacity"`
	// Players is the seats taken on the node when it built this lease
	// (sessions seated, detached ones included).
	Players int `json:"players"`
	// Admitted counts every Admit, and every Claim of a seat whose Why is
	// not WhyResume, that this node has seen succeed since it started, as
	// of building this lease. The directory counts them too, so a
	// heartbeat that crosses a Claim in flight still counts that seat:
	// Players as stored is Players plus the admissions the directory saw
	// that this lease had not. A directory that counts fewer (it restarted
	// empty) takes the lease's count as its own. Admissions the lease still
	// lacks a whole ttl after the last one are taken as never seen by the
	// node (an Admit whose answer was lost) and dropped, so such a loss
	// overcounts the node for one ttl at most, not for ever.
	Admitted uint64 `json:"admitted"`
	// Online is the node's welcomed open sessions (PROTOCOL.md board.online
	// sums it over the fleet).
	Online int         `json:"online"`
	Arenas []ArenaLoad `json:"arenas"`
	// Age is the time since the heartbeat that wrote this lease; set by
	// Nodes, ignored by Heartbeat.
	Age time.Duration `json:"-"`
	// SeatsExpired counts the seats reserved on this node that expired
	// without being claimed, since its lease was created; set by Nodes,
	// ignored by Heartbeat.
	SeatsExpired uint64 `json:"-"`
}

// Seat is a place reserved on a node for one connection (PROTOCOL.md
// "Fleet"): good once, on that node only, within its TTL.
type Seat struct {
	ID   string `json:"id"`   // at least 128 random bits, hex
	Node string `json:"node"` // the node it is good for
	Why  string `json:"why"`  // WhyFull, WhyResume or WhyDrain
	Name string `json:"name"` // the player's name
	// Resume: the session on Node that the seat takes over, and its token.
	Session uint32 `json:"session,omitempty"`
	Token   string `json:"token,omitempty"`
	// Drain: whether the marble comes along, and its mass.
	Alive bool    `json:"alive,omitempty"`
	Mass  float64 `json:"mass,omitempty"`
}

// Resume is the record that lets any node honour a session's token: the
// node it plays on, and the latest checkpoint of its marble, rewritten
// every second while the session lives.
type Resume struct {
	Token string `json:"token"`
	// Node is the node the session plays on; "" for a session no node
	// holds any more (its node drained it without finding it a seat
	// elsewhere), which any node may honour.
	Node string `json:"node"`
	// Incarnation is the node's start (see Lease.Incarnation): a record
	// of an earlier incarnation of a live node is a crashed node's.
	Incarnation string  `json:"incarnation,omitempty"`
	Session     uint32  `json:"session"`
	Name        string  `json:"name"`
	Alive       bool    `json:"alive"`
	Mass        float64 `json:"mass"`
}

// BoardRow is one line of the fleet's leaderboard.
type BoardRow struct {
	Name string  `json:"name"`
	Mass float64 `json:"mass"`
}

// Directory is the state the nodes of a fleet share: leases, seats,
// resume records, the global leaderboard and the bans. Memory (one process, the
// default) and Redis implement it, and fleettest.Run checks both with the
// same cases.
//
// Every method is safe for concurrent use and returns within ctx's
// deadline; a directory that cannot be reached returns an error wrapping
// ErrUnavailable. Everything it stores has a TTL or is removed by Reap, so
// a node that crashes leaves nothing behind that lasts; a directory
// restarted empty is rebuilt by the nodes' next heartbeats and checkpoints.
// Arguments a caller got wrong (an empty node id, a ttl under a
// millisecond, an unknown Why, a seat id in use, a NaN mass) fail at once,
// with an error that wraps none of the sentinels.
type Directory interface {
	// Heartbeat writes the node's lease, live for ttl, and puts the node
	// in the index of nodes that take seats (or out of it when it is
	// draining). It is also how a node comes back after the directory
	// lost everything.
	Heartbeat(ctx context.Context, l Lease, ttl time.Duration) error
	// Remove deletes the node's lease, its index entries and its rows of
	// the global board at once (a clean shutdown); its seats and records
	// expire by themselves.
	Remove(ctx context.Context, node string) error
	// Nodes lists the live nodes, sorted by id, with each lease's Age.
	Nodes(ctx context.Context) ([]Lease, error)

	// Reserve stores seat for seat.Node, live for ttl, in one atomic step
	// that first checks the node is live (else ErrNodeGone) and ready
	// (else ErrNoRoom, whatever seat.Why: a draining node moves its
	// players itself, resumed ones included, so none is sent to it), then,
	// unless seat.Why is WhyResume, that it has room (else ErrNoRoom).
	// Room is Capacity minus Players minus the node's reserved seats not
	// yet claimed or expired. A resume seat takes over a seat the session
	// already holds there, so it needs no room and takes none.
	// seat.ID must be new (NewSeatID makes one).
	Reserve(ctx context.Context, seat Seat, ttl time.Duration) error
	// ReserveAny reserves seat, as Reserve does, on a live, ready node
	// other than exclude, preferring the node with the most room, and
	// returns that node's lease with seat.Node set to it. ErrNoRoom when
	// no other node has room. The room compared is the node's as of its
	// last heartbeat, admission, reservation or claim (seats that expired
	// since count until then; ties go to the greatest id), which keeps
	// the pick O(log n); the chosen node's room is checked exactly.
	// seat.Why may not be WhyResume (a resumed session has one node).
	ReserveAny(ctx context.Context, exclude string, seat Seat, ttl time.Duration) (Lease, Seat, error)
	// Claim uses up a seat reserved for node and returns it; unless its
	// Why is WhyResume (a session already counted), the seat becomes one
	// of the node's Players at once (its Admitted grows by one). A seat
	// for another node is left for that node. ErrBadSeat when the seat is
	// unknown, expired, already claimed or for another node. A seat is
	// honoured even when the node's own lease has lapsed; it then counts
	// from the node's next Heartbeat.
	Claim(ctx context.Context, node, seatID string) (Seat, error)
	// Admit takes a place on node for a player who came without a seat:
	// ErrNoRoom when the node has no room (its reserved seats count as
	// taken) or is draining, ErrNodeGone when it has no live lease (the
	// node seats on its own count and its next Heartbeat fixes the
	// directory's), else Players and Admitted grow by one.
	Admit(ctx context.Context, node string) error

	// Checkpoint writes resume records, each live for ttl.
	Checkpoint(ctx context.Context, recs []Resume, ttl time.Duration) error
	// LookupResume returns the record of a token, or ErrNotFound.
	LookupResume(ctx context.Context, token string) (Resume, error)
	// TakeResume returns the record of a token and deletes it, in one
	// atomic step, or ErrNotFound: of several nodes asked to honour the
	// same orphaned token at once, exactly one gets the record.
	TakeResume(ctx context.Context, token string) (Resume, error)
	// Forget deletes the records of these tokens (sessions ended for good).
	Forget(ctx context.Context, tokens ...string) error

	// PublishBoard replaces the node's rows of the global leaderboard;
	// they last ttl unless published again.
	PublishBoard(ctx context.Context, node string, rows []BoardRow, ttl time.Duration) error
	// GlobalBoard returns the fleet's top n rows by mass, biggest first
	// (equal masses in an unspecified but stable order), over every node
	// whose rows are live.
	GlobalBoard(ctx context.Context, n int) ([]BoardRow, error)

	// Ban stores b, replacing any ban of the same prefix, live for ttl;
	// its Until is the directory's now plus ttl.
	Ban(ctx context.Context, b Ban, ttl time.Duration) error
	// Unban lifts the ban of prefix at once; ErrNotFound when there is
	// none (or it has lapsed).
	Unban(ctx context.Context, prefix string) error
	// Bans lists the live bans, sorted by prefix.
	Bans(ctx context.Context) ([]Ban, error)

	// SendCommand queues c for c.Node, live for ttl: ErrNodeGone when
	// that node has no live lease.
	SendCommand(ctx context.Context, c Command, ttl time.Duration) error
	// TakeCommands removes node's queued commands and returns the live
	// ones, oldest first. Each is taken once.
	TakeCommands(ctx context.Context, node string) ([]Command, error)
	// Answer stores a node's answer to command id, live for ttl;
	// ErrTooBig when its Data is over MaxAnswerData.
	Answer(ctx context.Context, id string, a Answer, ttl time.Duration) error
	// TakeAnswer removes and returns the answer to command id, its Data
	// included; ErrNotFound while there is none (not done yet, lapsed, or
	// taken already). Calls that may move a file are bounded by ctx and
	// 30 s rather than the directory's timeout for small records.
	TakeAnswer(ctx context.Context, id string) (Answer, error)

	// Reap removes what dead nodes (no live lease) left in shared indexes
	// that does not expire by itself, and returns their ids. Idempotent;
	// at most one caller at a time does the work (the others get no ids),
	// so every node may call it every second.
	Reap(ctx context.Context) ([]string, error)

	// Close releases the directory's connections.
	Close() error
}
