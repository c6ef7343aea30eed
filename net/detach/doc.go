// Package detach takes TCP sockets out of the Go runtime's poller.
//
// The runtime registers every socket it opens with its epoll instance,
// edge-triggered for reading and writing. A server that reads its
// sockets through an epoll loop of its own (net/session's poller) and
// writes them without waiting (its snapshot workers) gains nothing from
// that registration and pays for it: each frame a client sends and each
// acknowledgement that frees send buffer space is an event the runtime's
// poller takes, and may wake a thread for, on both sides of a loopback
// connection. Measured at 1,000 playing clients on loopback
// (docs/PERFORMANCE.md, "Fan-out"): about a tenth of the server's CPU a
// snapshot and of the load generator's.
//
// A detached socket (Conn) makes every call without waiting first. A
// call that must wait (a client that stopped reading, say) attaches the
// socket to the runtime's poller for as long as the wait lasts, so that a
// stalled connection holds a parked goroutine, as a net.Conn's would,
// never a thread: a thousand stalled clients cost a thousand small
// stacks, not a thousand threads blocked in poll(2).
//
// An epoll loop of the caller's own that reads such sockets waits for its
// instance the same way (EpollWaiter): parked in the runtime's poller for
// the wait's length, where a goroutine blocked in epoll_wait(2) would keep
// the runtime's processor from every other goroutine until the runtime
// took it back.
//
// On systems other than Linux, New always fails and callers keep their
// net.Conn; EpollWaiter exists only on Linux.
package detach
