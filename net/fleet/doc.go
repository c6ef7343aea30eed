// Package fleet is the directory that the nodes of a Shatter fleet share
// (DESIGN.md "The fleet"): each node's lease, the seats reserved on nodes
// for players moving there, the resume records that let any node honour a
// token, and the global leaderboard.
//
// One interface, Directory, two implementations: NewMemory, for a node
// that runs alone (the default: nothing else to run), and NewRedis, for
// nodes that share a Redis. The conformance suite in fleettest runs the
// same cases against both, Redis's against a real redis-server.
//
//   - fleet.go: Directory, its types and errors: the contract.
//   - memory.go: the in-process directory, on an injectable clock.
//   - redis.go: the Redis directory: its key layout, its Lua scripts.
//   - check.go: argument checks both share, and NewSeatID.
//   - fleettest: the conformance suite; redistest: a real redis-server
//     for tests, which can be frozen, thawed and restarted empty.
//
// # Sizing TTLs
//
// A lease's ttl is the time a crashed node keeps receiving seats, and the
// grace a live node has to heartbeat: DESIGN.md's 1 s heartbeat and about
// 3 s ttl lets two heartbeats go missing. A Redis call fails within
// RedisOptions.Timeout (500 ms), so a heartbeat that times out still
// leaves time for the next. The ttl also bounds how long a lost admission
// (see Lease.Admitted) overcounts a node. Seats (15 s, PROTOCOL.md) count
// against room until claimed or expired; resume records and board rows
// need to outlive a few missed writes (a few seconds each).
package fleet
