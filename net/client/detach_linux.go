//go:build linux

package client

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"golang.org/x/sys/unix"

	"github.com/shatter/shatter/net/wire"
)

// detachedConn is a TCP connection taken out of the Go runtime's poller
// (PollOptions.Detach): a duplicate of the socket's descriptor, the
// net.Conn it came from closed. The runtime's poller then never hears of
// the socket, so that a frame arriving while no loop waits wakes no
// thread of the client's process: neither the runtime's epoll_wait nor
// the writer's system call, on the server's side, pays for one.
//
// It implements net.Conn and syscall.Conn (its RawConn is itself) in
// plain system calls: a read or write that must wait does so in poll(2),
// which blocks its thread, so it is meant for a poll group's clients,
// whose reads never wait and whose small writes seldom do.
//
// The descriptor lives until Close and the last use that began before
// it: Close shuts the socket down, which wakes any poll(2) waiting on
// it, and the descriptor is closed by whichever of Close and that use
// ends last, so that no use can reach a number reused by another file.
// Deadlines are read when a wait begins; one set while a wait is under
// way applies from the next.
type detachedConn struct {
	mu     sync.Mutex
	fd     int  // static
	refs   int  // uses under way; guarded by mu
	closed bool // guarded by mu

	readDeadline, writeDeadline atomic.Int64 // Unix nanoseconds; 0 for none

	laddr, raddr net.Addr // static
}

// errDetachedClosed is the error of a use of a detachedConn after its
// Close, as net.ErrClosed is a net.Conn's.
var errDetachedClosed = net.ErrClosed

// detach takes c's connection, a *net.TCPConn, out of the runtime's
// poller: the connection's descriptor duplicated into a detachedConn,
// which becomes c.conn with a writer of its own, and the net.Conn closed.
// It returns the RawConn to read on, or raw and nothing changed when the
// connection is not a TCP one, the duplication fails, or the client has
// been stopped. Only the reading goroutine calls it, before the first
// pass over the connection.
func (c *Client) detach(raw syscall.RawConn) syscall.RawConn {
	tc, ok := c.conn.(*net.TCPConn)
	if !ok {
		return raw
	}
	nfd := -1
	if err := raw.Control(func(fd uintptr) {
		nfd, _ = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil || nfd < 0 {
		return raw
	}
	d := &detachedConn{fd: nfd, laddr: tc.LocalAddr(), raddr: tc.RemoteAddr()}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if stopped != nil {
		// stop closes c.conn after setting stopped, under writeMu: the
		// connection ends anyway.
		unix.Close(nfd)
		return raw
	}
	c.conn = d
	c.writeDeadline = time.Time{}
	c.wr = wsutil.NewWriterSize(d, ws.StateClientSide, ws.OpBinary, wire.MaxClientFrameSize)
	// Closing the net.Conn takes the socket out of the runtime's epoll
	// and closes its descriptor; the duplicate keeps the socket open.
	tc.Close()
	return detachedRaw{d}
}

// acquire begins a use of the descriptor; release ends it.
func (d *detachedConn) acquire() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return -1, errDetachedClosed
	}
	d.refs++
	return d.fd, nil
}

func (d *detachedConn) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refs--
	if d.closed && d.refs == 0 {
		unix.Close(d.fd)
	}
}

// Close shuts the socket down, waking any wait on it, and closes the
// descriptor once no use is under way. It returns net.ErrClosed after
// the first call.
func (d *detachedConn) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errDetachedClosed
	}
	d.closed = true
	_ = unix.Shutdown(d.fd, unix.SHUT_RDWR)
	if d.refs == 0 {
		unix.Close(d.fd)
	}
	return nil
}

// wait waits in poll(2) for events on fd until deadline (Unix
// nanoseconds, 0 for none), returning os.ErrDeadlineExceeded when it
// passes and net.ErrClosed when Close came meanwhile.
func (d *detachedConn) wait(fd int, events int16, deadline int64) error {
	for {
		timeout := -1
		if deadline != 0 {
			left := time.Until(time.Unix(0, deadline))
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			timeout = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, timeout)
		d.mu.Lock()
		closed := d.closed
		d.mu.Unlock()
		switch {
		case closed:
			return errDetachedClosed
		case err == unix.EINTR || n == 0:
			continue // The deadline is checked above.
		case err != nil:
			return os.NewSyscallError("poll", err)
		}
		return nil
	}
}

