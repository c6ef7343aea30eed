package session

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shatter/shatter/net/detach"
)

// poller is the Env's epoll instance: sessions on plain TCP sockets are
// read when the kernel says they have something to read, instead of each
// holding a goroutine blocked in Read (see read.go). It is a small epoll
// loop of our own over golang.org/x/sys/unix: github.com/mailru/easygo,
// the poller gobwas/ws was built to pair with, is not served by the
// module proxy this project builds from.
//
// Every connection is registered edge-triggered (EPOLLET): the kernel
// reports each arrival of data once, and no system call re-arms the
// registration after a pass. A pass reads until a read comes back short
// of its buffer, which empties the socket, so any later arrival is a new
// edge (and, once the client's end hung up, until a read finds nothing
// or the end: the close may have come with the data); one that comes
// while a pass reads makes the pass read again (scheduleRead's states), so one pass at most reads a session at any
// moment and none is lost.
// Registrations carry a number of their own, not the socket's, since a
// socket's number is reused once it is closed.
//
// The epoll instance and its goroutine (wait) exist only while some
// connection is registered: the first registration makes them, and
// removing the last wakes the goroutine (an eventfd), which closes the
// instance and exits. A
// server that shut down holds neither, and tests whose connections are
// not sockets never start them.
type poller struct {
	mu sync.Mutex
	// inst is the epoll instance, nil while no connection is registered.
	// Guarded by mu.
	inst  *epollInstance
	conns map[uint64]*Conn // registered sessions by registration number; guarded by mu
	next  uint64           // the last registration number given; guarded by mu
}

// epollInstance is one epoll descriptor, the eventfd that wakes its
// goroutine (wait) when it is let go, and the flag that says so. Its
// goroutine closes both descriptors when it exits, so that no wait can
// find a number reused by another file.
type epollInstance struct {
	fd, wake int
	stopped  atomic.Bool // the instance has no connection left: wait exits
}

// wakeID is the wake eventfd's registration number: sessions' start at 1.
const wakeID = 0

// pollEvents is what a registration waits for, each time anew.
const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET

// pollSys is a polled session's socket, for its read passes.
//
// Static after register, but n and err, which belong to the read pass.
type pollSys struct {
	raw syscall.RawConn
	ev  unix.EpollEvent
	// read is made once, so that a pass allocates nothing.
	read func(fd uintptr) bool
	buf  []byte
	n    int
	err  error
}

// poller returns the Env's poller.
func (e *Env) poller() *poller {
	e.pollOnce.Do(func() { e.poll = &poller{conns: map[uint64]*Conn{}} })
	return e.poll
}

// pollable reports whether conn is read through the poller: a plain TCP
// socket. Anything else (net.Pipe, a TLS wrapper that adds bytes of its
// own) keeps a reader goroutine.
func pollable(conn net.Conn) bool {
	switch conn.(type) {
	case *net.TCPConn, *detach.Conn:
		return true
	}
	return false
}

// register adds c's socket to the epoll instance, making the instance
// and its goroutine if there are none. It reports false when epoll
// refuses, and the session then keeps a reader goroutine.
func (p *poller) register(c *Conn) bool {
	sc, ok := c.conn.(syscall.Conn)
	if !ok || !pollable(c.conn) {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inst == nil {
		inst, err := newEpollInstance()
		if err != nil {
			return false
		}
		p.inst = inst
		// Owned by the poller; exits within pollPace of the removal of
		// the last connection (closeIfEmpty's wake).
		go p.wait(p.inst)
	}
	p.next++
	id := p.next
	s := &c.rd.sys
	s.raw = raw
	s.ev = unix.EpollEvent{Events: pollEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	s.read = func(fd uintptr) bool {
		for {
			s.n, s.err = unix.Read(int(fd), s.buf)
			if s.err != unix.EINTR {
				return true // never wait: the poller says when to read again
			}
		}
	}
	var ctlErr error
	// Through Control, which holds the socket open for the call: a
	// number of a closed socket could name another one by now.
	if err := raw.Control(func(fd uintptr) { ctlErr = unix.EpollCtl(p.inst.fd, unix.EPOLL_CTL_ADD, int(fd), &s.ev) }); err != nil || ctlErr != nil {
		p.closeIfEmpty()
		return false
	}
	c.rd.id = id
	p.conns[id] = c
	return true
}

// remove takes c's socket out of the epoll instance and closes the
// instance if it was the last. A socket closed already has left it.
func (p *poller) remove(c *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.conns[c.rd.id]; !ok {
		return
	}
	delete(p.conns, c.rd.id)
	_ = c.rd.sys.raw.Control(func(fd uintptr) { _ = unix.EpollCtl(p.inst.fd, unix.EPOLL_CTL_DEL, int(fd), nil) })
	p.closeIfEmpty()
}

// newEpollInstance makes an epoll instance with its wake eventfd
// registered.
func newEpollInstance() (*epollInstance, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeID}
	if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(wake)
		unix.Close(fd)
		return nil, err
	}
	return &epollInstance{fd: fd, wake: wake}, nil
}

