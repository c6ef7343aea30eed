// Package hostile is a library of attacks on a Shatter server, for the
// hostile-traffic test (net/server) and the soak (cmd/loadgen -scenarios
// soakN). Each attack does one thing an attacker would do to exhaust the
// server: hold connections open, trickle bytes, never read, flood control
// frames, send close frames and fragments that RFC 6455 forbids, or hoard
// seats. It also judges what the server did against the bounds the issue
// on hardening requires (the server's configured limits, passed in
// Bounds): a connection the server should have closed and did not, an
// answer with the wrong status or close code, a seat it should have
// refused. Its Report counts the tries, the right answers, the refusals
// at the door and the wrong answers, with the first few described.
//
// Every attack is bounded twice: by its own count (Target.Scale) and
// waits (each bound plus Bounds.Slack), so that it stops by itself, and
// by its context, which cuts it short. It closes every connection it
// opened before it returns and leaves no goroutine behind. It refuses to
// run against anything but a loopback address, from a loopback source
// address (Target.Source), so that it cannot be pointed at someone
// else's server; a distinct source address per attack (127.0.0.N on
// Linux) keeps the server's per-address limit of one attack from
// touching another, or an honest client on 127.0.0.1.
//
// Outline:
//   - hostile.go: Target, Bounds, Report, Attack, All and Run; dialing.
//   - http.go: attacks on the HTTP listeners (failed upgrades, slow
//     headers and bodies, idle keep-alives, oversized headers, a
//     download nobody reads, a /join flood).
//   - ws.go: attacks over WebSocket (ping floods, bad close frames, a
//     close inside a fragmented hello, a client that never reads, a
//     spawn-then-drop loop, silent spectators).
package hostile
