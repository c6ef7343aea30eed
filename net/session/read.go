package session

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/net/wsframe"
	"github.com/shatter/shatter/sim"
)

// A session on a plain TCP socket (on Linux) holds no reader goroutine
// and no read buffer while its client is silent: the Env's poller
// (poll_linux.go) calls scheduleRead when the socket has something to
// read, and a read pass then reads what is there without waiting,
// handles every whole frame of it with the same handler as readLoop,
// keeps the bytes of an incomplete frame, and reads again while a read
// fills its buffer.
//
// Read passes run on the session's shard worker, beside the write
// passes: reader and writer sides stay as independent of each other as
// readLoop and the writer are, and read passes of one session never
// overlap (the states below, as schedule's for writes). Until the hello
// has seated the session, a pass runs on a goroutine of its own instead,
// because the lobby's Join may wait (on the fleet's directory) and a
// worker must not.
//
// The deadlines readLoop gets from SetReadDeadline are timers here: the
// hello's (HelloTimeout, then no_hello), and once the server has sent
// its close frame, the wait for the client to close (CloseTimeout), in
// which whatever the client sends is read and dropped, as Serve does.
const (
	rdIdle    int32 = iota // waiting for the poller
	rdQueued               // a pass is due
	rdRunning              // a pass is reading
	rdAgain                // a pass is reading, and another is due after it
	rdDone                 // the read side has ended
)

// pollRead is the read side of a polled session.
type pollRead struct {
	// pollable: the session's socket is one for the poller, and the
	// session ends when its read and write sides have both ended
	// (sideEnded), whichever goroutine ends the last. Static after New.
	pollable bool
	state    atomic.Int32 // rdIdle...
	id       uint64       // its registration with the poller; static after register
	sys      pollSys      // its socket, see poll_linux.go
	// Set by the timers, read by passes: the hello's deadline and the
	// close's have passed.
	helloExpired, closeExpired atomic.Bool
	helloTimer                 sim.Timer // owned by the read passes
	closeTimer                 sim.Timer // set by writeClose, stopped by end
	// sides counts the read and write sides still running; the one that
	// brings it to 0 ends the session (end).
	sides atomic.Int32

	// Owned by the read passes.
	h *handler
	// partial is the bytes of a frame not yet whole, nil when none waits.
	partial []byte
	// frag holds the payload so far of a fragmented message, borrowed
	// from msgBuffers while the message is incomplete.
	frag       *[wire.MaxClientFrameSize]byte
	fragLen    int
	fragmented bool // a message's first frame came and its last not yet
	// discarding: the handler is done; what the client still sends is
	// dropped until it closes or the close timer passes.
	discarding bool
	// more: the socket may hold more than the pass's read took, which
	// no new edge would report: the read filled its buffer, or the
	// client's end has hung up (its close came with data the read took,
	// and only a read after it sees the end).
	more bool
	// hangup is set by the poller on an event saying the client's end
	// closed or failed (EPOLLRDHUP, EPOLLHUP, EPOLLERR).
	hangup atomic.Bool
}

// errNoData is a read attempt that found nothing to read.
var errNoData = errors.New("session: nothing to read now")

// readChunk is the size of the buffer a read pass borrows: the bytes of
// many client messages, or of one whole frame at the largest.
const readChunk = 4096

// readBuffers lend read passes their buffer for one read.
var readBuffers = sync.Pool{New: func() any { return new([readChunk]byte) }}

// Start runs the session and returns: on a plain TCP socket on Linux its
// reads are driven by the Env's poller, with no goroutine of its own;
// anything else is served by Serve on a goroutine of its own. onEnd is
// called once when the session is over (the socket closed, the seat given
// back, the close counted), from whichever goroutine ended it.
func (c *Conn) Start(onEnd func()) {
	c.onEnd = onEnd
	c.started()
	if c.rd.pollable && c.startPolled() {
		return
	}
	c.rd.state.Store(rdDone) // no read passes: serve's goroutine reads
	// Owned by the session; exits when it ends.
	go c.serve()
}

