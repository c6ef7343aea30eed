// Package floor measures the floor under a snapshot fan-out: what one
// small write to a loopback TCP connection costs, the one thing a server
// must do per session per tick however cheap the rest becomes.
//
// It exists because the figure depends on how many connections the writes
// go to. One connection written again and again keeps its socket, its
// TCP state and its peer's in the CPU's caches, and measures a fraction
// of what a fan-out pays (a fifth to a half of it on a 2-CPU VM), whose
// each write goes to one of thousands of sockets whose kernel state has
// left the cache since the last tick. A
// Rig opens N connections on 127.0.0.1, each drained by a reader of its
// own, and writes frames to them round-robin; Measure reports the wall
// time and the writer's own CPU time per write. BenchmarkLoopbackWriteFloor
// (net/session) and cmd/loadgen, which prints the floor beside the
// server's CPU per snapshot, both run it.
//
// Outline:
//   - rig.go: Rig, Open, and Measure with its Result.
//   - cpu_linux.go, cpu_other.go: ThreadCPU, the calling thread's CPU time.
//   - ring_linux_test.go: BenchmarkPacedSend, the paced floor's bursts
//     written through net.Conn, by write(2), and as io_uring batches,
//     with the minimal io_uring ring the last way needs.
package floor
