package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/wire"
	"github.com/shatter/shatter/sim"
)

// install makes conn the client's connection, br (if not nil) holding
// bytes the server sent with its upgrade response. It refuses with the
// reason when the client has been stopped, so that a connection made while
// Close ran is not left open. Only the reading goroutine calls it.
func (c *Client) install(conn net.Conn, br *bufio.Reader) error {
	if err := c.sendOn(conn); err != nil {
		return err
	}
	// The dialer returns a buffered reader only when the server's first
	// bytes arrived with the upgrade response; it must be read first.
	if br == nil {
		br = bufio.NewReader(conn)
	}
	c.br = br
	c.rd = wsutil.Reader{
		Source:         br,
		State:          ws.StateClientSide,
		MaxFrameSize:   c.opts.MaxMessageSize,
		MaxMessageSize: c.opts.MaxMessageSize,
		OnIntermediate: c.handleControl,
	}
	return nil
}

// sendOn makes conn the connection the sends write to, with a writer of
// its own, unless the client has been stopped: then it changes nothing
// and returns the reason. stop reads c.conn under writeMu after setting
// stopped, so a connection taken here is one stop closes. Only the
// reading goroutine calls it.
func (c *Client) sendOn(conn net.Conn) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if stopped != nil {
		return stopped
	}
	c.conn = conn
	c.writeDeadline = time.Time{}
	// A new writer, not Reset: wsutil.Writer keeps the error of a failed
	// write across Reset, so a send that failed on a dropped connection
	// would fail every write on the next one, its hello first.
	c.wr = wsutil.NewWriterSize(conn, ws.StateClientSide, ws.OpBinary, wire.MaxClientFrameSize)
	return nil
}

// handshake sends hello on the connection just installed and reads up to
// the welcome. Error messages may come first: resume_expired and bad_seat
// are followed by a welcome, anything else by a close, which makes a
// RefusedError. A moved may come instead of the welcome: handshake then
// reads on until the connection ends, as the close 4003 that follows makes
// it, and returns nil with the move to follow in c.move (or, with
// DisableFollowMoves, a *MoveError).
func (c *Client) handshake(ctx context.Context, hello *wire.Hello) error {
	// When ctx is done, whether cancelled or past its deadline, a deadline
	// in the past interrupts the reads and writes below.
	conn := c.conn
	interrupt := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })

	err := c.sendHello(hello)
	var refusal *wire.ErrorMessage
	var moved *wire.Moved
	for welcomed := false; err == nil && !welcomed; {
		if err = c.next(); err != nil {
			break
		}
		if moved != nil {
			continue // Nothing comes after a moved; ignore what does.
		}
		switch c.msg.Type {
		case wire.TypeWelcome:
			welcomed = true
			c.welcomed(&c.msg.Welcome)
		case wire.TypeError:
			e := c.msg.Error
			refusal = &e
		case wire.TypeMoved:
			m := c.msg.Moved
			moved = &m
			conn.SetReadDeadline(time.Now().Add(movedCloseWait))
		default:
			err = fmt.Errorf("client: %s before the welcome", c.msg.Type)
			continue
		}
		c.apply()
	}
	if !interrupt() && err == nil {
		err = context.Cause(ctx) // Expired just as the welcome arrived.
	}
	switch {
	case moved != nil && c.opts.DisableFollowMoves:
		return &MoveError{Moved: *moved, Err: err}
	case moved != nil:
		// However the connection ended after the moved, the move is due;
		// whoever follows it checks whether the client is to go on.
		return nil
	case err == nil:
		return nil
	}
	if cause := context.Cause(ctx); cause != nil {
		err = cause // The interrupt made the read fail.
	}
	if refusal != nil {
		return &RefusedError{Code: refusal.Code, Msg: refusal.Msg, Err: err}
	}
	return fmt.Errorf("client: handshake: %w", err)
}

// welcomed makes w the client's welcome, starting the view afresh, and
// ends the refusal of sends that a move began.
func (c *Client) welcomed(w *wire.Welcome) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.welcome = *w
	c.welcome.Terrain = slices.Clone(w.Terrain)
	c.welcome.Rules = slices.Clone(w.Rules)
	c.entities.Clear()
	c.state.Tick = w.Tick
	c.state.Alive, c.state.You = false, wire.UpdEntity{}
	c.state.Board = sim.Board{Top: c.state.Board.Top[:0]}
	c.moving = false
}

