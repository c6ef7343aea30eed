//go:build linux

package session

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/shatter/shatter/net/detach"
)

// kernelQueue reads how many bytes a TCP socket's kernel send queue holds
// (sent and not yet acknowledged, or not sent yet): SIOCOUTQ, tcp(7).
//
// Owned by the writer.
type kernelQueue struct {
	raw  syscall.RawConn // nil: not a TCP socket, nothing to read
	read func(fd uintptr)
	n    int
	err  error
}

// init finds conn's TCP socket, looking through wrappers that expose the
// connection they wrap with a NetConn method (as crypto/tls does).
func (q *kernelQueue) init(conn net.Conn) {
	for {
		w, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		conn = w.NetConn()
	}
	var sc syscall.Conn
	switch c := conn.(type) {
	case *net.TCPConn:
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
	// Made once, so that each reading allocates nothing.
	q.raw, q.read = raw, func(fd uintptr) { q.n, q.err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }
}

// queued returns the bytes in the socket's send queue; ok is false when
// they cannot be read.
func (q *kernelQueue) queued() (n int, ok bool) {
	if q.raw == nil {
		return 0, false
	}
	if err := q.raw.Control(q.read); err != nil || q.err != nil {
		return 0, false
	}
	return q.n, true
}

// readable reports whether queued can read anything: conn is a TCP socket.
func (q *kernelQueue) readable() bool { return q.raw != nil }
