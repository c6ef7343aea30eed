package session

import (
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/lobby"
	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// pass does, once, what the writer side has to do now: reliable messages
// first, then pongs for the client's pings, then the latest frame's snap
// when the arena has published one since; or, once the session is
// finishing, the close sequence (writeClose). On a worker (c.blocking
// false) it stops at the first write that cannot finish at once and
// returns passOwn, as it does for the close sequence, which may wait for
// the client.
func (c *Conn) pass() passResult {
	if c.blocking {
		return c.passWrites()
	}
	// On a worker the pass's frames (a feed, a board, the snap) are
	// gathered and go out in one write at its end: a write system call is
	// most of a snap's cost, and the client reads them as they were.
	c.batch = bufPool.Get().(*[]byte)
	*c.batch = (*c.batch)[:0]
	r := c.passWrites()
	c.flushBatch()
	if r == passDone && len(c.rest) > 0 {
		r = passOwn
	}
	return r
}

// flushBatch writes the frames a worker's pass gathered, in one attempt
// that never waits (tryWrite), and gives their buffer back.
func (c *Conn) flushBatch() {
	b := c.batch
	c.batch = nil
	if len(*b) > 0 {
		c.tryWrite(*b)
	}
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// passWrites is pass's work: see pass.
func (c *Conn) passWrites() passResult {
	if !c.blocking && c.isClosing() {
		return passOwn
	}
	if len(c.rest) > 0 {
		// A worker's write stopped in the middle of this frame: nothing
		// else may go before its rest, not even the close frame.
		rest := c.rest
		c.rest = nil
		if !c.writeBlocking(rest) {
			return passEnded
		}
	}
	if c.isClosing() {
		c.writeClose()
		return passEnded
	}
	if !c.drainReliable() {
		return passEnded
	}
	// Only the goroutine servicing the session receives from pongs: one
	// it sees waiting is there to take.
	for len(c.rest) == 0 && len(c.pongs) > 0 {
		if !c.writeFrame(ws.OpPong, <-c.pongs) {
			return passEnded
		}
	}
	if len(c.rest) == 0 && c.ready.Swap(false) {
		// Reliable messages queued during the pongs still go first.
		if !c.drainReliable() || !c.writeSnap() {
			return passEnded
		}
	}
	if len(c.rest) > 0 {
		return passOwn
	}
	return passDone
}

// guardedPass runs pass, turning a panic into the end of this session
// only: error internal, then close 1011, sent by the passes after it on
// the session's own goroutine (the worker that panicked goes on with the
// other sessions). A second panic (in the close sequence) gives up on
// the close frame: the socket is closed.
func (c *Conn) guardedPass() (r passResult) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if c.writerPanic {
			r = passEnded
			return
		}
		// Frames a worker's pass had gathered are dropped: the session
		// ends, and its own goroutine writes the error and close frame.
		c.batch = nil
		c.writerPanic = true
		c.panicked("writer", p)
		r = passOwn
	}()
	return c.pass()
}

// drainReliable writes every queued reliable message. They go before any
// snapshot: the welcome must open the stream, and a died must reach the
// client before the snapshot that no longer shows its marble. On a
// worker it stops at a write that could not finish (c.rest).
func (c *Conn) drainReliable() bool {
	for len(c.rest) == 0 {
		m, ok := c.reliable.pop()
		if !ok {
			return true
		}
		if !c.writeReliable(&m) {
			return false
		}
	}
	return true
}

