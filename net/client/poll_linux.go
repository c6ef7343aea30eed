//go:build linux

package client

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shatter/shatter/net/detach"
)

// PollGroup reads the connections of many clients (Options.Poll) on a few
// loops, each a goroutine with an epoll instance of its own, instead of a
// goroutine per client parked in the runtime's poller and woken for every
// frame: a load generator's thousands of bots get thirty frames a second
// each, and a wake-up, a netpoll and a scheduling per frame were most of
// what a bot cost to read. A client's read loop registers its connection
// with one of the loops and waits on a channel; the loop reads the socket
// when epoll says it has something, handles every whole message (the
// client's state, its callbacks) and, when the connection ends, hands the
// end back to the client's read loop, which follows a move, reconnects or
// ends as it would without a group.
//
// Each loop paces itself while frames arrive: after a look at its epoll
// instance that found sockets to read, it handles them, sleeps
// PollOptions.Pace and looks again without waiting, so that one wake-up
// takes every frame that came meanwhile and a server writing to a bot's
// socket seldom has a sleeping reader to wake (the wake-up is paid in the
// writer's system call). A look that finds nothing waits in epoll_wait
// for PollOptions.IdleWait at most, so that an idle group costs nothing
// and notices Close.
//
// Registrations are edge-triggered (EPOLLET) and carry a number of their
// own, not the socket's, which is reused once the socket is closed. A
// pass reads until a read comes back short of the buffer, which empties
// the socket, so that any later arrival is a new edge (after the peer
// hung up, until a read finds nothing or the end: the close may have come
// with the data). A pass reads the socket within syscall.RawConn.Read, so
// that the runtime holds the descriptor open while it does; a Close
// meanwhile takes effect after the pass.
//
// The loops are the group's: NewPollGroup starts them, Close stops them.
// Close the group after its clients have ended: Close hands a client
// still registered back to its own read loop, which then reads as without
// a group. Where epoll is missing (not on Linux) a group starts nothing
// and its clients read as without one.
type PollGroup struct {
	opts   PollOptions    // static after NewPollGroup
	loops  []*pollLoop    // static after NewPollGroup
	next   atomic.Uint32  // the loop that took the last registration
	lastID atomic.Uint64  // the last registration number given
	stop   sync.Once      // Close's
	exited sync.WaitGroup // the loops
}

// pollLoop is one loop of a PollGroup: its epoll instance and the
// registrations in it.
type pollLoop struct {
	g       *PollGroup  // static
	epfd    int         // static; closed by run when it exits
	stopped atomic.Bool // set by Close: run exits

	mu     sync.Mutex
	regs   map[uint64]*pollReg // registered connections by number; guarded by mu
	closed bool                // run has exited: no registration is taken; guarded by mu
}

// pollReg is a client's registration with a loop of its group, for one
// connection at a time (Client.polled, made ready by readPolled).
type pollReg struct {
	// Set by the client's read loop before each registration; static
	// while it lasts.
	c    *Client
	raw  syscall.RawConn
	pass func(fd uintptr) bool // made once per client, so that a pass allocates nothing
	ev   unix.EpollEvent
	loop *pollLoop

	// mu is held while a pass runs and to end the registration, so that
	// one pass at most reads the connection at any moment and none
	// reads it after its end.
	mu     sync.Mutex
	id     uint64 // the registration's number; guarded by mu
	ended  bool   // no pass runs any more; guarded by mu
	hangup bool   // the peer hung up: passes read to the end; guarded by mu
	err    error  // a pass's end of the connection; owned by the pass
	more   bool   // the pass stopped at maxPassReads with the socket not empty; owned by the pass
	// quit is set when the client stops (Close, its context), so that a
	// pass over a socket that never runs dry ends.
	quit atomic.Bool
	// end carries the reason a loop ended the registration (the
	// connection's end, or errHandBack) to the client's read loop.
	// Capacity 1: made once per client, empty between registrations.
	end chan error
}

// pollEvents is what a registration waits for, each time anew.
const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET

// pollBatch is how many events one look at an epoll instance takes.
const pollBatch = 256

// maxPassReads bounds the reads of one pass, so that a socket that never
// runs dry (a server writing as fast as the client reads) cannot keep its
// loop from the others: the loop comes back to it after the pace.
const maxPassReads = 16

