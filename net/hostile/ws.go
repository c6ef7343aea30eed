package hostile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/shatter/shatter/net/wire"
)

// helloTimeout is how long the server may take to welcome a hello
// (PROTOCOL.md: the hello's own deadline is 5 s).
const helloTimeout = 5 * time.Second

// maxServerFrame bounds a server frame the attacks read (a welcome is
// about 17 KiB).
const maxServerFrame = 1 << 20

// wsConn is one raw WebSocket connection of an attack: frames are written
// and read by hand, so that the attack can send what no proper client
// would and see exactly what comes back.
type wsConn struct {
	conn net.Conn
	wmu  sync.Mutex // orders frames written by an attack and by watch's pongs
	br   *bufio.Reader
	enc  wire.Encoder
	dec  wire.Decoder
	msg  wire.ServerMessage
	buf  []byte
	seq  uint32
}

// errRefused is a WebSocket upgrade answered 503 or 429: a limit doing
// its job.
var errRefused = errors.New("hostile: upgrade refused")

// dialWS upgrades a connection to t's /ws. rcvbuf, if positive, is the
// socket's receive buffer.
func (t *Target) dialWS(ctx context.Context, rcvbuf int) (*wsConn, error) {
	d := ws.Dialer{
		Timeout: dialTimeout,
		NetDial: func(ctx context.Context, _, addr string) (net.Conn, error) { return t.dial(ctx, addr, rcvbuf) },
	}
	conn, br, _, err := d.Dial(ctx, "ws://"+t.Addr+"/ws")
	var status ws.StatusError
	if errors.As(err, &status) && (int(status) == http.StatusServiceUnavailable || int(status) == http.StatusTooManyRequests) {
		return nil, errRefused
	}
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &wsConn{conn: conn, br: br}, nil
}

// open dials a WebSocket for one try of an attack and counts the try: a
// refusal at the door as refused, a failed dial as an error. It returns
// nil when there is no connection to go on with.
func (t *Target) open(ctx context.Context, tl *tally, rcvbuf int) *wsConn {
	c, err := t.dialWS(ctx, rcvbuf)
	switch {
	case errors.Is(err, errRefused):
		tl.tried()
		tl.refused()
		return nil
	case err != nil:
		tl.errored()
		return nil
	}
	tl.tried()
	return c
}

// frame writes a masked client frame.
func (c *wsConn) frame(op ws.OpCode, fin bool, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	return ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(op, fin, payload)))
}

// send writes one binary message.
func (c *wsConn) send(payload []byte) error { return c.frame(ws.OpBinary, true, payload) }

func (c *wsConn) hello(name string) error {
	return c.send(c.enc.AppendHello(nil, &wire.Hello{Version: wire.Version, Name: name}))
}

// input sends a boosting input.
func (c *wsConn) input(angle float64) error {
	c.seq++
	return c.send(c.enc.AppendInput(nil, &wire.Input{Seq: c.seq, Angle: angle, Boost: true}))
}

// next reads the server's next frame. Server frames are whole and
// unmasked (the server never fragments).
func (c *wsConn) next() (ws.Header, []byte, error) {
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return h, nil, err
	}
	if h.Length > maxServerFrame {
		return h, nil, fmt.Errorf("hostile: a server frame of %d bytes", h.Length)
	}
	c.buf = slices.Grow(c.buf[:0], int(h.Length))[:h.Length]
	if _, err := io.ReadFull(c.br, c.buf); err != nil {
		return h, nil, err
	}
	return h, c.buf, nil
}

// ending is how a connection ended, as read by watch.
type ending struct {
	closed   bool          // the server ended it: a close frame, EOF or a reset
	code     ws.StatusCode // the close frame's code; 0 without one
	errors   []wire.ErrorCode
	welcomed bool // a welcome came
	alive    bool // a snap showed the attacker's own marble
	pongs    int  // WebSocket pongs
	after    time.Duration
}

func (e ending) String() string {
	switch {
	case !e.closed:
		return fmt.Sprintf("still open after %v", round(e.after))
	case e.code == 0:
		return fmt.Sprintf("closed without a close frame after %v (errors %v)", round(e.after), e.errors)
	}
	return fmt.Sprintf("closed %d after %v (errors %v)", e.code, round(e.after), e.errors)
}