// closeIfEmpty lets the epoll instance go when no connection is
// registered: its goroutine wakes, closes it and exits. Called with mu
// held.
func (p *poller) closeIfEmpty() {
	if len(p.conns) == 0 && p.inst != nil {
		// The wake goes first: wait closes the eventfd only once it has
		// seen stopped, and it cannot see it before this write is done.
		_, _ = unix.Write(p.inst.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		p.inst.stopped.Store(true)
		p.inst = nil
	}
}

// pollBatch is how many events one look at the instance takes.
const pollBatch = 128

// The poller paces itself while clients send: after a look that found
// something it sleeps pollPace and looks again without waiting, instead
// of waiting in epoll_wait for the next arrival. A waiting thread must be
// woken by the client's write, on another CPU, at each arrival (twenty
// inputs a second a player: tens of thousands of wake-ups a second, each
// paid by the writer's system call and by this side's scheduling), where
// a paced look takes every input that came in pollPace at the cost of one
// timer. It delays an input by pollPace/2 on average, against a tick of
// 33 ms. Once quietLooks looks in a row have found nothing, the poller
// waits for the instance, parked in the runtime's poller, until an
// arrival or the wake eventfd.
//
// Measured at 1,000 playing clients (docs/PERFORMANCE.md, "Fan-out"):
// 6% less server CPU a snap, and input-to-ack latency unchanged.
const pollPace = 2 * time.Millisecond

// quietLooks is how many paced looks in a row may find nothing before the
// poller waits for the instance instead. Inputs come in bursts (a client's
// animation frame, a load generator's slots) often further apart than
// pollPace; a parked wait costs the attachment of a duplicate of the
// instance to the runtime's poller and a wake through it (detach.
// EpollWaiter), 30% more server CPU a snap at 100 playing clients when
// the poller waited after every empty look.
const quietLooks = 8

// wait hands each readiness to its session's read side (scheduleRead)
// until inst is stopped, then closes it.
func (p *poller) wait(inst *epollInstance) {
	defer unix.Close(inst.wake)
	defer unix.Close(inst.fd)
	events := make([]unix.EpollEvent, pollBatch)
	// Waits park in the runtime's poller (detach.EpollWaiter): a wait in
	// epoll_wait(2) itself would keep the processor, and with one of them
	// the arenas' ticks and the snapshot workers would wait for the
	// runtime to take it back.
	waiter := detach.NewEpollWaiter(inst.fd)
	timeout := time.Duration(-1)
	quiet := 0 // paced looks in a row that found nothing
	for !inst.stopped.Load() {
		n, err := waiter.Wait(events, timeout)
		if err != nil {
			// Not with a valid instance; should it come, it repeats
			// until stopped, paced, not in a spin.
			time.Sleep(pollPace)
			n = 0
		}
		if n == 0 {
			if quiet++; timeout == 0 && quiet < quietLooks {
				time.Sleep(pollPace)
				continue
			}
			timeout = -1
			continue
		}
		quiet = 0
		p.mu.Lock()
		for i := range events[:n] {
			ev := &events[i]
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == wakeID {
				continue // stopped: seen at the loop's top
			}
			if c := p.conns[id]; c != nil {
				if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
					c.rd.hangup.Store(true)
				}
				c.scheduleRead()
			}
		}
		p.mu.Unlock()
		if n < len(events) && !inst.stopped.Load() {
			time.Sleep(pollPace)
		}
		timeout = 0
	}
}

// tryRead makes one read attempt that never waits: n > 0 bytes read,
// io.EOF when the client closed, errNoData when nothing waits, or the
// error that ended the connection.
func (s *pollSys) tryRead(b []byte) (int, error) {
	s.buf = b
	err := s.raw.Read(s.read)
	s.buf = nil
	switch {
	case err != nil:
		return 0, err
	case s.err == unix.EAGAIN:
		return 0, errNoData
	case s.err != nil:
		return 0, os.NewSyscallError("read", s.err)
	case s.n == 0:
		return 0, io.EOF
	}
	return s.n, nil
}