// pastDeadline reports whether deadline (Unix nanoseconds, 0 for none)
// has passed.
func pastDeadline(deadline int64) bool {
	return deadline != 0 && time.Now().UnixNano() >= deadline
}

// readFunc calls f with the descriptor until f returns true, waiting
// for the socket to be readable after each false, as syscall.RawConn's
// Read does.
func (d *detachedConn) readFunc(f func(fd uintptr) bool) error {
	fd, err := d.acquire()
	if err != nil {
		return err
	}
	defer d.release()
	for {
		if pastDeadline(d.readDeadline.Load()) {
			return os.ErrDeadlineExceeded
		}
		if f(uintptr(fd)) {
			return nil
		}
		if err := d.wait(fd, unix.POLLIN, d.readDeadline.Load()); err != nil {
			return err
		}
	}
}

// writeFunc calls f with the descriptor until f returns true, waiting
// for the socket to be writable after each false.
func (d *detachedConn) writeFunc(f func(fd uintptr) bool) error {
	fd, err := d.acquire()
	if err != nil {
		return err
	}
	defer d.release()
	for {
		if pastDeadline(d.writeDeadline.Load()) {
			return os.ErrDeadlineExceeded
		}
		if f(uintptr(fd)) {
			return nil
		}
		if err := d.wait(fd, unix.POLLOUT, d.writeDeadline.Load()); err != nil {
			return err
		}
	}
}

// control calls f with the descriptor, held open for the call.
func (d *detachedConn) control(f func(fd uintptr)) error {
	fd, err := d.acquire()
	if err != nil {
		return err
	}
	defer d.release()
	f(uintptr(fd))
	return nil
}

// Read reads into b, waiting until something is there.
func (d *detachedConn) Read(b []byte) (int, error) {
	var n int
	var rerr error
	err := d.readFunc(func(fd uintptr) bool {
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
func (d *detachedConn) Write(b []byte) (int, error) {
	var n int
	var werr error
	err := d.writeFunc(func(fd uintptr) bool {
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
func (d *detachedConn) opError(op string, err error) error {
	if errno, ok := err.(unix.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: d.laddr, Addr: d.raddr, Err: err}
}

// LocalAddr returns the local address of the connection it came from.
func (d *detachedConn) LocalAddr() net.Addr { return d.laddr }

// RemoteAddr returns the remote address of the connection it came from.
func (d *detachedConn) RemoteAddr() net.Addr { return d.raddr }

// SetDeadline sets both deadlines; see detachedConn for when they apply.
func (d *detachedConn) SetDeadline(t time.Time) error {
	d.SetReadDeadline(t)
	return d.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline; the zero time means none.
func (d *detachedConn) SetReadDeadline(t time.Time) error {
	d.readDeadline.Store(unixNano(t))
	return nil
}

// SetWriteDeadline sets the write deadline; the zero time means none.
func (d *detachedConn) SetWriteDeadline(t time.Time) error {
	d.writeDeadline.Store(unixNano(t))
	return nil
}

// unixNano returns t in Unix nanoseconds, 0 for the zero time, 1 for a
// time before 1970 (already past).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

// SyscallConn returns the connection as a syscall.RawConn.
func (d *detachedConn) SyscallConn() (syscall.RawConn, error) { return detachedRaw{d}, nil }

// detachedRaw is a detachedConn as a syscall.RawConn, whose Read and
// Write take callbacks where the net.Conn's take bytes.
type detachedRaw struct{ d *detachedConn }

func (r detachedRaw) Control(f func(fd uintptr)) error {
	return r.d.rawError("raw-control", r.d.control(f))
}

func (r detachedRaw) Read(f func(fd uintptr) bool) error {
	return r.d.rawError("raw-read", r.d.readFunc(f))
}

func (r detachedRaw) Write(f func(fd uintptr) bool) error {
	return r.d.rawError("raw-write", r.d.writeFunc(f))
}

// rawError wraps a RawConn method's error as the net package does.
func (d *detachedConn) rawError(op string, err error) error {
	if err == nil {
		return nil
	}
	return d.opError(op, err)
}
