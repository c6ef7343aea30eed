//go:build linux

package client

import (
	"context"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/shatter/shatter/net/wire"
)

// TestArrivalTimes: with ArrivalTimes, a snap that waited in the socket
// while the read loop was busy is timed by when it arrived, not when it
// was read; without, by when it was read.
func TestArrivalTimes(t *testing.T) {
	const busy = 200 * time.Millisecond
	for _, stamped := range []bool{true, false} {
		name := "read"
		if stamped {
			name = "arrival"
		}
		t.Run(name, func(t *testing.T) {
			if stamped {
				keepStamping(t)
			}
			pollModes(t, func(t *testing.T, poll *PollGroup) {
				// Now and then the kernel leaves a TCP read unstamped
				// (the client then times it by its reading, as without
				// ArrivalTimes); such a try proves nothing, and the
				// next is made.
				for try := 1; ; try++ {
					gap, later, wasStamped := timeTwoSnaps(t, poll, stamped, busy)
					switch {
					case stamped && !wasStamped && try < 5:
						t.Logf("try %d: the read was not stamped", try)
						continue
					case stamped && gap >= busy/2:
						t.Errorf("the snaps sent together arrived %v apart, want about 0 (the second read %v later; stamped: %v)", gap, later, wasStamped)
					case !stamped && gap < busy:
						t.Errorf("without ArrivalTimes the snaps were timed %v apart, want their reads' %v at least", gap, busy)
					}
					return
				}
			})
		})
	}
}

// timeTwoSnaps has a fake server send two snaps together to a client
// whose read loop is busy for busy after the first, and returns how far
// apart the client timed them (Client.Arrived), how much later it read the
// second, and whether the kernel stamped the reads of both.
func timeTwoSnaps(t *testing.T, poll *PollGroup, stamped bool, busy time.Duration) (gap, later time.Duration, wasStamped bool) {
	t.Helper()
	url, _ := serve(t, func(fc *fakeConn) {
		fc.expect(wire.TypeHello)
		fc.welcome(testWelcome)
		// After the ping the client sends once Dial has returned: the
		// snaps are read from the socket, not from what the handshake's
		// reader buffered.
		fc.expect(wire.TypePing)
		fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 101}))
		fc.send(fc.enc.AppendSnap(nil, &wire.Snap{Tick: 102}))
		fc.drain()
	})
	var arrived [2]time.Time
	var read time.Time
	second := make(chan struct{})
	start := time.Now()
	c, err := Dial(context.Background(), url, Options{Poll: poll, Name: "stamps", ArrivalTimes: stamped,
		OnMessage: func(c *Client, m *wire.ServerMessage) {
			if m.Type != wire.TypeSnap {
				return
			}
			switch m.Snap.Tick {
			case 101:
				arrived[0], wasStamped = c.Arrived(), c.raw.arrived != 0
				time.Sleep(busy) // the read loop busy: 102 waits in the socket
			case 102:
				arrived[1], read = c.Arrived(), time.Now()
				wasStamped = wasStamped && c.raw.arrived != 0
				close(second)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendPing(1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-second:
	case <-time.After(wait):
		t.Fatal("the second snap never came")
	}
	c.Close()
	waitDone(t, c)
	if arrived[0].Before(start.Add(-time.Second)) || arrived[1].After(read) {
		t.Fatalf("arrivals %v and %v, read at %v: not within the test", arrived[0], arrived[1], read)
	}
	return arrived[1].Sub(arrived[0]), read.Sub(arrived[0]), wasStamped
}

// keepStamping holds a socket that asks for receive timestamps until the
// test ends, and returns once packets are stamped. The kernel stamps
// packets only while some socket asks (a switch that it turns on and off
// a moment after the first socket asks and the last one closes), and the
// tests' connections come and go; a load generator's thousands of bots
// keep it on.
func keepStamping(t *testing.T) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	udp := pc.(*net.UDPConn)
	raw, err := udp.SyscallConn()
	if err != nil || !enableStamps(raw) {
		t.Fatalf("timestamps on a UDP socket: %v", err)
	}
	buf, control := make([]byte, 8), make([]byte, stampControlSize)
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := udp.WriteTo([]byte("stamp?"), udp.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		_, n, _, _, err := udp.ReadMsgUDP(buf, control)
		if err != nil {
			t.Fatal(err)
		}
		if stampOf(control[:n]) != 0 {
			return
		}
	}
	t.Fatal("packets are never stamped")
}

// TestStampOf reads the receive timestamp from control messages, after
// another one and not from a truncated or foreign one.
func TestStampOf(t *testing.T) {
	ts := unix.NsecToTimespec(1_764_480_000_123_456_789)
	stamp := controlMessage(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts)))
	other := controlMessage(unix.SOL_SOCKET, unix.SCM_RIGHTS, []byte{1, 2, 3, 4})
	cases := []struct {
		name    string
		control []byte
		want    int64
	}{
		{"stamp", stamp, ts.Nano()},
		{"after another message", append(append([]byte{}, other...), stamp...), ts.Nano()},
		{"none", other, 0},
		{"empty", nil, 0},
		{"truncated", stamp[:len(stamp)-4], 0},
		{"a header shorter than one", []byte{4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 35, 0, 0, 0}, 0},
	}
	for _, tc := range cases {
		buf := make([]byte, len(tc.control)) // 8-aligned, as readStamped's
		copy(buf, tc.control)
		if got := stampOf(buf); got != tc.want {
			t.Errorf("%s: stampOf = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// controlMessage encodes one control message with its padding.
func controlMessage(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}