// startPolled registers c with the poller; false if epoll refused it
// (then a goroutine reads it, serve, still as one of its two sides).
func (c *Conn) startPolled() bool {
	p := c.env.poller()
	var early []byte
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		early = bytes.Clone(b)
	}
	c.rd.h = newHandler(c)
	c.rd.partial = early
	// Running (since New) until registered: a wake-up before then (the
	// timer's, the writer's) is kept as rdAgain, not lost.
	c.rd.helloTimer = c.clock.AfterFunc(c.cfg.HelloTimeout, func() {
		c.rd.helloExpired.Store(true)
		c.scheduleRead()
	})
	if !p.register(c) {
		c.rd.helloTimer.Stop()
		c.rd.h, c.rd.partial, c.rd.helloTimer = nil, nil, nil
		c.rd.state.Store(rdDone)
		return false
	}
	c.br = nil // the upgrade's bytes are in partial; the socket is read directly
	if early != nil || !c.rd.state.CompareAndSwap(rdRunning, rdIdle) {
		go c.readPass() // see readPass for its owner and exit
	}
	return true
}

// scheduleRead tells the read side to read. Safe from any goroutine, and
// cheap when a pass is due or reading already.
func (c *Conn) scheduleRead() {
	for {
		switch c.rd.state.Load() {
		case rdIdle:
			if c.rd.state.CompareAndSwap(rdIdle, rdQueued) {
				if c.seat.Load() == nil {
					go c.readPass() // see readPass for its owner and exit
				} else {
					c.shard.pushRead(c)
				}
				return
			}
		case rdRunning:
			if c.rd.state.CompareAndSwap(rdRunning, rdAgain) {
				return
			}
		default: // queued or again: a pass will read; done: none will
			return
		}
	}
}

// readPass reads and handles what the socket holds, until a read leaves
// it empty, or ends the read side. It runs on the session's shard
// worker, or (before the hello has seated the session) on a goroutine of
// its own that exits with the pass.
func (c *Conn) readPass() {
	for {
		c.rd.state.Store(rdRunning)
		if !c.guardedRead() {
			c.endReader()
			return
		}
		if c.rd.more {
			// More may wait that the edge-triggered poller would not
			// report again: see pollRead.more.
			continue
		}
		if c.rd.state.CompareAndSwap(rdRunning, rdIdle) {
			return
		}
		// Woken during the pass (data, a timer, the writer's end): once
		// more.
	}
}

// guardedRead runs readSome, turning a panic into the end of this
// session only (error internal, close 1011), as readLoop's recoverPanic.
func (c *Conn) guardedRead() (more bool) {
	defer func() {
		if r := recover(); r != nil {
			c.panicked("reader", r)
			c.stopHandling()
			more = true
		}
	}()
	return c.readSome()
}

// readSome makes one read attempt and handles what it brought. It
// reports whether the read side goes on.
func (c *Conn) readSome() bool {
	if !c.rd.discarding && c.isClosing() {
		c.stopHandling() // the server ended the session meanwhile
	}
	buf := readBuffers.Get().(*[readChunk]byte)
	defer readBuffers.Put(buf)
	n, err := c.rd.sys.tryRead(buf[:])
	c.rd.more = n == len(buf) || n > 0 && c.rd.hangup.Load()
	if err != nil && err != errNoData {
		if !c.rd.discarding {
			c.readFailed(err, c.rd.h.helloDone)
		}
		return false
	}
	if c.rd.discarding {
		return !c.rd.closeExpired.Load()
	}
	if n > 0 || c.rd.partial != nil {
		c.consume(buf[:n])
	}
	if !c.rd.discarding && !c.rd.h.helloDone && c.rd.helloExpired.Load() {
		c.readFailed(os.ErrDeadlineExceeded, false)
		c.stopHandling()
	}
	if c.rd.h.helloDone && c.rd.helloTimer != nil {
		c.rd.helloTimer.Stop()
		c.rd.helloTimer = nil
	}
	if c.rd.discarding {
		// Reading on is for a session the server ended: its close frame
		// and error must not be destroyed by a reset (see Serve).
		switch c.closeReason {
		case ReasonClientClosed, ReasonReadError:
			return false
		}
		return !c.rd.closeExpired.Load()
	}
	return true
}

