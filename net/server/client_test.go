package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/wire"
)

// testClient is a raw WebSocket client for protocol tests: it sends any
// bytes, in any frame type, and reads every message and close frame.
type testClient struct {
	t    *testing.T
	conn net.Conn
	rw   io.ReadWriter
	enc  wire.Encoder
	dec  wire.Decoder
	msg  wire.ServerMessage
	// table is the entity table built by applying every snap in order.
	table map[uint32]wire.AddEntity
	seq   uint32
}

type dialOpts struct {
	rcvBuf int // SO_RCVBUF, to make a stalled reader fill up quickly
}

func dial(t *testing.T, addr string, opts ...dialOpts) *testClient {
	t.Helper()
	d := ws.Dialer{Timeout: 5 * time.Second}
	if len(opts) > 0 && opts[0].rcvBuf > 0 {
		size := opts[0].rcvBuf
		d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				var serr error
				err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size) })
				if err != nil {
					return err
				}
				return serr
			}}
			return nd.DialContext(ctx, network, addr)
		}
	}
	conn, br, _, err := d.Dial(context.Background(), "ws://"+addr+"/ws")
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &testClient{t: t, conn: conn, rw: struct {
		io.Reader
		io.Writer
	}{r, conn}, table: map[uint32]wire.AddEntity{}}
}

func (c *testClient) send(payload []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientBinary(c.conn, payload); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *testClient) hello(name string) {
	c.send(c.enc.AppendHello(nil, &wire.Hello{Version: 1, Name: name}))
}

func (c *testClient) input(angle float64, boost bool) {
	c.seq++
	c.send(c.enc.AppendInput(nil, &wire.Input{Seq: c.seq, Angle: angle, Boost: boost}))
}

// next reads the next message, applying snaps to the table. It returns a
// *wsutil.ClosedError when the server closed, and fails the test on a
// timeout.
func (c *testClient) next(timeout time.Duration) (*wire.ServerMessage, error) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	var f ws.Frame
	for {
		var err error
		if f, err = readFrame(c.rw); err != nil {
			return nil, err
		}
		if f.Header.Masked || !f.Header.Fin {
			c.t.Fatalf("server sent a masked or fragmented frame: %+v", f.Header)
		}
		switch f.Header.OpCode {
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(f.Payload)
			return nil, wsutil.ClosedError{Code: code, Reason: reason}
		case ws.OpBinary:
		case ws.OpPing, ws.OpPong:
			continue
		default:
			c.t.Fatalf("server sent a %v frame", f.Header.OpCode)
		}
		break
	}
	if err := c.dec.DecodeServer(f.Payload, &c.msg); err != nil {
		c.t.Fatalf("server sent an undecodable message: %v", err)
	}
	if c.msg.Type == wire.TypeSnap {
		c.apply(&c.msg.Snap)
	}
	return &c.msg, nil
}

// apply applies a snap to the table exactly as PROTOCOL.md says, failing
// on a delta against something the client does not hold.
func (c *testClient) apply(s *wire.Snap) {
	for _, a := range s.Add {
		if _, dup := c.table[a.ID]; dup {
			c.t.Fatalf("tick %d adds %d, which the client already holds", s.Tick, a.ID)
		}
		c.table[a.ID] = a
	}
	for _, u := range s.Upd {
		e, ok := c.table[u.ID]
		if !ok {
			c.t.Fatalf("tick %d updates %d, which the client does not hold", s.Tick, u.ID)
		}
		e.X, e.Y, e.Mass = u.X, u.Y, u.Mass
		c.table[u.ID] = e
	}
	for _, id := range s.Del {
		if _, ok := c.table[id]; !ok {
			c.t.Fatalf("tick %d deletes %d, which the client does not hold", s.Tick, id)
		}
		delete(c.table, id)
	}
}

// expect reads until a message of type want arrives, failing on a close or
// after timeout.
func (c *testClient) expect(want wire.Type, timeout time.Duration) *wire.ServerMessage {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %v: %v", want, err)
		}
		if m.Type == want {
			return m
		}
	}
}

// expectClose reads until the server's close frame, returning its code and
// every error code seen on the way.
func (c *testClient) expectClose(timeout time.Duration) (ws.StatusCode, []wire.ErrorCode) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var codes []wire.ErrorCode
	for {
		m, err := c.next(time.Until(deadline))
		var closed wsutil.ClosedError
		switch {
		case errors.As(err, &closed):
			return closed.Code, codes
		case err != nil:
			c.t.Fatalf("waiting for a close frame: %v (errors seen: %v)", err, codes)
		case m.Type == wire.TypeError:
			codes = append(codes, m.Error.Code)
		}
	}
}

// readFrame reads one server frame, refusing one over 1 MiB.
func readFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > 1<<20 {
		return ws.Frame{}, fmt.Errorf("server frame of %d bytes", h.Length)
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(r, payload); err != nil {
		return ws.Frame{}, err
	}
	return ws.Frame{Header: h, Payload: payload}, nil
}
