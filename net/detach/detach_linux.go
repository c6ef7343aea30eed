//go:build linux

package detach

import (
	"io"
	"net"
	"os"
	"sync"
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
// for the wait: a second duplicate opened as an *os.File, whose raw calls
// park the goroutine as a net.Conn's do and honour the deadlines; the
// attachment is let go when no wait uses it any more. A connection that
// seldom waits (a game server's client that reads its snapshots) thus
// costs the runtime's poller nothing, and one that stalls holds a parked
// goroutine, never a thread. Only where no descriptor can be spared for
// the attachment (the process at its limit of open files) does a wait
// block its thread, in poll(2), under the same deadline.
//
// The descriptor lives until Close and the last use that began before
// it: Close shuts the socket down, which ends any wait on it, and the
// descriptor is closed by whichever of Close and that use ends last, so
// that no use can reach a number reused by another file.
type Conn struct {
	fd           int // static
	laddr, raddr net.Addr

	// rmu and wmu keep each Read and each Write whole, as a net.Conn's
	// are: another Write's first attempt must not land inside a Write
	// that waits.
	rmu, wmu sync.Mutex

	mu     sync.Mutex
	refs   int  // uses under way; guarded by mu
	closed bool // guarded by mu
	// att is the attachment while some wait uses it (attRefs of them),
	// nil otherwise. Guarded by mu.
	att     *os.File
	attRefs int
	// The deadlines, the zero time for none; guarded by mu. Kept as
	// times, monotonic readings included, so that a step of the wall
	// clock moves none of them.
	readDeadline, writeDeadline time.Time
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
		nfd, dupErr = dup(int(fd))
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

// dup duplicates a descriptor, close-on-exec. A variable, so that a test
// can make it fail as a process at its limit of open files does.
var dup = func(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }

// errClosed is the error of a use after Close, as a net.Conn's is.
var errClosed = net.ErrClosed

// acquire begins a use of the descriptor, returning it and the deadline
// of the use's direction; release ends it.
func (d *Conn) acquire(write bool) (int, time.Time, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return -1, time.Time{}, errClosed
	}
	d.refs++
	return d.fd, d.deadline(write), nil
}

func (d *Conn) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refs--
	if d.closed && d.refs == 0 {
		unix.Close(d.fd)
	}
}

// deadline returns the read or write deadline. Called with mu held.
func (d *Conn) deadline(write bool) time.Time {
	if write {
		return d.writeDeadline
	}
	return d.readDeadline
}

func (d *Conn) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
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

// Discard closes a Conn that was made but is not to be used, without
// shutting the socket down: the net.TCPConn it came from stays in
// charge of it.
func (d *Conn) Discard() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	if d.refs == 0 {
		unix.Close(d.fd)
	}
}

// attach returns the socket opened in the runtime's poller for a wait,
// opening it for the first of the waits under way; detachWait lets it go
// after the last. The caller has a use under way (acquire), so fd stays
// open without mu, which the system calls of the opening do not hold.
func (d *Conn) attach(fd int) (*os.File, error) {
	d.mu.Lock()
	if d.att != nil {
		d.attRefs++
		att := d.att
		d.mu.Unlock()
		return att, nil
	}
	d.mu.Unlock()
	nfd, err := dup(fd)
	if err != nil {
		return nil, os.NewSyscallError("fcntl", err)
	}
	// A non-blocking descriptor: os.NewFile registers it with the
	// runtime's poller, and its raw calls wait there.
	f := os.NewFile(uintptr(nfd), "detach")
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.att != nil { // another wait attached meanwhile
		defer f.Close()
		d.attRefs++
		return d.att, nil
	}
	d.att, d.attRefs = f, 1
	d.applyDeadlines()
	return f, nil
}

func (d *Conn) detachWait() {
	d.mu.Lock()
	d.attRefs--
	var last *os.File
	if d.attRefs == 0 {
		last, d.att = d.att, nil
	}
	d.mu.Unlock()
	if last != nil {
		last.Close()
	}
}

// applyDeadlines gives the attachment the deadlines set last (runtime
// timers, no system call). Called with mu held.
func (d *Conn) applyDeadlines() {
	if d.att != nil {
		_ = d.att.SetReadDeadline(d.readDeadline)
		_ = d.att.SetWriteDeadline(d.writeDeadline)
	}
}

