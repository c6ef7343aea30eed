package session

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// liveness is what tells a client that plays from one that holds a seat
// without playing or without reading.
//
// Not reading: the kernel buffers of both ends can hold megabytes of
// snapshots (the server's send buffer grows to twice what was asked, and a
// client's receive buffer may be as big as it likes), so a write that
// blocks comes a minute late, if ever. Two signals come sooner:
//   - the writer pings the client every StallTimeout/3 with a fresh random
//     payload it cannot guess; a ping left unanswered StallTimeout after
//     the client last answered one means it does not read what it is
//     sent, whatever is buffered in between. On Linux a ping still queued
//     in this end's kernel (a slow link) only counts from when it left it:
//     the client then has 2/3 of StallTimeout to answer, so a client that
//     reads slowly but steadily skips ticks instead of being dropped;
//   - on Linux, the bytes queued in the kernel for the socket (SIOCOUTQ)
//     are bounded by about a second of the session's own traffic (at least
//     queueFloor): over that, snapshots are skipped (a slow reader skips
//     ticks), so that the kernel's buffers never make a client's view
//     seconds late; a queue that stays over the bound for StallTimeout
//     ends the session too. The queue is read when it can matter (see
//     backlogged), not before every snapshot.
//
// Not playing: lastActive is when the client last sent a spawn, input or watch,
// or when the writer last saw its marble alive; IdleTimeout after it, a
// session without a marble is closed as idle.
type liveness struct {
	// Set by the reader (pong, markActive) and the writer (ping, alive).
	expect     atomic.Uint64 // the payload of the ping awaiting its pong; 0 when none does
	pongAt     atomic.Int64  // when the client last answered, in the clock's UnixNano
	lastActive atomic.Int64  // UnixNano of the last sign of a player

	// Owned by the writer.
	pinged      bool    // a ping was sent once
	ping        [8]byte // the payload of the latest ping
	pingAt      int64   // when it was sent (UnixNano)
	pingEnd     int64   // sent, right after the latest ping was written
	deliveredAt int64   // when the latest ping left this end's kernel; 0 while not known to
	readSince   int64   // when the client last proved that it reads (UnixNano)
	overSince   int64   // since when the kernel queue is over its bound; 0 while not
	sent        int64   // bytes written on the socket
	queue       kernelQueue
	high        bool // the latest reading of queue was over half its bound
	unread      int  // snapshots since that reading
	// Bytes written in the current second and in the one before, which
	// size the kernel queue's bound.
	winStart            int64
	winBytes, prevBytes int
}

// queueFloor is the least bound on the bytes queued in the kernel: a
// crowded view's snapshots and a board fit under it, and the welcome's
// 16 KiB of terrain raises the bound by itself (it counts in the second's
// traffic), so a new session does not skip its first ticks.
const queueFloor = 16 << 10

// initLiveness prepares the liveness checks of a new connection.
func (c *Conn) initLiveness() {
	c.live.lastActive.Store(c.clock.Now().UnixNano())
	c.live.queue.init(c.conn)
}

// markActive records a sign of a player (a spawn, input or watch message)
// that came at now: the idle timeout starts again.
func (c *Conn) markActive(now time.Time) { c.live.lastActive.Store(now.UnixNano()) }

// pong handles a client's pong: one that answers the writer's latest ping
// proves that the client read everything sent before that ping. Others
// (unsolicited, RFC 6455 5.5.3, or stale) prove nothing.
func (c *Conn) pong(p []byte) {
	if len(p) != len(c.live.ping) {
		return
	}
	if v := binary.BigEndian.Uint64(p); v != 0 && c.live.expect.CompareAndSwap(v, 0) {
		c.live.pongAt.Store(c.clock.Now().UnixNano())
	}
}