// next reads the next data message into c.msg, answering control frames on
// the way.
func (c *Client) next() error {
	for {
		hdr, err := c.rd.NextFrame()
		if err != nil {
			return err
		}
		if hdr.OpCode.IsControl() {
			if err := c.handleControl(hdr, &c.rd); err != nil {
				return err
			}
			continue
		}
		if hdr.OpCode != ws.OpBinary {
			return fmt.Errorf("client: a %v frame; the protocol has only binary ones", hdr.OpCode)
		}
		// The reader's MaxMessageSize bounds how far this grows; a fragmented
		// message may need more than its first frame's length.
		c.payload = slices.Grow(c.payload[:0], int(hdr.Length))
		for {
			if len(c.payload) == cap(c.payload) {
				c.payload = slices.Grow(c.payload, 4096)
			}
			n, err := c.rd.Read(c.payload[len(c.payload):cap(c.payload)])
			c.payload = c.payload[:len(c.payload)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		return c.decode(c.payload)
	}
}

// decode counts a server message's payload and decodes it into c.msg:
// skimmed, if it is a snap and Options.SkimSnaps is set, else in full.
func (c *Client) decode(payload []byte) error {
	c.received.messagesReceived.Add(1)
	c.received.bytesReceived.Add(uint64(len(payload)))
	c.skimmed = c.opts.SkimSnaps && skimSnap(payload, &c.msg.Snap) == nil
	if c.skimmed {
		c.msg.Type = wire.TypeSnap
		return nil
	}
	if err := c.dec.DecodeServer(payload, &c.msg); err != nil {
		return fmt.Errorf("client: server message: %w", err)
	}
	return nil
}

// handleControl answers a ping, ignores a pong, and answers a close frame,
// returning its CloseError. It replies to the close itself, rather than
// through wsutil.ControlHandler, so that the server's code and reason are
// kept even when the reply cannot be written because the server has already
// hung up.
func (c *Client) handleControl(hdr ws.Header, r io.Reader) error {
	if hdr.Length > int64(len(c.control)) {
		return ws.ErrProtocolControlPayloadOverflow
	}
	payload := c.control[:hdr.Length]
	if _, err := io.ReadFull(r, payload); err != nil {
		return err
	}
	switch hdr.OpCode {
	case ws.OpPing:
		return c.writeControl(ws.OpPong, payload)
	case ws.OpClose:
		closed := CloseError{Code: ws.StatusNoStatusRcvd}
		var reply []byte
		if len(payload) >= 2 {
			closed.Code, closed.Reason = ws.ParseCloseFrameData(payload)
			reply = ws.NewCloseFrameBody(closed.Code, "")
		}
		_ = c.writeControl(ws.OpClose, reply) // The server may be gone already.
		return closed
	}
	return nil
}

// writeControl writes a control frame.
func (c *Client) writeControl(op ws.OpCode, payload []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.setWriteDeadline(time.Now(), true)
	// Masking works in place, and payload may be the caller's.
	return ws.WriteFrame(c.conn, ws.MaskFrameInPlace(ws.NewFrame(op, true, slices.Clone(payload))))
}

// setWriteDeadline gives the connection's writes WriteTimeout from now,
// unless always is false and the deadline set last is more than half of
// WriteTimeout away: a bot sending twenty inputs a second would otherwise
// reset a runtime timer with every one, a cost a load generator's
// thousands of bots feel. Each write thus has between half of WriteTimeout
// and all of it. c.writeMu must be held.
func (c *Client) setWriteDeadline(now time.Time, always bool) {
	if !always && c.writeDeadline.Sub(now) > c.opts.WriteTimeout/2 {
		return
	}
	c.writeDeadline = now.Add(c.opts.WriteTimeout)
	c.conn.SetWriteDeadline(c.writeDeadline)
}

// sendHello sends the hello; only the handshake does, which is why it
// does not check c.moving.
func (c *Client) sendHello(h *wire.Hello) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.out = c.enc.AppendHello(c.out[:0], h)
	return c.write(wire.TypeHello)
}

// write sends c.out as one binary frame. c.writeMu must be held.
func (c *Client) write(typ wire.Type) error {
	if len(c.out) > wire.MaxClientFrameSize {
		return fmt.Errorf("client: %s of %d bytes is over the server's limit of %d", typ, len(c.out), wire.MaxClientFrameSize)
	}
	c.setWriteDeadline(time.Now(), false)
	if _, err := c.wr.Write(c.out); err != nil {
		return fmt.Errorf("client: send %s: %w", typ, err)
	}
	if err := c.wr.Flush(); err != nil {
		return fmt.Errorf("client: send %s: %w", typ, err)
	}
	c.sentCount.messagesSent.Add(1)
	c.sentCount.bytesSent.Add(uint64(len(c.out)))
	return nil
}