// hasError reports whether the server sent an error message with code.
func (e ending) hasError(code wire.ErrorCode) bool { return slices.Contains(e.errors, code) }

// watch reads everything the server sends for up to d (answering its
// WebSocket pings), until it ends the connection, and says how it ended.
// stopAt, if set, ends the watch early (reported as not closed) once it
// returns true for what was read so far. ctx cuts the watch short.
func (c *wsConn) watch(ctx context.Context, d time.Duration, stopAt func(*ending) bool) ending {
	start := time.Now()
	stop := context.AfterFunc(ctx, func() { c.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	_ = c.conn.SetReadDeadline(start.Add(d))
	defer c.conn.SetReadDeadline(time.Time{})
	var e ending
	for {
		h, payload, err := c.next()
		e.after = time.Since(start)
		if err != nil {
			var ne net.Error
			e.closed = !(errors.As(err, &ne) && ne.Timeout())
			return e
		}
		switch h.OpCode {
		case ws.OpClose:
			e.closed = true
			e.code, _ = ws.ParseCloseFrameData(payload)
			if e.code == 0 {
				e.code = ws.StatusNoStatusRcvd // a close frame without a code
			}
			return e
		case ws.OpPong:
			e.pongs++
		case ws.OpPing:
			// Answered as every WebSocket client does: the server takes a
			// connection whose pings go unanswered for a reader that
			// stopped (4001), and these attacks are about other limits.
			_ = c.frame(ws.OpPong, true, payload)
		case ws.OpBinary:
			if c.dec.DecodeServer(payload, &c.msg) != nil {
				break
			}
			switch c.msg.Type {
			case wire.TypeWelcome:
				e.welcomed = true
			case wire.TypeError:
				e.errors = append(e.errors, c.msg.Error.Code)
			case wire.TypeSnap:
				e.alive = e.alive || c.msg.Snap.HasYou
			}
		}
		if stopAt != nil && stopAt(&e) {
			return e
		}
	}
}

// join says hello and waits for the welcome. It returns how the
// connection ended if it did before a welcome.
func (c *wsConn) join(ctx context.Context, name string) (ending, bool) {
	if err := c.hello(name); err != nil {
		return ending{closed: true}, false
	}
	e := c.watch(ctx, helloTimeout, func(e *ending) bool { return e.welcomed })
	return e, e.welcomed
}

// drive watches the connection for up to d while send is called every
// interval on this goroutine, until the server ends the connection or a
// send fails. It returns how the connection ended and how long the sends
// went on.
func (c *wsConn) drive(ctx context.Context, d, interval time.Duration, send func() error) (ending, time.Duration) {
	start := time.Now()
	done := make(chan ending, 1)
	// Owned by drive; exits when the watch ends, within d.
	go func() { done <- c.watch(ctx, d, nil) }()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case e := <-done:
			return e, time.Since(start)
		case <-tick.C:
			if send() != nil {
				// The server has gone; the watch sees it too.
				return <-done, time.Since(start)
			}
		}
	}
}

// concurrently runs try Scale times at once and waits for all.
func concurrently(t Target, try func()) {
	var wg sync.WaitGroup
	for range t.Scale {
		wg.Go(try) // owned by concurrently; exits when try returns
	}
	wg.Wait()
}