// writeSnap sends the delta from what this connection was sent to the
// arena's latest frame. Ticks between the last one sent and this one are
// skipped (latest frame wins), which is safe because the delta is against
// what was sent, not against the previous tick.
func (c *Conn) writeSnap() bool {
	seat := c.seat.Load()
	if seat == nil {
		return true
	}
	f, ok := c.acquire(seat)
	if !ok {
		return false
	}
	// Released once, before the write (which may block on the session's
	// own goroutine), or here if the delta or the encoding panics: a frame
	// never released is lost to the arena's pool.
	held := true
	defer func() {
		if held {
			f.Release()
		}
	}()
	if f.Tick <= c.lastTick {
		return true
	}
	now := c.clock.Now()
	if !c.checkLiveness(now, frameAlive(f, seat.ID)) {
		return false
	}
	if len(c.rest) > 0 {
		// The ping did not go out at once on a worker: the snap waits
		// for the session's own goroutine, which finishes the ping first.
		c.ready.Store(true)
		return true
	}
	if c.isClosing() || c.backlogged(now) {
		// Ending (the loop sends the close next), or the kernel holds a
		// second's worth for this client already: this tick is skipped,
		// and counted with the next one sent.
		return true
	}
	if c.lastTick != 0 && f.Tick > c.lastTick+1 {
		c.env.Metrics.SnapshotsSkipped.Add(float64(f.Tick - c.lastTick - 1))
	}
	c.lastTick = f.Tick
	c.view.watch = c.watch.Load()
	snap := snaps.Get().(*wire.Snap)
	if !c.view.Delta(f, seat.ID, snap) {
		// The last snap is older than the arena can make a delta against:
		// the session fell seconds behind (View.Delta).
		snaps.Put(snap)
		c.finish(ReasonSlowConsumer, wire.CloseSlowConsumer, wire.SlowConsumerReason, nil)
		return true
	}
	// The snap holds names from the frame, so encode before releasing it;
	// then release before the write, which may block (on the session's
	// own goroutine).
	b := c.enc.AppendSnap(c.buffer(), snap)
	held = false
	f.Release()
	snaps.Put(snap)
	c.mSnap.Inc()
	return c.writeMessageAt(ws.OpBinary, b, now)
}

// acquire takes the arena's latest frame with every reliable message
// queued before it written first: the arena queues a tick's deaths before
// it publishes the tick's frame, so a died queued after the pass drained
// the queue and before this frame was taken must still precede the snap
// that no longer shows the marble (PROTOCOL.md). On a worker the drain
// only gathers frames, so the frame is kept; on the session's own
// goroutine, whose writes may block, the frame is given back for the
// drain and taken again. ok is false when a write failed.
func (c *Conn) acquire(seat *lobby.Seat) (f *sim.Frame, ok bool) {
	for {
		f = seat.Arena.Acquire()
		if c.reliable.empty() {
			return f, true
		}
		if !c.blocking {
			if !c.drainReliable() {
				f.Release()
				return nil, false
			}
			return f, true
		}
		f.Release()
		if !c.drainReliable() {
			return nil, false
		}
	}
}

// isClosing reports whether finish has been called.
func (c *Conn) isClosing() bool { return c.closed.Load() }

// writeReliable encodes and sends one queued message.
func (c *Conn) writeReliable(m *outMsg) bool {
	b := c.buffer()
	switch m.kind {
	case outWelcome:
		w := m.ref.(*welcomeFor)
		seat := w.seat
		a := seat.Arena
		cfg := a.Config()
		n, heights := a.Terrain()
		b = c.enc.AppendWelcome(b, &wire.Welcome{
			Version: wire.Version, Session: seat.ID, Token: w.token, Name: w.name, Tick: a.Tick(), Rate: cfg.TickRate,
			ArenaWidth: cfg.ArenaWidth, ArenaHeight: cfg.ArenaHeight,
			TerrainSize: n, Terrain: heights, Rules: c.env.Rules,
		})
	case outDied:
		b = c.enc.AppendDied(b, m.ref.(*sim.Died))
	case outBoard:
		b = c.enc.AppendBoard(b, m.ref.(*sim.Board), c.fleetBoard())
	case outPong:
		b = c.enc.AppendPong(b, &m.pong)
	case outError:
		b = c.enc.AppendError(b, m.ref.(*wire.ErrorMessage))
	case outFeed:
		b = append(b, c.feedBytes(m.ref.(*sim.Feed))...)
	}
	c.mReliable[m.kind].Inc()
	return c.writeMessage(ws.OpBinary, b)
}

