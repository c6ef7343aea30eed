package wire

import (
	"slices"

	"github.com/shatter/shatter/sim"
)

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
// SlowConsumerReason. Most other close codes of PROTOCOL.md are standard
// ones; 4002 "replaced" is net/session's CloseReplaced.
const CloseSlowConsumer = 4001

// SlowConsumerReason is the close reason that goes with CloseSlowConsumer.
const SlowConsumerReason = "slow consumer"

// CloseMoved is the WebSocket close code that follows a moved message: the
// player continues on the node the moved names (PROTOCOL.md, Fleet). Its
// reason is MovedReason.
const CloseMoved = 4003

// MovedReason is the close reason that goes with CloseMoved.
const MovedReason = "moved"

// CloseKicked is the WebSocket close code that follows error kicked: an
// operator ended the session, and the client does not reconnect by
// itself. Its reason is KickedReason.
const CloseKicked = 4004

// KickedReason is the close reason that goes with CloseKicked.
const KickedReason = "kicked"

// Type names a message: the value of its `t` key.
// The zero Type is no message at all; decoders never return it.
type Type uint8

// The message types of PROTOCOL.md. Hello, spawn, input, ping and watch go
// from client to server; the rest from server to client, and replay both
// ways. New types go at the end of their direction's run, so that
// fromClient and fromServer stay ranges (but for replay).
const (
	TypeHello Type = iota + 1
	TypeSpawn
	TypeInput
	TypePing
	TypeWatch
	TypeWelcome
	TypeSnap
	TypeDied
	TypeBoard
	TypePong
	TypeError
	TypeMoved
	TypeFeed
	// TypeReplay is the optional message of a replay viewer (PROTOCOL.md
	// "Replay viewer"), the one type both sides send: ReplayControl from
	// the client, ReplayStatus from the server.
	TypeReplay
)

// typeNames holds each Type's name on the wire, indexed by Type: the one
// table that both String and typeNamed read. The zero Type's name is "".
var typeNames = [...]string{
	TypeHello:   "hello",
	TypeSpawn:   "spawn",
	TypeInput:   "input",
	TypePing:    "ping",
	TypeWatch:   "watch",
	TypeWelcome: "welcome",
	TypeSnap:    "snap",
	TypeDied:    "died",
	TypeBoard:   "board",
	TypePong:    "pong",
	TypeError:   "error",
	TypeMoved:   "moved",
	TypeFeed:    "feed",
	TypeReplay:  "replay",
}

// String returns the type's name on the wire, or "" for a Type that names no
// message.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return ""
}

// typeNamed returns the Type whose wire name is name, or 0. It runs for
// every frame: checking the length and the first byte before the full
// comparison passes over most names without a call to runtime.memequal,
// which keeps the loop within a few nanoseconds of a switch. Comparing
// string(name) with a string does not allocate.
func typeNamed(name []byte) Type {
	for t := TypeHello; int(t) < len(typeNames); t++ {
		if n := typeNames[t]; len(name) == len(n) && name[0] == n[0] && string(name) == n {
			return t
		}
	}
	return 0
}

// fromClient reports whether t is sent by clients.
func (t Type) fromClient() bool { return t >= TypeHello && t <= TypeWatch || t == TypeReplay }

// fromServer reports whether t is sent by the server.
func (t Type) fromServer() bool { return t >= TypeWelcome && t <= TypeReplay }

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
	// CodeBadSeat answers a hello whose seat is unknown, expired or used;
	// the hello then goes on as if it carried only its token.
	CodeBadSeat ErrorCode = "bad_seat"
	// CodeIdle ends a session that stayed dead without spawn, input or
	// watch for the server's idle timeout.
	CodeIdle ErrorCode = "idle"
	// CodeInternal ends a session that a fault inside the server stopped.
	CodeInternal ErrorCode = "internal"
	// CodeKicked ends a session an operator removed; a client does not
	// reconnect by itself after it.
	CodeKicked ErrorCode = "kicked"
)

// errorCodes lists every ErrorCode constant, for errorCodeNamed.
var errorCodes = [...]ErrorCode{
	CodeBadMessage,
	CodeNoHello,
	CodeVersion,
	CodeRateLimited,
	CodeTextFrame,
	CodeTooBig,
	CodeResumeExpired,
	CodeFull,
	CodeShutdown,
	CodeBadSeat,
	CodeIdle,
	CodeInternal,
	CodeKicked,
}

// ErrorCodes returns every error code of PROTOCOL.md, for whoever must
// know the whole set in advance (the metrics start a series for each).
func ErrorCodes() []ErrorCode { return slices.Clone(errorCodes[:]) }

// errorCodeNamed returns the ErrorCode spelled name, sharing the constant's
// storage for known codes so that decoding them does not allocate.
func errorCodeNamed(name []byte) ErrorCode {
	for i := range errorCodes {
		if string(name) == string(errorCodes[i]) {
			return errorCodes[i]
		}
	}
	return ErrorCode(name)
}

// MoveReason is the `why` of a moved message: why the server sends the
// player to another node (PROTOCOL.md, Fleet).
type MoveReason string

// The move reasons of PROTOCOL.md.
const (
	// MoveFull is sent instead of a welcome when this node has no room and
	// another has; the player arrives there as a new session.
	MoveFull MoveReason = "full"
	// MoveResume is sent instead of a welcome when the hello's token
	// belongs to a session on another node; the seat takes it over there.
	MoveResume MoveReason = "resume"
	// MoveDrain is sent during a session when this node shuts down; the
	// seat carries the marble, alive or not, to the other node.
	MoveDrain MoveReason = "drain"
)

// moveReasons lists every MoveReason constant, for moveReasonNamed.
var moveReasons = [...]MoveReason{MoveFull, MoveResume, MoveDrain}

// moveReasonNamed returns the MoveReason spelled name, sharing the
// constant's storage for known reasons so that decoding them does not
// allocate.
func moveReasonNamed(name []byte) MoveReason {
	for i := range moveReasons {
		if string(name) == string(moveReasons[i]) {
			return moveReasons[i]
		}
	}
	return MoveReason(name)
}

// feedWhats lists every sim.FeedWhat, for feedWhatNamed.
var feedWhats = [...]sim.FeedWhat{sim.FeedBust, sim.FeedSpike}

// feedWhatNamed returns the sim.FeedWhat spelled name, sharing the
// constant's storage for known kinds so that decoding them does not
// allocate.
func feedWhatNamed(name []byte) sim.FeedWhat {
	for i := range feedWhats {
		if string(name) == string(feedWhats[i]) {
			return feedWhats[i]
		}
	}
	return sim.FeedWhat(name)
}
