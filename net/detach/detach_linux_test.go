//go:build linux

package detach

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pair returns a detached server side of a loopback connection and the
// client side, a plain net.Conn; both are closed when the test ends.
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(sc.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	sc.Close()
	t.Cleanup(func() { d.Close() })
	return d, client
}

func TestReadsAndWritesWithoutTheOriginal(t *testing.T) {
	d, client := pair(t)
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	// The read may come before the bytes: it waits for them.
	n, err := io.ReadAtLeast(d, buf, 5)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v; want hello", buf[:n], err)
	}
	if _, err := d.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadAtLeast(client, buf, 5); err != nil || string(buf[:n]) != "world" {
		t.Fatalf("client read %q, %v; want world", buf[:n], err)
	}
	client.Close()
	if n, err := d.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed: %d, %v; want 0, EOF", n, err)
	}
}

// stall fills d's send buffer (made small) with writes that do not wait:
// the peer does not read, so a write of any size now has to wait.
func stall(t *testing.T, d *Conn) {
	t.Helper()
	if err := d.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	var werr error
	if err := d.control(func(fd uintptr) {
		for werr == nil {
			_, werr = unix.Write(int(fd), chunk)
		}
	}); err != nil || werr != unix.EAGAIN {
		t.Fatalf("filling the buffers: %v, %v; want EAGAIN", err, werr)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

// attached reports whether d holds an attachment to the runtime's
// poller.
func attached(d *Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.att != nil
}

// writeInBackground starts a write of 256 KiB to d and returns where its
// error arrives.
func writeInBackground(d *Conn) <-chan error {
	done := make(chan error, 1)
	go func() { // exits when the write returns: each test ends it
		_, err := d.Write(bytes.Repeat([]byte("x"), 256<<10))
		done <- err
	}()
	return done
}

func waitFor(t *testing.T, done <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: the write did not return in 5 s", what)
		return nil
	}
}

func TestAStalledWriteWaitsAndFinishes(t *testing.T) {
	d, client := pair(t)
	stall(t, d)
	done := writeInBackground(d)
	select {
	case err := <-done:
		t.Fatalf("a write to a peer that does not read returned: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if !attached(d) {
		t.Fatal("a waiting write holds no attachment to the runtime's poller")
	}
	go io.Copy(io.Discard, client) // exits when the test closes client
	if err := waitFor(t, done, "peer reading"); err != nil {
		t.Fatalf("write once the peer reads: %v", err)
	}
	if attached(d) {
		t.Fatal("the attachment outlived the wait")
	}
}

func TestAStalledWriteTimesOut(t *testing.T) {
	d, _ := pair(t)
	stall(t, d)
	_ = d.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	if err := waitFor(t, writeInBackground(d), "deadline"); !isTimeout(err) {
		t.Fatalf("write past its deadline: %v, want a timeout", err)
	}
}

func TestADeadlineSetDuringAWaitApplies(t *testing.T) {
	d, _ := pair(t)
	stall(t, d)
	done := writeInBackground(d)
	time.Sleep(50 * time.Millisecond)
	_ = d.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if err := waitFor(t, done, "deadline set during the wait"); !isTimeout(err) {
		t.Fatalf("write: %v, want a timeout", err)
	}
}

func TestCloseEndsAWait(t *testing.T) {
	d, _ := pair(t)
	stall(t, d)
	done := writeInBackground(d)
	time.Sleep(50 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(t, done, "close"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a write cut by Close: %v, want net.ErrClosed", err)
	}
	if err := d.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}
	if _, err := d.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v, want net.ErrClosed", err)
	}
}

// TestStalledWritesHoldNoThreads stalls writes to 200 clients that do not
// read: each waits parked in the runtime's poller, so the process makes
// no thread for them (one blocked in poll(2) each would make 200).
func TestStalledWritesHoldNoThreads(t *testing.T) {
	const n = 200
	threads := pprof.Lookup("threadcreate")
	conns := make([]*Conn, n)
	for i := range conns {
		conns[i], _ = pair(t)
		stall(t, conns[i])
	}
	before := threads.Count()
	dones := make([]<-chan error, n)
	for i, d := range conns {
		dones[i] = writeInBackground(d)
	}
	time.Sleep(200 * time.Millisecond)
	made := threads.Count() - before
	for _, d := range conns {
		d.Close()
	}
	var wg sync.WaitGroup
	for _, done := range dones {
		wg.Go(func() { <-done })
	}
	wg.Wait()
	if made > n/10 {
		t.Fatalf("%d stalled writes made %d threads, want about none", n, made)
	}
	t.Logf("%d stalled writes made %d threads", n, made)
}

func TestRawConnCallsWithTheSocket(t *testing.T) {
	d, client := pair(t)
	raw, err := d.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var queued int
	if err := raw.Control(func(fd uintptr) { queued, err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); err != nil || queued != 0 {
		t.Fatalf("SIOCOUTQ through Control: %d, %v; want 0", queued, err)
	}
	// A raw read whose function says "not yet" waits for the bytes.
	go func() { // exits after its write
		time.Sleep(50 * time.Millisecond)
		client.Write([]byte("late"))
	}()
	var got []byte
	buf := make([]byte, 16)
	err = raw.Read(func(fd uintptr) bool {
		n, err := unix.Read(int(fd), buf)
		if err == unix.EAGAIN {
			return false
		}
		got = buf[:max(n, 0)]
		return true
	})
	if err != nil || string(got) != "late" {
		t.Fatalf("raw read %q, %v; want late", got, err)
	}
}

// TestWaitsWithoutADescriptorToSpare: where the attachment cannot be
// opened (the process at its limit of open files), a wait still waits,
// in poll(2), under its deadline, and ends at Close.
func TestWaitsWithoutADescriptorToSpare(t *testing.T) {
	d, client := pair(t)
	d2, _ := pair(t)
	d3, _ := pair(t)
	stall(t, d)
	stall(t, d2)
	stall(t, d3)
	was := dup
	dup = func(int) (int, error) { return -1, unix.EMFILE }
	t.Cleanup(func() { dup = was })

	done := writeInBackground(d)
	select {
	case err := <-done:
		t.Fatalf("a write to a peer that does not read returned: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	go io.Copy(io.Discard, client) // exits when the test closes client
	if err := waitFor(t, done, "peer reading"); err != nil {
		t.Fatalf("write once the peer reads: %v", err)
	}

	_ = d2.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	if err := waitFor(t, writeInBackground(d2), "deadline"); !isTimeout(err) {
		t.Fatalf("write past its deadline: %v, want a timeout", err)
	}

	done = writeInBackground(d3)
	time.Sleep(50 * time.Millisecond)
	d3.Close()
	if err := waitFor(t, done, "close"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write cut by Close: %v, want net.ErrClosed", err)
	}
}
