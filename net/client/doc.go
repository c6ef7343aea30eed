// Package client is the Go client library of the Shatter protocol
// (PROTOCOL.md), shared by the headless bot (cmd/client), the load generator
// (cmd/loadgen) and tests of the server.
//
// Dial connects over WebSocket, sends the hello and waits for the welcome;
// the Client then reads every server message on its own goroutine, applies
// snaps to an entity table exactly as the protocol says (add, then upd, then
// del), and keeps the ack, the tick, the leaderboard, the last died and error
// messages and, when the connection ends, the server's close code. Callers
// see messages through the OnMessage callback, the table through Snapshot,
// and load figures through Stats and the OnAck latency callback. The
// package plays no game: choosing a heading is the caller's business.
//
// A Client follows the fleet's moves by itself (PROTOCOL.md, Fleet): on a
// moved it connects to the node named and carries on there with a new
// welcome, going back to where it came from if that node cannot be reached
// in 5 seconds. OnMove and Stats.Moves report the moves. Given the fleet's
// node URLs (Options.Reconnect), it also resumes its session at another
// node when its connection drops, with its token; OnReconnect and
// Stats.Drops report those.
//
// Outline:
//   - client.go: Options, Dial, Client and its read loop and Send methods,
//     Snapshot, Stats, and the errors a connection can end with
//     (CloseError, RefusedError, ErrClosed).
//   - conn.go: the current connection: installing it, the handshake, and
//     reading and writing its frames.
//   - rawread.go: reading play on a TCP connection in raw system calls,
//     parsing the frames from its own buffer.
//   - poll.go, poll_linux.go, poll_other.go: PollGroup (Options.Poll), a
//     few paced epoll loops that read many clients' connections instead
//     of a goroutine each woken for every frame; elsewhere than on Linux
//     a group starts nothing and its clients read as without one.
//   - detach_linux.go: PollOptions.Detach, a connection taken out of the
//     Go runtime's poller, in plain system calls on a duplicate of its
//     descriptor.
//   - skim.go: the quick snap decoder of Options.SkimSnaps.
//   - move.go: following moves: Move, MoveStats, MoveError, ErrMoving, and
//     the dialling that Dial and a move share (join, follow, reach,
//     attempt).
//   - reconnect.go: resuming after a drop: Reconnect, ReconnectError.
package client
