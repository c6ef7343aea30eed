// Package ecs holds the data of one ShatterLand arena: the small components
// its entities are made of, the resources every system shares (config, the
// seeded random generator, the terrain, the spatial indexes, per-tick
// buffers), and the factories that create and remove entities so that the
// indexes never disagree with the world.
//
// It builds on arche (github.com/mlange-42/arche), whose core package is
// also named ecs: import it as arche where both are needed.
//
// Outline:
//   - config.go: Config, every rule number with its DESIGN.md default.
//   - components.go: Body (kind and network id), Position, Velocity, Mass,
//     Steering, Name, Pilot, Brain, and the Mover/Fragment/Obstacle tags.
//   - rand.go: Rand, the arena's one seeded generator (its state is hashed).
//   - terrain.go: Terrain, the seeded fractal heightmap and its slope.
//   - grid.go: Grid (rebuilt every tick for movers) and CellIndex
//     (updated in place for static fragments and obstacles).
//   - cells.go: Cells, per-cell slices with a home each and spill blocks
//     lent to crowded cells and given back, which CellIndex and the
//     frames' static records live in.
//   - state.go: State, the resource every system shares, with who writes
//     and who clears each of its fields, and NewWorld.
//   - factory.go: the entity factories and Remove, which keep the indexes,
//     the mover count and the static change log in step with the world.
//   - command.go: Command, what a session asks of its arena (the replay
//     log records these).
//   - session.go: SessionState and the sorted session list.
//   - event.go: Death and Board, what a tick leaves for the driver to
//     report.
//   - hash.go: State.Hash, the state hash over everything that decides the
//     future; EntityHash, Mix64 and the static change log's records.
//   - dump.go: State.Dump, every entity's components for comparing builds.
package ecs
