// Package sim runs ShatterLand arenas.
//
// An Arena is an actor: one goroutine (Run, or a caller of Step that owns
// the arena) holds its arche world and nothing else touches it. Sessions
// talk to it through a bounded command inbox (Post), drained at the start
// of each tick in arrival order, and read its state through immutable,
// reference-counted Frames (Acquire/Release) published at the end of each
// tick. Deaths, leaderboards and "a new frame is ready" reach sessions
// through their Sink, called on the arena goroutine without blocking.
//
// Outline:
//   - arena.go: Arena, Options, Post and PostControl, Run, Step, the
//     system order, the sinks' events.
//   - clock.go: Clock, the injectable time source (RealClock, ManualClock).
//   - frame.go: Frame, the per-tick snapshot bucketed by a spatial grid.
//   - publish.go: the frame builder and the state hash.
//   - stats.go: per-system tick durations and percentiles.
//   - replay.go: the replay log writer and its playback.
package sim
