// Package bot is the steering brain shared by the headless client
// (cmd/client) and the load generator (cmd/loadgen): it plays Shatter over
// net/client the way the server's zombies do, so that a test or a load run
// exercises the same game a person would.
//
// A Brain looks at a session's view (its own marble and the entities
// around it) and decides, each time it is asked, to spawn, flee, chase or
// feed, with a heading and a boost wish. It reads no clock and draws its
// randomness from its own seeded source, so the same seed and views give
// the same decisions.
//
// A Player joins a Brain to a client connection and a compact view table
// kept from the snaps as they arrive, or, for the many cheap players of a
// load generator whose client skims its snaps, a Glimpse of the marbles
// moving near it and a few fragments; a Pacer steps many players at a
// fixed input rate from one ticker, spreading their inputs over each
// period as independent people's would be.
//
// Outline:
//   - brain.go: Rules, Brain, Action and its Goal.
//   - table.go: Table, the compact view a Player keeps.
//   - glimpse.go: Glimpse, the cheaper view a skimming Player keeps.
//   - player.go: Player, Dial, ServerURL.
//   - pacer.go: Pacer.
package bot