// PingFlood opens Scale sessions that each play and send 100 WebSocket
// pings a second. The server must answer at most WSPingsPerSec of them a second
// (plus a small burst), and close the session with rate_limited and 1008
// once the flood has lasted RateLimitClose (plus Slack and the burst's
// second).
func PingFlood(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	b := t.Bounds
	concurrently(t, func() {
		c := t.open(ctx, &tl, 0)
		if c == nil {
			return
		}
		defer c.conn.Close()
		if e, ok := c.join(ctx, "pingflood"); !ok {
			tl.fail("no welcome: %v", e)
			return
		}
		// It plays (a spawn, an input every half second), so that no
		// idle timeout ends it before the flood's own limit does.
		if err := c.send(c.enc.AppendSpawn(nil)); err != nil {
			tl.fail("spawn not taken: %v", err)
			return
		}
		closeBy := b.RateLimitClose + b.Slack + time.Second
		ping := []byte("flood")
		n := 0
		e, lasted := c.drive(ctx, closeBy+b.Slack, 10*time.Millisecond, func() error {
			if n++; n%50 == 0 {
				if err := c.input(float64(n)); err != nil {
					return err
				}
			}
			return c.frame(ws.OpPing, true, ping)
		})
		// A burst of a few, then the rate: anything near the 100 a
		// second sent is no limit at all.
		allowed := int(b.WSPingsPerSec*lasted.Seconds()) + 5
		switch {
		case ctx.Err() != nil:
		case e.pongs > allowed:
			tl.fail("%d pongs to a flood of %v, want at most %d (%g a second); %v", e.pongs, round(lasted), allowed, b.WSPingsPerSec, e)
		case !e.closed || e.code != ws.StatusPolicyViolation || e.after > closeBy || !e.hasError(wire.CodeRateLimited):
			tl.fail("ping flood %v, want error rate_limited and close 1008 within %v", e, closeBy)
		default:
			tl.pass()
		}
	})
	return tl.report()
}

// BadClose sends, before any hello, close frames RFC 6455 forbids: a
// 1-byte payload, the codes 1005, 1006 and 1015 that must never be sent,
// and the unassigned 2000; Scale rounds of each. Each must be answered
// with a close 1002 (protocol error) within Slack.
func BadClose(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	variants := []struct {
		name    string
		payload []byte
	}{
		{"a 1-byte close payload", []byte{0x03}},
		{"close code 1005", ws.NewCloseFrameBody(ws.StatusNoStatusRcvd, "")},
		{"close code 1006", ws.NewCloseFrameBody(ws.StatusAbnormalClosure, "")},
		{"close code 1015", ws.NewCloseFrameBody(ws.StatusTLSHandshake, "")},
		{"close code 2000", ws.NewCloseFrameBody(2000, "")},
	}
	for range t.Scale {
		for _, v := range variants {
			if ctx.Err() != nil {
				return tl.report()
			}
			c := t.open(ctx, &tl, 0)
			if c == nil {
				continue
			}
			if err := c.frame(ws.OpClose, true, v.payload); err != nil {
				tl.fail("%s: not taken: %v", v.name, err)
			} else if e := c.watch(ctx, t.Bounds.Slack, nil); e.code == ws.StatusProtocolError {
				tl.pass()
			} else if ctx.Err() == nil {
				tl.fail("%s: %v, want close 1002", v.name, e)
			}
			c.conn.Close()
		}
	}
	return tl.report()
}

// FragmentThenClose sends a whole hello as the first fragment of a
// message (FIN clear), then a close frame. The close ends the connection
// and discards the unfinished message: no welcome may come, the
// connection must end within Slack, and no seat may be taken. A seat
// taken would be held for the grace period and, with a per-address
// limit, count against this address: the attack tries MaxConnsPerIP +
// Scale times (Scale without a limit), and a refusal at the door then
// means earlier hellos took seats.
func FragmentThenClose(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	tries := t.Bounds.MaxConnsPerIP + t.Scale
	for i := range tries {
		if ctx.Err() != nil {
			break
		}
		c, err := t.dialWS(ctx, 0)
		switch {
		case errors.Is(err, errRefused):
			tl.tried()
			tl.fail("refused at the door after %d fragment-then-close tries from this address: their hellos took seats", i)
			continue
		case err != nil:
			tl.errored()
			continue
		}
		tl.tried()
		hello := c.enc.AppendHello(nil, &wire.Hello{Version: wire.Version, Name: "fragment"})
		err = c.frame(ws.OpBinary, false, hello)
		if err == nil {
			err = c.frame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
		}
		e := c.watch(ctx, t.Bounds.Slack, nil)
		switch {
		case err != nil:
			tl.fail("fragment and close not taken: %v", err)
		case e.welcomed:
			tl.fail("a close inside a fragmented hello was answered with a welcome (took a seat)")
		case !e.closed && ctx.Err() == nil:
			tl.fail("fragment then close: %v", e)
		case e.closed:
			tl.pass()
		}
		c.conn.Close()
	}
	return tl.report()
}