// past reports whether deadline (the zero time for none) has passed.
func past(deadline time.Time) bool {
	return !deadline.IsZero() && !time.Now().Before(deadline)
}

// rawFunc calls f with the descriptor until f returns true; after a
// false, it waits through the attachment, whose raw calls call f with a
// duplicate of the same socket until it returns true (or in poll(2)
// where there is no descriptor for an attachment).
func (d *Conn) rawFunc(write bool, f func(fd uintptr) bool) error {
	fd, deadline, err := d.acquire(write)
	if err != nil {
		return err
	}
	defer d.release()
	if past(deadline) {
		return os.ErrDeadlineExceeded
	}
	if f(uintptr(fd)) {
		return nil
	}
	if att, aerr := d.attach(fd); aerr == nil {
		defer d.detachWait()
		raw, rerr := att.SyscallConn()
		switch {
		case rerr != nil:
			err = rerr
		case write:
			err = raw.Write(f)
		default:
			err = raw.Read(f)
		}
	} else {
		err = d.pollWait(fd, write, f)
	}
	return err
}

// pollWaitSlice bounds one poll(2) of pollWait, so that a Close or a
// deadline set during the wait is seen within it.
const pollWaitSlice = 100 * time.Millisecond

// pollWait waits in poll(2) for the socket and calls f until it returns
// true, under the direction's deadline: the wait of a process with no
// descriptor to spare for an attachment, which holds its thread.
func (d *Conn) pollWait(fd int, write bool, f func(fd uintptr) bool) error {
	events := int16(unix.POLLIN)
	if write {
		events = unix.POLLOUT
	}
	for {
		d.mu.Lock()
		closed, deadline := d.closed, d.deadline(write)
		d.mu.Unlock()
		if closed {
			return errClosed
		}
		wait := pollWaitSlice
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			wait = min(wait, left)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, int((wait+time.Millisecond-1)/time.Millisecond))
		switch {
		case err == unix.EINTR || n == 0:
			continue
		case err != nil:
			return os.NewSyscallError("poll", err)
		}
		if f(uintptr(fd)) {
			return nil
		}
	}
}

// Read reads into b, waiting until something is there.
func (d *Conn) Read(b []byte) (int, error) {
	d.rmu.Lock()
	defer d.rmu.Unlock()
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
	if err != nil && d.isClosed() {
		err = errClosed // Close's shutdown ended it, as a net.Conn's Close does
	}
	if err != nil && err != io.EOF {
		return max(n, 0), d.opError("read", err)
	}
	return max(n, 0), err
}

// Write writes all of b, waiting while the socket's buffer is full.
func (d *Conn) Write(b []byte) (int, error) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
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
	if err != nil && d.isClosed() {
		err = errClosed // Close's shutdown ended it, as a net.Conn's Close does
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

// SetDeadline sets both deadlines; see SetReadDeadline.
func (d *Conn) SetDeadline(t time.Time) error {
	return d.setDeadlines(&t, &t)
}

// SetReadDeadline sets the read deadline; the zero time means none. It
// applies to a wait under way too.
func (d *Conn) SetReadDeadline(t time.Time) error {
	return d.setDeadlines(&t, nil)
}

// SetWriteDeadline sets the write deadline; the zero time means none. It
// applies to a wait under way too.
func (d *Conn) SetWriteDeadline(t time.Time) error {
	return d.setDeadlines(nil, &t)
}

func (d *Conn) setDeadlines(read, write *time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.opError("set deadline", errClosed)
	}
	if read != nil {
		d.readDeadline = *read
	}
	if write != nil {
		d.writeDeadline = *write
	}
	d.applyDeadlines()
	return nil
}

// SetWriteBuffer sets the socket's send buffer size (SO_SNDBUF), as
// net.TCPConn's does.
func (d *Conn) SetWriteBuffer(bytes int) error {
	var serr error
	if err := d.control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, bytes)
	}); err != nil {
		return d.opError("set", err)
	}
	if serr != nil {
		return d.opError("set", os.NewSyscallError("setsockopt", serr))
	}
	return nil
}

// control calls f with the descriptor, held open for the call.
func (d *Conn) control(f func(fd uintptr)) error {
	fd, _, err := d.acquire(false)
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
