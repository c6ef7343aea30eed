// Package server is Shatter's network front: the public HTTP listener (the
// browser client's files at /, the WebSocket at /ws, /healthz), the admin
// listener (/metrics, /debug/pprof/, /arenas), the lobby of arenas, and a
// bounded graceful shutdown.
//
// Outline, by responsibility:
//   - server.go: Config, Server, New, Serve and Shutdown: the listeners'
//     lives and the order things stop in.
//   - admission.go: the public routes, and admitting a WebSocket: the
//     Origin allowlist, the connection limits (overall and per address),
//     the upgrade (a failed one closed at once), and the session goroutine
//     it hands the connection to; /join and its rate limit.
//   - clientaddr.go: who the client is (the TCP peer, or a trusted
//     proxy's header), the key it is counted under (IPv4 address, IPv6
//     /64), what each address holds, the /join limiter, the Origin list.
//   - httplimits.go: the time and size bounds of both listeners.
//   - arenas.go: making an arena (seed, replay log, tick metrics) for the
//     lobby, and the rules every welcome carries.
//   - admin.go: the admin routes and /arenas.
//   - servertest: a loopback server for other packages' tests.
package server
