// Package replayserve serves a recorded match to browsers: the browser
// client's files, and a WebSocket at /ws that speaks PROTOCOL.md v1 as a
// live server does (hello, welcome, snap, board, feed, pong, error), plus
// the optional messages of its "Replay viewer" section: the client's
// `replay` ops (pause, play, speed, seek) and the server's `replay`
// status. spawn and input are ignored; watch follows a marble as live.
//
// Each viewer has a sim.Playback of its own, re-simulated from the log on
// the viewer's goroutine, so several people watch the same log at once,
// each at their own position and speed, and nothing a viewer does is a
// command to the simulation: the frames are the recording's, and so are
// their state hashes. Snapshots are computed and encoded by net/session's
// View and net/wire, as a live session's are.
//
// Outline:
//   - server.go: Server, its listener and routes, the viewers it tracks,
//     Shutdown.
//   - viewer.go: one connection: its reader goroutine (frames, hello,
//     bad messages) and its player goroutine (the playback's clock, and
//     every write).
package replayserve
