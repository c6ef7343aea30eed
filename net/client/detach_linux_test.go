package client

import "github.com/shatter/shatter/net/detach"

// detached reports whether c's last connection was taken out of the
// runtime's poller (PollOptions.Detach). Call it once c's read loop has
// exited.
func detached(c *Client) bool {
	_, ok := c.conn.(*detach.Conn)
	return ok
}