// NeverReader opens Scale sessions with the largest receive buffer the
// kernel grants, spawns, and then reads nothing while it steers and
// boosts 20 times a second. The server must end each within StallTimeout
// (plus Slack) of its last read, whatever the buffers hold: the attack
// sees it as its writes failing (the server's socket is gone).
func NeverReader(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	b := t.Bounds
	concurrently(t, func() {
		c := t.open(ctx, &tl, 4<<20)
		if c == nil {
			return
		}
		defer c.conn.Close()
		if e, ok := c.join(ctx, "neverreads"); !ok {
			tl.fail("no welcome: %v", e)
			return
		}
		stopped := time.Now() // the last read
		if err := c.send(c.enc.AppendSpawn(nil)); err != nil {
			tl.fail("spawn not taken: %v", err)
			return
		}
		// Its 4001 close frame comes within StallTimeout; the socket closes
		// CloseTimeout later (the close frame is never read and answered).
		bound := b.StallTimeout + b.CloseTimeout + b.Slack
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for angle := 0.0; time.Since(stopped) < bound; angle += 0.1 {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := c.input(angle); err != nil {
				tl.pass()
				return
			}
		}
		tl.fail("a client that stopped reading %v ago is still served (stall timeout %v)", round(time.Since(stopped)), b.StallTimeout)
	})
	return tl.report()
}

// SpawnDrop joins, spawns, waits for its marble (up to a second) and
// drops the connection without a close (a reset), over and over: at most
// MaxConnsPerIP + 4 x Scale times (8 x Scale without a limit), and for
// at most half the Grace, so that every seat it left is still held. With
// a per-address limit, the server must refuse the seats past it: the
// dropped players' seats count against their address.
func SpawnDrop(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	b := t.Bounds
	limit := b.MaxConnsPerIP
	tries := 8 * t.Scale
	if limit > 0 {
		tries = limit + 4*t.Scale
	}
	ctx, cancel := context.WithTimeout(ctx, b.Grace/2)
	defer cancel()
	seated := 0
	for range tries {
		if ctx.Err() != nil {
			break
		}
		c := t.open(ctx, &tl, 0)
		if c == nil {
			continue
		}
		e, ok := c.join(ctx, "spawndrop")
		switch {
		case !ok && e.hasError(wire.CodeFull):
			tl.refused()
		case !ok:
			if ctx.Err() == nil {
				tl.fail("no welcome: %v", e)
			}
		default:
			if seated++; limit > 0 && seated > limit {
				tl.fail("seat %d taken from one address while the %d before it are held for their grace, over the per-address limit of %d", seated, seated-1, limit)
			} else {
				tl.pass()
			}
			if c.send(c.enc.AppendSpawn(nil)) == nil {
				c.watch(ctx, time.Second, func(e *ending) bool { return e.alive })
			}
		}
		if tc, ok := c.conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset: the player drops, it does not leave
		}
		c.conn.Close()
	}
	return tl.report()
}

// SilentSpectators opens Scale sessions that say hello and then send
// only msgpack pings, once a second, reading everything. Pings do not
// count as activity: the server must send error idle and close 1008
// within SessionIdle (plus Slack) of the welcome.
func SilentSpectators(ctx context.Context, t Target) Report {
	var tl tally
	if err := t.check(); err != nil {
		return Report{Err: err}
	}
	b := t.Bounds
	concurrently(t, func() {
		c := t.open(ctx, &tl, 0)
		if c == nil {
			return
		}
		defer c.conn.Close()
		if e, ok := c.join(ctx, "silent"); !ok {
			tl.fail("no welcome: %v", e)
			return
		}
		var n int64
		e, _ := c.drive(ctx, b.SessionIdle+b.Slack, time.Second, func() error {
			n++
			return c.send(c.enc.AppendPing(nil, &wire.Ping{C: n}))
		})
		switch {
		case e.closed && e.code == ws.StatusPolicyViolation && e.hasError(wire.CodeIdle):
			tl.pass()
		case ctx.Err() == nil:
			tl.fail("a spectator that only pings: %v, want error idle and close 1008 within %v", e, b.SessionIdle+b.Slack)
		}
	})
	return tl.report()
}
