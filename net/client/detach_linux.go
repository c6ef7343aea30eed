//go:build linux

package client

import (
	"net"
	"syscall"

	"github.com/shatter/shatter/net/detach"
)

// detach takes c's connection, a *net.TCPConn, out of the Go runtime's
// poller (PollOptions.Detach): its descriptor duplicated into a
// detach.Conn, which becomes c.conn with a writer of its own, and the
// net.Conn closed. The runtime's poller then never hears of the socket,
// so that a frame arriving while the group's loops pace wakes no thread
// of the client's process: neither the runtime's epoll_wait nor the
// writer's system call, on the server's side, pays for one.
//
// It returns the RawConn to read on, or raw and nothing changed when the
// connection is not a TCP one, the duplication fails, or the client has
// been stopped. Only the reading goroutine calls it, before the first
// pass over the connection.
func (c *Client) detach(raw syscall.RawConn) syscall.RawConn {
	tc, ok := c.conn.(*net.TCPConn)
	if !ok {
		return raw
	}
	d, err := detach.New(tc)
	if err != nil {
		return raw
	}
	if c.sendOn(d) != nil {
		// Stopped: stop closes the net.Conn, with what it writes on it.
		d.Discard()
		return raw
	}
	draw, _ := d.SyscallConn()
	// Closing the net.Conn takes the socket out of the runtime's epoll
	// and closes its descriptor; the duplicate keeps the socket open.
	tc.Close()
	return draw
}
