//go:build linux

package detach

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is a TCP socket out of the Go runtime's poller: a duplicate of a
// *net.TCPConn's descriptor, made by New. Once the caller closes the
// net.TCPConn, the runtime's epoll no longer hears of the socket.
//
// Every read and write is first tried without waiting, in a plain system
// call. One that must wait attaches the socket to the runtime's poller
// for the wait: a second duplicate opened as a net.Conn (net.FileConn),
// whose blocking call parks the goroutine as any net.Conn's does and
// honours the deadlines; the attachment is let go when no wait uses it
// any more. A connection that seldom waits (a game server's client that
// reads its snapshots) thus costs the runtime's poller nothing, and one
// that stalls holds a parked goroutine, never a thread.
//
// The descriptor lives until Close and the last use that began before
// it: Close shuts the socket down, which ends any wait on it, and the
// descriptor is closed by whichever of Close and that use ends last, so
// that no use can reach a number reused by another file.
type Conn struct {
	fd           int // static
	laddr, raddr net.Addr

	mu     sync.Mutex
	refs   int  // uses under way; guarded by mu
	closed bool // guarded by mu
	// att is the attachment while some wait uses it (attRefs of them),
	// nil otherwise. Guarded by mu.
	att     net.Conn
	attRefs int

	readDeadline, writeDeadline atomic.Int64 // Unix nanoseconds; 0 for none
}

// New duplicates tc's descriptor into a Conn. The caller closes tc when
// the Conn is to take over: until then the runtime's poller still has
// the socket.
func New(tc *net.TCPConn) (*Conn, error) {
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var dupErr error
	if err := raw.Control(func(fd uintptr) {
		nfd, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, os.NewSyscallError("fcntl", dupErr)
	}
	// The duplicate shares the file description, and with it the
	// O_NONBLOCK the runtime set: its calls never block.
	return &Conn{fd: nfd, laddr: tc.LocalAddr(), raddr: tc.RemoteAddr()}, nil
}

// errClosed is the error of a use after Close, as a net.Conn's is.
var errClosed = net.ErrClosed

// acquire begins a use of the descriptor; release ends it.
func (d *Conn) acquire() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return -1, errClosed
	}
	d.refs++
	return d.fd, nil
}

func (d *Conn) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refs--
	if d.closed && d.refs == 0 {
		unix.Close(d.fd)
	}
}

// Close shuts the socket down, ending any wait on it, and closes the
// descriptor once no use is under way. It returns net.ErrClosed after
// the first call.
func (d *Conn) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	d.closed = true
	_ = unix.Shutdown(d.fd, unix.SHUT_RDWR)
	if d.refs == 0 {
		unix.Close(d.fd)
	}
	return nil
}

// Discard closes a Conn that was made but not used, without shutting
// the socket down: the net.TCPConn it came from stays in charge of it.
func (d *Conn) Discard() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed && d.refs == 0 {
		d.closed = true
		unix.Close(d.fd)
	}
}

// attach returns the socket opened in the runtime's poller for a wait,
// opening it for the first wait; detachWait lets it go after the last.
// Called with a use under way (acquire), so fd is open.
func (d *Conn) attach(fd int) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errClosed
	}
	if d.att == nil {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, os.NewSyscallError("fcntl", err)
		}
		f := os.NewFile(uintptr(nfd), "detach")
		att, err := net.FileConn(f) // a duplicate of its own
		f.Close()
		if err != nil {
			return nil, err
		}
		d.att = att
		d.applyDeadlines()
	}
	d.attRefs++
	return d.att, nil
}

func (d *Conn) detachWait() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.attRefs--; d.attRefs == 0 {
		d.att.Close()
		d.att = nil
	}
}

// applyDeadlines gives the attachment the deadlines set last. Called
// with mu held.
func (d *Conn) applyDeadlines() {
	if d.att != nil {
		_ = d.att.SetReadDeadline(fromUnixNano(d.readDeadline.Load()))
		_ = d.att.SetWriteDeadline(fromUnixNano(d.writeDeadline.Load()))
	}
}

// pastDeadline reports whether deadline (Unix nanoseconds, 0 for none)
// has passed.
func pastDeadline(deadline int64) bool {
	return deadline != 0 && time.Now().UnixNano() >= deadline
}

