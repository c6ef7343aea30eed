//go:build !linux

package detach

import (
	"errors"
	"net"
	"syscall"
)

// errUnsupported is New's error where sockets are not detached.
var errUnsupported = errors.New("detach: not supported on this system")

// Conn is never made here; the type lets callers name it (as a net.Conn)
// on every system.
type Conn struct{ net.Conn }

// New fails: only Linux detaches sockets.
func New(*net.TCPConn) (*Conn, error) { return nil, errUnsupported }

// SyscallConn fails like New: there is no Conn to call it on.
func (*Conn) SyscallConn() (syscall.RawConn, error) { return nil, errUnsupported }

// Discard does nothing: there is no Conn to discard.
func (*Conn) Discard() {}
