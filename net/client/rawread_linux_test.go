package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"golang.org/x/sys/unix"

	"github.com/shatter/shatter/net/wire"
)

// TestStoppedRawReadWaits checks that a raw read, once the client has
// stopped, goes back to the runtime's wait after each read instead of
// reading on while reads come back full: with 64 KiB in its socket, it
// takes a buffer's worth (or two) and waits, and closing the connection
// ends the wait. The connection's Close waits for the read's callback to
// return, so a callback that read on for as long as a server kept the
// socket full would hold the client's Close as long (a handled message
// at a time, it once held it for seconds; TestCloseUnderFlood).
func TestStoppedRawReadWaits(t *testing.T) {
	conn, raw, srv := rawPair(t)
	var frames bytes.Buffer
	var enc wire.Encoder
	for tick := uint64(1); frames.Len() < 64<<10; tick++ {
		if err := wsutil.WriteServerMessage(&frames, ws.OpBinary, enc.AppendSnap(nil, &wire.Snap{Tick: tick})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.Write(frames.Bytes()); err != nil {
		t.Fatal(err)
	}
	// All of it in the client's socket before the read begins, so that
	// no readiness comes after the read's first look.
	deadline := time.Now().Add(wait)
	for queued(t, raw) < frames.Len() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d bytes arrived within %v", queued(t, raw), frames.Len(), wait)
		}
		time.Sleep(time.Millisecond)
	}

	c := rawClient(conn)
	var stop context.CancelCauseFunc
	c.life, stop = context.WithCancelCause(context.Background())
	stop(ErrClosed)
	done := make(chan error, 1)
	go func() { done <- c.readRawOn(raw) }() // Ends at conn.Close below.

	// Reading on would have emptied the socket by now. A read takes a
	// buffer's worth at most, and there may be two: the arrivals' edge
	// can reach the runtime's poller only after the read began (which
	// forgets readiness seen before), and then wakes the wait once.
	time.Sleep(100 * time.Millisecond)
	if left := queued(t, raw); left < frames.Len()-2*rawReadSize {
		t.Errorf("%d of %d bytes left in the socket, want all but two reads' %d at least", left, frames.Len(), 2*rawReadSize)
	}
	conn.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("readRawOn = %v, want net.ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatalf("readRawOn still waits %v after the connection's Close", wait)
	}
}

// TestRawReadSeesEndAfterShortRead checks that a raw read sees the end
// of a stream that came with its last data, before the read began: the
// read that takes the data comes back short, and no readiness follows
// (the RawConn.Read forgot the one before it), so a read that waited
// after a short read waited for good, and a client whose node crashed
// right after a snap never reconnected (TestPlayerReconnects in
// net/bot, 1 run in 20).
func TestRawReadSeesEndAfterShortRead(t *testing.T) {
	conn, raw, srv := rawPair(t)
	var enc wire.Encoder
	if err := wsutil.WriteServerMessage(srv, ws.OpBinary, enc.AppendSnap(nil, &wire.Snap{Tick: 1})); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	// The snap and the end both in the client's socket first.
	deadline := time.Now().Add(wait)
	for {
		var revents int16
		if err := raw.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
			if _, err := unix.Poll(fds, 0); err == nil {
				revents = fds[0].Revents
			}
		}); err != nil {
			t.Fatal(err)
		}
		if revents&unix.POLLRDHUP != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the end of the stream did not arrive within %v", wait)
		}
		time.Sleep(time.Millisecond)
	}
	// And their readiness taken by the runtime's poller, which an idle
	// moment has it look for, before the read begins.
	time.Sleep(20 * time.Millisecond)

	c := rawClient(conn)
	c.life = context.Background()
	done := make(chan error, 1)
	go func() { done <- c.readRawOn(raw) }() // Ends at the end of the stream, or at conn's close by rawPair.
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Errorf("readRawOn = %v, want io.EOF", err)
		}
	case <-time.After(wait):
		t.Fatalf("readRawOn still waits %v after the stream ended", wait)
	}
}

// rawPair returns the two ends of a loopback TCP connection, the client's
// with its RawConn, closed when t ends.
func rawPair(t *testing.T) (conn net.Conn, raw syscall.RawConn, srv net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { // Ends at the first connection or the listener's close.
		conn, _ := ln.Accept()
		accepted <- conn
	}()
	conn, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	srv = <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { srv.Close() })
	if raw, err = conn.(*net.TCPConn).SyscallConn(); err != nil {
		t.Fatal(err)
	}
	return conn, raw, srv
}

// rawClient returns a Client reading conn raw from an empty buffer, as
// readRaw does; the caller gives it its life.
func rawClient(conn net.Conn) *Client {
	c := &Client{opts: Options{MaxMessageSize: DefaultMaxMessageSize}, conn: conn, br: bufio.NewReader(conn)}
	c.startRaw()
	return c
}

// queued returns how many bytes wait unread in raw's socket (SIOCINQ).
func queued(t *testing.T, raw syscall.RawConn) int {
	t.Helper()
	var n int
	var ierr error
	if err := raw.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil || ierr != nil {
		t.Fatalf("SIOCINQ: %v, %v", err, ierr)
	}
	return n
}
