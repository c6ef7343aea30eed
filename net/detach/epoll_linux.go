package detach

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// EpollWaiter waits for an epoll instance of the caller's own (an event
// loop that reads detached sockets) the way a detached socket waits:
// parked in the Go runtime's poller, holding neither a thread nor the
// runtime's processor. A goroutine that blocks in epoll_wait(2) keeps its
// processor until the runtime's monitor takes it back, which it does
// after 20 µs to 10 ms, and later while the monitor itself sleeps: where
// the process has one processor (GOMAXPROCS 1, a server pinned to one
// core) nothing else runs meanwhile, not even the timers, and an arena's
// tick started up to 18 ms late (docs/PERFORMANCE.md, "Fan-out").
//
// As a detached socket's, the instance is in the runtime's poller only
// while a wait lasts (a duplicate of it, opened as an *os.File): kept
// there, every readiness of every socket in it would be an event for the
// runtime's poller to take, and sometimes a thread to wake, while the
// loop is busy and needs none.
//
// An EpollWaiter is for one goroutine at a time.
type EpollWaiter struct {
	epfd   int
	look   func(fd uintptr) bool // the RawConn.Read callback: one look without waiting
	events []unix.EpollEvent
	n      int
	err    error
}

// NewEpollWaiter returns a waiter for the epoll instance epfd, which
// stays the caller's to close.
func NewEpollWaiter(epfd int) *EpollWaiter {
	w := &EpollWaiter{epfd: epfd}
	w.look = func(fd uintptr) bool {
		w.n, w.err = unix.EpollWait(int(fd), w.events, 0)
		if w.err == unix.EINTR {
			w.n, w.err = 0, nil
		}
		return w.n > 0 || w.err != nil
	}
	return w
}

// Wait fills events with the instance's ready events, waiting for the
// first as long as timeout at most (negative: until one comes) and
// returning 0 when none came in time. It looks first: readiness from
// before the call is never missed, and a look that finds some costs no
// more than epoll_wait(2) without a timeout. Should the process have no
// descriptor to spare for the wait, it waits in epoll_wait(2) itself.
func (w *EpollWaiter) Wait(events []unix.EpollEvent, timeout time.Duration) (int, error) {
	if len(events) == 0 {
		return 0, errors.New("detach: no room for events")
	}
	w.events = events
	defer func() { w.events = nil }()
	if w.look(uintptr(w.epfd)) || timeout == 0 {
		return w.result()
	}
	f, err := w.attach()
	if err != nil {
		return w.block(events, timeout)
	}
	defer f.Close()
	if timeout > 0 {
		f.SetReadDeadline(time.Now().Add(timeout))
	}
	raw, err := f.SyscallConn()
	if err == nil {
		err = raw.Read(w.look)
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return w.result()
}

// block is Wait in epoll_wait(2) itself, for when no duplicate can be
// attached: until an event or the timeout (negative: none), through the
// interruptions of signals (the runtime's own among them).
func (w *EpollWaiter) block(events []unix.EpollEvent, timeout time.Duration) (int, error) {
	end := time.Now().Add(timeout)
	for {
		ms := -1
		if timeout > 0 {
			ms = int((time.Until(end) + time.Millisecond - 1) / time.Millisecond)
			if ms <= 0 {
				return 0, nil
			}
		}
		n, err := unix.EpollWait(w.epfd, events, ms)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, os.NewSyscallError("epoll_wait", err)
		}
		return n, nil
	}
}

// result is Wait's return after a look that ended it.
func (w *EpollWaiter) result() (int, error) {
	if w.err != nil {
		return 0, os.NewSyscallError("epoll_wait", w.err)
	}
	return w.n, nil
}

// attach opens a duplicate of the instance in the runtime's poller.
func (w *EpollWaiter) attach() (*os.File, error) {
	nfd, err := dup(w.epfd)
	if err != nil {
		return nil, err
	}
	// A non-blocking descriptor: os.NewFile registers it with the
	// runtime's poller. (The flag is on the instance; epoll_wait(2)
	// ignores it.)
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, err
	}
	f := os.NewFile(uintptr(nfd), "epoll")
	// NewFile keeps a file the runtime's poller refused (the user's
	// limit of epoll watches reached, say) as a blocking one, which takes
	// no deadline: then the wait is made in epoll_wait(2) instead.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
