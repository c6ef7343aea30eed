package client

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/detach"
	"github.com/shatter/shatter/net/wsframe"
)

// rawReadSize is the raw reader's buffer at first: a few snaps. It grows
// for a larger frame, up to Options.MaxMessageSize.
const rawReadSize = 4096

// rawReader is the state of readRaw: the bytes read from the connection
// and not yet taken, and the message being put together from fragments.
// Owned by the reading goroutine.
type rawReader struct {
	buf        []byte // buf[r:w] is read and not taken
	r, w       int
	drained    bool // the last read stopped short of filling buf: the socket was empty then (for a poll group's pass)
	fragmented bool // a message's first frame came without FIN; c.payload holds it so far
	ctl        [ws.MaxControlFramePayloadSize]byte
	ctlReader  rawControl
	// stamps says the socket's reads are timestamped by the kernel
	// (Options.ArrivalTimes); arrived is then the latest read's stamp, in
	// nanoseconds since the epoch (0: none yet), and st its recvmsg state.
	stamps  bool
	arrived int64
	st      stamper
}

// rawControl is an io.Reader over a control frame's payload, for
// handleControl; a field, so that passing it allocates nothing.
type rawControl struct{ b []byte }

func (rc *rawControl) Read(p []byte) (int, error) {
	if len(rc.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, rc.b)
	rc.b = rc.b[n:]
	return n, nil
}

// rawConn returns the raw connection of c.conn when it has one, a TCP
// connection's, and nil otherwise (a TLS one).
func (c *Client) rawConn() syscall.RawConn {
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// readRaw is read for a connection with a raw file descriptor. It reads
// the socket itself within one syscall.RawConn.Read, and parses the
// WebSocket frames from its own buffer, so that a message costs no copy
// through bufio and wsutil.
//
// Each wake reads until a read finds the socket empty, as a net.Conn's
// Read does, even after a read that came back short: the end of the
// stream raises no readiness of its own when it came with the last data
// (the runtime's poller is edge-triggered and reports both in one wake),
// nor when it came before the RawConn.Read began (which forgets readiness
// seen before), and a client that waited after a short read would never
// see a crashed server's end, nor reconnect (once the client stops, a
// wake reads once: readRawOn). Deadlines and Close interrupt the wait as
// they do a Read.
func (c *Client) readRaw(raw syscall.RawConn) error {
	c.startRaw()
	return c.readRawOn(raw)
}

// stampArrivals has the kernel timestamp what arrives on conn, if it is a
// socket that can (Options.ArrivalTimes), and reports whether it will.
func stampArrivals(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	return err == nil && enableStamps(raw)
}

// startRaw readies c.raw for a new connection: empty, but for the bytes
// that came with the handshake's last frame and wait in its buffered
// reader, which come first, and no stamp yet (attempt said whether its
// reads are stamped).
func (c *Client) startRaw() {
	rr := &c.raw
	rr.r, rr.w, rr.drained, rr.fragmented, rr.arrived = 0, 0, false, false, 0
	if rr.buf == nil {
		rr.buf = make([]byte, rawReadSize)
	}
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		rr.grow(n)
		rr.w += copy(rr.buf, b)
		c.br.Discard(n)
	}
}

// readRawOn is readRaw after startRaw, or after a poll group handed the
// connection back to the reading goroutine (poll_linux.go): it goes on
// from whatever c.raw holds.
//
// Once the client stops (Close, its context), each read of the callback
// is its last before it returns to the runtime's wait, which the
// connection's Close ends: that Close waits for the callback to return
// before it closes the socket, and a server writing faster than the
// client reads never lets a read come back short. A detached
// connection reads on after the stop: its Close does not wait for the
// callback, and shuts the socket down, which ends the reads.
func (c *Client) readRawOn(raw syscall.RawConn) error {
	rr := &c.raw
	_, detached := c.conn.(*detach.Conn)
	var err error
	rerr := raw.Read(func(fd uintptr) bool {
		for {
			if err = c.takeFrames(); err != nil {
				return true
			}
			var empty bool
			if empty, err = rr.fill(fd); err != nil {
				return true
			}
			if empty {
				return false // Wait for more; see readRaw.
			}
			if !detached && c.stopping() {
				return false // To the wait, which Close ends; see above.
			}
		}
	})
	if err == nil {
		err = rerr
	}
	return err
}

