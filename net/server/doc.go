// Package server is Shatter's network front: the public HTTP listener (the
// browser client's files at /, the WebSocket at /ws, /healthz), the admin
// listener (/metrics, /debug/pprof/, /arenas), the lobby of arenas, and a
// bounded graceful shutdown.
//
// Outline, by responsibility:
//   - server.go: Config, Server, New, Serve and Shutdown: the listeners'
//     lives and the order things stop in.
//   - admission.go: the public routes, and admitting a WebSocket: the
//     connection limits (overall and per address), the upgrade, and the
//     session goroutine it hands the connection to.
//   - arenas.go: making an arena (seed, replay log, tick metrics) for the
//     lobby, and the rules every welcome carries.
//   - admin.go: the admin routes and /arenas.
//   - servertest: a loopback server for other packages' tests.
package server
