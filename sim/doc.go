// Package sim runs ShatterLand arenas, and is the network's only door into
// the simulation: package net and its children import sim, never ecs or
// systems (a test in this package checks that).
//
// An Arena is an actor: one goroutine (Run, or a caller of Step that owns
// the arena) holds its arche world and nothing else touches it. Sessions
// talk to it through bounded command inboxes (Post, PostControl) with the
// commands made by Join, Detach, Leave, Spawn and Input, drained at the
// start of each tick in arrival order, and read its state through
// immutable, reference-counted Frames (Acquire/Release) published at the
// end of each tick. What a session sees of a frame is Frame.View. Deaths,
// leaderboards and "a new frame is ready" reach sessions through their
// Sink, called on the arena goroutine without blocking, as Died and Board
// events that the wire encoder writes as they are.
//
// Outline:
//   - arena.go: Arena, Options, Post and PostControl, Run, Step, the
//     system order, the sinks' events.
//   - command.go: Command and its constructors; Config and DefaultConfig.
//   - event.go: Sink, and the Died and Board events.
//   - clock.go: Clock, the injectable time source (RealClock, ManualClock).
//   - frame.go: Frame, the per-tick snapshot bucketed by a spatial grid.
//   - view.go: View, the rule of what one session sees of a frame.
//   - publish.go: the frame builder (with the state hash), and what it
//     keeps of the statics that left cells (Frame.Gone).
//   - slots.go: the marbles' slots (Frame.Slots), by which a reader
//     keeps what it sent as a bit a marble.
//   - stats.go: per-system tick durations and percentiles.
//   - replay.go: the replay log writer (Recorder) and its playback.
//   - replaycodec.go: the log's format: recognising, reading, Save.
//   - dump.go: a replay's state at a tick as JSON lines, and Diff.
//   - playback.go: Playback, a recorded match stepped and sought tick by
//     tick for one viewer.
package sim