// NewPollGroup makes a poll group and starts its loops, which run until
// Close.
func NewPollGroup(opts PollOptions) (*PollGroup, error) {
	g := &PollGroup{opts: opts.withDefaults()}
	for range g.opts.Loops {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			for _, l := range g.loops {
				unix.Close(l.epfd)
			}
			return nil, fmt.Errorf("client: poll group: %w", os.NewSyscallError("epoll_create1", err))
		}
		g.loops = append(g.loops, &pollLoop{g: g, epfd: fd, regs: map[uint64]*pollReg{}})
	}
	for _, l := range g.loops {
		// Owned by the group; exits within IdleWait (or a pace) of Close.
		g.exited.Go(l.run)
	}
	return g, nil
}

// Close stops the group's loops and waits for them to exit, which takes
// up to PollOptions.IdleWait. A client still registered is handed back
// to its own read loop, which reads on as without a group; clients that
// dial with the group after Close read without it. It is safe to call
// more than once and from any goroutine except a client's callback.
func (g *PollGroup) Close() error {
	g.stop.Do(func() {
		for _, l := range g.loops {
			l.stopped.Store(true)
		}
	})
	g.exited.Wait()
	return nil
}

// closing reports whether Close has been called: the group takes no new
// registration.
func (g *PollGroup) closing() bool { return g.loops[0].stopped.Load() }

// register adds p's connection to a loop of g, the loops taken in turn.
// It reports false when the loop has exited or epoll refuses: the client
// then reads without the group.
func (g *PollGroup) register(p *pollReg) bool {
	l := g.loops[g.next.Add(1)%uint32(len(g.loops))]
	id := g.lastID.Add(1)
	p.mu.Lock()
	p.id, p.ended, p.hangup, p.loop = id, false, false, l
	p.mu.Unlock()
	p.ev = unix.EpollEvent{Events: pollEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	// In the map before the ADD, which reports a socket that is ready
	// already at once.
	l.regs[id] = p
	var ctlErr error
	// Through Control, which holds the socket open for the call: a
	// number of a closed socket could name another one by now.
	if err := p.raw.Control(func(fd uintptr) { ctlErr = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, int(fd), &p.ev) }); err != nil || ctlErr != nil {
		delete(l.regs, id)
		return false
	}
	return true
}

// remove takes p's connection out of l. A socket closed already has left
// the epoll instance, as has every socket of a loop that exited.
func (l *pollLoop) remove(p *pollReg, id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.regs[id] != p {
		return
	}
	delete(l.regs, id)
	_ = p.raw.Control(func(fd uintptr) { _ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) })
}

// pollReady is a registration a look found ready, with its number then.
type pollReady struct {
	p      *pollReg
	id     uint64
	hangup bool
}

// quietLooks is how many paced looks in a row may find nothing before a
// loop waits for its instance instead (as net/session's poller does).
const quietLooks = 8

// run is a loop: it reads the ready connections until Close, then hands
// the registered ones back (shutdown).
func (l *pollLoop) run() {
	defer l.shutdown()
	events := make([]unix.EpollEvent, pollBatch)
	ready := make([]pollReady, 0, pollBatch)
	var again []pollReady // passes that stopped at maxPassReads: read again next round
	idle := max(time.Millisecond, l.g.opts.IdleWait)
	// Waits park in the runtime's poller, as net/session's poller's do
	// (detach.EpollWaiter): a wait in epoll_wait(2) itself would keep the
	// processor from the bots' senders while it lasts.
	waiter := detach.NewEpollWaiter(l.epfd)
	timeout := idle
	quiet := 0 // paced looks in a row that found nothing
	for !l.stopped.Load() {
		if len(again) > 0 {
			timeout = 0
		}
		n, err := waiter.Wait(events, timeout)
		if err != nil {
			// Not with a valid instance; should it come, it comes again
			// at most every idle wait, not in a spin.
			time.Sleep(idle)
			n = 0
		}
		if n == 0 && len(again) == 0 {
			// Frames come in bursts, a tick's, often more than a pace
			// apart: the loop stays paced for a few looks before it
			// pays for a parked wait (detach.EpollWaiter).
			if quiet++; timeout == 0 && quiet < quietLooks {
				time.Sleep(l.g.opts.Pace)
				continue
			}
			timeout = idle
			continue
		}
		quiet = 0
		ready = append(ready, again...)
		clear(again)
		again = again[:0]
		l.mu.Lock()
		for i := range events[:n] {
			ev := &events[i]
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if p := l.regs[id]; p != nil {
				ready = append(ready, pollReady{p: p, id: id, hangup: ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0})
			}
		}
		l.mu.Unlock()
		for i := range ready {
			if l.runPass(&ready[i]) {
				again = append(again, ready[i])
			}
		}
		clear(ready)
		ready = ready[:0]
		if n < len(events) {
			time.Sleep(l.g.opts.Pace)
		}
		timeout = 0
	}
}