// feedBytes returns the encoding of a feed, shared by every session of
// the arena: the first writer to need it encodes it into ev.Encoded, the
// others copy it. Two writers may race to encode it; they make the same
// bytes, and the first stored wins.
func (c *Conn) feedBytes(ev *sim.Feed) []byte {
	if p := ev.Encoded.Load(); p != nil {
		return *p
	}
	b := c.enc.AppendFeed(nil, &wire.Feed{Tick: ev.Tick, Events: ev.Events})
	ev.Encoded.CompareAndSwap(nil, &b)
	return *ev.Encoded.Load()
}

// fleetBoard returns the fleet's part of the board message, nil on a node
// that shares no directory or has not read the fleet's board lately. The
// lobby's board is shared; this session's wire copy of it is remade only
// when the lobby has a new one, reusing its slice.
func (c *Conn) fleetBoard() *wire.FleetBoard {
	fb := c.env.Lobby.FleetBoard()
	if fb == nil {
		return nil
	}
	if fb != c.fleetFrom {
		c.fleetFrom = fb
		c.fleetWire.Global = c.fleetWire.Global[:0]
		for _, r := range fb.Top {
			c.fleetWire.Global = append(c.fleetWire.Global, wire.GlobalRow{Name: r.Name, Mass: sim.RoundMass(r.Mass)})
		}
		c.fleetWire.HasGlobal, c.fleetWire.HasOnline, c.fleetWire.Online = true, true, fb.Online
	}
	return &c.fleetWire
}

// Buffers. An idle session holds none: each message is encoded into a
// buffer borrowed from bufPool, after headroom bytes left for the frame
// header, and the buffer goes back once the frame is written. Only the
// writers busy at a moment hold one, which is at most a few per core.
const (
	headroom = 10 // the longest server frame header (RFC 6455 5.2)
	// maxPooled keeps one-off large buffers (the 16 KiB welcome, a first
	// snap of a huge view) out of the pool.
	maxPooled = 16 << 10
)

// snaps lend a snap's lists for one delta and its encoding: only the
// sessions being written at a moment hold one, so a large delta (a first
// view, a jump to another marble) grows a lent snap, not every session's.
var snaps = sync.Pool{New: func() any { return new(wire.Snap) }}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// buffer borrows a buffer for one message: headroom bytes, then room for
// the payload. writeMessage gives it back.
func (c *Conn) buffer() []byte {
	c.pooled = bufPool.Get().(*[]byte)
	return (*c.pooled)[:headroom]
}

// writeMessage frames and writes a message encoded after headroom bytes
// of a borrowed buffer, then returns the buffer to the pool.
func (c *Conn) writeMessage(op ws.OpCode, b []byte) bool {
	return c.writeMessageAt(op, b, c.clock.Now())
}

// writeMessageAt is writeMessage for a caller that has read the clock
// already (a snap's pass, for its liveness check): a clock reading is a
// tenth of a microsecond, and a pass makes thousands of snaps a tick.
func (c *Conn) writeMessageAt(op ws.OpCode, b []byte, now time.Time) bool {
	n := len(b) - headroom
	var hdr [headroom]byte
	h := appendFrameHeader(hdr[:0], op, n)
	start := headroom - len(h)
	copy(b[start:], h)
	var ok bool
	if c.batch != nil {
		// A worker's pass: the frame joins the pass's one write; from
		// now it counts as written, as tryWrite's frames do.
		*c.batch = append(*c.batch, b[start:]...)
		c.live.wrote(len(b)-start, now)
		ok = true
	} else {
		ok = c.write(b[start:], now)
	}
	if ok && op == ws.OpBinary {
		c.env.Metrics.BytesOut.Add(float64(n))
		if a := c.arenaBytes.Load(); a != nil {
			a.Add(float64(n))
		}
	}
	if cap(b) <= maxPooled {
		*c.pooled = b[:0]
		bufPool.Put(c.pooled)
	}
	c.pooled = nil
	return ok
}

// writeFrame writes a frame whose payload is not in a borrowed buffer
// (pongs, close frames).
func (c *Conn) writeFrame(op ws.OpCode, payload []byte) bool {
	return c.writeMessage(op, append(c.buffer(), payload...))
}

// write writes one whole frame. On a worker it is one attempt that
// never waits (tryWrite); on the session's own goroutine, a blocking
// write under the write deadline (writeBlocking). It returns false when
// the session's writes are over.
func (c *Conn) write(frame []byte, now time.Time) bool {
	if !c.blocking {
		c.tryWrite(frame)
	} else if !c.writeBlocking(frame) {
		return false
	}
	c.live.wrote(len(frame), now)
	return true
}