// fill makes room in the buffer and reads the socket fd once into it,
// noting whether the read came back short (drained). It reports empty
// when the socket had nothing to read, and the error that ends the
// connection: the end of the stream (unexpected inside a frame) or the
// read's.
func (rr *rawReader) fill(fd uintptr) (empty bool, err error) {
	rr.compact()
	for {
		var n int
		var errno error
		if rr.stamps {
			n, errno = rr.readStamped(fd, rr.buf[rr.w:])
		} else {
			n, errno = syscall.Read(int(fd), rr.buf[rr.w:])
		}
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return true, nil
		case errno != nil:
			return false, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}
		case n == 0:
			if rr.w > rr.r || rr.fragmented {
				return false, io.ErrUnexpectedEOF
			}
			return false, io.EOF
		}
		rr.drained = n < len(rr.buf)-rr.w
		rr.w += n
		return false, nil
	}
}

// compact moves the bytes not taken to the front of the buffer and
// grows it to hold the whole frame they begin, if its header is there,
// and a byte more at least.
func (rr *rawReader) compact() {
	if rr.r > 0 {
		rr.w = copy(rr.buf, rr.buf[rr.r:rr.w])
		rr.r = 0
	}
	if hdr, head, ok := rr.header(); ok { // takeFrames refused one over MaxMessageSize.
		rr.grow(head + int(hdr.Length))
	}
	if rr.w == len(rr.buf) {
		rr.grow(len(rr.buf) + 1)
	}
}

// grow makes the buffer hold n bytes from its start at least.
func (rr *rawReader) grow(n int) {
	if n > len(rr.buf) {
		buf := make([]byte, max(n, 2*len(rr.buf)))
		copy(buf, rr.buf[rr.r:rr.w])
		rr.buf, rr.w, rr.r = buf, rr.w-rr.r, 0
	}
}

// takeFrames handles every whole frame in the buffer: a control frame as
// next does, a data frame's payload into the message it belongs to, and
// each whole message as read does. It returns the error that ends the
// connection, if any.
func (c *Client) takeFrames() error {
	rr := &c.raw
	for {
		hdr, head, ok := rr.header()
		if ok && hdr.Length > c.opts.MaxMessageSize {
			return wsutil.ErrFrameTooLarge
		}
		if !ok || int64(rr.w-rr.r-head) < hdr.Length {
			return nil
		}
		state := ws.StateClientSide
		if rr.fragmented {
			state |= ws.StateFragmented
		}
		if err := ws.CheckHeader(hdr, state); err != nil {
			return err
		}
		payload := rr.buf[rr.r+head : rr.r+head+int(hdr.Length)]
		rr.r += head + int(hdr.Length)
		if hdr.OpCode.IsControl() {
			rr.ctlReader.b = rr.ctl[:copy(rr.ctl[:], payload)]
			if err := c.handleControl(hdr, &rr.ctlReader); err != nil {
				return err
			}
			continue
		}
		if hdr.OpCode != ws.OpBinary && hdr.OpCode != ws.OpContinuation {
			return fmt.Errorf("client: a %v frame; the protocol has only binary ones", hdr.OpCode)
		}
		message := payload
		if rr.fragmented || !hdr.Fin {
			if !rr.fragmented {
				c.payload = c.payload[:0]
			}
			if int64(len(c.payload))+hdr.Length > c.opts.MaxMessageSize {
				return wsutil.ErrMessageTooLarge
			}
			c.payload = append(c.payload, payload...)
			rr.fragmented = !hdr.Fin
			if rr.fragmented {
				continue
			}
			message = c.payload
		}
		if c.stopping() {
			// The frames are still taken, for the reading goes on until
			// stop has sent the close frame and closed the connection
			// (see readPolled), but no longer decoded or handled, so that
			// Close waits for the message in hand at most, not for a
			// buffer of them.
			continue
		}
		if err := c.decode(message); err != nil {
			return err
		}
		if err := c.handle(); err != nil {
			return err
		}
	}
}

// header parses the header of the frame at the front of the buffer, and
// reports whether the buffer holds all of it. A length RFC 6455 forbids
// (its top bit set) is reported as one larger than any limit, so that the
// caller refuses the frame as too large.
func (rr *rawReader) header() (ws.Header, int, bool) {
	hdr, head, err := wsframe.ParseHeader(rr.buf[rr.r:rr.w])
	if err != nil {
		hdr.Length, head = 1<<63-1, 10
		if hdr.Masked {
			head += 4
		}
		return hdr, head, true
	}
	return hdr, head, head > 0
}
