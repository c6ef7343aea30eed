//go:build !linux

package session

import (
	"io"
	"net"
)

// poller stands in for the epoll poller of poll_linux.go: without epoll,
// every session keeps a reader goroutine.
type poller struct{}

// pollSys is the socket of a polled session; there are none here.
type pollSys struct{}

func (e *Env) poller() *poller { return nil }

func (*poller) register(*Conn) bool { return false }

func (*poller) remove(*Conn) {}

func (*pollSys) tryRead([]byte) (int, error) { return 0, io.EOF }

func pollable(net.Conn) bool { return false }
