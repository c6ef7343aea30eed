// Package fleet is the directory that the nodes of a Shatter fleet share
// (DESIGN.md "The fleet"): each node's lease, the seats reserved on nodes
// for players moving there, the resume records that let any node honour a
// token, and the global leaderboard.
//
// One interface, Directory, two implementations: NewMemory, for a node
// that runs alone (the default: nothing else to run), and NewRedis, for
// nodes that share a Redis. The conformance suite in fleettest runs the
// same cases against both, Redis's against a real redis-server.
package fleet
