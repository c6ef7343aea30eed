package session

import (
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
)

// writeLoop owns every write to the socket. Reliable messages go first;
// then the latest frame, when the arena has published one; client pings
// are answered in between. It returns after sending the close frame once
// the session is finishing, or at the first failed write.
func (c *Conn) writeLoop() {
	defer close(c.writerDone)
	defer c.recoverPanic("writer")
	for {
		if !c.drainReliable() {
			return
		}
		select {
		case <-c.closing:
			c.writeClose()
			return
		case m := <-c.reliable:
			if !c.writeReliable(&m) {
				return
			}
		case p := <-c.pongs:
			if !c.writeFrame(ws.OpPong, p) {
				return
			}
		case <-c.wake:
			if !c.drainReliable() || !c.writeSnap() {
				return
			}
		}
	}
}

// drainReliable writes every queued reliable message. They go before any
// snapshot: the welcome must open the stream, and a died must reach the
// client before the snapshot that no longer shows its marble.
func (c *Conn) drainReliable() bool {
	for {
		select {
		case m := <-c.reliable:
			if !c.writeReliable(&m) {
				return false
			}
		default:
			return true
		}
	}
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
	f := seat.Arena.Acquire()
	if f.Tick <= c.lastTick {
		f.Release()
		return true
	}
	if c.lastTick != 0 && f.Tick > c.lastTick+1 {
		c.env.Metrics.SnapshotsSkipped.Add(float64(f.Tick - c.lastTick - 1))
	}
	c.lastTick = f.Tick
	cfg := seat.Arena.Config()
	c.view.Delta(f, seat.ID, &cfg, &c.snap)
	// The snap holds names from the frame, so encode before releasing it;
	// then release before the write, which may block.
	c.buf = c.enc.AppendSnap(c.buf[:0], &c.snap)
	f.Release()
	c.mSnap[0].Inc()
	return c.writeFrame(ws.OpBinary, c.buf)
}

// writeReliable encodes and sends one queued message.
func (c *Conn) writeReliable(m *outMsg) bool {
	switch m.kind {
	case outWelcome:
		seat := m.seat
		a := seat.Arena
		cfg := a.Config()
		t := a.Terrain()
		c.buf = c.enc.AppendWelcome(c.buf[:0], &wire.Welcome{
			Version: wire.Version, Session: seat.ID, Token: seat.Token, Tick: a.Tick(), Rate: cfg.TickRate,
			ArenaWidth: cfg.ArenaWidth, ArenaHeight: cfg.ArenaHeight,
			TerrainSize: t.N, Terrain: t.Heights, Rules: c.env.Rules(a),
		})
	case outDied:
		c.buf = c.enc.AppendDied(c.buf[:0], &wire.Died{Tick: m.died.Tick, By: m.died.By, Name: m.died.ByName, Mass: m.died.Mass})
	case outBoard:
		c.board.Top = c.board.Top[:0]
		for _, e := range m.board.Top {
			c.board.Top = append(c.board.Top, wire.BoardEntry{Name: e.Name, Mass: roundMass(e.Mass)})
		}
		c.board.Count = m.board.Count
		c.buf = c.enc.AppendBoard(c.buf[:0], &c.board)
	case outPong:
		c.buf = c.enc.AppendPong(c.buf[:0], &m.pong)
	case outError:
		c.buf = c.enc.AppendError(c.buf[:0], &m.err)
	}
	c.mReliable[m.kind].Inc()
	return c.writeFrame(ws.OpBinary, c.buf)
}

// maxKeptBuffer bounds the encode and frame buffers an idle session keeps:
// the welcome (16 KiB of terrain) and a first snap of a huge view are
// one-offs, and thousands of sessions each holding one would cost more
// than re-growing a buffer on the rare occasion.
const maxKeptBuffer = 8 << 10

// trimBuffers drops buffers that grew past maxKeptBuffer.
func (c *Conn) trimBuffers() {
	if cap(c.buf) > maxKeptBuffer {
		c.buf = nil
	}
	if cap(c.frame) > maxKeptBuffer {
		c.frame = nil
	}
}

func roundMass(m float64) uint32 {
	if m <= 0 {
		return 0
	}
	return uint32(m + 0.5)
}

// writeFrame writes one unfragmented frame, header and payload in one
// write, under the write deadline. A write that cannot finish in time means
// the client is not reading: the session ends as a slow consumer. The rest
// of the frame and a 4001 close frame still get CloseTimeout to go out, so
// a client that was only stalled learns why it was dropped; then the socket
// is closed.
func (c *Conn) writeFrame(op ws.OpCode, payload []byte) bool {
	c.frame = appendFrameHeader(c.frame[:0], op, len(payload))
	c.frame = append(c.frame, payload...)
	timeout := c.cfg.WriteTimeout
	select {
	case <-c.closing:
		timeout = c.cfg.CloseTimeout // the session is ending: do not linger
	default:
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(timeout))
	n, err := c.conn.Write(c.frame)
	if err == nil {
		if op == ws.OpBinary {
			c.env.Metrics.BytesOut.Add(float64(len(payload)))
		}
		c.trimBuffers()
		return true
	}
	if isTimeout(err) {
		c.finish(ReasonSlowConsumer, wire.CloseSlowConsumer, wire.SlowConsumerReason, nil)
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.cfg.CloseTimeout))
		rest := append(c.frame[n:], closeFrame(wire.CloseSlowConsumer, wire.SlowConsumerReason)...)
		_, _ = c.conn.Write(rest)
	} else {
		c.finish(ReasonWriteError, ws.StatusAbnormalClosure, "", nil)
	}
	c.conn.Close()
	return false
}

// writeClose sends the final error message, if any, and the close frame,
// then gives the client CloseTimeout to answer before the reader is cut
// off. Reliable messages still queued are dropped: the session is over.
func (c *Conn) writeClose() {
	if c.finalErr != nil {
		c.buf = c.enc.AppendError(c.buf[:0], c.finalErr)
		c.mReliable[outError].Inc()
		if !c.writeFrame(ws.OpBinary, c.buf) {
			return
		}
	}
	if c.closeCode != ws.StatusAbnormalClosure {
		if !c.writeFrame(ws.OpClose, ws.NewCloseFrameBody(c.closeCode, c.closeText)) {
			return
		}
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(c.cfg.CloseTimeout))
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
