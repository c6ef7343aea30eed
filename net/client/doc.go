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
// Outline:
//   - client.go: Options, Dial, Client and its Send methods, Snapshot,
//     Stats, and the errors a connection can end with (CloseError,
//     RefusedError, ErrClosed).
package client
