package client

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/shatter/shatter/net/wire"
)

// TestRawReadFrames checks readRaw on what a plain Read loop would also
// have met: a message in fragments with a ping between them, a message
// larger than the buffer, a frame trickling in a few bytes at a time, a
// text frame, and the frames the handshake's reader had buffered.
func TestRawReadFrames(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		big := wire.Snap{Tick: 103}
		for id := range uint32(1000) {
			big.Add = append(big.Add, wire.AddEntity{ID: 1000 + id, Kind: wire.KindFragment, X: 40000, Y: 40000, Mass: 1})
		}
		url, _ := serve(t, func(fc *fakeConn) {
			fc.expect(wire.TypeHello)
			// The welcome and the first snap in one write: the snap waits in
			// the handshake's buffered reader.
			var both bytes.Buffer
			wsutil.WriteServerMessage(&both, ws.OpBinary, fc.enc.AppendWelcome(nil, &testWelcome))
			wsutil.WriteServerMessage(&both, ws.OpBinary, fc.enc.AppendSnap(nil, &wire.Snap{Tick: 101}))
			if _, err := fc.conn.Write(both.Bytes()); err != nil {
				fc.fail("write: %v", err)
			}

			snap := fc.enc.AppendSnap(nil, &wire.Snap{Tick: 102, Add: []wire.AddEntity{{ID: 1, Name: "frag"}}})
			fc.write(ws.NewFrame(ws.OpBinary, false, snap[:5]))
			fc.write(ws.NewPingFrame([]byte("hi")))
			fc.write(ws.NewFrame(ws.OpContinuation, true, snap[5:]))
			if op, payload := fc.frame(); op != ws.OpPong || string(payload) != "hi" {
				fc.fail("got %v %q, want a pong carrying hi", op, payload)
			}

			if frame := fc.enc.AppendSnap(nil, &big); len(frame) < 2*rawReadSize {
				fc.fail("the big snap is %d bytes, want over %d", len(frame), 2*rawReadSize)
			} else {
				fc.send(frame)
			}

			var trickle bytes.Buffer
			wsutil.WriteServerMessage(&trickle, ws.OpBinary, fc.enc.AppendSnap(nil, &wire.Snap{Tick: 104}))
			for _, b := range trickle.Bytes() {
				if _, err := fc.conn.Write([]byte{b}); err != nil {
					fc.fail("write: %v", err)
				}
				time.Sleep(time.Millisecond)
			}
			fc.write(ws.NewTextFrame([]byte("{}")))
			fc.drain()
		})
		var ticks []uint64
		var sizes []int
		c, err := Dial(context.Background(), url, Options{Poll: poll, Name: "raw", OnMessage: func(_ *Client, m *wire.ServerMessage) {
			if m.Type == wire.TypeSnap {
				ticks = append(ticks, m.Snap.Tick)
				sizes = append(sizes, len(m.Snap.Add))
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, c)
		if want := []uint64{101, 102, 103, 104}; !slices.Equal(ticks, want) {
			t.Errorf("snaps at ticks %v, want %v", ticks, want)
		}
		if want := []int{0, 1, len(big.Add), 0}; !slices.Equal(sizes, want) {
			t.Errorf("snaps adding %v entities, want %v", sizes, want)
		}
		var view Snapshot
		c.Snapshot(&view)
		if e, ok := view.Entities[1]; !ok || e.Name != "frag" {
			t.Errorf("view %v, want entity 1 named frag from the fragmented snap", view.Entities)
		}
		if err := c.Err(); err == nil || !strings.HasSuffix(err.Error(), "frame; the protocol has only binary ones") {
			t.Errorf("Err() = %v, want the text frame refused", err)
		}
	})
}

// TestRawReadProtocolErrors checks that readRaw refuses frames RFC 6455
// forbids a server to send, as wsutil's reader does.
func TestRawReadProtocolErrors(t *testing.T) {
	pollModes(t, func(t *testing.T, poll *PollGroup) {
		for _, tc := range []struct {
			name  string
			frame ws.Frame
			want  error
		}{
			{"masked", ws.MaskFrame(ws.NewBinaryFrame([]byte{0x80})), ws.ErrProtocolMaskUnexpected},
			{"continuation first", ws.NewFrame(ws.OpContinuation, true, []byte{0x80}), ws.ErrProtocolContinuationUnexpected},
			{"rsv", ws.Frame{Header: ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpBinary, Length: 1}, Payload: []byte{0x80}}, ws.ErrProtocolNonZeroRsv},
			{"too large", ws.NewBinaryFrame(make([]byte, 600)), wsutil.ErrFrameTooLarge},
		} {
			t.Run(tc.name, func(t *testing.T) {
				url, _ := serve(t, func(fc *fakeConn) {
					fc.expect(wire.TypeHello)
					fc.welcome(testWelcome)
					fc.write(tc.frame)
					fc.drain()
				})
				c, err := Dial(context.Background(), url, Options{Poll: poll, Name: "raw", MaxMessageSize: 512})
				if err != nil {
					t.Fatal(err)
				}
				waitDone(t, c)
				if !errors.Is(c.Err(), tc.want) {
					t.Errorf("Err() = %v, want %v", c.Err(), tc.want)
				}
			})
		}
	})
}

// write writes one frame as it is.
func (fc *fakeConn) write(f ws.Frame) {
	if err := ws.WriteFrame(fc.conn, f); err != nil {
		fc.fail("write: %v", err)
	}
}
