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
//   - world.go: the Arena resource, world construction, entity factories,
//     commands, sessions, deaths, the leaderboard and the static change log.
package ecs
