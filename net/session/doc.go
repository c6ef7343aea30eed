// Package session runs one WebSocket connection as an actor speaking
// PROTOCOL.md v1.
//
// Each connection has two goroutines. The reader (Serve, on the caller's
// goroutine) reads frames through one long-lived wsutil.Reader bounded to
// 1 KiB, decodes them and posts commands to the arena. The writer owns
// every write to the socket, each under a write deadline: the reliable
// messages (welcome, died, board, pong, error) from a small bounded queue
// first, then, when the arena says a frame is ready, a snapshot computed
// here from the arena's immutable frame (view culling and delta against
// what this connection was sent) and encoded here, so that this work runs
// on every core in parallel instead of on the tick goroutine.
//
// The arena never waits on a connection: "frame ready" is a one-slot
// signal (latest frame wins, a slow reader skips ticks), and a reliable
// queue that overflows closes the connection as a slow consumer (4001).
//
// Outline:
//   - session.go: Conn, its reader, control frames and close handling,
//     the arena's sink.
//   - writer.go: the writer: reliable messages, snapshots, framing.
//   - handle.go: what each client message does; rate limits; Seated.
//   - stall.go: telling a client that stopped reading (unanswered pings,
//     the kernel send queue; queue_linux.go reads it) or idles without a
//     marble.
//   - drop.go: DropReason and recordDrop, where every dropped message is
//     counted and logged.
//   - view.go: view rectangles and snapshot deltas.
package session
