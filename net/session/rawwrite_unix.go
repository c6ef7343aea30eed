//go:build unix

package session

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/shatter/shatter/net/detach"
)

// rawWriter makes one write attempt on a socket that never waits: what
// the kernel's send buffer takes now, and no more (see tryWrite).
//
// Owned by whoever services the session.
type rawWriter struct {
	raw syscall.RawConn // nil: the connection is not a socket written directly
	// write is made once, so that an attempt allocates nothing; it reads
	// buf and sets n and err.
	write func(fd uintptr) bool
	buf   []byte
	n     int
	err   error
}

// init finds conn's socket. Only a *net.TCPConn or *net.UnixConn counts:
// a wrapper that offers its socket (crypto/tls's NetConn, any type with
// SyscallConn) may add bytes of its own on Write, and writing the socket
// under it would bypass them.
func (w *rawWriter) init(conn net.Conn) {
	var sc syscall.Conn
	switch c := conn.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	case *detach.Conn:
		sc = c
	default:
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	w.raw = raw
	w.write = func(fd uintptr) bool {
		for {
			w.n, w.err = unix.Write(int(fd), w.buf)
			if w.err != unix.EINTR {
				// Always done: returning false would make the runtime
				// wait for the socket to be writable.
				return true
			}
		}
	}
}

// ok reports whether attempts can be made: conn is a socket.
func (w *rawWriter) ok() bool { return w.raw != nil }

// try writes what the socket takes of b at once and returns how much
// that was: less than len(b) when its send buffer is full, and 0 when
// the attempt failed (the peer reset the connection, a deadline passed,
// the connection was closed on our side). Either way the blocking write
// that follows on the session's own goroutine finishes the frame or
// tells what went wrong, as a write always did.
func (w *rawWriter) try(b []byte) int {
	w.buf = b
	err := w.raw.Write(w.write)
	w.buf = nil
	if err != nil || w.err != nil {
		return 0
	}
	return w.n
}
