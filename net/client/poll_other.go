//go:build !linux

package client

import "syscall"

// PollGroup stands in for the epoll loops of poll_linux.go: without
// epoll, a group starts nothing, and its clients read their connections
// on their own goroutines as without one.
type PollGroup struct {
	opts PollOptions // static: kept for what it was asked
}

// NewPollGroup returns a group that starts nothing: here every client
// reads on its own goroutine.
func NewPollGroup(opts PollOptions) (*PollGroup, error) {
	return &PollGroup{opts: opts.withDefaults()}, nil
}

// Close does nothing; it is there for the Linux group's sake.
func (g *PollGroup) Close() error { return nil }

// pollReg is a connection's registration with a group; there are none here.
type pollReg struct{}

// readPolled reads as readRaw does: there is no group to read for it.
func (c *Client) readPolled(raw syscall.RawConn) error { return c.readRaw(raw) }