// runPass runs a pass over a ready connection, unless its registration
// ended since the look, and ends the registration when the pass ended
// the connection's reading here. It reports whether the pass stopped
// with the socket not empty, to be run again.
func (l *pollLoop) runPass(r *pollReady) (more bool) {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended || p.id != r.id {
		return false
	}
	p.hangup = p.hangup || r.hangup
	err := p.c.pollPass()
	if err == nil {
		return p.more
	}
	p.ended = true
	l.remove(p, p.id)
	p.end <- err
	return false
}

// shutdown takes no more registrations, hands the registered connections
// back to their clients' read loops, and closes the epoll instance.
func (l *pollLoop) shutdown() {
	l.mu.Lock()
	l.closed = true
	regs := l.regs
	l.regs = nil
	l.mu.Unlock()
	for _, p := range regs {
		p.mu.Lock()
		if !p.ended {
			p.ended = true
			p.end <- errHandBack
		}
		p.mu.Unlock()
	}
	unix.Close(l.epfd)
}

// readPolled is read for a connection with a raw socket when the client
// has a poll group: a first pass here reads what came with the handshake
// and what the socket holds, then the connection is registered with a
// loop of the group, which runs the passes from then on, and the read
// loop waits for its end. A connection the group hands back (a moved to
// follow, the group's Close) or cannot take is read on as readRaw does.
func (c *Client) readPolled(raw syscall.RawConn) error {
	p := &c.polled
	if p.pass == nil {
		p.init(c)
	}
	c.startRaw()
	if c.opts.Poll.opts.Detach && !c.opts.Poll.closing() {
		// Not once the group closes: a connection it cannot take is read
		// on its own goroutine, where a detached socket's every wait
		// would attach it to the runtime's poller anew (net/detach).
		raw = c.detach(raw)
	}
	p.raw = raw
	p.quit.Store(false)
	p.mu.Lock()
	p.hangup = false
	p.mu.Unlock()
	err := c.pollPass()
	if err == nil && !c.opts.Poll.register(p) {
		err = errHandBack
	}
	if err == nil {
		select {
		case err = <-p.end:
		case <-c.life.Done():
			// Close or the context: stop is sending the close frame
			// and then closes the connection, which a pass may be
			// reading still (quit ends it); once it is over, no other
			// starts. The connection is read on here, as readRaw
			// does, until stop has closed it: closing it first (the
			// read loop's end) could cut the close frame off.
			p.quit.Store(true)
			p.mu.Lock()
			if p.ended {
				err = <-p.end
			} else {
				p.ended = true
				p.loop.remove(p, p.id)
				err = errHandBack
			}
			p.mu.Unlock()
		}
	}
	if err != errHandBack {
		return err
	}
	return c.readRawOn(raw)
}

// init makes p's pass, the callback of syscall.RawConn.Read that reads
// c's connection: it handles every whole frame in the buffer and reads
// the socket until a read comes back short (to the end after a hangup),
// and stops early when the connection ends or a moved is to be followed.
// It never waits: the loop's epoll says when to read again.
func (p *pollReg) init(c *Client) {
	p.c = c
	p.end = make(chan error, 1)
	rr := &c.raw
	p.pass = func(fd uintptr) bool {
		for reads := 0; ; reads++ {
			if p.err = c.takeFrames(); p.err != nil || c.move.next != nil {
				return true
			}
			if rr.drained && !p.hangup {
				rr.drained = false
				return true
			}
			if reads == maxPassReads || p.quit.Load() {
				p.more = true // The socket may hold more: come back.
				return true
			}
			empty, err := rr.fill(fd)
			if err != nil {
				p.err = err
				return true
			}
			if empty {
				rr.drained = false
				return true
			}
		}
	}
}

// pollPass runs one pass over the connection: nil when its reading goes
// on, errHandBack when a moved is to be followed, or the error that ended
// it. Its caller owns the client's reading state: the read loop before
// the registration, the loop holding c.polled.mu after.
func (c *Client) pollPass() error {
	p := &c.polled
	p.err, p.more = nil, false
	if err := p.raw.Read(p.pass); err != nil {
		return err // Closed, or past a read deadline.
	}
	if p.err == nil && c.move.next != nil {
		return errHandBack
	}
	return p.err
}