// consume handles every whole frame of what was read, after the bytes
// kept from the last pass, and keeps the rest.
func (c *Conn) consume(in []byte) {
	data := in
	if c.rd.partial != nil {
		data = append(c.rd.partial, in...)
	}
	for !c.rd.discarding {
		hdr, hlen, err := wsframe.ParseHeader(data)
		if err == nil && hlen > 0 {
			err = c.checkFrame(hdr)
		}
		if err != nil {
			c.readFailed(err, c.rd.h.helloDone)
			c.stopHandling()
			break
		}
		end := hlen + int(hdr.Length)
		if hlen == 0 || len(data) < end {
			break // not whole yet
		}
		payload := data[hlen:end]
		data = data[end:]
		ws.Cipher(payload, hdr.Mask, 0)
		if !c.frame(hdr, payload) {
			c.stopHandling()
		}
	}
	c.rd.partial = nil
	if !c.rd.discarding && len(data) > 0 {
		c.rd.partial = bytes.Clone(data)
	}
}

// checkFrame applies the checks wsutil.Reader makes of a header for
// readLoop: RFC 6455's, then the frame and message size limits.
func (c *Conn) checkFrame(h ws.Header) error {
	state := ws.StateServerSide
	if c.rd.fragmented {
		state = state.Set(ws.StateFragmented)
	}
	if err := ws.CheckHeader(h, state); err != nil {
		return err
	}
	if h.Length > wire.MaxClientFrameSize {
		return wsutil.ErrFrameTooLarge
	}
	if !h.OpCode.IsControl() && h.Length > int64(wire.MaxClientFrameSize-c.rd.fragLen) {
		return wsutil.ErrMessageTooLarge
	}
	return nil
}

// frame handles one whole, unmasked frame: a control frame at once, a
// data frame once its message is whole. It reports whether handling
// goes on.
func (c *Conn) frame(h ws.Header, payload []byte) bool {
	rd := &c.rd
	if h.OpCode.IsControl() {
		if err := rd.h.controlFrame(h.OpCode, payload); err != nil {
			c.readFailed(err, rd.h.helloDone)
			return false
		}
		return true
	}
	if !rd.fragmented && h.OpCode == ws.OpText {
		c.refuse(ReasonTextFrame, ws.StatusUnsupportedData, wire.CodeTextFrame, "text frames are not part of the protocol: send binary msgpack")
		return false
	}
	msg := payload
	if !h.Fin || rd.frag != nil {
		if rd.frag == nil {
			rd.frag = msgBuffers.Get().(*[wire.MaxClientFrameSize]byte)
		}
		rd.fragLen += copy(rd.frag[rd.fragLen:], payload)
		rd.fragmented = !h.Fin
		if rd.fragmented {
			return true
		}
		msg = rd.frag[:rd.fragLen]
	}
	c.env.Metrics.BytesIn.Add(float64(len(msg)))
	ok := rd.h.handle(msg)
	c.releaseFragments()
	return ok && !c.isClosing()
}

// releaseFragments gives back the buffer of a fragmented message.
func (c *Conn) releaseFragments() {
	if c.rd.frag != nil {
		msgBuffers.Put(c.rd.frag)
	}
	c.rd.frag, c.rd.fragLen, c.rd.fragmented = nil, 0, false
}

// stopHandling ends the handling of client frames, as readLoop's return
// does: the session is finishing (or finishes now, as closed by the
// client), and the read side only drops what comes until it ends.
func (c *Conn) stopHandling() {
	c.finish(ReasonClientClosed, ws.StatusNormalClosure, "", nil)
	c.rd.discarding = true
	c.rd.partial = nil
	c.releaseFragments()
}

// endReader ends the read side: out of the poller, and the session ends
// if the writer side has.
func (c *Conn) endReader() {
	c.rd.state.Store(rdDone)
	c.finish(ReasonClientClosed, ws.StatusNormalClosure, "", nil)
	c.rd.partial = nil
	c.releaseFragments()
	c.env.poller().remove(c)
	c.sideEnded()
}

// sideEnded counts the end of the read or the write side of a polled
// session; the second ends the session.
func (c *Conn) sideEnded() {
	if c.rd.sides.Add(-1) == 0 {
		if c.rd.helloTimer != nil {
			c.rd.helloTimer.Stop()
		}
		if c.rd.closeTimer != nil {
			c.rd.closeTimer.Stop()
		}
		c.end()
	}
}

// startCloseTimer wakes the read side when the client's CloseTimeout,
// from the server's close frame, has passed: the read deadline set then
// wakes no one on a polled socket.
func (c *Conn) startCloseTimer() {
	c.rd.closeTimer = c.clock.AfterFunc(c.cfg.CloseTimeout, func() {
		c.rd.closeExpired.Store(true)
		c.scheduleRead()
	})
}
