// Package session runs one WebSocket connection as an actor speaking
// PROTOCOL.md v1.
//
// Each connection has a reader goroutine (Serve, on the caller's
// goroutine) that reads frames through one long-lived wsutil.Reader
// bounded to 1 KiB, decodes them and posts commands to the arena. Its
// writes are not a goroutine of their own: the session is scheduled on a
// small pool of snapshot workers (about one per core, pool.go) whenever
// it has something to write, and a worker services it in one pass: the
// reliable messages (welcome, died, board, pong, error) from a small
// bounded queue first, then, when the arena says a frame is ready, a
// snapshot computed here from the arena's immutable frame (view culling
// and delta against what this connection was sent) and encoded here, so
// that this work runs on every core in parallel instead of on the tick
// goroutine. A worker's writes never wait: one that the socket does not
// take at once moves the session to a goroutine of its own, which
// finishes it under the write deadline and hands the session back once
// it has nothing left to write; the close sequence runs there too.
//
// The arena never waits on a connection: "frame ready" is a flag (latest
// frame wins, a slow reader skips ticks), and a reliable queue that
// overflows closes the connection as a slow consumer (4001).
//
// Outline:
//   - session.go: Conn, its reader, control frames and close handling,
//     the arena's sink.
//   - pool.go: the snapshot workers, and how a session is scheduled on
//     them or on its own goroutine.
//   - writer.go: a pass over a session's writes: reliable messages,
//     snapshots, framing, the close sequence; rawwrite_*.go: the
//     workers' writes that never wait.
//   - handle.go: what each client message does; rate limits; Seated.
//   - stall.go: telling a client that stopped reading (unanswered pings,
//     the kernel send queue; queue_linux.go reads it) or idles without a
//     marble.
//   - drop.go: DropReason and recordDrop, where every dropped message is
//     counted and logged.
//   - view.go: view rectangles and snapshot deltas.
package session
