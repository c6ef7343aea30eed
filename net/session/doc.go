// Package session runs one WebSocket connection as an actor speaking
// PROTOCOL.md v1.
//
// On Linux, a connection on a TCP socket (Start) holds no goroutine and
// no read buffer while its client is silent: the Env's epoll poller
// schedules a read pass when the socket is readable, which reads what is
// there without waiting, handles every whole frame (bounded to 1 KiB),
// decodes the messages and posts commands to the arena, and keeps only
// the bytes of an incomplete frame. Any other connection (net.Pipe in
// tests, other systems) has a reader goroutine (Serve) that reads frames
// through one long-lived wsutil.Reader bounded to 1 KiB, with the same
// handler. The writes are not a goroutine of their own either: the
// session is scheduled on a small pool of snapshot workers (about one
// per core, pool.go) whenever it has something to write, and a worker
// services it in one pass, whose frames go out in one write: the
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
//   - session.go: Conn, its reader goroutine, control frames and close
//     handling, the arena's sink.
//   - read.go: Start, and the read passes of a session read by the
//     poller: frame parsing, the hello and close timers, the session's
//     end once both sides have ended; poll_linux.go: the epoll poller
//     (poll_other.go: none).
//   - pool.go: the snapshot workers, and how a session is scheduled on
//     them or on its own goroutine.
//   - writer.go: a pass over a session's writes: reliable messages,
//     snapshots, framing, the pass's one write, the close sequence;
//     rawwrite_*.go: the workers' writes that never wait; outqueue.go:
//     the reliable queue.
//   - handle.go: what each client message does; rate limits; Seated.
//     bucket.go: the token bucket of each rate limit.
//   - stall.go: telling a client that stopped reading (unanswered pings,
//     the kernel send queue; queue_linux.go reads it) or idles without a
//     marble.
//   - drop.go: DropReason and recordDrop, where every dropped message is
//     counted and logged.
//   - view.go: snapshot deltas against the last delta's rectangle and
//     tick, which the frame can tell the contents of (statics: a cell
//     unchanged and wholly inside or outside both rectangles is passed
//     over; marbles: one bit a slot), marble records shared by the frame.
package session
