package client

import (
	"errors"
	"runtime"
	"time"
)

// Defaults for the zero fields of PollOptions.
const (
	// DefaultPollPace is how long a loop sleeps after a look that found
	// sockets to read, before it looks again: a snap waits half of it on
	// average, against a tick of 33 ms.
	DefaultPollPace = time.Millisecond
	// DefaultPollIdleWait bounds a loop's wait for its epoll instance once
	// a look found nothing to read.
	DefaultPollIdleWait = 200 * time.Millisecond
)

// PollOptions configure NewPollGroup. The zero value of each field means
// its default.
type PollOptions struct {
	// Loops is how many loops (each a goroutine with an epoll instance of
	// its own) read the group's clients. Default runtime.GOMAXPROCS(0).
	Loops int
	// Pace is how long a loop sleeps after handling what it found, before
	// it looks again without waiting. Default DefaultPollPace.
	Pace time.Duration
	// IdleWait bounds a loop's wait for a socket to read once it found
	// none: how long an idle group takes to notice Close. Default
	// DefaultPollIdleWait.
	IdleWait time.Duration
	// Detach takes each connection of the group's clients out of the Go
	// runtime's poller once its handshake is over: the client reads and
	// writes a duplicate of the socket's descriptor in plain system
	// calls (net/detach), and closes the net.Conn, so that a frame that
	// arrives while the loops are pacing wakes no thread (the waking is
	// paid by the server's write). A read or write that must wait (a
	// moved's wait for the server's close, a send while the socket's
	// buffer is full) attaches the socket to the runtime's poller for the
	// wait, and parks its goroutine.
	Detach bool
}

// errHandBack ends a poll group's reading of a connection without ending
// the connection: the reading goroutine reads on by itself (readRawOn).
// A moved that is to be followed does (the server's close must come
// within movedCloseWait, a deadline only a read that waits can keep), and
// so does the Close of the group.
var errHandBack = errors.New("client: connection handed back by its poll group")

// withDefaults returns o with its zero fields set to their defaults.
func (o PollOptions) withDefaults() PollOptions {
	if o.Loops <= 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	if o.Pace <= 0 {
		o.Pace = DefaultPollPace
	}
	if o.IdleWait <= 0 {
		o.IdleWait = DefaultPollIdleWait
	}
	return o
}