// rawFunc calls f with the descriptor until f returns true; after a
// false, it waits through the attachment, whose RawConn calls f with a
// duplicate of the same socket until it returns true.
func (d *Conn) rawFunc(write bool, f func(fd uintptr) bool) error {
	fd, err := d.acquire()
	if err != nil {
		return err
	}
	defer d.release()
	deadline := &d.readDeadline
	if write {
		deadline = &d.writeDeadline
	}
	if pastDeadline(deadline.Load()) {
		return os.ErrDeadlineExceeded
	}
	if f(uintptr(fd)) {
		return nil
	}
	att, err := d.attach(fd)
	if err != nil {
		return err
	}
	defer d.detachWait()
	raw, err := att.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	if write {
		err = raw.Write(f)
	} else {
		err = raw.Read(f)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Err // rawError wraps it again, with this Conn's addresses
	}
	return err
}

// Read reads into b, waiting until something is there.
func (d *Conn) Read(b []byte) (int, error) {
	var n int
	var rerr error
	err := d.rawFunc(false, func(fd uintptr) bool {
		for {
			n, rerr = unix.Read(int(fd), b)
			switch {
			case rerr == unix.EINTR:
				continue
			case rerr == unix.EAGAIN:
				return false
			case rerr == nil && n == 0 && len(b) > 0:
				rerr = io.EOF
			}
			return true
		}
	})
	if err == nil {
		err = rerr
	}
	if err != nil && err != io.EOF {
		return max(n, 0), d.opError("read", err)
	}
	return max(n, 0), err
}

// Write writes all of b, waiting while the socket's buffer is full.
func (d *Conn) Write(b []byte) (int, error) {
	var n int
	var werr error
	err := d.rawFunc(true, func(fd uintptr) bool {
		for n < len(b) {
			m, err := unix.Write(int(fd), b[n:])
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return false
			case err != nil:
				werr = err
				return true
			}
			n += m
		}
		return true
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return n, d.opError("write", err)
	}
	return n, nil
}

// opError wraps err as the net package does a connection's errors, so
// that callers that look for a net.Error (a timeout, a drop) find one.
func (d *Conn) opError(op string, err error) error {
	if errno, ok := err.(unix.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: d.laddr, Addr: d.raddr, Err: err}
}

// LocalAddr returns the local address of the connection it came from.
func (d *Conn) LocalAddr() net.Addr { return d.laddr }

// RemoteAddr returns the remote address of the connection it came from.
func (d *Conn) RemoteAddr() net.Addr { return d.raddr }

// SetDeadline sets both deadlines.
func (d *Conn) SetDeadline(t time.Time) error {
	d.readDeadline.Store(unixNano(t))
	return d.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline; the zero time means none. It
// applies to a wait under way too.
func (d *Conn) SetReadDeadline(t time.Time) error {
	d.readDeadline.Store(unixNano(t))
	d.mu.Lock()
	d.applyDeadlines()
	d.mu.Unlock()
	return nil
}

// SetWriteDeadline sets the write deadline; the zero time means none. It
// applies to a wait under way too.
func (d *Conn) SetWriteDeadline(t time.Time) error {
	d.writeDeadline.Store(unixNano(t))
	d.mu.Lock()
	d.applyDeadlines()
	d.mu.Unlock()
	return nil
}

// SetWriteBuffer sets the socket's send buffer size (SO_SNDBUF), as
// net.TCPConn's does.
func (d *Conn) SetWriteBuffer(bytes int) error {
	return d.control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, bytes)
	})
}

// unixNano returns t in Unix nanoseconds, 0 for the zero time, 1 for a
// time before 1970 (already past).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// control calls f with the descriptor, held open for the call.
func (d *Conn) control(f func(fd uintptr)) error {
	fd, err := d.acquire()
	if err != nil {
		return err
	}
	defer d.release()
	f(uintptr(fd))
	return nil
}

// SyscallConn returns the connection as a syscall.RawConn: its Read and
// Write call their function with the descriptor, and wait through the
// runtime's poller when it returns false, as a net.Conn's RawConn does.
func (d *Conn) SyscallConn() (syscall.RawConn, error) { return rawConn{d}, nil }

type rawConn struct{ d *Conn }

func (r rawConn) Control(f func(fd uintptr)) error {
	return r.d.rawError("raw-control", r.d.control(f))
}

func (r rawConn) Read(f func(fd uintptr) bool) error {
	return r.d.rawError("raw-read", r.d.rawFunc(false, f))
}

func (r rawConn) Write(f func(fd uintptr) bool) error {
	return r.d.rawError("raw-write", r.d.rawFunc(true, f))
}

// rawError wraps a RawConn method's error as the net package does.
func (d *Conn) rawError(op string, err error) error {
	if err == nil {
		return nil
	}
	return d.opError(op, err)
}