// tryWrite writes what the socket takes of frame at once; what it does
// not take is kept in c.rest for the session's own goroutine, which
// writes it first, under the write deadline, and the pass stops there.
// The whole frame counts as written (liveness.wrote) from now: it will
// be, or the session ends.
func (c *Conn) tryWrite(frame []byte) {
	if n := c.raw.try(frame); n < len(frame) {
		c.rest = append([]byte(nil), frame[n:]...)
	}
}

// writeBlocking writes one whole frame under the write deadline. A write
// that cannot finish in time means the client is not reading: the session
// ends as a slow consumer. The rest of the frame and a 4001 close frame
// still get CloseTimeout to go out, so a client that was only stalled
// learns why it was dropped; then the socket is closed.
func (c *Conn) writeBlocking(frame []byte) bool {
	timeout := c.cfg.WriteTimeout
	if c.isClosing() {
		timeout = c.cfg.CloseTimeout // the session is ending: do not linger
	}
	_ = c.conn.SetWriteDeadline(c.clock.Now().Add(timeout))
	if timeout != c.cfg.CloseTimeout && c.isClosing() {
		// finish came between the check and the deadline, and its
		// CloseTimeout may have been overwritten: set it again.
		_ = c.conn.SetWriteDeadline(c.clock.Now().Add(c.cfg.CloseTimeout))
	}
	n, err := c.conn.Write(frame)
	if err == nil {
		return true
	}
	if isTimeout(err) {
		c.finish(ReasonSlowConsumer, wire.CloseSlowConsumer, wire.SlowConsumerReason, nil)
		_ = c.conn.SetWriteDeadline(c.clock.Now().Add(c.cfg.CloseTimeout))
		rest := append(append([]byte(nil), frame[n:]...), closeFrame(wire.CloseSlowConsumer, wire.SlowConsumerReason)...)
		_, _ = c.conn.Write(rest)
	} else {
		c.finish(ReasonWriteError, ws.StatusAbnormalClosure, "", nil)
	}
	c.conn.Close()
	return false
}

// writeClose sends the final error message, if any, and the close frame,
// then gives the client CloseTimeout to answer before the reader is cut
// off. Reliable messages still queued are dropped (the session is over),
// except before a moved, which is the last message after everything
// queued (PROTOCOL.md "Fleet").
//
// It runs on the session's own goroutine, with blocking writes.
func (c *Conn) writeClose() {
	if c.finalMoved != nil {
		if !c.drainReliable() {
			return
		}
		c.mReliable[outMoved].Inc()
		if !c.writeMessage(ws.OpBinary, c.enc.AppendMoved(c.buffer(), c.finalMoved)) {
			return
		}
	}
	if c.finalErr != nil {
		c.mReliable[outError].Inc()
		if !c.writeMessage(ws.OpBinary, c.enc.AppendError(c.buffer(), c.finalErr)) {
			return
		}
	}
	if c.closeCode != ws.StatusAbnormalClosure {
		if !c.writeFrame(ws.OpClose, ws.NewCloseFrameBody(c.closeCode, c.closeText)) {
			return
		}
	}
	_ = c.conn.SetReadDeadline(c.clock.Now().Add(c.cfg.CloseTimeout))
	if c.rd.pollable {
		c.startCloseTimer()
	}
}

// appendFrameHeader appends an unmasked, final frame header (RFC 6455
// 5.2): the server never masks and never fragments.
func appendFrameHeader(dst []byte, op ws.OpCode, n int) []byte {
	dst = append(dst, 0x80|byte(op))
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 126, byte(n>>8), byte(n))
	default:
		return append(dst, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// closeFrame returns a whole close frame.
func closeFrame(code ws.StatusCode, reason string) []byte {
	body := ws.NewCloseFrameBody(code, reason)
	return append(appendFrameHeader(nil, ws.OpClose, len(body)), body...)
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	t, ok := err.(timeout)
	return ok && t.Timeout()
}