// checkLiveness runs before each snapshot: it ends a session whose client
// stopped reading (4001) or that idles without a marble (idle, 1008), and
// sends the next ping when it is due. alive is whether the frame about to
// be sent has the session's marble. It returns false only when writing
// the ping failed (the writer must stop); a session it ended goes on to
// its close frame.
func (c *Conn) checkLiveness(now time.Time, alive bool) bool {
	l := &c.live
	t := now.UnixNano()
	stall := int64(c.cfg.StallTimeout)
	answered := l.expect.Load() == 0
	if answered && l.pinged {
		l.readSince = max(l.readSince, l.pongAt.Load())
	}
	switch {
	case !answered && l.deliveredAt != 0 && t >= max(l.readSince+stall, l.deliveredAt+stall-stall/3):
		c.finish(ReasonSlowConsumer, wire.CloseSlowConsumer, wire.SlowConsumerReason, nil)
		return true
	case l.overSince != 0 && t-l.overSince >= stall:
		c.finish(ReasonSlowConsumer, wire.CloseSlowConsumer, wire.SlowConsumerReason, nil)
		return true
	}
	if alive {
		l.lastActive.Store(t)
	} else if c.cfg.IdleTimeout > 0 && t-l.lastActive.Load() >= int64(c.cfg.IdleTimeout) {
		c.refuse(ReasonIdle, ws.StatusPolicyViolation, wire.CodeIdle,
			fmt.Sprintf("no spawn, input or watch for %v while not playing", c.cfg.IdleTimeout))
		return true
	}
	if answered && (!l.pinged || t-l.pingAt >= stall/3) {
		return c.sendPing(t)
	}
	return true
}

// sendPing writes the next liveness ping, with a fresh random payload.
func (c *Conn) sendPing(t int64) bool {
	l := &c.live
	if !l.pinged {
		l.pinged, l.readSince = true, t
	}
	var v uint64
	for v == 0 { // 0 means "no ping awaits its pong"
		_, _ = rand.Read(l.ping[:])
		v = binary.BigEndian.Uint64(l.ping[:])
	}
	l.pingAt = t
	// Before the write: the pong may be read before the write returns.
	l.expect.Store(v)
	ok := c.writeFrame(ws.OpPing, l.ping[:])
	l.pingEnd, l.deliveredAt = l.sent, 0
	if !l.queue.readable() {
		l.deliveredAt = t // no queue to watch: the ping counts from now
	}
	return ok
}

// queueEvery is how many snapshots may go between two readings of the
// kernel queue while it is low (a reading costs a system call, as much
// as a small write).
const queueEvery = 8

// backlogged reports whether the kernel holds more bytes for this socket
// than about a second of the session's traffic; the snapshot is then
// skipped. It starts the stall clock when the queue goes over its bound,
// and notes when the latest ping has left the queue.
//
// The queue is read before every snapshot while the latest ping has not
// been seen leaving it (so a ping counts from when it left, as precisely
// as before) and while the latest reading was over half the bound (so
// snapshots are skipped, and the stall clock starts, from the first one
// over it); otherwise before every queueEvery-th snapshot only. From a
// reading at most half the bound, queueEvery snapshots (a quarter of a
// second at 30 Hz) at a steady rate cannot take the queue over the
// bound, which is at least a second of this session's own traffic: the
// bound holds as before. A client that stops reading is caught as fast as before: its
// pings go unanswered (checkLiveness, unchanged), and on a socket whose
// queue fills, the reading goes high on its way up.
func (c *Conn) backlogged(now time.Time) bool {
	l := &c.live
	if l.unread++; l.unread < queueEvery && !l.high && l.deliveredAt != 0 {
		return false
	}
	l.unread = 0
	queued, ok := l.queue.queued()
	if !ok {
		return false
	}
	// Frames a worker's pass gathered are counted in sent but not in the
	// kernel's queue yet.
	var gathered int64
	if c.batch != nil {
		gathered = int64(len(*c.batch))
	}
	if l.deliveredAt == 0 && l.sent-gathered-int64(queued) >= l.pingEnd {
		l.deliveredAt = now.UnixNano()
	}
	bound := min(max(queueFloor, l.winBytes, l.prevBytes), max(queueFloor, c.cfg.SendBuffer))
	l.high = queued > bound/2
	if queued <= bound {
		l.overSince = 0
		return false
	}
	if l.overSince == 0 {
		l.overSince = now.UnixNano()
	}
	return true
}

// wrote counts n bytes written at now toward the bound of backlogged.
func (l *liveness) wrote(n int, now time.Time) {
	t := now.UnixNano()
	if d := t - l.winStart; d >= int64(time.Second) {
		l.prevBytes = 0
		if d < 2*int64(time.Second) {
			l.prevBytes = l.winBytes
		}
		l.winStart, l.winBytes = t, 0
	}
	l.winBytes += n
	l.sent += int64(n)
}

// frameAlive reports whether the session's marble is alive in f.
func frameAlive(f *sim.Frame, session uint32) bool {
	p := f.Player(session)
	return p != nil && p.Alive
}
